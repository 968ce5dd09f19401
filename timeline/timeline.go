// Package timeline keeps per-minute counts of what the pipeline did, for
// the console's dashboard: webhooks accepted and rejected per carrier, the
// processors' lag, notifications per channel and result, dead letters per
// source. It is the last day at a glance, not a metrics system: Prometheus
// (/metrics) keeps the long history.
//
// # Redis layout
//
// Keys start with Config.Prefix (P). One hash per minute (UTC), each with
// its own hash tag so a Redis Cluster spreads them:
//
//	P stats:{<yyyymmddhhmm>}   hash   name → count
//
// Names are "<kind>|<label>|<result>" (Webhook, Notification, DeadLetter),
// counted with HINCRBY. A duration (Observe; ProcessorLag) is kept as a
// histogram in the same hash: "<name>|b<i>" counts observations in bucket
// i (LagBounds), "<name>|n" and "<name>|sum_us" their number and sum, and
// "<name>|max_us" the largest (set by a small script, as HINCRBY cannot
// keep a maximum). Minutes are summed into coarser buckets when read
// (Aggregate), which is why p50 and p99 come from a histogram and not from
// per-minute quantiles: those cannot be combined.
//
// Every key expires Config.Retention after it was last written.
//
// # Writes
//
// Recording is an in-memory addition under a mutex: nothing on the hot
// paths (a webhook's 202, a processor's batch, a send) waits for Redis.
// Run writes what was recorded every FlushEvery in one pipeline, one
// HINCRBY per name and minute however many events there were. A failed
// write is dropped and logged rather than retried: a retry after an
// answer lost on the way back would count twice, and a dashboard is better
// a little short than wrong.
package timeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Config configures the recorder.
type Config struct {
	// Prefix starts every key; no '{' or '}' (hash tags follow it).
	Prefix string
	// Retention is how long a minute is kept after its last write: the
	// dashboard's day, plus two hours so the oldest of its quarter-hours
	// are whole while a slow flush catches up.
	Retention time.Duration
	// FlushEvery is how often Run writes what was recorded: often enough
	// that the dashboard's current minute fills in as one watches.
	FlushEvery time.Duration
	// MaxPending bounds the names and minutes held between flushes, so a
	// Redis outage or a flood of distinct labels cannot grow memory
	// without bound; beyond it new names are dropped (and logged).
	MaxPending int
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{Prefix: "trackd:", Retention: 26 * time.Hour, FlushEvery: time.Second, MaxPending: 100_000}
}

// Kinds of names.
const (
	KindWebhook      = "webhook"
	KindNotification = "notify"
	KindDeadLetter   = "deadletter"
)

// ProcessorLag is the histogram of the time from a webhook's acceptance to
// its events being applied.
const ProcessorLag = "lag|processor"

// Results of webhooks as Webhook counts them; rejections carry their
// reason (bad_signature, malformed, too_large, rate_limited, unavailable).
const Accepted = "accepted"

// Webhook names the count of carrier's webhooks with result (Accepted or
// the reason it was rejected).
func Webhook(carrier, result string) string { return name(KindWebhook, carrier, result) }

// Notification names the count of notifications on channel with result
// (deliverylog's results: sent, failed, ...).
func Notification(channel, result string) string { return name(KindNotification, channel, result) }

// DeadLetter names the count of ingest entries from source dead-lettered.
func DeadLetter(source string) string { return name(KindDeadLetter, source, "dead") }

func name(kind, label, result string) string {
	return kind + "|" + clean(label) + "|" + clean(result)
}

// clean keeps a label from breaking the name's fields.
func clean(s string) string {
	if s == "" {
		return "unknown"
	}
	if len(s) > 64 {
		s = s[:64]
	}
	return strings.ReplaceAll(s, "|", "_")
}

// LagBounds are the upper bounds of the duration histogram's buckets; an
// observation above the last falls in one more bucket.
var LagBounds = []time.Duration{
	5 * time.Millisecond, 10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond, time.Second,
	2500 * time.Millisecond, 5 * time.Second, 10 * time.Second, 30 * time.Second,
	time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour,
}

