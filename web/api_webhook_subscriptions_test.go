package web

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/trackd/trackd/carriers/generic"
	"github.com/trackd/trackd/outbound"
	"github.com/trackd/trackd/tracking"
	"github.com/trackd/trackd/tracking/redistest"
)

// whEnv is the webhook subscriptions API over outbound on a real
// redis-server, its handlers mounted as routes.go mounts them.
type whEnv struct {
	app, strict *fiber.App
	svc         *outbound.Service
}

func newWhEnv(t *testing.T) *whEnv {
	t.Helper()
	rdb := redistest.Start(t).Client(t)
	scfg := tracking.DefaultStoreConfig()
	scfg.Prefix = redistest.Prefix(t)
	store, err := tracking.NewStore(rdb, scfg)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	service := func(allowPrivate bool) *outbound.Service {
		cfg := outbound.DefaultConfig("test")
		cfg.Prefix, cfg.Shards, cfg.AllowPrivate = scfg.Prefix, scfg.Shards, allowPrivate
		s, err := outbound.New(rdb, store, cfg, log)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	mount := func(s *outbound.Service) *fiber.App {
		app := fiber.New(fiber.Config{ErrorHandler: errorHandler(log)})
		a := WebhookSubscriptionAPI{Subs: s}
		api := app.Group("/api/v1")
		api.Post("/webhook-subscriptions", WebhookSubscriptionCreate(a))
		api.Get("/webhook-subscriptions", WebhookSubscriptionList(a))
		api.Get("/webhook-subscriptions/:id", WebhookSubscriptionGet(a))
		api.Patch("/webhook-subscriptions/:id", WebhookSubscriptionPatch(a))
		api.Delete("/webhook-subscriptions/:id", WebhookSubscriptionDelete(a))
		api.Get("/webhook-subscriptions/:id/deliveries", WebhookSubscriptionDeliveries(a))
		api.Post("/webhook-subscriptions/:id/replay", WebhookSubscriptionReplay(a))
		return app
	}
	svc := service(true)
	return &whEnv{app: mount(svc), strict: mount(service(false)), svc: svc}
}

func whCall(t *testing.T, app *fiber.App, method, path, body string, out any) (int, string) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s answered %d %q: not JSON: %v", method, path, resp.StatusCode, b, err)
		}
	}
	return resp.StatusCode, string(b)
}

// deliverAll makes every delivery due now, on every shard.
func (e *whEnv) deliverAll(t *testing.T) {
	t.Helper()
	for shard := range tracking.DefaultStoreConfig().Shards {
		if _, err := e.svc.DeliverOnce(context.Background(), shard); err != nil {
			t.Fatal(err)
		}
	}
}

type whSub struct {
	ID             string   `json:"id"`
	URL            string   `json:"url"`
	Events         []string `json:"events"`
	Secret         string   `json:"secret"`
	Status         string   `json:"status"`
	DisabledReason *string  `json:"disabled_reason"`
	CreatedAt      string   `json:"created_at"`
}

type whErr struct{ Error, Field string }

