// Package salesforce keeps Salesforce Order Management in step with trackd:
// on each shipment change, the standard Shipment records with the
// shipment's tracking number get its status, estimated delivery and actual
// delivery, through the Salesforce REST API.
//
// What Salesforce documents, and how it is used here:
//
//   - The Shipment object (Object Reference for the Salesforce Platform,
//     https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_shipment.htm):
//     TrackingNumber (string), Status (picklist), ExpectedDeliveryDate and
//     ActualDeliveryDate (both dateTime, Create/Update), Provider
//     (picklist), ShipToName, TrackingUrl. Status values are the org's
//     picklist, hence Config.StatusMap. Both dates are dateTime, so they
//     are written as UTC instants ("2026-11-27T12:00:00.000Z"); a
//     date-only estimate becomes noon UTC of that day, which reads as the
//     same calendar day in every zone from UTC-11 to UTC+11.
//   - OAuth 2.0 client credentials (Salesforce Help, "OAuth 2.0 Client
//     Credentials Flow for Server-to-Server Integration",
//     https://help.salesforce.com/s/articleView?id=xcloud.remoteaccess_oauth_client_credentials_flow.htm):
//     POST https://<MyDomain>.my.salesforce.com/services/oauth2/token with
//     grant_type=client_credentials, client_id and client_secret in the
//     form; the answer has access_token, instance_url, token_type and no
//     expires_in, so the token is used until an API call answers 401
//     INVALID_SESSION_ID, then fetched again once (carriers/oauth).
//   - Finding records: TrackingNumber is not an external id field, so no
//     upsert by it; a SOQL query (REST API "Execute a SOQL Query",
//     GET /services/data/vXX.X/query?q=...) finds the ids, with string
//     literals escaped as the SOQL reference's "Quoted String Escape
//     Sequences" list. Ids are cached in Redis per tracking number.
//   - Writing: sObject Collections update (REST API "Update Records Using
//     sObject Collections", PATCH /services/data/vXX.X/composite/sobjects),
//     up to 200 records, allOrNone false; the SaveResults come back in
//     request order, each with success and an errors array, so only the
//     failed records are retried.
//
// # Flow and guarantees
//
// A consumer group ("salesforce") reads the change streams. Each change
// becomes a job, the record wanted for its tracking number, queued in Redis
// (a newer change replaces a waiting job; an older one redelivered is
// ignored), and only then is the change acknowledged. Senders claim due
// jobs in batches under a lease, look up ids, update, and complete each
// job: done, or kept with its next attempt time. A node killed anywhere
// loses nothing: unacknowledged changes are read again, and claimed jobs
// come due again when their lease ends.
//
// # Redis layout (under the store's prefix; n is the queue shard)
//
//	sf:due:{n}        sorted set: tracking number -> due time (ms); a claimed job's lease end
//	sf:jobs:{n}       hash: tracking number -> the job (JSON)
//	sf:inflight:{n}   hash: tracking number -> the job as claimed
//	sf:last:{n}:<tn>  string: "<shipment id>|<change version>" newest queued (7 days)
//	sf:id:{<tn>}      string: the Shipment ids of a tracking number, comma-separated
//	sf:log            stream: the delivery log (see Log)
package salesforce

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/trackd/trackd/jobqueue"
	"github.com/trackd/trackd/tracking"
)

//go:embed enqueue.lua
var enqueueScript string

//go:embed claim.lua
var claimScript string

//go:embed complete.lua
var completeScript string

// lastTTL is how long the newest queued version of a tracking number is
// remembered: far longer than any redelivery of a change can take.
const lastTTL = 7 * 24 * time.Hour

// Store is what the connector reads of trackd's store.
type Store interface {
	ChangesKey(n int) string
	ShardOf(key string) int
	Shipment(ctx context.Context, id string, withEvents bool) (*tracking.Shipment, error)
}

