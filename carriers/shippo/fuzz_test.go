package shippo

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/trackd/trackd/tracking"
)

// The seed corpora in testdata/fuzz/<target>/ hold the fixtures and broken
// variants of them in Go's corpus format; these f.Add seeds keep the
// targets meaningful if those files are ever pruned.

var trackFixtures = []string{
	"track_get_delivered_usps.json",
	"track_create_webhook_registration_delivered_usps.json",
	"track_create_unknown_number_null_status.json",
	"handmade_track_modern_ups.json",
	"handmade_track_return_fedex.json",
}

// brokenTracks are Tracks with the faults a parser must survive.
var brokenTracks = []string{
	`{"carrier":"usps","tracking_number":"1","tracking_status":{"status":"LOST","status_date":"2026-11-25T10:00:00Z"}}`,
	`{"carrier":"usps","tracking_number":"1","tracking_history":[{"status":"TRANSIT","status_date":null}]}`,
	`{"carrier":"usps","tracking_number":"1","tracking_history":[{"status":"UNKNOWN","status_date":null}]}`,
	`{"carrier":"usps","tracking_number":"1","tracking_history":[null]}`,
	`{"carrier":"usps","tracking_number":1234,"eta":"2026-11-27","tracking_status":null}`,
	`{"carrier":"dhl_express","tracking_number":"1","tracking_history":[{"status":"TRANSIT","substatus":{"code":"pickup_available"},"status_date":"2026-11-25T10:00:00+14:00","location":{"zip":12345}}]}`,
	`{"carrier":"usps","tracking_number":"1","eta":"soon"}`,
	`{"carrier":"usps","tracking_number":"1","tracking_history":{}}`,
	`{"carrier":"usps","tracking_number":"1","tracking_hist`,
	`{"carrier":{"token":"usps"}}`,
	`[]`,
	`null`,
	``,
}

func FuzzParseWebhook(f *testing.F) {
	for _, name := range trackFixtures {
		f.Add(wrap(readTestdata(f, name)))
	}
	f.Add(readTestdata(f, "webhook_track_updated_delivered_usps.json"))
	for _, b := range brokenTracks {
		f.Add(wrap([]byte(b)))
	}
	f.Add([]byte(`{"event":"transaction_created","test":true,"data":{"object_id":"x"}}`))
	f.Add([]byte(`{"event":"track_updated","data":null}`))
	f.Add([]byte(`{"data":{}}`))
	f.Add([]byte(`{"event":7}`))
	a := New(Config{})
	f.Fuzz(func(t *testing.T, b []byte) {
		us, err := a.ParseWebhook(b)
		if err != nil {
			return
		}
		checkUpdates(t, us)
		again, err := a.ParseWebhook(b)
		if err != nil || !sameJSON(t, us, again) {
			t.Fatalf("ParseWebhook is not deterministic: %v", err)
		}
	})
}

func FuzzParsePoll(f *testing.F) {
	for _, name := range trackFixtures {
		f.Add(readTestdata(f, name))
	}
	for _, b := range brokenTracks {
		f.Add([]byte(b))
	}
	a := New(Config{})
	f.Fuzz(func(t *testing.T, b []byte) {
		us, err := a.ParsePoll(b)
		if err == nil {
			checkUpdates(t, us)
		}
		// A Track means the same by poll and by webhook.
		if !json.Valid(b) {
			return
		}
		wus, werr := a.ParseWebhook(wrap(b))
		if (err == nil) != (werr == nil) {
			t.Fatalf("ParsePoll error %v, but ParseWebhook of the same Track %v", err, werr)
		}
		if err == nil && !sameJSON(t, us, wus) {
			t.Fatal("ParsePoll and ParseWebhook disagree on the same Track")
		}
	})
}

// checkUpdates asserts what every accepted Track must give: updates the
// processors can apply, in trackd's terms.
func checkUpdates(t *testing.T, us []tracking.Update) {
	t.Helper()
	if len(us) > 1 {
		t.Fatalf("%d updates from one Track", len(us))
	}
	for _, u := range us {
		if err := u.Validate(); err != nil {
			t.Fatalf("invalid update: %v", err)
		}
		if u.Carrier != CarrierSlug(u.Carrier) || len(u.Carrier) > maxCarrierLen || strings.HasPrefix(u.Carrier, "dhl_") {
			t.Errorf("Carrier = %q is not a trackd slug", u.Carrier)
		}
		if u.TrackingNumber != tracking.NormalizeTrackingNumber(u.TrackingNumber) || len(u.TrackingNumber) > maxNumberLen {
			t.Errorf("TrackingNumber = %q is not normalized", u.TrackingNumber)
		}
		if len(u.Events) == 0 && u.EstimatedDelivery == "" {
			t.Error("an update with neither events nor an estimated delivery")
		}
		if len(u.Events) > MaxEvents+1 {
			t.Errorf("%d events", len(u.Events))
		}
		for i, e := range u.Events {
			if i > 0 && e.OccurredAt.Before(u.Events[i-1].OccurredAt) {
				t.Errorf("events[%d] is older than events[%d]", i, i-1)
			}
			if e.OccurredAt.Location() != time.UTC || !e.OccurredAt.Equal(e.OccurredAtLocal) || e.OccurredAt.Year() < 2000 {
				t.Errorf("events[%d]: OccurredAt %v, OccurredAtLocal %v", i, e.OccurredAt, e.OccurredAtLocal)
			}
			if e.OffsetUnknown && e.OccurredAtLocal.Location() != time.UTC {
				t.Errorf("events[%d]: offset unknown, but local time %v is not UTC", i, e.OccurredAtLocal)
			}
			status, _, _ := strings.Cut(e.CarrierStatus, "/")
			if _, ok := statusMap[status]; !ok {
				t.Errorf("events[%d].CarrierStatus = %q", i, e.CarrierStatus)
			}
			if !json.Valid(e.Raw) || !bytes.HasPrefix(bytes.TrimSpace(e.Raw), []byte("{")) {
				t.Errorf("events[%d].Raw = %q is not a JSON object", i, e.Raw)
			}
			for _, s := range []string{e.ID, e.Message, e.Location.City, e.Location.Region, e.Location.PostalCode, e.Location.Country} {
				if len(s) > maxTextLength {
					t.Errorf("events[%d] has a %d-byte text", i, len(s))
				}
			}
		}
	}
}

func sameJSON(t *testing.T, a, b []tracking.Update) bool {
	t.Helper()
	ja, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(ja, jb)
}

func BenchmarkParseWebhook(b *testing.B) {
	for _, name := range []string{"webhook_track_updated_delivered_usps.json", "handmade_track_modern_ups.json"} {
		body := readTestdata(b, name)
		if !strings.HasPrefix(name, "webhook_") {
			body = wrap(body)
		}
		b.Run(strings.TrimSuffix(name, ".json"), func(b *testing.B) {
			a := New(Config{})
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.ParseWebhook(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