func bucketOf(d time.Duration) int {
	return sort.Search(len(LagBounds), func(i int) bool { return d <= LagBounds[i] })
}

// cell is one name in one minute.
type cell struct {
	minute int64 // unix minutes
	field  string
}

// Recorder records counts and durations, and reads them back.
type Recorder struct {
	rdb redis.UniversalClient
	cfg Config
	log *slog.Logger
	now func() time.Time
	max *redis.Script

	mu      sync.Mutex
	counts  map[cell]int64
	maxes   map[cell]int64
	dropped int64
}

// maxLua sets a hash field to ARGV[2] when that is larger than what it
// holds; ARGV[1] is the field, ARGV[3] the key's time to live in seconds.
const maxLua = `
local cur = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '-1')
if tonumber(ARGV[2]) > cur then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1`

// New returns a recorder on rdb; log takes flush failures.
func New(rdb redis.UniversalClient, cfg Config, log *slog.Logger) (*Recorder, error) {
	switch {
	case rdb == nil:
		return nil, errors.New("timeline: a Redis client is required")
	case strings.ContainsAny(cfg.Prefix, "{}"):
		return nil, fmt.Errorf("timeline: prefix %q must not contain '{' or '}'", cfg.Prefix)
	case cfg.Retention < time.Minute:
		return nil, fmt.Errorf("timeline: retention %s is shorter than a minute", cfg.Retention)
	case cfg.FlushEvery <= 0 || cfg.MaxPending < 1:
		return nil, errors.New("timeline: FlushEvery and MaxPending must be positive")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Recorder{rdb: rdb, cfg: cfg, log: log, now: time.Now, max: redis.NewScript(maxLua),
		counts: map[cell]int64{}, maxes: map[cell]int64{}}, nil
}

// Key names the hash of the minute holding t.
func (r *Recorder) Key(t time.Time) string {
	return r.cfg.Prefix + "stats:{" + t.UTC().Format("200601021504") + "}"
}

func minuteOf(t time.Time) int64 { return t.Unix() / 60 }

// Add counts n under name in the minute of at. A nil Recorder records
// nothing, so callers may hold one unconditionally.
func (r *Recorder) Add(name string, n int64, at time.Time) {
	if r == nil || n == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.addLocked(cell{minuteOf(at), name}, n)
}

func (r *Recorder) addLocked(c cell, n int64) {
	if _, ok := r.counts[c]; !ok && len(r.counts)+len(r.maxes) >= r.cfg.MaxPending {
		r.dropped++
		return
	}
	r.counts[c] += n
}

// Observe records the duration d under name in the minute of at: its
// histogram bucket, count, sum and maximum.
func (r *Recorder) Observe(name string, d time.Duration, at time.Time) {
	if r == nil {
		return
	}
	d = max(d, 0)
	m := minuteOf(at)
	us := d.Microseconds()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.addLocked(cell{m, name + "|b" + strconv.Itoa(bucketOf(d))}, 1)
	r.addLocked(cell{m, name + "|n"}, 1)
	r.addLocked(cell{m, name + "|sum_us"}, us)
	c := cell{m, name + "|max_us"}
	if cur, ok := r.maxes[c]; ok {
		r.maxes[c] = max(cur, us)
	} else if len(r.counts)+len(r.maxes) < r.cfg.MaxPending {
		r.maxes[c] = us
	} else {
		r.dropped++
	}
}

// Webhook counts one webhook of carrier with result (Accepted, or the
// reason it was refused), received at at.
func (r *Recorder) Webhook(carrier, result string, at time.Time) {
	r.Add(Webhook(carrier, result), 1, at)
}

// Notification counts one notification attempt on channel with result.
func (r *Recorder) Notification(channel, result string, at time.Time) {
	r.Add(Notification(channel, result), 1, at)
}

// DeadLettered counts one ingest entry of source dead-lettered at at.
func (r *Recorder) DeadLettered(source string, at time.Time) { r.Add(DeadLetter(source), 1, at) }

// Lag records one ingest entry applied at at, lag after it was accepted.
func (r *Recorder) Lag(lag time.Duration, at time.Time) { r.Observe(ProcessorLag, lag, at) }

// Flush writes what was recorded since the last flush, in one pipeline.
// What it could not write is dropped (see the package comment).
func (r *Recorder) Flush(ctx context.Context) error {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	counts, maxes, dropped := r.counts, r.maxes, r.dropped
	if len(counts) == 0 && len(maxes) == 0 && dropped == 0 {
		r.mu.Unlock()
		return nil
	}
	r.counts, r.maxes, r.dropped = make(map[cell]int64, len(counts)), make(map[cell]int64, len(maxes)), 0
	r.mu.Unlock()

	oldest := minuteOf(r.now().Add(-r.cfg.Retention))
	ttl := r.cfg.Retention
	touched := map[int64]bool{}
	pipe := r.rdb.Pipeline()
	for c, n := range counts {
		if c.minute < oldest {
			continue
		}
		pipe.HIncrBy(ctx, r.Key(time.Unix(c.minute*60, 0)), c.field, n)
		touched[c.minute] = true
	}
	for m := range touched {
		pipe.Expire(ctx, r.Key(time.Unix(m*60, 0)), ttl)
	}
	for c, us := range maxes {
		if c.minute < oldest {
			continue
		}
		r.max.Eval(ctx, pipe, []string{r.Key(time.Unix(c.minute*60, 0))}, c.field, us, int64(ttl/time.Second))
	}
	var err error
	if pipe.Len() > 0 {
		_, err = pipe.Exec(ctx)
	}
	if err != nil {
		err = fmt.Errorf("write %d counts: %w", len(counts)+len(maxes), err)
	}
	if dropped > 0 {
		err = errors.Join(err, fmt.Errorf("dropped %d counts: more than %d names pending", dropped, r.cfg.MaxPending))
	}
	return err
}

// Run flushes every FlushEvery until ctx ends, then once more.
func (r *Recorder) Run(ctx context.Context) {
	t := time.NewTicker(r.cfg.FlushEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if err := r.Flush(fctx); err != nil {
				r.log.Warn("dashboard stats not written", "err", err)
			}
			return
		case <-t.C:
			if err := r.Flush(ctx); err != nil && ctx.Err() == nil {
				r.log.Warn("dashboard stats not written", "err", err)
			}
		}
	}
}

