// Package exit gives errors the exit status a diffah tool ends with.
//
// The codes are the same for every tool:
//
//	0  success
//	1  internal error (a bug in diffah)
//	2  usage: bad flags, bad spec file, wrong baseline
//	3  environment: I/O, permissions, disk full
//	4  content: corrupt or foreign archive, digest mismatch,
//	   unknown schema version
//
// A library wraps an error once, where the cause is known, with Usage,
// Env or Content; Code finds the outermost code in a chain, so later
// wrapping with fmt.Errorf("…: %w", err) keeps it.
package exit

import (
	"errors"
	"fmt"
)

// The exit statuses.
const (
	OK       = 0
	Internal = 1
	UsageErr = 2
	EnvErr   = 3
	Corrupt  = 4
)

// Error is an error with an exit status.
type Error struct {
	Status int
	Err    error
}

func (e *Error) Error() string { return e.Err.Error() }

// Unwrap returns the wrapped error.
func (e *Error) Unwrap() error { return e.Err }

// ExitCode returns the status; kong and the tools' mains read it.
func (e *Error) ExitCode() int { return e.Status }

func wrap(status int, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Status: status, Err: err}
}

// Usage marks err as a usage error (exit 2).
func Usage(err error) error { return wrap(UsageErr, err) }

// Env marks err as an environment error (exit 3).
func Env(err error) error { return wrap(EnvErr, err) }

// Content marks err as a content error (exit 4).
func Content(err error) error { return wrap(Corrupt, err) }

// Usagef formats a usage error (exit 2).
func Usagef(format string, a ...any) error {
	return Usage(fmt.Errorf(format, a...))
}

// Contentf formats a content error (exit 4).
func Contentf(format string, a ...any) error {
	return Content(fmt.Errorf(format, a...))
}

// Envf formats an environment error (exit 3).
func Envf(format string, a ...any) error {
	return Env(fmt.Errorf(format, a...))
}

// IO marks an error from the file system as environment (exit 3)
// unless it already carries a status.
func IO(err error) error {
	if err == nil {
		return nil
	}
	var coded interface{ ExitCode() int }
	if errors.As(err, &coded) {
		return err
	}
	return Env(err)
}

// Code returns the exit status for err: 0 for nil, the status of the
// outermost coded error in the chain, else 1.
func Code(err error) int {
	if err == nil {
		return OK
	}
	var coded interface{ ExitCode() int }
	if errors.As(err, &coded) {
		return coded.ExitCode()
	}
	return Internal
}
