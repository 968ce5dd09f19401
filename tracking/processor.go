package tracking

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// Decoder turns a raw message from a source into shipment updates. An error
// means the message can never be applied as it is: it goes to the dead
// letters with the error as its reason.
type Decoder interface {
	Decode(src string, body []byte) ([]Update, error)
}

// ProcessorConfig tunes the ingest consumers.
type ProcessorConfig struct {
	// Group is the consumer group on every ingest shard.
	Group string
	// Name identifies this process among consumers; unique per process.
	Name string
	// Batch is how many entries one read takes: larger batches mean fewer
	// round trips per event under load.
	Batch int64
	// Block is how long a read waits for new entries.
	Block time.Duration
	// ClaimIdle is how long an entry may sit with a consumer before another
	// takes it over: longer than any batch can take, so live consumers are
	// not robbed, short enough that a dead one's entries are not forgotten.
	ClaimIdle time.Duration
	// ClaimEvery is how often each shard looks for such entries.
	ClaimEvery time.Duration
	// MaxDeliveries is how often an entry is tried before it is treated as
	// poison and dead-lettered, so one bad entry cannot stall a shard.
	MaxDeliveries int64
	// FinishTimeout bounds finishing the batch in hand at shutdown.
	FinishTimeout time.Duration
	// Watcher, when set, is told which shipments each batch moved (new
	// events, or a recorded change) once their changes are forwarded: the
	// delay watcher re-reads them to keep its schedule, and to clear a
	// delay a new scan ended.
	Watcher ShipmentWatcher
	// Stats, when set, is told each applied entry's lag and each dead
	// letter, for the console's dashboard.
	Stats ProcessorStats
}

// ProcessorStats counts what the processors do, for the console's
// dashboard (timeline.Recorder).
type ProcessorStats interface {
	Lag(lag time.Duration, at time.Time)
	DeadLettered(source string, at time.Time)
}

// ShipmentWatcher is told about shipments whose state just moved.
type ShipmentWatcher interface {
	Watch(ctx context.Context, ids []string) error
}

// DefaultProcessorConfig returns the production defaults.
func DefaultProcessorConfig(name string) ProcessorConfig {
	return ProcessorConfig{
		Group:         "processors",
		Name:          name,
		Batch:         256,
		Block:         time.Second, // also bounds how long shutdown waits for a read
		ClaimIdle:     30 * time.Second,
		ClaimEvery:    5 * time.Second,
		MaxDeliveries: 10,
		FinishTimeout: 5 * time.Second,
	}
}

// ProcessorMetrics are the processor's Prometheus metrics.
type ProcessorMetrics struct {
	events      *prometheus.CounterVec
	lag         prometheus.Histogram
	apply       prometheus.Histogram
	deadLetters *prometheus.CounterVec
}

// NewProcessorMetrics registers the processor's metrics with reg.
func NewProcessorMetrics(reg prometheus.Registerer) *ProcessorMetrics {
	m := &ProcessorMetrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trackd_events_applied_total",
			Help: "Carrier events applied to shipments, by result (new or duplicate).",
		}, []string{"result"}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "trackd_processor_lag_seconds",
			Help:    "Time from a webhook's acceptance to its events being applied.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
		}),
		apply: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "trackd_apply_batch_seconds",
			Help:    "Time to apply one batch of ingest entries (one Redis round trip of scripts).",
			Buckets: prometheus.ExponentialBuckets(0.0002, 2, 14),
		}),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trackd_dead_letters_total",
			Help: "Ingest entries moved to the dead-letter stream, by source.",
		}, []string{"source"}),
	}
	reg.MustRegister(m.events, m.lag, m.apply, m.deadLetters)
	return m
}

// Processor consumes the ingest streams: it decodes each entry, applies it,
// forwards the resulting changes, and only then acknowledges the entry.
type Processor struct {
	store   *Store
	dec     Decoder
	cfg     ProcessorConfig
	log     *slog.Logger
	metrics *ProcessorMetrics
	now     func() time.Time

	// afterApply, when set by a test, runs between applying a batch and
	// acknowledging it; an error abandons the batch as a crash would.
	afterApply func() error
}

