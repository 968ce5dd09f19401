package tracking

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Listing: the OMS asks for the orders or shipments that changed since it
// last looked, filtered by what it cares about (a status, a carrier, the
// delayed ones).
//
// # Redis layout
//
// Two indexes, each sharded like the streams so a Redis Cluster spreads
// them, member → updated_at (unix ms):
//
//	P idx:shipments:{n}   sorted set   shipment id, by its updated_at
//	P idx:orders:{n}      sorted set   order id, by the newest updated_at
//	                                   of the order and its shipments
//
// Writers raise scores only (ZADD GT), so concurrent writers and replays
// after a crash converge on the newest time. Every writer indexes what it
// wrote after writing it, and every writer's input is redelivered until it
// has finished, so an index entry is never missing for long; a member
// whose record has expired is dropped when a listing meets it, and members
// older than the longest retention are trimmed by the writers.
//
// # Listing
//
// A listing walks the shards' indexes merged in (updated_at, id) order,
// oldest first, from a cursor, loads the records in pipelined batches and
// keeps those the filter accepts. That is the order a sync wants: a record
// that changes while a client pages moves behind the cursor and is seen
// again, never skipped. Filters are applied to what is read rather than
// kept in more indexes, so a filter that matches little can walk many
// records: one request examines at most ListBudget of them and then
// answers with what it found and a cursor to go on from. A page can
// therefore be short, even empty, with more to come; the listing has ended
// when no cursor comes back.

// ListBudget is how many records one listing request examines at most.
const ListBudget = 2000

// MaxListLimit is the largest page a listing returns.
const MaxListLimit = 200

// ListQuery selects a page of a listing.
type ListQuery struct {
	// Since keeps records updated at or after it; zero keeps all.
	Since time.Time
	// Cursor is where the previous page ended ("" for the first page).
	Cursor string
	// Limit is the most records to return, 1 to MaxListLimit.
	Limit int
}

// listPos is a position in an index: a record's score and id.
type listPos struct {
	at int64
	id string
}

func (p listPos) compare(q listPos) int {
	if c := cmp.Compare(p.at, q.at); c != 0 {
		return c
	}
	return strings.Compare(p.id, q.id)
}

// encodeCursor makes a position opaque: clients pass it back unchanged.
func encodeCursor(kind string, p listPos) string {
	return base64.RawURLEncoding.EncodeToString([]byte(kind + "|" + strconv.FormatInt(p.at, 10) + "|" + p.id))
}

func decodeCursor(kind, c string) (listPos, error) {
	bad := &FieldError{Field: "cursor", Message: "is not a cursor this listing returned"}
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return listPos{}, bad
	}
	parts := strings.SplitN(string(raw), "|", 3)
	if len(parts) != 3 || parts[0] != kind || parts[2] == "" {
		return listPos{}, bad
	}
	at, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil {
		return listPos{}, bad
	}
	return listPos{at: at, id: parts[2]}, nil
}

func (q ListQuery) start(kind string) (listPos, error) {
	switch {
	case q.Limit < 1 || q.Limit > MaxListLimit:
		return listPos{}, &FieldError{Field: "limit", Message: fmt.Sprintf("must be between 1 and %d", MaxListLimit)}
	case q.Cursor != "":
		return decodeCursor(kind, q.Cursor)
	case !q.Since.IsZero():
		// Everything at Since or later: start just before its first id.
		return listPos{at: q.Since.UnixMilli() - 1, id: "\xff"}, nil
	}
	return listPos{at: -1}, nil
}

func (s *Store) shipmentIndexKey(n int) string { return s.shardKey("idx:shipments", n) }
func (s *Store) orderIndexKey(n int) string    { return s.shardKey("idx:orders", n) }

// indexEntry says a shipment (and the order claiming it, if any) was
// updated at At (unix ms). Either id may be empty.
type indexEntry struct {
	Shipment, Order string
	At              int64
}

// indexer remembers when this process last trimmed each index shard.
type indexer struct {
	mu      sync.Mutex
	trimmed map[string]time.Time
}

