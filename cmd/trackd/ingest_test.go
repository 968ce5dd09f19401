package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/trackd/trackd/carriers/generic"
	"github.com/trackd/trackd/tracking"
	"github.com/trackd/trackd/tracking/redistest"
)

var validBody = []byte(`{"carrier": "ups", "tracking_number": "1Z999AA10123456784",
 "estimated_delivery": "2026-11-27",
 "events": [{"id": "e1", "status": "in_transit", "carrier_status": "I",
             "message": "Departed from facility", "occurred_at": "2026-11-25T10:00:00-05:00",
             "location": {"city": "Louisville", "region": "KY", "postal_code": "40209", "country": "US"}}]}`)

func keysUnder(t *testing.T, c *redis.Client, prefix string) []string {
	keys, err := c.Keys(context.Background(), prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, k := range keys {
		// The bootstrap API key and its index entry are there from the
		// start; the dashboard's per-minute counts are metrics, not data.
		if !strings.Contains(k, "{k:") && !strings.HasSuffix(k, ":apikeys") && !strings.Contains(k, "stats:{") {
			out = append(out, k)
		}
	}
	return out
}

func TestGenericWebhook_RejectedRequestsStoreNothing(t *testing.T) {
	prefix := redistest.Prefix(t)
	in := start(t, map[string]string{"REDIS_URL": "redis://" + sharedRedis.Addr, "TRACKD_KEY_PREFIX": prefix,
		"TRACKD_ROLES": "web"})
	rdb := sharedRedis.Client(t)
	sign := func(body []byte) string { return generic.Sign([]byte(testSecret), time.Now(), body) }
	big := bytes.Repeat([]byte("x"), 2<<20)

	tests := []struct {
		name      string
		body      []byte
		signature string
		want      int
		errHas    string
	}{
		{"missing signature", validBody, "", http.StatusUnauthorized, "missing Trackd-Signature"},
		{"wrong secret", validBody, generic.Sign([]byte("another secret"), time.Now(), validBody), http.StatusUnauthorized, "no v1 signature matches"},
		{"body changed after signing", append([]byte(" "), validBody...), sign(validBody), http.StatusUnauthorized, "no v1 signature matches"},
		{"stale timestamp", validBody, generic.Sign([]byte(testSecret), time.Now().Add(-6*time.Minute), validBody), http.StatusUnauthorized, "tolerance"},
		{"garbage signature header", validBody, "v1=zz", http.StatusUnauthorized, "invalid signature"},
		{"malformed JSON", []byte(`{"carrier": "ups",`), sign([]byte(`{"carrier": "ups",`)), http.StatusBadRequest, "malformed JSON"},
		{"unknown status", []byte(`{"carrier":"ups","tracking_number":"1","events":[{"status":"teleported","occurred_at":"2026-11-25T10:00:00Z"}]}`),
			sign([]byte(`{"carrier":"ups","tracking_number":"1","events":[{"status":"teleported","occurred_at":"2026-11-25T10:00:00Z"}]}`)),
			http.StatusBadRequest, "events[0].status"},
		{"missing tracking number", []byte(`{"carrier":"ups","events":[]}`), sign([]byte(`{"carrier":"ups","events":[]}`)), http.StatusBadRequest, "tracking_number"},
		{"2 MiB body", big, sign(big), http.StatusRequestEntityTooLarge, "too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, in.base+"/webhooks/generic", bytes.NewReader(tt.body))
			if tt.signature != "" {
				req.Header.Set(generic.SignatureHeader, tt.signature)
			}
			code, text := do(t, req)
			var e struct {
				Error string `json:"error"`
			}
			if err := json.Unmarshal([]byte(text), &e); err != nil {
				t.Fatalf("answer %q is not a JSON error: %v", text, err)
			}
			if code != tt.want || !strings.Contains(e.Error, tt.errHas) {
				t.Errorf("answer %d %q, want %d with %q", code, e.Error, tt.want, tt.errHas)
			}
			if keys := keysUnder(t, rdb, prefix); len(keys) > 0 {
				t.Errorf("a rejected request stored %v", keys)
			}
		})
	}

	// And the same request, signed, is accepted and stored.
	code, text := in.post(validBody)
	if code != http.StatusAccepted || strings.TrimSpace(text) != `{"accepted":1}` {
		t.Errorf("valid webhook: %d %s", code, text)
	}
	if len(keysUnder(t, rdb, prefix)) == 0 {
		t.Error("the accepted webhook was not stored")
	}
}

