package outbound

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/trackd/trackd/carriers/generic"
	"github.com/trackd/trackd/tracking"
)

func TestDelivery_SignedEventArrivesOnceWithTheDocumentedBody(t *testing.T) {
	e := newEnv(t, nil)
	rcv := newReceiver(t, nil)
	sub := e.subscribe(rcv.URL(), ShipmentUpdated)
	if !strings.HasPrefix(sub.Secret, "whsec_") || sub.Status != Active {
		t.Fatalf("created %+v: want a whsec_ secret and active", sub)
	}
	e.order("R-1", "1ZA")
	e.scan("1ZA", tracking.StatusInTransit)
	e.run()

	got := rcv.requests()
	if len(got) != 1 {
		t.Fatalf("%d deliveries, want 1", len(got))
	}
	r := got[0]
	v := generic.Verifier{Secrets: [][]byte{[]byte(sub.Secret)}}
	if err := v.Verify(r.header.Get(generic.SignatureHeader), r.body, e.now()); err != nil {
		t.Errorf("generic.Verifier: %v", err)
	}
	if !verifyTrackdSignature(sub.Secret, r.header.Get("Trackd-Signature"), r.body, e.now()) {
		t.Error("the README's raw HMAC check refuses the signature")
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	var body struct {
		ID        string    `json:"id"`
		Type      string    `json:"type"`
		CreatedAt time.Time `json:"created_at"`
		Data      struct {
			Shipment map[string]any `json:"shipment"`
			Change   map[string]any `json:"change"`
		} `json:"data"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatal(err)
	}
	id := tracking.ShipmentID("ups", "1ZA")
	if body.ID == "" || body.ID != r.header.Get(HeaderEventID) || body.Type != "shipment.updated" ||
		r.header.Get(HeaderEventType) != "shipment.updated" || r.header.Get(HeaderAttempt) != "1" {
		t.Errorf("id %q type %q, headers %v", body.ID, body.Type, r.header)
	}
	if !body.CreatedAt.Equal(e.now()) {
		t.Errorf("created_at %v, want the change's time %v", body.CreatedAt, e.now())
	}
	sh := body.Data.Shipment
	want := map[string]any{"id": id, "carrier": "ups", "tracking_number": "1ZA", "direction": "outbound",
		"status": "in_transit", "delayed": false, "order_number": "R-1", "estimated_delivery": nil}
	for k, w := range want {
		if sh[k] != w {
			t.Errorf("data.shipment.%s = %v, want %v", k, sh[k], w)
		}
	}
	if sh["order_id"] == "" || body.Data.Change["from"] != "pending" || body.Data.Change["to"] != "in_transit" ||
		body.Data.Change["id"] != id+":1" {
		t.Errorf("data %+v", body.Data)
	}

	// Read again, and the same change delivered twice more by the stream
	// (a processor that crashed after forwarding does that): nothing more.
	e.run()
	key := e.store.ChangesKey(e.store.ShardOf(id))
	msgs, err := e.rdb.XRange(e.ctx, key, "-", "+").Result()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("%d changes (%v)", len(msgs), err)
	}
	for range 2 {
		e.rdb.XAdd(e.ctx, &redis.XAddArgs{Stream: key, Values: msgs[0].Values})
		e.run()
	}
	if n := len(rcv.requests()); n != 1 {
		t.Errorf("%d deliveries after the change came three times, want 1", n)
	}
	if log := e.deliveries(sub.ID); results(log) != "delivered" || log[0].StatusCode != 200 || log[0].EventID != body.ID {
		t.Errorf("delivery log %+v", log)
	}
}

func TestDelivery_FailureIsRetriedWithBackoffThenDelivered(t *testing.T) {
	e := newEnv(t, nil)
	rcv := newReceiver(t, func(n int) int {
		if n == 0 {
			return http.StatusInternalServerError
		}
		return http.StatusNoContent
	})
	sub := e.subscribe(rcv.URL(), ShipmentDelivered)
	e.order("R-1", "1ZA")
	e.scan("1ZA", tracking.StatusDelivered)
	e.run()
	if n := len(rcv.requests()); n != 1 {
		t.Fatalf("%d deliveries, want 1 (the 500)", n)
	}
	log := e.deliveries(sub.ID)
	if results(log) != "retrying" || log[0].StatusCode != 500 || !strings.Contains(log[0].Error, "HTTP 500: answer 500") ||
		log[0].NextAttemptAt == nil {
		t.Fatalf("log %+v", log)
	}
	if next := log[0].NextAttemptAt.Sub(e.now()); next < e.s.cfg.BackoffBase/2 || next > e.s.cfg.BackoffBase {
		t.Errorf("next attempt in %s, want within the first backoff %s", next, e.s.cfg.BackoffBase)
	}
	if got := e.sub(sub.ID).ConsecutiveFailures; got != 1 {
		t.Errorf("%d consecutive failures, want 1", got)
	}

	e.run() // not due yet
	if n := len(rcv.requests()); n != 1 {
		t.Fatalf("%d deliveries before the backoff passed, want 1", n)
	}
	e.advance(e.s.cfg.BackoffBase)
	e.run()
	got := rcv.requests()
	if len(got) != 2 {
		t.Fatalf("%d deliveries after the backoff, want 2", len(got))
	}
	if got[0].header.Get(HeaderEventID) != got[1].header.Get(HeaderEventID) || string(got[0].body) != string(got[1].body) ||
		got[1].header.Get(HeaderAttempt) != "2" {
		t.Errorf("the retry differs: %v %s / %v %s", got[0].header, got[0].body, got[1].header, got[1].body)
	}
	if results(e.deliveries(sub.ID)) != "retrying,delivered" || e.sub(sub.ID).ConsecutiveFailures != 0 {
		t.Errorf("log %s, failures %d", results(e.deliveries(sub.ID)), e.sub(sub.ID).ConsecutiveFailures)
	}
	e.advance(2 * time.Hour)
	e.run()
	if n := len(rcv.requests()); n != 2 {
		t.Errorf("%d deliveries after it was delivered, want 2", n)
	}

	// The log pages, newest first.
	page, next, err := e.s.Deliveries(e.ctx, sub.ID, 1, "")
	if err != nil || len(page) != 1 || page[0].Result != ResultDelivered || next == "" {
		t.Fatalf("page 1: %+v %q %v", page, next, err)
	}
	page, next, err = e.s.Deliveries(e.ctx, sub.ID, 1, next)
	if err != nil || len(page) != 1 || page[0].Result != ResultRetrying || next != "" {
		t.Errorf("page 2: %+v %q %v", page, next, err)
	}
}

func TestDelivery_DeadReceiverDisablesTheSubscription(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.DisableAfter, c.DisableAfterFor = 3, 10*time.Minute })
	dead := newReceiver(t, func(int) int { return http.StatusServiceUnavailable })
	dead.srv.Close() // nothing listens: connections are refused
	sub := e.subscribe(dead.URL(), ShipmentUpdated)
	e.order("R-1", "1ZA")
	e.scan("1ZA", tracking.StatusInTransit)
	first := e.now()

	// Three failures in a row, but within minutes: a short outage, kept.
	for range 3 {
		e.run()
		e.advance(time.Minute)
	}
	if s := e.sub(sub.ID); s.Status != Active || s.ConsecutiveFailures != 3 {
		t.Fatalf("after 3 quick failures: %s with %d failures, want still active", s.Status, s.ConsecutiveFailures)
	}
	// Failing on for longer than DisableAfterFor disables it.
	for e.sub(sub.ID).Status == Active {
		if e.now().Sub(first) > time.Hour {
			t.Fatal("not disabled after an hour of failures")
		}
		e.advance(e.s.cfg.BackoffMax)
		e.run()
	}
	s := e.sub(sub.ID)
	if !strings.Contains(s.DisabledReason, "deliveries in a row failed") || !strings.Contains(s.DisabledReason, "connection refused") ||
		s.DisabledAt.IsZero() {
		t.Errorf("disabled: %q at %v", s.DisabledReason, s.DisabledAt)
	}
	log := e.deliveries(sub.ID)
	if !strings.HasSuffix(results(log), "retrying,failed,disabled") || log[0].Error != s.DisabledReason {
		t.Errorf("log %s, newest %+v", results(log), log[0])
	}

	// Disabled: a new event is not sent (it is kept for a replay).
	e.scan("1ZA", tracking.StatusOutForDelivery)
	e.advance(time.Hour)
	e.run()
	if n := len(e.deliveries(sub.ID)); n != len(log) {
		t.Errorf("%d log entries after an event while disabled, want %d: nothing sent", n, len(log))
	}
	if _, err := e.s.Replay(e.ctx, sub.ID, first, e.now()); !errors.Is(err, ErrDisabled) {
		t.Errorf("replay while disabled: %v, want ErrDisabled", err)
	}

	// Fixed and re-enabled: a replay of the whole outage delivers both
	// events, with their ids.
	live := newReceiver(t, nil)
	url, active := live.URL(), string(Active)
	re, err := e.s.Update(e.ctx, sub.ID, Patch{URL: &url, Status: &active})
	if err != nil || re.Status != Active || re.ConsecutiveFailures != 0 || re.DisabledReason != "" {
		t.Fatalf("re-enable: %+v %v", re, err)
	}
	n, err := e.s.Replay(e.ctx, sub.ID, first, e.now())
	if err != nil || n != 2 {
		t.Fatalf("replay: %d %v, want 2 events", n, err)
	}
	e.run()
	if got := live.types(); len(got) != 2 {
		t.Fatalf("replayed %v, want both updates", got)
	}
	if dead.conns.Load() != 0 {
		t.Error("the closed receiver saw connections")
	}
}

func TestDelivery_AnEventFailingForMaxAgeIsGivenUpAndDisables(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxAge, c.DisableAfter = 3*time.Hour, 1000 })
	rcv := newReceiver(t, func(int) int { return http.StatusBadGateway })
	sub := e.subscribe(rcv.URL(), ShipmentUpdated)
	e.order("R-1", "1ZA")
	e.scan("1ZA", tracking.StatusInTransit)
	first := e.now()
	for e.sub(sub.ID).Status == Active {
		if e.now().Sub(first) > 5*time.Hour {
			t.Fatal("still retrying after 5 hours")
		}
		e.run()
		e.advance(10 * time.Minute)
	}
	log := e.deliveries(sub.ID)
	last := log[1] // before the disabled notice
	if last.Result != ResultGaveUp || last.At.Sub(first) < 3*time.Hour {
		t.Errorf("last attempt %+v, want gave_up at least MaxAge after the first", last)
	}
	if s := e.sub(sub.ID); !strings.Contains(s.DisabledReason, "could not be delivered in 3h0m0s") {
		t.Errorf("reason %q", s.DisabledReason)
	}
	// Backoff: the first retry within 30 s, the late ones 30 min to an hour apart.
	var waits []time.Duration
	for i := len(log) - 1; i >= 0; i-- {
		if log[i].NextAttemptAt != nil {
			waits = append(waits, log[i].NextAttemptAt.Sub(log[i].At))
		}
	}
	if len(waits) < 8 || waits[0] > 30*time.Second || waits[len(waits)-1] < 30*time.Minute || waits[len(waits)-1] > time.Hour {
		t.Errorf("waits %v, want 30 s doubling up to an hour", waits)
	}
	tries := len(rcv.requests())
	e.advance(24 * time.Hour)
	e.run()
	if len(rcv.requests()) != tries {
		t.Error("tried again after giving up")
	}
}

func TestReplay_ARangeIsDeliveredAgainWithTheSameEventIDs(t *testing.T) {
	e := newEnv(t, nil)
	rcv := newReceiver(t, nil)
	sub := e.subscribe(rcv.URL(), ShipmentUpdated, ShipmentDelivered)
	e.order("R-1", "1ZA")
	t0 := e.now()
	e.scan("1ZA", tracking.StatusInTransit)
	e.run()
	e.advance(3 * time.Hour)
	e.scan("1ZA", tracking.StatusDelivered)
	e.run()
	first := rcv.events(t)
	if len(first) != 3 {
		t.Fatalf("%d events, want 3 (updated; updated and delivered)", len(first))
	}

	n, err := e.s.Replay(e.ctx, sub.ID, t0.Add(-time.Minute), t0.Add(time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("replay of the first hour: %d %v, want 1", n, err)
	}
	e.run()
	all := rcv.events(t)
	if len(all) != 4 || all[3].ID != first[0].ID || all[3].Type != ShipmentUpdated || string(all[3].Data) != string(first[0].Data) {
		t.Fatalf("after the replay: %v, want the first event again", all)
	}
	if r := rcv.requests()[3]; r.header.Get(HeaderEventID) != first[0].ID {
		t.Errorf("replayed header id %q", r.header.Get(HeaderEventID))
	}
	if log := e.deliveries(sub.ID); !log[0].Replay || log[0].EventID != first[0].ID {
		t.Errorf("log %+v, want the replay marked", log[0])
	}

	n, err = e.s.Replay(e.ctx, sub.ID, t0, e.now())
	if err != nil || n != 3 {
		t.Fatalf("replay of everything: %d %v", n, err)
	}
	e.run()
	var ids []string
	for _, ev := range rcv.events(t)[4:] {
		ids = append(ids, ev.ID)
	}
	want := []string{first[0].ID, first[1].ID, first[2].ID}
	slices.Sort(ids)
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Errorf("replayed %v, want %v", ids, want)
	}

	var fe *tracking.FieldError
	if _, err := e.s.Replay(e.ctx, sub.ID, e.now(), t0); !errors.As(err, &fe) || fe.Field != "to" {
		t.Errorf("to before from: %v", err)
	}
	if _, err := e.s.Replay(e.ctx, "wh_nosuchsub", t0, e.now()); !errors.Is(err, tracking.ErrNotFound) {
		t.Errorf("unknown subscription: %v", err)
	}
}

func TestEvents_OrderDeliveredAndReturnReceived(t *testing.T) {
	e := newEnv(t, nil)
	rcv := newReceiver(t, nil)
	e.subscribe(rcv.URL(), ShipmentDelivered, ShipmentException, ShipmentDelayed, OrderDelivered, ReturnReceived)
	step := func(what string, want ...string) []Event {
		t.Helper()
		before := len(rcv.requests())
		e.run()
		got := rcv.types()[before:]
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", what, got, want)
		}
		return rcv.events(t)[before:]
	}

	o := e.order("R-1", "1ZA", "1ZB", "return:1ZR")
	e.scan("1ZA", tracking.StatusDelivered)
	step("first of two delivered", "shipment.delivered")
	e.scan("1ZB", tracking.StatusException)
	step("second in exception", "shipment.exception")
	e.scan("1ZB", tracking.StatusDelivered)
	evs := step("second delivered", "shipment.delivered", "order.delivered")
	for _, ev := range evs {
		if ev.Type != OrderDelivered {
			continue
		}
		var d OrderData
		if err := json.Unmarshal(ev.Data, &d); err != nil {
			t.Fatal(err)
		}
		if d.Order.ID != o.ID || d.Order.OrderNumber != "R-1" || len(d.Order.Shipments) != 2 ||
			d.Order.Shipments[0].Status != "delivered" || d.Order.Shipments[1].Status != "delivered" ||
			d.Change.ID != tracking.ShipmentID("ups", "1ZB")+":2" {
			t.Errorf("order.delivered data %s", ev.Data)
		}
	}
	e.scan("1ZR", tracking.StatusInTransit)
	step("return in transit")
	e.scan("1ZR", tracking.StatusDelivered)
	evs = step("return delivered", "shipment.delivered", "return.received")
	var d ShipmentData
	if err := json.Unmarshal(evs[0].Data, &d); err != nil || d.Shipment.Direction != "return" || d.Shipment.OrderNumber != "R-1" {
		t.Errorf("return data %s (%v)", evs[0].Data, err)
	}

	// The last two parcels of an order delivered together: both changes
	// see the order complete, and make one order.delivered.
	e.order("R-2", "1ZC", "1ZD")
	e.scan("1ZC", tracking.StatusDelivered)
	e.scan("1ZD", tracking.StatusDelivered)
	step("two delivered at once", "shipment.delivered", "shipment.delivered", "order.delivered")

	// The delay watcher's change.
	id := tracking.ShipmentID("ups", "1ZE")
	e.order("R-3", "1ZE")
	delayed, _ := json.Marshal(tracking.Change{ID: id + ":7", ShipmentID: id, Carrier: "ups", TrackingNumber: "1ZE",
		OrderID: mustOrder(t, e, "R-3"), Direction: "outbound", From: tracking.StatusInTransit, To: tracking.StatusInTransit,
		At: fmt.Sprint(e.now().UnixMilli()), Delayed: true, DelayChanged: true})
	e.rdb.XAdd(e.ctx, &redis.XAddArgs{Stream: e.store.ChangesKey(e.store.ShardOf(id)), Values: []any{"id", id + ":7", "change", delayed}})
	step("delayed", "shipment.delayed")

	// A shipment no order claims sends nothing.
	e.scan("1ZUNCLAIMED", tracking.StatusDelivered)
	step("unclaimed")
}

func mustOrder(t *testing.T, e *env, number string) string {
	t.Helper()
	o, err := e.store.OrderByNumber(e.ctx, number)
	if err != nil {
		t.Fatal(err)
	}
	return o.ID
}

func TestShipmentTypes(t *testing.T) {
	tests := []struct {
		c    tracking.Change
		want string
	}{
		{tracking.Change{From: "pending", To: "in_transit"}, "[shipment.updated]"},
		{tracking.Change{From: "in_transit", To: "in_transit", ETAChanged: true}, "[shipment.updated]"},
		{tracking.Change{From: "out_for_delivery", To: "delivered", Direction: "outbound"}, "[shipment.updated shipment.delivered]"},
		{tracking.Change{From: "in_transit", To: "delivered", Direction: "return"}, "[shipment.updated shipment.delivered return.received]"},
		{tracking.Change{From: "delivered", To: "delivered", Direction: "return", ETAChanged: true}, "[shipment.updated]"},
		{tracking.Change{From: "in_transit", To: "exception"}, "[shipment.updated shipment.exception]"},
		{tracking.Change{From: "in_transit", To: "in_transit", Delayed: true, DelayChanged: true}, "[shipment.updated shipment.delayed]"},
		{tracking.Change{From: "in_transit", To: "in_transit", Delayed: false, DelayChanged: true}, "[shipment.updated]"},
		{tracking.Change{From: "in_transit", To: "returned"}, "[shipment.updated]"},
	}
	for _, tt := range tests {
		if got := fmt.Sprint(shipmentTypes(tt.c)); got != tt.want {
			t.Errorf("%s -> %s (%s): %s, want %s", tt.c.From, tt.c.To, tt.c.Direction, got, tt.want)
		}
	}
	ids := []string{EventID("s_x:1", "shipment.updated"), EventID("s_x:1", "shipment.updated"), EventID("s_x:1", "shipment.delivered")}
	if ids[0] != ids[1] || ids[0] == ids[2] || !strings.HasPrefix(ids[0], "evt_") {
		t.Errorf("event ids %v: must be deterministic and differ by type", ids)
	}
}

func TestPublish_NotificationFailedIsSentOnce(t *testing.T) {
	e := newEnv(t, nil)
	rcv := newReceiver(t, nil)
	other := newReceiver(t, nil)
	e.subscribe(rcv.URL(), NotificationFailed)
	e.subscribe(other.URL(), ShipmentUpdated)
	f := NotificationFailure{OrderID: "o_1", OrderNumber: "R-1", ShipmentID: "s_1", Trigger: "delivered", Channel: "email",
		Error: "550 mailbox unavailable", Attempt: 1, At: e.now()}
	for range 2 {
		if err := e.s.Publish(e.ctx, f.Event()); err != nil {
			t.Fatal(err)
		}
	}
	e.run()
	evs := rcv.events(t)
	if len(evs) != 1 || evs[0].Type != NotificationFailed || len(other.requests()) != 0 {
		t.Fatalf("%d events (%v), other %d: want one notification.failed to its subscriber only", len(evs), evs, len(other.requests()))
	}
	var got NotificationFailure
	if err := json.Unmarshal(evs[0].Data, &got); err != nil || got.Error != f.Error || got.Channel != "email" || got.OrderNumber != "R-1" {
		t.Errorf("data %s (%v)", evs[0].Data, err)
	}
	if err := e.s.Publish(e.ctx, Event{ID: "x", Type: "order.teleported"}); err == nil {
		t.Error("an unknown type was published")
	}
}

func TestDelivery_AJobLeftByADeadNodeIsDeliveredAfterItsLease(t *testing.T) {
	e := newEnv(t, nil)
	rcv := newReceiver(t, nil)
	e.subscribe(rcv.URL(), ShipmentUpdated)
	e.order("R-1", "1ZA")
	e.scan("1ZA", tracking.StatusInTransit)
	for shard := range e.s.cfg.Shards {
		if _, err := e.s.ReadOnce(e.ctx, shard, ">", -1); err != nil {
			t.Fatal(err)
		}
	}
	for shard := range e.s.cfg.Shards {
		// A node claims the shard's jobs and dies before delivering.
		if _, err := e.s.queue().RunOnce(e.ctx, shard, e.now(), func(string, string, int64) {}); err != nil {
			t.Fatal(err)
		}
	}
	e.run()
	if n := len(rcv.requests()); n != 0 {
		t.Fatalf("%d deliveries while the dead node's lease holds", n)
	}
	e.advance(e.s.cfg.Lease)
	e.run()
	if n := len(rcv.requests()); n != 1 {
		t.Errorf("%d deliveries after the lease, want 1", n)
	}
}

func TestSubscriptions_CreateListUpdateDelete(t *testing.T) {
	e := newEnv(t, nil)
	a := e.subscribe("http://127.0.0.1:9/a", ShipmentUpdated, ShipmentUpdated)
	e.advance(time.Second)
	b := e.subscribe("http://127.0.0.1:9/b", OrderDelivered)
	if len(a.Events) != 1 {
		t.Errorf("events %v: duplicates should collapse", a.Events)
	}
	list, err := e.s.List(e.ctx)
	if err != nil || len(list) != 2 || list[0].ID != a.ID || list[1].ID != b.ID {
		t.Fatalf("list %+v %v", list, err)
	}
	for _, s := range append(list, e.sub(a.ID)) {
		if s.Secret != "" {
			t.Errorf("%s: the secret is shown again", s.ID)
		}
	}
	var fe *tracking.FieldError
	for _, tt := range []struct {
		name   string
		events []string
		field  string
	}{
		{"none", nil, "events"},
		{"unknown", []string{"shipment.updated", "shipment.teleported"}, "events[1]"},
	} {
		if _, err := e.s.Create(e.ctx, "http://127.0.0.1:9/", tt.events); !errors.As(err, &fe) || fe.Field != tt.field {
			t.Errorf("create with %s events: %v, want a field error on %s", tt.name, err, tt.field)
		}
	}
	ev := []string{"order.delivered", "return.received"}
	up, err := e.s.Update(e.ctx, a.ID, Patch{Events: &ev})
	if err != nil || fmt.Sprint(up.Events) != "[order.delivered return.received]" || up.Secret != "" {
		t.Errorf("update events: %+v %v", up, err)
	}
	paused := "paused"
	if _, err := e.s.Update(e.ctx, a.ID, Patch{Status: &paused}); !errors.As(err, &fe) || fe.Field != "status" {
		t.Errorf("status paused: %v", err)
	}
	disabled := string(Disabled)
	if up, err := e.s.Update(e.ctx, a.ID, Patch{Status: &disabled}); err != nil || up.Status != Disabled || up.DisabledReason == "" {
		t.Errorf("disable: %+v %v", up, err)
	}
	if err := e.s.Delete(e.ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{
		e.s.Delete(e.ctx, a.ID),
		func() error { _, err := e.s.Get(e.ctx, a.ID); return err }(),
		func() error { _, err := e.s.Update(e.ctx, a.ID, Patch{Events: &ev}); return err }(),
		func() error { _, _, err := e.s.Deliveries(e.ctx, a.ID, 10, ""); return err }(),
		func() error { _, err := e.s.Get(e.ctx, "../../etc"); return err }(),
	} {
		if !errors.Is(err, tracking.ErrNotFound) {
			t.Errorf("after delete: %v, want not found", err)
		}
	}
	// A failure counted after the delete does not bring it back.
	if _, err := e.s.recordFailure(e.ctx, a.ID, e.now(), "x"); err != nil {
		t.Fatal(err)
	}
	if list, _ := e.s.List(e.ctx); len(list) != 1 {
		t.Errorf("%d subscriptions after delete, want 1", len(list))
	}
	if n, _ := e.rdb.Exists(e.ctx, e.s.subKey(a.ID)).Result(); n != 0 {
		t.Error("a failure recorded after the delete recreated the subscription")
	}
}

func TestRun_DeliversFromTheChangeStreamUntilStopped(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Idle = 10 * time.Millisecond })
	rcv := newReceiver(t, nil)
	e.subscribe(rcv.URL(), ShipmentUpdated)
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan error, 1)
	go func() { done <- e.s.Run(ctx) }()
	e.order("R-1", "1ZA")
	e.scan("1ZA", tracking.StatusInTransit)
	deadline := time.Now().Add(30 * time.Second)
	for len(rcv.requests()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("nothing delivered in 30 s")
		}
		time.Sleep(10 * time.Millisecond) // polling for the condition
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	if n := len(rcv.requests()); n != 1 {
		t.Errorf("%d deliveries, want 1", n)
	}
}
