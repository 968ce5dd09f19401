package tracking

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/redis/go-redis/v9"
)

// DelayConfig tunes the delay watcher.
type DelayConfig struct {
	// NoScanAfter makes a shipment delayed when no scan came for this long
	// (zero disables that rule). It must be the value the web tier derives
	// "delayed" with, or pages and notifications disagree.
	NoScanAfter time.Duration
	// Interval is how often the schedule is swept: how late after its
	// deadline a shipment is marked delayed, at most.
	Interval time.Duration
	// Batch is how many due shipments one claim takes.
	Batch int
	// Lease is how long a claimed shipment is left to its sweeper before
	// another may take it: longer than a batch can take, since a lease
	// that runs out lets two sweepers handle one shipment (its
	// compare-and-set still records one change).
	Lease time.Duration
}

// DefaultDelayConfig returns the production defaults.
func DefaultDelayConfig() DelayConfig {
	return DelayConfig{
		NoScanAfter: 96 * time.Hour,
		Interval:    10 * time.Second,
		Batch:       256,
		Lease:       time.Minute,
	}
}

// Validate reports a configuration that cannot work.
func (c DelayConfig) Validate() error {
	switch {
	case c.NoScanAfter < 0:
		return fmt.Errorf("no-scan-after %s must not be negative", c.NoScanAfter)
	case c.Interval <= 0:
		return fmt.Errorf("interval %s must be positive", c.Interval)
	case c.Batch < 1:
		return fmt.Errorf("batch %d must be at least 1", c.Batch)
	case c.Lease < time.Millisecond:
		return fmt.Errorf("lease %s must be at least a millisecond", c.Lease)
	}
	return nil
}

// DelayWatcher turns "delayed" into a change like any other: when a
// shipment passes its estimated delivery, or goes NoScanAfter without a
// scan, it sets the shipment's stored delayed flag and records a change
// (which notifies, and pushes to open pages); when a new scan or estimate
// ends the delay, it clears the flag the same way.
//
// Reads never use the flag: Shipment.DeriveDelayed is right at any
// instant. The flag exists so each transition is announced once.
//
// Each shipment that can still become delayed sits in a sorted set (one
// per shard) scored by when it would. The processors keep it current
// (Watch, after every batch); Run sweeps what fell due.
type DelayWatcher struct {
	store *Store
	cfg   DelayConfig
	log   *slog.Logger
	now   func() time.Time

	mark, claim, settle *redis.Script
}

//go:embed delay.lua
var delayLua string

// delayClaimLua takes up to ARGV[3] members due at ARGV[1] and moves them
// to ARGV[2], the end of their lease: a sweeper that dies holding them
// leaves them due again then, and no other sweeper sees them before.
const delayClaimLua = `
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
for _, m in ipairs(due) do redis.call('ZADD', KEYS[1], 'XX', ARGV[2], m) end
return due`

// delaySettleLua writes a sweeper's verdicts, ARGV triples of member,
// lease score and next score (empty to remove), each only while the member
// still has the score of its lease: anything else was written by a
// processor since, from a newer read of the shipment, and must stand.
const delaySettleLua = `
for i = 1, #ARGV, 3 do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score and tonumber(score) == tonumber(ARGV[i + 1]) then
    if ARGV[i + 2] == '' then
      redis.call('ZREM', KEYS[1], ARGV[i])
    else
      redis.call('ZADD', KEYS[1], ARGV[i + 2], ARGV[i])
    end
  end
end
return 1`

// NewDelayWatcher returns a watcher over store's shipments. now is the
// clock (nil: time.Now).
func NewDelayWatcher(store *Store, cfg DelayConfig, log *slog.Logger, now func() time.Time) (*DelayWatcher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("delay watcher config: %w", err)
	}
	if now == nil {
		now = time.Now
	}
	return &DelayWatcher{store: store, cfg: cfg, log: log, now: now,
		mark: redis.NewScript(delayLua), claim: redis.NewScript(delayClaimLua), settle: redis.NewScript(delaySettleLua)}, nil
}