// job is the record wanted for one tracking number.
type job struct {
	TrackingNumber string          `json:"tracking_number"`
	ShipmentID     string          `json:"shipment_id"`
	ChangeID       string          `json:"change_id"`
	Version        int64           `json:"version"`
	Status         tracking.Status `json:"status"`
	ETA            string          `json:"eta,omitempty"`
	DeliveredAt    *time.Time      `json:"delivered_at,omitempty"`
	// IDs, when set, are the only records to write: those that failed
	// while others of the same tracking number were written.
	IDs      []string  `json:"ids,omitempty"`
	Attempt  int       `json:"attempt,omitempty"`
	QueuedAt time.Time `json:"queued_at"`
}

// Connector writes shipment changes to Salesforce.
type Connector struct {
	rdb   redis.UniversalClient
	store Store
	api   *Client
	dlog  *Log
	cfg   Config
	log   *slog.Logger
	now   func() time.Time

	enqueue, claim, complete *redis.Script
}

// New returns a connector. dlog may be nil (no delivery log).
func New(rdb redis.UniversalClient, store Store, api *Client, dlog *Log, cfg Config, log *slog.Logger) *Connector {
	if cfg.Batch <= 0 || cfg.Batch > 200 {
		cfg.Batch = 200 // sObject Collections take at most 200 records
	}
	return &Connector{
		rdb: rdb, store: store, api: api, dlog: dlog, cfg: cfg, log: log, now: time.Now,
		enqueue:  redis.NewScript(enqueueScript),
		claim:    redis.NewScript(claimScript),
		complete: redis.NewScript(completeScript),
	}
}

func (c *Connector) queueKeys(shard int) []string {
	tag := "{" + strconv.Itoa(shard) + "}"
	return []string{c.cfg.Prefix + "sf:due:" + tag, c.cfg.Prefix + "sf:jobs:" + tag, c.cfg.Prefix + "sf:inflight:" + tag}
}

func (c *Connector) lastKey(shard int, member string) string {
	return c.cfg.Prefix + "sf:last:{" + strconv.Itoa(shard) + "}:" + member
}

func (c *Connector) idKey(number string) string { return c.cfg.Prefix + "sf:id:{" + number + "}" }

// changes is the connector's consumer group on the change streams.
func (c *Connector) changes() tracking.ChangeGroup {
	return tracking.ChangeGroup{RDB: c.rdb, Key: c.store.ChangesKey, Group: c.cfg.Group, Consumer: c.cfg.Consumer,
		Batch: c.cfg.Batch, Log: c.log,
		Handle: func(ctx context.Context, shard int, msgs []redis.XMessage) error {
			return c.handle(ctx, c.store.ChangesKey(shard), msgs)
		}}
}

// Run reads changes and writes them until ctx ends.
func (c *Connector) Run(ctx context.Context) error {
	g := c.changes()
	if err := g.Create(ctx, c.cfg.Shards, "0"); err != nil {
		return err
	}
	var wg sync.WaitGroup
	for shard := range c.cfg.Shards {
		wg.Go(func() { g.Loop(ctx, shard) })
		wg.Go(func() { c.sendLoop(ctx, shard) })
	}
	wg.Wait()
	return nil
}

// ReadOnce reads a batch of changes from shard (from: "0" for this
// consumer's pending entries, ">" for new ones), queues their jobs and
// acknowledges them. It returns how many it read.
func (c *Connector) ReadOnce(ctx context.Context, shard int, from string, block time.Duration) (int, error) {
	return c.changes().ReadOnce(ctx, shard, from, block)
}

// handle queues the jobs of changes; the group acknowledges them once
// every job is in Redis.
func (c *Connector) handle(ctx context.Context, key string, msgs []redis.XMessage) error {
	return tracking.EachChange(c.log, key, msgs, func(ch tracking.Change) error {
		j, ok, err := c.jobFor(ctx, ch)
		if err != nil {
			return fmt.Errorf("salesforce job of change %s: %w", ch.ID, err)
		}
		if ok {
			return c.queue(ctx, j)
		}
		return nil
	})
}

