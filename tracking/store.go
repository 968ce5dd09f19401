package tracking

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrNotFound is returned for an id nothing is stored under.
var ErrNotFound = errors.New("not found")

// StoreConfig lays out trackd's data in Redis.
type StoreConfig struct {
	// Prefix starts every key, so several trackd instances (or tests) can
	// share one Redis. It must not contain '{' or '}': hash tags follow it.
	Prefix string
	// Shards is how many streams each shared stream (ingest, changes, dead
	// letters) is split into, so a Redis Cluster spreads them over nodes.
	Shards int
	// EventsPerShipment caps one shipment's event stream. No real parcel
	// comes near it; it stops a runaway feed from growing one key forever.
	EventsPerShipment int64
	// RetainFinished is how long a delivered, returned or expired shipment
	// is kept after its last change.
	RetainFinished time.Duration
	// RetainIdle is how long any other shipment is kept after its last change.
	RetainIdle time.Duration
	// IngestBacklog caps each ingest shard. Beyond it webhooks are refused
	// with 503 (the carrier retries) instead of Redis running out of memory
	// or accepted entries being trimmed away unprocessed.
	IngestBacklog int64
	// ChangesMaxLen and DeadLettersMaxLen cap those streams (approximately).
	ChangesMaxLen     int64
	DeadLettersMaxLen int64
}

// DefaultStoreConfig returns the production defaults.
func DefaultStoreConfig() StoreConfig {
	return StoreConfig{
		Prefix:            "trackd:",
		Shards:            4,
		EventsPerShipment: 1000,
		RetainFinished:    90 * 24 * time.Hour, // long enough for returns and disputes
		RetainIdle:        180 * 24 * time.Hour,
		IngestBacklog:     1_000_000,
		ChangesMaxLen:     1_000_000,
		DeadLettersMaxLen: 100_000,
	}
}

// Validate reports a configuration that cannot work.
func (c StoreConfig) Validate() error {
	switch {
	case strings.ContainsAny(c.Prefix, "{}"):
		return fmt.Errorf("key prefix %q must not contain '{' or '}'", c.Prefix)
	case c.Shards < 1 || c.Shards > 1024:
		return fmt.Errorf("shards %d must be between 1 and 1024", c.Shards)
	case c.RetainFinished < time.Second || c.RetainIdle < time.Second:
		return errors.New("retention must be at least one second")
	case c.EventsPerShipment < 1 || c.IngestBacklog < 1 || c.ChangesMaxLen < 1 || c.DeadLettersMaxLen < 1:
		return errors.New("stream caps must be positive")
	}
	return nil
}

// Store keeps shipments, orders and trackd's streams in Redis. Every key of
// one shipment shares the hash tag {<shipment id>}, so the apply script
// touches one slot and works unchanged on Redis Cluster.
type Store struct {
	rdb   redis.UniversalClient
	cfg   StoreConfig
	apply *redis.Script
	// backlogFull is set by WatchBacklog while any ingest shard holds
	// IngestBacklog entries or more.
	backlogFull atomic.Bool
	appends     chan *appendReq
	appending   atomic.Bool   // RunAppender is running
	appendStop  chan struct{} // closed when RunAppender returns
	claim       *redis.Script
	idx         indexer
}

//go:embed apply.lua
var applyLua string

// claimLua records an order's claim on a shipment, creating the shipment
// when no carrier has reported on it yet. A shipment another order claims
// is refused ({'claimed', owner}): a tracking number belongs to one order
// at a time, and only releasing it (an order registered again without it)
// frees it. A claim that changes what the shipment says (its order,
// direction or items) moves its updated_at, for the listings. It returns
// {'ok', updated_at}.
const claimLua = `
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'id', ARGV[1], 'carrier', ARGV[2], 'tracking_number', ARGV[3],
    'status', 'pending', 'status_key', '', 'created_at', ARGV[7], 'updated_at', ARGV[7],
    'event_count', 0, 'ver', 0)
  redis.call('EXPIRE', KEYS[1], ARGV[8])
end
local cur = redis.call('HMGET', KEYS[1], 'order_id', 'direction', 'items', 'updated_at')
if cur[1] and cur[1] ~= '' and cur[1] ~= ARGV[4] then
  return {'claimed', cur[1]}
end
if cur[1] ~= ARGV[4] or cur[2] ~= ARGV[5] or cur[3] ~= ARGV[6] then
  redis.call('HSET', KEYS[1], 'order_id', ARGV[4], 'direction', ARGV[5], 'items', ARGV[6], 'updated_at', ARGV[7])
  return {'ok', ARGV[7]}
end
return {'ok', cur[4] or ARGV[7]}`

