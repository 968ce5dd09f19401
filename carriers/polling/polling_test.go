package polling

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/trackd/trackd/carriers"
	"github.com/trackd/trackd/tracking"
	"github.com/trackd/trackd/tracking/redistest"
)

var srv *redistest.Server

func TestMain(m *testing.M) { redistest.Main(m, &srv) }

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// clock is a test clock shared by the nodes of a test.
type clock struct{ ms atomic.Int64 }

func newClock() *clock                   { c := &clock{}; c.ms.Store(t0.UnixMilli()); return c }
func (c *clock) now() time.Time          { return time.UnixMilli(c.ms.Load()).UTC() }
func (c *clock) advance(d time.Duration) { c.ms.Add(d.Milliseconds()) }

// poller is a carrier's API: it answers each number with the status in
// statuses (in_transit when absent), or with the error in errs, and records
// every call.
type poller struct {
	clock *clock
	mu    sync.Mutex
	calls []call
	// statuses and errs are read under mu.
	statuses map[string]tracking.Status
	errs     map[string]error
	// block, when set, is waited on before answering, after the call's
	// number is sent on started.
	block   chan struct{}
	started chan string
}

type call struct {
	number string
	at     time.Time
}

func (p *poller) Poll(ctx context.Context, number string) ([]byte, error) {
	p.mu.Lock()
	p.calls = append(p.calls, call{number, p.clock.now()})
	st, ok := p.statuses[number]
	err := p.errs[number]
	block := p.block
	p.mu.Unlock()
	if block != nil {
		p.started <- number
		<-block
	}
	if err != nil {
		return nil, err
	}
	if !ok {
		st = tracking.StatusInTransit
	}
	return json.Marshal(map[string]string{"number": number, "status": string(st), "at": p.clock.now().Format(time.RFC3339Nano)})
}

func (p *poller) ParsePoll(body []byte) ([]tracking.Update, error) {
	var a struct{ Number, Status, At string }
	if err := json.Unmarshal(body, &a); err != nil {
		return nil, err
	}
	at, err := time.Parse(time.RFC3339Nano, a.At)
	if err != nil {
		return nil, err
	}
	return []tracking.Update{{Carrier: "ups", TrackingNumber: a.Number,
		Events: []tracking.Event{{Status: tracking.Status(a.Status), OccurredAt: at, OccurredAtLocal: at}}}}, nil
}

func (p *poller) callsOf(number string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, c := range p.calls {
		if c.number == number {
			n++
		}
	}
	return n
}

// ingest records what reaches the ingest stream.
type ingest struct {
	mu      sync.Mutex
	entries []string
}

func (i *ingest) Append(_ context.Context, src string, body []byte, shardKey string, _ time.Time) (string, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.entries = append(i.entries, src+" "+shardKey)
	return "1-0", nil
}

type node struct {
	*Scheduler
	rdb *redis.Client
}

