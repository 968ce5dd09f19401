package web

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/trackd/trackd/tracking"
	"github.com/trackd/trackd/tracking/redistest"
)

// sseMessage is one Server-Sent Event: its id line, if any, and its data.
type sseMessage struct {
	id   string
	data map[string]any
}

// readSSE reads the stream's messages onto a channel until it ends.
func readSSE(t *testing.T, resp *http.Response) <-chan sseMessage {
	t.Helper()
	out := make(chan sseMessage, 16)
	go func() {
		defer close(out)
		r := bufio.NewReader(resp.Body)
		var m sseMessage
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimRight(line, "\n")
			switch {
			case strings.HasPrefix(line, "id: "):
				m.id = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "data: "):
				if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &m.data); err != nil {
					t.Errorf("SSE data %q: %v", line, err)
				}
			case line == "" && m.data != nil:
				out <- m
				m = sseMessage{}
			}
		}
	}()
	return out
}

func nextSSE(t *testing.T, msgs <-chan sseMessage, what string) sseMessage {
	t.Helper()
	select {
	case m, ok := <-msgs:
		if !ok {
			t.Fatalf("the stream ended before %s", what)
		}
		return m
	case <-time.After(20 * time.Second):
		t.Fatalf("no %s in 20s", what)
	}
	return sseMessage{}
}