// NewStore returns a store on rdb.
func NewStore(rdb redis.UniversalClient, cfg StoreConfig) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("store config: %w", err)
	}
	return &Store{
		rdb:        rdb,
		cfg:        cfg,
		apply:      redis.NewScript(applyLua),
		appends:    make(chan *appendReq),
		appendStop: make(chan struct{}),
		claim:      redis.NewScript(claimLua),
	}, nil
}

func (s *Store) shipmentKeys(id string) []string {
	base := s.cfg.Prefix + "{" + id + "}"
	return []string{base, base + ":ev", base + ":seen", base + ":out"}
}

func (s *Store) shardKey(stream string, shard int) string {
	return s.cfg.Prefix + stream + ":{" + strconv.Itoa(shard) + "}"
}

// IngestKey, ChangesKey and DeadLetterKey name shard n of each shared stream.
func (s *Store) IngestKey(n int) string     { return s.shardKey("ingest", n) }
func (s *Store) ChangesKey(n int) string    { return s.shardKey("changes", n) }
func (s *Store) DeadLetterKey(n int) string { return s.shardKey("deadletter", n) }

// DelayWatchKey names shard n of the delay watcher's schedule: a sorted
// set of shipment ids scored by when each would become delayed (unix ms).
func (s *Store) DelayWatchKey(n int) string { return s.shardKey("delaywatch", n) }

// ShardOf spreads keys over the shards.
func (s *Store) ShardOf(key string) int {
	h := fnv.New32a()
	h.Write([]byte(key))
	return int(h.Sum32() % uint32(s.cfg.Shards))
}

// ErrBacklogFull is returned by Append when processors are too far behind.
var ErrBacklogFull = errors.New("ingest backlog is full")

// Append durably records a raw message from src on the ingest stream. The
// shard key keeps messages about one shipment on one shard where the caller
// knows it. It returns the entry id.
//
// Appends from concurrent callers are sent to Redis together, in one
// pipeline per Run worker: under load that turns thousands of round trips
// (and their system calls, on both sides) into a few hundred, without
// making a lone request wait for company. Without RunAppender, each
// Append is its own round trip.
func (s *Store) Append(ctx context.Context, src string, body []byte, shardKey string, at time.Time) (string, error) {
	if s.backlogFull.Load() {
		return "", ErrBacklogFull
	}
	req := &appendReq{key: s.IngestKey(s.ShardOf(shardKey)), src: src, body: body, at: at.UnixMilli(), done: make(chan struct{})}
	if !s.appending.Load() {
		return s.appendOne(ctx, req)
	}
	select {
	case s.appends <- req:
	case <-s.appendStop:
		return s.appendOne(ctx, req)
	case <-ctx.Done():
		return "", fmt.Errorf("append to %s: %w", req.key, ctx.Err())
	}
	// Once handed over, the request is waited for even if ctx ends: the
	// caller's body must not be reused while the pipeline may still read it.
	<-req.done
	if req.err != nil {
		return "", fmt.Errorf("append to %s: %w", req.key, req.err)
	}
	return req.id, nil
}

func (s *Store) appendOne(ctx context.Context, req *appendReq) (string, error) {
	id, err := s.rdb.XAdd(ctx, req.args()).Result()
	if err != nil {
		return "", fmt.Errorf("append to %s: %w", req.key, err)
	}
	return id, nil
}

type appendReq struct {
	key, src string
	body     []byte
	at       int64
	id       string
	err      error
	done     chan struct{}
}

func (r *appendReq) args() *redis.XAddArgs {
	return &redis.XAddArgs{Stream: r.key, Values: []any{"src", r.src, "body", r.body, "at", r.at}}
}

// maxAppendBatch bounds one pipeline, so one slow batch delays few callers.
const maxAppendBatch = 128

