package web

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/trackd/trackd/carriers"
	"github.com/trackd/trackd/carriers/generic"
	"github.com/trackd/trackd/tracking"
	"github.com/trackd/trackd/tracking/redistest"
)

const (
	sbxWriteKey = "sandbox-write-key-0123"
	sbxReadKey  = "sandbox-read-key-01234"
	sbxPath     = "/api/v1/sandbox/shipments/%s/advance"
)

// sbxNow is the sandbox's fixed clock: every advance happens at the same
// instant, so the "1 ms after the current event" rule is what moves them.
var sbxNow = time.Date(2026, 11, 25, 16, 0, 0, 0, time.UTC)

// sbxEnv is the sandbox mounted as the routes mount it (behind a write
// key), on a real redis-server, with a processor decoding through the
// adapter registry as cmd/trackd builds it.
type sbxEnv struct {
	app *fiber.App
	// api is the rest of trackd (orders API, tracking page), to see what
	// the sandbox's events make of the order.
	api   *fiber.App
	store *tracking.Store
	rdb   *redis.Client
}

func newSbxEnv(t *testing.T, enabled, process bool) *sbxEnv {
	t.Helper()
	rdb := redistest.Start(t).Client(t)
	prefix := redistest.Prefix(t)
	scfg := tracking.DefaultStoreConfig()
	scfg.Prefix = prefix
	store, err := tracking.NewStore(rdb, scfg)
	if err != nil {
		t.Fatal(err)
	}
	keys := NewKeyStore(rdb, prefix)
	for secret, scope := range map[string]string{sbxWriteKey: ScopeWrite, sbxReadKey: ScopeRead} {
		if err := keys.Put(context.Background(), secret, APIKey{Name: scope, Scope: scope}); err != nil {
			t.Fatal(err)
		}
	}
	log := slog.New(slog.DiscardHandler)
	now := func() time.Time { return sbxNow }
	s := &Server{deps: Deps{Keys: keys, Log: log, Now: now}}
	app := fiber.New(fiber.Config{ErrorHandler: errorHandler(log)})
	app.Post("/api/v1/sandbox/shipments/:id/advance", s.requireKey(ScopeWrite),
		SandboxAdvance(SandboxDeps{Enabled: enabled, Store: store, Log: log, Now: now}))
	if process {
		// The registry cmd/trackd builds; the processor needs no secret,
		// the edge verified (here: the sandbox wrote) what it reads.
		adapters := carriers.NewRegistry(generic.Adapter{Verifier: generic.Verifier{Secrets: [][]byte{[]byte("unused-secret")}}})
		ctx, cancel := context.WithCancel(context.Background())
		proc := tracking.NewProcessor(store, adapters, tracking.DefaultProcessorConfig("sandbox-test"), log, nil)
		done := make(chan struct{})
		go func() { defer close(done); proc.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
	}
	api, err := New(DefaultConfig(), Deps{Store: store, Keys: keys, Redis: rdb, Log: log, Now: now,
		Ready: func(context.Context) error { return nil }, Registry: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	return &sbxEnv{app: app, api: api, store: store, rdb: rdb}
}

// get reads a JSON document from the rest of trackd with the read key.
func (e *sbxEnv) get(t *testing.T, path string, out any) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Header.Set("Authorization", "Bearer "+sbxReadKey)
	resp, err := e.api.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s answered %d %s", path, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

// order registers a split order, a mug by UPS and a T-shirt by DHL, and
// returns it.
func (e *sbxEnv) order(t *testing.T) tracking.Order {
	t.Helper()
	o, _, err := e.store.PutOrder(context.Background(), tracking.OrderInput{Number: "SBX-1",
		Items: []tracking.Item{{SKU: "MUG", Quantity: 1}, {SKU: "TEE", Quantity: 1}},
		Shipments: []tracking.ShipmentInput{
			{Carrier: "ups", TrackingNumber: "1ZSANDBOX0001", Items: []tracking.ItemRef{{SKU: "MUG", Quantity: 1}}},
			{Carrier: "dhl", TrackingNumber: "JD0000000002", Items: []tracking.ItemRef{{SKU: "TEE", Quantity: 1}}},
		}}, sbxNow)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// orderStatus reads the order's status as the API and the shopper's page's
// JSON show it; they must agree.
func (e *sbxEnv) orderStatus(t *testing.T, o tracking.Order) tracking.OrderStatus {
	t.Helper()
	var api struct {
		Status      tracking.OrderStatus `json:"status"`
		Fulfillment tracking.Fulfillment `json:"fulfillment"`
	}
	e.get(t, "/api/v1/orders/"+o.ID, &api)
	var page struct {
		Status tracking.OrderStatus `json:"status"`
	}
	e.get(t, "/t/"+o.Token+".json", &page)
	if page.Status != api.Status {
		t.Errorf("the page says %q, the API %q", page.Status, api.Status)
	}
	if !api.Fulfillment.OK() {
		t.Errorf("fulfillment %+v, want nothing amiss", api.Fulfillment)
	}
	return api.Status
}

func (e *sbxEnv) advance(t *testing.T, key, id, body string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, strings.Replace(sbxPath, "%s", id, 1), strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := e.app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("answered %d %q: not JSON: %v", resp.StatusCode, b, err)
	}
	return resp.StatusCode, out
}

// awaitStatus waits until the processor has applied an event that moved
// the shipment to want.
func (e *sbxEnv) awaitStatus(t *testing.T, id string, want tracking.Status, events int) *tracking.Shipment {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		sh, err := e.store.Shipment(context.Background(), id, true)
		if err == nil && sh.Status == want && sh.EventCount >= events {
			return sh
		}
		if time.Now().After(deadline) {
			t.Fatalf("shipment %s never reached %s with %d events (last: %+v, %v)", id, want, events, sh, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// changes waits until the change stream holds n changes of shipment id
// (the processor forwards them just after applying) and returns them.
func (e *sbxEnv) changes(t *testing.T, id string, n int) []tracking.Change {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		msgs, err := e.rdb.XRange(context.Background(), e.store.ChangesKey(e.store.ShardOf(id)), "-", "+").Result()
		if err != nil {
			t.Fatal(err)
		}
		var out []tracking.Change
		for _, m := range msgs {
			var c tracking.Change
			if err := json.Unmarshal([]byte(m.Values["change"].(string)), &c); err != nil {
				t.Fatal(err)
			}
			if c.ShipmentID == id {
				out = append(out, c)
			}
		}
		if len(out) >= n || time.Now().After(deadline) {
			return out
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSandboxAdvance_ThroughTheRealPipeline(t *testing.T) {
	e := newSbxEnv(t, true, true)
	o := e.order(t)
	id, other := o.Shipments[0].ID, o.Shipments[1].ID
	if got := e.orderStatus(t, o); got != tracking.OrderPending {
		t.Errorf("order status %q before any advance, want pending", got)
	}

	status, out := e.advance(t, sbxWriteKey, id,
		`{"status": "out_for_delivery", "message": "Loaded on the van", "estimated_delivery": "2026-11-26"}`)
	if status != http.StatusAccepted || out["accepted"] != 1.0 || out["shipment_id"] != id {
		t.Fatalf("answered %d %v, want 202 accepting 1 for %s", status, out, id)
	}
	eventID, _ := out["event_id"].(string)
	if !strings.HasPrefix(eventID, "sandbox_") {
		t.Fatalf("event_id %q, want a sandbox event id", eventID)
	}
	sh := e.awaitStatus(t, id, tracking.StatusOutForDelivery, 1)
	ev := sh.Events[0]
	if ev.ID != eventID || ev.CarrierStatus != SandboxCarrierStatus || ev.Message != "Loaded on the van" || !ev.OccurredAt.Equal(sbxNow) {
		t.Errorf("event %+v, want id %s, SANDBOX, the message, at %s", ev, eventID, sbxNow)
	}
	if sh.EstimatedDelivery == nil || sh.EstimatedDelivery.Latest != "2026-11-26" {
		t.Errorf("estimated delivery %+v, want 2026-11-26", sh.EstimatedDelivery)
	}
	if sh.OrderID != o.ID {
		t.Errorf("shipment's order %q, want %q", sh.OrderID, o.ID)
	}
	cs := e.changes(t, id, 1)
	if len(cs) != 1 || cs[0].From != tracking.StatusPending || cs[0].To != tracking.StatusOutForDelivery || cs[0].OrderID != o.ID {
		t.Fatalf("change stream %+v, want one change pending → out_for_delivery of the order", cs)
	}
	if got := e.orderStatus(t, o); got != tracking.OrderPartiallyShipped {
		t.Errorf("order status %q with the DHL package still pending, want partially_shipped", got)
	}

	// At the same instant (the clock is fixed), a later advance still
	// becomes current, even "backwards": 1 ms after the current event.
	status, out = e.advance(t, sbxWriteKey, id, `{"status": "in_transit"}`)
	if status != http.StatusAccepted {
		t.Fatalf("second advance answered %d %v", status, out)
	}
	sh = e.awaitStatus(t, id, tracking.StatusInTransit, 2)
	if got := sh.StatusEvent; got == nil || got.Message != "Sandbox: moved to in_transit" || !got.OccurredAt.Equal(sbxNow.Add(time.Millisecond)) {
		t.Errorf("current event %+v, want the default message 1 ms after the first", got)
	}
	cs = e.changes(t, id, 2)
	if len(cs) != 2 || cs[1].From != tracking.StatusOutForDelivery || cs[1].To != tracking.StatusInTransit {
		t.Errorf("change stream %+v, want a second change out_for_delivery → in_transit", cs)
	}

	// The order follows its packages.
	for _, step := range []struct {
		id     string
		events int
		want   tracking.OrderStatus
	}{{id, 3, tracking.OrderPartiallyDelivered}, {other, 1, tracking.OrderDelivered}} {
		if status, out := e.advance(t, sbxWriteKey, step.id, `{"status": "delivered"}`); status != http.StatusAccepted {
			t.Fatalf("advance %s answered %d %v", step.id, status, out)
		}
		e.awaitStatus(t, step.id, tracking.StatusDelivered, step.events)
		if got := e.orderStatus(t, o); got != step.want {
			t.Errorf("order status %q after %s was delivered, want %q", got, step.id, step.want)
		}
	}
}

func TestSandboxAdvance_Refusals(t *testing.T) {
	e := newSbxEnv(t, true, false)
	id := e.order(t).Shipments[0].ID
	tests := []struct {
		name, key, id, body string
		status              int
		field, says         string
	}{
		{"no key", "", id, `{"status":"delivered"}`, http.StatusUnauthorized, "", "API key"},
		{"read key", sbxReadKey, id, `{"status":"delivered"}`, http.StatusForbidden, "", "write"},
		{"unknown shipment", sbxWriteKey, "s_nope", `{"status":"delivered"}`, http.StatusNotFound, "", "s_nope"},
		{"unknown status", sbxWriteKey, id, `{"status":"teleported"}`, http.StatusBadRequest, "status", "out_for_delivery"},
		{"no status", sbxWriteKey, id, `{"message":"hi"}`, http.StatusBadRequest, "status", "required"},
		{"bad estimate", sbxWriteKey, id, `{"status":"in_transit","estimated_delivery":"soon"}`, http.StatusBadRequest, "estimated_delivery", "soon"},
		{"long message", sbxWriteKey, id, `{"status":"in_transit","message":"` + strings.Repeat("x", 2049) + `"}`, http.StatusBadRequest, "message", "2048"},
		{"no body", sbxWriteKey, id, ``, http.StatusBadRequest, "body", "JSON"},
		{"wrong type", sbxWriteKey, id, `{"status":3}`, http.StatusBadRequest, "status", "string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, out := e.advance(t, tt.key, tt.id, tt.body)
			msg, _ := out["error"].(string)
			if status != tt.status || !strings.Contains(msg, tt.says) {
				t.Errorf("answered %d %v, want %d saying %q", status, out, tt.status, tt.says)
			}
			if f, _ := out["field"].(string); f != tt.field {
				t.Errorf("field %q, want %q", f, tt.field)
			}
		})
	}
	n, err := e.rdb.XLen(context.Background(), e.store.IngestKey(e.store.ShardOf("ups:1ZSANDBOX0001"))).Result()
	if err != nil || n != 0 {
		t.Errorf("refused requests appended %d ingest entries (%v), want none", n, err)
	}
}

func TestSandboxAdvance_OffByDefault(t *testing.T) {
	e := newSbxEnv(t, false, false)
	id := e.order(t).Shipments[0].ID
	status, out := e.advance(t, sbxWriteKey, id, `{"status":"delivered"}`)
	if status != http.StatusNotFound || !strings.Contains(out["error"].(string), "TRACKD_SANDBOX=true") {
		t.Errorf("answered %d %v, want 404 saying how to turn it on", status, out)
	}
	for shard := range tracking.DefaultStoreConfig().Shards {
		if n, _ := e.rdb.XLen(context.Background(), e.store.IngestKey(shard)).Result(); n != 0 {
			t.Errorf("ingest shard %d has %d entries with the sandbox off", shard, n)
		}
	}
}
