// Package notifier is the notification engine: it reads the change
// stream in a consumer group, turns changes into triggers, queues a job per
// (shipment or order, channel) so that bursts collapse, and sends each job
// once, at a decent hour, never against an opt-out.
//
// # Redis layout (under the store's prefix)
//
//	notify:due:{n}      sorted set: "<subject>|<channel>" -> due time (ms); a claimed job's lease end
//	notify:jobs:{n}     hash: "<subject>|<channel>" -> the job waiting (JSON)
//
// (With no collapse window the member is "<subject>|<channel>|<trigger>".)
//
//	notify:sent:{<subject>}  hash: "<trigger>|<channel>" -> sending:<ms> | sent:<provider id> | failed
//
// The subject is a shipment id, or an order id for order-level triggers;
// n is the subject's shard. The sent hash is the idempotency record: a
// job claims its (subject, trigger, channel) with HSETNX before sending,
// so a change delivered twice, a duplicate carrier event or a notifier
// killed between sending and acknowledging never sends twice. A job
// killed between claim and send is not sent at all, and is logged as
// unknown by the next node that finds it.
package notifier

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/trackd/trackd/jobqueue"
	"github.com/trackd/trackd/notify"
	"github.com/trackd/trackd/tracking"
)

//go:embed enqueue.lua
var enqueueScript string

//go:embed complete.lua
var completeScript string

// Job is one notification waiting to go out.
type Job struct {
	Subject    string         `json:"subject"`
	OrderID    string         `json:"order_id"`
	ShipmentID string         `json:"shipment_id,omitempty"`
	Trigger    notify.Trigger `json:"trigger"`
	Channel    notify.Channel `json:"channel"`
	// ChangeID is the change that caused it, for the log.
	ChangeID string `json:"change_id"`
	// ETA is the estimate an arriving_soon job was scheduled for; the job
	// is dropped if the estimate moved.
	ETA      string    `json:"eta,omitempty"`
	Attempt  int       `json:"attempt,omitempty"`
	QueuedAt time.Time `json:"queued_at"`
	// Held marks an SMS already held once for quiet hours.
	Held bool `json:"held,omitempty"`
}

// member names the job's place in the queue: one per subject and channel,
// so that a newer job replaces a waiting one (the burst collapses), or
// with no collapse window one per trigger too, so that every change goes.
func (j Job) member(collapse bool) string {
	if !collapse && j.Trigger != notify.ArrivingSoon {
		return j.Subject + "|" + string(j.Channel) + "|" + string(j.Trigger)
	}
	return j.Subject + "|" + string(j.Channel)
}

// Outgoing is a rendered message ready for its channel.
type Outgoing struct {
	Channel         notify.Channel
	To              string
	Subject         string
	HTML, Text      string
	Body            string
	UnsubscribeURL  string
	Locale          string
	TemplateVersion int
	// ID names the notification for the provider's headers and the log.
	ID string
}

// Composer renders a job for its recipient: the template of the trigger,
// channel and shopper's locale, with the order's and shipment's data.
type Composer interface {
	Compose(ctx context.Context, job Job, o tracking.Order, sh *tracking.Shipment, to string) (Outgoing, error)
}

// Sender delivers messages of one channel.
type Sender interface {
	Send(ctx context.Context, m Outgoing) (providerID string, err error)
	// Permanent reports whether an error will recur on retry.
	Permanent(err error) bool
}

// OptOuts says whether a recipient asked not to be contacted.
type OptOuts interface {
	OptedOut(ctx context.Context, ch notify.Channel, recipient string) (bool, error)
}

// Attempt is what the delivery log keeps of each try.
type Attempt struct {
	At              time.Time
	OrderID         string
	OrderNumber     string
	ShipmentID      string
	Trigger         notify.Trigger
	Channel         notify.Channel
	Recipient       string
	Locale          string
	TemplateVersion int
	// Result: sent, failed, held, collapsed, skipped_optout, unknown.
	Result     string
	ProviderID string
	Error      string
	Attempt    int
}

// DeliveryLog records attempts.
type DeliveryLog interface {
	Record(ctx context.Context, a Attempt) error
}

// Store is what the notifier reads of orders and shipments.
type Store interface {
	Order(ctx context.Context, id string) (tracking.Order, error)
	Shipment(ctx context.Context, id string, withEvents bool) (*tracking.Shipment, error)
	ChangesKey(n int) string
	ShardOf(key string) int
}

