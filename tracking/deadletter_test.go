package tracking

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// addDead writes a dead letter with a chosen stream id (ms-0) in shard.
func addDead(t *testing.T, s *Store, shard int, ms int64, src, body, ingestID string) string {
	t.Helper()
	id := fmt.Sprintf("%d-0", ms)
	err := s.rdb.XAdd(context.Background(), &redis.XAddArgs{Stream: s.DeadLetterKey(shard), ID: id,
		Values: []any{"ingest_id", ingestID, "src", src, "body", body, "reason", "cannot parse", "at", ms - 1000}}).Err()
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%d-%s", shard, id)
}

func ingestEntries(t *testing.T, s *Store) []redis.XMessage {
	t.Helper()
	var all []redis.XMessage
	for shard := range s.cfg.Shards {
		msgs, err := s.rdb.XRange(context.Background(), s.IngestKey(shard), "-", "+").Result()
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, msgs...)
	}
	return all
}

func TestDeadLetters_ListedNewestFirstAcrossShardsByPage(t *testing.T) {
	for _, b := range backends {
		t.Run(b.Name, func(t *testing.T) {
			s := newTestStore(t, b.Client(t))
			ctx := context.Background()
			base := int64(1_764_000_000_000)
			// Interleaved over four shards; two in one millisecond in
			// different shards.
			var want []string // newest first
			for i := range 9 {
				src := "ups"
				if i%3 == 0 {
					src = "fedex"
				}
				want = append([]string{addDead(t, s, i%4, base+int64(i/2)*10, src, fmt.Sprintf(`{"n":%d}`, i), fmt.Sprintf("%d-0", base+int64(i)))}, want...)
			}
			// Same ms, shards 0 and 1: shard 1 first; the loop added them as
			// i=0 (shard 0) and i=1 (shard 1), i.e. want ends ..., 1-…, 0-….
			var got []string
			cursor := ""
			for pages := 0; ; pages++ {
				es, next, err := s.DeadLetters(ctx, DeadLetterFilter{Limit: 2, Cursor: cursor})
				if err != nil {
					t.Fatal(err)
				}
				if len(es) > 2 || pages > 10 {
					t.Fatalf("page of %d, %d pages", len(es), pages)
				}
				for _, e := range es {
					got = append(got, e.Ref)
				}
				if next == "" {
					break
				}
				cursor = next
			}
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("listed\n %v\nwant\n %v", got, want)
			}

			es, next, err := s.DeadLetters(ctx, DeadLetterFilter{Sources: []string{"fedex"}})
			if err != nil || next != "" || len(es) != 3 {
				t.Fatalf("fedex: %d entries, next %q, %v", len(es), next, err)
			}
			e := es[0]
			if e.Source != "fedex" || e.Body != `{"n":6}` || e.Reason != "cannot parse" || e.IngestID != fmt.Sprintf("%d-0", base+6) ||
				!e.At.Equal(time.UnixMilli(base+30)) || !e.Accepted.Equal(time.UnixMilli(base+30-1000)) || e.Replay != nil {
				t.Errorf("newest fedex entry %+v", e)
			}
			es, _, err = s.DeadLetters(ctx, DeadLetterFilter{Since: time.UnixMilli(base + 30)})
			if err != nil || len(es) != 3 {
				t.Errorf("since: %d entries, %v; want the 3 of the last two milliseconds", len(es), err)
			}
			if _, _, err := s.DeadLetters(ctx, DeadLetterFilter{Cursor: "9-1-0"}); !errors.Is(err, ErrInvalidCursor) {
				t.Errorf("a cursor of a shard that does not exist: %v", err)
			}
			if _, err := s.DeadLetter(ctx, "0-1-0"); !errors.Is(err, ErrNotFound) {
				t.Errorf("missing entry: %v", err)
			}
			for _, ref := range []string{"", "x", "0", "00-1-0", "-1-1-0", "0-a-b"} {
				if _, err := s.DeadLetter(ctx, ref); !errors.Is(err, ErrNotFound) {
					t.Errorf("ref %q: %v", ref, err)
				}
			}
			one, err := s.DeadLetter(ctx, want[0])
			if err != nil || one.Ref != want[0] || one.Body != `{"n":8}` {
				t.Errorf("one entry %+v, %v", one, err)
			}
		})
	}
}

