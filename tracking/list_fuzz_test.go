package tracking

import (
	"errors"
	"testing"
)

// FuzzDecodeCursor feeds the listing's cursor parser what clients send
// back: anything it accepts must encode to itself again, and anything it
// refuses is a field error naming the cursor. Seeds: testdata/fuzz.
func FuzzDecodeCursor(f *testing.F) {
	f.Add(encodeCursor("s", listPos{at: 1763942400123, id: "s_abc"}))
	f.Fuzz(func(t *testing.T, c string) {
		p, err := decodeCursor("s", c)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != "cursor" {
				t.Fatalf("%q: %v, want a cursor field error", c, err)
			}
			return
		}
		back, err := decodeCursor("s", encodeCursor("s", p))
		if err != nil || back != p {
			t.Fatalf("%q decodes to %+v, which round-trips to %+v, %v", c, p, back, err)
		}
		if _, err := decodeCursor("o", c); err == nil {
			t.Fatalf("%q: a shipment cursor taken as an order cursor", c)
		}
	})
}