// Bucket is what was recorded in one span of time.
type Bucket struct {
	Start time.Time
	// Span is the bucket's length: a minute from Query, the step after
	// Aggregate.
	Span time.Duration
	// Values are the recorded names and their counts; nil when nothing
	// was recorded.
	Values map[string]int64
}

// maxQuery bounds one Query: a day and a bit is what is kept.
const maxQuery = 48 * time.Hour

// Query returns one Bucket per minute from from up to (not including) to,
// oldest first; minutes without records have nil Values.
func (r *Recorder) Query(ctx context.Context, from, to time.Time) ([]Bucket, error) {
	from = from.UTC().Truncate(time.Minute)
	to = to.UTC()
	if !from.Before(to) {
		return nil, nil
	}
	if to.Sub(from) > maxQuery {
		return nil, fmt.Errorf("query %s to %s: longer than %s", from, to, maxQuery)
	}
	var out []Bucket
	pipe := r.rdb.Pipeline()
	var cmds []*redis.MapStringStringCmd
	for t := from; t.Before(to); t = t.Add(time.Minute) {
		out = append(out, Bucket{Start: t, Span: time.Minute})
		cmds = append(cmds, pipe.HGetAll(ctx, r.Key(t)))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("read stats %s to %s: %w", from, to, err)
	}
	for i, cmd := range cmds {
		h := cmd.Val()
		if len(h) == 0 {
			continue
		}
		out[i].Values = make(map[string]int64, len(h))
		for k, v := range h {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				continue // not ours
			}
			out[i].Values[k] = n
		}
	}
	return out, nil
}