// Run sweeps every Interval until ctx ends. Several nodes may run it at
// once: each due shipment is handled by one of them.
func (w *DelayWatcher) Run(ctx context.Context) {
	t := time.NewTicker(w.cfg.Interval)
	defer t.Stop()
	for {
		if _, err := w.Sweep(ctx, w.now()); err != nil && ctx.Err() == nil {
			w.log.Warn("delay sweep failed; retrying next interval", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Sweep handles every shipment due at now, on every shard, and returns how
// many changes it recorded. Shipments it could not finish stay claimed
// until their lease ends, and are swept again then.
func (w *DelayWatcher) Sweep(ctx context.Context, now time.Time) (int, error) {
	var errs []error
	total := 0
	for shard := range w.store.cfg.Shards {
		n, err := w.sweepShard(ctx, shard, now)
		total += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	return total, errors.Join(errs...)
}

func (w *DelayWatcher) sweepShard(ctx context.Context, shard int, now time.Time) (int, error) {
	key := w.store.DelayWatchKey(shard)
	total := 0
	for {
		ids, lease, err := w.claimDue(ctx, shard, now)
		if err != nil || len(ids) == 0 {
			return total, err
		}
		verdicts, n, err := w.evaluate(ctx, ids, now, false)
		total += n
		if err != nil {
			return total, err
		}
		args := make([]any, 0, 3*len(verdicts))
		for _, v := range verdicts {
			args = append(args, v.id, lease, v.score())
		}
		if err := w.settle.Run(ctx, w.store.rdb, []string{key}, args...).Err(); err != nil {
			return total, fmt.Errorf("reschedule %d shipments on %s: %w", len(verdicts), key, err)
		}
		// Every verdict is later than now, so what was handled is not
		// claimed again in this sweep; a full batch means more may be due.
		if len(ids) < w.cfg.Batch {
			return total, nil
		}
	}
}

// claimDue claims up to Batch shipments of shard due at now and returns
// them with the score their lease ends at.
func (w *DelayWatcher) claimDue(ctx context.Context, shard int, now time.Time) ([]string, int64, error) {
	key := w.store.DelayWatchKey(shard)
	lease := now.Add(w.cfg.Lease).UnixMilli()
	ids, err := w.claim.Run(ctx, w.store.rdb, []string{key}, now.UnixMilli(), lease, w.cfg.Batch).StringSlice()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, 0, fmt.Errorf("claim due shipments on %s: %w", key, err)
	}
	return ids, lease, nil
}

// Watch re-reads shipments that just moved, records the delay changes
// their new state calls for (a new scan ending a delay, most often), and
// reschedules them. The processor calls it after every batch.
func (w *DelayWatcher) Watch(ctx context.Context, ids []string) error {
	if w == nil || len(ids) == 0 {
		return nil
	}
	verdicts, _, err := w.evaluate(ctx, ids, w.now(), true)
	if err != nil {
		return err
	}
	pipe := w.store.rdb.Pipeline()
	for _, v := range verdicts {
		key := w.store.DelayWatchKey(w.store.ShardOf(v.id))
		if v.remove {
			pipe.ZRem(ctx, key, v.id)
		} else {
			pipe.ZAdd(ctx, key, redis.Z{Score: float64(v.at), Member: v.id})
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("reschedule %d shipments: %w", len(verdicts), err)
	}
	return nil
}

// verdict is when a shipment is next looked at: at (unix ms), or never
// (remove) until an update moves it.
type verdict struct {
	id     string
	remove bool
	at     int64
}

func (v verdict) score() any {
	if v.remove {
		return ""
	}
	return v.at
}

// delayRead is one shipment as read for evaluation.
type delayRead struct {
	state, outbox *redis.MapStringStringCmd
}

// evaluate reads shipments, records a change for each whose stored flag
// disagrees with DeriveDelayed at now, forwards those changes (and any an
// earlier crash left in the outboxes), and returns when to look at each
// next, with how many changes it recorded. With guard, each shipment about
// to be marked is first made due again at the end of a lease, so a crash
// before its change is forwarded is retried by a sweep; sweepers hold that
// lease already.
func (w *DelayWatcher) evaluate(ctx context.Context, ids []string, now time.Time, guard bool) ([]verdict, int, error) {
	pipe := w.store.rdb.Pipeline()
	reads := make([]delayRead, len(ids))
	for i, id := range ids {
		keys := w.store.shipmentKeys(id)
		reads[i] = delayRead{state: pipe.HGetAll(ctx, keys[0]), outbox: pipe.HGetAll(ctx, keys[3])}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, 0, fmt.Errorf("read %d shipments for delays: %w", len(ids), err)
	}

	nowMs := now.UnixMilli()
	verdicts := make([]verdict, len(ids))
	var changes []OutboxEntry
	seen := map[string]bool{}
	addChanges := func(entries []OutboxEntry) {
		for _, e := range entries {
			if !seen[e.ID] {
				seen[e.ID] = true
				changes = append(changes, e)
			}
		}
	}
	type pending struct {
		i       int
		delayed bool
		cmd     *redis.Cmd
	}
	var marks []pending
	shipments := make([]*Shipment, len(ids))
	pipe = w.store.rdb.Pipeline()
	for i, id := range ids {
		verdicts[i] = verdict{id: id, remove: true}
		m := reads[i].state.Val()
		addChanges(outboxEntries(id, reads[i].outbox.Val()))
		if len(m) == 0 {
			continue // expired: nothing left to watch
		}
		sh, err := shipmentFromHash(m)
		if err != nil {
			w.log.Warn("delay watch: unreadable shipment dropped from the schedule", "shipment_id", id, "err", err)
			continue
		}
		shipments[i] = sh
		sh.DeriveDelayed(now, w.cfg.NoScanAfter)
		if sh.Delayed == (m["delayed"] == "1") {
			continue
		}
		flag := "0"
		if sh.Delayed {
			flag = "1"
		}
		if guard {
			pipe.ZAdd(ctx, w.store.DelayWatchKey(w.store.ShardOf(id)),
				redis.Z{Score: float64(now.Add(w.cfg.Lease).UnixMilli()), Member: id})
		}
		keys := w.store.shipmentKeys(id)
		// Indexed in the same round trip; should the mark find the
		// shipment moved, that move indexes it at a later time anyway.
		w.store.addIndex(ctx, pipe, []indexEntry{{Shipment: id, Order: m["order_id"], At: nowMs}})
		marks = append(marks, pending{i: i, delayed: sh.Delayed, cmd: w.mark.Eval(ctx, pipe,
			[]string{keys[0], keys[3]}, id, orZero(m["ver"]), orZero(m["event_count"]), flag, nowMs)})
	}
	recorded := 0
	var live []string
	if len(marks) > 0 {
		// Marks are rare (a shipment going late, or back on time), so the
		// script is sent whole rather than by hash with a NOSCRIPT retry.
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) && !isReplyError(err) {
			return nil, 0, fmt.Errorf("mark %d shipments' delays: %w", len(marks), err)
		}
		for _, p := range marks {
			id := ids[p.i]
			res, err := p.cmd.Slice()
			switch {
			case errors.Is(err, redis.Nil):
				// Moved since the read: its update calls Watch with the
				// newer state; look again soon in case that was lost.
				shipments[p.i] = nil
				verdicts[p.i] = verdict{id: id, at: nowMs + 1}
				continue
			case err != nil:
				return nil, recorded, fmt.Errorf("mark delay of shipment %s: %w", id, err)
			case len(res) != 2:
				return nil, recorded, fmt.Errorf("mark delay of shipment %s: unexpected reply %v", id, res)
			}
			recorded++
			live = append(live, id)
			addChanges(outboxPairs(id, asSlice(res[1])))
			w.log.Debug("delay changed", "shipment_id", id, "delayed", p.delayed)
		}
	}
	for i, sh := range shipments {
		if sh == nil || sh.Delayed {
			// Time alone never ends a delay: only an update does, and
			// its batch calls Watch.
			continue
		}
		if dl, ok := delayDeadline(sh, w.cfg.NoScanAfter); ok {
			verdicts[i] = verdict{id: ids[i], at: dl.UnixMilli() + 1}
		}
	}
	if err := w.store.forward(ctx, changes, live, nil); err != nil {
		return nil, recorded, fmt.Errorf("forward delay changes: %w", err)
	}
	return verdicts, recorded, nil
}

// delayDeadline is the instant after which DeriveDelayed finds s delayed,
// and false when time alone cannot make it so: DeriveDelayed's rules,
// solved for now.
func delayDeadline(s *Shipment, noScanAfter time.Duration) (time.Time, bool) {
	if s.Status.Terminal() {
		return time.Time{}, false
	}
	zone := time.UTC
	last := s.CreatedAt
	if s.StatusEvent != nil {
		zone = s.StatusEvent.OccurredAtLocal.Location()
		last = s.StatusEvent.OccurredAt
	}
	var dl time.Time
	ok := false
	if s.EstimatedDelivery != nil {
		dl, ok = etaDeadline(s.EstimatedDelivery.Latest, zone)
	}
	if noScanAfter > 0 && !last.IsZero() {
		if d := last.Add(noScanAfter); !ok || d.Before(dl) {
			dl, ok = d, true
		}
	}
	return dl, ok
}

func orZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}

func outboxEntries(id string, m map[string]string) []OutboxEntry {
	out := make([]OutboxEntry, 0, len(m))
	for v, js := range m {
		out = append(out, OutboxEntry{ID: id + ":" + v, ShipmentID: id, JSON: js, version: v})
	}
	sortOutbox(out)
	return out
}

func outboxPairs(id string, pairs []any) []OutboxEntry {
	out := make([]OutboxEntry, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		v := asString(pairs[i])
		out = append(out, OutboxEntry{ID: id + ":" + v, ShipmentID: id, JSON: asString(pairs[i+1]), version: v})
	}
	sortOutbox(out)
	return out
}

func sortOutbox(o []OutboxEntry) {
	sort.Slice(o, func(i, j int) bool { return asIntString(o[i].version) < asIntString(o[j].version) })
}
