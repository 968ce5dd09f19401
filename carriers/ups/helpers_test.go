package ups

import (
	"encoding/json"
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/trackd/trackd/carriers"
	"github.com/trackd/trackd/carriers/carriertest"
	"github.com/trackd/trackd/tracking"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// testNow is the fixed "now" of the tests.
var testNow = time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)

const testSecret = "whsec-ups-test"

func readTestdata(t testing.TB, name string) []byte { return carriertest.ReadTestdata(t, name) }

// request is a webhook request with body and headers (names matched
// case-insensitively, as net/http does), at testNow.
func request(body []byte, headers map[string]string) carriers.WebhookRequest {
	h := map[string]string{}
	for k, v := range headers {
		h[strings.ToLower(k)] = v
	}
	return carriers.WebhookRequest{
		Body:   body,
		Header: func(name string) string { return h[strings.ToLower(name)] },
		Query:  func(string) string { return "" },
		Now:    testNow,
	}
}

// checkGolden compares us with testdata/golden/<name>, or rewrites it
// under -update.
func checkGolden(t *testing.T, name string, us []tracking.Update) {
	t.Helper()
	carriertest.CheckGolden(t, name, us, *update, true)
}

// checkUpdate checks what the store relies on and what every UPS update
// promises, whatever the input was.
func checkUpdate(t *testing.T, u tracking.Update) {
	t.Helper()
	if err := u.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	if u.Carrier != Slug {
		t.Errorf("Carrier = %q, want %q", u.Carrier, Slug)
	}
	if u.TrackingNumber == "" || u.TrackingNumber != tracking.NormalizeTrackingNumber(u.TrackingNumber) || len(u.TrackingNumber) > maxTrackingNumber {
		t.Errorf("TrackingNumber = %q is empty, too long or not normalized", u.TrackingNumber)
	}
	if u.EstimatedDelivery != "" {
		if _, err := time.Parse(time.DateOnly, u.EstimatedDelivery); err != nil {
			t.Errorf("EstimatedDelivery %q is not a date", u.EstimatedDelivery)
		}
	}
	if len(u.Events) > MaxActivities {
		t.Errorf("%d events, more than MaxActivities", len(u.Events))
	}
	for i, e := range u.Events {
		switch {
		case !e.Status.Valid():
			t.Errorf("events[%d].Status = %q is not valid", i, e.Status)
		case e.CarrierStatus == "":
			t.Errorf("events[%d] has no CarrierStatus", i)
		case e.OccurredAt.IsZero() || e.OccurredAt.Year() < 1999:
			t.Errorf("events[%d].OccurredAt = %v", i, e.OccurredAt)
		case e.OccurredAt.Location() != time.UTC:
			t.Errorf("events[%d].OccurredAt location = %v, want UTC", i, e.OccurredAt.Location())
		case !e.OccurredAt.Equal(e.OccurredAtLocal):
			t.Errorf("events[%d]: OccurredAt %v and OccurredAtLocal %v differ", i, e.OccurredAt, e.OccurredAtLocal)
		case e.OffsetUnknown && e.OccurredAtLocal.Location() != time.UTC:
			t.Errorf("events[%d]: offset unknown, but OccurredAtLocal is in %v", i, e.OccurredAtLocal.Location())
		case len(e.Raw) == 0 || e.Raw[0] != '{' || !json.Valid(e.Raw):
			t.Errorf("events[%d].Raw is not a JSON object: %q", i, e.Raw)
		}
	}
}
