package salesforce

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/trackd/trackd/tracking"
	"github.com/trackd/trackd/tracking/redistest"
)

// env is a connector over a real store, one shard, a fake Salesforce and
// a clock the test moves.
type env struct {
	t     *testing.T
	ctx   context.Context
	rdb   redis.UniversalClient
	store *tracking.Store
	sf    *fakeSF
	cfg   Config
	dlog  *Log
	c     *Connector
	clock atomic.Int64
}

var t0 = time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)

func newEnv(t *testing.T, rdb redis.UniversalClient) *env {
	t.Helper()
	prefix := redistest.Prefix(t)
	scfg := tracking.DefaultStoreConfig()
	scfg.Prefix, scfg.Shards = prefix, 1
	store, err := tracking.NewStore(rdb, scfg)
	if err != nil {
		t.Fatal(err)
	}
	sf := newFakeSF(t)
	cfg := testConfig(sf.srv.URL)
	cfg.Prefix, cfg.Shards = prefix, 1
	e := &env{t: t, ctx: context.Background(), rdb: rdb, store: store, sf: sf, cfg: cfg,
		dlog: NewLog(rdb, prefix, 1000, cfg.LogRetention)}
	e.clock.Store(t0.UnixMilli())
	e.c = e.connector("node-1")
	if err := rdb.XGroupCreateMkStream(e.ctx, store.ChangesKey(0), cfg.Group, "0").Err(); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) connector(consumer string) *Connector {
	cfg := e.cfg
	cfg.Consumer = consumer
	api := NewClient(cfg, e.sf.srv.Client())
	api.now = e.now
	c := New(e.rdb, e.store, api, e.dlog, cfg, slog.New(slog.DiscardHandler))
	c.now = e.now
	return c
}

func (e *env) now() time.Time          { return time.UnixMilli(e.clock.Load()).UTC() }
func (e *env) advance(d time.Duration) { e.clock.Add(d.Milliseconds()) }

