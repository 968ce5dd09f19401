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

	"github.com/alicebob/miniredis/v2"
	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/trackd/trackd/carriers"
	"github.com/trackd/trackd/tracking"
)

const carriersTestKey = "test-key-0123456789"

// readKeys knows one key, with scope read: enough for the carriers API.
type readKeys struct{}

func (readKeys) Lookup(_ context.Context, secret string) (APIKey, error) {
	if secret != carriersTestKey {
		return APIKey{}, ErrUnknownKey
	}
	return APIKey{Name: "test", Scope: ScopeRead}, nil
}

// hookAdapter takes webhooks only.
type hookAdapter struct{ slug, name string }

func (a hookAdapter) Slug() string                              { return a.slug }
func (a hookAdapter) Name() string                              { return a.name }
func (hookAdapter) VerifyWebhook(carriers.WebhookRequest) error { return nil }
func (hookAdapter) ParseWebhook([]byte) ([]tracking.Update, error) {
	return nil, nil
}

// pollAdapter polls too.
type pollAdapter struct{ hookAdapter }

func (pollAdapter) Poll(context.Context, string) ([]byte, error) { return nil, nil }
func (pollAdapter) ParsePoll([]byte) ([]tracking.Update, error)  { return nil, nil }

// detectAdapter recognises numbers starting ACME.
type detectAdapter struct{ hookAdapter }

func (detectAdapter) Detect(n string) float64 {
	if strings.HasPrefix(n, "ACME") {
		return 0.99
	}
	return 0
}

func newCarriersApp(t *testing.T, adapters Adapters) *fiber.App {
	t.Helper()
	app, err := New(DefaultConfig(), Deps{
		Store: &appendStore{}, Keys: readKeys{},
		Redis:    redis.NewClient(&redis.Options{Addr: miniredis.RunT(t).Addr()}),
		Adapters: adapters,
		Ready:    func(context.Context) error { return nil },
		Registry: prometheus.NewRegistry(), Log: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	return app
}

// carriersCall sends a request with the test key and decodes the JSON
// answer into out, returning the status and the raw body.
func carriersCall(t *testing.T, app *fiber.App, method, path, body string, out any) (int, string) {
	t.Helper()
	req := httptest.NewRequest(method, path, bytes.NewReader([]byte(body)))
	req.Header.Set("Authorization", "Bearer "+carriersTestKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := app.Test(req, -1)
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

type detectAnswer struct {
	Candidates []carriers.Candidate `json:"candidates"`
}

func detect(t *testing.T, app *fiber.App, number string) detectAnswer {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"tracking_number": number})
	var got detectAnswer
	if code, text := carriersCall(t, app, http.MethodPost, "/api/v1/carriers/detect", string(body), &got); code != http.StatusOK {
		t.Fatalf("detect %q: answer %d %s, want 200", number, code, text)
	}
	return got
}

func TestDetectCarrier_TheCarrierWhoseCheckDigitHoldsComesFirst(t *testing.T) {
	app := newCarriersApp(t, nil)
	tests := []struct {
		name, number, want string
	}{
		{"UPS 1Z, as printed", "1Z 999 AA1 0123456784", "ups"},
		{"UPS 1Z, lower case", "1z5r89390357567127", "ups"},
		{"FedEx Express, 12 digits", "986578788855", "fedex"},
		{"FedEx Ground, 15 digits", "5682 8361 0012 734", "fedex"},
		{"FedEx Ground 96, 22 digits", "9611020987654312345672", "fedex"},
		{"USPS IMpb, 22 digits", "9400 1112 0620 6406 2607 87", "usps"},
		{"USPS behind 420 and a ZIP+4, 34 digits", "4201028200009261290113185417468510", "usps"},
		{"S10 issued by USPS", "RB123456785US", "usps"},
		{"DHL Express, 10 digits", "3318810025", "dhl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := detect(t, app, tt.number).Candidates
			if len(got) == 0 || got[0].Carrier != tt.want || got[0].Confidence < 0.9 {
				t.Fatalf("candidates %+v, want %s first with at least 0.9", got, tt.want)
			}
			for _, c := range got[1:] {
				if c.Confidence >= got[0].Confidence {
					t.Errorf("candidates %+v are not best first", got)
				}
			}
		})
	}
}

// TestDetectCarrier_SharedFormatsShareConfidence: USPS's 420 ZIP+4 routing
// barcode has the length and first digit of FedEx's 34-digit Express
// barcode, and this one passes both checks.
func TestDetectCarrier_SharedFormatsShareConfidence(t *testing.T) {
	got := detect(t, newCarriersApp(t, nil), "4201028200009261290113185417468510").Candidates
	want := []carriers.Candidate{{Carrier: "usps", Confidence: 0.95}, {Carrier: "fedex", Confidence: 0.5}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("candidates %+v, want %+v", got, want)
	}
}

func TestDetectCarrier_NoConfidentCandidateWhenEveryCheckFails(t *testing.T) {
	app := newCarriersApp(t, nil)
	tests := []struct{ name, number string }{
		{"UPS 1Z, last digit changed", "1Z999AA10123456785"},
		{"FedEx 12, last digit changed", "986578788856"},
		{"USPS 22, last digit changed", "9400111206206406260788"},
		{"USPS S10, check digit changed", "RB123456786US"},
		{"DHL 10, last digit changed", "3318810026"},
		{"zeros", "000000000000"},
		{"S10 of another post", "RB123456785GB"},
		{"words", "not a tracking number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, c := range detect(t, app, tt.number).Candidates {
				if c.Confidence >= 0.5 {
					t.Errorf("candidate %+v, want none at 0.5 or more", c)
				}
			}
		})
	}
	if _, text := carriersCall(t, app, http.MethodPost, "/api/v1/carriers/detect", `{"tracking_number": "HELLO"}`, nil); !strings.Contains(text, `"candidates":[]`) {
		t.Errorf("no candidate answered %s, want an empty list", text)
	}
}

