package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trackd/trackd/carriers/generic"
	"github.com/trackd/trackd/tracking"
	"github.com/trackd/trackd/tracking/redistest"
)

const (
	testSecret = "whsec_test_0123456789"
	testAPIKey = "tk_test_0123456789abcdef"
)

// instance is a trackd started by a test through run, as main starts it.
type instance struct {
	t      *testing.T
	base   string
	cancel context.CancelFunc
	exit   chan int
	stderr *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs trackd with env (on top of test defaults) until the test ends.
func start(t *testing.T, env map[string]string) *instance {
	t.Helper()
	full := map[string]string{
		"TRACKD_ADDR":                   "127.0.0.1:0",
		"TRACKD_GENERIC_WEBHOOK_SECRET": testSecret,
		"TRACKD_BOOTSTRAP_API_KEY":      testAPIKey,
		"TRACKD_LOG_LEVEL":              "warn",
		// The tests register thousands of orders with one key.
		"TRACKD_API_RATE_LIMIT": "0",
	}
	for k, v := range env {
		full[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	in := &instance{t: t, cancel: cancel, exit: make(chan int, 1), stderr: &syncBuffer{}}
	ready := make(chan string, 1)
	go func() { in.exit <- run(ctx, nil, func(k string) string { return full[k] }, in.stderr, ready) }()
	select {
	case addr := <-ready:
		in.base = "http://" + addr
	case code := <-in.exit:
		t.Fatalf("trackd exited with %d: %s", code, in.stderr.String())
	}
	t.Cleanup(func() { in.stop() })
	return in
}

// stop shuts trackd down as SIGTERM does and returns its exit code.
func (in *instance) stop() int {
	in.cancel()
	select {
	case code := <-in.exit:
		in.exit <- code
		return code
	case <-time.After(2 * shutdownBudget):
		in.t.Fatalf("trackd did not stop within %s", 2*shutdownBudget)
		return -1
	}
}

var client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

// post signs and posts a generic webhook.
func (in *instance) post(body []byte) (int, string) {
	req, _ := http.NewRequest(http.MethodPost, in.base+"/webhooks/generic", bytes.NewReader(body))
	req.Header.Set(generic.SignatureHeader, generic.Sign([]byte(testSecret), time.Now(), body))
	return do(in.t, req)
}

func do(t *testing.T, req *http.Request) (int, string) {
	resp, err := client.Do(req)
	if err != nil {
		t.Errorf("%s %s: %v", req.Method, req.URL.Path, err)
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (in *instance) api(method, path string, body any, out any) int {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, in.base+path, r)
	req.Header.Set("Authorization", "Bearer "+testAPIKey)
	code, text := do(in.t, req)
	if out != nil && code < 300 {
		if err := json.Unmarshal([]byte(text), out); err != nil {
			in.t.Fatalf("%s %s: %v in %s", method, path, err, text)
		}
	}
	return code
}

// metric reads one unlabelled value from /metrics.
func (in *instance) metric(name string) (float64, error) {
	resp, err := client.Get(in.base + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return strconv.ParseFloat(v, 64)
		}
	}
	return 0, fmt.Errorf("metric %s not found", name)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (in *instance) waitDrained() {
	waitFor(in.t, "processors to drain the backlog", func() bool {
		v, err := in.metric("trackd_ingest_backlog")
		return err == nil && v == 0
	})
}

// workload is a feed of webhooks over shipments, a fifth of them
// duplicates (by carrier event id, or by content when there is none),
// shuffled, with the reference state the merge rules give for it.
func workload(t *testing.T, shipments, unique int) ([][]byte, map[string]*tracking.Log) {
	rng := rand.New(rand.NewPCG(42, 2))
	zones := []*time.Location{time.FixedZone("", -5*3600), time.FixedZone("", -8*3600), time.FixedZone("", 3600), time.UTC}
	base := time.Now().Add(-10 * 24 * time.Hour).Truncate(time.Minute)
	var bodies [][]byte
	for i := range unique {
		ship := i % shipments
		at := base.Add(time.Duration(rng.IntN(9*24*60)) * time.Minute).In(zones[rng.IntN(len(zones))])
		b := generic.Message{Carrier: "ups", TrackingNumber: fmt.Sprintf("1ZLOAD%06d", ship), Events: []generic.MessageEvent{{
			Status: string(tracking.Statuses()[rng.IntN(len(tracking.Statuses()))]), CarrierStatus: strconv.Itoa(i % 9),
			Message: fmt.Sprintf("scan %d", i), OccurredAt: at.Format(time.RFC3339),
			Location: tracking.Location{City: "Louisville", Region: "KY", Country: "US"}}}}
		if rng.IntN(4) > 0 {
			b.Events[0].ID = fmt.Sprintf("ev-%d", i)
		}
		if rng.IntN(3) == 0 {
			b.EstimatedDelivery = base.AddDate(0, 0, 10+rng.IntN(5)).Format(time.DateOnly)
		}
		body, _ := json.Marshal(b)
		bodies = append(bodies, body)
	}
	for len(bodies) < unique*5/4 { // 20% of the total are repeats
		bodies = append(bodies, bodies[rng.IntN(unique)])
	}
	rng.Shuffle(len(bodies), func(i, j int) { bodies[i], bodies[j] = bodies[j], bodies[i] })
	want := map[string]*tracking.Log{}
	for _, body := range bodies {
		u, err := generic.Parse(body, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		id := tracking.ShipmentID(u.Carrier, u.TrackingNumber)
		if want[id] == nil {
			want[id] = &tracking.Log{}
		}
		want[id].Apply(u)
	}
	return bodies, want
}

// postAll posts bodies from several senders at once; every one must be accepted.
func (in *instance) postAll(bodies [][]byte, senders int) {
	var wg sync.WaitGroup
	next := make(chan []byte)
	for range senders {
		wg.Go(func() {
			for b := range next {
				if code, text := in.post(b); code != http.StatusAccepted {
					in.t.Errorf("webhook answered %d: %s", code, text)
				}
			}
		})
	}
	for _, b := range bodies {
		next <- b
	}
	close(next)
	wg.Wait()
}

// registerOrders registers one order per shipment, as the OMS would.
func (in *instance) registerOrders(want map[string]*tracking.Log, numbers []string) map[string]string {
	orders := map[string]string{}
	for _, n := range numbers {
		var o struct {
			ID string `json:"id"`
		}
		code := in.api(http.MethodPost, "/api/v1/orders", map[string]any{
			"order_number": "R-" + n, "customer": map[string]string{"email": "shopper@example.com"},
			"items":     []map[string]any{{"sku": "SKU-1", "quantity": 1}},
			"shipments": []map[string]any{{"carrier": "ups", "tracking_number": n, "items": []map[string]any{{"sku": "SKU-1", "quantity": 1}}}},
		}, &o)
		if code != http.StatusCreated {
			in.t.Fatalf("register order for %s: %d", n, code)
		}
		orders[tracking.ShipmentID("ups", n)] = o.ID
	}
	return orders
}

// checkShipments compares every shipment the API serves with the reference.
func (in *instance) checkShipments(want map[string]*tracking.Log, orders map[string]string) {
	for id, l := range want {
		var sh tracking.Shipment
		if code := in.api(http.MethodGet, "/api/v1/shipments/"+id, nil, &sh); code != http.StatusOK {
			in.t.Fatalf("GET shipment %s: %d", id, code)
		}
		if sh.Status != l.Status {
			in.t.Errorf("%s: status %s, want %s", id, sh.Status, l.Status)
		}
		if (sh.EstimatedDelivery == nil) != (l.ETA == nil) || (l.ETA != nil && *sh.EstimatedDelivery != *l.ETA) {
			in.t.Errorf("%s: estimated delivery %+v, want %+v", id, sh.EstimatedDelivery, l.ETA)
		}
		h := l.History()
		if len(sh.Events) != len(h) {
			in.t.Fatalf("%s: %d events, want %d", id, len(sh.Events), len(h))
		}
		for i := range h {
			if sh.Events[i].Key() != h[i].Key() || sh.Events[i].OccurredAtLocal.Format(time.RFC3339) != h[i].OccurredAtLocal.Format(time.RFC3339) {
				in.t.Fatalf("%s: event %d is %s at %s, want %s at %s", id, i, sh.Events[i].Key(),
					sh.Events[i].OccurredAtLocal.Format(time.RFC3339), h[i].Key(), h[i].OccurredAtLocal.Format(time.RFC3339))
			}
		}
		if orders[id] != "" && sh.OrderID != orders[id] {
			in.t.Errorf("%s: order %q, want %q", id, sh.OrderID, orders[id])
		}
	}
}

func numbersOf(want map[string]*tracking.Log, bodies [][]byte) []string {
	seen := map[string]bool{}
	var out []string
	for _, b := range bodies {
		u, _ := generic.Parse(b, time.Time{})
		if !seen[u.TrackingNumber] {
			seen[u.TrackingNumber] = true
			out = append(out, u.TrackingNumber)
		}
	}
	return out
}

// pipelineTest posts a shuffled feed with duplicates concurrently, with
// half the orders registered before the events and half after, and checks
// every shipment ends exactly as the ordered, de-duplicated feed says.
func pipelineTest(t *testing.T, in *instance, shipments, unique int) {
	bodies, want := workload(t, shipments, unique)
	numbers := numbersOf(want, bodies)
	orders := in.registerOrders(want, numbers[:len(numbers)/2])
	in.postAll(bodies, 32)
	in.waitDrained()
	for id, o := range in.registerOrders(want, numbers[len(numbers)/2:]) {
		orders[id] = o
	}
	in.checkShipments(want, orders)
	accepted, err := in.metric(`trackd_webhooks_total{carrier="generic",result="accepted"}`)
	if err != nil || int(accepted) != len(bodies) {
		t.Errorf("accepted webhooks metric = %v (%v), want %d", accepted, err, len(bodies))
	}
}

var sharedRedis *redistest.Server

func TestMain(m *testing.M) { redistest.Main(m, &sharedRedis) }

func TestPipeline_TenThousandShuffledEventsWithDuplicates(t *testing.T) {
	in := start(t, map[string]string{"REDIS_URL": "redis://" + sharedRedis.Addr, "TRACKD_KEY_PREFIX": redistest.Prefix(t)})
	pipelineTest(t, in, 500, 8000) // 8,000 events and 2,000 repeats
}

func TestPipeline_EmbeddedRedis(t *testing.T) {
	in := start(t, nil)
	if !strings.Contains(in.stderr.String(), "EMBEDDED IN-MEMORY REDIS") {
		t.Errorf("no loud warning about the embedded Redis in the log: %s", in.stderr.String())
	}
	pipelineTest(t, in, 50, 800)
}
