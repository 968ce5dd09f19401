package generic

import (
	"bytes"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/trackd/trackd/tracking"
)

// The seed corpora in testdata/fuzz/<target>/ hold the same kind of inputs
// in Go's corpus file format; these f.Add seeds keep the targets meaningful
// if those files are ever pruned.

func FuzzParse(f *testing.F) {
	f.Add([]byte(designExample))
	f.Add([]byte(`{"carrier":"ups","tracking_number":"1z 999-aa1","estimated_delivery":"2026-11-27"}`))
	f.Add([]byte(`{"carrier":"fedex","tracking_number":"123","events":[{"status":"delivered","occurred_at":"2026-11-25T14:00:00Z"},{"status":"out_for_delivery","occurred_at":"2026-11-25T08:00:00.5+01:00","location":{"country":"DE"}}]}`))
	f.Add([]byte(`{"carrier":"ups","tracking_number":"1Z","events":[{"status":"in_transit","occurred_at":"2026-11-25T10:00:00"}]}`))
	f.Add([]byte(`{"carrier":"ups","tracking_number":"1Z","events":[{"status":"lost","occurred_at":"1999-11-25T10:00:00Z"}]}`))
	f.Add([]byte(`{"carrier":"ups","tracking_number":"1Z","events":"x"}`))
	f.Add([]byte(`{"carrier":"ups","tracking_number":"1Z","events":[null]}`))
	f.Add([]byte(`{"carrier": ups}`))
	f.Add([]byte(`{"carrier":"ups","tracking_number":"1Z","estimated_delivery":"2026-11-27"} x`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`null`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, b []byte) {
		u, err := Parse(b, testNow)
		if err != nil {
			var fe *tracking.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Parse error %v (%T) is not a *tracking.FieldError", err, err)
			}
			if fe.Field == "" {
				t.Fatalf("Parse error %v names no field", err)
			}
			return
		}
		checkUpdate(t, u, testNow)

		// The processors parse the same body again with a zero now; what
		// the edge accepted they must accept too, with the same result.
		us, err := Adapter{}.ParseWebhook(b)
		if err != nil {
			t.Fatalf("Parse accepted %q but Decode refused it: %v", b, err)
		}
		if len(us) != 1 {
			t.Fatalf("Decode returned %d updates, want 1", len(us))
		}
		checkUpdate(t, us[0], time.Time{})
	})
}

func checkUpdate(t *testing.T, u tracking.Update, now time.Time) {
	t.Helper()
	if u.Carrier == "" || len(u.Carrier) > 32 {
		t.Errorf("Carrier = %q", u.Carrier)
	}
	if u.TrackingNumber == "" || len(u.TrackingNumber) > 64 {
		t.Errorf("TrackingNumber = %q", u.TrackingNumber)
	}
	if len(u.Events) > MaxEvents {
		t.Errorf("%d events, more than MaxEvents", len(u.Events))
	}
	if len(u.Events) == 0 && u.EstimatedDelivery == "" {
		t.Error("neither events nor an estimated delivery")
	}
	if u.EstimatedDelivery != "" {
		if err := tracking.ParseETA(u.EstimatedDelivery); err != nil {
			t.Errorf("EstimatedDelivery: %v", err)
		}
	}
	for i, e := range u.Events {
		if !e.Status.Valid() {
			t.Errorf("events[%d].Status = %q is not valid", i, e.Status)
		}
		if e.OccurredAt.Location() != time.UTC {
			t.Errorf("events[%d].OccurredAt location = %v, want UTC", i, e.OccurredAt.Location())
		}
		if !e.OccurredAt.Equal(e.OccurredAtLocal) {
			t.Errorf("events[%d]: OccurredAt %v and OccurredAtLocal %v differ", i, e.OccurredAt, e.OccurredAtLocal)
		}
		if e.OccurredAt.IsZero() {
			t.Errorf("events[%d].OccurredAt is zero", i)
		}
		if !now.IsZero() && e.OccurredAt.After(now.Add(24*time.Hour)) {
			t.Errorf("events[%d].OccurredAt %v is more than a day after %v", i, e.OccurredAt, now)
		}
	}
}

