package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trackd/trackd/tracking"
)

// listPages follows next_cursor from path to the end and returns every
// order or shipment id listed, in order.
func (e *shpEnv) listPages(t *testing.T, path, member string) []string {
	t.Helper()
	var ids []string
	cursor := ""
	for range 100 {
		p := path
		if cursor != "" {
			p += "&cursor=" + url.QueryEscape(cursor)
		}
		var page map[string]any
		if code, body := e.call(t, http.MethodGet, p, shpReadKey, "", &page); code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", p, code, body)
		}
		items, _ := page[member].([]any)
		for _, it := range items {
			ids = append(ids, it.(map[string]any)["id"].(string))
		}
		cursor, _ = page["next_cursor"].(string)
		if cursor == "" {
			return ids
		}
	}
	t.Fatalf("GET %s: no end after 100 pages", path)
	return nil
}

func (e *shpEnv) scan(t *testing.T, number string, st tracking.Status, eta string, at time.Time) {
	t.Helper()
	_, err := e.store.Apply(context.Background(), tracking.Update{Carrier: "ups", TrackingNumber: number,
		EstimatedDelivery: eta, ReceivedAt: at,
		Events: []tracking.Event{{ID: string(st), Status: st, OccurredAt: at, OccurredAtLocal: at}}})
	if err != nil {
		t.Fatal(err)
	}
}

func TestAPI_ListOrdersAndShipmentsWithFilters(t *testing.T) {
	e := newShpEnv(t)
	ids := make([]string, 12)
	for i := range ids {
		var o map[string]any
		body := fmt.Sprintf(`{"order_number": "SYNC-%d", "items": [{"sku": "MUG", "quantity": 1}],
			"shipments": [{"carrier": "ups", "tracking_number": "1ZSYNC%04d", "items": [{"sku": "MUG", "quantity": 1}]}]}`, i, i)
		if code, raw := e.call(t, http.MethodPost, "/api/v1/orders", shpWriteKey, body, &o); code != http.StatusCreated {
			t.Fatalf("order %d: %d %s", i, code, raw)
		}
		ids[i] = o["id"].(string)
	}
	later := shpNow.Add(time.Hour)
	for i := range 4 {
		e.scan(t, fmt.Sprintf("1ZSYNC%04d", i), tracking.StatusDelivered, "", later.Add(time.Duration(i)*time.Minute))
	}
	for i := 4; i < 6; i++ {
		e.scan(t, fmt.Sprintf("1ZSYNC%04d", i), tracking.StatusException, "", later)
	}
	// In transit with an estimate that passed before the server's now: delayed.
	e.scan(t, "1ZSYNC0006", tracking.StatusInTransit, "2026-11-20", shpNow.Add(-72*time.Hour))

	delivered := e.listPages(t, "/api/v1/orders?status=delivered&limit=3", "orders")
	if !slices.Equal(delivered, ids[:4]) {
		t.Errorf("delivered orders %v, want %v in the order they changed", delivered, ids[:4])
	}
	troubled := e.listPages(t, "/api/v1/orders?status=exception,delivered&limit=1", "orders")
	if len(troubled) != 6 {
		t.Errorf("exception or delivered: %d orders, want 6", len(troubled))
	}
	if got := e.listPages(t, "/api/v1/orders?delayed=true", "orders"); !slices.Equal(got, ids[6:7]) {
		t.Errorf("delayed orders %v, want %v", got, ids[6:7])
	}
	since := url.QueryEscape(later.Add(2 * time.Minute).Format(time.RFC3339))
	if got := e.listPages(t, "/api/v1/orders?updated_since="+since, "orders"); !slices.Equal(got, ids[2:4]) {
		t.Errorf("orders updated since minute 2: %v, want %v", got, ids[2:4])
	}
	all := e.listPages(t, "/api/v1/orders?limit=5", "orders")
	if len(all) != 12 {
		t.Errorf("all orders: %d listed, want 12", len(all))
	}

	// Shipments, and a return added to an order.
	var o map[string]any
	code, raw := e.call(t, http.MethodPost, "/api/v1/orders/"+ids[0]+"/shipments", shpWriteKey,
		`{"carrier": "ups", "tracking_number": "1ZSYNCRET1", "direction": "return", "items": [{"sku": "MUG", "quantity": 1}]}`, &o)
	if code != http.StatusCreated || o["return_status"] != "requested" {
		t.Fatalf("add return: %d %s", code, raw)
	}
	ret := tracking.ShipmentID("ups", "1ZSYNCRET1")
	if got := e.listPages(t, "/api/v1/shipments?direction=return", "shipments"); !slices.Equal(got, []string{ret}) {
		t.Errorf("return shipments %v, want [%s]", got, ret)
	}
	if got := e.listPages(t, "/api/v1/shipments?status=exception&carrier=ups,fedex&limit=1", "shipments"); len(got) != 2 {
		t.Errorf("shipments in exception: %v, want 2", got)
	}
	if got := e.listPages(t, "/api/v1/shipments?carrier=fedex", "shipments"); len(got) != 0 {
		t.Errorf("fedex shipments: %v, want none", got)
	}
	e.scan(t, "1ZSYNCRET1", tracking.StatusDelivered, "", later.Add(time.Hour))
	var got map[string]any
	e.call(t, http.MethodGet, "/api/v1/orders/"+ids[0], shpReadKey, "", &got)
	if got["return_status"] != "received" || got["status"] != "delivered" {
		t.Errorf("order with its return received: status %v, return_status %v", got["status"], got["return_status"])
	}
}

