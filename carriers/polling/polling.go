// Package polling is the poll scheduler: it asks carriers about the
// shipments their webhooks do not cover, at intervals that follow each
// shipment's state, without two nodes ever asking about the same shipment
// at once and without any carrier being asked faster than it allows.
//
// # Redis layout
//
// Per carrier, under one hash tag so that one script can touch all three:
//
//	poll:{<carrier>}:due     sorted set: tracking number -> due time (unix ms)
//	poll:{<carrier>}:rate    the carrier's shared rate limit (GCRA state)
//	poll:{<carrier>}:fails   hash: tracking number -> consecutive failures
//
// Claiming is one script: it takes as many due numbers as the rate limit
// allows, and moves each one's due time forward by the lease. The lease is
// the claim: other nodes do not see the number until it runs out, and a
// node that dies mid-poll loses nothing, the number is simply due again
// when its lease ends. Completing is another script that writes the next
// due time only if the lease is still the one claimed.
//
// Poll answers are appended to the ingest stream under "<slug>/poll", like
// webhooks: one path into the store, one set of rules. The shipment's
// state hash gets when it was checked and when it will be next.
package polling

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/trackd/trackd/carriers"
	"github.com/trackd/trackd/tracking"
)

//go:embed claim.lua
var claimScript string

//go:embed complete.lua
var completeScript string

// Rate is how fast one carrier may be asked, by all nodes together.
type Rate struct {
	// PerSecond is the sustained rate.
	PerSecond float64
	// Burst is how many requests may go at once after a quiet spell.
	Burst int
}

func (r Rate) interval() float64 { return 1000 / r.PerSecond }

// DefaultRates are the carriers' published limits, with room to spare for
// the retailer's other uses of the same credentials. DHL's default plan is
// 250 calls a day (and one call per five seconds); the others allow far
// more than one store needs.
var DefaultRates = map[string]Rate{
	"ups":       {PerSecond: 5, Burst: 10},
	"fedex":     {PerSecond: 5, Burst: 10},
	"usps":      {PerSecond: 1, Burst: 5},
	"dhl":       {PerSecond: 250.0 / 86400, Burst: 1},
	"aftership": {PerSecond: 5, Burst: 10},
	"easypost":  {PerSecond: 5, Burst: 10},
	"shippo":    {PerSecond: 2, Burst: 5},
}

// Config tunes the scheduler.
type Config struct {
	// Prefix is the Redis key prefix, the store's.
	Prefix string
	// Intervals is how long after a successful poll a shipment in each
	// status is polled again. A status missing here uses DefaultInterval;
	// a terminal status stops polling.
	Intervals map[tracking.Status]time.Duration
	// DefaultInterval is the interval of statuses not in Intervals.
	DefaultInterval time.Duration
	// Lease is how long a claimed poll belongs to its node: longer than
	// any poll can take (the adapters' timeouts are 20-30 s).
	Lease time.Duration
	// Batch is the most numbers one node claims at once per carrier, and
	// how many it polls concurrently.
	Batch int
	// Idle is the longest a carrier's loop sleeps when nothing is due, so
	// that a newly scheduled shipment is polled soon.
	Idle time.Duration
	// BackoffBase and BackoffMax bound the wait after failed polls: it
	// doubles with each consecutive failure.
	BackoffBase, BackoffMax time.Duration
	// ThrottleDefault is how long a carrier rests after a 429 that did not
	// say how long.
	ThrottleDefault time.Duration
	// Rates by carrier slug; a carrier missing here uses DefaultRate.
	Rates       map[string]Rate
	DefaultRate Rate
}

