package web

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/trackd/trackd/tracking/redistest"
)

// Each API key gets its quota across every node: two apps on one Redis
// share the count, another key has its own, and the headers say what is
// left.
func TestAPIRateLimit_PerKeySharedByAllNodes(t *testing.T) {
	rdb := redistest.Start(t).Client(t)
	prefix := redistest.Prefix(t)
	keys := NewKeyStore(rdb, prefix)
	for _, secret := range []string{"key-one-0123456789", "key-two-0123456789"} {
		if err := keys.Put(context.Background(), secret, APIKey{Name: secret, Scope: ScopeAdmin}); err != nil {
			t.Fatal(err)
		}
	}
	node := func() *fiber.App {
		cfg := DefaultConfig()
		cfg.KeyPrefix, cfg.APIRateLimit, cfg.APIRateWindow = prefix, 3, time.Minute
		app, err := New(cfg, Deps{Store: &pageStore{}, Keys: keys, Redis: rdb, Ready: func(context.Context) error { return nil },
			Registry: prometheus.NewRegistry(), Log: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		return app
	}
	a, b := node(), node()
	get := func(app *fiber.App, key string) *http.Response {
		req := httptest.NewRequest(http.MethodGet, "/api/v1/carriers", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := app.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	for i, app := range []*fiber.App{a, b, a} {
		resp := get(app, "key-one-0123456789")
		want := `"per-key";r=` + strconv.Itoa(2-i) + ";"
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("RateLimit"), want) ||
			resp.Header.Get("RateLimit-Policy") != `"per-key";q=3;w=60` {
			t.Fatalf("request %d: %d, RateLimit %q, policy %q; want 200 and %s...", i+1, resp.StatusCode,
				resp.Header.Get("RateLimit"), resp.Header.Get("RateLimit-Policy"), want)
		}
	}
	resp := get(b, "key-one-0123456789")
	retry, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
	if resp.StatusCode != http.StatusTooManyRequests || retry < 1 || retry > 60 {
		t.Errorf("fourth request within the minute: %d, Retry-After %q; want 429 and 1-60 s", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if resp := get(b, "key-two-0123456789"); resp.StatusCode != http.StatusOK {
		t.Errorf("another key: %d, want its own quota", resp.StatusCode)
	}
}