// newNode is one trackd node's scheduler, with its own Redis connection.
func newNode(t *testing.T, prefix string, c *clock, p *poller, in *ingest, cfg Config) node {
	t.Helper()
	rdb := srv.Client(t)
	cfg.Prefix = prefix
	s := New(rdb, in, map[string]carriers.Poller{"ups": p}, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	s.now = c.now
	s.jitter = func() float64 { return 1 }
	return node{s, rdb}
}

func testConfig() Config {
	cfg := DefaultConfig()
	cfg.Rates = map[string]Rate{"ups": {PerSecond: 200, Burst: 20}}
	return cfg
}

func (n node) due(t *testing.T, number string) (time.Time, bool) {
	t.Helper()
	score, err := n.rdb.ZScore(context.Background(), n.keys("ups")[0], number).Result()
	if errors.Is(err, redis.Nil) {
		return time.Time{}, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return time.UnixMilli(int64(score)).UTC(), true
}

func TestTwoNodesPollEachDueShipmentOnceWithinTheRate(t *testing.T) {
	ctx := context.Background()
	prefix := redistest.Prefix(t)
	c, p, in := newClock(), &poller{}, &ingest{}
	p.clock = c
	cfg := testConfig()
	a, b := newNode(t, prefix, c, p, in, cfg), newNode(t, prefix, c, p, in, cfg)
	const n = 1000
	for i := range n {
		if err := a.Schedule(ctx, "ups", fmt.Sprintf("1ZTEST%05d", i), c.now()); err != nil {
			t.Fatal(err)
		}
	}

	// Both nodes run their rounds at the same instants, 10 ms apart, until
	// everything due has been polled.
	for step := 0; step < 2000; step++ {
		var wg sync.WaitGroup
		for _, nd := range []node{a, b} {
			wg.Go(func() {
				if _, _, err := nd.RunOnce(ctx, "ups"); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if len(p.calls) >= n {
			break
		}
		c.advance(10 * time.Millisecond)
	}

	// Each shipment was polled exactly once.
	seen := map[string]int{}
	for _, cl := range p.calls {
		seen[cl.number]++
	}
	if len(seen) != n {
		t.Fatalf("%d of %d shipments polled", len(seen), n)
	}
	for num, k := range seen {
		if k != 1 {
			t.Errorf("%s polled %d times", num, k)
		}
	}
	if len(in.entries) != n || in.entries[0][:9] != "ups/poll " {
		t.Errorf("%d ingest entries (first %q), want %d from ups/poll", len(in.entries), in.entries[0], n)
	}

	// The shared rate held at every instant: at most the burst plus what
	// the rate allows since the start.
	times := make([]time.Time, len(p.calls))
	for i, cl := range p.calls {
		times[i] = cl.at
	}
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	r := cfg.Rates["ups"]
	for i, at := range times {
		allowed := r.Burst + int(float64(at.Sub(t0).Milliseconds())*r.PerSecond/1000+1e-9)
		if i+1 > allowed {
			t.Fatalf("%d polls by %v, the rate allows %d", i+1, at.Sub(t0), allowed)
		}
	}
	// And it was used: 1000 polls at 200/s after a burst of 20 take ~4.9 s.
	if took := times[n-1].Sub(t0); took > 5*time.Second {
		t.Errorf("1000 polls took %v of test time; the rate allows 4.9 s", took)
	}

	// Nothing is due again until the in-transit interval has passed.
	c.advance(cfg.Intervals[tracking.StatusInTransit] - 10*time.Second)
	if got, _, err := a.RunOnce(ctx, "ups"); err != nil || got != 0 {
		t.Fatalf("before the interval: %d polled, %v", got, err)
	}
	c.advance(20 * time.Second)
	if got, _, err := a.RunOnce(ctx, "ups"); err != nil || got != min(r.Burst, cfg.Batch) {
		t.Fatalf("after the interval: %d polled (want a batch, %d), %v", got, min(r.Burst, cfg.Batch), err)
	}
}

func TestIntervalFollowsStatusAndFinishedShipmentsStop(t *testing.T) {
	ctx := context.Background()
	prefix := redistest.Prefix(t)
	c, in := newClock(), &ingest{}
	p := &poller{clock: c, statuses: map[string]tracking.Status{
		"OFD": tracking.StatusOutForDelivery, "DONE": tracking.StatusDelivered, "TRANSIT": tracking.StatusInTransit,
	}}
	nd := newNode(t, prefix, c, p, in, testConfig())
	for _, num := range []string{"OFD", "DONE", "TRANSIT"} {
		// The shipments exist, as an order's claim makes them.
		nd.rdb.HSet(ctx, nd.stateKey(tracking.ShipmentID("ups", num)), "id", tracking.ShipmentID("ups", num), "status", "pending")
		if err := nd.Schedule(ctx, "ups", num, c.now()); err != nil {
			t.Fatal(err)
		}
	}
	if got, _, err := nd.RunOnce(ctx, "ups"); err != nil || got != 3 {
		t.Fatalf("polled %d, %v", got, err)
	}
	tests := []struct {
		number string
		next   time.Duration // 0: no longer scheduled
	}{
		{"OFD", 15 * time.Minute},
		{"TRANSIT", 3 * time.Hour},
		{"DONE", 0},
	}
	for _, tt := range tests {
		due, ok := nd.due(t, tt.number)
		m := nd.rdb.HGetAll(ctx, nd.stateKey(tracking.ShipmentID("ups", tt.number))).Val()
		if tt.next == 0 {
			if ok || m[tracking.FieldCheckNext] != "" {
				t.Errorf("%s: still scheduled at %v (state says %q)", tt.number, due, m[tracking.FieldCheckNext])
			}
		} else if want := c.now().Add(tt.next); !ok || !due.Equal(want) || m[tracking.FieldCheckNext] != fmt.Sprint(want.UnixMilli()) {
			t.Errorf("%s: due %v (scheduled %v, state %q), want %v", tt.number, due, ok, m[tracking.FieldCheckNext], want)
		}
		if m[tracking.FieldCheckedAt] != fmt.Sprint(c.now().UnixMilli()) {
			t.Errorf("%s: checked_at %q, want now", tt.number, m[tracking.FieldCheckedAt])
		}
	}
	// A number never registered gets no stub state hash.
	if err := nd.Schedule(ctx, "ups", "GHOST", c.now()); err != nil {
		t.Fatal(err)
	}
	nd.RunOnce(ctx, "ups")
	if n := nd.rdb.Exists(ctx, nd.stateKey(tracking.ShipmentID("ups", "GHOST"))).Val(); n != 0 {
		t.Error("polling created a state hash for an unknown shipment")
	}
}

func TestFailuresBackOffAndThrottlingHoldsEveryNode(t *testing.T) {
	ctx := context.Background()
	prefix := redistest.Prefix(t)
	c, in := newClock(), &ingest{}
	p := &poller{clock: c, errs: map[string]error{"BROKEN": &carriers.RemoteError{Status: 503}}}
	cfg := testConfig()
	a, b := newNode(t, prefix, c, p, in, cfg), newNode(t, prefix, c, p, in, cfg)
	a.Schedule(ctx, "ups", "BROKEN", c.now())

	// 503: one minute, then two, then four; success resets.
	for _, want := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute} {
		if got, _, err := a.RunOnce(ctx, "ups"); err != nil || got != 1 {
			t.Fatalf("polled %d, %v", got, err)
		}
		if due, _ := a.due(t, "BROKEN"); !due.Equal(c.now().Add(want)) {
			t.Fatalf("after a failure: due in %v, want %v", due.Sub(c.now()), want)
		}
		c.advance(want)
	}
	p.mu.Lock()
	delete(p.errs, "BROKEN")
	p.errs["LIMITED"] = &carriers.RemoteError{Status: 429, RetryAfter: 30 * time.Second}
	p.mu.Unlock()
	a.RunOnce(ctx, "ups")
	if due, _ := a.due(t, "BROKEN"); !due.Equal(c.now().Add(3 * time.Hour)) {
		t.Fatalf("after success: due in %v, want the in-transit interval", due.Sub(c.now()))
	}

	// 429 with Retry-After: the number waits at least that long, and so do
	// the carrier's other numbers, on every node.
	a.Schedule(ctx, "ups", "LIMITED", c.now())
	if got, _, _ := a.RunOnce(ctx, "ups"); got != 1 {
		t.Fatalf("polled %d", got)
	}
	if due, _ := a.due(t, "LIMITED"); due.Before(c.now().Add(30 * time.Second)) {
		t.Fatalf("after a 429: due in %v, want at least the 30 s asked", due.Sub(c.now()))
	}
	b.Schedule(ctx, "ups", "OTHER", c.now())
	c.advance(20 * time.Second)
	got, wait, err := b.RunOnce(ctx, "ups")
	if err != nil || got != 0 || wait <= 0 {
		t.Fatalf("20 s after a 429 asking for 30: other node polled %d (wait %v, %v); want none", got, wait, err)
	}
	c.advance(wait)
	if got, _, _ := b.RunOnce(ctx, "ups"); got != 1 || p.callsOf("OTHER") != 1 {
		t.Fatalf("once the wait is over: polled %d", got)
	}
}

func TestExpiredLeaseIsClaimedAgainAndTheLateNodeWritesNothing(t *testing.T) {
	ctx := context.Background()
	prefix := redistest.Prefix(t)
	c, in := newClock(), &ingest{}
	slow := &poller{clock: c, block: make(chan struct{}), started: make(chan string, 1)}
	fast := &poller{clock: c, statuses: map[string]tracking.Status{"1Z": tracking.StatusOutForDelivery}}
	cfg := testConfig()
	a, b := newNode(t, prefix, c, slow, in, cfg), newNode(t, prefix, c, fast, in, cfg)
	a.Schedule(ctx, "ups", "1Z", c.now())

	done := make(chan struct{})
	go func() {
		defer close(done)
		a.RunOnce(ctx, "ups")
	}()
	<-slow.started // a's poll is in flight
	if got, _, _ := b.RunOnce(ctx, "ups"); got != 0 {
		t.Fatalf("node b polled %d while a holds the lease", got)
	}
	c.advance(cfg.Lease + time.Second)
	if got, _, _ := b.RunOnce(ctx, "ups"); got != 1 {
		t.Fatalf("node b polled %d after the lease ran out, want 1", got)
	}
	want, _ := b.due(t, "1Z")
	close(slow.block)
	<-done
	if due, _ := a.due(t, "1Z"); !due.Equal(want) || !due.Equal(c.now().Add(15*time.Minute)) {
		t.Errorf("due %v after the late node finished, want b's %v", due, want)
	}
}

func TestScheduleKeepsAnExistingTimeAndUnscheduleWins(t *testing.T) {
	ctx := context.Background()
	prefix := redistest.Prefix(t)
	c, in := newClock(), &ingest{}
	p := &poller{clock: c, block: make(chan struct{}), started: make(chan string, 1)}
	nd := newNode(t, prefix, c, p, in, testConfig())
	nd.Schedule(ctx, "ups", "1Z", c.now().Add(time.Hour))
	nd.Schedule(ctx, "ups", "1z", c.now())
	if due, _ := nd.due(t, "1Z"); !due.Equal(c.now().Add(time.Hour)) {
		t.Fatalf("scheduling again moved the due time to %v", due)
	}
	if err := nd.Schedule(ctx, "fedex", "1Z", c.now()); err != nil {
		t.Fatalf("a carrier without a poller: %v", err)
	}

	c.advance(time.Hour)
	done := make(chan struct{})
	go func() { defer close(done); nd.RunOnce(ctx, "ups") }()
	<-p.started
	if err := nd.Unschedule(ctx, "ups", "1Z"); err != nil {
		t.Fatal(err)
	}
	close(p.block)
	<-done
	if due, ok := nd.due(t, "1Z"); ok {
		t.Errorf("unscheduled during its poll, but due again at %v", due)
	}
}