// jobFor turns a change into the record Salesforce should get, if there
// is anything to write.
func (c *Connector) jobFor(ctx context.Context, ch tracking.Change) (job, bool, error) {
	number := tracking.NormalizeTrackingNumber(ch.TrackingNumber)
	if number == "" || (ch.From == ch.To && !ch.ETAChanged) {
		// The delay watcher's flag changes move nothing Salesforce holds.
		return job{}, false, nil
	}
	// Change ids are "<shipment id>:<version>", the version counting the
	// shipment's changes.
	version, err := strconv.ParseInt(ch.ID[strings.LastIndexByte(ch.ID, ':')+1:], 10, 64)
	if err != nil || version < 1 {
		c.log.Error("change without a version; skipped", "change_id", ch.ID)
		return job{}, false, nil
	}
	j := job{TrackingNumber: number, ShipmentID: ch.ShipmentID, ChangeID: ch.ID, Version: version,
		Status: ch.To, ETA: ch.ETALatest, QueuedAt: c.now().UTC()}
	if ch.To == tracking.StatusDelivered {
		at, err := c.deliveredAt(ctx, ch)
		if err != nil {
			return job{}, false, err
		}
		j.DeliveredAt = &at
	}
	if len(c.fields(j)) == 0 {
		return job{}, false, nil
	}
	return j, true, nil
}

// deliveredAt is when the delivery happened: the carrier's time of the
// delivery scan, which is the shipment's status event while it is
// delivered; failing that, when trackd recorded the change.
func (c *Connector) deliveredAt(ctx context.Context, ch tracking.Change) (time.Time, error) {
	sh, err := c.store.Shipment(ctx, ch.ShipmentID, false)
	if err != nil && !errors.Is(err, tracking.ErrNotFound) {
		return time.Time{}, err
	}
	if err == nil && sh.Status == tracking.StatusDelivered && sh.StatusEvent != nil && !sh.StatusEvent.OccurredAt.IsZero() {
		return sh.StatusEvent.OccurredAt.UTC(), nil
	}
	if ms, err := strconv.ParseInt(ch.At, 10, 64); err == nil && ms > 0 {
		return time.UnixMilli(ms).UTC(), nil
	}
	return c.now().UTC(), nil
}

// sfTime is Salesforce's dateTime format, in UTC.
func sfTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// etaTime reads an estimate: an RFC 3339 instant as it is, a date as noon
// UTC (see the package comment).
func etaTime(eta string) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339, eta); err == nil {
		return t.UTC(), true
	}
	if d, err := time.Parse(time.DateOnly, eta); err == nil {
		return d.Add(12 * time.Hour), true
	}
	return time.Time{}, false
}

// fields are the Shipment fields a job sets, under the current mapping.
func (c *Connector) fields(j job) map[string]any {
	f := map[string]any{}
	if v := c.cfg.StatusMap[j.Status]; v != "" {
		f["Status"] = v
	}
	if t, ok := etaTime(j.ETA); ok {
		f["ExpectedDeliveryDate"] = sfTime(t)
	}
	if j.Status == tracking.StatusDelivered && j.DeliveredAt != nil {
		f["ActualDeliveryDate"] = sfTime(*j.DeliveredAt)
	}
	return f
}

// queue puts a job in its shard's queue, due after the linger.
func (c *Connector) queue(ctx context.Context, j job) error {
	b, err := json.Marshal(j)
	if err != nil {
		return err
	}
	shard := c.store.ShardOf(j.TrackingNumber)
	keys := append(c.queueKeys(shard), c.lastKey(shard, j.TrackingNumber))
	due := c.now().Add(c.cfg.Linger).UnixMilli()
	if err := c.enqueue.Run(ctx, c.rdb, keys, j.TrackingNumber, b, j.ShipmentID, j.Version, due,
		int64(lastTTL/time.Second)).Err(); err != nil {
		return fmt.Errorf("queue salesforce job for %s: %w", j.TrackingNumber, err)
	}
	return nil
}