// trimEvery is how often a process trims each index shard of members
// older than the longest retention.
const trimEvery = time.Hour

// addIndex queues the index writes for es on pipe (ZADD GT: only ever
// later), plus an occasional trim of members whose records have expired.
func (s *Store) addIndex(ctx context.Context, pipe redis.Pipeliner, es []indexEntry) {
	ship, ord := map[string]int64{}, map[string]int64{}
	for _, e := range es {
		if e.Shipment != "" && e.At > ship[e.Shipment] {
			ship[e.Shipment] = e.At
		}
		if e.Order != "" && e.At > ord[e.Order] {
			ord[e.Order] = e.At
		}
	}
	add := func(keyOf func(int) string, m map[string]int64) {
		byKey := map[string][]redis.Z{}
		for id, at := range m {
			k := keyOf(s.ShardOf(id))
			byKey[k] = append(byKey[k], redis.Z{Score: float64(at), Member: id})
		}
		for k, zs := range byKey {
			pipe.ZAddGT(ctx, k, zs...)
		}
	}
	add(s.shipmentIndexKey, ship)
	add(s.orderIndexKey, ord)
	if len(ship) > 0 {
		s.trimIndex(ctx, pipe)
	}
}

// trimIndex drops shipment index members older than any shipment is kept.
// Orders are not trimmed: they do not expire.
func (s *Store) trimIndex(ctx context.Context, pipe redis.Pipeliner) {
	now := time.Now()
	s.idx.mu.Lock()
	defer s.idx.mu.Unlock()
	if s.idx.trimmed == nil {
		s.idx.trimmed = map[string]time.Time{}
	}
	keep := max(s.cfg.RetainIdle, s.cfg.RetainFinished)
	for n := range s.cfg.Shards {
		k := s.shipmentIndexKey(n)
		if now.Sub(s.idx.trimmed[k]) < trimEvery {
			continue
		}
		s.idx.trimmed[k] = now
		pipe.ZRemRangeByScore(ctx, k, "-inf", "("+strconv.FormatInt(now.Add(-keep).UnixMilli(), 10))
	}
}

// index writes es to the indexes in one round trip.
func (s *Store) index(ctx context.Context, es []indexEntry) error {
	if len(es) == 0 {
		return nil
	}
	pipe := s.rdb.Pipeline()
	s.addIndex(ctx, pipe, es)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("index %d updates: %w", len(es), err)
	}
	return nil
}

// appliedEntries are the index entries of the shipments (and orders) an
// apply batch touched, duplicates included: a batch replayed after a crash
// between applying and indexing finds only duplicates, and must still
// index.
func appliedEntries(res []ApplyResult, errs []error) []indexEntry {
	es := make([]indexEntry, 0, len(res))
	for i, r := range res {
		if errs[i] == nil && r.ShipmentID != "" && r.UpdatedAt > 0 {
			es = append(es, indexEntry{Shipment: r.ShipmentID, Order: r.OrderID, At: r.UpdatedAt})
		}
	}
	return es
}

// shardCursor walks one index shard in order.
type shardCursor struct {
	key  string
	buf  []listPos
	last listPos // the last position fetched (or the start)
	done bool    // nothing after last
}

// fetch reads up to n members after c.last.
func (s *Store) fetch(ctx context.Context, c *shardCursor, n int) error {
	for off := int64(0); ; off += int64(n) {
		// From last's score, inclusive: members sharing it sort by id,
		// and those not after last are skipped.
		zs, err := s.rdb.ZRangeArgsWithScores(ctx, redis.ZRangeArgs{
			Key: c.key, Start: strconv.FormatInt(c.last.at, 10), Stop: "+inf", ByScore: true,
			Offset: off, Count: int64(n),
		}).Result()
		if err != nil {
			return fmt.Errorf("read index %s: %w", c.key, err)
		}
		for _, z := range zs {
			id, _ := z.Member.(string)
			p := listPos{at: int64(z.Score), id: id}
			if p.compare(c.last) > 0 {
				c.buf = append(c.buf, p)
			}
		}
		if len(zs) < n {
			c.done = true
		}
		if len(c.buf) > 0 || c.done {
			if len(c.buf) > 0 {
				c.last = c.buf[len(c.buf)-1]
			}
			return nil
		}
		// A whole page of members tied with last, all already seen.
	}
}