// RunAppender sends appends to Redis with workers pipelines in flight at
// once, until ctx ends; after that each Append is its own round trip again.
// Run it once per Store.
func (s *Store) RunAppender(ctx context.Context, workers int) {
	s.appending.Store(true)
	defer close(s.appendStop)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			batch := make([]*appendReq, 0, maxAppendBatch)
			for {
				select {
				case <-ctx.Done():
					return
				case r := <-s.appends:
					batch = append(batch[:0], r)
				}
			more:
				for len(batch) < maxAppendBatch {
					select {
					case r := <-s.appends:
						batch = append(batch, r)
					default:
						break more
					}
				}
				s.appendBatch(batch)
			}
		})
	}
	wg.Wait()
}

func (s *Store) appendBatch(batch []*appendReq) {
	// Not the caller's context: a batch serves many callers, and once sent
	// its outcome must be known to each of them.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, len(batch))
	for i, r := range batch {
		cmds[i] = pipe.XAdd(ctx, r.args())
	}
	pipe.Exec(ctx)
	for i, r := range batch {
		r.id, r.err = cmds[i].Result()
		close(r.done)
	}
}

// WatchBacklog checks the ingest shards' length every interval until ctx
// ends, and makes Append refuse work while any shard is over IngestBacklog:
// beyond it webhooks get 503 and the carriers retry later, rather than
// Redis running out of memory. The cap is approximate by one interval of
// traffic, which is what keeps the check off the request path.
func (s *Store) WatchBacklog(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		full := false
		for shard := range s.cfg.Shards {
			n, err := s.rdb.XLen(ctx, s.IngestKey(shard)).Result()
			if err == nil && n >= s.cfg.IngestBacklog {
				full = true
			}
		}
		s.backlogFull.Store(full)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ApplyResult says what one Apply did.
type ApplyResult struct {
	ShipmentID string
	Result
	// Cursors are the stream ids of the update's events, in input order;
	// a duplicate gets the id it was first stored under.
	Cursors []string
	// Outbox holds the shipment's changes not yet forwarded to the change
	// stream: usually just this update's, plus any left by a crash.
	Outbox []OutboxEntry
	// UpdatedAt is the shipment's updated_at after the update (unix ms),
	// and OrderID the order that claims it, if any: what the listing
	// indexes need (list.go).
	UpdatedAt int64
	OrderID   string
}

// Change is a recorded change of a shipment's state. Its ID is
// deterministic, so consumers de-duplicate by it.
type Change struct {
	ID             string `json:"id"`
	ShipmentID     string `json:"shipment_id"`
	Carrier        string `json:"carrier"`
	TrackingNumber string `json:"tracking_number"`
	OrderID        string `json:"order_id"`
	Direction      string `json:"direction"`
	From           Status `json:"from"`
	To             Status `json:"to"`
	ETAFirst       string `json:"eta_first"`
	ETALatest      string `json:"eta_latest"`
	ETAChanged     bool   `json:"eta_changed"`
	Cursor         string `json:"cursor"`
	At             string `json:"at"`
	// Delayed is the shipment's stored delayed flag after this change.
	// DelayChanged marks the changes the delay watcher records when it
	// sets or clears that flag: they move nothing else, and are how a
	// shipment going late (or back on time) reaches the notifier once.
	Delayed      bool `json:"delayed"`
	DelayChanged bool `json:"delay_changed"`
}

// OutboxEntry is a change waiting in a shipment's outbox. It is forwarded
// as it was recorded, without being decoded on the way.
type OutboxEntry struct {
	ID         string
	ShipmentID string
	// JSON is the Change as the apply script recorded it.
	JSON    string
	version string
}

// Change decodes the entry.
func (o OutboxEntry) Change() (Change, error) {
	var c Change
	if err := json.Unmarshal([]byte(o.JSON), &c); err != nil {
		return c, fmt.Errorf("decode change %s: %w", o.ID, err)
	}
	return c, nil
}

// Apply merges one update into its shipment atomically.
func (s *Store) Apply(ctx context.Context, u Update) (ApplyResult, error) {
	id, keys, args, err := s.applyArgs(u)
	if err != nil {
		return ApplyResult{}, err
	}
	r, err := parseApply(id, s.apply.Run(ctx, s.rdb, keys, args...))
	if err != nil {
		return r, err
	}
	if err := s.index(ctx, appliedEntries([]ApplyResult{r}, []error{nil})); err != nil {
		return ApplyResult{}, err
	}
	return r, nil
}

// ApplyBatch applies many updates in one round trip. Results and errors
// are per update, in input order; err is for the batch as a whole (Redis
// unreachable), in which case nothing can be said about any update.
func (s *Store) ApplyBatch(ctx context.Context, us []Update) ([]ApplyResult, []error, error) {
	res, errs, err := s.applyBatch(ctx, us)
	if err != nil {
		return nil, nil, err
	}
	if err := s.index(ctx, appliedEntries(res, errs)); err != nil {
		return nil, nil, err
	}
	return res, errs, nil
}

// applyBatch is ApplyBatch without the index write, for the processor:
// it writes the index in the round trip that forwards the changes.
func (s *Store) applyBatch(ctx context.Context, us []Update) ([]ApplyResult, []error, error) {
	for attempt := 0; ; attempt++ {
		res, errs, err := s.applyBatchOnce(ctx, us)
		if err == nil || attempt > 0 || !redis.HasErrorPrefix(err, "NOSCRIPT") {
			return res, errs, err
		}
		// Redis restarted or failed over and forgot the script. Applying is
		// idempotent, so the whole batch is simply sent again.
		if err := s.apply.Load(ctx, s.rdb).Err(); err != nil {
			return nil, nil, fmt.Errorf("load apply script: %w", err)
		}
	}
}

func (s *Store) applyBatchOnce(ctx context.Context, us []Update) ([]ApplyResult, []error, error) {
	res := make([]ApplyResult, len(us))
	errs := make([]error, len(us))
	cmds := make([]*redis.Cmd, len(us))
	ids := make([]string, len(us))
	pipe := s.rdb.Pipeline()
	for i, u := range us {
		id, keys, args, err := s.applyArgs(u)
		if err != nil {
			errs[i] = err
			continue
		}
		ids[i] = id
		cmds[i] = s.apply.EvalSha(ctx, pipe, keys, args...)
	}
	if _, err := pipe.Exec(ctx); err != nil && !isReplyError(err) {
		return nil, nil, fmt.Errorf("apply %d updates: %w", len(us), err)
	}
	for i, cmd := range cmds {
		if cmd == nil {
			continue
		}
		if err := cmd.Err(); err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
			return nil, nil, err
		}
		res[i], errs[i] = parseApply(ids[i], cmd)
	}
	return res, errs, nil
}

