package web

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/trackd/trackd/carriers"
	"github.com/trackd/trackd/carriers/generic"
	"github.com/trackd/trackd/tracking"
	"github.com/trackd/trackd/tracking/redistest"
)

const (
	shpWriteKey = "write-key-0123456789"
	shpReadKey  = "read-key-0123456789"
	// shpNumber is a FedEx Express number the merchant registered as UPS.
	shpNumber = "986578788855"
)

var (
	shpNow    = time.Date(2026, 11, 25, 16, 0, 0, 0, time.UTC)
	shpSecret = []byte("generic-webhook-secret")
)

// shpEnv is trackd end to end on a real redis-server: the API, the
// generic webhook, and a processor applying what it accepts.
type shpEnv struct {
	app   *fiber.App
	store *tracking.Store
}

func newShpEnv(t *testing.T) *shpEnv {
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
	for secret, scope := range map[string]string{shpWriteKey: ScopeWrite, shpReadKey: ScopeRead} {
		if err := keys.Put(context.Background(), secret, APIKey{Name: scope, Scope: scope}); err != nil {
			t.Fatal(err)
		}
	}
	adapters := carriers.NewRegistry(generic.Adapter{Verifier: generic.Verifier{Secrets: [][]byte{shpSecret}}})
	cfg := DefaultConfig()
	cfg.KeyPrefix, cfg.GenericSecrets = prefix, [][]byte{shpSecret}
	log := slog.New(slog.DiscardHandler)
	app, err := New(cfg, Deps{
		Store: store, Keys: keys, Redis: rdb, Adapters: adapters,
		Ready:    func(context.Context) error { return nil },
		Registry: prometheus.NewRegistry(), Log: log,
		Now: func() time.Time { return shpNow },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	proc := tracking.NewProcessor(store, adapters, tracking.DefaultProcessorConfig("test"), log, nil)
	done := make(chan struct{})
	go func() { defer close(done); proc.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return &shpEnv{app: app, store: store}
}

// call sends a request with key (none when empty) and decodes a JSON
// answer into out, returning the status and the raw body.
func (e *shpEnv) call(t *testing.T, method, path, key, body string, out any) (int, string) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := e.app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s answered %d %q: not JSON: %v", method, path, resp.StatusCode, b, err)
		}
	}
	return resp.StatusCode, string(b)
}