// walk calls keep with the next records of the indexes (keyOf names shard
// n), in order and in batches, until limit were kept or the budget is
// spent; keep says which of the ids to return. It returns the cursor to
// go on from, "" when the indexes are exhausted.
func (s *Store) walk(ctx context.Context, kind string, keyOf func(int) string, q ListQuery,
	keep func(ps []listPos) ([]bool, error)) (string, error) {
	from, err := q.start(kind)
	if err != nil {
		return "", err
	}
	cursors := make([]*shardCursor, s.cfg.Shards)
	for n := range cursors {
		cursors[n] = &shardCursor{key: keyOf(n), last: from}
	}
	chunk := min(max(q.Limit, 50), 500)
	kept, examined, step := 0, 0, q.Limit
	for {
		for _, c := range cursors {
			if len(c.buf) == 0 && !c.done {
				if err := s.fetch(ctx, c, chunk); err != nil {
					return "", err
				}
			}
		}
		// Safe to take: everything up to the smallest last-fetched position
		// of the shards that have more; beyond it another shard's next
		// member could come first.
		var bound *listPos
		for _, c := range cursors {
			if !c.done && (bound == nil || c.last.compare(*bound) < 0) {
				l := c.last
				bound = &l
			}
		}
		var batch []listPos
		for _, c := range cursors {
			i := len(c.buf)
			if bound != nil {
				i, _ = slices.BinarySearchFunc(c.buf, *bound, func(a, b listPos) int {
					if a.compare(b) <= 0 {
						return -1
					}
					return 1
				})
			}
			batch = append(batch, c.buf[:i]...)
			c.buf = c.buf[i:]
		}
		if len(batch) == 0 {
			return "", nil // every shard is done
		}
		slices.SortFunc(batch, listPos.compare)
		if room := ListBudget - examined; len(batch) > room {
			batch = batch[:room]
		}
		// Load no more than the page still needs, then twice as many each
		// time the filter keeps too few: an unfiltered page reads exactly
		// its records, a sparse filter soon reads in large batches. What
		// is not loaded when the page fills is read again by the next page.
		for len(batch) > 0 {
			part := batch[:min(len(batch), max(step, q.Limit-kept))]
			batch = batch[len(part):]
			step *= 2
			ok, err := keep(part)
			if err != nil {
				return "", err
			}
			for i, p := range part {
				examined++
				if ok[i] {
					kept++
					if kept == q.Limit {
						return encodeCursor(kind, p), nil
					}
				}
			}
			if examined >= ListBudget {
				return encodeCursor(kind, part[len(part)-1]), nil
			}
		}
	}
}

// ListShipments returns a page of shipments in (updated_at, id) order that
// match accepts, and the cursor of the next page ("" at the end). match
// sees each shipment's state without its history.
func (s *Store) ListShipments(ctx context.Context, q ListQuery, match func(*Shipment) bool) ([]*Shipment, string, error) {
	var out []*Shipment
	next, err := s.walk(ctx, "s", s.shipmentIndexKey, q, func(ps []listPos) ([]bool, error) {
		ids := posIDs(ps)
		pipe := s.rdb.Pipeline()
		cmds := make([]*redis.MapStringStringCmd, len(ids))
		for i, id := range ids {
			cmds[i] = pipe.HGetAll(ctx, s.StateKey(id))
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, fmt.Errorf("read %d shipments: %w", len(ids), err)
		}
		ok := make([]bool, len(ids))
		var gone []listPos
		for i, c := range cmds {
			m := c.Val()
			if len(m) == 0 {
				gone = append(gone, ps[i])
				continue
			}
			sh, err := shipmentFromHash(m)
			if err != nil {
				return nil, fmt.Errorf("shipment %s: %w", ids[i], err)
			}
			if ok[i] = match(sh); ok[i] && len(out) < q.Limit {
				out = append(out, sh)
			}
		}
		return ok, s.dropFromIndex(ctx, s.shipmentIndexKey, gone)
	})
	if err != nil {
		return nil, "", err
	}
	return out, next, nil
}

