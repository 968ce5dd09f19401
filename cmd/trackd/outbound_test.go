package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/trackd/trackd/carriers/generic"
	"github.com/trackd/trackd/tracking/redistest"
)

func TestOutbound_AnOrderDeliveredReachesTheSubscriberSigned(t *testing.T) {
	var mu sync.Mutex
	var got []map[string]any
	var sigOK []bool
	var secret []byte
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var ev map[string]any
		json.Unmarshal(b, &ev)
		mu.Lock()
		got = append(got, ev)
		sigOK = append(sigOK, generic.Verifier{Secrets: [][]byte{secret}}.Verify(r.Header.Get(generic.SignatureHeader), b, time.Now()) == nil)
		mu.Unlock()
	}))
	defer rcv.Close()
	in := start(t, map[string]string{"REDIS_URL": "redis://" + sharedRedis.Addr, "TRACKD_KEY_PREFIX": redistest.Prefix(t),
		"TRACKD_OUTBOUND_ALLOW_PRIVATE": "true"})
	var sub struct{ ID, Secret string }
	if code := in.api(http.MethodPost, "/api/v1/webhook-subscriptions", map[string]any{"url": rcv.URL, "events": []string{"shipment.delivered", "order.delivered"}}, &sub); code != http.StatusCreated {
		t.Fatalf("subscribe: %d", code)
	}
	mu.Lock()
	secret = []byte(sub.Secret)
	mu.Unlock()
	if code := in.api(http.MethodPost, "/api/v1/orders", map[string]any{"order_number": "R-OUT-1",
		"shipments": []map[string]any{{"carrier": "ups", "tracking_number": "1Z999AA10123456784"}}}, nil); code != http.StatusCreated {
		t.Fatalf("order: %d", code)
	}
	body := []byte(`{"carrier":"ups","tracking_number":"1Z999AA10123456784","events":[{"status":"delivered","occurred_at":"` + time.Now().UTC().Format(time.RFC3339) + `"}]}`)
	if code, text := in.post(body); code != http.StatusAccepted {
		t.Fatalf("webhook: %d %s", code, text)
	}
	waitFor(t, "two events at the receiver", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) >= 2 })
	mu.Lock()
	defer mu.Unlock()
	types := map[any]bool{}
	for i, ev := range got {
		types[ev["type"]] = true
		if !sigOK[i] {
			t.Errorf("event %d: bad signature", i)
		}
	}
	if !types["shipment.delivered"] || !types["order.delivered"] {
		t.Errorf("got %v", got)
	}
}

func TestOutbound_LoopbackTargetsAreRefusedByDefault(t *testing.T) {
	in := start(t, map[string]string{"REDIS_URL": "redis://" + sharedRedis.Addr, "TRACKD_KEY_PREFIX": redistest.Prefix(t)})
	if code := in.api(http.MethodPost, "/api/v1/webhook-subscriptions", map[string]any{"url": "https://127.0.0.1/x", "events": []string{"shipment.updated"}}, nil); code != http.StatusBadRequest {
		t.Errorf("loopback: %d, want 400", code)
	}
}
