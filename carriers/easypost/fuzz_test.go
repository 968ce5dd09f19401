package easypost

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/trackd/trackd/carriers"
	"github.com/trackd/trackd/tracking"
)

// The seed corpora in testdata/fuzz/<target>/ hold the fixtures and
// hand-made edge cases in Go's corpus file format; these f.Add seeds keep
// the targets meaningful if those files are ever pruned.

func FuzzParseWebhook(f *testing.F) {
	for _, name := range []string{fedexWebhook, upsWebhook, createdNoResult, retrieveTracker} {
		f.Add(fixture(f, name))
	}
	f.Add([]byte(`{"object":"Event","description":"batch.updated","result":{"object":"Batch","status":{"created":1}}}`))
	f.Add([]byte(`{"object":"Event","description":"tracker.updated","result":{"tracking_code":"1Z","carrier":"DHLExpress","status":"unknown",
		"tracking_details":[{"status":"in_transit","datetime":"2026-11-25T10:00:00-05:00"},{"status":"unknown","datetime":"2026-11-25T11:00:00"}]}}`))
	f.Add([]byte(`{"object":"Event","description":"tracker.updated","result":{"tracking_code":"1","carrier":"UPS","status":"lost","tracking_details":[]}}`))
	f.Add([]byte(`{"object":"Event","description":"tracker.updated","result":{"tracking_code":"1","carrier":"UPS","status":"delivered","tracking_details":[null]}}`))
	f.Add([]byte(`{"object":"Event","description":"tracker.updated","result":{"tracking_code":"1","carrier":"UPS","status":"delivered","est_delivery_date":"2026-11-27T00:00:00Z","carrier_detail":{"est_delivery_date_local":"2026-11-28"}}}`))
	f.Add([]byte(`{"object":"Event","description":"tracker.created","result":null}`))
	f.Add([]byte(`{"description":"tracker.updated","result":[]}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`null`))
	f.Add([]byte(``))
	a := New(Config{})
	f.Fuzz(func(t *testing.T, b []byte) {
		us, err := a.ParseWebhook(b)
		checkParse(t, "ParseWebhook", us, err)
		again, err2 := a.ParseWebhook(b)
		checkSame(t, us, err, again, err2)
	})
}

func FuzzParsePoll(f *testing.F) {
	for _, name := range []string{retrieveTracker, createTrackerFixture, cassetteTracker, listTrackers, abridgedTracker, karrioErrorReply, fedexWebhook} {
		f.Add(fixture(f, name))
	}
	f.Add([]byte(`{"tracking_code":"1","carrier":"FedEx","status":"in_transit","status_detail":"delivery_exception",
		"tracking_details":[{"status":"in_transit","status_detail":"delivery_exception","datetime":"2026-11-25T10:00:00Z","tracking_location":{"city":"X"}}]}`))
	f.Add([]byte(`{"trackers":[{"tracking_code":"1","carrier":"UPS","status":"delivered"},{"tracking_code":"2","carrier":"USPS","status":"error"}],"has_more":false}`))
	f.Add([]byte(`{"trackers":null,"tracking_code":"1","carrier":"UPS","status":"delivered"}`))
	f.Add([]byte(`{"error":{"code":"NOT_FOUND","message":["a",{"b":"c"}]}}`))
	f.Add([]byte(`{"tracking_code":"1","carrier":"UPS","status":"delivered","tracking_details":[{"status":"delivered","datetime":"1999-12-31T23:59:59Z"}]}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(``))
	a := New(Config{})
	f.Fuzz(func(t *testing.T, b []byte) {
		us, err := a.ParsePoll(b)
		checkParse(t, "ParsePoll", us, err)
		again, err2 := a.ParsePoll(b)
		checkSame(t, us, err, again, err2)
	})
}

func FuzzVerifyWebhook(f *testing.F) {
	const secret = "sécret"
	body := fixture(f, fedexWebhook)
	f.Add(Sign(secret, body), body)
	f.Add(Sign("other", body), body)
	f.Add(Sign(secret, body), append(bytes.Clone(body), '\n'))
	f.Add(strings.ToUpper(Sign(secret, body)), body)
	f.Add("hmac-sha256-hex=", []byte{})
	f.Add("", []byte("{}"))
	a := New(Config{WebhookSecret: secret})
	f.Fuzz(func(t *testing.T, h string, b []byte) {
		err := a.VerifyWebhook(request(b, h))
		want := Sign(secret, b)
		switch {
		case err != nil && !errors.Is(err, carriers.ErrUnauthenticated):
			t.Fatalf("VerifyWebhook error %v does not wrap ErrUnauthenticated", err)
		case err == nil && !strings.EqualFold(strings.TrimSpace(h), want):
			t.Fatalf("VerifyWebhook accepted %q for a body whose signature is %q", h, want)
		case err != nil && strings.TrimSpace(h) == want:
			t.Fatalf("VerifyWebhook refused the body's own signature: %v", err)
		}
	})
}

// checkParse checks what any parse result must be: an error naming a
// field, or updates the processors accept.
func checkParse(t *testing.T, what string, us []tracking.Update, err error) {
	t.Helper()
	if err != nil {
		var fe *tracking.FieldError
		if !errors.As(err, &fe) {
			t.Fatalf("%s error %v (%T) is not a *tracking.FieldError", what, err, err)
		}
		if fe.Field == "" {
			t.Fatalf("%s error %v names no field", what, err)
		}
		if us != nil {
			t.Fatalf("%s returned updates with an error", what)
		}
		return
	}
	for i, u := range us {
		if err := u.Validate(); err != nil {
			t.Fatalf("%s update %d fails Validate: %v", what, i, err)
		}
		if u.Carrier != CarrierSlug(u.Carrier) || len(u.Carrier) > maxCarrierLength || u.Carrier == "easypost" {
			t.Errorf("%s update %d: carrier %q is not a normalized carrier slug", what, i, u.Carrier)
		}
		if u.TrackingNumber != tracking.NormalizeTrackingNumber(u.TrackingNumber) || len(u.TrackingNumber) > maxTrackingNumberLength {
			t.Errorf("%s update %d: tracking number %q is not normalized", what, i, u.TrackingNumber)
		}
		for j, e := range u.Events {
			switch {
			case e.OccurredAt.Location() != time.UTC:
				t.Errorf("%s update %d event %d: OccurredAt %v is not in UTC", what, i, j, e.OccurredAt)
			case !e.OccurredAt.Equal(e.OccurredAtLocal):
				t.Errorf("%s update %d event %d: OccurredAt %v and OccurredAtLocal %v differ", what, i, j, e.OccurredAt, e.OccurredAtLocal)
			case e.OccurredAt.Year() < 2000:
				t.Errorf("%s update %d event %d: OccurredAt %v is before 2000", what, i, j, e.OccurredAt)
			case !json.Valid(e.Raw) || len(e.Raw) == 0 || e.Raw[0] != '{':
				t.Errorf("%s update %d event %d: Raw %q is not a JSON object", what, i, j, e.Raw)
			case e.CarrierStatus == "" || len(e.CarrierStatus) > maxTextLength:
				t.Errorf("%s update %d event %d: CarrierStatus %q", what, i, j, e.CarrierStatus)
			case len(e.Message) > maxTextLength || len(e.Location.City) > maxTextLength:
				t.Errorf("%s update %d event %d: text longer than %d bytes", what, i, j, maxTextLength)
			}
		}
	}
}

// checkSame checks that parsing the same body twice gives the same result:
// events keyed by content must not change between deliveries.
func checkSame(t *testing.T, us []tracking.Update, err error, again []tracking.Update, err2 error) {
	t.Helper()
	if (err == nil) != (err2 == nil) || (err != nil && err.Error() != err2.Error()) {
		t.Fatalf("two parses disagree: %v, then %v", err, err2)
	}
	if len(us) != len(again) {
		t.Fatalf("two parses give %d, then %d updates", len(us), len(again))
	}
	for i := range us {
		if len(us[i].Events) != len(again[i].Events) || us[i].EstimatedDelivery != again[i].EstimatedDelivery {
			t.Fatalf("update %d differs between two parses", i)
		}
		for j := range us[i].Events {
			if us[i].Events[j].Key() != again[i].Events[j].Key() {
				t.Fatalf("update %d event %d: key differs between two parses", i, j)
			}
		}
	}
}