// OrderRecord is an order with its shipments' states (without history),
// as a listing reads them.
type OrderRecord struct {
	Order     Order
	Shipments map[string]*Shipment
}

// ListOrders returns a page of orders in (updated_at, id) order that
// match accepts, and the cursor of the next page ("" at the end).
func (s *Store) ListOrders(ctx context.Context, q ListQuery, match func(OrderRecord) bool) ([]OrderRecord, string, error) {
	var out []OrderRecord
	next, err := s.walk(ctx, "o", s.orderIndexKey, q, func(ps []listPos) ([]bool, error) {
		ids := posIDs(ps)
		pipe := s.rdb.Pipeline()
		cmds := make([]*redis.SliceCmd, len(ids))
		for i, id := range ids {
			cmds[i] = pipe.HMGet(ctx, s.orderKey(id), "doc", "token")
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, fmt.Errorf("read %d orders: %w", len(ids), err)
		}
		recs := make([]*OrderRecord, len(ids))
		var gone []listPos
		pipe = s.rdb.Pipeline()
		states := map[string]*redis.MapStringStringCmd{}
		for i, c := range cmds {
			v := c.Val()
			doc, _ := v[0].(string)
			if doc == "" {
				gone = append(gone, ps[i])
				continue
			}
			var o Order
			if err := json.Unmarshal([]byte(doc), &o); err != nil {
				return nil, fmt.Errorf("decode order %s: %w", ids[i], err)
			}
			o.Token, _ = v[1].(string)
			recs[i] = &OrderRecord{Order: o, Shipments: map[string]*Shipment{}}
			for _, sc := range o.Shipments {
				if states[sc.ID] == nil {
					states[sc.ID] = pipe.HGetAll(ctx, s.StateKey(sc.ID))
				}
			}
		}
		if len(states) > 0 {
			if _, err := pipe.Exec(ctx); err != nil {
				return nil, fmt.Errorf("read shipments of %d orders: %w", len(ids), err)
			}
		}
		ok := make([]bool, len(ids))
		for i, r := range recs {
			if r == nil {
				continue
			}
			for _, sc := range r.Order.Shipments {
				if m := states[sc.ID].Val(); len(m) > 0 {
					sh, err := shipmentFromHash(m)
					if err != nil {
						return nil, fmt.Errorf("shipment %s: %w", sc.ID, err)
					}
					r.Shipments[sc.ID] = sh
				}
			}
			if ok[i] = match(*r); ok[i] && len(out) < q.Limit {
				out = append(out, *r)
			}
		}
		return ok, s.dropFromIndex(ctx, s.orderIndexKey, gone)
	})
	if err != nil {
		return nil, "", err
	}
	return out, next, nil
}

func posIDs(ps []listPos) []string {
	ids := make([]string, len(ps))
	for i, p := range ps {
		ids[i] = p.id
	}
	return ids
}

// dropIndexLua removes an index member whose record was found gone, unless
// its score moved since: then a writer has just made the record again.
var dropIndexLua = redis.NewScript(`
if redis.call('ZSCORE', KEYS[1], ARGV[1]) == ARGV[2] then
  return redis.call('ZREM', KEYS[1], ARGV[1])
end
return 0`)

// dropFromIndex removes members whose records are gone.
func (s *Store) dropFromIndex(ctx context.Context, keyOf func(int) string, ps []listPos) error {
	if len(ps) == 0 {
		return nil
	}
	pipe := s.rdb.Pipeline()
	for _, p := range ps {
		dropIndexLua.Eval(ctx, pipe, []string{keyOf(s.ShardOf(p.id))}, p.id, strconv.FormatInt(p.at, 10))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("drop %d expired index members: %w", len(ps), err)
	}
	return nil
}