func (c *Connector) sendLoop(ctx context.Context, shard int) {
	for ctx.Err() == nil {
		got, err := c.SendOnce(ctx, shard)
		if err != nil && ctx.Err() == nil {
			c.log.Warn("write to salesforce", "shard", shard, "err", err)
		}
		if got < c.cfg.Batch {
			jobqueue.Sleep(ctx, c.cfg.Idle)
		}
	}
}

// claimed is a job as claimed, and what became of it.
type claimed struct {
	member, raw string
	j           job
	ok          bool // decoded
	ids         []string
	// per record id: its failure, nil when written.
	failures map[string]*failure
	// outcome when decided before any update: skipped, failed.
	result, errText string
}

// failure is why one record (or the lookup of a job's records) failed.
type failure struct {
	err        string
	permanent  bool
	stale      bool // the id no longer names a record
	retryAfter time.Duration
}

// Record-level codes after which trying again cannot help until someone
// changes the org or the mapping: the record is logged failed at once.
var permanentCodes = map[string]bool{
	"INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST": true,
	"INVALID_FIELD_FOR_INSERT_UPDATE":         true,
	"INVALID_TYPE_ON_FIELD_IN_RECORD":         true,
	"INVALID_FIELD":                           true,
}

// Record-level codes that say the cached id is stale: the ids are looked up
// again on the next try.
var staleCodes = map[string]bool{
	"ENTITY_IS_DELETED":           true,
	"INVALID_CROSS_REFERENCE_KEY": true,
	"INVALID_ID_FIELD":            true,
	"MALFORMED_ID":                true,
}

// SendOnce claims the shard's due jobs (up to Batch), writes them and
// completes them. It returns how many it claimed.
func (c *Connector) SendOnce(ctx context.Context, shard int) (int, error) {
	now := c.now()
	keys := c.queueKeys(shard)
	lease := now.Add(c.cfg.Lease).UnixMilli()
	res, err := c.claim.Run(ctx, c.rdb, keys, now.UnixMilli(), c.cfg.Lease.Milliseconds(), c.cfg.Batch).StringSlice()
	if err != nil {
		return 0, fmt.Errorf("claim salesforce jobs: %w", err)
	}
	if len(res) == 0 {
		return 0, nil
	}
	jobs := make([]*claimed, 0, len(res)/2)
	for i := 0; i+1 < len(res); i += 2 {
		cj := &claimed{member: res[i], raw: res[i+1], failures: map[string]*failure{}}
		if err := json.Unmarshal([]byte(cj.raw), &cj.j); err != nil {
			c.log.Error("unreadable salesforce job; dropped", "tracking_number", cj.member, "err", err)
		} else {
			cj.ok = true
		}
		jobs = append(jobs, cj)
	}
	c.write(ctx, jobs)
	if ctx.Err() != nil {
		// Shutting down mid-attempt is no failure of the records: they
		// are due again at once, for this node or another, on the same try.
		c.release(ctx, keys, now, lease, jobs)
		return len(jobs), ctx.Err()
	}
	c.finish(ctx, keys, now, lease, jobs)
	return len(jobs), nil
}

