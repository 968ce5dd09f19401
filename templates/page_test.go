package templates

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/trackd/trackd/tracking"
)

func TestPageMessages_Complete(t *testing.T) {
	for _, l := range langs {
		for key, en := range pageMessages[English] {
			m, ok := pageMessages[l][key]
			if !ok || m == "" {
				t.Errorf("%s: no %q", l, key)
				continue
			}
			// Placeholders survive translation.
			for _, ph := range regexp.MustCompile(`\{\w+\}`).FindAllString(en, -1) {
				if !strings.Contains(m, ph) {
					t.Errorf("%s %q: %q lacks %s", l, key, m, ph)
				}
			}
		}
		for key := range pageMessages[l] {
			if _, ok := pageMessages[English][key]; !ok {
				t.Errorf("%s: %q is not in English", l, key)
			}
		}
	}
}

func TestPageMessages_EveryStatus(t *testing.T) {
	for _, l := range langs {
		for _, st := range tracking.Statuses() {
			for _, key := range []string{"status." + string(st), "desc." + string(st)} {
				if l.T(key) == key {
					t.Errorf("%s: no %q", l, key)
				}
			}
		}
	}
}

func TestStatusStep_Mapping(t *testing.T) {
	tests := map[tracking.Status]string{
		tracking.StatusPending:            "ordered",
		tracking.StatusInfoReceived:       "shipped",
		tracking.StatusInTransit:          "in_transit",
		tracking.StatusOutForDelivery:     "out_for_delivery",
		tracking.StatusFailedAttempt:      "out_for_delivery",
		tracking.StatusAvailableForPickup: "out_for_delivery",
		tracking.StatusDelivered:          "delivered",
		tracking.StatusException:          "",
		tracking.StatusReturning:          "",
		tracking.StatusReturned:           "",
		tracking.StatusExpired:            "",
	}
	if len(tests) != len(tracking.Statuses()) {
		t.Fatalf("table covers %d statuses of %d", len(tests), len(tracking.Statuses()))
	}
	for st, want := range tests {
		t.Run(string(st), func(t *testing.T) {
			got := ""
			if i := statusStep(st); i >= 0 {
				got = progressSteps[i]
			}
			if got != want {
				t.Errorf("step %q, want %q", got, want)
			}
		})
	}
}

func TestCurrentStep_OffPathKeepsReachedStep(t *testing.T) {
	sh := tracking.PublicShipment{Status: tracking.StatusException, Events: []tracking.Event{
		{Status: tracking.StatusException}, {Status: tracking.StatusOutForDelivery}, {Status: tracking.StatusInTransit}}}
	if got := progressSteps[currentStep(sh)]; got != "out_for_delivery" {
		t.Errorf("step %q, want out_for_delivery", got)
	}
	if got := currentStep(tracking.PublicShipment{Status: tracking.StatusExpired}); got != 0 {
		t.Errorf("step %d without events, want 0", got)
	}
}

func TestClientMessages_Languages(t *testing.T) {
	for _, l := range langs {
		t.Run(string(l), func(t *testing.T) {
			m := clientMessages(l)
			if m["lang"] != l.Code() {
				t.Errorf("lang %v", m["lang"])
			}
			for _, key := range []string{"status.in_transit", "desc.delivered", "return.desc.delivered", "rel.now", "rel.minute.other",
				"eta.none", "eta.later", "delayed.desc", "latest"} {
				if s, _ := m[key].(string); s == "" || s == key {
					t.Errorf("no %q", key)
				}
			}
			steps, _ := m["step"].(map[tracking.Status]int)
			if steps[tracking.StatusDelivered] != 4 || steps[tracking.StatusFailedAttempt] != 3 {
				t.Errorf("steps %v", steps)
			}
			if _, ok := steps[tracking.StatusException]; ok {
				t.Error("exception has a step")
			}
			if _, err := json.Marshal(m); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestNotFoundPage_Languages(t *testing.T) {
	for l, want := range map[Lang]string{English: "Tracking link not found", Spanish: "Enlace de seguimiento no encontrado",
		French: "Lien de suivi introuvable", German: "Sendungsverfolgung nicht gefunden"} {
		t.Run(string(l), func(t *testing.T) {
			var b bytes.Buffer
			if err := NotFoundPage(l).Render(context.Background(), &b); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(b.String(), "<h1>"+want+"</h1>") || !strings.Contains(b.String(), `href="/track"`) {
				t.Errorf("page %s", b.String())
			}
		})
	}
}

func TestTrackingPage_EmptyOrder(t *testing.T) {
	var b bytes.Buffer
	p := TrackingProps{Lang: English, Token: "tok", Now: time.Now(),
		Order: tracking.PublicOrder{Number: "7", Items: []tracking.PublicItem{}, Unshipped: []tracking.PublicItem{}, Shipments: []tracking.PublicShipment{}}}
	if err := TrackingPage(p).Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<h1>Order 7</h1>", "being prepared", `data-token="tok"`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("missing %q in %s", want, b.String())
		}
	}
	if strings.Contains(b.String(), "Not shipped yet") {
		t.Error("empty unshipped list shown")
	}
}

func TestTrackingPage_PendingWithoutEvents(t *testing.T) {
	var b bytes.Buffer
	p := TrackingProps{Lang: German, Now: time.Now(), Order: tracking.PublicOrder{Number: "7", Shipments: []tracking.PublicShipment{
		{ID: "s_1", Carrier: "demo", TrackingNumber: "DEMO1", Direction: tracking.Return, Status: tracking.StatusPending, Events: []tracking.Event{}}}}}
	if err := TrackingPage(p).Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"Ihre Rücksendung", "Ihre Rücksendung ist angemeldet.", "Noch keine Aktualisierungen",
		"Noch keine Scans", "data-empty", "Noch nicht verfügbar", `aria-current="step" class="done now">Rücksendung angemeldet`} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q", want)
		}
	}
	if strings.Contains(out, "<a href") {
		t.Error("a link for a carrier without a tracking page")
	}
}

func TestTrackingPage_PolledShipmentSaysWhenItWasCheckedAndWillBe(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	checked, next := now.Add(-20*time.Minute), now.Add(3*time.Hour)
	order := func(last, nxt *time.Time) tracking.PublicOrder {
		return tracking.PublicOrder{Number: "7", Shipments: []tracking.PublicShipment{{ID: "s_1", Carrier: "ups", TrackingNumber: "1Z",
			Status: tracking.StatusInTransit, Events: []tracking.Event{}, LastCheckedAt: last, NextCheckAt: nxt}}}
	}
	tests := []struct {
		name   string
		lang   Lang
		order  tracking.PublicOrder
		want   []string
		absent []string
	}{
		{"polled", English, order(&checked, &next), []string{"Checked with the carrier", "20 minutes ago", "next check in 3 hours"}, nil},
		{"polled, German", German, order(&checked, &next), []string{"Beim Versanddienstleister abgefragt", "nächste Abfrage in 3 Stunden"}, nil},
		{"finished: no next check", English, order(&checked, nil), []string{"20 minutes ago"}, []string{"next check"}},
		{"not polled", English, order(nil, nil), nil, []string{"Checked with the carrier", "data-checked"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := TrackingPage(TrackingProps{Lang: tt.lang, Now: now, Order: tt.order}).Render(context.Background(), &b); err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("missing %q", w)
				}
			}
			for _, a := range tt.absent {
				if strings.Contains(b.String(), a) {
					t.Errorf("shows %q", a)
				}
			}
		})
	}
}
