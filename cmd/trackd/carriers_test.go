package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/trackd/trackd/carriers/easypost"
	"github.com/trackd/trackd/carriers/fedex"
	"github.com/trackd/trackd/carriers/usps"
	"github.com/trackd/trackd/tracking"
	"github.com/trackd/trackd/tracking/redistest"
)

// Each carrier's and aggregator's webhook, through POST /webhooks/{slug},
// changes the shipment registered with the carrier that moves the parcel.
func TestCarrierWebhook_EachAdapterChangesTheCarriersShipment(t *testing.T) {
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
		{"ups", "testdata/ups_trackalert_v1_delivery.json", "ups", "1Z204W4R0308071865", 1,
			func(req *http.Request, body []byte) { req.Header.Set("credential", "ups-secret") }},
		{"fedex", "testdata/fedex_webhook_delivered.json", "fedex", "776094337676", 8,
			func(req *http.Request, body []byte) {
				req.Header.Set("fdx-signature", fedex.SignatureOf("fedex-secret", body))
			}},
		{"usps", "testdata/usps_webhook_delivered.json", "usps", "9400109104250532908587", 12,
			func(req *http.Request, body []byte) { req.Header.Set("X-HMAC", usps.SignatureOf("usps-secret", body)) }},
	}
	in := start(t, map[string]string{"REDIS_URL": "redis://" + sharedRedis.Addr, "TRACKD_KEY_PREFIX": redistest.Prefix(t),
		"TRACKD_EASYPOST_WEBHOOK_SECRET": "ep-secret", "TRACKD_SHIPPO_WEBHOOK_SECRET": "shippo-token",
		"TRACKD_UPS_WEBHOOK_SECRET": "ups-secret", "TRACKD_FEDEX_WEBHOOK_SECRET": "fedex-secret", "TRACKD_USPS_WEBHOOK_SECRET": "usps-secret"})
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

// UPS Track Alert v2 fetches a token from trackd's token endpoint with
// client credentials, then calls the webhook with it as a Bearer token.
func TestCarrierWebhook_UPSTrackAlertV2WithATokenFromTrackd(t *testing.T) {
	in := start(t, map[string]string{"REDIS_URL": "redis://" + sharedRedis.Addr, "TRACKD_KEY_PREFIX": redistest.Prefix(t),
		"TRACKD_UPS_WEBHOOK_SECRET": "ups-secret", "TRACKD_UPS_WEBHOOK_CLIENT_ID": "ups-client"})
	body, err := os.ReadFile("testdata/ups_trackalert_v2_delivery.json")
	if err != nil {
		t.Fatal(err)
	}
	var o struct {
		Shipments []struct{ ID string } `json:"shipments"`
	}
	if code := in.api(http.MethodPost, "/api/v1/orders", map[string]any{"order_number": "R-UPS-2",
		"shipments": []map[string]any{{"carrier": "ups", "tracking_number": "1Z204W4R0308071865"}}}, &o); code != http.StatusCreated {
		t.Fatalf("register order: %d", code)
	}
	token := func(secret string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, in.base+"/webhooks/ups/token", strings.NewReader("grant_type=client_credentials"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("ups-client", secret)
		code, text := do(t, req)
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		json.Unmarshal([]byte(text), &tok)
		return code, tok.AccessToken
	}
	if code, tok := token("wrong"); code != http.StatusUnauthorized || tok != "" {
		t.Fatalf("token with a wrong secret: %d %q, want 401 and none", code, tok)
	}
	code, tok := token("ups-secret")
	if code != http.StatusOK || tok == "" {
		t.Fatalf("token: %d %q", code, tok)
	}
	post := func(auth string) int {
		req, _ := http.NewRequest(http.MethodPost, in.base+"/webhooks/ups", bytes.NewReader(body))
		req.Header.Set("Authorization", auth)
		code, _ := do(t, req)
		return code
	}
	if code := post("Bearer " + tok + "x"); code != http.StatusUnauthorized {
		t.Errorf("tampered token: %d, want 401", code)
	}
	if code := post("Bearer " + tok); code != http.StatusAccepted {
		t.Fatalf("webhook with the token: %d, want 202", code)
	}
	waitFor(t, "the UPS shipment to be delivered", func() bool {
		var sh tracking.Shipment
		return in.api(http.MethodGet, "/api/v1/shipments/"+o.Shipments[0].ID, nil, &sh) == http.StatusOK &&
			sh.Status == tracking.StatusDelivered
	})
}