// release gives claimed jobs back unchanged, due now.
func (c *Connector) release(ctx context.Context, keys []string, now time.Time, lease int64, jobs []*claimed) {
	args := []any{now.UnixMilli(), lease}
	for _, cj := range jobs {
		args = append(args, cj.member, cj.raw, cj.raw, now.UnixMilli())
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := c.complete.Run(cctx, c.rdb, keys, args...).Err(); err != nil {
		c.log.Warn("release salesforce jobs", "jobs", len(jobs), "err", err)
	}
}

// write looks up the jobs' records and updates them, noting each record's
// outcome on its job.
func (c *Connector) write(ctx context.Context, jobs []*claimed) {
	var lookup []*claimed
	for _, cj := range jobs {
		if !cj.ok || len(c.fields(cj.j)) == 0 {
			continue
		}
		if len(cj.j.IDs) > 0 {
			cj.ids = cj.j.IDs
		} else {
			lookup = append(lookup, cj)
		}
	}
	c.lookup(ctx, lookup)

	type ref struct {
		cj *claimed
		id string
	}
	var recs []Record
	var refs []ref
	for _, cj := range jobs {
		if !cj.ok || cj.result != "" {
			continue
		}
		f := c.fields(cj.j)
		if len(f) == 0 {
			continue
		}
		for _, id := range cj.ids {
			recs = append(recs, Record{ID: id, Fields: f})
			refs = append(refs, ref{cj, id})
		}
	}
	for start := 0; start < len(recs); start += c.cfg.Batch {
		end := min(start+c.cfg.Batch, len(recs))
		results, err := c.api.UpdateShipments(ctx, recs[start:end])
		for i, r := range refs[start:end] {
			switch {
			case err != nil:
				r.cj.failures[r.id] = &failure{err: err.Error(), retryAfter: retryAfter(err)}
			case !results[i].Success:
				r.cj.failures[r.id] = recordFailure(results[i].Errors)
			default:
				r.cj.failures[r.id] = nil
			}
		}
	}
}

func recordFailure(errs []APIError) *failure {
	f := &failure{}
	var msgs []string
	for _, e := range errs {
		msgs = append(msgs, e.String())
		f.permanent = f.permanent || permanentCodes[e.Code()]
		f.stale = f.stale || staleCodes[e.Code()]
	}
	if len(msgs) == 0 {
		msgs = append(msgs, "not saved, and no error given")
	}
	f.err = strings.Join(msgs, "; ")
	return f
}

// lookup finds the Shipment ids of jobs: from the cache, else by query.
func (c *Connector) lookup(ctx context.Context, jobs []*claimed) {
	if len(jobs) == 0 {
		return
	}
	pipe := c.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, len(jobs))
	for i, cj := range jobs {
		cmds[i] = pipe.Get(ctx, c.idKey(cj.j.TrackingNumber))
	}
	pipe.Exec(ctx) // a failed read only means a query
	var missing []string
	for i, cj := range jobs {
		if v, err := cmds[i].Result(); err == nil && v != "" {
			cj.ids = strings.Split(v, ",")
		} else {
			missing = append(missing, cj.j.TrackingNumber)
		}
	}
	if len(missing) == 0 {
		return
	}
	found, refused, err := c.api.FindShipments(ctx, missing)
	if err != nil {
		for _, cj := range jobs {
			if cj.ids == nil {
				cj.failures[""] = &failure{err: err.Error(), retryAfter: retryAfter(err)}
			}
		}
		return
	}
	cache := c.rdb.Pipeline()
	for _, cj := range jobs {
		if cj.ids != nil {
			continue
		}
		n := cj.j.TrackingNumber
		switch {
		case refused[n] != nil:
			cj.result, cj.errText = ResultFailed, refused[n].Error()
		case len(found[n]) == 0:
			cj.result, cj.errText = ResultSkipped, "no Shipment in Salesforce has this TrackingNumber"
		default:
			cj.ids = found[n]
			cache.Set(ctx, c.idKey(n), strings.Join(found[n], ","), c.cfg.IDCacheTTL)
		}
	}
	if _, err := cache.Exec(ctx); err != nil {
		c.log.Warn("cache salesforce ids", "err", err)
	}
}

