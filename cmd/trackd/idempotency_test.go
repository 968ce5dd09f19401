package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sync"
	"testing"

	"github.com/trackd/trackd/tracking/redistest"
)

// The same order sent by many clients at once is one order: one 201, the
// others 200 with the same id. With an Idempotency-Key the first answer is
// replayed, status and body; the key reused for another body is refused.
func TestAPI_IdempotentCreateUnderConcurrentIdenticalRequests(t *testing.T) {
	in := start(t, map[string]string{"REDIS_URL": "redis://" + sharedRedis.Addr, "TRACKD_KEY_PREFIX": redistest.Prefix(t)})
	body, _ := json.Marshal(map[string]any{"order_number": "R-IDEM-1",
		"shipments": []map[string]any{{"carrier": "ups", "tracking_number": "1ZIDEM0001"}}})
	post := func(key string, b []byte) (int, string, string) {
		req, _ := http.NewRequest(http.MethodPost, in.base+"/api/v1/orders", bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+testAPIKey)
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var o struct {
			ID string `json:"id"`
		}
		var buf bytes.Buffer
		buf.ReadFrom(resp.Body)
		json.Unmarshal(buf.Bytes(), &o)
		return resp.StatusCode, o.ID, resp.Header.Get("Idempotent-Replayed")
	}

	const n = 16
	codes, ids := make([]int, n), make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { codes[i], ids[i], _ = post("", body) })
	}
	wg.Wait()
	created := 0
	for i := range n {
		if codes[i] == http.StatusCreated {
			created++
		}
		if (codes[i] != http.StatusCreated && codes[i] != http.StatusOK) || ids[i] != ids[0] || ids[i] == "" {
			t.Fatalf("request %d: %d, order %q; want 200 or 201 and the one order %q", i, codes[i], ids[i], ids[0])
		}
	}
	if created != 1 {
		t.Errorf("%d answers were 201 Created, want exactly 1", created)
	}

	other, _ := json.Marshal(map[string]any{"order_number": "R-IDEM-2"})
	code, id, replayed := post("key-1", other)
	if code != http.StatusCreated || replayed != "" {
		t.Fatalf("first request with a key: %d (replayed %q)", code, replayed)
	}
	code2, id2, replayed := post("key-1", other)
	if code2 != http.StatusCreated || id2 != id || replayed != "true" {
		t.Errorf("the same request again: %d, order %q, replayed %q; want the first answer, 201 and %q, replayed", code2, id2, replayed, id)
	}
	if code, _, _ := post("key-1", body); code != http.StatusUnprocessableEntity {
		t.Errorf("the key reused for another body: %d, want 422", code)
	}
}
