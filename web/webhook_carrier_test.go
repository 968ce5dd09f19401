package web

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/trackd/trackd/carriers"
	"github.com/trackd/trackd/tracking"
)

// tokenAdapter accepts webhooks that carry ?token=secret, as Shippo's do.
type tokenAdapter struct{}

func (tokenAdapter) Slug() string { return "tokened" }
func (tokenAdapter) Name() string { return "Tokened" }
func (tokenAdapter) VerifyWebhook(r carriers.WebhookRequest) error {
	if r.Query("token") != "secret" {
		return errors.New("wrong or missing token")
	}
	return nil
}
func (tokenAdapter) ParseWebhook([]byte) ([]tracking.Update, error) { return nil, nil }

// appendStore records appends.
type appendStore struct {
	Store
	mu      sync.Mutex
	appends []string
}

func (s *appendStore) Append(_ context.Context, src string, body []byte, _ string, _ time.Time) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.appends = append(s.appends, src+" "+string(body))
	return "1-0", nil
}

func TestCarrierWebhook_VerifiedByItsAdapterThenStoredAsReceived(t *testing.T) {
	store := &appendStore{}
	app, err := New(DefaultConfig(), Deps{
		Store: store, Keys: noKeys{},
		Redis:    redis.NewClient(&redis.Options{Addr: miniredis.RunT(t).Addr()}),
		Adapters: carriers.NewRegistry(tokenAdapter{}),
		Ready:    func(context.Context) error { return nil },
		Registry: prometheus.NewRegistry(), Log: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, body string
		want             int
		errHas           string
	}{
		{"unknown adapter", "/webhooks/nosuch", `{}`, http.StatusNotFound, "no carrier adapter"},
		{"missing token", "/webhooks/tokened", `{"a":1}`, http.StatusUnauthorized, "not authenticated"},
		{"wrong token", "/webhooks/tokened?token=guess", `{"a":1}`, http.StatusUnauthorized, "wrong or missing token"},
		{"too large", "/webhooks/tokened?token=secret", strings.Repeat("x", 2<<20), http.StatusRequestEntityTooLarge, "too large"},
		{"content is never refused", "/webhooks/tokened?token=secret", `not even JSON`, http.StatusAccepted, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := app.Test(httptest.NewRequest(http.MethodPost, tt.path, bytes.NewReader([]byte(tt.body))), -1)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.want || !strings.Contains(string(b), tt.errHas) {
				t.Errorf("answer %d %s, want %d with %q", resp.StatusCode, b, tt.want, tt.errHas)
			}
		})
	}
	if len(store.appends) != 1 || store.appends[0] != "tokened not even JSON" {
		t.Errorf("stored %q, want only the verified body, under its adapter's slug", store.appends)
	}
}
