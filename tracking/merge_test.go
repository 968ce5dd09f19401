package tracking

import (
	"slices"
	"testing"
	"time"
)

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func ev(t testing.TB, id string, st Status, at string) Event {
	tm := mustTime(t, at)
	return Event{ID: id, Status: st, Message: string(st) + " " + id, OccurredAt: tm.UTC(), OccurredAtLocal: tm}
}

func upd(eta string, events ...Event) Update {
	return Update{Carrier: "ups", TrackingNumber: "1Z999AA10123456784", EstimatedDelivery: eta, Events: events,
		ReceivedAt: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
}

func TestLog_MergeRules(t *testing.T) {
	a := ev(t, "a", StatusInfoReceived, "2026-11-24T08:00:00-05:00")
	b := ev(t, "b", StatusInTransit, "2026-11-24T20:00:00-05:00")
	c := ev(t, "c", StatusOutForDelivery, "2026-11-25T07:00:00-05:00")
	d := ev(t, "d", StatusDelivered, "2026-11-25T13:00:00-05:00")
	// The same instant as d, written in another offset and without an id.
	noID := ev(t, "", StatusInTransit, "2026-11-25T18:00:00Z")
	noIDAgain := noID
	noIDAgain.OccurredAtLocal = noID.OccurredAt.In(time.FixedZone("", -5*3600))
	sameTimeOFD := ev(t, "x", StatusOutForDelivery, "2026-11-25T13:00:00-05:00")

	tests := []struct {
		name        string
		updates     []Update
		wantStatus  Status
		wantHistory []string // messages in time order
		wantETA     *ETA
		wantDups    int
	}{
		{
			name:        "in order",
			updates:     []Update{upd("", a), upd("", b), upd("", c)},
			wantStatus:  StatusOutForDelivery,
			wantHistory: []string{a.Message, b.Message, c.Message},
		},
		{
			name:        "same carrier event id twice is stored once",
			updates:     []Update{upd("", a, b), upd("", b)},
			wantStatus:  StatusInTransit,
			wantHistory: []string{a.Message, b.Message},
			wantDups:    1,
		},
		{
			name:        "same content without id is stored once, whatever offset it is written in",
			updates:     []Update{upd("", noID), upd("", noIDAgain)},
			wantStatus:  StatusInTransit,
			wantHistory: []string{noID.Message},
			wantDups:    1,
		},
		{
			name:        "out of order arrival is stored in time order",
			updates:     []Update{upd("", c), upd("", a), upd("", b)},
			wantStatus:  StatusOutForDelivery,
			wantHistory: []string{a.Message, b.Message, c.Message},
		},
		{
			name:        "an older event never moves the status back",
			updates:     []Update{upd("", d), upd("", b)},
			wantStatus:  StatusDelivered,
			wantHistory: []string{b.Message, d.Message},
		},
		{
			name:        "same timestamp: the further status wins, in either order",
			updates:     []Update{upd("", d), upd("", sameTimeOFD)},
			wantStatus:  StatusDelivered,
			wantHistory: []string{sameTimeOFD.Message, d.Message},
		},
		{
			name:        "same timestamp, other order",
			updates:     []Update{upd("", sameTimeOFD), upd("", d)},
			wantStatus:  StatusDelivered,
			wantHistory: []string{sameTimeOFD.Message, d.Message},
		},
		{
			name:        "estimated delivery keeps the first and the latest promise",
			updates:     []Update{upd("2026-11-26", a), upd("2026-11-27", b), upd("2026-11-28", c)},
			wantStatus:  StatusOutForDelivery,
			wantHistory: []string{a.Message, b.Message, c.Message},
			wantETA:     &ETA{First: "2026-11-26", Latest: "2026-11-28"},
		},
		{
			name:        "estimated delivery arriving out of order is ordered by its message's events",
			updates:     []Update{upd("2026-11-28", c), upd("2026-11-26", a), upd("2026-11-27", b)},
			wantStatus:  StatusOutForDelivery,
			wantHistory: []string{a.Message, b.Message, c.Message},
			wantETA:     &ETA{First: "2026-11-26", Latest: "2026-11-28"},
		},
		{
			name:       "no events: pending",
			updates:    []Update{upd("2026-11-28")},
			wantStatus: StatusPending,
			wantETA:    &ETA{First: "2026-11-28", Latest: "2026-11-28"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l Log
			dups := 0
			for _, u := range tt.updates {
				dups += l.Apply(u).Duplicates
			}
			if l.Status != tt.wantStatus {
				t.Errorf("status = %s, want %s", l.Status, tt.wantStatus)
			}
			var got []string
			for _, e := range l.History() {
				got = append(got, e.Message)
			}
			if !slices.Equal(got, tt.wantHistory) {
				t.Errorf("history = %q, want %q", got, tt.wantHistory)
			}
			if dups != tt.wantDups {
				t.Errorf("duplicates = %d, want %d", dups, tt.wantDups)
			}
			if (l.ETA == nil) != (tt.wantETA == nil) || (l.ETA != nil && *l.ETA != *tt.wantETA) {
				t.Errorf("eta = %+v, want %+v", l.ETA, tt.wantETA)
			}
		})
	}
}

func TestLog_ResultReportsChanges(t *testing.T) {
	var l Log
	a := ev(t, "a", StatusInTransit, "2026-11-24T08:00:00Z")
	r := l.Apply(upd("2026-11-27", a))
	if r.From != StatusPending || r.To != StatusInTransit || !r.ETAChanged || !r.StateChanged() {
		t.Errorf("first apply = %+v", r)
	}
	r = l.Apply(upd("2026-11-27", a))
	if r.StateChanged() || r.Duplicates != 1 || r.New != 0 {
		t.Errorf("repeat apply = %+v, want no change and one duplicate", r)
	}
}

func TestShipment_DeriveDelayed(t *testing.T) {
	ny := time.FixedZone("", -5*3600)
	scan := time.Date(2026, 11, 25, 9, 0, 0, 0, ny)
	tests := []struct {
		name   string
		status Status
		eta    string
		now    time.Time
		want   bool
	}{
		{"estimate not yet passed", StatusInTransit, "2026-11-26", time.Date(2026, 11, 26, 23, 0, 0, 0, ny), false},
		{"estimate passed at the scan's local midnight", StatusInTransit, "2026-11-26", time.Date(2026, 11, 27, 0, 1, 0, 0, ny), true},
		{"estimate passed in UTC but not at the scan's location", StatusInTransit, "2026-11-26", time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC), false},
		{"delivered is never delayed", StatusDelivered, "2026-11-20", time.Date(2026, 11, 27, 0, 0, 0, 0, ny), false},
		{"no scan for longer than allowed", StatusInTransit, "", scan.Add(97 * time.Hour), true},
		{"a recent scan and no estimate", StatusInTransit, "", scan.Add(95 * time.Hour), false},
		{"estimate as an instant", StatusOutForDelivery, "2026-11-25T20:00:00Z", time.Date(2026, 11, 25, 20, 0, 1, 0, time.UTC), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sh := Shipment{Status: tt.status, StatusEvent: &Event{OccurredAt: scan.UTC(), OccurredAtLocal: scan}}
			if tt.eta != "" {
				sh.EstimatedDelivery = &ETA{First: tt.eta, Latest: tt.eta}
			}
			sh.DeriveDelayed(tt.now, 96*time.Hour)
			if sh.Delayed != tt.want {
				t.Errorf("delayed = %v, want %v", sh.Delayed, tt.want)
			}
		})
	}
}

func TestShipmentID_NormalizesItsInput(t *testing.T) {
	if ShipmentID("UPS", "1z999 aa1-0123456784") != ShipmentID("ups", "1Z999AA10123456784") {
		t.Error("the same carrier and number, written differently, gave different shipment ids")
	}
	if ShipmentID("ups", "1") == ShipmentID("fedex", "1") {
		t.Error("different carriers gave the same shipment id")
	}
}