func TestDeadLetters_SparseFilterPagesByWhatWasRead(t *testing.T) {
	s := newTestStore(t, realRedis.Client(t))
	s.cfg.Shards = 1
	ctx := context.Background()
	base := int64(1_764_000_000_000)
	// One match, then more non-matching entries than one request reads.
	addDead(t, s, 0, base, "dhl", "old", "1-0")
	pipe := s.rdb.Pipeline()
	for i := range deadLetterScan + 500 {
		pipe.XAdd(ctx, &redis.XAddArgs{Stream: s.DeadLetterKey(0), ID: fmt.Sprintf("%d-0", base+1+int64(i)),
			Values: []any{"src", "ups", "body", "x", "reason", "r", "at", "1"}})
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	es, next, err := s.DeadLetters(ctx, DeadLetterFilter{Sources: []string{"dhl"}})
	if err != nil || len(es) != 0 || next == "" {
		t.Fatalf("first page %d entries, next %q, %v: want none yet, and a cursor", len(es), next, err)
	}
	es, next, err = s.DeadLetters(ctx, DeadLetterFilter{Sources: []string{"dhl"}, Cursor: next})
	if err != nil || len(es) != 1 || es[0].Body != "old" || next != "" {
		t.Fatalf("second page %v, next %q, %v: want the match, and the end", es, next, err)
	}
}

func TestReplayDeadLetter_AppendsOnceHoweverOftenAsked(t *testing.T) {
	for _, b := range backends {
		t.Run(b.Name, func(t *testing.T) {
			s := newTestStore(t, b.Client(t))
			ctx := context.Background()
			now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
			ref := addDead(t, s, 2, 1_764_000_000_000, "ups", `{"a":"</pre>"}`, "1763999999000-3")
			// The processor wrote a second dead letter for the same message
			// (it died before acknowledging): one replay covers both.
			twin := addDead(t, s, 2, 1_764_000_000_500, "ups", `{"a":"</pre>"}`, "1763999999000-3")

			var wg sync.WaitGroup
			var replayed atomic.Int32
			for i := range 20 {
				wg.Go(func() {
					ask := ref
					if i%2 == 1 {
						ask = twin
					}
					e, did, err := s.ReplayDeadLetter(ctx, ask, fmt.Sprintf("ops%d@example.com", i), now)
					if err != nil {
						t.Error(err)
						return
					}
					if did {
						replayed.Add(1)
					}
					if e.Replay == nil || e.Replay.IngestID == "" {
						t.Errorf("answer without its replay: %+v", e)
					}
				})
			}
			wg.Wait()
			if replayed.Load() != 1 {
				t.Errorf("%d calls replayed, want 1", replayed.Load())
			}
			in := ingestEntries(t, s)
			if len(in) != 1 {
				t.Fatalf("%d ingest entries, want 1", len(in))
			}
			v := in[0].Values
			if v["src"] != "ups" || v["body"] != `{"a":"</pre>"}` || (v["at"] != "1763999999000" && v["at"] != "1763999999500") || v["replay_of"] == "" {
				t.Errorf("appended %v: want the source, the raw body and the original acceptance time", v)
			}
			// Asked again later: nothing more.
			e, did, err := s.ReplayDeadLetter(ctx, ref, "late@example.com", now.Add(time.Hour))
			if err != nil || did || e.Replay.IngestID != in[0].ID || !e.Replay.At.Equal(now) || !strings.HasPrefix(e.Replay.By, "ops") {
				t.Errorf("again: %+v, %v, %v", e.Replay, did, err)
			}
			if n := len(ingestEntries(t, s)); n != 1 {
				t.Errorf("%d ingest entries after asking again, want 1", n)
			}
			list, _, err := s.DeadLetters(ctx, DeadLetterFilter{})
			if err != nil || len(list) != 2 || list[0].Replay == nil || list[1].Replay == nil {
				t.Errorf("listed %+v, %v: want both shown replayed", list, err)
			}
			if _, _, err := s.ReplayDeadLetter(ctx, "2-1-0", "x", now); !errors.Is(err, ErrNotFound) {
				t.Errorf("replay of a missing entry: %v", err)
			}
		})
	}
}

func TestReplayDeadLetters_AllOfASourceSince(t *testing.T) {
	for _, b := range backends {
		t.Run(b.Name, func(t *testing.T) {
			s := newTestStore(t, b.Client(t))
			ctx := context.Background()
			now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
			base := int64(1_764_000_000_000)
			addDead(t, s, 0, base, "ups", "too old", "1-0")
			addDead(t, s, 1, base+100, "ups", "a", "2-0")
			addDead(t, s, 3, base+200, "ups/poll", "b", "3-0")
			addDead(t, s, 3, base+300, "fedex", "not this carrier", "4-0")
			done := addDead(t, s, 0, base+400, "ups", "c", "5-0")
			if _, _, err := s.ReplayDeadLetter(ctx, done, "x", now); err != nil {
				t.Fatal(err)
			}
			sum, err := s.ReplayDeadLetters(ctx, ReplayFilter{Sources: []string{"ups", "ups/poll"}, Since: time.UnixMilli(base + 100)}, "ops@example.com", now)
			if err != nil {
				t.Fatal(err)
			}
			if sum.Replayed != 2 || sum.Already != 1 || sum.Cursor != "" {
				t.Errorf("summary %+v: want 2 replayed, 1 already, done", sum)
			}
			bodies := map[string]string{}
			for _, m := range ingestEntries(t, s) {
				bodies[m.Values["body"].(string)] = m.Values["src"].(string)
			}
			if len(bodies) != 3 || bodies["a"] != "ups" || bodies["b"] != "ups/poll" || bodies["c"] != "ups" {
				t.Errorf("ingest holds %v", bodies)
			}
			again, err := s.ReplayDeadLetters(ctx, ReplayFilter{Sources: []string{"ups", "ups/poll"}, Since: time.UnixMilli(base + 100)}, "ops@example.com", now)
			if err != nil || again.Replayed != 0 || again.Already != 3 {
				t.Errorf("again %+v, %v", again, err)
			}
			if n := len(ingestEntries(t, s)); n != 3 {
				t.Errorf("%d ingest entries after the second run, want 3", n)
			}
			if _, err := s.ReplayDeadLetters(ctx, ReplayFilter{Since: time.UnixMilli(base)}, "x", now); err == nil {
				t.Error("a replay of every source was not refused")
			}
			if _, err := s.ReplayDeadLetters(ctx, ReplayFilter{Sources: []string{"ups"}, Cursor: "1-0"}, "x", now); !errors.Is(err, ErrInvalidCursor) {
				t.Errorf("bad cursor: %v", err)
			}
		})
	}
}

func TestReplayDeadLetters_StopsAfterReplayMaxAndContinues(t *testing.T) {
	s := newTestStore(t, realRedis.Client(t))
	ctx := context.Background()
	pipe := s.rdb.Pipeline()
	for i := range ReplayMax + 5 {
		pipe.XAdd(ctx, &redis.XAddArgs{Stream: s.DeadLetterKey(0),
			Values: []any{"ingest_id", fmt.Sprintf("%d-0", i+1), "src", "ups", "body", "x", "reason", "r", "at", "1"}})
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	f := ReplayFilter{Sources: []string{"ups"}}
	total := 0
	for runs := 1; ; runs++ {
		sum, err := s.ReplayDeadLetters(ctx, f, "ops", now)
		if err != nil {
			t.Fatal(err)
		}
		if sum.Already != 0 {
			t.Errorf("run %d met %d already replayed: the cursor should skip them", runs, sum.Already)
		}
		total += sum.Replayed
		if sum.Cursor == "" {
			if runs < 2 {
				t.Errorf("%d replayed in one run, more than ReplayMax", total)
			}
			break
		}
		if runs > 20 {
			t.Fatal("no end")
		}
		f.Cursor = sum.Cursor
	}
	if total != ReplayMax+5 || len(ingestEntries(t, s)) != ReplayMax+5 {
		t.Errorf("%d replayed, want %d", total, ReplayMax+5)
	}
}

// fixableDecoder fails to parse until it is fixed, as an adapter with a
// bug does until the release that fixes it.
type fixableDecoder struct{ fixed atomic.Bool }

func (d *fixableDecoder) Decode(src string, body []byte) ([]Update, error) {
	if !d.fixed.Load() {
		return nil, errors.New("unknown status code XY")
	}
	return jsonDecoder{}.Decode(src, body)
}

func TestReplayDeadLetter_AppliedOnceByTheFixedProcessor(t *testing.T) {
	for _, b := range backends {
		t.Run(b.Name, func(t *testing.T) {
			s := newTestStore(t, b.Client(t))
			ctx := context.Background()
			accepted := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
			at := accepted.Add(-time.Hour)
			body, _ := json.Marshal(Update{Carrier: "ups", TrackingNumber: "1Z9", Events: []Event{
				{ID: "e1", Status: StatusOutForDelivery, OccurredAt: at, OccurredAtLocal: at}}})
			if _, err := s.Append(ctx, "ups", body, "1Z9", accepted); err != nil {
				t.Fatal(err)
			}
			dec := &fixableDecoder{}
			run := func() {
				t.Helper()
				pctx, cancel := context.WithCancel(ctx)
				done := make(chan error, 1)
				p := NewProcessor(s, dec, testProcessorConfig("p"), quietLog(), nil)
				go func() { done <- p.Run(pctx) }()
				waitDrained(t, s)
				cancel()
				if err := <-done; err != nil {
					t.Fatal(err)
				}
			}
			run()
			list, _, err := s.DeadLetters(ctx, DeadLetterFilter{})
			if err != nil || len(list) != 1 || !strings.Contains(list[0].Reason, "XY") {
				t.Fatalf("dead letters %+v, %v", list, err)
			}
			dec.fixed.Store(true)
			for range 2 {
				if _, _, err := s.ReplayDeadLetter(ctx, list[0].Ref, "ops", time.Now()); err != nil {
					t.Fatal(err)
				}
			}
			run()
			sh, err := s.Shipment(ctx, ShipmentID("ups", "1Z9"), true)
			if err != nil {
				t.Fatal(err)
			}
			if sh.Status != StatusOutForDelivery || sh.EventCount != 1 || len(sh.Events) != 1 {
				t.Errorf("shipment %s with %d events, want out for delivery with the one event", sh.Status, sh.EventCount)
			}
			after, _, err := s.DeadLetters(ctx, DeadLetterFilter{})
			if err != nil || len(after) != 1 || after[0].Replay == nil {
				t.Errorf("dead letters after the replay %+v, %v: want the one, replayed", after, err)
			}
		})
	}
}