// finish decides each job's next step, completes the claims and logs the
// attempts.
func (c *Connector) finish(ctx context.Context, keys []string, now time.Time, lease int64, jobs []*claimed) {
	args := []any{now.UnixMilli(), lease}
	var entries []Entry
	var stale []string
	for _, cj := range jobs {
		next, at, es, dropIDs := c.outcome(cj, now)
		entries = append(entries, es...)
		if dropIDs {
			stale = append(stale, c.idKey(cj.j.TrackingNumber))
		}
		nextJSON := ""
		if next != nil {
			b, _ := json.Marshal(next)
			nextJSON = string(b)
		}
		args = append(args, cj.member, cj.raw, nextJSON, at.UnixMilli())
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if len(stale) > 0 {
		if err := c.rdb.Del(cctx, stale...).Err(); err != nil {
			c.log.Warn("drop stale salesforce ids", "err", err)
		}
	}
	if err := c.complete.Run(cctx, c.rdb, keys, args...).Err(); err != nil {
		// The leases run out and the jobs are claimed again: written
		// records are written twice, with the same values.
		c.log.Warn("complete salesforce jobs", "jobs", len(jobs), "err", err)
	}
	if c.dlog != nil {
		if err := c.dlog.Record(cctx, entries...); err != nil {
			c.log.Warn("record salesforce attempts", "err", err)
		}
	}
}

// outcome is what becomes of a claimed job: the job to keep (nil when
// done) and when it is due, the log entries of this attempt, and whether
// its cached ids are stale.
func (c *Connector) outcome(cj *claimed, now time.Time) (*job, time.Time, []Entry, bool) {
	if !cj.ok {
		return nil, now, nil, false
	}
	j := cj.j
	entry := func(id, result, errText string) Entry {
		return Entry{At: now.UTC(), TrackingNumber: j.TrackingNumber, ShipmentID: j.ShipmentID, ChangeID: j.ChangeID,
			SalesforceID: id, Status: j.Status, Result: result, Error: errText, Attempt: j.Attempt + 1}
	}
	if cj.result != "" {
		c.log.Info("salesforce record not written", "tracking_number", j.TrackingNumber, "result", cj.result, "reason", cj.errText)
		return nil, now, []Entry{entry("", cj.result, cj.errText)}, false
	}
	if len(cj.failures) == 0 {
		return nil, now, nil, false // nothing to write under the current mapping
	}
	giveUp := j.Attempt+1 >= c.cfg.MaxAttempts
	var entries []Entry
	var retryIDs []string
	retry, stale := false, false
	var wait time.Duration
	for _, id := range append([]string{""}, cj.ids...) {
		f, seen := cj.failures[id]
		if !seen {
			continue
		}
		switch {
		case f == nil:
			entries = append(entries, entry(id, ResultWritten, ""))
		case f.permanent || giveUp:
			entries = append(entries, entry(id, ResultFailed, f.err))
			c.log.Warn("salesforce record failed", "tracking_number", j.TrackingNumber, "salesforce_id", id, "attempt", j.Attempt+1, "err", f.err)
		default:
			entries = append(entries, entry(id, ResultRetrying, f.err))
			retry = true
			wait = max(wait, f.retryAfter)
			if f.stale || id == "" {
				stale = stale || f.stale
			} else {
				retryIDs = append(retryIDs, id)
			}
		}
	}
	if !retry {
		return nil, now, entries, false
	}
	next := j
	next.Attempt++
	next.IDs = retryIDs
	if stale || cj.failures[""] != nil {
		next.IDs = nil // look them up again
	}
	wait = max(wait, c.backoff(next.Attempt))
	c.log.Info("salesforce record will be retried", "tracking_number", j.TrackingNumber, "attempt", next.Attempt, "in", wait)
	return &next, now.Add(wait), entries, stale
}

// backoff is the wait before try n+1 after n failed ones.
func (c *Connector) backoff(n int) time.Duration {
	wait := c.cfg.BackoffBase << min(max(n-1, 0), 20)
	if wait <= 0 || wait > c.cfg.BackoffMax {
		wait = c.cfg.BackoffMax
	}
	return wait
}