// Aggregate sums per-minute buckets into buckets of step aligned to step
// (maxima are combined as maxima), oldest first.
func Aggregate(minutes []Bucket, step time.Duration) []Bucket {
	var out []Bucket
	for _, m := range minutes {
		start := m.Start.Truncate(step)
		if len(out) == 0 || !out[len(out)-1].Start.Equal(start) {
			out = append(out, Bucket{Start: start, Span: step})
		}
		out[len(out)-1].add(m)
	}
	return out
}

// Total sums buckets into one spanning them all (maxima as maxima).
func Total(buckets []Bucket) Bucket {
	if len(buckets) == 0 {
		return Bucket{}
	}
	last := buckets[len(buckets)-1]
	t := Bucket{Start: buckets[0].Start, Span: last.Start.Add(last.Span).Sub(buckets[0].Start)}
	for _, b := range buckets {
		t.add(b)
	}
	return t
}

func (b *Bucket) add(o Bucket) {
	for k, v := range o.Values {
		if b.Values == nil {
			b.Values = map[string]int64{}
		}
		if strings.HasSuffix(k, "|max_us") {
			b.Values[k] = max(b.Values[k], v)
		} else {
			b.Values[k] += v
		}
	}
}

// Count returns the count recorded under name.
func (b Bucket) Count(name string) int64 { return b.Values[name] }

// Results returns the counts of kind and label by result, e.g. a
// carrier's webhooks: {"accepted": 10, "malformed": 1}.
func (b Bucket) Results(kind, label string) map[string]int64 {
	p := kind + "|" + clean(label) + "|"
	out := map[string]int64{}
	for k, v := range b.Values {
		if r, ok := strings.CutPrefix(k, p); ok {
			out[r] += v
		}
	}
	return out
}

// Labels returns the labels of kind that any of buckets holds, sorted:
// the carriers that sent webhooks, the channels notified.
func Labels(buckets []Bucket, kind string) []string {
	seen := map[string]bool{}
	for _, b := range buckets {
		for k := range b.Values {
			rest, ok := strings.CutPrefix(k, kind+"|")
			if !ok {
				continue
			}
			if label, _, ok := strings.Cut(rest, "|"); ok {
				seen[label] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for l := range seen {
		out = append(out, l)
	}
	sort.Strings(out)
	return out
}

// Summary describes the durations observed under one name.
type Summary struct {
	Count int64
	Mean  time.Duration
	// P50 and P99 are estimates: the upper bound of the histogram bucket
	// holding them, never above Max.
	P50, P99 time.Duration
	Max      time.Duration
}

// Summary summarises the durations observed under name.
func (b Bucket) Summary(name string) Summary {
	s := Summary{Count: b.Values[name+"|n"], Max: time.Duration(b.Values[name+"|max_us"]) * time.Microsecond}
	if s.Count == 0 {
		return Summary{}
	}
	s.Mean = time.Duration(b.Values[name+"|sum_us"]/s.Count) * time.Microsecond
	s.P50 = b.quantile(name, s.Count, 0.5, s.Max)
	s.P99 = b.quantile(name, s.Count, 0.99, s.Max)
	return s
}

func (b Bucket) quantile(name string, count int64, q float64, maxSeen time.Duration) time.Duration {
	rank := int64(math.Ceil(q * float64(count)))
	var seen int64
	for i := 0; i <= len(LagBounds); i++ {
		seen += b.Values[name+"|b"+strconv.Itoa(i)]
		if seen >= rank {
			if i == len(LagBounds) || (maxSeen > 0 && LagBounds[i] > maxSeen) {
				return maxSeen
			}
			return LagBounds[i]
		}
	}
	return maxSeen
}