// webhook posts a signed generic message and waits until the processor
// has applied it: until the shipment holds count events.
func (e *shpEnv) webhook(t *testing.T, m generic.Message, count int) {
	t.Helper()
	body, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, "/webhooks/generic", bytes.NewReader(body))
	req.Header.Set(generic.SignatureHeader, generic.Sign(shpSecret, shpNow, body))
	resp, err := e.app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusAccepted {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("webhook answered %d %s, want 202", resp.StatusCode, b)
	}
	id := tracking.ShipmentID(m.Carrier, m.TrackingNumber)
	deadline := time.Now().Add(10 * time.Second)
	for {
		sh, err := e.store.Shipment(context.Background(), id, false)
		if err == nil && sh.EventCount >= count {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("shipment %s never held %d events (last: %+v, %v)", id, count, sh, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func shpEvent(id, status, msg, at string) generic.MessageEvent {
	return generic.MessageEvent{ID: id, Status: status, Message: msg, OccurredAt: at,
		Location: tracking.Location{City: "Memphis", Region: "TN", Country: "US"}}
}

// registerOrder registers an order whose only shipment is shpNumber under
// carrier, and returns the order's id, its tracking token and the shipment id.
func (e *shpEnv) registerOrder(t *testing.T, number, carrier string) (orderID, token, shipmentID string) {
	t.Helper()
	body := `{"order_number": "` + number + `", "customer": {"email": "ada@example.com"},
		"items": [{"sku": "MUG", "name": "Mug", "quantity": 2}],
		"shipments": [{"carrier": "` + carrier + `", "tracking_number": "` + shpNumber + `", "items": [{"sku": "MUG", "quantity": 2}]}]}`
	var o orderView
	if code, text := e.call(t, http.MethodPost, "/api/v1/orders", shpWriteKey, body, &o); code != http.StatusCreated {
		t.Fatalf("register order: %d %s", code, text)
	}
	_, token, _ = strings.Cut(o.TrackingURL, "/t/")
	return o.ID, token, o.Shipments[0].ID
}

func shpWithoutCursors(es []tracking.Event) []tracking.Event {
	out := make([]tracking.Event, len(es))
	for i, e := range es {
		e.Cursor = ""
		out[i] = e
	}
	return out
}

func TestPatchShipment_CorrectsTheCarrierAndKeepsTheHistory(t *testing.T) {
	e := newShpEnv(t)
	orderID, token, oldID := e.registerOrder(t, "R-3001", "ups")
	e.webhook(t, generic.Message{Carrier: "ups", TrackingNumber: shpNumber, EstimatedDelivery: "2026-11-26",
		Events: []generic.MessageEvent{shpEvent("e1", "info_received", "Label created", "2026-11-24T08:00:00-06:00")}}, 1)
	e.webhook(t, generic.Message{Carrier: "ups", TrackingNumber: shpNumber, EstimatedDelivery: "2026-11-27",
		Events: []generic.MessageEvent{
			shpEvent("", "in_transit", "Departed facility", "2026-11-24T20:00:00-06:00"),
			shpEvent("e3", "out_for_delivery", "On vehicle for delivery", "2026-11-25T07:00:00-06:00"),
		}}, 3)
	var before tracking.Shipment
	if code, text := e.call(t, http.MethodGet, "/api/v1/shipments/"+oldID, shpReadKey, "", &before); code != http.StatusOK {
		t.Fatalf("GET the UPS shipment: %d %s", code, text)
	}

	newID := tracking.ShipmentID("fedex", shpNumber)
	var got patchedShipment
	code, text := e.call(t, http.MethodPatch, "/api/v1/shipments/"+oldID, shpWriteKey, `{"carrier": "FedEx"}`, &got)
	if code != http.StatusOK || got.Shipment == nil || got.ID != newID || got.PreviousID != oldID {
		t.Fatalf("PATCH: %d %s; want 200 with shipment %s, previous %s", code, text, newID, oldID)
	}
	if got.Carrier != "fedex" || got.TrackingNumber != shpNumber || got.OrderID != orderID || got.Status != tracking.StatusOutForDelivery ||
		!reflect.DeepEqual(shpWithoutCursors(got.Events), shpWithoutCursors(before.Events)) ||
		!reflect.DeepEqual(got.EstimatedDelivery, before.EstimatedDelivery) || !reflect.DeepEqual(got.Items, before.Items) {
		t.Errorf("PATCH answered %s\nwant FedEx, order %s, out for delivery, the events, estimate and items of %+v", text, orderID, before)
	}

	var o orderView
	if code, text := e.call(t, http.MethodGet, "/api/v1/orders/"+orderID, shpReadKey, "", &o); code != http.StatusOK ||
		len(o.Shipments) != 1 || o.Shipments[0].ID != newID || o.Shipments[0].Carrier != "fedex" ||
		o.Shipments[0].Status != tracking.StatusOutForDelivery || o.Shipments[0].OrderID != orderID {
		t.Errorf("GET the order: %d %s; want it to list %s only", code, text, newID)
	}

	var again tracking.Shipment
	if code, text := e.call(t, http.MethodGet, "/api/v1/shipments/"+newID, shpReadKey, "", &again); code != http.StatusOK ||
		!reflect.DeepEqual(again.Events, got.Events) {
		t.Errorf("GET the FedEx shipment: %d %s; want the events of the PATCH answer", code, text)
	}

	var page snapshot
	if code, text := e.call(t, http.MethodGet, "/t/"+token+".json", "", "", &page); code != http.StatusOK ||
		len(page.Shipments) != 1 || page.Shipments[0].ID != newID || page.Shipments[0].Carrier != "fedex" ||
		len(page.Shipments[0].Events) != 3 || page.Shipments[0].Events[0].Message != "On vehicle for delivery" ||
		page.Shipments[0].Status != tracking.StatusOutForDelivery ||
		!reflect.DeepEqual(page.Shipments[0].EstimatedDelivery, &tracking.ETA{First: "2026-11-26", Latest: "2026-11-27"}) {
		t.Errorf("tracking page JSON: %d %s; want the FedEx shipment with its three events and moved estimate", code, text)
	}

	// The same carrier again, on the new id: nothing changes.
	var same patchedShipment
	if code, text := e.call(t, http.MethodPatch, "/api/v1/shipments/"+newID, shpWriteKey, `{"carrier": "fedex"}`, &same); code != http.StatusOK ||
		same.Shipment == nil || same.ID != newID || same.PreviousID != newID || !reflect.DeepEqual(same.Shipment, got.Shipment) {
		t.Errorf("PATCH the new id with its carrier: %d %s; want 200 with it unchanged", code, text)
	}

	// The old id is no longer the order's: 409, naming where it went.
	for _, body := range []string{`{"carrier": "fedex"}`, `{"carrier": "dhl"}`} {
		var ae struct{ Error string }
		if code, text := e.call(t, http.MethodPatch, "/api/v1/shipments/"+oldID, shpWriteKey, body, &ae); code != http.StatusConflict ||
			!strings.Contains(ae.Error, newID) || !strings.Contains(ae.Error, "no longer belongs to an order") {
			t.Errorf("PATCH the old id with %s: %d %s; want 409 naming %s", body, code, text, newID)
		}
	}
	var old tracking.Shipment
	if code, text := e.call(t, http.MethodGet, "/api/v1/shipments/"+oldID, shpReadKey, "", &old); code != http.StatusOK ||
		old.OrderID != "" || len(old.Events) != 3 {
		t.Errorf("GET the old shipment: %d %s; want it kept, unclaimed, with its events", code, text)
	}

	// FedEx reports on its number: that is now the order's shipment.
	e.webhook(t, generic.Message{Carrier: "fedex", TrackingNumber: shpNumber,
		Events: []generic.MessageEvent{shpEvent("fx-4", "delivered", "Delivered, front door", "2026-11-25T13:00:00-06:00")}}, 4)
	if code, text := e.call(t, http.MethodGet, "/t/"+token+".json", "", "", &page); code != http.StatusOK ||
		len(page.Shipments) != 1 || page.Shipments[0].ID != newID || page.Shipments[0].Status != tracking.StatusDelivered ||
		len(page.Shipments[0].Events) != 4 {
		t.Errorf("tracking page after FedEx's webhook: %d %s; want the FedEx shipment delivered, with four events", code, text)
	}
	if code, text := e.call(t, http.MethodGet, "/api/v1/shipments/"+oldID, shpReadKey, "", &old); code != http.StatusOK || old.EventCount != 3 {
		t.Errorf("old shipment after FedEx's webhook: %d %s; want its three events only", code, text)
	}
}

// TestPatchShipment_CorrectsADetectedCarrier: a number registered without
// a carrier is detected as USPS, which fits its format best; it was FedEx's.
func TestPatchShipment_CorrectsADetectedCarrier(t *testing.T) {
	e := newShpEnv(t)
	const number = "4201028200009261290113185417468510"
	body := `{"order_number": "R-3002", "shipments": [{"tracking_number": "` + number + `"}]}`
	var o orderView
	if code, text := e.call(t, http.MethodPost, "/api/v1/orders", shpWriteKey, body, &o); code != http.StatusCreated || o.Shipments[0].Carrier != "usps" {
		t.Fatalf("register order: %d %s; want the shipment detected as USPS", code, text)
	}
	var got patchedShipment
	if code, text := e.call(t, http.MethodPatch, "/api/v1/shipments/"+o.Shipments[0].ID, shpWriteKey, `{"carrier": "fedex"}`, &got); code != http.StatusOK ||
		got.Shipment == nil || got.ID != tracking.ShipmentID("fedex", number) || got.OrderID != o.ID {
		t.Errorf("PATCH: %d %s; want the FedEx shipment of order %s", code, text, o.ID)
	}
}

func TestPatchShipment_Refusals(t *testing.T) {
	e := newShpEnv(t)
	_, _, oldID := e.registerOrder(t, "R-3003", "ups")
	// Carrier data no order claims.
	e.webhook(t, generic.Message{Carrier: "dhl", TrackingNumber: "3318810025",
		Events: []generic.MessageEvent{shpEvent("d1", "in_transit", "Processed", "2026-11-24T08:00:00+01:00")}}, 1)
	unclaimed := tracking.ShipmentID("dhl", "3318810025")
	// A carrier trackd has no adapter or detection for, as the order API takes.
	customID := func() string {
		var o orderView
		body := `{"order_number": "R-3004", "shipments": [{"carrier": "ontrac", "tracking_number": "C11031500001879"}]}`
		if code, text := e.call(t, http.MethodPost, "/api/v1/orders", shpWriteKey, body, &o); code != http.StatusCreated {
			t.Fatalf("register order: %d %s", code, text)
		}
		return o.Shipments[0].ID
	}()

	tests := []struct {
		name, key, id, body string
		want                int
		errHas, field       string
	}{
		{"no key", "", oldID, `{"carrier": "fedex"}`, 401, "missing API key", ""},
		{"read-only key", shpReadKey, oldID, `{"carrier": "fedex"}`, 403, "needs write", ""},
		{"no body", shpWriteKey, oldID, ``, 400, "JSON object is required", "body"},
		{"malformed", shpWriteKey, oldID, `{"carrier": `, 400, "malformed JSON", "body"},
		{"no carrier", shpWriteKey, oldID, `{}`, 400, "is required", "carrier"},
		{"carrier not a string", shpWriteKey, oldID, `{"carrier": 7}`, 400, "must be a string", "carrier"},
		{"unknown carrier", shpWriteKey, oldID, `{"carrier": "fedx"}`, 400, `"fedx" is not a carrier trackd knows`, "carrier"},
		{"unknown shipment", shpWriteKey, "s_nosuch", `{"carrier": "fedex"}`, 404, "not found", ""},
		{"unclaimed shipment", shpWriteKey, unclaimed, `{"carrier": "ups"}`, 409, "not claimed by an order", ""},
		{"its own carrier, even one trackd does not know", shpWriteKey, customID, `{"carrier": "OnTrac"}`, 200, "", ""},
		{"another carrier trackd does not know", shpWriteKey, customID, `{"carrier": "lasership"}`, 400, "not a carrier trackd knows", "carrier"},
		{"the generic format is a way in, not a carrier", shpWriteKey, oldID, `{"carrier": "generic"}`, 400, "not a carrier trackd knows", "carrier"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ae struct{ Error, Field string }
			code, text := e.call(t, http.MethodPatch, "/api/v1/shipments/"+tt.id, tt.key, tt.body, &ae)
			if code != tt.want || !strings.Contains(ae.Error, tt.errHas) || ae.Field != tt.field {
				t.Errorf("answer %d %s, want %d with %q on field %q", code, text, tt.want, tt.errHas, tt.field)
			}
		})
	}
	// Nothing refused moved anything.
	var sh tracking.Shipment
	if code, text := e.call(t, http.MethodGet, "/api/v1/shipments/"+oldID, shpReadKey, "", &sh); code != http.StatusOK || sh.Carrier != "ups" || sh.OrderID == "" {
		t.Errorf("UPS shipment after the refusals: %d %s; want it still the order's", code, text)
	}
}
