package web

import (
	"context"
	"log/slog"
	"net/http"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/trackd/trackd/notify"
	"github.com/trackd/trackd/tracking/redistest"
)

func TestNotificationRulesAPI(t *testing.T) {
	rdb := redistest.Start(t).Client(t)
	prefix := redistest.Prefix(t)
	keys := NewKeyStore(rdb, prefix)
	for secret, scope := range map[string]string{"admin-key-0123456789": ScopeAdmin, "write-key-0123456789": ScopeWrite} {
		if err := keys.Put(context.Background(), secret, APIKey{Name: scope, Scope: scope}); err != nil {
			t.Fatal(err)
		}
	}
	cfg := DefaultConfig()
	cfg.KeyPrefix = prefix
	app, err := New(cfg, Deps{Store: &pageStore{}, Keys: keys, Redis: rdb, Rules: notify.NewRuleStore(rdb, prefix),
		Ready: func(context.Context) error { return nil }, Registry: prometheus.NewRegistry(), Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	e := &shpEnv{app: app}
	const admin = "admin-key-0123456789"

	var got map[string]map[string]bool
	if code, text := e.call(t, http.MethodGet, "/api/v1/notification-rules", admin, "", &got); code != http.StatusOK {
		t.Fatalf("GET: %d %s", code, text)
	}
	if len(got) != len(notify.Triggers) || !got["shipped"]["email"] || got["shipped"]["sms"] || !got["delivered"]["sms"] {
		t.Fatalf("defaults %v: want every trigger, email on for shipped, SMS on for delivered only", got)
	}
	if code, text := e.call(t, http.MethodPut, "/api/v1/notification-rules", admin, `{"in_transit": {"email": true}, "delivered": {"sms": false}}`, &got); code != http.StatusOK {
		t.Fatalf("PUT: %d %s", code, text)
	}
	if !got["in_transit"]["email"] || got["delivered"]["sms"] || !got["delivered"]["email"] || !got["shipped"]["email"] {
		t.Errorf("after PUT %v: want in_transit email on, delivered SMS off, the rest as before", got)
	}
	tests := []struct {
		name, key, body string
		code            int
		field           string
	}{
		{"unknown trigger", admin, `{"teleported": {"email": true}}`, 400, "teleported"},
		{"unknown channel", admin, `{"shipped": {"pigeon": true}}`, 400, "shipped.pigeon"},
		{"not a boolean", admin, `{"shipped": {"email": "yes"}}`, 400, ""},
		{"write key", "write-key-0123456789", `{"shipped": {"email": false}}`, 403, ""},
	}
	for _, tt := range tests {
		var errBody struct{ Error, Field string }
		code, text := e.call(t, http.MethodPut, "/api/v1/notification-rules", tt.key, tt.body, &errBody)
		if code != tt.code || (tt.field != "" && errBody.Field != tt.field) {
			t.Errorf("%s: %d %s, want %d naming %q", tt.name, code, text, tt.code, tt.field)
		}
	}
}