func TestAPI_OrderEditsSayWhatIsWrong(t *testing.T) {
	e := newShpEnv(t)
	var o map[string]any
	if code, raw := e.call(t, http.MethodPost, "/api/v1/orders", shpWriteKey,
		`{"order_number": "EDIT-1", "customer": {"email": "ada@example.com", "phone": "+14155550100"},
		  "items": [{"sku": "MUG", "quantity": 2}]}`, &o); code != http.StatusCreated {
		t.Fatalf("order: %d %s", code, raw)
	}
	path := "/api/v1/orders/" + o["id"].(string)

	// Every wrong field of an order is named, not just the first.
	var prob struct {
		Field  string `json:"field"`
		Errors []struct {
			Field, Detail string
		} `json:"errors"`
	}
	code, raw := e.call(t, http.MethodPost, "/api/v1/orders", shpWriteKey,
		`{"order_number": "", "customer": {"email": "nope"}, "items": [{"sku": "MUG", "quantity": 0}]}`, &prob)
	if code != http.StatusBadRequest || prob.Field != "order_number" || len(prob.Errors) != 3 ||
		prob.Errors[1].Field != "customer.email" || prob.Errors[2].Field != "items[0].quantity" {
		t.Errorf("order with three wrong fields: %d %s", code, raw)
	}
	for _, tt := range []struct {
		body, field string
	}{
		{`{"customer": {"email": "nope"}}`, "customer.email"},
		{`{"customer": {"address": "1 Main St"}}`, "customer.address"},
		{`{"customer": {"name": 5}}`, "customer.name"},
		{`{"customer": "Ada"}`, "customer"},
		{`{"notify": {"sms": "yes"}}`, "notify.sms"},
		{`{"notify": {"sms": null}}`, "notify.sms"},
		{`{"notify": {"pigeon": true}}`, "notify.pigeon"},
		{`{"items": []}`, "items"},
		{`{}`, "body"},
		{`[]`, "body"},
	} {
		var p map[string]any
		code, raw := e.call(t, http.MethodPatch, path, shpWriteKey, tt.body, &p)
		if code != http.StatusBadRequest || p["field"] != tt.field {
			t.Errorf("PATCH %s: %d %s; want 400 naming %s", tt.body, code, raw, tt.field)
		}
	}
	var p map[string]any
	code, raw = e.call(t, http.MethodPatch, path, shpWriteKey, `{"customer": {"phone": null, "name": "Ada L."}, "notify": {"sms": true}}`, &p)
	if code != http.StatusOK {
		t.Fatalf("PATCH: %d %s", code, raw)
	}
	c := p["customer"].(map[string]any)
	if c["phone"] != nil || c["name"] != "Ada L." || c["email"] != "ada@example.com" || p["notify"].(map[string]any)["sms"] != true {
		t.Errorf("patched: %s", raw)
	}
	// The read key cannot edit.
	if code, _ := e.call(t, http.MethodPatch, path, shpReadKey, `{"notify": {"sms": false}}`, nil); code != http.StatusForbidden {
		t.Errorf("PATCH with a read key: %d, want 403", code)
	}

	// Adding a shipment with an Idempotency-Key replays the first answer.
	add := func(key string) (int, string) {
		req := httptest.NewRequest(http.MethodPost, path+"/shipments",
			strings.NewReader(`{"tracking_number": "1Z999AA10123456784", "items": [{"sku": "MUG", "quantity": 2}]}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+shpWriteKey)
		req.Header.Set("Idempotency-Key", key)
		resp, err := e.app.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		if _, err := fmt.Fprint(&b, resp.Header.Get("Location")); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, b.String()
	}
	code1, loc1 := add("k-1")
	code2, loc2 := add("k-1")
	code3, _ := add("k-2")
	want := "/api/v1/shipments/" + tracking.ShipmentID("ups", "1Z999AA10123456784")
	if code1 != http.StatusCreated || loc1 != want || code2 != http.StatusCreated || loc2 != want {
		t.Errorf("add with a key, twice: %d %s, %d %s; want 201 %s both times (the carrier detected from the number)", code1, loc1, code2, loc2, want)
	}
	if code3 != http.StatusOK {
		t.Errorf("the same shipment under a new key: %d, want 200", code3)
	}
	var bad map[string]any
	if code, raw := e.call(t, http.MethodPost, path+"/shipments", shpWriteKey, `{"tracking_number": "12"}`, &bad); code != http.StatusBadRequest || bad["field"] != "carrier" {
		t.Errorf("undetectable number without a carrier: %d %s, want 400 naming carrier", code, raw)
	}
	if code, raw := e.call(t, http.MethodPost, path+"/shipments", shpWriteKey, `{"carrier": "pigeon", "tracking_number": "12345"}`, &bad); code != http.StatusBadRequest || bad["field"] != "carrier" {
		t.Errorf("unknown carrier: %d %s, want 400 naming carrier", code, raw)
	}
}
