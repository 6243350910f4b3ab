package jsonerr

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestDescribe(t *testing.T) {
	type entry struct {
		Config string
		Layers []string
	}
	type doc struct {
		Version *int    `json:"version"`
		Images  []entry `json:"images"`
		Size    uint64  `json:"size"`
	}
	tests := []struct {
		name, data, want string
		into             any
	}{
		{"array for a number", `{"version":[1]}`,
			`field "version" is a JSON array, want an integer`, &doc{}},
		{"nested field", `{"images":[{"Config":7}]}`,
			`field "images.Config" is a JSON number, want a string`, &doc{}},
		{"negative unsigned", `{"size":-1}`,
			`want an integer of 0 or more`, &doc{}},
		{"top level", `{}`, `a JSON object, want an array`, &[]entry{}},
		{"syntax", `{"version":}`, `malformed JSON at byte 12: invalid character '}'`,
			&doc{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := json.Unmarshal([]byte(tt.data), tt.into)
			if err == nil {
				t.Fatal("got no error")
			}
			got := Wrap(err)
			if !strings.Contains(got.Error(), tt.want) {
				t.Errorf("got %q, want it to contain %q", got, tt.want)
			}
			if strings.Contains(got.Error(), "Go ") ||
				strings.Contains(got.Error(), "json:") {
				t.Errorf("got %q, want no Go type names", got)
			}
			if !errors.Is(got, err) {
				t.Errorf("Wrap(%v) does not unwrap to it", err)
			}
		})
	}
	if got := Describe(json.NewDecoder(strings.NewReader(`{"a":`)).
		Decode(&doc{})); got != "JSON cut short" {
		t.Errorf("cut short: got %q", got)
	}
	if Wrap(nil) != nil {
		t.Error("Wrap(nil) is not nil")
	}
}