func FuzzParseSignature(f *testing.F) {
	f.Add(Sign(testSecret, testNow, []byte(designExample)))
	f.Add("t=1795618800,v1=" + hexA + ",v1=" + hexB)
	f.Add(" t=1795618800 , v0=00 ,v1=" + hexA)
	f.Add("t=1795618800")
	f.Add("v1=" + hexA)
	f.Add("t=-1,v1=" + hexA)
	f.Add("t=1795618800,t=1795618800,v1=" + hexA)
	f.Add("t=1795618800,v1=zz")
	f.Add("t=1795618800,junk")
	f.Add("")
	f.Fuzz(func(t *testing.T, h string) {
		sig, err := ParseSignature(h)
		if err != nil {
			if !errors.Is(err, ErrSignature) {
				t.Fatalf("ParseSignature(%q) error %v does not wrap ErrSignature", h, err)
			}
			return
		}
		if sig.Timestamp <= 0 {
			t.Errorf("ParseSignature(%q).Timestamp = %d", h, sig.Timestamp)
		}
		if len(sig.V1) == 0 {
			t.Errorf("ParseSignature(%q) has no v1", h)
		}
		for i, v := range sig.V1 {
			if len(v) != 32 {
				t.Errorf("ParseSignature(%q).V1[%d] is %d bytes, want 32", h, i, len(v))
			}
		}
	})
}

func FuzzVerify(f *testing.F) {
	body := []byte(designExample)
	f.Add(Sign(testSecret, testNow, body), body)
	f.Add(Sign(testOldSecret, testNow.Add(-4*time.Minute), body), body)
	f.Add(Sign(testSecret, testNow.Add(6*time.Minute), body), body)
	f.Add(Sign(testSecret, testNow, nil), []byte{})
	f.Add(Sign(testSecret, testNow, []byte("x")), []byte("y"))
	f.Add("t="+strconv.FormatInt(testNow.Unix(), 10)+",v1="+hexA+",v1="+v1Of(testSecret, testNow, body), body)
	f.Add("t=1795618800,v1="+hexA, []byte("{}"))
	f.Add("", []byte("{}"))
	v := Verifier{Secrets: [][]byte{testSecret, testOldSecret}}
	f.Fuzz(func(t *testing.T, h string, b []byte) {
		err := v.Verify(h, b, testNow)
		if err != nil {
			if !errors.Is(err, ErrSignature) {
				t.Fatalf("Verify error %v does not wrap ErrSignature", err)
			}
		} else {
			sig, perr := ParseSignature(h)
			if perr != nil {
				t.Fatalf("Verify accepted %q, which ParseSignature refuses: %v", h, perr)
			}
			at := time.Unix(sig.Timestamp, 0)
			if d := testNow.Sub(at); d > DefaultTolerance || d < -DefaultTolerance {
				t.Fatalf("Verify accepted timestamp %d, %v from now", sig.Timestamp, d)
			}
			if !hasV1(sig, testSecret, at, b) && !hasV1(sig, testOldSecret, at, b) {
				t.Fatalf("Verify accepted %q for body %q, but it carries no v1 Sign gives for either secret", h, b)
			}
		}

		// Whatever the body, what Sign writes now verifies, and only for
		// that body.
		good := Sign(testSecret, testNow, b)
		if err := v.Verify(good, b, testNow); err != nil {
			t.Fatalf("Verify(Sign(%q)) = %v", b, err)
		}
		if err := v.Verify(good, append(bytes.Clone(b), 0), testNow); err == nil {
			t.Fatalf("Verify accepted the signature of %q for another body", b)
		}
	})
}

// hasV1 reports whether sig carries the v1 Sign computes for secret, at and b.
func hasV1(sig Signature, secret []byte, at time.Time, b []byte) bool {
	want, err := ParseSignature(Sign(secret, at, b))
	if err != nil {
		return false
	}
	for _, got := range sig.V1 {
		if bytes.Equal(got, want.V1[0]) {
			return true
		}
	}
	return false
}
