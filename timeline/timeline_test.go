package timeline

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/trackd/trackd/tracking/redistest"
)

// backends are the real redis-server and the embedded one `make run` uses.
var backends = []struct {
	name   string
	client func(t *testing.T) redis.UniversalClient
}{
	{"redis-server", func(t *testing.T) redis.UniversalClient { return redistest.Start(t).Client(t) }},
	{"embedded", func(t *testing.T) redis.UniversalClient {
		c := redis.NewClient(&redis.Options{Addr: miniredis.RunT(t).Addr()})
		t.Cleanup(func() { c.Close() })
		return c
	}},
}

func newTestRecorder(t *testing.T, rdb redis.UniversalClient) *Recorder {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Prefix = redistest.Prefix(t)
	r, err := New(rdb, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRecorder_CountsPerMinuteAndAggregates(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			rdb := b.client(t)
			r := newTestRecorder(t, rdb)
			ctx := context.Background()
			now := time.Now().UTC().Truncate(time.Hour).Add(30 * time.Minute)
			r.now = func() time.Time { return now }

			// Concurrent writers, as webhook handlers are.
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() {
					for range 25 {
						r.Webhook("ups", Accepted, now)
					}
				})
			}
			wg.Wait()
			r.Webhook("ups", "bad_signature", now)
			r.Webhook("fed|ex", Accepted, now.Add(-time.Minute))
			r.Notification("email", "sent", now.Add(-20*time.Minute))
			r.Notification("sms", "failed", now.Add(-20*time.Minute))
			r.DeadLettered("ups/poll", now)
			if err := r.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			// A second flush adds to what is there.
			r.Webhook("ups", Accepted, now)
			if err := r.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			if ttl := rdb.TTL(ctx, r.Key(now)).Val(); ttl <= 25*time.Hour || ttl > 26*time.Hour {
				t.Errorf("minute key TTL %s, want about 26h", ttl)
			}

			minutes, err := r.Query(ctx, now.Add(-59*time.Minute), now.Add(time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			if len(minutes) != 60 {
				t.Fatalf("%d minutes, want 60", len(minutes))
			}
			last := minutes[59]
			if !last.Start.Equal(now) || last.Count(Webhook("ups", Accepted)) != 201 || last.Count(Webhook("ups", "bad_signature")) != 1 {
				t.Errorf("last minute %v: want 201 accepted and 1 bad signature from ups at %s", last, now)
			}
			if got := last.Results(KindWebhook, "ups"); got[Accepted] != 201 || got["bad_signature"] != 1 || len(got) != 2 {
				t.Errorf("ups results %v", got)
			}
			if minutes[58].Count(Webhook("fed_ex", Accepted)) != 1 {
				t.Errorf("a '|' in a label is replaced: %v", minutes[58].Values)
			}
			if got := Labels(minutes, KindWebhook); len(got) != 2 || got[0] != "fed_ex" || got[1] != "ups" {
				t.Errorf("webhook labels %v", got)
			}
			if got := Labels(minutes, KindNotification); len(got) != 2 || got[0] != "email" || got[1] != "sms" {
				t.Errorf("notification labels %v", got)
			}
			if minutes[59].Count(DeadLetter("ups/poll")) != 1 {
				t.Errorf("dead letters %v", minutes[59].Values)
			}

			quarters := Aggregate(minutes, 15*time.Minute)
			// 59 minutes back from :30 starts at :31 of the hour before: five quarters, the first partial.
			if len(quarters) != 5 {
				t.Fatalf("%d quarter-hours, want 5: %v", len(quarters), quarters)
			}
			if q := quarters[4]; !q.Start.Equal(now) || q.Count(Webhook("ups", Accepted)) != 201 {
				t.Errorf("last quarter %v", q)
			}
			if q := quarters[3]; q.Count(Webhook("fed_ex", Accepted)) != 1 || q.Count(Notification("email", "sent")) != 0 {
				t.Errorf("quarter before %v", q)
			}
			if q := quarters[2]; q.Count(Notification("email", "sent")) != 1 || q.Count(Notification("sms", "failed")) != 1 {
				t.Errorf("quarter of the notifications %v", q)
			}
		})
	}
}