// Config tunes the notifier.
type Config struct {
	Prefix   string
	Shards   int
	Group    string
	Consumer string
	// Collapse is the burst window: the jobs of one subject and channel
	// within it send only the latest. Zero sends every change at once.
	Collapse time.Duration
	// QuietStart and QuietEnd bound the SMS quiet hours in the shopper's
	// zone, as offsets from midnight; equal means none.
	QuietStart, QuietEnd time.Duration
	// Zone is the shoppers' zone when the order names none.
	Zone *time.Location
	// ArrivingSoonAt is the time of day, in the shopper's zone, of the day
	// before the estimated delivery, when arriving_soon goes out.
	ArrivingSoonAt time.Duration
	Lease          time.Duration
	Batch          int
	// Concurrency is how many messages one node sends at once.
	Concurrency             int
	BackoffBase, BackoffMax time.Duration
	// MaxAttempts bounds the tries of a job that keeps failing transiently.
	MaxAttempts int
	// Idle is the longest the sender sleeps with nothing due.
	Idle time.Duration
	// SentRetention is how long the idempotency record of a sent message
	// is kept.
	SentRetention time.Duration
	// Timing, when set, gives the collapse window and quiet hours at each
	// use, over Collapse and QuietStart/QuietEnd: the console changes them.
	Timing interface {
		Collapse(ctx context.Context) time.Duration
		QuietHours(ctx context.Context) (start, end time.Duration)
	}
}

// DefaultConfig: a five-minute collapse window, SMS quiet from 21:00 to
// 08:00, retries from 30 s doubling to an hour for a day's worth of tries.
func DefaultConfig(consumer string) Config {
	return Config{
		Shards: 4, Group: "notify", Consumer: consumer,
		Collapse:   5 * time.Minute,
		QuietStart: 21 * time.Hour, QuietEnd: 8 * time.Hour,
		Zone:           time.UTC,
		ArrivingSoonAt: 10 * time.Hour,
		Lease:          2 * time.Minute, Batch: 64, Concurrency: 32,
		BackoffBase: 30 * time.Second, BackoffMax: time.Hour, MaxAttempts: 30,
		Idle:          time.Second,
		SentRetention: 180 * 24 * time.Hour,
	}
}

// Notifier is the engine.
type Notifier struct {
	rdb     redis.UniversalClient
	store   Store
	rules   *notify.RuleStore
	compose Composer
	senders map[notify.Channel]Sender
	optouts OptOuts
	dlog    DeliveryLog
	cfg     Config
	log     *slog.Logger
	now     func() time.Time

	enqueue, complete *redis.Script
	// afterSend is a test hook: it runs after a message was sent and
	// before it is recorded as sent.
	afterSend func(Job)
}

// New returns a notifier. Senders without an entry for a channel leave its
// jobs failing as "no sender configured".
func New(rdb redis.UniversalClient, store Store, rules *notify.RuleStore, compose Composer,
	senders map[notify.Channel]Sender, optouts OptOuts, dlog DeliveryLog, cfg Config, log *slog.Logger) *Notifier {
	return &Notifier{
		rdb: rdb, store: store, rules: rules, compose: compose, senders: senders, optouts: optouts, dlog: dlog,
		cfg: cfg, log: log, now: time.Now,
		enqueue:  redis.NewScript(enqueueScript),
		complete: redis.NewScript(completeScript),
	}
}

func (n *Notifier) dueKey(shard int) string {
	return n.cfg.Prefix + "notify:due:{" + strconv.Itoa(shard) + "}"
}
func (n *Notifier) jobsKey(shard int) string {
	return n.cfg.Prefix + "notify:jobs:{" + strconv.Itoa(shard) + "}"
}
func (n *Notifier) sentKey(subject string) string {
	return n.cfg.Prefix + "notify:sent:{" + subject + "}"
}

// changes is the notifier's consumer group on the change streams.
func (n *Notifier) changes() tracking.ChangeGroup {
	return tracking.ChangeGroup{RDB: n.rdb, Key: n.store.ChangesKey, Group: n.cfg.Group, Consumer: n.cfg.Consumer,
		Batch: n.cfg.Batch, Log: n.log,
		Handle: func(ctx context.Context, shard int, msgs []redis.XMessage) error {
			return n.handle(ctx, n.store.ChangesKey(shard), msgs)
		}}
}

