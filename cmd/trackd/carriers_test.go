package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"os"
	"testing"

	"github.com/trackd/trackd/carriers/easypost"
	"github.com/trackd/trackd/tracking"
	"github.com/trackd/trackd/tracking/redistest"
)

// Each aggregator's webhook, through POST /webhooks/{slug}, changes the
// shipment registered with the carrier that moves the parcel.
func TestCarrierWebhook_EachAggregatorChangesTheCarriersShipment(t *testing.T) {
	tests := []struct {
		slug, file, carrier, number string
		events                      int
		sign                        func(req *http.Request, body []byte)
	}{
		{"easypost", "testdata/easypost_webhook_delivered_ups.json", "ups", "EZ4000000004", 6,
			func(req *http.Request, body []byte) {
				req.Header.Set("X-Hmac-Signature", easypost.Sign("ep-secret", body))
			}},
		{"shippo", "testdata/shippo_webhook_delivered_usps.json", "usps", "9205590164917337534322", 11,
			func(req *http.Request, body []byte) { req.URL.RawQuery = "token=shippo-token" }},
	}
	in := start(t, map[string]string{"REDIS_URL": "redis://" + sharedRedis.Addr, "TRACKD_KEY_PREFIX": redistest.Prefix(t),
		"TRACKD_EASYPOST_WEBHOOK_SECRET": "ep-secret", "TRACKD_SHIPPO_WEBHOOK_SECRET": "shippo-token"})
	for _, tt := range tests {
		t.Run(tt.slug, func(t *testing.T) {
			body, err := os.ReadFile(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			var o struct {
				Shipments []struct{ ID string } `json:"shipments"`
			}
			if code := in.api(http.MethodPost, "/api/v1/orders", map[string]any{"order_number": "R-" + tt.slug,
				"shipments": []map[string]any{{"carrier": tt.carrier, "tracking_number": tt.number}}}, &o); code != http.StatusCreated {
				t.Fatalf("register order: %d", code)
			}
			unsigned, _ := http.NewRequest(http.MethodPost, in.base+"/webhooks/"+tt.slug, bytes.NewReader(body))
			if code, _ := do(t, unsigned); code != http.StatusUnauthorized {
				t.Errorf("unsigned webhook: %d, want 401", code)
			}
			req, _ := http.NewRequest(http.MethodPost, in.base+"/webhooks/"+tt.slug, bytes.NewReader(body))
			tt.sign(req, body)
			if code, text := do(t, req); code != http.StatusAccepted {
				t.Fatalf("signed webhook: %d %s", code, text)
			}
			waitFor(t, tt.carrier+" shipment delivered", func() bool {
				var sh tracking.Shipment
				return in.api(http.MethodGet, "/api/v1/shipments/"+o.Shipments[0].ID, nil, &sh) == http.StatusOK &&
					sh.Status == tracking.StatusDelivered && sh.EventCount >= tt.events
			})
		})
	}
}

// An aggregator's webhook, through POST /webhooks/{slug}, changes the
// shipment registered with the carrier that moves the parcel.
func TestCarrierWebhook_AfterShipChangesTheFedExShipment(t *testing.T) {
	const secret = "aftership-secret"
	in := start(t, map[string]string{"REDIS_URL": "redis://" + sharedRedis.Addr, "TRACKD_KEY_PREFIX": redistest.Prefix(t),
		"TRACKD_AFTERSHIP_WEBHOOK_SECRET": secret})
	body, err := os.ReadFile("testdata/aftership_webhook_delivered_fedex.json")
	if err != nil {
		t.Fatal(err)
	}
	var o struct {
		Shipments []struct{ ID string } `json:"shipments"`
	}
	if code := in.api(http.MethodPost, "/api/v1/orders", map[string]any{
		"order_number": "R-AS-1", "shipments": []map[string]any{{"carrier": "fedex", "tracking_number": "111111111111"}},
	}, &o); code != http.StatusCreated {
		t.Fatalf("register order: %d", code)
	}

	post := func(signature string) int {
		req, _ := http.NewRequest(http.MethodPost, in.base+"/webhooks/aftership", bytes.NewReader(body))
		req.Header.Set("aftership-hmac-sha256", signature)
		code, _ := do(t, req)
		return code
	}
	if code := post("bm90IHRoZSBzaWduYXR1cmU="); code != http.StatusUnauthorized {
		t.Errorf("wrong signature: %d, want 401", code)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	if code := post(base64.StdEncoding.EncodeToString(mac.Sum(nil))); code != http.StatusAccepted {
		t.Fatalf("signed webhook: %d, want 202", code)
	}
	waitFor(t, "the FedEx shipment to be delivered", func() bool {
		var sh tracking.Shipment
		return in.api(http.MethodGet, "/api/v1/shipments/"+o.Shipments[0].ID, nil, &sh) == http.StatusOK &&
			sh.Status == tracking.StatusDelivered && sh.EventCount >= 14
	})
}
