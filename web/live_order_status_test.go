package web

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/trackd/trackd/templates"
	"github.com/trackd/trackd/tracking"
)

// orderLine is the order's status line as the page shows it.
type orderLine struct {
	Status string `json:"status"`
	Tone   string `json:"tone"`
	Badge  string `json:"badge"`
	Desc   string `json:"desc"`
}

// englishLine is the line the server renders in English for status s.
func englishLine(s tracking.OrderStatus) orderLine {
	tone := map[tracking.OrderStatus]string{tracking.OrderDelivered: "ok", tracking.OrderException: "bad"}[s]
	return orderLine{string(s), tone, templates.English.T("order_status." + string(s)), templates.English.T("order_desc." + string(s))}
}

// orderLineJS is the page's order line once the expression when holds, or
// false before.
func orderLineJS(when string) string {
	return `(` + when + `) && (b => ({status: b.dataset.orderStatus, tone: b.dataset.tone,
		badge: b.querySelector('[data-order-badge]').textContent, desc: b.querySelector('[data-order-desc]').textContent}))(
		document.querySelector('[data-order-status]'))`
}

// awaitOrderLine waits for the expression when, then reads the order line.
// static/live.js sets the line as it sets a shipment's state, so the line
// read is the one that state makes.
func awaitOrderLine(t *testing.T, ctx context.Context, what, when string) orderLine {
	t.Helper()
	l, err := chromedp.Run(ctx, chromedp.Poll[orderLine](orderLineJS(when), chromedp.WithPollingTimeout(40*time.Second)))
	if err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
	return l
}

// statusJS is the status a shipment's section shows.
func statusJS(shipment string) string {
	return fmt.Sprintf(`document.querySelector('[data-shipment-id=%q] [data-status]')?.dataset.status`, shipment)
}

// orderStateMessage is a live "event" (with a scan) or "state" message
// putting a shipment in status.
func orderStateMessage(typ, shipment, cursor string, status tracking.Status) string {
	m := map[string]any{"type": typ, "shipment_id": shipment, "status": status, "delayed": false, "estimated_delivery": nil}
	if typ == "event" {
		m["cursor"] = cursor
		m["event"] = map[string]any{"status": status, "message": "Scan", "occurred_at": "2026-11-25T16:00:00Z",
			"occurred_at_local": "2026-11-25T17:00:00+01:00", "cursor": cursor}
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// orderSnapshot is a live snapshot putting each shipment (id, status,
// cursor, in threes) in its status, without history.
func orderSnapshot(states ...string) string {
	var shs []map[string]any
	for i := 0; i+2 < len(states); i += 3 {
		shs = append(shs, map[string]any{"id": states[i], "status": states[i+1], "cursor": states[i+2], "delayed": false,
			"estimated_delivery": nil, "updated_at": "2026-11-25T16:00:00Z", "events": []any{}})
	}
	b, _ := json.Marshal(map[string]any{"type": "snapshot", "shipments": shs})
	return string(b)
}

// TestLiveOrderStatus_Browser follows a split order's status line in
// headless Chromium as its packages change live: an event delivers one, a
// state message the other, the return's trouble changes nothing, and a
// snapshot puts a package in exception. A cancelled order's line stays.
func TestLiveOrderStatus_Browser(t *testing.T) {
	o, shs := fixtureOrder("")
	o.Items = o.Items[:2] // what the two packages carry: nothing unshipped
	ups, fedex, dhl := shs[0].ID, shs[1].ID, shs[2].ID
	store := newPageStore()
	store.add(o, shs...)
	srv := startLiveScriptServer(t, newPageServer(t, store))
	ctx := liveScriptBrowser(t)
	problems := watchScriptProblems(t, ctx)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.url+"/t/"+testToken)); err != nil {
		t.Fatal(err)
	}
	if got, want := awaitOrderLine(t, ctx, "the page", "true"), englishLine(tracking.OrderInTransit); got != want {
		t.Fatalf("the page says %+v, want %+v", got, want)
	}

	steps := []struct {
		name    string
		message string
		when    string // the message is handled
		want    tracking.OrderStatus
	}{
		{"an event delivers one package", orderStateMessage("event", ups, "1764300000000-0", tracking.StatusDelivered),
			cursorJS(ups) + ` === '1764300000000-0'`, tracking.OrderPartiallyDelivered},
		{"a state message delivers the other", orderStateMessage("state", fedex, "", tracking.StatusDelivered),
			statusJS(fedex) + ` === 'delivered'`, tracking.OrderDelivered},
		{"the return's exception does not count", orderStateMessage("event", dhl, "1764300000000-1", tracking.StatusException),
			cursorJS(dhl) + ` === '1764300000000-1'`, tracking.OrderDelivered},
		{"a snapshot puts a package in exception", orderSnapshot(fedex, "exception", "1764300000000-2"),
			cursorJS(fedex) + ` === '1764300000000-2'`, tracking.OrderException},
		{"a scan after it does not clear it", orderStateMessage("event", ups, "1764300000000-3", tracking.StatusDelivered),
			cursorJS(ups) + ` === '1764300000000-3'`, tracking.OrderException},
	}
	for _, st := range steps {
		srv.send(t, st.message)
		if got, want := awaitOrderLine(t, ctx, st.name, st.when), englishLine(st.want); got != want {
			t.Errorf("%s: the line says %+v, want %+v", st.name, got, want)
		}
	}

	t.Run("cancelled", func(t *testing.T) {
		o, shs := fixtureOrder("")
		o.CancelledAt = &pageNow
		store := newPageStore()
		store.add(o, shs...)
		srv := startLiveScriptServer(t, newPageServer(t, store))
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.url+"/t/"+testToken)); err != nil {
			t.Fatal(err)
		}
		srv.send(t, orderStateMessage("event", shs[0].ID, "1764300000000-0", tracking.StatusDelivered))
		got := awaitOrderLine(t, ctx, "the event", cursorJS(shs[0].ID)+` === '1764300000000-0'`)
		if want := englishLine(tracking.OrderCancelled); got != want {
			t.Errorf("the line says %+v, want %+v", got, want)
		}
	})
	for _, p := range problems() {
		t.Errorf("page problem: %s", p)
	}
}

