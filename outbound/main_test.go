package outbound

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/trackd/trackd/tracking"
	"github.com/trackd/trackd/tracking/redistest"
)

var srv *redistest.Server

func TestMain(m *testing.M) { redistest.Main(m, &srv) }

// env is outbound on a real redis-server with a tracking store, driven
// step by step on an injected clock.
type env struct {
	t      *testing.T
	ctx    context.Context
	rdb    *redis.Client
	prefix string
	store  *tracking.Store
	s      *Service
	clock  *atomic.Int64
}

func testConfig(prefix string, shards int) Config {
	cfg := DefaultConfig("test")
	cfg.Prefix, cfg.Shards, cfg.AllowPrivate = prefix, shards, true
	cfg.Timeout, cfg.Lease = 5*time.Second, time.Minute
	return cfg
}

func newEnv(t *testing.T, tune func(*Config)) *env {
	t.Helper()
	rdb := srv.Client(t)
	prefix := redistest.Prefix(t)
	scfg := tracking.DefaultStoreConfig()
	scfg.Prefix = prefix
	store, err := tracking.NewStore(rdb, scfg)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, ctx: context.Background(), rdb: rdb, prefix: prefix, store: store, clock: &atomic.Int64{}}
	e.clock.Store(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC).UnixMilli())
	e.s = e.service(tune)
	if err := e.s.CreateGroups(e.ctx); err != nil {
		t.Fatal(err)
	}
	return e
}

// service returns another node on the same Redis, prefix and clock.
func (e *env) service(tune func(*Config)) *Service {
	e.t.Helper()
	cfg := testConfig(e.prefix, tracking.DefaultStoreConfig().Shards)
	if tune != nil {
		tune(&cfg)
	}
	s, err := New(e.rdb, e.store, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		e.t.Fatal(err)
	}
	s.now = e.now
	return s
}

func (e *env) now() time.Time          { return time.UnixMilli(e.clock.Load()).UTC() }
func (e *env) advance(d time.Duration) { e.clock.Add(d.Milliseconds()) }

// order registers an order; shipments are "number" (outbound) or
// "return:number".
func (e *env) order(number string, shipments ...string) tracking.Order {
	e.t.Helper()
	in := tracking.OrderInput{Number: number}
	for _, n := range shipments {
		dir := tracking.Outbound
		if rest, ok := strings.CutPrefix(n, "return:"); ok {
			n, dir = rest, tracking.Return
		}
		in.Shipments = append(in.Shipments, tracking.ShipmentInput{Carrier: "ups", TrackingNumber: n, Direction: dir})
	}
	o, _, err := e.store.PutOrder(e.ctx, in, e.now())
	if err != nil {
		e.t.Fatal(err)
	}
	return o
}

// scan applies a carrier event and forwards its change to the change
// stream, as a processor does.
func (e *env) scan(number string, st tracking.Status) {
	e.t.Helper()
	at := e.now()
	r, err := e.store.Apply(e.ctx, tracking.Update{Carrier: "ups", TrackingNumber: number, ReceivedAt: at,
		Events: []tracking.Event{{Status: st, Message: string(st), OccurredAt: at, OccurredAtLocal: at}}})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.store.ForwardChanges(e.ctx, r.Outbox); err != nil {
		e.t.Fatal(err)
	}
}

// run reads every change, then makes every delivery due now.
func (e *env) run() { e.t.Helper(); e.runWith(e.s) }

func (e *env) runWith(s *Service) {
	e.t.Helper()
	for shard := range s.cfg.Shards {
		for {
			n, err := s.ReadOnce(e.ctx, shard, ">", -1)
			if err != nil {
				e.t.Fatal(err)
			}
			if n == 0 {
				break
			}
		}
	}
	for shard := range s.cfg.Shards {
		if _, err := s.DeliverOnce(e.ctx, shard); err != nil {
			e.t.Fatal(err)
		}
	}
}

func (e *env) subscribe(url string, events ...EventType) Subscription {
	e.t.Helper()
	names := make([]string, len(events))
	for i, ev := range events {
		names[i] = string(ev)
	}
	sub, err := e.s.Create(e.ctx, url, names)
	if err != nil {
		e.t.Fatal(err)
	}
	return sub
}

func (e *env) sub(id string) Subscription {
	e.t.Helper()
	sub, err := e.s.Get(e.ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return sub
}

func (e *env) deliveries(id string) []Attempt {
	e.t.Helper()
	a, _, err := e.s.Deliveries(e.ctx, id, MaxDeliveries, "")
	if err != nil {
		e.t.Fatal(err)
	}
	return a
}

func results(as []Attempt) string {
	var out []string
	for i := len(as) - 1; i >= 0; i-- { // oldest first
		out = append(out, as[i].Result)
	}
	return strings.Join(out, ",")
}

// receiver is a local webhook endpoint that records what it gets and
// answers status(n) to the n-th request (200 when status is nil).
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []received
	status func(n int) int
	conns  atomic.Int32
}

type received struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T, status func(n int) int) *receiver {
	r := &receiver{status: status}
	r.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		n := len(r.got)
		r.got = append(r.got, received{req.Header.Clone(), body})
		r.mu.Unlock()
		code := http.StatusOK
		if r.status != nil {
			code = r.status(n)
		}
		w.WriteHeader(code)
		fmt.Fprintf(w, "answer %d", code)
	}))
	r.srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			r.conns.Add(1)
		}
	}
	r.srv.Start()
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) URL() string { return r.srv.URL + "/hooks/trackd" }

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

// types are the received events' types, in arrival order.
func (r *receiver) types() []string {
	var out []string
	for _, g := range r.requests() {
		out = append(out, g.header.Get(HeaderEventType))
	}
	return out
}

// events decodes every received body.
func (r *receiver) events(t *testing.T) []Event {
	t.Helper()
	var out []Event
	for _, g := range r.requests() {
		var ev Event
		if err := json.Unmarshal(g.body, &ev); err != nil {
			t.Fatalf("body %q: %v", g.body, err)
		}
		out = append(out, ev)
	}
	return out
}

// verifyTrackdSignature is the README's receiver check, word for word: the
// raw HMAC scheme, without importing trackd.
func verifyTrackdSignature(secret, header string, body []byte, now time.Time) bool {
	var ts string
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	t, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || now.Sub(time.Unix(t, 0)).Abs() > 5*time.Minute {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	want := hex.EncodeToString(mac.Sum(nil))
	for _, sig := range sigs {
		if hmac.Equal([]byte(sig), []byte(want)) {
			return true
		}
	}
	return false
}

// fakeResolver answers from a table; a host's answers are used in turn,
// the last one for good (a name that changes its address: DNS rebinding).
type fakeResolver struct {
	mu    sync.Mutex
	hosts map[string][]string
}

func (f *fakeResolver) LookupIPAddr(_ context.Context, host string) ([]net.IPAddr, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	answers, ok := f.hosts[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	a := answers[0]
	if len(answers) > 1 {
		f.hosts[host] = answers[1:]
	}
	var out []net.IPAddr
	for _, ip := range strings.Split(a, ",") {
		out = append(out, net.IPAddr{IP: net.ParseIP(ip)})
	}
	return out, nil
}
