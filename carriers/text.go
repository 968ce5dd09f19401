package carriers

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"unicode/utf8"
)

// Text is a JSON string field that also takes a number (a ZIP code or a
// tracking number sent unquoted) or null (read as ""), because carriers'
// and aggregators' types drift. An object, an array or a boolean is an
// error that encoding/json reports with the field's path.
type Text string

// UnmarshalJSON implements json.Unmarshaler.
func (t *Text) UnmarshalJSON(b []byte) error {
	switch {
	case len(b) == 0:
		return errors.New("empty value")
	case b[0] == '"':
		// The decoder has validated the document, so a string without
		// escapes is its bytes between the quotes.
		if in := b[1 : len(b)-1]; bytes.IndexByte(in, '\\') < 0 && utf8.Valid(in) {
			*t = Text(in)
			return nil
		}
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = Text(s)
	case b[0] == 'n':
		*t = ""
	case b[0] == '-' || ('0' <= b[0] && b[0] <= '9'):
		*t = Text(b)
	default:
		// An UnmarshalTypeError gets the field's path from the decoder.
		return &json.UnmarshalTypeError{Value: jsonKind(b[0]), Type: reflect.TypeFor[string]()}
	}
	return nil
}

// Trim is the text without surrounding space.
func (t Text) Trim() string { return strings.TrimSpace(string(t)) }

func jsonKind(c byte) string {
	switch c {
	case '{':
		return "object"
	case '[':
		return "array"
	}
	return "bool"
}
