package aftership

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

func readTestdata(t testing.TB, name string) []byte { return carriertest.ReadTestdata(t, name) }

// checkGolden compares us with testdata/golden/<name>, or rewrites it
// under -update.
func checkGolden(t *testing.T, name string, us []tracking.Update) {
	t.Helper()
	carriertest.CheckGolden(t, name, us, *update, false)
}

// checkUpdate checks what the store relies on and what every AfterShip
// update promises, whatever the input was.
func checkUpdate(t *testing.T, u tracking.Update) {
	t.Helper()
	if u.Carrier == "" || u.Carrier != tracking.NormalizeCarrier(u.Carrier) || u.Carrier == "aftership" {
		t.Errorf("Carrier = %q", u.Carrier)
	}
	if u.TrackingNumber == "" || u.TrackingNumber != tracking.NormalizeTrackingNumber(u.TrackingNumber) {
		t.Errorf("TrackingNumber = %q is empty or not normalized", u.TrackingNumber)
	}
	if u.EstimatedDelivery != "" {
		if err := tracking.ParseETA(u.EstimatedDelivery); err != nil {
			t.Errorf("EstimatedDelivery: %v", err)
		}
	}
	if len(u.Events) > MaxCheckpoints+1 {
		t.Errorf("%d events, more than MaxCheckpoints+1", len(u.Events))
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
		case e.ID != "":
			t.Errorf("events[%d].ID = %q; AfterShip gives none", i, e.ID)
		case !json.Valid(e.Raw):
			t.Errorf("events[%d].Raw is not JSON: %q", i, e.Raw)
		}
	}
}
