package tracking

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// jsonDecoder decodes entries that are JSON-encoded Updates; "panic" and
// "broken" bodies exercise the failure paths.
type jsonDecoder struct{}

func (jsonDecoder) Decode(src string, body []byte) ([]Update, error) {
	switch string(body) {
	case "panic":
		panic("decoder bug")
	}
	var u Update
	if err := json.Unmarshal(body, &u); err != nil {
		return nil, fmt.Errorf("decode %s message: %w", src, err)
	}
	return []Update{u}, nil
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func testProcessorConfig(name string) ProcessorConfig {
	cfg := DefaultProcessorConfig(name)
	cfg.Batch = 50
	cfg.Block = 50 * time.Millisecond
	cfg.ClaimIdle = time.Millisecond
	cfg.ClaimEvery = 10 * time.Millisecond
	return cfg
}

// waitFor polls cond until it holds, failing the test after a deadline.
func waitFor(t *testing.T, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok, err := cond()
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func waitDrained(t *testing.T, s *Store) {
	waitFor(t, "the ingest backlog to drain", func() (bool, error) {
		b, err := s.Backlog(context.Background(), time.Now())
		return b.Entries == 0, err
	})
}

// feed appends n messages over shipments numbers, a fifth of them repeated,
// and returns the reference state per shipment.
func feed(t *testing.T, s *Store, n, shipments int) map[string]*Log {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	want := map[string]*Log{}
	base := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	var msgs []Update
	for i := range n {
		at := base.Add(time.Duration(rng.IntN(5000)) * time.Minute)
		u := Update{Carrier: "ups", TrackingNumber: fmt.Sprintf("1ZP%05d", i%shipments), ReceivedAt: base,
			Events: []Event{{ID: fmt.Sprint(i), Status: Statuses()[rng.IntN(11)], OccurredAt: at, OccurredAtLocal: at}}}
		msgs = append(msgs, u)
		if i%5 == 0 {
			msgs = append(msgs, u)
		}
	}
	for _, u := range msgs {
		id := ShipmentID(u.Carrier, u.TrackingNumber)
		if want[id] == nil {
			want[id] = &Log{}
		}
		want[id].Apply(u)
		body, _ := json.Marshal(u)
		if _, err := s.Append(ctx, "test", body, u.TrackingNumber, base); err != nil {
			t.Fatal(err)
		}
	}
	return want
}

func checkApplied(t *testing.T, s *Store, want map[string]*Log) {
	t.Helper()
	ctx := context.Background()
	for id, l := range want {
		sh, err := s.Shipment(ctx, id, true)
		if err != nil {
			t.Fatal(err)
		}
		compareShipment(t, sh, l)
		// Indexed for the listings at its updated_at, however the batch went.
		score, err := s.rdb.ZScore(ctx, s.shipmentIndexKey(s.ShardOf(id)), id).Result()
		if err != nil || int64(score) != sh.UpdatedAt.UnixMilli() {
			t.Errorf("%s: index score %v (%v), want its updated_at %d", id, score, err, sh.UpdatedAt.UnixMilli())
		}
		n, err := s.rdb.HLen(ctx, s.shipmentKeys(id)[3]).Result()
		if err != nil || n != 0 {
			t.Errorf("%s: %d changes left in the outbox (%v), want all forwarded", id, n, err)
		}
	}
}

func TestProcessor_CrashMidBatchLosesAndDuplicatesNothing(t *testing.T) {
	for _, graceful := range []bool{false, true} {
		t.Run(fmt.Sprintf("graceful=%v", graceful), func(t *testing.T) {
			s := newTestStore(t, realRedis.Client(t))
			s.cfg.Shards = 2
			want := feed(t, s, 2000, 100)

			// The first processor stops in its third batch, after applying
			// and before acknowledging: killed (graceful=false), or
			// cancelled by a shutdown that lets it finish (graceful=true).
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			first := NewProcessor(s, jsonDecoder{}, testProcessorConfig("first"), quietLog(), nil)
			first.cfg.ClaimEvery = time.Hour
			var batches atomic.Int32
			first.afterApply = func() error {
				if batches.Add(1) == 3 {
					cancel()
					if !graceful {
						return errors.New("killed")
					}
				}
				return nil
			}
			err := first.Run(ctx)
			if graceful != (err == nil) {
				t.Fatalf("first processor returned %v", err)
			}
			b, err := s.Backlog(context.Background(), time.Now())
			if err != nil || b.Entries == 0 {
				t.Fatalf("backlog after the first processor stopped = %d (%v); the test needs work left over", b.Entries, err)
			}

			ctx2, cancel2 := context.WithCancel(context.Background())
			done := make(chan error, 1)
			second := NewProcessor(s, jsonDecoder{}, testProcessorConfig("second"), quietLog(), nil)
			go func() { done <- second.Run(ctx2) }()
			waitDrained(t, s)
			cancel2()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			checkApplied(t, s, want)
		})
	}
}

func TestProcessor_UnappliableEntriesGoToTheDeadLetters(t *testing.T) {
	for _, b := range backends {
		t.Run(b.Name, func(t *testing.T) {
			c := b.Client(t)
			s := newTestStore(t, c)
			s.cfg.Shards = 1
			ctx := context.Background()
			now := time.Now()
			for _, body := range []string{"panic", "{not json"} {
				if _, err := s.Append(ctx, "test", []byte(body), "", now); err != nil {
					t.Fatal(err)
				}
			}
			good, _ := json.Marshal(Update{Carrier: "ups", TrackingNumber: "1", Events: []Event{
				{ID: "a", Status: StatusInTransit, OccurredAt: now, OccurredAtLocal: now}}})
			if _, err := s.Append(ctx, "test", good, "1", now); err != nil {
				t.Fatal(err)
			}
			runUntilDrained(t, s, testProcessorConfig("p"))
			dead, err := c.XRange(ctx, s.DeadLetterKey(0), "-", "+").Result()
			if err != nil {
				t.Fatal(err)
			}
			reasons := map[string]string{}
			for _, d := range dead {
				reasons[d.Values["body"].(string)] = d.Values["reason"].(string)
			}
			if len(dead) != 2 || !strings.Contains(reasons["panic"], "panicked") || !strings.Contains(reasons["{not json"], "decode test message") {
				t.Errorf("dead letters = %v, want the panic and the broken JSON with their reasons", reasons)
			}
			if sh, err := s.Shipment(ctx, ShipmentID("ups", "1"), false); err != nil || sh.Status != StatusInTransit {
				t.Errorf("the good entry beside them was not applied: %v, %v", sh, err)
			}
		})
	}
}

func runUntilDrained(t *testing.T, s *Store, cfg ProcessorConfig) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	p := NewProcessor(s, jsonDecoder{}, cfg, quietLog(), nil)
	go func() { done <- p.Run(ctx) }()
	waitDrained(t, s)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestProcessor_PoisonEntryIsDeadLetteredAfterMaxDeliveries(t *testing.T) {
	c := realRedis.Client(t)
	s := newTestStore(t, c)
	s.cfg.Shards = 1
	ctx := context.Background()
	body, _ := json.Marshal(Update{Carrier: "ups", TrackingNumber: "2", Events: []Event{
		{ID: "a", Status: StatusInTransit, OccurredAt: time.Now(), OccurredAtLocal: time.Now()}}})
	id, err := s.Append(ctx, "test", body, "2", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// Three consumers took the entry and died with it.
	key := s.IngestKey(0)
	if err := c.XGroupCreateMkStream(ctx, key, "processors", "0").Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "processors", Consumer: "dead-1", Streams: []string{key, ">"}, Count: 1}).Err(); err != nil {
		t.Fatal(err)
	}
	for _, who := range []string{"dead-2", "dead-3"} {
		if err := c.XClaim(ctx, &redis.XClaimArgs{Stream: key, Group: "processors", Consumer: who, Messages: []string{id}}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	cfg := testProcessorConfig("survivor")
	cfg.MaxDeliveries = 3
	runUntilDrained(t, s, cfg)
	dead, err := c.XRange(ctx, s.DeadLetterKey(s.ShardOf(id)), "-", "+").Result()
	if err != nil || len(dead) != 1 || !strings.Contains(dead[0].Values["reason"].(string), "deliveries") {
		t.Fatalf("dead letters = %v (%v), want the poison entry with its delivery count", dead, err)
	}
}

func TestProcessor_AnAdaptersInvalidUpdateIsDeadLettered(t *testing.T) {
	c := realRedis.Client(t)
	s := newTestStore(t, c)
	s.cfg.Shards = 1
	ctx := context.Background()
	now := time.Now()
	bad, _ := json.Marshal(Update{Carrier: "ups", TrackingNumber: "  ", Events: []Event{
		{ID: "a", Status: StatusInTransit, OccurredAt: now, OccurredAtLocal: now}}})
	if _, err := s.Append(ctx, "test", bad, "", now); err != nil {
		t.Fatal(err)
	}
	runUntilDrained(t, s, testProcessorConfig("p"))
	dead, err := c.XRange(ctx, s.DeadLetterKey(0), "-", "+").Result()
	if err != nil || len(dead) != 1 || !strings.Contains(dead[0].Values["reason"].(string), "no tracking number") {
		t.Fatalf("dead letters = %v (%v), want the update without a tracking number", dead, err)
	}
	if keys := c.Keys(ctx, s.cfg.Prefix+"{s_*").Val(); len(keys) != 0 {
		t.Errorf("an invalid update created shipment keys %v", keys)
	}
}