// Run reads changes and sends jobs until ctx ends.
func (n *Notifier) Run(ctx context.Context) error {
	g := n.changes()
	if err := g.Create(ctx, n.cfg.Shards, "0"); err != nil {
		return err
	}
	var wg sync.WaitGroup
	for shard := range n.cfg.Shards {
		wg.Go(func() { g.Loop(ctx, shard) })
		wg.Go(func() { n.sendLoop(ctx, shard) })
	}
	wg.Wait()
	return nil
}

// ReadOnce reads a batch of changes from shard (from: "0" for this
// consumer's pending entries, ">" for new ones), queues their jobs and
// acknowledges them. It returns how many it handled.
func (n *Notifier) ReadOnce(ctx context.Context, shard int, from string, block time.Duration) (int, error) {
	return n.changes().ReadOnce(ctx, shard, from, block)
}

// handle queues the jobs of changes (the group acknowledges them).
func (n *Notifier) handle(ctx context.Context, key string, msgs []redis.XMessage) error {
	rules, err := n.rules.Get(ctx)
	if err != nil {
		return err
	}
	return tracking.EachChange(n.log, key, msgs, func(c tracking.Change) error {
		if err := n.queue(ctx, c, rules); err != nil {
			return fmt.Errorf("queue notifications of change %s: %w", c.ID, err)
		}
		return nil
	})
}

// Triggers are the shipment-level triggers a change fires.
func Triggers(c tracking.Change) []notify.Trigger {
	var out []notify.Trigger
	if c.From != c.To {
		switch c.To {
		case tracking.StatusInfoReceived:
			if c.From == "" || c.From == tracking.StatusPending {
				out = append(out, notify.Shipped)
			}
		case tracking.StatusInTransit:
			if c.From == "" || c.From == tracking.StatusPending {
				out = append(out, notify.Shipped)
			} else {
				out = append(out, notify.InTransit)
			}
		case tracking.StatusOutForDelivery:
			out = append(out, notify.OutForDelivery)
		case tracking.StatusDelivered:
			out = append(out, notify.Delivered)
		case tracking.StatusFailedAttempt:
			out = append(out, notify.FailedAttempt)
		case tracking.StatusAvailableForPickup:
			out = append(out, notify.AvailableForPickup)
		case tracking.StatusException:
			out = append(out, notify.Exception)
		case tracking.StatusReturning:
			out = append(out, notify.Returning)
		}
	}
	if c.DelayChanged && c.Delayed {
		out = append(out, notify.Delayed)
	}
	return out
}

// queue turns one change into jobs.
func (n *Notifier) queue(ctx context.Context, c tracking.Change, rules notify.Rules) error {
	if c.OrderID == "" || c.Direction == string(tracking.Return) {
		// An unclaimed shipment has no shopper; returns are the shopper's
		// own doing and the merchant's to announce (return.received comes
		// with the outbound webhooks).
		return nil
	}
	triggers := Triggers(c)
	if len(triggers) == 0 && !c.ETAChanged {
		return nil
	}
	o, err := n.store.Order(ctx, c.OrderID)
	if errors.Is(err, tracking.ErrNotFound) || (err == nil && o.CancelledAt != nil) {
		// A cancelled order's shopper was told by the shop; parcels still
		// moving (a return, a label printed by mistake) are the shop's to
		// explain, not ours to announce.
		return nil
	}
	if err != nil {
		return err
	}
	now := n.now()
	for _, t := range triggers {
		if err := n.queueTrigger(ctx, o, c, t, c.ShipmentID, rules, now, "nx", now.Add(n.collapse(ctx)), ""); err != nil {
			return err
		}
	}
	if c.To == tracking.StatusDelivered && c.From != c.To {
		done, err := n.allDelivered(ctx, o)
		if err != nil {
			return err
		}
		if done && len(outbound(o)) > 1 {
			if err := n.queueTrigger(ctx, o, c, notify.AllDelivered, o.ID, rules, now, "nx", now.Add(n.collapse(ctx)), ""); err != nil {
				return err
			}
		}
	}
	if c.ETALatest != "" && !c.To.Terminal() {
		if at, ok := n.arrivingSoonAt(o, c.ETALatest); ok && at.After(now) {
			// One per order: the subject is the order, the job the latest
			// estimate's; an estimate that moves moves the job.
			if err := n.queueTrigger(ctx, o, c, notify.ArrivingSoon, o.ID, rules, now, "set", at, c.ETALatest); err != nil {
				return err
			}
		}
	}
	return nil
}