// isReplyError tells an error Redis answered one command with from a
// failure to talk to Redis at all.
func isReplyError(err error) bool {
	var re redis.Error
	return errors.As(err, &re) && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

func (s *Store) applyArgs(u Update) (string, []string, []any, error) {
	id := ShipmentID(u.Carrier, u.TrackingNumber)
	args := make([]any, 0, 10+4*len(u.Events))
	args = append(args, id, NormalizeCarrier(u.Carrier), NormalizeTrackingNumber(u.TrackingNumber),
		u.ReceivedAt.UnixMilli(), u.EstimatedDelivery, "",
		s.cfg.EventsPerShipment, int64(s.cfg.RetainFinished/time.Second), int64(s.cfg.RetainIdle/time.Second),
		len(u.Events))
	if u.EstimatedDelivery != "" {
		args[5] = etaKey(u)
	}
	for _, e := range u.Events {
		e.Cursor = ""
		body, err := json.Marshal(e)
		if err != nil {
			return "", nil, nil, fmt.Errorf("encode event %s: %w", e.Key(), err)
		}
		args = append(args, e.Key(), e.SortKey(), string(e.Status), body)
	}
	return id, s.shipmentKeys(id), args, nil
}

func parseApply(id string, cmd *redis.Cmd) (ApplyResult, error) {
	v, err := cmd.Result()
	if err != nil {
		return ApplyResult{}, fmt.Errorf("apply to shipment %s: %w", id, err)
	}
	parts, ok := v.([]any)
	if !ok || len(parts) != 9 {
		return ApplyResult{}, fmt.Errorf("apply to shipment %s: unexpected reply %v", id, v)
	}
	r := ApplyResult{ShipmentID: id}
	r.New = int(asInt(parts[0]))
	r.Duplicates = int(asInt(parts[1]))
	r.From = Status(asString(parts[2]))
	r.To = Status(asString(parts[3]))
	r.ETAChanged = asInt(parts[4]) == 1
	for _, c := range asSlice(parts[5]) {
		r.Cursors = append(r.Cursors, asString(c))
	}
	ob := asSlice(parts[6])
	for i := 0; i+1 < len(ob); i += 2 {
		v := asString(ob[i])
		r.Outbox = append(r.Outbox, OutboxEntry{ID: id + ":" + v, ShipmentID: id, JSON: asString(ob[i+1]), version: v})
	}
	sort.Slice(r.Outbox, func(i, j int) bool { return asIntString(r.Outbox[i].version) < asIntString(r.Outbox[j].version) })
	r.UpdatedAt, r.OrderID = asIntString(asString(parts[7])), asString(parts[8])
	return r, nil
}

func asInt(v any) int64 {
	n, _ := v.(int64)
	return n
}

func asString(v any) string {
	s, _ := v.(string)
	return s
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

func asIntString(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

// ForwardChanges appends outbox changes to the change stream and then
// removes them from their outboxes. A crash in between forwards a change
// twice, never zero times; consumers de-duplicate by Change.ID.
func (s *Store) ForwardChanges(ctx context.Context, changes []OutboxEntry) error {
	return s.forward(ctx, changes, nil, nil)
}

// LiveChannel is the pub/sub channel that says shipment id has new events.
// Messages carry nothing else: subscribers read what is new from the
// shipment's stream, so a lost message delays an update, never loses one.
func (s *Store) LiveChannel(id string) string { return s.cfg.Prefix + "live:{" + id + "}" }

// ShipmentFromLiveChannel is the inverse of LiveChannel.
func (s *Store) ShipmentFromLiveChannel(ch string) (string, bool) {
	rest, ok := strings.CutPrefix(ch, s.cfg.Prefix+"live:{")
	if !ok || !strings.HasSuffix(rest, "}") {
		return "", false
	}
	return strings.TrimSuffix(rest, "}"), true
}

// forward appends changes to the change stream, announces shipments with
// new events on their live channels and writes index entries, in one round
// trip, then clears the forwarded changes from their outboxes.
func (s *Store) forward(ctx context.Context, changes []OutboxEntry, live []string, index []indexEntry) error {
	if len(changes) == 0 && len(live) == 0 && len(index) == 0 {
		return nil
	}
	pipe := s.rdb.Pipeline()
	s.addIndex(ctx, pipe, index)
	for _, id := range live {
		pipe.Publish(ctx, s.LiveChannel(id), "1")
	}
	for _, c := range changes {
		pipe.XAdd(ctx, &redis.XAddArgs{
			Stream: s.ChangesKey(s.ShardOf(c.ShipmentID)),
			MaxLen: s.cfg.ChangesMaxLen, Approx: true,
			Values: []any{"id", c.ID, "change", c.JSON},
		})
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("append %d changes: %w", len(changes), err)
	}
	if len(changes) == 0 {
		return nil
	}
	pipe = s.rdb.Pipeline()
	for _, c := range changes {
		pipe.HDel(ctx, s.shipmentKeys(c.ShipmentID)[3], c.version)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("clear %d outbox entries: %w", len(changes), err)
	}
	return nil
}

// Shipment returns a shipment's state, and its history when withEvents.
func (s *Store) Shipment(ctx context.Context, id string, withEvents bool) (*Shipment, error) {
	keys := s.shipmentKeys(id)
	pipe := s.rdb.Pipeline()
	h := pipe.HGetAll(ctx, keys[0])
	var xr *redis.XMessageSliceCmd
	if withEvents {
		xr = pipe.XRange(ctx, keys[1], "-", "+")
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("read shipment %s: %w", id, err)
	}
	m := h.Val()
	if len(m) == 0 {
		return nil, fmt.Errorf("shipment %s: %w", id, ErrNotFound)
	}
	sh, err := shipmentFromHash(m)
	if err != nil {
		return nil, fmt.Errorf("shipment %s: %w", id, err)
	}
	if withEvents {
		sh.Events = make([]Event, 0, len(xr.Val()))
		for _, msg := range xr.Val() {
			e, err := eventFromMessage(msg)
			if err != nil {
				return nil, fmt.Errorf("shipment %s: %w", id, err)
			}
			sh.Events = append(sh.Events, e)
		}
		SortEvents(sh.Events)
	}
	return sh, nil
}

// LastCursor returns the stream id of a shipment's newest stored event, or
// "0-0" when it has none.
func (s *Store) LastCursor(ctx context.Context, id string) (string, error) {
	msgs, err := s.rdb.XRevRangeN(ctx, s.shipmentKeys(id)[1], "+", "-", 1).Result()
	if err != nil {
		return "", fmt.Errorf("last cursor of %s: %w", id, err)
	}
	if len(msgs) == 0 {
		return "0-0", nil
	}
	return msgs[0].ID, nil
}

// LastCursors is LastCursor for many shipments in one round trip.
func (s *Store) LastCursors(ctx context.Context, ids []string) ([]string, error) {
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.XMessageSliceCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.XRevRangeN(ctx, s.shipmentKeys(id)[1], "+", "-", 1)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("last cursors of %d shipments: %w", len(ids), err)
	}
	out := make([]string, len(ids))
	for i, c := range cmds {
		out[i] = "0-0"
		if msgs := c.Val(); len(msgs) > 0 {
			out[i] = msgs[0].ID
		}
	}
	return out, nil
}

// EventsAfter returns a shipment's events stored after cursor (exclusive),
// in the order they were stored: what a reconnecting client has missed.
func (s *Store) EventsAfter(ctx context.Context, id, cursor string) ([]Event, error) {
	start := "-"
	if cursor != "" {
		start = "(" + cursor
	}
	msgs, err := s.rdb.XRange(ctx, s.shipmentKeys(id)[1], start, "+").Result()
	if err != nil {
		return nil, fmt.Errorf("events of %s after %q: %w", id, cursor, err)
	}
	out := make([]Event, 0, len(msgs))
	for _, msg := range msgs {
		e, err := eventFromMessage(msg)
		if err != nil {
			return nil, fmt.Errorf("shipment %s: %w", id, err)
		}
		out = append(out, e)
	}
	return out, nil
}

func eventFromMessage(msg redis.XMessage) (Event, error) {
	body, _ := msg.Values["e"].(string)
	var e Event
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		return Event{}, fmt.Errorf("decode event %s: %w", msg.ID, err)
	}
	e.Cursor = msg.ID
	return e, nil
}

// Fields of a shipment's state hash that the poll scheduler writes: when
// it last asked the carrier and when it will next, in unix milliseconds.
// FieldCheckNext is deleted when polling stops.
const (
	FieldCheckedAt = "checked_at"
	FieldCheckNext = "check_next"
)

// StateKey is the key of a shipment's state hash, for the writers outside
// this package that add their fields to it (the poll scheduler).
func (s *Store) StateKey(id string) string { return s.shipmentKeys(id)[0] }

func shipmentFromHash(m map[string]string) (*Shipment, error) {
	sh := &Shipment{
		ID:             m["id"],
		Carrier:        m["carrier"],
		TrackingNumber: m["tracking_number"],
		OrderID:        m["order_id"],
		Direction:      Direction(m["direction"]),
		Status:         Status(m["status"]),
		Cursor:         m["cursor"],
		Items:          []ItemRef{},
	}
	if sh.Direction == "" {
		sh.Direction = Outbound
	}
	sh.EventCount, _ = strconv.Atoi(m["event_count"])
	sh.CreatedAt = unixMilli(m["created_at"])
	sh.UpdatedAt = unixMilli(m["updated_at"])
	if t := unixMilli(m[FieldCheckedAt]); !t.IsZero() {
		sh.LastCheckedAt = &t
	}
	if t := unixMilli(m[FieldCheckNext]); !t.IsZero() {
		sh.NextCheckAt = &t
	}
	if ev := m["status_event"]; ev != "" {
		var e Event
		if err := json.Unmarshal([]byte(ev), &e); err != nil {
			return nil, fmt.Errorf("decode status event: %w", err)
		}
		e.Cursor = m["status_cursor"]
		sh.StatusEvent = &e
	}
	if m["eta_latest"] != "" {
		sh.EstimatedDelivery = &ETA{First: m["eta_first"], Latest: m["eta_latest"]}
	}
	if it := m["items"]; it != "" {
		if err := json.Unmarshal([]byte(it), &sh.Items); err != nil {
			return nil, fmt.Errorf("decode items: %w", err)
		}
	}
	return sh, nil
}

func unixMilli(s string) time.Time {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.UnixMilli(n).UTC()
}
