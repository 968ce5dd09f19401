package carriertest

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/trackd/trackd/tracking"
)

// ReadTestdata reads testdata/<name> of the package under test.
func ReadTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// goldenEvent is an event as the golden files show it: everything but
// Raw, which the parse tests check apart.
type goldenEvent struct {
	ID              string            `json:"id,omitempty"`
	Status          tracking.Status   `json:"status"`
	CarrierStatus   string            `json:"carrier_status"`
	Message         string            `json:"message"`
	OccurredAt      string            `json:"occurred_at"`
	OccurredAtLocal string            `json:"occurred_at_local"`
	OffsetUnknown   bool              `json:"offset_unknown,omitempty"`
	Location        tracking.Location `json:"location,omitzero"`
}

type goldenUpdate struct {
	Carrier           string        `json:"carrier"`
	TrackingNumber    string        `json:"tracking_number"`
	EstimatedDelivery string        `json:"estimated_delivery,omitempty"`
	Events            []goldenEvent `json:"events"`
	// Status is the shipment's status once the update is applied, by
	// trackd's own merge rules.
	Status tracking.Status `json:"status"`
}

func goldenOf(us []tracking.Update, ids bool) []goldenUpdate {
	out := make([]goldenUpdate, 0, len(us))
	for _, u := range us {
		g := goldenUpdate{Carrier: u.Carrier, TrackingNumber: u.TrackingNumber, EstimatedDelivery: u.EstimatedDelivery, Events: []goldenEvent{}}
		for _, e := range u.Events {
			ge := goldenEvent{
				Status: e.Status, CarrierStatus: e.CarrierStatus, Message: e.Message,
				OccurredAt:      e.OccurredAt.Format(time.RFC3339Nano),
				OccurredAtLocal: e.OccurredAtLocal.Format(time.RFC3339Nano),
				OffsetUnknown:   e.OffsetUnknown, Location: e.Location,
			}
			if ids {
				ge.ID = e.ID
			}
			g.Events = append(g.Events, ge)
		}
		var l tracking.Log
		l.Apply(u)
		g.Status = l.Status
		out = append(out, g)
	}
	return out
}

// CheckGolden compares us with testdata/golden/<name>, or rewrites it when
// update (the package's -update flag). The file shows each update's events
// without Raw, with their ids when ids, and the status trackd's merge
// rules give the shipment.
func CheckGolden(t *testing.T, name string, us []tracking.Update, update, ids bool) {
	t.Helper()
	got, err := json.MarshalIndent(goldenOf(us, ids), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", "golden", name)
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("updates differ from %s (go test -update rewrites it after review):\ngot:\n%s", path, got)
	}
}
