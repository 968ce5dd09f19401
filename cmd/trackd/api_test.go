package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/trackd/trackd/tracking/redistest"
)

func TestAPI_ErrorsSayWhatIsWrong(t *testing.T) {
	in := start(t, map[string]string{"REDIS_URL": "redis://" + sharedRedis.Addr, "TRACKD_KEY_PREFIX": redistest.Prefix(t)})
	tests := []struct {
		name, method, path, key, body string
		want                          int
		errHas, field                 string
	}{
		{"no key", "GET", "/api/v1/orders/o_x", "", "", 401, "missing API key", ""},
		{"unknown key", "GET", "/api/v1/orders/o_x", "tk_not_a_real_key_at_all", "", 401, "unknown API key", ""},
		{"no such order", "GET", "/api/v1/orders/o_doesnotexist", testAPIKey, "", 404, "not found", ""},
		{"no such shipment", "GET", "/api/v1/shipments/s_doesnotexist", testAPIKey, "", 404, "not found", ""},
		{"no such route", "GET", "/api/v1/teleporters", testAPIKey, "", 404, "no such API route", ""},
		{"malformed order", "POST", "/api/v1/orders", testAPIKey, `{"order_number": `, 400, "malformed JSON", "body"},
		{"order without number", "POST", "/api/v1/orders", testAPIKey, `{"items": []}`, 400, "order_number", "order_number"},
		{"wrong type", "POST", "/api/v1/orders", testAPIKey, `{"order_number": 7}`, 400, "order_number", "order_number"},
		{"shipment of an item not ordered", "POST", "/api/v1/orders", testAPIKey,
			`{"order_number": "R-1", "shipments": [{"carrier": "ups", "tracking_number": "1Z1", "items": [{"sku": "X", "quantity": 1}]}]}`,
			400, "not an item of the order", "shipments[0].items[0].sku"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, in.base+tt.path, bytes.NewReader([]byte(tt.body)))
			if tt.key != "" {
				req.Header.Set("Authorization", "Bearer "+tt.key)
			}
			code, text := do(t, req)
			var e struct{ Error, Field string }
			if err := json.Unmarshal([]byte(text), &e); err != nil {
				t.Fatalf("answer %q is not JSON: %v", text, err)
			}
			if code != tt.want || !strings.Contains(e.Error, tt.errHas) || e.Field != tt.field {
				t.Errorf("answer %d %+v, want %d with %q on field %q", code, e, tt.want, tt.errHas, tt.field)
			}
		})
	}
}

func TestAPI_OrdersAreIdempotentOnTheirNumber(t *testing.T) {
	in := start(t, map[string]string{"REDIS_URL": "redis://" + sharedRedis.Addr, "TRACKD_KEY_PREFIX": redistest.Prefix(t)})
	order := map[string]any{
		"order_number": "R-2001", "customer": map[string]string{"email": "ada@example.com", "locale": "en-GB"},
		"items": []map[string]any{{"sku": "MUG", "quantity": 2}, {"sku": "TEE", "quantity": 1}},
		"shipments": []map[string]any{{"carrier": "ups", "tracking_number": "1Z 999 AA1 0123456784",
			"items": []map[string]any{{"sku": "MUG", "quantity": 2}}}},
	}
	type view struct {
		ID          string `json:"id"`
		TrackingURL string `json:"tracking_url"`
		Shipments   []struct {
			ID, TrackingNumber, Status string
		} `json:"shipments"`
	}
	var first, second, got view
	if code := in.api(http.MethodPost, "/api/v1/orders", order, &first); code != http.StatusCreated {
		t.Fatalf("first POST: %d", code)
	}
	if code := in.api(http.MethodPost, "/api/v1/orders", order, &second); code != http.StatusOK {
		t.Fatalf("second POST: %d, want 200", code)
	}
	if first.ID != second.ID || first.TrackingURL != second.TrackingURL {
		t.Errorf("the same order twice gave %s %s and %s %s", first.ID, first.TrackingURL, second.ID, second.TrackingURL)
	}
	token := strings.TrimPrefix(first.TrackingURL, in.base+"/t/")
	if len(token) < 22 || token == first.TrackingURL {
		t.Errorf("tracking_url %q does not carry a 128-bit token under %s/t/", first.TrackingURL, in.base)
	}
	if code := in.api(http.MethodGet, "/api/v1/orders/"+first.ID, nil, &got); code != http.StatusOK {
		t.Fatalf("GET: %d", code)
	}
	if len(got.Shipments) != 1 || got.Shipments[0].Status != "pending" || got.Shipments[0].ID == "" {
		t.Errorf("shipments = %+v, want one pending shipment", got.Shipments)
	}
}

func TestAPI_ACarrierLeftOutIsDetectedFromTheNumber(t *testing.T) {
	in := start(t, map[string]string{"REDIS_URL": "redis://" + sharedRedis.Addr, "TRACKD_KEY_PREFIX": redistest.Prefix(t)})
	var o struct {
		Shipments []struct {
			Carrier string `json:"carrier"`
		} `json:"shipments"`
	}
	code := in.api(http.MethodPost, "/api/v1/orders", map[string]any{"order_number": "R-DETECT-1",
		"shipments": []map[string]any{{"tracking_number": "1Z999AA10123456784"}}}, &o)
	if code != http.StatusCreated || len(o.Shipments) != 1 || o.Shipments[0].Carrier != "ups" {
		t.Errorf("order without a carrier: %d %+v, want the UPS number registered as ups", code, o.Shipments)
	}
	req, _ := http.NewRequest(http.MethodPost, in.base+"/api/v1/orders", strings.NewReader(
		`{"order_number": "R-DETECT-2", "shipments": [{"tracking_number": "1Z999AA10123456785"}]}`))
	req.Header.Set("Authorization", "Bearer "+testAPIKey)
	code, text := do(t, req)
	if code != http.StatusBadRequest || !strings.Contains(text, `"field":"shipments[0].carrier"`) {
		t.Errorf("a number whose check digit fails, without a carrier: %d %s, want 400 on shipments[0].carrier", code, text)
	}
}