func TestWebhookSubscriptionsAPI(t *testing.T) {
	e := newWhEnv(t)
	var mu sync.Mutex
	var got []*http.Request
	var bodies [][]byte
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got, bodies = append(got, r), append(bodies, b)
		mu.Unlock()
	}))
	defer rcv.Close()
	const base = "/api/v1/webhook-subscriptions"

	var sub whSub
	code, text := whCall(t, e.app, http.MethodPost, base, `{"url": "`+rcv.URL+`/hook", "events": ["shipment.updated", "order.delivered"]}`, &sub)
	if code != http.StatusCreated || sub.ID == "" || !strings.HasPrefix(sub.Secret, "whsec_") || sub.Status != "active" ||
		len(sub.Events) != 2 || sub.CreatedAt == "" || sub.DisabledReason != nil {
		t.Fatalf("create: %d %s", code, text)
	}
	for _, path := range []string{base, base + "/" + sub.ID} {
		code, text := whCall(t, e.app, http.MethodGet, path, "", nil)
		if code != http.StatusOK || !strings.Contains(text, sub.ID) || strings.Contains(text, "secret") || strings.Contains(text, sub.Secret) {
			t.Errorf("GET %s: %d %s, want it without its secret", path, code, text)
		}
	}

	bad := []struct {
		name      string
		app       *fiber.App
		method    string
		path      string
		body      string
		code      int
		field, in string
	}{
		{"unknown event", e.app, http.MethodPost, base, `{"url": "https://hooks.example.com/", "events": ["shipment.updated", "parcel.teleported"]}`, 400, "events[1]", "not an event type"},
		{"no events", e.app, http.MethodPost, base, `{"url": "https://hooks.example.com/"}`, 400, "events", "at least one"},
		{"events not a list", e.app, http.MethodPost, base, `{"url": "https://hooks.example.com/", "events": "shipment.updated"}`, 400, "events", ""},
		{"no url", e.app, http.MethodPost, base, `{"events": ["shipment.updated"]}`, 400, "url", "required"},
		{"loopback", e.strict, http.MethodPost, base, `{"url": "https://127.0.0.1:8443/hook", "events": ["shipment.updated"]}`, 400, "url", "127.0.0.1 is a loopback address"},
		{"metadata", e.strict, http.MethodPost, base, `{"url": "https://169.254.169.254/", "events": ["shipment.updated"]}`, 400, "url", "link-local"},
		{"plain http", e.strict, http.MethodPost, base, `{"url": "http://hooks.example.com/", "events": ["shipment.updated"]}`, 400, "url", "https://"},
		{"bad status", e.app, http.MethodPatch, base + "/" + sub.ID, `{"status": "paused"}`, 400, "status", "not a status"},
		{"empty patch", e.app, http.MethodPatch, base + "/" + sub.ID, `{}`, 400, "body", "nothing to change"},
		{"unknown id", e.app, http.MethodGet, base + "/wh_nosuchsub", "", 404, "", "no such webhook subscription"},
		{"unknown id patch", e.app, http.MethodPatch, base + "/wh_nosuchsub", `{"status": "active"}`, 404, "", ""},
		{"unknown id log", e.app, http.MethodGet, base + "/wh_nosuchsub/deliveries", "", 404, "", ""},
		{"bad limit", e.app, http.MethodGet, base + "/" + sub.ID + "/deliveries?limit=lots", "", 400, "limit", ""},
		{"limit too big", e.app, http.MethodGet, base + "/" + sub.ID + "/deliveries?limit=100000", "", 400, "limit", ""},
		{"bad cursor", e.app, http.MethodGet, base + "/" + sub.ID + "/deliveries?cursor=x", "", 400, "cursor", ""},
		{"replay without to", e.app, http.MethodPost, base + "/" + sub.ID + "/replay", `{"from": "2026-11-25T00:00:00Z"}`, 400, "to", "required"},
		{"replay bad from", e.app, http.MethodPost, base + "/" + sub.ID + "/replay", `{"from": "yesterday", "to": "2026-11-25T00:00:00Z"}`, 400, "from", "RFC 3339"},
		{"replay backwards", e.app, http.MethodPost, base + "/" + sub.ID + "/replay", `{"from": "2026-11-25T00:00:00Z", "to": "2026-11-24T00:00:00Z"}`, 400, "to", "before"},
	}
	for _, tt := range bad {
		var eb whErr
		code, text := whCall(t, tt.app, tt.method, tt.path, tt.body, &eb)
		if code != tt.code || eb.Field != tt.field || !strings.Contains(eb.Error, tt.in) {
			t.Errorf("%s: %d %s, want %d naming %q saying %q", tt.name, code, text, tt.code, tt.field, tt.in)
		}
	}

	var up whSub
	if code, text := whCall(t, e.app, http.MethodPatch, base+"/"+sub.ID, `{"events": ["shipment.delivered", "return.received"]}`, &up); code != 200 ||
		strings.Join(up.Events, ",") != "shipment.delivered,return.received" || up.Secret != "" {
		t.Errorf("patch events: %d %s", code, text)
	}

	// An event, delivered, logged, and replayed with its id.
	ev := outbound.NotificationFailure{OrderID: "o_1", Trigger: "delivered", Channel: "email", At: time.Now()}.Event()
	ev.Type = outbound.ShipmentDelivered // any type the subscription wants
	if err := e.svc.Publish(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	e.deliverAll(t)
	var log struct {
		Deliveries []struct {
			EventID    string `json:"event_id"`
			Result     string `json:"result"`
			StatusCode int    `json:"status_code"`
			Replay     bool   `json:"replay"`
		} `json:"deliveries"`
		NextCursor *string `json:"next_cursor"`
	}
	if code, text := whCall(t, e.app, http.MethodGet, base+"/"+sub.ID+"/deliveries", "", &log); code != 200 || len(log.Deliveries) != 1 ||
		log.Deliveries[0].EventID != ev.ID || log.Deliveries[0].Result != "delivered" || log.Deliveries[0].StatusCode != 200 ||
		log.NextCursor == nil || *log.NextCursor != "" {
		t.Fatalf("deliveries: %d %s", code, text)
	}
	from, to := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	var replayed struct{ Events int }
	if code, text := whCall(t, e.app, http.MethodPost, base+"/"+sub.ID+"/replay", `{"from": "`+from+`", "to": "`+to+`"}`, &replayed); code != http.StatusAccepted || replayed.Events != 1 {
		t.Fatalf("replay: %d %s", code, text)
	}
	e.deliverAll(t)
	mu.Lock()
	if len(got) != 2 || got[0].Header.Get("Trackd-Event-Id") != ev.ID || got[1].Header.Get("Trackd-Event-Id") != ev.ID {
		t.Errorf("%d deliveries, want the event twice with its id", len(got))
	}
	v := generic.Verifier{Secrets: [][]byte{[]byte(sub.Secret)}}
	for i, r := range got {
		if err := v.Verify(r.Header.Get(generic.SignatureHeader), bodies[i], time.Now()); err != nil {
			t.Errorf("delivery %d: %v", i, err)
		}
	}
	mu.Unlock()

	var off whSub
	if code, text := whCall(t, e.app, http.MethodPatch, base+"/"+sub.ID, `{"status": "disabled"}`, &off); code != 200 || off.Status != "disabled" ||
		off.DisabledReason == nil || *off.DisabledReason == "" {
		t.Errorf("disable: %d %s", code, text)
	}
	var eb whErr
	if code, text := whCall(t, e.app, http.MethodPost, base+"/"+sub.ID+"/replay", `{"from": "`+from+`", "to": "`+to+`"}`, &eb); code != http.StatusConflict ||
		!strings.Contains(eb.Error, "re-enable") {
		t.Errorf("replay while disabled: %d %s", code, text)
	}
	if code, text := whCall(t, e.app, http.MethodDelete, base+"/"+sub.ID, "", nil); code != http.StatusNoContent {
		t.Fatalf("delete: %d %s", code, text)
	}
	for _, m := range []string{http.MethodGet, http.MethodDelete} {
		if code, _ := whCall(t, e.app, m, base+"/"+sub.ID, "", nil); code != http.StatusNotFound {
			t.Errorf("%s after delete: %d, want 404", m, code)
		}
	}
}
