package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trackd/trackd/tracking"
	"github.com/trackd/trackd/tracking/redistest"
)

// A registered order's shipments are polled through the carriers' APIs
// (local servers here, answering as UPS and DHL document), the answers go
// through the ingest stream like webhooks, and each shipment says when it
// was checked and when it will be next.
func TestPolling_RegisteredShipmentsArePolledAndSayWhen(t *testing.T) {
	upsAnswer, err := os.ReadFile("testdata/ups_track_delivered.json")
	if err != nil {
		t.Fatal(err)
	}
	dhlAnswer, err := os.ReadFile("testdata/dhl_track_in_transit.json")
	if err != nil {
		t.Fatal(err)
	}
	var tokens, upsPolls, dhlPolls atomic.Int64
	ups := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/security/v1/oauth/token":
			if id, secret, ok := r.BasicAuth(); !ok || id != "ups-id" || secret != "ups-secret" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			tokens.Add(1)
			w.Write([]byte(`{"token_type":"Bearer","access_token":"ups-token","expires_in":"14399","status":"approved"}`))
		case strings.HasPrefix(r.URL.Path, "/api/track/v1/details/1Z1442YY7229014688") && r.Header.Get("Authorization") == "Bearer ups-token":
			upsPolls.Add(1)
			w.Write(upsAnswer)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer ups.Close()
	dhl := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("DHL-API-Key") != "dhl-key" || r.URL.Query().Get("trackingNumber") != "7777777770" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		dhlPolls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write(dhlAnswer)
	}))
	defer dhl.Close()

	in := start(t, map[string]string{"REDIS_URL": "redis://" + sharedRedis.Addr, "TRACKD_KEY_PREFIX": redistest.Prefix(t),
		"TRACKD_UPS_CLIENT_ID": "ups-id", "TRACKD_UPS_CLIENT_SECRET": "ups-secret", "TRACKD_UPS_BASE_URL": ups.URL,
		"TRACKD_DHL_API_KEY": "dhl-key", "TRACKD_DHL_BASE_URL": dhl.URL})
	var o struct {
		Shipments   []struct{ ID string } `json:"shipments"`
		TrackingURL string                `json:"tracking_url"`
	}
	if code := in.api(http.MethodPost, "/api/v1/orders", map[string]any{"order_number": "R-POLL-1", "shipments": []map[string]any{
		{"carrier": "ups", "tracking_number": "1Z1442YY7229014688"},
		{"carrier": "dhl", "tracking_number": "7777777770"},
	}}, &o); code != http.StatusCreated {
		t.Fatalf("register order: %d", code)
	}

	var upsShipment, dhlShipment tracking.Shipment
	waitFor(t, "the UPS shipment to be polled to delivered", func() bool {
		return in.api(http.MethodGet, "/api/v1/shipments/"+o.Shipments[0].ID, nil, &upsShipment) == http.StatusOK &&
			upsShipment.Status == tracking.StatusDelivered && upsShipment.LastCheckedAt != nil
	})
	waitFor(t, "the DHL shipment to be polled", func() bool {
		return in.api(http.MethodGet, "/api/v1/shipments/"+o.Shipments[1].ID, nil, &dhlShipment) == http.StatusOK &&
			dhlShipment.EventCount > 0 && dhlShipment.LastCheckedAt != nil
	})
	// Delivered: polling stopped. In transit: polled again in hours.
	if upsShipment.NextCheckAt != nil {
		t.Errorf("delivered UPS shipment still has a next check at %v", upsShipment.NextCheckAt)
	}
	if dhlShipment.NextCheckAt == nil || dhlShipment.NextCheckAt.Sub(*dhlShipment.LastCheckedAt) < time.Hour {
		t.Errorf("DHL shipment in %s: next check %v after last %v, want hours later", dhlShipment.Status, dhlShipment.NextCheckAt, dhlShipment.LastCheckedAt)
	}
	if n := upsPolls.Load(); n != 1 || tokens.Load() != 1 {
		t.Errorf("UPS asked %d times with %d tokens, want once with one", n, tokens.Load())
	}
	if n := dhlPolls.Load(); n != 1 {
		t.Errorf("DHL asked %d times, want once", n)
	}
	// The shopper's page says so too.
	req, _ := http.NewRequest(http.MethodGet, o.TrackingURL+".json", nil)
	if code, text := do(t, req); code != http.StatusOK || !strings.Contains(text, `"last_checked_at":"`) || !strings.Contains(text, `"next_check_at":"`) {
		t.Errorf("tracking page JSON: %d, want last and next checks in %s", code, text)
	}
}
