package shippo

import (
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/trackd/trackd/carriers"
)

func TestConfigFromEnv(t *testing.T) {
	env := map[string]string{
		"TRACKD_SHIPPO_WEBHOOK_SECRET": " tok ",
		"TRACKD_SHIPPO_API_KEY":        "shippo_test_abc",
		"TRACKD_SHIPPO_BASE_URL":       "http://127.0.0.1:9/",
	}
	cfg := ConfigFromEnv(func(k string) string { return env[k] })
	if cfg.WebhookToken != "tok" || cfg.APIKey != "shippo_test_abc" || cfg.BaseURL != "http://127.0.0.1:9/" {
		t.Errorf("ConfigFromEnv = %+v", cfg)
	}
	cfg = ConfigFromEnv(func(string) string { return "" })
	if cfg.BaseURL != DefaultBaseURL || cfg.WebhookToken != "" || cfg.APIKey != "" {
		t.Errorf("ConfigFromEnv with nothing set = %+v, want the default base URL only", cfg)
	}
}

func TestNew_Defaults(t *testing.T) {
	a := New(Config{BaseURL: "http://example.test/v1/"})
	if a.cfg.BaseURL != "http://example.test/v1" || a.cfg.Timeout != DefaultTimeout || a.client == nil {
		t.Errorf("New = %+v", a.cfg)
	}
	if a := New(Config{}); a.cfg.BaseURL != DefaultBaseURL {
		t.Errorf("BaseURL = %q, want %q", a.cfg.BaseURL, DefaultBaseURL)
	}
	c := &http.Client{}
	if a := New(Config{HTTPClient: c, Timeout: time.Second}); a.client != c || a.cfg.Timeout != time.Second {
		t.Error("New does not use the configured client and timeout")
	}
	if a.Slug() != "shippo" || a.Name() != "Shippo" {
		t.Errorf("Slug, Name = %q, %q", a.Slug(), a.Name())
	}
}

func TestVerifyWebhook(t *testing.T) {
	const token = "s3cr3t-Token_with.chars"
	tests := []struct {
		name       string
		configured string
		rawQuery   string
		noQuery    bool
		ok         bool
	}{
		{name: "right token", configured: token, rawQuery: "token=" + url.QueryEscape(token), ok: true},
		{name: "right token among others", configured: token, rawQuery: "a=1&token=" + url.QueryEscape(token) + "&b=2", ok: true},
		{name: "wrong token", configured: token, rawQuery: "token=s3cr3t"},
		{name: "token longer", configured: token, rawQuery: "token=" + url.QueryEscape(token) + "x"},
		{name: "other case", configured: token, rawQuery: "token=S3CR3T-TOKEN_WITH.CHARS"},
		{name: "empty token", configured: token, rawQuery: "token="},
		{name: "no token", configured: token, rawQuery: "other=" + url.QueryEscape(token)},
		{name: "no query func", configured: token, noQuery: true},
		{name: "none configured, none sent", configured: "", rawQuery: ""},
		{name: "none configured, one sent", configured: "", rawQuery: "token=anything"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, err := url.ParseQuery(tc.rawQuery)
			if err != nil {
				t.Fatal(err)
			}
			r := carriers.WebhookRequest{
				Body:   readTestdata(t, "webhook_track_updated_delivered_usps.json"),
				Header: func(string) string { return "" },
				Query:  q.Get,
				Now:    time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC),
			}
			if tc.noQuery {
				r.Query = nil
			}
			err = New(Config{WebhookToken: tc.configured}).VerifyWebhook(r)
			if tc.ok {
				if err != nil {
					t.Fatalf("VerifyWebhook = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatal("VerifyWebhook accepted the request")
			}
			if !errors.Is(err, carriers.ErrUnauthenticated) {
				t.Errorf("error %v does not wrap carriers.ErrUnauthenticated", err)
			}
		})
	}
}