// DefaultConfig returns hours between polls in transit, minutes when out
// for delivery, and polling stopped once a shipment is finished.
func DefaultConfig() Config {
	return Config{
		Intervals: map[tracking.Status]time.Duration{
			tracking.StatusPending:            6 * time.Hour,
			tracking.StatusInfoReceived:       4 * time.Hour,
			tracking.StatusInTransit:          3 * time.Hour,
			tracking.StatusOutForDelivery:     15 * time.Minute,
			tracking.StatusFailedAttempt:      time.Hour,
			tracking.StatusAvailableForPickup: 6 * time.Hour,
			tracking.StatusException:          time.Hour,
			tracking.StatusReturning:          6 * time.Hour,
		},
		DefaultInterval: 3 * time.Hour,
		Lease:           2 * time.Minute,
		Batch:           16,
		Idle:            time.Second,
		BackoffBase:     time.Minute,
		BackoffMax:      6 * time.Hour,
		ThrottleDefault: time.Minute,
		Rates:           DefaultRates,
		DefaultRate:     Rate{PerSecond: 1, Burst: 5},
	}
}

// Ingest is where poll answers go: the store's ingest stream.
type Ingest interface {
	Append(ctx context.Context, src string, body []byte, shardKey string, at time.Time) (string, error)
}

// Scheduler polls the shipments of the carriers it has a Poller for.
type Scheduler struct {
	rdb     redis.UniversalClient
	ingest  Ingest
	sources map[string]carriers.Poller
	cfg     Config
	log     *slog.Logger
	metrics *Metrics
	now     func() time.Time
	jitter  func() float64

	claim, complete, setState *redis.Script
}

// New returns a scheduler over sources, the pollers by carrier slug. Only
// the carriers in sources are scheduled: a shipment of any other carrier
// is left to its webhooks.
func New(rdb redis.UniversalClient, ingest Ingest, sources map[string]carriers.Poller, cfg Config, log *slog.Logger, m *Metrics) *Scheduler {
	return &Scheduler{
		rdb: rdb, ingest: ingest, sources: sources, cfg: cfg, log: log, metrics: m, now: time.Now,
		jitter:   func() float64 { return 0.5 + rand.Float64()/2 },
		claim:    redis.NewScript(claimScript),
		complete: redis.NewScript(completeScript),
		setState: redis.NewScript(setStateScript),
	}
}

