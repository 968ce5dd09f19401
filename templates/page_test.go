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

func TestPageMessages_EveryOrderStatus(t *testing.T) {
	for _, l := range langs {
		for _, st := range tracking.OrderStatuses() {
			for _, key := range []string{"order_status." + string(st), "order_desc." + string(st)} {
				if _, ok := pageMessages[l][key]; !ok {
					t.Errorf("%s: no %q", l, key)
				}
			}
		}
	}
}

func TestClientMessages_OrderStatus(t *testing.T) {
	m := clientMessages(French)
	for key, want := range map[string]string{"order_status.cancelled": "Annulée", "order_status.partially_delivered": "Livrée en partie",
		"order_desc.delivered": "Toute votre commande a été livrée."} {
		if m[key] != want {
			t.Errorf("%s = %v, want %q", key, m[key], want)
		}
	}
	tones, _ := m["order_tone"].(map[tracking.OrderStatus]string)
	if len(tones) != 2 || tones[tracking.OrderDelivered] != "ok" || tones[tracking.OrderException] != "bad" {
		t.Errorf("order tones %v, want delivered ok and exception bad only", tones)
	}
	// The stages DeriveOrderStatus counts statuses in (ordertruth.go's stageOf).
	want := map[tracking.Status]int{
		tracking.StatusInTransit: 1, tracking.StatusOutForDelivery: 1, tracking.StatusFailedAttempt: 1, tracking.StatusAvailableForPickup: 1,
		tracking.StatusDelivered: 2,
		tracking.StatusException: 3, tracking.StatusReturning: 3, tracking.StatusReturned: 3, tracking.StatusExpired: 3,
	}
	stages, _ := m["order_stage"].(map[tracking.Status]int)
	if len(stages) != len(want) {
		t.Errorf("stages %v, want %v", stages, want)
	}
	for st, i := range want {
		if stages[st] != i {
			t.Errorf("stage of %s is %d, want %d", st, stages[st], i)
		}
	}
}

func TestTrackingPage_CancelledOrder(t *testing.T) {
	pkg := tracking.PublicShipment{ID: "s_1", Carrier: "demo", TrackingNumber: "DEMO1", Direction: tracking.Outbound,
		Status: tracking.StatusPending, Items: []tracking.PublicItem{}, Events: []tracking.Event{}}
	lamp := []tracking.PublicItem{{SKU: "A", Name: "Lamp", Quantity: 1}}
	tests := []struct {
		name      string
		lang      Lang
		shipments []tracking.PublicShipment
		unshipped []tracking.PublicItem
		want      []string
		absent    []string
	}{
		{"no package, French", French, []tracking.PublicShipment{}, lamp,
			[]string{"<span class=\"badge st\" data-order-badge>Annulée</span>", "<p data-order-desc>Cette commande a été annulée. Plus rien ne sera expédié.</p>",
				"Pas encore expédié"},
			[]string{"Votre commande est en préparation", "Ces articles suivront"}},
		{"one package, German", German, []tracking.PublicShipment{pkg}, lamp,
			[]string{"data-order-badge>Storniert</span>", "Diese Bestellung wurde storniert. Es wird nichts mehr versandt.", "Ihr Paket"},
			[]string{"Diese Artikel folgen"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			o := tracking.PublicOrder{Number: "7", Status: tracking.OrderCancelled, Items: lamp, Unshipped: tt.unshipped, Shipments: tt.shipments,
				Fulfillment: tracking.Fulfillment{Unshipped: []tracking.ItemQty{{SKU: "A", Quantity: 1}}}}
			if err := TrackingPage(TrackingProps{Lang: tt.lang, Now: time.Now(), Order: o}).Render(context.Background(), &b); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			// Neutral: a cancellation is no delivery problem.
			for _, w := range append(tt.want, `<div class="order-status" data-order-status="cancelled" data-tone="" data-unshipped>`) {
				if !strings.Contains(out, w) {
					t.Errorf("missing %q", w)
				}
			}
			for _, a := range tt.absent {
				if strings.Contains(out, a) {
					t.Errorf("shows %q", a)
				}
			}
		})
	}
}

// TestTrackingPage_OrderStatusHooks checks what static/live.js reads to
// derive the order's status again: whether items count as unshipped, as
// tracking.DeriveOrderStatus counts them.
func TestTrackingPage_OrderStatusHooks(t *testing.T) {
	pkg := func(id string) tracking.PublicShipment {
		return tracking.PublicShipment{ID: id, Carrier: "demo", TrackingNumber: id, Direction: tracking.Outbound,
			Status: tracking.StatusInTransit, Items: []tracking.PublicItem{}, Events: []tracking.Event{}}
	}
	lamp := []tracking.ItemQty{{SKU: "A", Quantity: 1}}
	tests := []struct {
		name      string
		f         tracking.Fulfillment
		unshipped bool
	}{
		{"everything shipped", tracking.Fulfillment{}, false},
		{"items unshipped", tracking.Fulfillment{Unshipped: lamp}, true},
		{"items unshipped, but a package lists nothing", tracking.Fulfillment{Unshipped: lamp, EmptyShipments: []string{"s_2"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			o := tracking.PublicOrder{Number: "7", Status: tracking.OrderInTransit, Shipments: []tracking.PublicShipment{pkg("s_1"), pkg("s_2")},
				Fulfillment: tt.f}
			if err := TrackingPage(TrackingProps{Lang: English, Now: time.Now(), Order: o}).Render(context.Background(), &b); err != nil {
				t.Fatal(err)
			}
			open := `<div class="order-status" data-order-status="in_transit" data-tone=""`
			if tt.unshipped {
				open += " data-unshipped"
			}
			want := open + `><p class="badges"><span class="badge st" data-order-badge>On its way</span></p>` +
				`<p data-order-desc>Everything in your order is on its way.</p></div>`
			if !strings.Contains(b.String(), want) {
				t.Errorf("missing %q in %s", want, b.String())
			}
		})
	}
}