// NewProcessor returns a processor; metrics may be nil.
func NewProcessor(store *Store, dec Decoder, cfg ProcessorConfig, log *slog.Logger, metrics *ProcessorMetrics) *Processor {
	if metrics == nil {
		metrics = NewProcessorMetrics(prometheus.NewRegistry())
	}
	return &Processor{store: store, dec: dec, cfg: cfg, log: log, metrics: metrics, now: time.Now}
}

// Run consumes every shard until ctx is done, then finishes the batches in
// hand (within FinishTimeout) and returns. Entries it did not finish stay
// pending and are reclaimed by another processor, or by this one on restart.
func (p *Processor) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make([]error, p.store.cfg.Shards)
	for shard := range p.store.cfg.Shards {
		wg.Go(func() { errs[shard] = p.runShard(ctx, shard) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

var errAbandoned = errors.New("batch abandoned")

func (p *Processor) runShard(ctx context.Context, shard int) error {
	key := p.store.IngestKey(shard)
	consumer := p.cfg.Name + "-" + strconv.Itoa(shard)
	log := p.log.With("stream", key, "consumer", consumer)
	// Start with this consumer's own pending entries (a restart under the
	// same name), then take new ones.
	from := "0"
	var lastClaim time.Time
	failures := 0
	for ctx.Err() == nil {
		var err error
		if p.now().Sub(lastClaim) >= p.cfg.ClaimEvery {
			lastClaim = p.now()
			err = p.claim(ctx, key, consumer)
		}
		if err == nil {
			var n int
			n, err = p.read(ctx, key, consumer, from)
			if from == "0" && n == 0 && err == nil {
				from = ">"
			}
		}
		switch {
		case err == nil:
			failures = 0
		case errors.Is(err, errAbandoned):
			return err
		case ctx.Err() != nil:
		case redis.HasErrorPrefix(err, "NOGROUP"):
			if err := p.ensureGroup(ctx, key); err != nil {
				log.Warn("create consumer group", "err", err)
			}
		default:
			failures++
			log.Warn("ingest read failed; retrying", "err", err, "failures", failures)
			wait(ctx, backoff(failures))
		}
	}
	return nil
}

func backoff(failures int) time.Duration {
	d := 50 * time.Millisecond << min(failures, 5)
	return min(d, time.Second)
}

func wait(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func (p *Processor) ensureGroup(ctx context.Context, key string) error {
	// "0", not "$": entries accepted before any processor existed are processed too.
	err := p.store.rdb.XGroupCreateMkStream(ctx, key, p.cfg.Group, "0").Err()
	if err != nil && !redis.HasErrorPrefix(err, "BUSYGROUP") {
		return fmt.Errorf("create group on %s: %w", key, err)
	}
	return nil
}

func (p *Processor) read(ctx context.Context, key, consumer, from string) (int, error) {
	block := p.cfg.Block
	if from != ">" {
		block = -1 // no BLOCK: pending entries are there or not
	}
	res, err := p.store.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group: p.cfg.Group, Consumer: consumer, Streams: []string{key, from},
		Count: p.cfg.Batch, Block: block,
	}).Result()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", key, err)
	}
	if len(res) == 0 || len(res[0].Messages) == 0 {
		return 0, nil
	}
	return len(res[0].Messages), p.handle(ctx, key, consumer, res[0].Messages, from != ">")
}

// claim takes over entries another consumer left pending for ClaimIdle.
func (p *Processor) claim(ctx context.Context, key, consumer string) error {
	start := "0-0"
	for {
		msgs, next, err := p.store.rdb.XAutoClaim(ctx, &redis.XAutoClaimArgs{
			Stream: key, Group: p.cfg.Group, Consumer: consumer,
			MinIdle: p.cfg.ClaimIdle, Start: start, Count: p.cfg.Batch,
		}).Result()
		if err != nil {
			return fmt.Errorf("claim on %s: %w", key, err)
		}
		if len(msgs) > 0 {
			p.log.Info("reclaimed pending ingest entries", "stream", key, "count", len(msgs))
			if err := p.handle(ctx, key, consumer, msgs, true); err != nil {
				return err
			}
		}
		if next == "0-0" || next == "" || len(msgs) == 0 {
			return nil
		}
		start = next
	}
}

// deliveries returns how often each of msgs has been delivered.
func (p *Processor) deliveries(ctx context.Context, key, consumer string, msgs []redis.XMessage) (map[string]int64, error) {
	// msgs are this consumer's now, in id order: its pending entries in
	// their range are exactly them.
	pend, err := p.store.rdb.XPendingExt(ctx, &redis.XPendingExtArgs{
		Stream: key, Group: p.cfg.Group, Consumer: consumer,
		Start: msgs[0].ID, End: msgs[len(msgs)-1].ID, Count: int64(len(msgs)),
	}).Result()
	if err != nil {
		return nil, fmt.Errorf("pending on %s: %w", key, err)
	}
	out := make(map[string]int64, len(pend))
	for _, e := range pend {
		out[e.ID] = e.RetryCount
	}
	return out, nil
}

// DeadLetter is an ingest entry that could not be applied.
type DeadLetter struct {
	IngestID string
	Source   string
	Body     string
	Reason   string
	// AcceptedAt is when the webhook was accepted.
	AcceptedAt string
}

type entry struct {
	msg     redis.XMessage
	src     string
	at      time.Time
	updates []int // indexes into the batch's updates
	reason  string
}

// handle processes one batch and acknowledges it. It finishes a batch it
// has started even when ctx is cancelled (shutdown), within FinishTimeout.
func (p *Processor) handle(parent context.Context, key, consumer string, msgs []redis.XMessage, redelivered bool) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), p.cfg.FinishTimeout)
	defer cancel()

	var counts map[string]int64
	if redelivered && p.cfg.MaxDeliveries > 0 {
		// Delivery counts cost a round trip, and only matter for entries
		// delivered before: those claimed, or re-read after a restart.
		var err error
		if counts, err = p.deliveries(ctx, key, consumer, msgs); err != nil {
			return err
		}
	}

	entries := make([]entry, 0, len(msgs))
	var updates []Update
	for _, m := range msgs {
		e := entry{msg: m}
		e.src, _ = m.Values["src"].(string)
		body, _ := m.Values["body"].(string)
		atMs, _ := strconv.ParseInt(fmt.Sprint(m.Values["at"]), 10, 64)
		e.at = time.UnixMilli(atMs)
		switch {
		case len(m.Values) == 0:
			// Deleted after delivery: it was acknowledged elsewhere.
		case counts[m.ID] > p.cfg.MaxDeliveries:
			e.reason = fmt.Sprintf("failed %d deliveries", counts[m.ID])
		default:
			us, err := p.decode(e.src, []byte(body))
			if err != nil {
				e.reason = err.Error()
				break
			}
			if err := validateAll(us); err != nil {
				e.reason = fmt.Sprintf("%s adapter produced an invalid update: %v", e.src, err)
				break
			}
			for _, u := range us {
				if u.ReceivedAt.IsZero() {
					u.ReceivedAt = e.at
				}
				e.updates = append(e.updates, len(updates))
				updates = append(updates, u)
			}
		}
		entries = append(entries, e)
	}

	started := p.now()
	results, errs, err := p.store.applyBatch(ctx, updates)
	if err != nil {
		return err
	}
	p.metrics.apply.Observe(p.now().Sub(started).Seconds())
	if p.afterApply != nil {
		if err := p.afterApply(); err != nil {
			return fmt.Errorf("%w: %v", errAbandoned, err)
		}
	}

	var changes []OutboxEntry
	var live, moved []string
	seenLive := map[string]bool{}
	seenChange := map[string]bool{}
	seenMoved := map[string]bool{}
	var dead []DeadLetter
	applied := p.now()
	for i := range entries {
		e := &entries[i]
		for _, ui := range e.updates {
			if errs[ui] != nil {
				e.reason = errs[ui].Error()
				continue
			}
			r := results[ui]
			if r.New > 0 && !seenLive[r.ShipmentID] {
				seenLive[r.ShipmentID] = true
				live = append(live, r.ShipmentID)
			}
			p.metrics.events.WithLabelValues("new").Add(float64(r.New))
			p.metrics.events.WithLabelValues("duplicate").Add(float64(r.Duplicates))
			for _, c := range r.Outbox {
				if !seenChange[c.ID] {
					seenChange[c.ID] = true
					changes = append(changes, c)
				}
			}
			if (r.New > 0 || len(r.Outbox) > 0) && !seenMoved[r.ShipmentID] {
				seenMoved[r.ShipmentID] = true
				moved = append(moved, r.ShipmentID)
			}
		}
		if e.reason != "" {
			body, _ := e.msg.Values["body"].(string)
			dead = append(dead, DeadLetter{IngestID: e.msg.ID, Source: e.src, Body: body, Reason: e.reason,
				AcceptedAt: fmt.Sprint(e.msg.Values["at"])})
			p.metrics.deadLetters.WithLabelValues(e.src).Inc()
			p.log.Warn("dead-lettered ingest entry", "ingest_id", e.msg.ID, "source", e.src, "reason", e.reason)
			if p.cfg.Stats != nil {
				p.cfg.Stats.DeadLettered(e.src, applied)
			}
		} else if len(e.msg.Values) > 0 {
			// A replayed dead letter keeps its first acceptance time: its
			// "lag" is hours and says nothing about the processors.
			if _, replayed := e.msg.Values["replay_of"]; !replayed {
				p.metrics.lag.Observe(applied.Sub(e.at).Seconds())
				if p.cfg.Stats != nil {
					p.cfg.Stats.Lag(applied.Sub(e.at), applied)
				}
			}
		}
	}
	// Indexed with the changes, before the ack: a crash in between
	// redelivers the batch, whose duplicates index again.
	if err := p.store.forward(ctx, changes, live, appliedEntries(results, errs)); err != nil {
		return err
	}
	if p.cfg.Watcher != nil && len(moved) > 0 {
		// Not a reason to retry the batch: redelivered, its events are
		// duplicates and would not be reported again. A stale schedule
		// only makes the watcher look too early, or wait for the next scan.
		if err := p.cfg.Watcher.Watch(ctx, moved); err != nil {
			p.log.Warn("delay watch update failed", "shipments", len(moved), "err", err)
		}
	}
	if err := p.store.AddDeadLetters(ctx, dead); err != nil {
		return err
	}
	return p.store.Ack(ctx, key, p.cfg.Group, msgs)
}