// setStateScript writes when a shipment was checked and will be next,
// only into a state hash that exists: a shipment retention removed is
// not brought back as a stub.
const setStateScript = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if ARGV[4] == '' then redis.call('HDEL', KEYS[1], ARGV[3]) else redis.call('HSET', KEYS[1], ARGV[3], ARGV[4]) end
return 1`

// Carriers lists the carriers the scheduler polls.
func (s *Scheduler) Carriers() []string {
	out := make([]string, 0, len(s.sources))
	for c := range s.sources {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// Polls reports whether shipments of carrier are polled.
func (s *Scheduler) Polls(carrier string) bool {
	_, ok := s.sources[tracking.NormalizeCarrier(carrier)]
	return ok
}

func (s *Scheduler) keys(carrier string) []string {
	base := s.cfg.Prefix + "poll:{" + carrier + "}:"
	return []string{base + "due", base + "rate", base + "fails"}
}

func (s *Scheduler) rate(carrier string) Rate {
	if r, ok := s.cfg.Rates[carrier]; ok && r.PerSecond > 0 {
		return r
	}
	return s.cfg.DefaultRate
}

// Schedule makes a shipment due at at, unless it is already scheduled
// (an order stored again must not postpone or hurry its polls). A carrier
// without a poller is not scheduled, and that is not an error.
func (s *Scheduler) Schedule(ctx context.Context, carrier, number string, at time.Time) error {
	carrier, number = tracking.NormalizeCarrier(carrier), tracking.NormalizeTrackingNumber(number)
	if !s.Polls(carrier) || number == "" {
		return nil
	}
	err := s.rdb.ZAddNX(ctx, s.keys(carrier)[0], redis.Z{Score: float64(at.UnixMilli()), Member: number}).Err()
	if err != nil {
		return fmt.Errorf("schedule %s %s: %w", carrier, number, err)
	}
	return nil
}

// Unschedule stops polling a shipment; a poll in flight finishes, and its
// completion finds the shipment gone and leaves it so.
func (s *Scheduler) Unschedule(ctx context.Context, carrier, number string) error {
	carrier, number = tracking.NormalizeCarrier(carrier), tracking.NormalizeTrackingNumber(number)
	if !s.Polls(carrier) {
		return nil
	}
	k := s.keys(carrier)
	pipe := s.rdb.TxPipeline()
	pipe.ZRem(ctx, k[0], number)
	pipe.HDel(ctx, k[2], number)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("unschedule %s %s: %w", carrier, number, err)
	}
	return nil
}

// Run polls until ctx ends: one loop per carrier.
func (s *Scheduler) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, c := range s.Carriers() {
		wg.Go(func() { s.runCarrier(ctx, c) })
	}
	wg.Wait()
}

func (s *Scheduler) runCarrier(ctx context.Context, carrier string) {
	for ctx.Err() == nil {
		n, wait, err := s.RunOnce(ctx, carrier)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			s.log.Warn("poll round failed", "carrier", carrier, "err", err)
			wait = s.cfg.Idle
		}
		if n > 0 {
			continue
		}
		if wait <= 0 || wait > s.cfg.Idle {
			wait = s.cfg.Idle
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// RunOnce claims what is due for carrier and the rate allows, up to
// Batch, polls it concurrently and completes each poll. It returns how many
// were polled and, when none, how long until one could be (0: unknown).
func (s *Scheduler) RunOnce(ctx context.Context, carrier string) (int, time.Duration, error) {
	src, ok := s.sources[carrier]
	if !ok {
		return 0, 0, fmt.Errorf("no poller for carrier %q", carrier)
	}
	now := s.now()
	nowMs := now.UnixMilli()
	r := s.rate(carrier)
	lease := s.cfg.Lease.Milliseconds()
	res, err := s.claim.Run(ctx, s.rdb, s.keys(carrier)[:2], nowMs, lease, s.cfg.Batch, r.interval(), r.Burst).Slice()
	if err != nil {
		return 0, 0, fmt.Errorf("claim %s polls: %w", carrier, err)
	}
	if len(res) == 0 {
		return 0, 0, fmt.Errorf("claim %s polls: empty reply", carrier)
	}
	if len(res) == 1 {
		w, _ := res[0].(int64)
		if w < 0 {
			return 0, 0, nil
		}
		return 0, time.Duration(w) * time.Millisecond, nil
	}
	var wg sync.WaitGroup
	for _, m := range res[1:] {
		number, _ := m.(string)
		wg.Go(func() { s.pollOne(ctx, carrier, src, number, nowMs+lease) })
	}
	wg.Wait()
	return len(res) - 1, 0, nil
}

// pollOne asks the carrier about one number, hands the answer to the
// ingest stream, and completes the lease with the next due time.
func (s *Scheduler) pollOne(ctx context.Context, carrier string, src carriers.Poller, number string, lease int64) {
	start := s.now()
	body, err := src.Poll(ctx, number)
	if err == nil {
		_, err = s.ingest.Append(ctx, carrier+carriers.PollSuffix, body, tracking.ShipmentID(carrier, number), start)
	}
	done := s.now()
	s.metrics.observe(carrier, err, done.Sub(start))

	id := tracking.ShipmentID(carrier, number)
	outcome, next := "ok", int64(0)
	var retryAfter, throttleUntil int64
	if err != nil {
		outcome = "err"
		var re *carriers.RemoteError
		if errors.As(err, &re) {
			if re.RetryAfter > 0 {
				retryAfter = re.RetryAfter.Milliseconds()
			}
			if re.Status == 429 {
				wait := re.RetryAfter
				if wait <= 0 {
					wait = s.cfg.ThrottleDefault
				}
				throttleUntil = done.Add(wait).UnixMilli()
				retryAfter = max(retryAfter, wait.Milliseconds())
			}
		}
		if ctx.Err() == nil {
			s.log.Info("poll failed", "carrier", carrier, "tracking_number", number, "err", err)
		}
	} else {
		status, err := s.status(ctx, src, id, number, body)
		switch {
		case err != nil:
			// The answer is in the ingest stream, where a parse error is
			// dead-lettered with its reason; here, poll again as if in
			// transit.
			next = done.Add(s.cfg.DefaultInterval).UnixMilli()
		case status.Terminal():
			outcome = "stop"
		default:
			iv, ok := s.cfg.Intervals[status]
			if !ok {
				iv = s.cfg.DefaultInterval
			}
			next = done.Add(iv).UnixMilli()
		}
	}
	// The lease is completed even when ctx has ended (shutdown): a
	// finished poll should not be repeated because the node is stopping.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	r := s.rate(carrier)
	got, cerr := s.complete.Run(cctx, s.rdb, s.keys(carrier), number, lease, outcome, next, done.UnixMilli(),
		s.cfg.BackoffBase.Milliseconds(), s.cfg.BackoffMax.Milliseconds(), s.jitter(), retryAfter, throttleUntil,
		r.Burst, r.interval()).Int64()
	if cerr != nil {
		s.log.Warn("complete poll", "carrier", carrier, "tracking_number", number, "err", cerr)
		return
	}
	if got < 0 {
		return // the lease ran out or the shipment was unscheduled
	}
	nextField := ""
	if got > 0 {
		nextField = strconv.FormatInt(got, 10)
	}
	if err := s.setState.Run(cctx, s.rdb, []string{s.stateKey(id)}, tracking.FieldCheckedAt, done.UnixMilli(),
		tracking.FieldCheckNext, nextField).Err(); err != nil {
		s.log.Warn("record poll time", "shipment", id, "err", err)
	}
}

// stateKey is the shipment's state hash, as the store names it.
func (s *Scheduler) stateKey(id string) string { return s.cfg.Prefix + "{" + id + "}" }

// status is the shipment's status once this answer is applied: the
// answer's newest event, or the stored status when the answer has none.
// The answer is parsed here as well as in the processors because the
// next interval depends on it, and the processors apply it later.
func (s *Scheduler) status(ctx context.Context, src carriers.Poller, id, number string, body []byte) (tracking.Status, error) {
	us, err := src.ParsePoll(body)
	if err != nil {
		return "", err
	}
	var newest *tracking.Event
	for _, u := range us {
		if tracking.NormalizeTrackingNumber(u.TrackingNumber) != number {
			continue
		}
		for i := range u.Events {
			e := &u.Events[i]
			if newest == nil || e.SortKey() > newest.SortKey() {
				newest = e
			}
		}
	}
	stored, err := s.rdb.HGet(ctx, s.stateKey(id), "status").Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return "", fmt.Errorf("read status of %s: %w", id, err)
	}
	st := tracking.Status(stored)
	if newest != nil && (st == "" || !st.Terminal()) {
		st = newest.Status
	}
	if st == "" {
		st = tracking.StatusPending
	}
	return st, nil
}

// Metrics counts polls by carrier and result, and times them.
type Metrics struct {
	polls   *prometheus.CounterVec
	latency *prometheus.HistogramVec
}

// NewMetrics registers the scheduler's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		polls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trackd_polls_total",
			Help: "Carrier polls, by carrier and result (ok, error, throttled).",
		}, []string{"carrier", "result"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "trackd_poll_seconds",
			Help:    "Time to poll a carrier and queue the answer.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 12),
		}, []string{"carrier"}),
	}
	reg.MustRegister(m.polls, m.latency)
	return m
}

func (m *Metrics) observe(carrier string, err error, took time.Duration) {
	if m == nil {
		return
	}
	result := "ok"
	var re *carriers.RemoteError
	switch {
	case errors.As(err, &re) && re.Status == 429:
		result = "throttled"
	case err != nil:
		result = "error"
	}
	m.polls.WithLabelValues(carrier, result).Inc()
	m.latency.WithLabelValues(carrier).Observe(took.Seconds())
}