// TestLiveState_ADelayReachesAnOpenPage runs the whole path: the delay
// watcher marks a shipment late (no new event), the hub on the web node
// hears of it and sends a state message down an open SSE stream; a repeat
// notification sends nothing more; an estimate that moves later clears the
// delay, and that reaches the page the same way.
func TestLiveState_ADelayReachesAnOpenPage(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	scfg := tracking.DefaultStoreConfig()
	scfg.Prefix = redistest.Prefix(t)
	store, err := tracking.NewStore(rdb, scfg)
	if err != nil {
		t.Fatal(err)
	}
	var clockNs atomic.Int64
	setClock := func(s string) { clockNs.Store(at(s).UnixNano()) }
	clock := func() time.Time { return time.Unix(0, clockNs.Load()).UTC() }
	setClock("2026-11-24T10:00:00Z")
	log := slog.New(slog.DiscardHandler)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	o, _, err := store.PutOrder(ctx, tracking.OrderInput{Number: "R-STATE-1", Items: []tracking.Item{{SKU: "MUG", Quantity: 1}},
		Shipments: []tracking.ShipmentInput{{Carrier: "ups", TrackingNumber: "1ZSTATE", Items: []tracking.ItemRef{{SKU: "MUG", Quantity: 1}}}}}, clock())
	if err != nil {
		t.Fatal(err)
	}
	sid := tracking.ShipmentID("ups", "1ZSTATE")
	apply := func(u tracking.Update) tracking.ApplyResult {
		t.Helper()
		u.Carrier, u.TrackingNumber, u.ReceivedAt = "ups", "1ZSTATE", clock()
		r, err := store.Apply(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		if err := store.ForwardChanges(ctx, r.Outbox); err != nil {
			t.Fatal(err)
		}
		return r
	}
	scan := func(id, when string) tracking.Event {
		return tracking.Event{ID: id, Status: tracking.StatusInTransit, OccurredAt: at(when), OccurredAtLocal: at(when)}
	}
	first := apply(tracking.Update{EstimatedDelivery: "2026-11-26", Events: []tracking.Event{scan("a", "2026-11-24T10:00:00Z")}})

	hub := NewHub(DefaultHubConfig(), rdb, store, store, prometheus.NewRegistry(), log)
	hub.now = clock
	go hub.Run(ctx)
	app, err := New(DefaultConfig(), Deps{Store: store, Keys: noKeys{}, Redis: rdb, Hub: hub,
		Ready: func(context.Context) error { return nil }, Registry: prometheus.NewRegistry(), Log: log, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go app.Listener(ln)
	t.Cleanup(func() {
		hub.Close()
		app.ShutdownWithTimeout(5 * time.Second)
	})

	// The page's script resumes from the cursor the page was rendered with.
	resp, err := http.Get(fmt.Sprintf("http://%s/t/%s/events?cursor=%s:%s", ln.Addr(), o.Token, sid, first.Cursors[0]))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("SSE answered %d", resp.StatusCode)
	}
	msgs := readSSE(t, resp)
	// Resuming with nothing new since its cursor, the page is told the
	// shipment's state: it may have moved while the page was away.
	if m := nextSSE(t, msgs, "the resumed page's state"); m.data["type"] != "state" || m.data["delayed"] != false {
		t.Fatalf("first message on resume = %v, want the state, not delayed", m.data)
	}
	channel := store.LiveChannel(sid)
	hubWaitUntil(t, "the hub to subscribe to the shipment", func() bool {
		n, err := rdb.PubSubNumSub(ctx, channel).Result()
		return err == nil && n[channel] == 1
	})

	dcfg := tracking.DefaultDelayConfig()
	w, err := tracking.NewDelayWatcher(store, dcfg, log, clock)
	if err != nil {
		t.Fatal(err)
	}
	setClock("2026-11-25T00:00:00Z")
	if err := w.Watch(ctx, []string{sid}); err != nil {
		t.Fatal(err)
	}
	setClock("2026-11-27T01:00:00Z") // the estimate has passed
	if n, err := w.Sweep(ctx, clock()); err != nil || n != 1 {
		t.Fatalf("sweep recorded %d changes (%v), want 1", n, err)
	}
	m := nextSSE(t, msgs, "the state message")
	eta, _ := m.data["estimated_delivery"].(map[string]any)
	if m.data["type"] != "state" || m.data["shipment_id"] != sid || m.data["status"] != "in_transit" ||
		m.data["delayed"] != true || eta["latest"] != "2026-11-26" || m.id != "" {
		t.Fatalf("message = id %q %v, want a state message without an id, delayed, with the estimate", m.id, m.data)
	}
	// A page that was away when the delay came learns of it when it
	// resumes from the same cursor.
	late, err := http.Get(fmt.Sprintf("http://%s/t/%s/events?cursor=%s:%s", ln.Addr(), o.Token, sid, first.Cursors[0]))
	if err != nil {
		t.Fatal(err)
	}
	if m := nextSSE(t, readSSE(t, late), "the state on resume"); m.data["type"] != "state" || m.data["delayed"] != true {
		t.Fatalf("first message to a page resuming after the delay = %v, want the state, delayed", m.data)
	}
	late.Body.Close()

	// A notification with nothing new for the client sends nothing: the
	// next message is the next event's. (The fan-out is run here, not
	// kicked, so it is done before that event is stored.)
	hub.mu.Lock()
	watch := hub.watches[sid]
	hub.mu.Unlock()
	hub.fanout(watch)
	r := apply(tracking.Update{Events: []tracking.Event{scan("b", "2026-11-27T00:30:00Z")}})
	hub.kick(sid)
	m = nextSSE(t, msgs, "the event")
	if m.data["type"] != "event" || m.data["cursor"] != r.Cursors[0] || m.data["delayed"] != true {
		t.Fatalf("message after a repeat notification = %v, want the event %s, still delayed", m.data, r.Cursors[0])
	}

	// A later estimate ends the delay: a change without an event.
	apply(tracking.Update{EstimatedDelivery: "2026-11-30"})
	if err := w.Watch(ctx, []string{sid}); err != nil {
		t.Fatal(err)
	}
	m = nextSSE(t, msgs, "the state message clearing the delay")
	eta, _ = m.data["estimated_delivery"].(map[string]any)
	if m.data["type"] != "state" || m.data["delayed"] != false || eta["first"] != "2026-11-26" || eta["latest"] != "2026-11-30" {
		t.Fatalf("message = %v, want a state message, not delayed, estimate moved to 2026-11-30", m.data)
	}
}

// TestLiveScript_StateMessagesShowAndHideTheDelay feeds the page's script
// state messages: the delayed badge and sentence follow them, and the
// cursors it resumes from do not move.
func TestLiveScript_StateMessagesShowAndHideTheDelay(t *testing.T) {
	o, shs := fixtureOrder("")
	ups, fedex, dhl := shs[0].ID, shs[1].ID, shs[2].ID
	store := newPageStore()
	store.add(o, shs...)
	srv := startLiveScriptServer(t, newPageServer(t, store))
	ctx := liveScriptBrowser(t)
	problems := watchScriptProblems(t, ctx)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.url+"/t/"+testToken)); err != nil {
		t.Fatal(err)
	}
	cursors := []string{ups + ":1764200000000-0", fedex + ":1763500000000-0", dhl + ":1764050000000-0"}
	assertCursors(t, "the first SSE request", srv.nextStream(t), cursors...)

	badge := func(id string) string {
		return fmt.Sprintf(`document.querySelector('[data-shipment-id=%q] [data-delayed]').hidden`, id)
	}
	desc := func(id string) string {
		return fmt.Sprintf(`document.querySelector('[data-shipment-id=%q] [data-desc]').textContent`, id)
	}
	// As rendered: the FedEx parcel is late, the UPS one is not.
	waitScript(t, ctx, "the page", badge(ups)+` && !`+badge(fedex))

	state := func(id string, delayed bool, latest string) string {
		b, _ := json.Marshal(map[string]any{"type": "state", "shipment_id": id, "status": "in_transit", "delayed": delayed,
			"estimated_delivery": map[string]string{"first": "2026-11-20", "latest": latest}})
		return string(b)
	}
	srv.send(t, state(ups, true, "2026-11-27"), state(fedex, false, "2026-11-29"))
	waitScript(t, ctx, "the state messages", `!`+badge(ups)+` && `+badge(fedex))
	text := func(expr string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	upsDesc, fedexDesc := text(desc(ups)), text(desc(fedex))
	fedexETA := text(fmt.Sprintf(`document.querySelector('[data-shipment-id=%q] [data-eta]').textContent`, fedex))
	if !strings.HasSuffix(upsDesc, "It is running later than expected.") {
		t.Errorf("UPS summary %q, want it to say the parcel is late", upsDesc)
	}
	if strings.Contains(fedexDesc, "later than expected") {
		t.Errorf("FedEx summary %q still says the parcel is late", fedexDesc)
	}
	if !strings.HasPrefix(fedexETA, "Nov 29, 2026") {
		t.Errorf("FedEx estimate %q, want Nov 29, 2026", fedexETA)
	}

	// State messages carry no cursor: the script resumes where it was.
	srv.send(t, endStream)
	assertCursors(t, "the SSE request after the stream ended", srv.nextStream(t), cursors...)
	for _, p := range problems() {
		t.Errorf("page problem: %s", p)
	}
}
