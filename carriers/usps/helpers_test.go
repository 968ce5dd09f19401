package usps

import (
	"encoding/json"
	"flag"
	"testing"
	"time"

	"github.com/trackd/trackd/carriers/carriertest"
	"github.com/trackd/trackd/tracking"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// testNow is the fixed "now" of the poll tests.
var testNow = time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)

// The fixtures (see testdata/SOURCES.md).
const (
	pollFixture    = "v3_tracking_delivered_parcel_locker.json"
	webhookFixture = "webhook_tracking_delivered_parcel_locker.json"
)

func readTestdata(t testing.TB, name string) []byte { return carriertest.ReadTestdata(t, name) }

type obj = map[string]any

// decode parses JSON into generic values, for tests that edit a fixture.
func decode(t testing.TB, b []byte) obj {
	t.Helper()
	var v obj
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func encode(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// pollWith returns the poll fixture with edit applied, re-encoded.
func pollWith(t testing.TB, edit func(d obj)) []byte {
	t.Helper()
	d := decode(t, readTestdata(t, pollFixture))
	if edit != nil {
		edit(d)
	}
	return encode(t, d)
}

// oneEvent keeps d's first event alone, with edit applied to it.
func oneEvent(edit func(ev obj)) func(d obj) {
	return func(d obj) {
		ev := d["trackingEvents"].([]any)[0].(obj)
		edit(ev)
		d["trackingEvents"] = []any{ev}
	}
}

// envelopeOf wraps tracking details as a TRACKING notification.
func envelopeOf(t testing.TB, payload []byte) []byte {
	t.Helper()
	return encode(t, obj{
		"subscriptionId": "5f0c7a2e-1b9d-4c3e-8a61-2d4b9e7f3c10", "subscriptionType": "TRACKING",
		"timestamp": "2024-11-22T19:00:12Z", "payload": string(payload),
	})
}

func parsePollOne(t testing.TB, body []byte) tracking.Update {
	t.Helper()
	us, err := New(Config{}).ParsePoll(body)
	if err != nil {
		t.Fatalf("ParsePoll = %v", err)
	}
	if len(us) != 1 {
		t.Fatalf("ParsePoll returned %d updates, want 1", len(us))
	}
	checkUpdate(t, us[0])
	return us[0]
}

// checkGolden compares us with testdata/golden/<name>, or rewrites it
// under -update.
func checkGolden(t *testing.T, name string, us []tracking.Update) {
	t.Helper()
	carriertest.CheckGolden(t, name, us, *update, false)
}

// checkUpdate checks what the store relies on and what every USPS update
// promises, whatever the input was.
func checkUpdate(t testing.TB, u tracking.Update) {
	t.Helper()
	if err := u.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	if u.Carrier != "usps" {
		t.Errorf("Carrier = %q, want usps", u.Carrier)
	}
	if u.TrackingNumber == "" || u.TrackingNumber != tracking.NormalizeTrackingNumber(u.TrackingNumber) {
		t.Errorf("TrackingNumber = %q is empty or not normalized", u.TrackingNumber)
	}
	if len(u.Events) > maxEvents {
		t.Errorf("%d events, more than maxEvents", len(u.Events))
	}
	for i, e := range u.Events {
		switch {
		case !e.Status.Valid():
			t.Errorf("events[%d].Status = %q is not valid", i, e.Status)
		case e.OccurredAt.IsZero() || e.OccurredAt.Year() < 2000:
			t.Errorf("events[%d].OccurredAt = %v", i, e.OccurredAt)
		case e.OccurredAt.Location() != time.UTC:
			t.Errorf("events[%d].OccurredAt location = %v, want UTC", i, e.OccurredAt.Location())
		case !e.OccurredAt.Equal(e.OccurredAtLocal):
			t.Errorf("events[%d]: OccurredAt %v and OccurredAtLocal %v differ", i, e.OccurredAt, e.OccurredAtLocal)
		case e.OffsetUnknown && e.OccurredAtLocal.Location() != time.UTC:
			t.Errorf("events[%d]: offset unknown, but OccurredAtLocal is in %v", i, e.OccurredAtLocal.Location())
		case e.ID != "":
			t.Errorf("events[%d].ID = %q; USPS gives none", i, e.ID)
		case !json.Valid(e.Raw):
			t.Errorf("events[%d].Raw is not JSON: %q", i, e.Raw)
		}
	}
}