func validateAll(us []Update) error {
	for _, u := range us {
		if err := u.Validate(); err != nil {
			return err
		}
	}
	return nil
}

// decode runs the decoder, turning a panic on hostile input into a reason.
func (p *Processor) decode(src string, body []byte) (us []Update, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("decoder for %q panicked: %v", src, r)
		}
	}()
	return p.dec.Decode(src, body)
}

// AddDeadLetters records entries that could not be applied, with reasons.
func (s *Store) AddDeadLetters(ctx context.Context, dead []DeadLetter) error {
	if len(dead) == 0 {
		return nil
	}
	pipe := s.rdb.Pipeline()
	for _, d := range dead {
		pipe.XAdd(ctx, &redis.XAddArgs{
			Stream: s.DeadLetterKey(s.ShardOf(d.IngestID)),
			MaxLen: s.cfg.DeadLettersMaxLen, Approx: true,
			Values: []any{"ingest_id", d.IngestID, "src", d.Source, "body", d.Body, "reason", d.Reason, "at", d.AcceptedAt},
		})
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("add %d dead letters: %w", len(dead), err)
	}
	return nil
}

// Ack acknowledges ingest entries and deletes them: the ingest stream holds
// only work not yet done, so its length is the backlog.
func (s *Store) Ack(ctx context.Context, key, group string, msgs []redis.XMessage) error {
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i] = m.ID
	}
	pipe := s.rdb.TxPipeline()
	pipe.XAck(ctx, key, group, ids...)
	pipe.XDel(ctx, key, ids...)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("ack %d entries on %s: %w", len(ids), key, err)
	}
	return nil
}
