package web

import (
	"errors"
	"testing"
)

// FuzzDecodeContactPatch feeds the PATCH /orders/{id} body parser: it never
// panics, refuses with a 400 naming a field, and accepts only a patch that
// changes something. Seeds: testdata/fuzz.
func FuzzDecodeContactPatch(f *testing.F) {
	f.Add([]byte(`{"customer": {"email": "ada@example.com", "phone": null}, "notify": {"sms": true}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := decodeContactPatch(body)
		if err != nil {
			var he *Error
			if !errors.As(err, &he) || he.Status != 400 || he.Field == "" {
				t.Fatalf("%q: %v, want a 400 naming a field", body, err)
			}
			return
		}
		if p.Empty() {
			t.Fatalf("%q: accepted a patch that changes nothing", body)
		}
	})
}