// scan applies one carrier event (and an estimate) through the store and
// forwards the change to the change stream, as the processors do.
func (e *env) scan(number string, st tracking.Status, at time.Time, eta string) {
	e.t.Helper()
	res, err := e.store.Apply(e.ctx, tracking.Update{Carrier: "ups", TrackingNumber: number, EstimatedDelivery: eta,
		Events:     []tracking.Event{{Status: st, Message: string(st), OccurredAt: at.UTC(), OccurredAtLocal: at}},
		ReceivedAt: e.now()})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.store.ForwardChanges(e.ctx, res.Outbox); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) read(c *Connector) int {
	e.t.Helper()
	n, err := c.ReadOnce(e.ctx, 0, ">", -1)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

func (e *env) send(c *Connector) int {
	e.t.Helper()
	n, err := c.SendOnce(e.ctx, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// flush reads what is new, lets the linger pass and sends.
func (e *env) flush() int {
	e.t.Helper()
	e.read(e.c)
	e.advance(e.cfg.Linger)
	return e.send(e.c)
}

// results are the delivery log's entries, oldest first, as
// "<tracking number> <salesforce id> <result> #<attempt>".
func (e *env) results() []string {
	e.t.Helper()
	entries, _, err := e.dlog.List(e.ctx, ListOptions{Limit: 500})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, en := range slices.Backward(entries) {
		out = append(out, fmt.Sprintf("%s %s %s #%d", en.TrackingNumber, en.SalesforceID, en.Result, en.Attempt))
	}
	return out
}

func (e *env) queued() int64 {
	e.t.Helper()
	n, err := e.rdb.ZCard(e.ctx, e.c.queueKeys(0)[0]).Result()
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

func wantResults(t *testing.T, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("delivery log:\n got %q\nwant %q", got, want)
	}
}

const (
	numA, idA = "1Z999AA10000000001", "0OBxx0000000001AAA"
	numB, idB = "1Z999AA10000000002", "0OBxx0000000002AAA"
	numC, idC = "1Z999AA10000000003", "0OBxx0000000003AAA"
	numD, idD = "1Z999AA10000000004", "0OBxx0000000004AAA"
)

func TestConnector_WritesStatusAndDates(t *testing.T) {
	backends := map[string]func(t *testing.T) redis.UniversalClient{
		"redis-server": func(t *testing.T) redis.UniversalClient { return srv.Client(t) },
		// make run's embedded Redis must run the scripts the same way.
		"embedded": func(t *testing.T) redis.UniversalClient {
			mr := miniredis.RunT(t)
			c := redis.NewClient(&redis.Options{Addr: mr.Addr()})
			t.Cleanup(func() { c.Close() })
			return c
		},
	}
	for name, client := range backends {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, client(t))
			e.sf.addShipment(idA, numA)
			e.sf.addShipment(idB, numB)
			e.scan(numA, tracking.StatusInTransit, t0.Add(-2*time.Hour), "2026-11-27")
			delivered := time.Date(2026, 11, 25, 9, 30, 0, 0, time.FixedZone("EST", -5*3600))
			e.scan(numB, tracking.StatusDelivered, delivered, "")

			if n := e.read(e.c); n != 2 {
				t.Fatalf("read %d changes, want 2", n)
			}
			if n := e.send(e.c); n != 0 {
				t.Fatalf("sent %d jobs before the linger passed", n)
			}
			e.advance(e.cfg.Linger)
			if n := e.send(e.c); n != 2 {
				t.Fatalf("sent %d jobs, want 2", n)
			}
			if tokens, queries, patches := e.sf.counts(); tokens != 1 || queries != 1 || patches != 1 {
				t.Fatalf("%d tokens, %d queries, %d updates; want one of each", tokens, queries, patches)
			}
			recs := map[string]map[string]any{}
			for _, r := range e.sf.patch(0) {
				recs[r["id"].(string)] = r
			}
			wantA := map[string]any{"attributes": map[string]any{"type": "Shipment"}, "id": idA,
				"Status": "In Transit", "ExpectedDeliveryDate": "2026-11-27T12:00:00.000Z"}
			wantB := map[string]any{"attributes": map[string]any{"type": "Shipment"}, "id": idB,
				"Status": "Delivered", "ActualDeliveryDate": "2026-11-25T14:30:00.000Z"}
			if !jsonEqual(recs[idA], wantA) || !jsonEqual(recs[idB], wantB) {
				t.Errorf("records:\n%v\n%v\nwant\n%v\n%v", recs[idA], recs[idB], wantA, wantB)
			}
			wantResults(t, e.results(), numA+" "+idA+" written #1", numB+" "+idB+" written #1")
			if n := e.queued(); n != 0 {
				t.Errorf("%d jobs still queued", n)
			}

			// The next change of A uses the cached id: no query.
			e.scan(numA, tracking.StatusDelivered, t0.Add(-time.Hour), "")
			if n := e.flush(); n != 1 {
				t.Fatalf("sent %d, want 1", n)
			}
			if _, queries, patches := e.sf.counts(); queries != 1 || patches != 2 {
				t.Errorf("%d queries, %d updates; want 1 and 2", queries, patches)
			}
			if got := e.sf.field(idA, "ActualDeliveryDate"); got != "2026-11-25T14:00:00.000Z" {
				t.Errorf("A's ActualDeliveryDate = %v", got)
			}
		})
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func TestConnector_BurstWritesOnlyTheLatest(t *testing.T) {
	e := newEnv(t, srv.Client(t))
	e.sf.addShipment(idA, numA)
	e.scan(numA, tracking.StatusInTransit, t0.Add(-3*time.Hour), "2026-11-27")
	e.scan(numA, tracking.StatusOutForDelivery, t0.Add(-2*time.Hour), "")
	e.scan(numA, tracking.StatusDelivered, t0.Add(-time.Hour), "")
	if n := e.flush(); n != 1 {
		t.Fatalf("sent %d jobs, want 1", n)
	}
	recs := e.sf.patch(0)
	if len(recs) != 1 || recs[0]["Status"] != "Delivered" || recs[0]["ExpectedDeliveryDate"] != "2026-11-27T12:00:00.000Z" {
		t.Errorf("records %v, want one, delivered, with the estimate", recs)
	}
}

func TestConnector_TokenExpiryRefreshesOnceAndRetries(t *testing.T) {
	e := newEnv(t, srv.Client(t))
	e.sf.addShipment(idA, numA)
	e.scan(numA, tracking.StatusInTransit, t0.Add(-2*time.Hour), "")
	e.flush()
	e.sf.revokeTokens() // Salesforce ended the session: 401 INVALID_SESSION_ID
	e.scan(numA, tracking.StatusDelivered, t0.Add(-time.Hour), "")
	if n := e.flush(); n != 1 {
		t.Fatalf("sent %d", n)
	}
	tokens, _, patches := e.sf.counts()
	if tokens != 2 || patches != 2 {
		t.Errorf("%d token requests, %d updates carried out; want 2 and 2", tokens, patches)
	}
	if got := e.sf.field(idA, "Status"); got != "Delivered" {
		t.Errorf("Status = %v", got)
	}
	wantResults(t, e.results(), numA+" "+idA+" written #1", numA+" "+idA+" written #1")
}

func TestConnector_PartialFailureRetriesOnlyFailedRecords(t *testing.T) {
	e := newEnv(t, srv.Client(t))
	for id, n := range map[string]string{idA: numA, idB: numB, idC: numC, idD: numD} {
		e.sf.addShipment(id, n)
		e.scan(n, tracking.StatusInTransit, t0.Add(-time.Hour), "")
	}
	e.sf.failRecord(idB, "UNABLE_TO_LOCK_ROW")
	e.sf.failRecord(idD, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST")
	if n := e.flush(); n != 4 {
		t.Fatalf("sent %d", n)
	}
	if got := len(e.sf.patch(0)); got != 4 {
		t.Fatalf("first update has %d records, want 4", got)
	}
	got := e.results()
	slices.Sort(got)
	wantResults(t, got,
		numA+" "+idA+" written #1", numB+" "+idB+" retrying #1", numC+" "+idC+" written #1", numD+" "+idD+" failed #1")

	// Not before the backoff.
	e.advance(e.cfg.BackoffBase - time.Millisecond)
	if n := e.send(e.c); n != 0 {
		t.Fatalf("retried %d before the backoff", n)
	}
	e.advance(time.Millisecond)
	if n := e.send(e.c); n != 1 {
		t.Fatalf("retried %d jobs, want 1", n)
	}
	second := e.sf.patch(1)
	if len(second) != 1 || second[0]["id"] != idB {
		t.Errorf("retry sent %v, want B's record alone", second)
	}
	if got := e.sf.field(idB, "Status"); got != "In Transit" {
		t.Errorf("B's Status = %v", got)
	}
	if r := e.results(); r[len(r)-1] != numB+" "+idB+" written #2" {
		t.Errorf("last entry %q", r[len(r)-1])
	}
	if n := e.queued(); n != 0 {
		t.Errorf("%d jobs still queued", n)
	}
}

func TestConnector_ServerErrorsBackOff(t *testing.T) {
	tests := []struct {
		name    string
		answers []answer
		waits   []time.Duration // before each retry
	}{
		{"503 without Retry-After", []answer{{status: 503}}, []time.Duration{30 * time.Second}},
		{"503 twice doubles", []answer{{status: 503}, {status: 503}}, []time.Duration{30 * time.Second, time.Minute}},
		{"429 with Retry-After", []answer{{status: 429, retryAfter: "120"}}, []time.Duration{2 * time.Minute}},
		{"500", []answer{{status: 500}}, []time.Duration{30 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, srv.Client(t))
			e.sf.addShipment(idA, numA)
			// The query goes through; the updates get the answers.
			e.sf.answerNext(append([]answer{{status: 200}}, tt.answers...)...)
			e.scan(numA, tracking.StatusInTransit, t0.Add(-time.Hour), "")
			e.flush()
			for i, wait := range tt.waits {
				e.advance(wait - time.Millisecond)
				if n := e.send(e.c); n != 0 {
					t.Fatalf("retry %d: tried %d jobs before %v", i+1, n, wait)
				}
				e.advance(time.Millisecond)
				if n := e.send(e.c); n != 1 {
					t.Fatalf("retry %d: tried %d jobs after %v, want 1", i+1, n, wait)
				}
			}
			if got := e.sf.field(idA, "Status"); got != "In Transit" {
				t.Errorf("Status = %v after the retries", got)
			}
			var want []string
			for i := range tt.answers {
				want = append(want, fmt.Sprintf("%s %s retrying #%d", numA, idA, i+1))
			}
			want = append(want, fmt.Sprintf("%s %s written #%d", numA, idA, len(tt.answers)+1))
			wantResults(t, e.results(), want...)
			if _, queries, _ := e.sf.counts(); queries != 1 {
				t.Errorf("%d queries, want 1: the ids are cached", queries)
			}
		})
	}
}

func TestConnector_UnknownTrackingNumberIsSkipped(t *testing.T) {
	e := newEnv(t, srv.Client(t))
	e.scan(numA, tracking.StatusInTransit, t0.Add(-time.Hour), "")
	if n := e.flush(); n != 1 {
		t.Fatalf("sent %d", n)
	}
	wantResults(t, e.results(), numA+"  skipped #1")
	if _, _, patches := e.sf.counts(); patches != 0 {
		t.Errorf("%d updates", patches)
	}
	if n := e.queued(); n != 0 {
		t.Errorf("%d jobs still queued: a number Salesforce lacks is no error to retry", n)
	}
}

func TestConnector_StaleIDIsLookedUpAgain(t *testing.T) {
	e := newEnv(t, srv.Client(t))
	e.sf.addShipment(idA, numA)
	e.scan(numA, tracking.StatusInTransit, t0.Add(-2*time.Hour), "")
	e.flush()
	// The record was deleted and created again under a new id.
	e.sf.removeShipment(idA)
	e.sf.addShipment(idB, numA)
	e.scan(numA, tracking.StatusDelivered, t0.Add(-time.Hour), "")
	e.flush()
	e.advance(e.cfg.BackoffBase)
	e.send(e.c)
	wantResults(t, e.results(), numA+" "+idA+" written #1", numA+" "+idA+" retrying #1", numA+" "+idB+" written #2")
	if got := e.sf.field(idB, "Status"); got != "Delivered" {
		t.Errorf("new record's Status = %v", got)
	}
}

func TestConnector_GivesUpAfterMaxAttempts(t *testing.T) {
	e := newEnv(t, srv.Client(t))
	e.cfg.MaxAttempts = 2
	e.c = e.connector("node-1")
	e.sf.addShipment(idA, numA)
	e.sf.failRecord(idA, "UNABLE_TO_LOCK_ROW")
	e.scan(numA, tracking.StatusInTransit, t0.Add(-time.Hour), "")
	e.flush()
	e.sf.failRecord(idA, "UNABLE_TO_LOCK_ROW")
	e.advance(e.cfg.BackoffBase)
	e.send(e.c)
	wantResults(t, e.results(), numA+" "+idA+" retrying #1", numA+" "+idA+" failed #2")
	if n := e.queued(); n != 0 {
		t.Errorf("%d jobs still queued", n)
	}
}

func TestConnector_OlderChangeNeverOverwritesNewer(t *testing.T) {
	e := newEnv(t, srv.Client(t))
	e.sf.addShipment(idA, numA)
	e.scan(numA, tracking.StatusInTransit, t0.Add(-2*time.Hour), "")
	e.read(e.c)
	first, err := e.rdb.XRange(e.ctx, e.store.ChangesKey(0), "-", "+").Result()
	if err != nil || len(first) != 1 {
		t.Fatal(first, err)
	}
	e.scan(numA, tracking.StatusDelivered, t0.Add(-time.Hour), "")
	e.read(e.c)
	// The first change forwarded again (a processor that crashed between
	// forwarding and clearing its outbox): it must not win.
	redeliver := func() {
		if err := e.rdb.XAdd(e.ctx, &redis.XAddArgs{Stream: e.store.ChangesKey(0), Values: first[0].Values}).Err(); err != nil {
			t.Fatal(err)
		}
		e.read(e.c)
	}
	redeliver()
	e.advance(e.cfg.Linger)
	e.send(e.c)
	if got := e.sf.field(idA, "Status"); got != "Delivered" {
		t.Fatalf("Status = %v, want Delivered", got)
	}
	// And not after the newer one was written either.
	redeliver()
	if n := e.queued(); n != 0 {
		t.Errorf("the old change queued a job again")
	}
}

func TestConnector_ChangeDuringFlightIsWrittenAfter(t *testing.T) {
	e := newEnv(t, srv.Client(t))
	e.sf.addShipment(idA, numA)
	e.scan(numA, tracking.StatusInTransit, t0.Add(-2*time.Hour), "")
	e.read(e.c)
	e.advance(e.cfg.Linger)
	e.sf.mu.Lock()
	e.sf.onUpdate = func() {
		// Delivered while the in-transit record is on its way.
		e.scan(numA, tracking.StatusDelivered, t0.Add(-time.Hour), "")
		e.read(e.c)
	}
	e.sf.mu.Unlock()
	e.send(e.c)
	if got := e.sf.field(idA, "Status"); got != "In Transit" {
		t.Fatalf("Status = %v after the first update", got)
	}
	// The newer job is due at once, not after a linger or a backoff.
	if n := e.send(e.c); n != 1 {
		t.Fatalf("sent %d, want the newer job", n)
	}
	if got := e.sf.field(idA, "Status"); got != "Delivered" {
		t.Errorf("Status = %v, want Delivered", got)
	}
}

func TestConnector_NothingLostWhenStopped(t *testing.T) {
	t.Run("between reading and queueing", func(t *testing.T) {
		e := newEnv(t, srv.Client(t))
		e.sf.addShipment(idA, numA)
		e.scan(numA, tracking.StatusInTransit, t0.Add(-time.Hour), "")
		// node-1 read the change and died before queueing it.
		if err := e.rdb.XReadGroup(e.ctx, &redis.XReadGroupArgs{Group: e.cfg.Group, Consumer: "node-1",
			Streams: []string{e.store.ChangesKey(0), ">"}, Count: 10, Block: -1}).Err(); err != nil {
			t.Fatal(err)
		}
		restarted := e.connector("node-1")
		if n := e.read(restarted); n != 0 {
			t.Fatalf("new entries: %d", n)
		}
		if n, err := restarted.ReadOnce(e.ctx, 0, "0", -1); err != nil || n != 1 {
			t.Fatalf("pending entries read again: %d, %v; want 1", n, err)
		}
		e.advance(e.cfg.Linger)
		e.send(restarted)
		if got := e.sf.field(idA, "Status"); got != "In Transit" {
			t.Errorf("Status = %v", got)
		}
	})
	t.Run("between queueing and writing", func(t *testing.T) {
		e := newEnv(t, srv.Client(t))
		e.sf.addShipment(idA, numA)
		e.scan(numA, tracking.StatusInTransit, t0.Add(-time.Hour), "")
		e.read(e.c) // queued and acknowledged; node-1 then stops
		other := e.connector("node-2")
		e.advance(e.cfg.Linger)
		if n := e.send(other); n != 1 {
			t.Fatalf("node-2 sent %d", n)
		}
		if got := e.sf.field(idA, "Status"); got != "In Transit" {
			t.Errorf("Status = %v", got)
		}
	})
	t.Run("between claiming and completing", func(t *testing.T) {
		e := newEnv(t, srv.Client(t))
		e.sf.addShipment(idA, numA)
		e.scan(numA, tracking.StatusInTransit, t0.Add(-time.Hour), "")
		e.read(e.c)
		e.advance(e.cfg.Linger)
		// node-1 claims the job and dies.
		if err := e.c.claim.Run(e.ctx, e.rdb, e.c.queueKeys(0), e.now().UnixMilli(), e.cfg.Lease.Milliseconds(), 10).Err(); err != nil {
			t.Fatal(err)
		}
		other := e.connector("node-2")
		if n := e.send(other); n != 0 {
			t.Fatalf("node-2 took a leased job")
		}
		e.advance(e.cfg.Lease)
		if n := e.send(other); n != 1 {
			t.Fatalf("node-2 sent %d after the lease, want 1", n)
		}
		if got := e.sf.field(idA, "Status"); got != "In Transit" {
			t.Errorf("Status = %v", got)
		}
	})
}

func TestConnector_SkipsWhatSalesforceDoesNotHold(t *testing.T) {
	e := newEnv(t, srv.Client(t))
	e.sf.addShipment(idA, numA)
	// An exception maps to nothing by default and brings no estimate:
	// nothing to write, nothing queued.
	e.scan(numA, tracking.StatusException, t0.Add(-time.Hour), "")
	e.read(e.c)
	if n := e.queued(); n != 0 {
		t.Errorf("%d jobs queued for a change with nothing to write", n)
	}
}

func TestConnector_Run(t *testing.T) {
	e := newEnv(t, srv.Client(t))
	e.cfg.Linger, e.cfg.Idle = 10*time.Millisecond, 10*time.Millisecond
	c := e.connector("node-1")
	c.now, c.api.now = time.Now, time.Now
	e.sf.addShipment(idA, numA)
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan error)
	go func() { done <- c.Run(ctx) }()
	e.scan(numA, tracking.StatusDelivered, t0.Add(-time.Hour), "2026-11-25")
	deadline := time.Now().Add(30 * time.Second)
	for e.sf.field(idA, "Status") != "Delivered" {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting for the record to be written")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestConnector_ShutdownMidAttemptReleasesJobs(t *testing.T) {
	e := newEnv(t, srv.Client(t))
	e.sf.addShipment(idA, numA)
	e.scan(numA, tracking.StatusInTransit, t0.Add(-time.Hour), "")
	e.read(e.c)
	e.advance(e.cfg.Linger)
	ctx, cancel := context.WithCancel(e.ctx)
	e.sf.mu.Lock()
	e.sf.onUpdate = cancel // the node is told to stop while the update is on its way
	e.sf.mu.Unlock()
	if _, err := e.c.SendOnce(ctx, 0); err == nil {
		t.Fatal("SendOnce on a cancelled context: no error")
	}
	// Due again at once, on the same try, and nothing logged as failed.
	if n := e.send(e.connector("node-2")); n != 1 {
		t.Fatalf("node-2 sent %d, want the released job", n)
	}
	wantResults(t, e.results(), numA+" "+idA+" written #1")
}
