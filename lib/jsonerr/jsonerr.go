// Package jsonerr words the decode errors of encoding/json for people:
// the field, the JSON type found and the one wanted, or where the syntax
// broke, without Go type names.
package jsonerr

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// Error is a decode error with a readable message; Unwrap returns the
// error of encoding/json.
type Error struct {
	err error
	msg string
}

func (e *Error) Error() string { return e.msg }

// Unwrap returns the original error.
func (e *Error) Unwrap() error { return e.err }

// Wrap returns err worded by Describe, or nil for nil.
func Wrap(err error) error {
	if err == nil {
		return nil
	}
	return &Error{err: err, msg: Describe(err)}
}

// Describe words a decode error: `field "version" is a JSON array, want
// a number`, `malformed JSON at byte 12: …`, `JSON cut short`.
func Describe(err error) string {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		want := kind(typeErr.Type)
		if typeErr.Field != "" {
			return fmt.Sprintf("field %q is a JSON %s, want %s",
				typeErr.Field, typeErr.Value, want)
		}
		return fmt.Sprintf("a JSON %s, want %s", typeErr.Value, want)
	case errors.As(err, &syntaxErr):
		return fmt.Sprintf("malformed JSON at byte %d: %s",
			syntaxErr.Offset, strings.TrimPrefix(syntaxErr.Error(), "json: "))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "JSON cut short"
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// kind names the JSON a Go type decodes from.
func kind(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32,
		reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32,
		reflect.Uint64:
		return "an integer of 0 or more"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "another type"
}