func TestPipeline_RecoversWhenRedisComesBack(t *testing.T) {
	own := redistest.Start(t)
	in := start(t, map[string]string{"REDIS_URL": "redis://" + own.Addr})
	body := func(id string) []byte {
		return []byte(`{"carrier":"ups","tracking_number":"1ZOUTAGE","events":[{"id":"` + id +
			`","status":"in_transit","occurred_at":"` + time.Now().Format(time.RFC3339) + `"}]}`)
	}
	if code, text := in.post(body("before")); code != http.StatusAccepted {
		t.Fatalf("before the outage: %d %s", code, text)
	}

	own.Stop()
	code, text := in.post(body("during"))
	if code != http.StatusServiceUnavailable || !strings.Contains(text, "retry later") {
		t.Errorf("webhook during the outage: %d %s, want 503", code, text)
	}
	if code, _ := do(t, mustRequest(http.MethodGet, in.base+"/readyz")); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz during the outage: %d, want 503", code)
	}
	if code, _ := do(t, mustRequest(http.MethodGet, in.base+"/healthz")); code != http.StatusOK {
		t.Errorf("/healthz during the outage: %d, want 200 (the process is alive)", code)
	}

	if err := own.Restart(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "/readyz to recover", func() bool {
		code, _ := do(t, mustRequest(http.MethodGet, in.base+"/readyz"))
		return code == http.StatusOK
	})
	if code, text := in.post(body("after")); code != http.StatusAccepted {
		t.Fatalf("after the outage: %d %s", code, text)
	}
	// The processors recreate their consumer group on the empty Redis and
	// apply what arrives, with no restart of trackd.
	rdb := own.Client(t)
	s, err := tracking.NewStore(rdb, tracking.DefaultStoreConfig())
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the event posted after the outage to be applied", func() bool {
		sh, err := s.Shipment(context.Background(), tracking.ShipmentID("ups", "1ZOUTAGE"), false)
		return err == nil && sh.EventCount == 1 && sh.Status == tracking.StatusInTransit
	})
}

func mustRequest(method, url string) *http.Request {
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		panic(err)
	}
	return req
}

// Shutting down under load loses nothing: every webhook answered 202 is
// applied, by this node before it exits or by the next one to start.
func TestShutdown_UnderLoadLosesNothingAccepted(t *testing.T) {
	prefix := redistest.Prefix(t)
	env := map[string]string{"REDIS_URL": "redis://" + sharedRedis.Addr, "TRACKD_KEY_PREFIX": prefix}
	in := start(t, env)
	bodies, _ := workload(t, 100, 4000)

	accepted := make(chan []byte, len(bodies))
	stopSending := make(chan struct{})
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		for _, b := range bodies {
			select {
			case <-stopSending:
				return
			default:
			}
			req, _ := http.NewRequest(http.MethodPost, in.base+"/webhooks/generic", bytes.NewReader(b))
			req.Header.Set(generic.SignatureHeader, generic.Sign([]byte(testSecret), time.Now(), b))
			resp, err := client.Do(req)
			if err != nil {
				continue // refused once the listener closed: the sender would retry
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusAccepted {
				accepted <- b
			}
		}
	}()
	waitFor(t, "some webhooks to be accepted", func() bool { return len(accepted) >= 500 })
	if code := in.stop(); code != 0 {
		t.Fatalf("trackd exited with %d: %s", code, in.stderr.String())
	}
	close(stopSending)
	<-sent
	close(accepted)

	want := map[string]*tracking.Log{}
	n := 0
	for b := range accepted {
		u, _ := generic.Parse(b, time.Time{})
		id := tracking.ShipmentID(u.Carrier, u.TrackingNumber)
		if want[id] == nil {
			want[id] = &tracking.Log{}
		}
		want[id].Apply(u)
		n++
	}
	next := start(t, env)
	next.waitDrained()
	s, err := tracking.NewStore(sharedRedis.Client(t), func() tracking.StoreConfig {
		c := tracking.DefaultStoreConfig()
		c.Prefix = prefix
		return c
	}())
	if err != nil {
		t.Fatal(err)
	}
	for id, l := range want {
		sh, err := s.Shipment(context.Background(), id, false)
		if err != nil {
			t.Fatal(err)
		}
		if sh.EventCount < len(l.History()) {
			t.Errorf("%s: %d events applied, but %d were accepted", id, sh.EventCount, len(l.History()))
		}
	}
	t.Logf("%d webhooks accepted before shutdown, all applied", n)
}

func TestGenericWebhook_RepeatedRejectionsAreRateLimited(t *testing.T) {
	in := start(t, map[string]string{"REDIS_URL": "redis://" + sharedRedis.Addr, "TRACKD_KEY_PREFIX": redistest.Prefix(t)})
	var codes []int
	for range 60 {
		req, _ := http.NewRequest(http.MethodPost, in.base+"/webhooks/generic", bytes.NewReader(validBody))
		req.Header.Set(generic.SignatureHeader, "t=1,v1=00")
		code, _ := do(t, req)
		codes = append(codes, code)
	}
	if codes[0] != http.StatusUnauthorized || codes[len(codes)-1] != http.StatusTooManyRequests {
		t.Fatalf("answers to 60 bad signatures: first %d, last %d; want 401 then 429", codes[0], codes[len(codes)-1])
	}
	req, _ := http.NewRequest(http.MethodPost, in.base+"/webhooks/generic", bytes.NewReader(validBody))
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Errorf("while limited: %d with Retry-After %q, want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}