func TestDetectCarrier_ABadRequestSaysWhichField(t *testing.T) {
	app := newCarriersApp(t, nil)
	tests := []struct {
		name, body    string
		want          int
		errHas, field string
	}{
		{"no body", ``, 400, "JSON object is required", "body"},
		{"malformed", `{"tracking_number": `, 400, "malformed JSON", "body"},
		{"no number", `{}`, 400, "is required", "tracking_number"},
		{"blank number", `{"tracking_number": " - "}`, 400, "is required", "tracking_number"},
		{"not a string", `{"tracking_number": 1234567890}`, 400, "must be a string", "tracking_number"},
		{"65 characters", `{"tracking_number": "` + strings.Repeat("1", 65) + `"}`, 400, "longer than 64", "tracking_number"},
		{"64 characters", `{"tracking_number": "` + strings.Repeat("1", 64) + `"}`, 200, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e struct{ Error, Field string }
			code, text := carriersCall(t, app, http.MethodPost, "/api/v1/carriers/detect", tt.body, &e)
			if code != tt.want || !strings.Contains(e.Error, tt.errHas) || e.Field != tt.field {
				t.Errorf("answer %d %s, want %d with %q on field %q", code, text, tt.want, tt.errHas, tt.field)
			}
		})
	}
}

func TestCarriersAPI_NeedsAKey(t *testing.T) {
	app := newCarriersApp(t, nil)
	for _, r := range []*http.Request{
		httptest.NewRequest(http.MethodGet, "/api/v1/carriers", nil),
		httptest.NewRequest(http.MethodPost, "/api/v1/carriers/detect", strings.NewReader(`{"tracking_number": "3318810025"}`)),
	} {
		resp, err := app.Test(r, -1)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s %s without a key: %d, want 401", r.Method, r.URL.Path, resp.StatusCode)
		}
	}
}

func TestListCarriers_AdaptersAndTheCarriersDetectedWithoutOne(t *testing.T) {
	detectedOnly := func(slug, name string) carrierView {
		return carrierView{Slug: slug, Name: name, Detection: true}
	}
	tests := []struct {
		name     string
		adapters Adapters
		want     []carrierView
	}{
		{"no adapters", nil, []carrierView{
			detectedOnly("dhl", "DHL"), detectedOnly("fedex", "FedEx"), detectedOnly("ups", "UPS"), detectedOnly("usps", "USPS"),
		}},
		{"adapters", carriers.NewRegistry(
			pollAdapter{hookAdapter{"ups", "UPS"}},
			hookAdapter{"shippo", "Shippo"},
			detectAdapter{hookAdapter{"acme", "Acme Freight"}},
		), []carrierView{
			{Slug: "acme", Name: "Acme Freight", Webhook: true, Detection: true},
			detectedOnly("dhl", "DHL"), detectedOnly("fedex", "FedEx"),
			{Slug: "shippo", Name: "Shippo", Webhook: true},
			{Slug: "ups", Name: "UPS", Webhook: true, Polling: true, Detection: true},
			detectedOnly("usps", "USPS"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got struct {
				Carriers []carrierView `json:"carriers"`
			}
			code, text := carriersCall(t, newCarriersApp(t, tt.adapters), http.MethodGet, "/api/v1/carriers", "", &got)
			if code != http.StatusOK || !reflect.DeepEqual(got.Carriers, tt.want) {
				t.Errorf("answer %d %s, want %+v", code, text, tt.want)
			}
		})
	}
}

// TestDetectCarrier_AnAdapterThatDetectsIsAsked: a configured adapter that
// implements carriers.Detector answers for its slug.
func TestDetectCarrier_AnAdapterThatDetectsIsAsked(t *testing.T) {
	app := newCarriersApp(t, carriers.NewRegistry(detectAdapter{hookAdapter{"acme", "Acme Freight"}}))
	got := detect(t, app, "ACME-1").Candidates
	if want := []carriers.Candidate{{Carrier: "acme", Confidence: 0.99}}; !reflect.DeepEqual(got, want) {
		t.Errorf("candidates %+v, want %+v", got, want)
	}
	if got := detect(t, app, "1Z999AA10123456784").Candidates; len(got) == 0 || got[0].Carrier != "ups" {
		t.Errorf("candidates %+v, want the built-in UPS detection still", got)
	}
}