// TestLiveOrderStatus_MatchesDeriveOrderStatus checks that static/live.js
// derives the order's status as tracking.DeriveOrderStatus does, through
// the page's own path: a page is rendered for an order, a snapshot puts
// its two packages and its return in every pair of statuses (the return's
// status turning too: it must not count), and the line the page shows is
// compared with DeriveOrderStatus's for the same states. Items unshipped
// come from the order, as the server renders them.
func TestLiveOrderStatus_MatchesDeriveOrderStatus(t *testing.T) {
	ctx := liveScriptBrowser(t)
	problems := watchScriptProblems(t, ctx)
	variants := []struct {
		name      string
		order     func(o *tracking.Order)
		unshipped bool // as DeriveOrderStatus counts them
	}{
		{"everything in a package", func(o *tracking.Order) { o.Items = o.Items[:2] }, false},
		{"items unshipped", func(*tracking.Order) {}, true},
		// The package that lists nothing may carry the rest.
		{"items unshipped, a package lists nothing", func(o *tracking.Order) { o.Shipments[1].Items = nil }, false},
	}
	statuses := tracking.Statuses()
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			o, shs := fixtureOrder("")
			v.order(&o)
			ups, fedex, dhl := shs[0].ID, shs[1].ID, shs[2].ID
			store := newPageStore()
			store.add(o, shs...)
			srv := startLiveScriptServer(t, newPageServer(t, store))
			if err := chromedp.Do(ctx, chromedp.Navigate(srv.url+"/t/"+testToken)); err != nil {
				t.Fatal(err)
			}
			hook, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`'unshipped' in document.querySelector('[data-order-status]').dataset`))
			if err != nil {
				t.Fatal(err)
			}
			if hook != v.unshipped {
				t.Fatalf("the page says items unshipped: %v, want %v", hook, v.unshipped)
			}
			n := 0
			for i, a := range statuses {
				for j, b := range statuses {
					r := statuses[(i+j)%len(statuses)]
					n++
					cursor := fmt.Sprintf("%d-0", n)
					srv.send(t, orderSnapshot(ups, string(a), cursor, fedex, string(b), cursor, dhl, string(r), cursor))
					got := awaitOrderLine(t, ctx, fmt.Sprintf("%s, %s, return %s", a, b, r), cursorJS(ups)+` === '`+cursor+`'`)
					want := englishLine(tracking.DeriveOrderStatus(o, map[string]*tracking.Shipment{
						ups: {Status: a}, fedex: {Status: b}, dhl: {Status: r}}))
					if got != want {
						t.Errorf("%s, %s, return %s: the page says %+v, DeriveOrderStatus %+v", a, b, r, got, want)
					}
				}
			}
		})
	}
	for _, p := range problems() {
		t.Errorf("page problem: %s", p)
	}
}