func outbound(o tracking.Order) []tracking.ShipmentClaim {
	var out []tracking.ShipmentClaim
	for _, s := range o.Shipments {
		if s.Direction != tracking.Return {
			out = append(out, s)
		}
	}
	return out
}

func (n *Notifier) allDelivered(ctx context.Context, o tracking.Order) (bool, error) {
	for _, s := range outbound(o) {
		sh, err := n.store.Shipment(ctx, s.ID, false)
		if errors.Is(err, tracking.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if sh.Status != tracking.StatusDelivered {
			return false, nil
		}
	}
	return true, nil
}

// zone is the shopper's time zone.
func (n *Notifier) zone(o tracking.Order) *time.Location {
	if o.Customer.TimeZone != "" {
		if z, err := time.LoadLocation(o.Customer.TimeZone); err == nil {
			return z
		}
	}
	return n.cfg.Zone
}

// arrivingSoonAt is when arriving_soon goes out for an estimate: the day
// before, at ArrivingSoonAt in the shopper's zone.
func (n *Notifier) arrivingSoonAt(o tracking.Order, eta string) (time.Time, bool) {
	if len(eta) < 10 {
		return time.Time{}, false
	}
	d, err := time.ParseInLocation(time.DateOnly, eta[:10], n.zone(o))
	if err != nil {
		return time.Time{}, false
	}
	return d.AddDate(0, 0, -1).Add(n.cfg.ArrivingSoonAt), true
}

// recipient is where a channel reaches the order's shopper, if they opted
// in and gave one.
func recipient(o tracking.Order, ch notify.Channel) string {
	switch ch {
	case notify.Email:
		if o.Notify.Email {
			return strings.TrimSpace(o.Customer.Email)
		}
	case notify.SMS:
		if o.Notify.SMS {
			return strings.TrimSpace(o.Customer.Phone)
		}
	}
	return ""
}

func (n *Notifier) queueTrigger(ctx context.Context, o tracking.Order, c tracking.Change, t notify.Trigger, subject string,
	rules notify.Rules, now time.Time, mode string, due time.Time, eta string) error {
	for _, ch := range notify.Channels {
		// A channel without a provider queues nothing: a trackd without
		// SMTP or Twilio settings is not failing, it is not sending.
		if !rules.On(t, ch) || recipient(o, ch) == "" || n.senders[ch] == nil {
			continue
		}
		job := Job{Subject: subject, OrderID: o.ID, ShipmentID: c.ShipmentID, Trigger: t, Channel: ch,
			ChangeID: c.ID, ETA: eta, QueuedAt: now}
		if t.OrderLevel() {
			job.ShipmentID = c.ShipmentID // the one that completed it, for the message's data
		}
		b, err := json.Marshal(job)
		if err != nil {
			return err
		}
		shard := n.store.ShardOf(subject)
		old, err := n.enqueue.Run(ctx, n.rdb, []string{n.dueKey(shard), n.jobsKey(shard)},
			job.member(n.collapse(ctx) > 0), b, due.UnixMilli(), mode).Text()
		if err != nil && !errors.Is(err, redis.Nil) {
			return fmt.Errorf("queue %s %s for %s: %w", t, ch, subject, err)
		}
		if old != "" {
			var prev Job
			if json.Unmarshal([]byte(old), &prev) == nil && prev.Trigger != t {
				n.record(ctx, o, prev, Outgoing{Channel: ch}, "collapsed", "", "replaced by "+string(t))
			}
		}
	}
	return nil
}

func (n *Notifier) sendLoop(ctx context.Context, shard int) {
	jobqueue.Loop(ctx, n.cfg.Idle, func() (int, error) { return n.SendOnce(ctx, shard) },
		func(err error) { n.log.Warn("send notifications", "shard", shard, "err", err) })
}

// SendOnce claims the shard's due jobs and sends them. It returns how many
// it claimed.
func (n *Notifier) SendOnce(ctx context.Context, shard int) (int, error) {
	q := jobqueue.Queue{RDB: n.rdb, Due: n.dueKey, Jobs: n.jobsKey, Lease: n.cfg.Lease,
		Batch: n.cfg.Batch, Concurrency: n.cfg.Concurrency}
	return q.RunOnce(ctx, shard, n.now(), func(member, job string, lease int64) {
		n.process(ctx, shard, member, job, lease)
	})
}

// process sends one claimed job and completes its lease.
func (n *Notifier) process(ctx context.Context, shard int, member, raw string, lease int64) {
	var job Job
	if err := json.Unmarshal([]byte(raw), &job); err != nil {
		n.log.Error("unreadable notification job; dropped", "member", member, "err", err)
		n.finish(ctx, shard, member, lease, raw, nil, n.now())
		return
	}
	next, at := n.deliver(ctx, job)
	n.finish(ctx, shard, member, lease, raw, next, at)
}

func (n *Notifier) finish(ctx context.Context, shard int, member string, lease int64, raw string, next *Job, at time.Time) {
	nextJSON := ""
	if next != nil {
		b, _ := json.Marshal(next)
		nextJSON = string(b)
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err := n.complete.Run(cctx, n.rdb, []string{n.dueKey(shard), n.jobsKey(shard)}, member, lease, raw, nextJSON, at.UnixMilli()).Err()
	if err != nil {
		n.log.Warn("complete notification job", "member", member, "err", err)
	}
}

// deliver does what a due job asks. It returns the job to keep (a retry,
// a held SMS) and when, or nil when the job is done.
func (n *Notifier) deliver(ctx context.Context, job Job) (*Job, time.Time) {
	now := n.now()
	o, err := n.store.Order(ctx, job.OrderID)
	if errors.Is(err, tracking.ErrNotFound) {
		return nil, now
	}
	if err != nil {
		return n.retry(job, now, err)
	}
	to := recipient(o, job.Channel)
	if to == "" || o.CancelledAt != nil {
		return nil, now // the order changed: no longer opted in, no address, or cancelled
	}
	var sh *tracking.Shipment
	if job.ShipmentID != "" {
		sh, err = n.store.Shipment(ctx, job.ShipmentID, true)
		if err != nil && !errors.Is(err, tracking.ErrNotFound) {
			return n.retry(job, now, err)
		}
	}
	if job.Trigger == notify.ArrivingSoon && (sh == nil || sh.Status.Terminal() || sh.Status == tracking.StatusOutForDelivery ||
		sh.EstimatedDelivery == nil || sh.EstimatedDelivery.Latest != job.ETA) {
		return nil, now // delivered, on its way already, or the estimate moved
	}
	if job.Channel == notify.SMS {
		if until, quiet := n.quiet(ctx, o, now); quiet {
			held := job
			if !held.Held {
				held.Held = true
				n.record(ctx, o, job, Outgoing{Channel: job.Channel, To: to}, "held", "", "quiet hours until "+until.Format(time.RFC3339))
			}
			return &held, until
		}
	}
	if out, err := n.optouts.OptedOut(ctx, job.Channel, to); err != nil {
		return n.retry(job, now, err)
	} else if out {
		n.record(ctx, o, job, Outgoing{Channel: job.Channel, To: to}, "skipped_optout", "", "")
		return nil, now
	}
	sender := n.senders[job.Channel]
	if sender == nil {
		n.record(ctx, o, job, Outgoing{Channel: job.Channel, To: to}, "failed", "", "no "+string(job.Channel)+" sender is configured")
		return nil, now
	}

	// The idempotency record: only the job that sets it sends.
	field := string(job.Trigger) + "|" + string(job.Channel)
	sentKey := n.sentKey(job.Subject)
	claimed, err := n.rdb.HSetNX(ctx, sentKey, field, "sending:"+strconv.FormatInt(now.UnixMilli(), 10)).Result()
	if err != nil {
		return n.retry(job, now, err)
	}
	if !claimed {
		state, _ := n.rdb.HGet(ctx, sentKey, field).Result()
		if strings.HasPrefix(state, "sending:") {
			// A node claimed it and never said how it went: it may have
			// sent it. Not sending again is the promise.
			n.record(ctx, o, job, Outgoing{Channel: job.Channel, To: to}, "unknown", "", "an earlier attempt was interrupted; not sent again")
			n.rdb.HSet(ctx, sentKey, field, "unknown")
		}
		return nil, now
	}
	n.rdb.Expire(ctx, sentKey, n.cfg.SentRetention)

	m, err := n.compose.Compose(ctx, job, o, sh, to)
	if err != nil {
		n.rdb.HSet(ctx, sentKey, field, "failed")
		n.record(ctx, o, job, Outgoing{Channel: job.Channel, To: to}, "failed", "", "render: "+err.Error())
		return nil, now
	}
	m.ID = job.Subject + ":" + string(job.Trigger) + ":" + string(job.Channel)
	pid, err := sender.Send(ctx, m)
	if n.afterSend != nil && err == nil {
		n.afterSend(job)
	}
	switch {
	case err == nil:
		n.rdb.HSet(context.WithoutCancel(ctx), sentKey, field, "sent:"+pid)
		n.record(ctx, o, job, m, "sent", pid, "")
		return nil, now
	case sender.Permanent(err) || job.Attempt+1 >= n.cfg.MaxAttempts:
		n.rdb.HSet(context.WithoutCancel(ctx), sentKey, field, "failed")
		n.record(ctx, o, job, m, "failed", "", err.Error())
		return nil, now
	default:
		// Nothing went out: free the record for the retry.
		n.rdb.HDel(context.WithoutCancel(ctx), sentKey, field)
		n.record(ctx, o, job, m, "retrying", "", err.Error())
		return n.retry(job, now, err)
	}
}

// collapse is the burst window in force.
func (n *Notifier) collapse(ctx context.Context) time.Duration {
	if n.cfg.Timing != nil {
		return n.cfg.Timing.Collapse(ctx)
	}
	return n.cfg.Collapse
}

func (n *Notifier) retry(job Job, now time.Time, err error) (*Job, time.Time) {
	job.Attempt++
	wait := n.cfg.BackoffBase << min(job.Attempt-1, 20)
	if wait <= 0 || wait > n.cfg.BackoffMax {
		wait = n.cfg.BackoffMax
	}
	wait = time.Duration(float64(wait) * (0.5 + rand.Float64()/2))
	n.log.Info("notification will be retried", "subject", job.Subject, "trigger", job.Trigger, "channel", job.Channel,
		"attempt", job.Attempt, "in", wait, "err", err)
	return &job, now.Add(wait)
}

// quiet reports whether now is in the shopper's quiet hours, and when
// they end.
func (n *Notifier) quiet(ctx context.Context, o tracking.Order, now time.Time) (time.Time, bool) {
	start, end := n.cfg.QuietStart, n.cfg.QuietEnd
	if n.cfg.Timing != nil {
		start, end = n.cfg.Timing.QuietHours(ctx)
	}
	if start == end {
		return time.Time{}, false
	}
	local := now.In(n.zone(o))
	midnight := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, local.Location())
	tod := local.Sub(midnight)
	// Wall-clock arithmetic: build the end as a wall time, not by adding
	// durations across a DST change.
	wall := func(day time.Time, d time.Duration) time.Time {
		return time.Date(day.Year(), day.Month(), day.Day(), int(d/time.Hour), int(d%time.Hour/time.Minute), 0, 0, day.Location())
	}
	if start < end {
		if tod >= start && tod < end {
			return wall(midnight, end), true
		}
		return time.Time{}, false
	}
	// Across midnight: 21:00-08:00.
	switch {
	case tod >= start:
		return wall(midnight.AddDate(0, 0, 1), end), true
	case tod < end:
		return wall(midnight, end), true
	}
	return time.Time{}, false
}

func (n *Notifier) record(ctx context.Context, o tracking.Order, job Job, m Outgoing, result, pid, errText string) {
	if n.dlog == nil {
		return
	}
	to := m.To
	if to == "" {
		to = recipient(o, job.Channel)
	}
	a := Attempt{
		At: n.now(), OrderID: o.ID, OrderNumber: o.Number, ShipmentID: job.ShipmentID, Trigger: job.Trigger,
		Channel: job.Channel, Recipient: to, Locale: m.Locale, TemplateVersion: m.TemplateVersion,
		Result: result, ProviderID: pid, Error: errText, Attempt: job.Attempt + 1,
	}
	if err := n.dlog.Record(context.WithoutCancel(ctx), a); err != nil {
		n.log.Warn("record notification attempt", "order", o.Number, "err", err)
	}
}
