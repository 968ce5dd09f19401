package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/trackd/trackd/carriers/generic"
	"github.com/trackd/trackd/tracking"
)

// testWorkerEnv makes the test binary a fanout worker process, so the
// multi-process path runs for real: the parent re-executes os.Args[0].
const testWorkerEnv = "LOADGEN_TEST_FANOUT_WORKER"

func TestMain(m *testing.M) {
	if os.Getenv(testWorkerEnv) == "1" {
		os.Exit(fanoutWorkerMain(os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// ---- the parts ----

func TestFanoutPlanPlacesClientsRoundRobin(t *testing.T) {
	p := fanoutPlan{nodes: 2, orders: 5}
	perNode, perOrder := map[int]int{}, map[int]int{}
	pairs := map[[2]int]int{}
	for c := range int64(50) {
		node, order := p.place(c)
		if want := int(c % 2); node != want {
			t.Errorf("client %d on node %d, want %d (round-robin)", c, node, want)
		}
		perNode[node]++
		perOrder[order]++
		pairs[[2]int{node, order}]++
	}
	if perNode[0] != 25 || perNode[1] != 25 {
		t.Errorf("clients per node %v, want 25 each", perNode)
	}
	for o := range 5 {
		if perOrder[o] != 10 || pairs[[2]int{0, o}] != 5 || pairs[[2]int{1, o}] != 5 {
			t.Errorf("order %d: %d clients, %d on node 0, %d on node 1; want 10, 5, 5",
				o, perOrder[o], pairs[[2]int{0, o}], pairs[[2]int{1, o}])
		}
	}
}

func TestFanoutPlanNumbersEachOrdersEventsWithoutGaps(t *testing.T) {
	for _, p := range []fanoutPlan{{1, 1}, {1, 7}, {3, 7}, {4, 2}, {2, 100}} {
		byOrder := map[int][]int64{}
		nodesOfOrder := map[int]map[int]bool{}
		for seq := range int64(1000) {
			node, order := p.place(seq)
			byOrder[order] = append(byOrder[order], p.eventIndex(seq))
			if nodesOfOrder[order] == nil {
				nodesOfOrder[order] = map[int]bool{}
			}
			nodesOfOrder[order][node] = true
		}
		for o, idx := range byOrder {
			for i, v := range idx {
				if v != int64(i) {
					t.Fatalf("%+v: order %d's events are numbered %v, want 0, 1, 2...", p, o, idx)
				}
			}
			if len(idx) >= p.nodes && len(nodesOfOrder[o]) != p.nodes {
				t.Errorf("%+v: order %d's events went to nodes %v, want all %d", p, o, nodesOfOrder[o], p.nodes)
			}
		}
	}
}

func TestWorkerShareCoversEveryClientOnce(t *testing.T) {
	for _, tc := range []struct{ procs, clients int }{{1, 1}, {2, 18000}, {3, 10}, {7, 7}, {4, 1001}} {
		next := 0
		for i := range tc.procs {
			lo, hi := workerShare(i, tc.procs, tc.clients)
			if lo != next || hi-lo < tc.clients/tc.procs || hi-lo > tc.clients/tc.procs+1 {
				t.Fatalf("%+v: worker %d has [%d, %d) after %d", tc, i, lo, hi, next)
			}
			next = hi
		}
		if next != tc.clients {
			t.Errorf("%+v: workers cover %d clients", tc, next)
		}
	}
}

func TestEventIDCarriesTheSendTime(t *testing.T) {
	prefix := eventIDPrefix("RUN1")
	sent := time.Unix(1_800_000_000, 123_456_789)
	id := string(appendEventID(nil, prefix, 42, sent))
	if id != "lgf-RUN1-42-1800000000123456789" {
		t.Errorf("id %q", id)
	}
	seq, at, ok := parseEventID(id, prefix)
	if !ok || seq != 42 || !at.Equal(sent) {
		t.Errorf("parseEventID(%q) = %d, %v, %v", id, seq, at, ok)
	}
	if d, ok := deliveryLatency(id, prefix, sent.Add(3*time.Millisecond+7)); !ok || d != 3*time.Millisecond+7 {
		t.Errorf("latency = %v, %v; want 3.000007ms", d, ok)
	}
	for _, bad := range []string{"", "lgf-RUN2-42-1800000000123456789", "lgf-RUN1-42", "lgf-RUN1-x-1", "lgf-RUN1-1-y",
		"lgf-RUN1--1-5", "lgf-RUN1-1-0", "lgf-RUN1-1-2-3", "carrier-event-7"} {
		if _, _, ok := parseEventID(bad, prefix); ok {
			t.Errorf("parseEventID(%q) accepted it", bad)
		}
	}
}

func TestBitsetFindsRepeats(t *testing.T) {
	var b bitset
	for _, i := range []int64{0, 63, 64, 1000, 5} {
		if b.testAndSet(i) {
			t.Errorf("bit %d was set before being set", i)
		}
	}
	for _, i := range []int64{0, 63, 64, 1000, 5} {
		if !b.testAndSet(i) {
			t.Errorf("bit %d was not remembered", i)
		}
	}
	if b.testAndSet(999) {
		t.Error("bit 999 set by its neighbour")
	}
}

func TestHistogramBuckets(t *testing.T) {
	prev := -1
	for _, v := range []int64{0, 1, 127, 128, 255, 256, 257, 511, 512, 1000, 1e6, 123456789, 5e9, 1 << 41} {
		i := histIndex(v)
		if i < prev {
			t.Errorf("index of %d is %d, below the previous %d", v, i, prev)
		}
		prev = i
		upper := histUpper(i)
		lower := int64(0)
		if i > 0 {
			lower = histUpper(i-1) + 1
		}
		if v < lower || v > upper {
			t.Errorf("%d in bucket %d = [%d, %d]", v, i, lower, upper)
		}
		if v >= 256 && float64(upper-lower) > float64(lower)/histSub {
			t.Errorf("bucket %d = [%d, %d] is wider than 1/%d", i, lower, upper, histSub)
		}
	}
	if histIndex(-5) != 0 || histIndex(math.MaxInt64) != histLen-1 {
		t.Error("out-of-range values are not clamped to the end buckets")
	}
}

func TestHistogramQuantilesMatchRawPercentiles(t *testing.T) {
	var h histogram
	var raw []time.Duration
	for i := range 10000 {
		d := time.Duration(i*i%99991) * time.Microsecond
		h.add(d)
		raw = append(raw, d)
	}
	slices.Sort(raw)
	for _, p := range []float64{0, 50, 90, 99, 99.9, 100} {
		want, got := percentile(raw, p), h.quantile(p)
		if got < want || float64(got-want) > float64(want)/histSub+1 {
			t.Errorf("p%g = %v, raw %v: off by more than one bucket", p, got, want)
		}
	}
	if h.summary().Max != ms(raw[len(raw)-1]) || h.summary().Count != 10000 {
		t.Errorf("summary %+v", h.summary())
	}
	var empty histogram
	if empty.quantile(50) != 0 || empty.summary() != (latencySummary{}) {
		t.Error("an empty histogram has quantiles")
	}
}

func TestMergeWorkerResults(t *testing.T) {
	var a, b histogram
	a.add(time.Millisecond)
	a.add(2 * time.Millisecond)
	b.add(9 * time.Millisecond)
	results := []workerResult{
		{Worker: 0, Clients: 3, Connected: 2, ConnectFailed: 1, ConnectErrors: map[string]int64{"handshake: status 403": 1},
			FirstConnectError: "first", ConnectSeconds: 1.5, PerOrder: []int{1, 1}, PerNode: []int{2, 0},
			Delivered: 10, Duplicates: 1, Other: 2, Latency: a, ConnectTime: a},
		{Worker: 1, Clients: 3, Connected: 3, PerOrder: []int{2, 1}, PerNode: []int{1, 2}, ConnectSeconds: 2.5,
			Delivered: 20, Misrouted: 4, Latency: b, ConnectTime: b, Dropped: 1,
			DropErrors: map[string]int64{"closed by the server: 1013 client too slow": 1}, FirstDropError: "slow"},
	}
	got := mergeWorkerResults(results, 2, 2)
	if got.Clients != 6 || got.Connected != 5 || got.ConnectFailed != 1 || got.ConnectErrors["handshake: status 403"] != 1 ||
		got.FirstConnectError != "first" || got.ConnectSeconds != 2.5 {
		t.Errorf("connect part merged as %+v", got)
	}
	if fmt.Sprint(got.PerOrder) != "[3 2]" || fmt.Sprint(got.PerNode) != "[3 2]" {
		t.Errorf("per order %v, per node %v; want [3 2] and [3 2]", got.PerOrder, got.PerNode)
	}
	if got.Delivered != 30 || got.Duplicates != 1 || got.Misrouted != 4 || got.Other != 2 || got.Dropped != 1 ||
		got.FirstDropError != "slow" || len(got.DropErrors) != 1 {
		t.Errorf("delivery part merged as %+v", got)
	}
	if got.Latency.N != 3 || got.Latency.Max != int64(9*time.Millisecond) || got.ConnectTime.N != 3 {
		t.Errorf("histograms merged as %+v and %+v", got.Latency, got.ConnectTime)
	}
	if e := expectedDeliveries([]int64{4, 10}, got.PerOrder); e != 4*3+10*2 {
		t.Errorf("expected deliveries %d, want 32", e)
	}
}

func TestFanoutFlags(t *testing.T) {
	env := func(k string) string {
		return map[string]string{"TRACKD_GENERIC_WEBHOOK_SECRET": "sec", "TRACKD_BOOTSTRAP_API_KEY": "key-from-env"}[k]
	}
	cfg, err := parseFlags([]string{"-mode", "fanout", "-target", "http://trackd:9000/"}, env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Rate != defaultFanoutRate || cfg.Clients != 1000 || cfg.Orders != 100 || cfg.Procs != 1 ||
		cfg.APIKey != "key-from-env" || string(cfg.Secret) != "sec" || fmt.Sprint(cfg.Nodes) != "[http://trackd:9000]" ||
		cfg.ConnectConcurrency != 500 || cfg.Duration != time.Minute {
		t.Errorf("fanout defaults: %+v", cfg)
	}
	if err := validateFanout(cfg); err != nil {
		t.Errorf("defaults do not validate: %v", err)
	}
	for clients, procs := range map[int]int{1: 1, 15000: 1, 15001: 2, 18000: 2, 45001: 4} {
		cfg, err := parseFlags([]string{"-mode", "fanout", "-clients", fmt.Sprint(clients)}, env, io.Discard)
		if err != nil || cfg.Procs != procs {
			t.Errorf("-clients %d: procs %d (%v), want %d", clients, cfg.Procs, err, procs)
		}
	}
	cfg, err = parseFlags([]string{"-mode", "fanout", "-nodes", "http://a:1/, https://b:2", "-rate", "50", "-procs", "3",
		"-api-key", "flag-key"}, env, io.Discard)
	if err != nil || fmt.Sprint(cfg.Nodes) != "[http://a:1 https://b:2]" || cfg.Rate != 50 || cfg.Procs != 3 || cfg.APIKey != "flag-key" {
		t.Errorf("explicit flags: %+v, %v", cfg, err)
	}
	if _, err := parseFlags([]string{"-mode", "fanout", "-nodes", "http://a:1,b:2"}, env, io.Discard); err == nil {
		t.Error("a node without a scheme was accepted")
	}
	// ingest keeps its own defaults
	cfg, err = parseFlags(nil, env, io.Discard)
	if err != nil || cfg.Rate != 10000 || cfg.Nodes != nil {
		t.Errorf("ingest defaults changed: %+v, %v", cfg, err)
	}
}

func TestValidateFanout(t *testing.T) {
	good := defaultConfig()
	good.Mode, good.Secret, good.APIKey, good.Nodes = "fanout", []byte("s"), "k", []string{"http://a:1"}
	good.Rate, good.Duration, good.Clients, good.Orders, good.Procs = 10, time.Second, 10, 2, 1
	good.Senders, good.ConnectConcurrency, good.Carrier = 4, 10, "ups"
	if err := validateFanout(good); err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(*config){
		"no secret":          func(c *config) { c.Secret = nil },
		"no api key":         func(c *config) { c.APIKey = "" },
		"no nodes":           func(c *config) { c.Nodes = nil },
		"bad node":           func(c *config) { c.Nodes = []string{"ftp://x"} },
		"zero rate":          func(c *config) { c.Rate = 0 },
		"zero duration":      func(c *config) { c.Duration = 0 },
		"no clients":         func(c *config) { c.Clients = 0 },
		"no orders":          func(c *config) { c.Orders = 0 },
		"zero procs":         func(c *config) { c.Procs = 0 },
		"procs over clients": func(c *config) { c.Procs = 11 },
		"no senders":         func(c *config) { c.Senders = 0 },
		"no dials":           func(c *config) { c.ConnectConcurrency = 0 },
		"no carrier":         func(c *config) { c.Carrier = " " },
	} {
		cfg := good
		mutate(&cfg)
		if err := validateFanout(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	var stderr bytes.Buffer
	code := realMain(context.Background(), []string{"-mode", "fanout", "-clients", "0"}, func(string) string { return "x" }, io.Discard, &stderr)
	if code != exitUsage || !strings.Contains(stderr.String(), "-clients 0") {
		t.Errorf("exit %d, stderr %q; want 2 naming -clients", code, stderr.String())
	}
}

func TestFanoutReportVerdictAndTable(t *testing.T) {
	ok := &fanoutReport{Mode: "fanout", Clients: 10, Nodes: []string{"http://a|b"},
		Connect: fanoutConnect{Connected: 10}, Events: fanoutEvents{Sent: 5, Accepted: 5},
		Delivery: fanoutDelivery{Expected: 50, Delivered: 50},
		Servers:  []fanoutServer{{Node: "http://a|b", Clients: 10, RSSPerConnectionBytes: ptr(2048.0)}}}
	if ok.failed() {
		t.Errorf("a clean run failed: %s", ok.failureReason())
	}
	for name, tc := range map[string]struct {
		mutate func(*fanoutReport)
		reason string
	}{
		"missing":    {func(r *fanoutReport) { r.Delivery.Delivered, r.Delivery.Missing = 49, 1 }, "delivered 49 of 50"},
		"duplicates": {func(r *fanoutReport) { r.Delivery.Duplicates = 2 }, "2 duplicate"},
		"misrouted":  {func(r *fanoutReport) { r.Delivery.Misrouted = 1 }, "another order"},
		"dropped":    {func(r *fanoutReport) { r.Delivery.DroppedClients = 3 }, "3 clients were disconnected"},
		"connect":    {func(r *fanoutReport) { r.Connect.Failed = 1 }, "1 of 10 clients failed to connect"},
		"no events":  {func(r *fanoutReport) { r.Events.Accepted = 0 }, "no event was accepted"},
	} {
		r := *ok
		tc.mutate(&r)
		if !r.failed() || !strings.Contains(r.failureReason(), tc.reason) {
			t.Errorf("%s: failed %v, reason %q; want %q", name, r.failed(), r.failureReason(), tc.reason)
		}
	}

	path := filepath.Join(t.TempDir(), "fanout.md")
	for range 2 {
		if err := appendMarkdownRow(path, ok); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 4 || !strings.Contains(lines[0], "RSS/conn KiB") || !strings.Contains(lines[2], "| 2.0 |") {
		t.Errorf("table:\n%s", b)
	}
	if strings.Count(lines[2], " | ") != strings.Count(lines[0], " | ") {
		t.Errorf("row and header have different column counts:\n%s", b)
	}
	var text bytes.Buffer
	ok.writeText(&text)
	if !strings.Contains(text.String(), "delivered 50 of 50 expected") {
		t.Errorf("text report:\n%s", text.String())
	}
}

// ---- a fake trackd ----

const (
	fakeRSSBase    = 100 << 20
	fakeRSSPerConn = 10000
)

// fakeFanout is trackd's live surface, in memory, shared by any number of
// httptest servers (the nodes): orders, webhooks that fan out to every
// socket of the order's tracking number, whatever node holds it, and
// metrics whose RSS grows by fakeRSSPerConn per socket.
type fakeFanout struct {
	t      *testing.T
	apiKey string
	secret []byte

	mu         sync.Mutex
	byToken    map[string]*fakeOrder
	byTracking map[string]*fakeOrder
	conns      map[string]int // by node (Host)
	socks      map[*fakeSock]bool
	webhooksOn map[string]int // by node
	cursor     int
	messages   int // event messages written
	rejected   int
	firstErr   error
}

type fakeOrder struct {
	token, shipmentID, tracking string
	socks                       []*fakeSock
}

type fakeSock struct {
	mu   sync.Mutex // serializes writes
	conn *websocket.Conn
}

func newFakeFanout(t *testing.T, apiKey string, secret []byte) *fakeFanout {
	return &fakeFanout{t: t, apiKey: apiKey, secret: secret,
		byToken: map[string]*fakeOrder{}, byTracking: map[string]*fakeOrder{},
		conns: map[string]int{}, socks: map[*fakeSock]bool{}, webhooksOn: map[string]int{}}
}

// nodes starts n servers on the fake.
func (f *fakeFanout) nodes(n int) []string {
	var urls []string
	for range n {
		srv := httptest.NewServer(f)
		f.t.Cleanup(srv.Close)
		urls = append(urls, srv.URL)
	}
	f.t.Cleanup(f.closeSockets) // runs before the servers close
	return urls
}

func (f *fakeFanout) closeSockets() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for s := range f.socks {
		s.conn.Close()
	}
}

func (f *fakeFanout) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/api/v1/orders":
		f.order(w, r)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/t/") && strings.HasSuffix(r.URL.Path, "/ws"):
		f.socket(w, r)
	case r.Method == http.MethodPost && r.URL.Path == webhookPath:
		f.webhook(w, r)
	case r.Method == http.MethodGet && r.URL.Path == "/metrics":
		f.metrics(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeFanout) order(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+f.apiKey {
		http.Error(w, `{"error":"bad key"}`, http.StatusUnauthorized)
		return
	}
	var in orderRequest
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || len(in.Shipments) != 1 || in.OrderNumber == "" {
		http.Error(w, `{"error":"bad order"}`, http.StatusBadRequest)
		return
	}
	token := make([]byte, 16)
	rand.Read(token)
	f.mu.Lock()
	o := &fakeOrder{token: hex.EncodeToString(token), shipmentID: fmt.Sprintf("shp_%d", len(f.byToken)),
		tracking: tracking.NormalizeTrackingNumber(in.Shipments[0].TrackingNumber)}
	f.byToken[o.token] = o
	f.byTracking[o.tracking] = o
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(map[string]any{
		"id": "ord_" + o.shipmentID, "order_number": in.OrderNumber, "tracking_url": "http://" + r.Host + "/t/" + o.token,
		"shipments": []map[string]any{{"id": o.shipmentID, "tracking_number": o.tracking, "status": "pending"}},
	})
}

var fakeUpgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

func (f *fakeFanout) socket(w http.ResponseWriter, r *http.Request) {
	token := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/t/"), "/ws")
	f.mu.Lock()
	o := f.byToken[token]
	f.mu.Unlock()
	if o == nil {
		http.NotFound(w, r)
		return
	}
	if origin := r.Header.Get("Origin"); origin != "http://"+r.Host { // as trackd: its public URL only
		http.Error(w, "origin not allowed", http.StatusForbidden)
		return
	}
	conn, err := fakeUpgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	s := &fakeSock{conn: conn}
	// Registered before the snapshot is written, and the snapshot written
	// under the socket's lock: no event falls between them.
	s.mu.Lock()
	f.mu.Lock()
	o.socks = append(o.socks, s)
	f.socks[s] = true
	f.conns[r.Host]++
	f.mu.Unlock()
	snap, _ := json.Marshal(map[string]any{"type": "snapshot", "token": token,
		"shipments": []map[string]any{{"id": o.shipmentID, "tracking_number": o.tracking, "status": "pending", "cursor": "0-0"}}})
	conn.WriteMessage(websocket.TextMessage, snap)
	s.mu.Unlock()

	for {
		if _, _, err := conn.ReadMessage(); err != nil {
			break
		}
	}
	f.mu.Lock()
	o.socks = slices.DeleteFunc(o.socks, func(x *fakeSock) bool { return x == s })
	delete(f.socks, s)
	f.conns[r.Host]--
	f.mu.Unlock()
	conn.Close()
}

func (f *fakeFanout) webhook(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err == nil {
		err = generic.Verifier{Secrets: [][]byte{f.secret}}.Verify(r.Header.Get(generic.SignatureHeader), body, time.Now())
	}
	var u tracking.Update
	if err == nil {
		u, err = generic.Parse(body, time.Now())
	}
	if err != nil {
		f.mu.Lock()
		f.rejected++
		if f.firstErr == nil {
			f.firstErr = fmt.Errorf("body %s: %w", body, err)
		}
		f.mu.Unlock()
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.webhooksOn[r.Host]++
	o := f.byTracking[u.TrackingNumber]
	f.mu.Unlock()
	if o != nil {
		for _, e := range u.Events {
			f.broadcast(o, o.shipmentID, e.ID, e.Status)
		}
	}
	w.WriteHeader(http.StatusAccepted)
	fmt.Fprintf(w, `{"accepted":%d}`, len(u.Events))
}

// broadcast writes an event message to every socket of order o.
func (f *fakeFanout) broadcast(o *fakeOrder, shipmentID, eventID string, st tracking.Status) {
	f.mu.Lock()
	f.cursor++
	msg, _ := json.Marshal(map[string]any{"type": "event", "shipment_id": shipmentID, "tracking_number": o.tracking,
		"cursor": fmt.Sprintf("%d-0", f.cursor), "status": st, "delayed": false, "estimated_delivery": nil,
		"event": map[string]any{"id": eventID, "status": st, "occurred_at": time.Now().UTC()}})
	socks := slices.Clone(o.socks)
	f.messages += len(socks)
	f.mu.Unlock()
	for _, s := range socks {
		s.mu.Lock()
		s.conn.WriteMessage(websocket.TextMessage, msg)
		s.mu.Unlock()
	}
}

func (f *fakeFanout) metrics(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	n, seen := f.conns[r.Host]
	f.mu.Unlock()
	fmt.Fprintf(w, "# TYPE %s gauge\n%s %d\n", rssMetric, rssMetric, fakeRSSBase+fakeRSSPerConn*n)
	fmt.Fprintf(w, "# TYPE %s gauge\n", liveConnsMetric)
	if seen { // as trackd's gauge vector: no series before the first connection
		fmt.Fprintf(w, "%s{transport=\"websocket\"} %d\n", liveConnsMetric, n)
	}
}

// fakeStats is what the fake saw.
type fakeStats struct {
	messages, rejected int
	firstErr           error
	webhooksOn         map[string]int // by node
}

func (f *fakeFanout) stats() fakeStats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return fakeStats{f.messages, f.rejected, f.firstErr, maps.Clone(f.webhooksOn)}
}

const testAPIKey = "loadgen-test-key-0123456789"

func fanoutArgs(nodes []string, extra ...string) []string {
	return append([]string{"-mode", "fanout", "-nodes", strings.Join(nodes, ","), "-secret", "test-secret",
		"-api-key", testAPIKey, "-clients", "50", "-orders", "5", "-rate", "100", "-duration", "1s", "-senders", "8"}, extra...)
}

// checkCleanRun asserts what every successful run against the fake shows.
func checkCleanRun(t *testing.T, f *fakeFanout, rep *fanoutReport, nodes []string) {
	t.Helper()
	st := f.stats()
	messages, webhooksOn := st.messages, st.webhooksOn
	if st.rejected > 0 {
		t.Fatalf("the fake rejected %d webhooks; first: %v", st.rejected, st.firstErr)
	}
	c, e, d := rep.Connect, rep.Events, rep.Delivery
	if c.Connected != 50 || c.Failed != 0 || c.Time.Count != 50 {
		t.Errorf("connect = %+v, want 50 connected", c)
	}
	if e.Sent == 0 || e.Accepted != e.Sent || e.Failed != 0 {
		t.Errorf("events = %+v, want all accepted", e)
	}
	// 50 clients over 5 orders: 10 watch each order.
	if d.Expected != 10*e.Accepted || d.Delivered != d.Expected || d.Duplicates != 0 || d.Misrouted != 0 ||
		d.DroppedClients != 0 || d.Missing != 0 || d.StragglerSeconds == nil {
		t.Errorf("delivery = %+v, want %d delivered once each", d, 10*e.Accepted)
	}
	if int64(messages) != d.Delivered || int64(rep.Latency.Count) != d.Delivered {
		t.Errorf("the fake wrote %d event messages, %d latencies recorded, report says %d delivered",
			messages, rep.Latency.Count, d.Delivered)
	}
	if rep.failed() {
		t.Errorf("run failed: %s", rep.failureReason())
	}
	if len(rep.Servers) != len(nodes) {
		t.Fatalf("servers %+v", rep.Servers)
	}
	for i, s := range rep.Servers {
		if s.Node != nodes[i] || s.Clients != 50/len(nodes) || s.RSSPerConnectionBytes == nil ||
			*s.RSSPerConnectionBytes != fakeRSSPerConn || s.LiveConnectionsAfter == nil || *s.LiveConnectionsAfter != float64(s.Clients) {
			t.Errorf("server %d = %+v, want %d clients at %d bytes each", i, s, 50/len(nodes), fakeRSSPerConn)
		}
		if webhooksOn[strings.TrimPrefix(nodes[i], "http://")] == 0 {
			t.Errorf("no webhook was posted to node %s: %v", nodes[i], webhooksOn)
		}
	}
	if rep.LiveConnectionsAfter == nil || *rep.LiveConnectionsAfter != 50 || rep.LiveConnectionsBefore == nil || *rep.LiveConnectionsBefore != 0 {
		t.Errorf("live connections before %v after %v, want 0 and 50", rep.LiveConnectionsBefore, rep.LiveConnectionsAfter)
	}
}

// ---- end to end ----

func TestFanoutEndToEnd(t *testing.T) {
	f := newFakeFanout(t, testAPIKey, []byte("test-secret"))
	nodes := f.nodes(2)
	out := filepath.Join(t.TempDir(), "runs.md")
	var stdout, stderr bytes.Buffer
	code := realMain(context.Background(), fanoutArgs(nodes, "-procs", "1", "-json", "-out", out),
		func(string) string { return "" }, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr.String())
	}
	var rep fanoutReport
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("JSON report %s: %v", stdout.String(), err)
	}
	checkCleanRun(t, f, &rep, nodes)
	if rep.Procs != 1 || rep.Mode != "fanout" {
		t.Errorf("report %+v", rep)
	}
	if !strings.Contains(stderr.String(), "loadgen fanout: 50 clients over 5 orders") {
		t.Errorf("text report missing from stderr:\n%s", stderr.String())
	}
	if b, err := os.ReadFile(out); err != nil || !strings.Contains(string(b), "| fanout |") {
		t.Errorf("-out file: %s, %v", b, err)
	}
}

func TestFanoutWorkerProcesses(t *testing.T) {
	f := newFakeFanout(t, testAPIKey, []byte("test-secret"))
	nodes := f.nodes(2)
	cfg, err := parseFlags(fanoutArgs(nodes, "-procs", "3"), func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if err := validateFanout(cfg); err != nil {
		t.Fatal(err)
	}
	cfg.WorkerCommand = []string{os.Args[0], fanoutWorkerArg}
	cfg.WorkerEnv = []string{testWorkerEnv + "=1"}
	rep, err := runFanout(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	checkCleanRun(t, f, rep, nodes)
	if rep.Procs != 3 {
		t.Errorf("procs %d", rep.Procs)
	}
}

func TestFanoutWrongOriginFailsToConnect(t *testing.T) {
	f := newFakeFanout(t, testAPIKey, []byte("test-secret"))
	nodes := f.nodes(1)
	var stdout, stderr bytes.Buffer
	code := realMain(context.Background(), fanoutArgs(nodes, "-origin", "http://elsewhere.example", "-duration", "100ms", "-json"),
		func(string) string { return "" }, &stdout, &stderr)
	var rep fanoutReport
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("exit %d, JSON report %s: %v\n%s", code, stdout.String(), err, stderr.String())
	}
	if code != exitFailed || rep.Connect.Failed != 50 || rep.Connect.Errors["handshake: status 403"] != 50 ||
		!strings.Contains(rep.Connect.FirstError, "-origin") {
		t.Errorf("exit %d, connect %+v; want exit 1 and 50 refused handshakes with a hint", code, rep.Connect)
	}
}

// TestFanoutWorkerProtocol drives one worker over pipes as the parent
// does, with messages a real run never makes: a duplicate, an event of
// another order, an event of someone else.
func TestFanoutWorkerProtocol(t *testing.T) {
	f := newFakeFanout(t, testAPIKey, []byte("test-secret"))
	nodes := f.nodes(2)
	cfg := defaultConfig()
	cfg.Nodes, cfg.APIKey, cfg.Carrier, cfg.Orders = nodes, testAPIKey, "ups", 2
	orders, err := registerOrders(context.Background(), cfg, http.DefaultClient, "PROTO")
	if err != nil {
		t.Fatal(err)
	}

	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := runFanoutWorker(inR, outW, io.Discard)
		outW.Close()
		done <- err
	}()
	enc, dec := json.NewEncoder(inW), json.NewDecoder(outR)
	// Worker 1 of 2 of 12 clients holds clients 6..11: orders 1,1,0,0,1,1
	// (order = (c div 2) mod 2), so 2 watch order 0 and 4 order 1.
	spec := workerSpec{Worker: 1, Procs: 2, Run: "PROTO", Clients: 12, Nodes: nodes, Orders: orders,
		ConnectConcurrency: 3, ConnectTimeout: 10 * time.Second, ProgressEvery: time.Millisecond}
	if err := enc.Encode(workerMsg{Type: msgStart, Spec: &spec}); err != nil {
		t.Fatal(err)
	}
	var m workerMsg
	if err := dec.Decode(&m); err != nil || m.Type != msgConnected || m.Result == nil {
		t.Fatalf("first answer %+v, %v; want connected", m, err)
	}
	if r := m.Result; r.Clients != 6 || r.Connected != 6 || fmt.Sprint(r.PerOrder) != "[2 4]" || fmt.Sprint(r.PerNode) != "[3 3]" {
		t.Fatalf("connected %+v", r)
	}

	f.mu.Lock()
	o0, o1 := f.byToken[orders[0].Token], f.byToken[orders[1].Token]
	f.mu.Unlock()
	prefix := eventIDPrefix("PROTO")
	id := func(seq int64) string { return string(appendEventID(nil, prefix, seq, time.Now())) }
	plan := fanoutPlan{nodes: 2, orders: 2}
	var seqs [2][]int64
	for seq := range int64(12) {
		_, o := plan.place(seq)
		seqs[o] = append(seqs[o], seq)
	}
	// First the odd messages, then the real ones: once every real one is
	// counted, everything before it on each socket has been read too.
	f.broadcast(o0, o0.shipmentID, id(seqs[0][0]), tracking.StatusInTransit)
	f.broadcast(o0, o0.shipmentID, id(seqs[0][0]), tracking.StatusInTransit) // 2 duplicates
	f.broadcast(o1, o1.shipmentID, id(seqs[0][1]), tracking.StatusInTransit) // 4 misrouted
	f.broadcast(o1, o1.shipmentID, "carrier-event-1", tracking.StatusInTransit)
	for _, seq := range seqs[0][1:] {
		f.broadcast(o0, o0.shipmentID, id(seq), tracking.StatusInTransit)
	}
	for _, seq := range seqs[1] {
		f.broadcast(o1, o1.shipmentID, id(seq), tracking.StatusInTransit)
	}
	want := int64(2*len(seqs[0]) + 4*len(seqs[1]))
	for m.Delivered < want {
		m = workerMsg{}
		if err := dec.Decode(&m); err != nil || m.Type != msgProgress {
			t.Fatalf("waiting for %d deliveries: %+v, %v", want, m, err)
		}
	}
	if err := enc.Encode(workerMsg{Type: msgStop}); err != nil {
		t.Fatal(err)
	}
	for m.Type != msgResult {
		m = workerMsg{}
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("waiting for the result: %v", err)
		}
	}
	r := m.Result
	if r.Delivered != want || r.Duplicates != 2 || r.Misrouted != 4 || r.Other != 4 || r.Dropped != 0 || r.Latency.N != want {
		t.Errorf("result %+v; want %d delivered, 2 duplicates, 4 misrouted, 4 other, none dropped", r, want)
	}
	if err := <-done; err != nil {
		t.Errorf("worker: %v", err)
	}
	inW.Close()
}

func TestFanoutWorkerRejectsABadStart(t *testing.T) {
	var out bytes.Buffer
	err := runFanoutWorker(strings.NewReader(`{"type":"start","spec":{"worker":2,"procs":2}}`+"\n"), &out, io.Discard)
	var m workerMsg
	if err == nil || json.Unmarshal(out.Bytes(), &m) != nil || m.Type != msgError {
		t.Errorf("err %v, output %q; want an error message", err, out.String())
	}
	if err := runFanoutWorker(strings.NewReader(""), io.Discard, io.Discard); err == nil {
		t.Error("a worker without a start message ran")
	}
}

func TestWebSocketURL(t *testing.T) {
	for base, want := range map[string]string{
		"http://127.0.0.1:8080":     "ws://127.0.0.1:8080/t/tok/ws",
		"https://track.example.com": "wss://track.example.com/t/tok/ws",
		"http://lb.example/trackd":  "ws://lb.example/trackd/t/tok/ws",
	} {
		if got, err := webSocketURL(base, "tok"); err != nil || got != want {
			t.Errorf("webSocketURL(%q) = %q, %v; want %q", base, got, err, want)
		}
	}
}