func TestRecorder_LagHistogramGivesQuantilesAndMax(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			rdb := b.client(t)
			r := newTestRecorder(t, rdb)
			ctx := context.Background()
			now := time.Now().UTC().Truncate(time.Hour).Add(30 * time.Minute)
			r.now = func() time.Time { return now }
			for i := range 95 {
				r.Lag(time.Duration(3+i%2)*time.Millisecond, now) // 3 and 4 ms
			}
			for range 4 {
				r.Lag(400*time.Millisecond, now)
			}
			r.Lag(1700*time.Millisecond, now.Add(-time.Minute))
			if err := r.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			// A later, smaller maximum does not lower the stored one.
			r.Lag(time.Millisecond, now)
			if err := r.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			minutes, err := r.Query(ctx, now.Add(-time.Minute), now.Add(time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			s := minutes[1].Summary(ProcessorLag)
			if s.Count != 100 || s.P50 != 5*time.Millisecond || s.P99 != 400*time.Millisecond || s.Max != 400*time.Millisecond {
				t.Errorf("this minute %+v: want 100 observations, p50 5ms (bucket bound), p99 400ms (capped at max), max 400ms", s)
			}
			hour := Aggregate(minutes, time.Hour)
			if len(hour) != 1 {
				t.Fatalf("%d hours", len(hour))
			}
			if all := hour[0].Summary(ProcessorLag); all.Count != 101 || all.Max != 1700*time.Millisecond || all.P99 != 500*time.Millisecond {
				t.Errorf("the hour %+v: want 101 observations, p99 500ms (the bucket's bound), max 1.7s (maxima combine as maxima)", all)
			}
			if (Bucket{}).Summary(ProcessorLag) != (Summary{}) {
				t.Error("an empty bucket has a summary")
			}
		})
	}
}

func TestRecorder_RunFlushesUntilStopped(t *testing.T) {
	rdb := redistest.Start(t).Client(t)
	r := newTestRecorder(t, rdb)
	r.cfg.FlushEvery = 10 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	now := time.Now()
	r.Webhook("dhl", Accepted, now)
	deadline := time.Now().Add(10 * time.Second)
	for rdb.HGet(context.Background(), r.Key(now), Webhook("dhl", Accepted)).Val() != "1" {
		if time.Now().After(deadline) {
			t.Fatal("not flushed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	r.Webhook("dhl", Accepted, now)
	cancel()
	<-done
	if got := rdb.HGet(context.Background(), r.Key(now), Webhook("dhl", Accepted)).Val(); got != "2" {
		t.Errorf("after stop %q, want the last count flushed too", got)
	}
}

func TestRecorder_BoundsWhatIsPending(t *testing.T) {
	rdb := redistest.Start(t).Client(t)
	r := newTestRecorder(t, rdb)
	r.cfg.MaxPending = 2
	now := time.Now()
	r.Webhook("a", Accepted, now)
	r.Webhook("b", Accepted, now)
	r.Webhook("c", Accepted, now)
	r.Webhook("a", Accepted, now) // an existing name still counts
	err := r.Flush(context.Background())
	if err == nil {
		t.Fatal("no error for the dropped count")
	}
	h := rdb.HGetAll(context.Background(), r.Key(now)).Val()
	if h[Webhook("a", Accepted)] != "2" || h[Webhook("b", Accepted)] != "1" || len(h) != 2 {
		t.Errorf("stored %v", h)
	}
	var nilRec *Recorder
	nilRec.Webhook("x", Accepted, now) // no panic
	if nilRec.Flush(context.Background()) != nil {
		t.Error("nil recorder flush")
	}
}
