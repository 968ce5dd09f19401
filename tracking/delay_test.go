package tracking

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// testClock is a clock the test moves by hand.
type testClock struct{ ns atomic.Int64 }

func newTestClock(t testing.TB, at string) *testClock {
	c := &testClock{}
	c.set(mustTime(t, at))
	return c
}

func (c *testClock) now() time.Time   { return time.Unix(0, c.ns.Load()).UTC() }
func (c *testClock) set(at time.Time) { c.ns.Store(at.UnixNano()) }

func testDelayConfig() DelayConfig {
	cfg := DefaultDelayConfig()
	cfg.Interval = 10 * time.Millisecond
	cfg.Batch = 16
	cfg.Lease = time.Minute
	return cfg
}

func newTestWatcher(t *testing.T, s *Store, cfg DelayConfig, clock *testClock) *DelayWatcher {
	t.Helper()
	w, err := NewDelayWatcher(s, cfg, quietLog(), clock.now)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// applyAndWatch does what a processor does with one update: apply it,
// forward its changes, tell the watcher.
func applyAndWatch(t *testing.T, s *Store, w *DelayWatcher, u Update) string {
	t.Helper()
	ctx := context.Background()
	r, err := s.Apply(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ForwardChanges(ctx, r.Outbox); err != nil {
		t.Fatal(err)
	}
	if err := w.Watch(ctx, []string{r.ShipmentID}); err != nil {
		t.Fatal(err)
	}
	return r.ShipmentID
}

// allChanges returns every change on the change streams by shipment, each
// shipment's in order.
func allChanges(t *testing.T, s *Store) map[string][]Change {
	t.Helper()
	out := map[string][]Change{}
	for shard := range s.cfg.Shards {
		msgs, err := s.rdb.XRange(context.Background(), s.ChangesKey(shard), "-", "+").Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			var c Change
			if err := json.Unmarshal([]byte(m.Values["change"].(string)), &c); err != nil {
				t.Fatal(err)
			}
			out[c.ShipmentID] = append(out[c.ShipmentID], c)
		}
	}
	return out
}

func changesOf(t *testing.T, s *Store, id string) []Change { return allChanges(t, s)[id] }

func delayChanges(cs []Change) []Change {
	var out []Change
	for _, c := range cs {
		if c.DelayChanged {
			out = append(out, c)
		}
	}
	return out
}

func delayChangesOf(t *testing.T, s *Store, id string) []Change {
	return delayChanges(changesOf(t, s, id))
}

// scheduled returns when the shipment is next looked at, or false.
func scheduled(t *testing.T, s *Store, id string) (time.Time, bool) {
	t.Helper()
	sc, err := s.rdb.ZScore(context.Background(), s.DelayWatchKey(s.ShardOf(id)), id).Result()
	if errors.Is(err, redis.Nil) {
		return time.Time{}, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return time.UnixMilli(int64(sc)).UTC(), true
}

func sweep(t *testing.T, w *DelayWatcher, at time.Time) int {
	t.Helper()
	n, err := w.Sweep(context.Background(), at)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestDelayWatcher_APassedEstimateMarksDelayedOnce(t *testing.T) {
	// The embedded Redis of `make run` runs the same scripts.
	for _, b := range backends {
		t.Run(b.Name, func(t *testing.T) {
			s := newTestStore(t, b.Client(t))
			clock := newTestClock(t, "2026-11-25T00:00:00Z")
			w := newTestWatcher(t, s, testDelayConfig(), clock)
			id := applyAndWatch(t, s, w, upd("2026-11-26", ev(t, "a", StatusInTransit, "2026-11-24T10:00:00Z")))

			// A date-only estimate ends at midnight after it, in the scan's offset.
			deadline := mustTime(t, "2026-11-27T00:00:00Z")
			if at, ok := scheduled(t, s, id); !ok || !at.Equal(deadline.Add(time.Millisecond)) {
				t.Fatalf("scheduled at %v (%v), want just after %v", at, ok, deadline)
			}
			if n := sweep(t, w, deadline); n != 0 {
				t.Fatalf("at the deadline itself: %d changes, want none", n)
			}
			for _, at := range []string{"2026-11-27T01:00:00Z", "2026-11-27T02:00:00Z", "2026-12-05T00:00:00Z"} {
				sweep(t, w, mustTime(t, at))
			}
			got := delayChangesOf(t, s, id)
			if len(got) != 1 {
				t.Fatalf("delay changes = %+v, want exactly one", got)
			}
			c := got[0]
			if !c.Delayed || c.From != StatusInTransit || c.To != StatusInTransit || c.ETALatest != "2026-11-26" ||
				c.ETAChanged || c.Carrier != "ups" || c.TrackingNumber != "1Z999AA10123456784" || c.Cursor == "" ||
				c.At != fmt.Sprint(mustTime(t, "2026-11-27T01:00:00Z").UnixMilli()) || c.ID != id+":2" {
				t.Errorf("delay change = %+v, want in_transit delayed, with the shipment's estimate and cursor", c)
			}
			if _, ok := scheduled(t, s, id); ok {
				t.Error("a delayed shipment is still scheduled: only an update can end its delay")
			}
			all := changesOf(t, s, id)
			if all[0].Delayed || all[0].DelayChanged {
				t.Errorf("the apply's change = %+v, want not delayed, delay unchanged", all[0])
			}

			// Later changes carry the flag, without claiming to move it.
			clock.set(mustTime(t, "2026-11-27T09:00:00Z"))
			applyAndWatch(t, s, w, upd("", ev(t, "b", StatusOutForDelivery, "2026-11-27T08:00:00Z")))
			all = changesOf(t, s, id)
			if last := all[len(all)-1]; last.To != StatusOutForDelivery || !last.Delayed || last.DelayChanged {
				t.Errorf("change after the delay = %+v, want out_for_delivery, still delayed", last)
			}
			if got := delayChangesOf(t, s, id); len(got) != 1 {
				t.Errorf("delay changes after a scan that does not end the delay = %+v, want still one", got)
			}
		})
	}
}

func TestDelayWatcher_NoScanMarksDelayedAndANewScanClearsIt(t *testing.T) {
	s := newTestStore(t, realRedis.Client(t))
	clock := newTestClock(t, "2026-11-24T11:00:00Z")
	cfg := testDelayConfig()
	cfg.NoScanAfter = 96 * time.Hour
	w := newTestWatcher(t, s, cfg, clock)

	pcfg := testProcessorConfig("delay")
	pcfg.Watcher = w
	p := NewProcessor(s, jsonDecoder{}, pcfg, quietLog(), nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	post := func(u Update) {
		body, _ := json.Marshal(u)
		if _, err := s.Append(context.Background(), "test", body, u.TrackingNumber, clock.now()); err != nil {
			t.Fatal(err)
		}
	}

	scan := mustTime(t, "2026-11-24T10:00:00Z")
	post(upd("", ev(t, "a", StatusInTransit, "2026-11-24T10:00:00Z")))
	id := ShipmentID("ups", "1Z999AA10123456784")
	deadline := scan.Add(96 * time.Hour)
	waitFor(t, "the processor to schedule the shipment", func() (bool, error) {
		at, ok := scheduled(t, s, id)
		return ok && at.Equal(deadline.Add(time.Millisecond)), nil
	})
	if n := sweep(t, w, deadline); n != 0 {
		t.Fatalf("96h after the scan: %d changes, want none yet", n)
	}
	if n := sweep(t, w, deadline.Add(time.Millisecond)); n != 1 {
		t.Fatalf("just past 96h without a scan: %d changes, want 1", n)
	}
	sweep(t, w, deadline.Add(time.Hour))
	if got := delayChangesOf(t, s, id); len(got) != 1 || !got[0].Delayed {
		t.Fatalf("delay changes = %+v, want one, delayed", got)
	}

	// A new scan ends the delay at once, without waiting for a sweep.
	clock.set(deadline.Add(2 * time.Hour))
	post(upd("", ev(t, "b", StatusInTransit, "2026-11-28T11:00:00Z")))
	waitFor(t, "the new scan to clear the delay", func() (bool, error) {
		return len(delayChangesOf(t, s, id)) == 2, nil
	})
	c := delayChangesOf(t, s, id)[1]
	if c.Delayed || c.To != StatusInTransit || c.Cursor == "" {
		t.Errorf("clearing change = %+v, want in_transit, not delayed", c)
	}
	next := mustTime(t, "2026-11-28T11:00:00Z").Add(96 * time.Hour).Add(time.Millisecond)
	if at, ok := scheduled(t, s, id); !ok || !at.Equal(next) {
		t.Errorf("after the new scan scheduled at %v (%v), want %v", at, ok, next)
	}
	if n := sweep(t, w, deadline.Add(3*time.Hour)); n != 0 {
		t.Errorf("a sweep after the clear recorded %d changes, want none", n)
	}
}

func TestDelayWatcher_AFinishedShipmentIsNeverDelayed(t *testing.T) {
	s := newTestStore(t, realRedis.Client(t))
	clock := newTestClock(t, "2026-11-25T00:00:00Z")
	w := newTestWatcher(t, s, testDelayConfig(), clock)
	id := applyAndWatch(t, s, w, upd("2026-11-20", ev(t, "a", StatusDelivered, "2026-11-24T10:00:00Z")))
	if at, ok := scheduled(t, s, id); ok {
		t.Errorf("a delivered shipment is scheduled at %v", at)
	}
	// Left in the schedule from before it was delivered.
	ctx := context.Background()
	if err := s.rdb.ZAdd(ctx, s.DelayWatchKey(s.ShardOf(id)), redis.Z{Score: 1, Member: id}).Err(); err != nil {
		t.Fatal(err)
	}
	if n := sweep(t, w, mustTime(t, "2027-01-01T00:00:00Z")); n != 0 {
		t.Errorf("sweeping a delivered shipment recorded %d changes", n)
	}
	if _, ok := scheduled(t, s, id); ok {
		t.Error("a delivered shipment stayed in the schedule after a sweep")
	}
	if got := delayChangesOf(t, s, id); len(got) != 0 {
		t.Errorf("delay changes = %+v, want none", got)
	}
}

func TestDelayWatcher_ConcurrentSweepersMarkEachShipmentOnce(t *testing.T) {
	c := realRedis.Client(t)
	s := newTestStore(t, c)
	clock := newTestClock(t, "2026-11-25T00:00:00Z")
	cfg := testDelayConfig()
	cfg.Batch = 7 // many claims, interleaved
	w := newTestWatcher(t, s, cfg, clock)
	ctx := context.Background()
	var us []Update
	for i := range 200 {
		u := upd("2026-11-26", ev(t, "a", StatusInTransit, "2026-11-24T10:00:00Z"))
		u.TrackingNumber = fmt.Sprintf("1ZCONC%04d", i)
		us = append(us, u)
	}
	res, errs, err := s.ApplyBatch(ctx, us)
	if err = errors.Join(append(errs, err)...); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range res {
		ids = append(ids, r.ShipmentID)
	}
	if err := w.Watch(ctx, ids); err != nil {
		t.Fatal(err)
	}

	// Two nodes: their own stores and clients on the same keys.
	var watchers []*DelayWatcher
	for range 2 {
		other, err := NewStore(realRedis.Client(t), s.cfg)
		if err != nil {
			t.Fatal(err)
		}
		watchers = append(watchers, newTestWatcher(t, other, cfg, clock))
	}
	at := mustTime(t, "2026-11-28T00:00:00Z")
	var recorded atomic.Int64
	var wg sync.WaitGroup
	for _, sw := range watchers {
		for range 2 {
			wg.Go(func() {
				n, err := sw.Sweep(ctx, at)
				if err != nil {
					t.Error(err)
				}
				recorded.Add(int64(n))
			})
		}
	}
	wg.Wait()
	if n := recorded.Load(); n != 200 {
		t.Errorf("sweepers recorded %d changes, want 200", n)
	}
	all := allChanges(t, s)
	for _, id := range ids {
		if got := delayChanges(all[id]); len(got) != 1 || !got[0].Delayed {
			t.Fatalf("%s: delay changes = %+v, want exactly one", id, got)
		}
	}
}

func TestDelayWatcher_ACrashedSweepIsRetriedAfterItsLease(t *testing.T) {
	// The embedded Redis of `make run` runs the same scripts.
	for _, b := range backends {
		t.Run(b.Name, func(t *testing.T) {
			s := newTestStore(t, b.Client(t))
			clock := newTestClock(t, "2026-11-25T00:00:00Z")
			cfg := testDelayConfig()
			cfg.Lease = 30 * time.Second
			w := newTestWatcher(t, s, cfg, clock)
			ctx := context.Background()
			id := applyAndWatch(t, s, w, upd("2026-11-26", ev(t, "a", StatusInTransit, "2026-11-24T10:00:00Z")))
			u := upd("2026-11-26", ev(t, "a", StatusInTransit, "2026-11-24T10:00:00Z"))
			u.TrackingNumber = "1ZMARKED"
			marked := applyAndWatch(t, s, w, u)

			now := mustTime(t, "2026-11-28T00:00:00Z")
			// A sweeper claims both and dies: before doing anything for one, after
			// marking the other but before forwarding its change.
			var claimed []string
			for shard := range s.cfg.Shards {
				ids, _, err := w.claimDue(ctx, shard, now)
				if err != nil {
					t.Fatal(err)
				}
				claimed = append(claimed, ids...)
			}
			if len(claimed) != 2 {
				t.Fatalf("claimed %v, want both shipments", claimed)
			}
			keys := s.shipmentKeys(marked)
			if err := w.mark.Run(ctx, s.rdb, []string{keys[0], keys[3]}, marked, 1, 1, "1", now.UnixMilli()).Err(); err != nil {
				t.Fatal(err)
			}

			if n := sweep(t, w, now); n != 0 {
				t.Fatalf("a sweep during the lease recorded %d changes", n)
			}
			if n := sweep(t, w, now.Add(cfg.Lease-time.Millisecond)); n != 0 {
				t.Fatalf("a sweep just before the lease ends recorded %d changes", n)
			}
			if got := delayChangesOf(t, s, marked); len(got) != 0 {
				t.Fatalf("the crashed sweeper's change was forwarded during its lease: %+v", got)
			}
			if n := sweep(t, w, now.Add(cfg.Lease)); n != 1 {
				t.Fatalf("the sweep after the lease recorded %d changes, want 1 (the other was recorded before the crash)", n)
			}
			for _, sid := range []string{id, marked} {
				if got := delayChangesOf(t, s, sid); len(got) != 1 || !got[0].Delayed {
					t.Errorf("%s: delay changes = %+v, want exactly one", sid, got)
				}
				if n, err := s.rdb.HLen(ctx, s.shipmentKeys(sid)[3]).Result(); err != nil || n != 0 {
					t.Errorf("%s: %d changes left in the outbox (%v)", sid, n, err)
				}
			}
		})
	}
}

func TestDelayWatcher_ASweepDoesNotUndoANewerSchedule(t *testing.T) {
	s := newTestStore(t, realRedis.Client(t))
	clock := newTestClock(t, "2026-11-25T00:00:00Z")
	cfg := testDelayConfig()
	w := newTestWatcher(t, s, cfg, clock)
	ctx := context.Background()
	id := applyAndWatch(t, s, w, upd("", ev(t, "a", StatusInTransit, "2026-11-24T10:00:00Z")))
	now := mustTime(t, "2026-11-29T00:00:00Z") // past 96h without a scan
	sweep(t, w, now)

	// A sweeper reads the delayed, flagged shipment and decides to drop it...
	if err := s.rdb.ZAdd(ctx, s.DelayWatchKey(s.ShardOf(id)), redis.Z{Score: float64(now.UnixMilli()), Member: id}).Err(); err != nil {
		t.Fatal(err)
	}
	ids, lease, err := w.claimDue(ctx, s.ShardOf(id), now)
	if err != nil || len(ids) != 1 {
		t.Fatalf("claimed %v (%v)", ids, err)
	}
	verdicts, _, err := w.evaluate(ctx, ids, now, false)
	if err != nil || len(verdicts) != 1 || !verdicts[0].remove {
		t.Fatalf("verdicts = %+v (%v), want the shipment dropped", verdicts, err)
	}
	// ...while a new scan ends the delay and reschedules it.
	clock.set(now.Add(time.Hour))
	applyAndWatch(t, s, w, upd("", ev(t, "b", StatusInTransit, "2026-11-29T00:30:00Z")))
	want := mustTime(t, "2026-11-29T00:30:00Z").Add(cfg.NoScanAfter + time.Millisecond)
	if err := w.settle.Run(ctx, s.rdb, []string{s.DelayWatchKey(s.ShardOf(id))}, id, lease, "").Err(); err != nil {
		t.Fatal(err)
	}
	if at, ok := scheduled(t, s, id); !ok || !at.Equal(want) {
		t.Errorf("after the stale sweeper settled: scheduled at %v (%v), want %v", at, ok, want)
	}
	if got := delayChangesOf(t, s, id); len(got) != 2 || got[1].Delayed {
		t.Errorf("delay changes = %+v, want delayed then cleared", got)
	}
}

func TestDelayDeadline_IsWhereDeriveDelayedTurns(t *testing.T) {
	ny := time.FixedZone("", -5*3600)
	scan := time.Date(2026, 11, 25, 9, 0, 0, 0, ny)
	for _, tt := range []struct {
		name, eta string
		noScan    time.Duration
	}{
		{"date estimate before the no-scan limit", "2026-11-26", 96 * time.Hour},
		{"no-scan limit before the estimate", "2026-12-20", 96 * time.Hour},
		{"instant estimate", "2026-11-25T20:00:00.250Z", 96 * time.Hour},
		{"no estimate", "", 96 * time.Hour},
		{"estimate only", "2026-11-26", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sh := Shipment{Status: StatusInTransit, StatusEvent: &Event{OccurredAt: scan.UTC(), OccurredAtLocal: scan}}
			if tt.eta != "" {
				sh.EstimatedDelivery = &ETA{First: tt.eta, Latest: tt.eta}
			}
			dl, ok := delayDeadline(&sh, tt.noScan)
			if !ok {
				t.Fatal("no deadline")
			}
			sh.DeriveDelayed(dl, tt.noScan)
			if sh.Delayed {
				t.Errorf("delayed at the deadline %v", dl)
			}
			sh.DeriveDelayed(dl.Add(time.Nanosecond), tt.noScan)
			if !sh.Delayed {
				t.Errorf("not delayed just after the deadline %v", dl)
			}
		})
	}
	done := Shipment{Status: StatusReturned, EstimatedDelivery: &ETA{Latest: "2026-11-26"}}
	if _, ok := delayDeadline(&done, time.Hour); ok {
		t.Error("a returned shipment has a deadline")
	}
	none := Shipment{Status: StatusInTransit}
	if _, ok := delayDeadline(&none, 0); ok {
		t.Error("a shipment with neither an estimate nor a no-scan rule has a deadline")
	}
}

func TestDelayConfig_Validate(t *testing.T) {
	if err := DefaultDelayConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []func(*DelayConfig){
		func(c *DelayConfig) { c.Interval = 0 },
		func(c *DelayConfig) { c.Batch = 0 },
		func(c *DelayConfig) { c.Lease = 0 },
		func(c *DelayConfig) { c.NoScanAfter = -time.Hour },
	} {
		cfg := DefaultDelayConfig()
		bad(&cfg)
		if _, err := NewDelayWatcher(nil, cfg, quietLog(), nil); err == nil {
			t.Errorf("config %+v accepted", cfg)
		}
	}
}
