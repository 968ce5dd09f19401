package web

import (
	"context"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/trackd/trackd/tracking/redistest"
)

// limiterBackends are the Redis servers the limiter must work on: the real
// one production runs, and the embedded one `make run` uses.
func limiterBackends(t *testing.T) map[string]func(t *testing.T) redis.UniversalClient {
	srv := redistest.Start(t)
	return map[string]func(t *testing.T) redis.UniversalClient{
		"redis-server": func(t *testing.T) redis.UniversalClient { return srv.Client(t) },
		"embedded": func(t *testing.T) redis.UniversalClient {
			mr := miniredis.RunT(t)
			c := redis.NewClient(&redis.Options{Addr: mr.Addr()})
			t.Cleanup(func() { c.Close() })
			return c
		},
	}
}

func TestRedisLimiter_Contract(t *testing.T) {
	for name, client := range limiterBackends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()

			t.Run("allows the limit, then refuses with a retry time", func(t *testing.T) {
				l := newRedisLimiter(client(t), redistest.Prefix(t), "test", 3, time.Minute)
				for i := range 3 {
					if ok, _, err := l.Allow(ctx, "203.0.113.7"); err != nil || !ok {
						t.Fatalf("call %d: ok=%v err=%v, want allowed", i+1, ok, err)
					}
				}
				ok, retry, err := l.Allow(ctx, "203.0.113.7")
				if err != nil || ok {
					t.Fatalf("call 4: ok=%v err=%v, want refused", ok, err)
				}
				if retry <= 0 || retry > time.Minute {
					t.Errorf("retryAfter = %v, want in (0, 1m]", retry)
				}
				// Refusals are not recorded: asking again does not push the
				// retry time further out.
				_, again, _ := l.Allow(ctx, "203.0.113.7")
				if again > retry {
					t.Errorf("retryAfter grew from %v to %v after a refusal", retry, again)
				}
				if ok, _, err := l.Allow(ctx, "203.0.113.8"); err != nil || !ok {
					t.Errorf("another key: ok=%v err=%v, want allowed", ok, err)
				}
			})

			t.Run("limiters with another name or prefix count apart", func(t *testing.T) {
				rdb, prefix := client(t), redistest.Prefix(t)
				a := newRedisLimiter(rdb, prefix, "a", 1, time.Minute)
				b := newRedisLimiter(rdb, prefix, "b", 1, time.Minute)
				c := newRedisLimiter(rdb, redistest.Prefix(t), "a", 1, time.Minute)
				for _, l := range []*redisLimiter{a, b, c} {
					if ok, _, err := l.Allow(ctx, "k"); err != nil || !ok {
						t.Fatalf("%s%s: ok=%v err=%v, want allowed", l.prefix, l.name, ok, err)
					}
				}
			})

			t.Run("concurrent calls never exceed the limit", func(t *testing.T) {
				l := newRedisLimiter(client(t), redistest.Prefix(t), "test", 10, time.Minute)
				var allowed atomic.Int32
				var wg sync.WaitGroup
				for range 50 {
					wg.Go(func() {
						ok, _, err := l.Allow(ctx, "order-1001")
						if err != nil {
							t.Error(err)
						}
						if ok {
							allowed.Add(1)
						}
					})
				}
				wg.Wait()
				if n := allowed.Load(); n != 10 {
					t.Errorf("%d calls allowed, want 10", n)
				}
			})

			t.Run("keys are hashed, in one slot, and expire", func(t *testing.T) {
				rdb, prefix := client(t), redistest.Prefix(t)
				l := newRedisLimiter(rdb, prefix, "lookup_ip", 5, 10*time.Minute)
				const raw = "shopper@example.com"
				if _, _, err := l.Allow(ctx, raw); err != nil {
					t.Fatal(err)
				}
				keys, err := rdb.Keys(ctx, prefix+"*").Result()
				if err != nil {
					t.Fatal(err)
				}
				want := regexp.MustCompile(`^` + regexp.QuoteMeta(prefix) + `\{rl:lookup_ip:[0-9a-f]{32}\}$`)
				if len(keys) != 1 || !want.MatchString(keys[0]) {
					t.Fatalf("keys = %q, want one matching %s", keys, want)
				}
				if strings.Contains(keys[0], raw) {
					t.Errorf("key %q holds the raw value", keys[0])
				}
				ttl, err := rdb.PTTL(ctx, keys[0]).Result()
				if err != nil {
					t.Fatal(err)
				}
				if ttl <= 0 || ttl > 10*time.Minute {
					t.Errorf("TTL = %v, want in (0, 10m]", ttl)
				}
			})

			t.Run("a window passes, calls are allowed again", func(t *testing.T) {
				l := newRedisLimiter(client(t), redistest.Prefix(t), "test", 2, 200*time.Millisecond)
				for range 2 {
					if ok, _, err := l.Allow(ctx, "k"); err != nil || !ok {
						t.Fatalf("ok=%v err=%v, want allowed", ok, err)
					}
				}
				if ok, _, _ := l.Allow(ctx, "k"); ok {
					t.Fatal("third call allowed, want refused")
				}
				// Wait for the condition, polling: refusals cost nothing.
				deadline := time.Now().Add(5 * time.Second)
				for {
					ok, retry, err := l.Allow(ctx, "k")
					if err != nil {
						t.Fatal(err)
					}
					if ok {
						break
					}
					if time.Now().After(deadline) {
						t.Fatal("still refused 5s after a 200ms window")
					}
					time.Sleep(min(retry, 50*time.Millisecond))
				}
			})

			t.Run("redis down is an error, not an allowance", func(t *testing.T) {
				rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
				t.Cleanup(func() { rdb.Close() })
				ok, _, err := newRedisLimiter(rdb, redistest.Prefix(t), "test", 1, time.Minute).Allow(ctx, "k")
				if err == nil || ok {
					t.Errorf("ok=%v err=%v, want an error and no allowance", ok, err)
				}
			})
		})
	}
}

// TestRedisLimiter_SlidingWindow checks the window slides (no burst of
// 2×limit at a boundary), on the embedded Redis whose clock the test sets.
func TestRedisLimiter_SlidingWindow(t *testing.T) {
	ctx := context.Background()
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { rdb.Close() })
	l := newRedisLimiter(rdb, redistest.Prefix(t), "test", 3, 10*time.Minute)
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

	steps := []struct {
		at        time.Duration // after t0
		ok        bool
		wantRetry time.Duration // when refused
	}{
		{0, true, 0},
		{0, true, 0}, // the same microsecond: still counted apart
		{5 * time.Minute, true, 0},
		{9 * time.Minute, false, time.Minute}, // the first two leave at 10m
		{10*time.Minute - time.Microsecond, false, time.Microsecond},
		{10 * time.Minute, true, 0}, // both at t0 have left
		{10 * time.Minute, true, 0},
		{11 * time.Minute, false, 4 * time.Minute}, // the one at 5m leaves at 15m
		{15 * time.Minute, true, 0},
	}
	for i, st := range steps {
		mr.SetTime(t0.Add(st.at))
		ok, retry, err := l.Allow(ctx, "k")
		if err != nil {
			t.Fatal(err)
		}
		if ok != st.ok || (!ok && retry != st.wantRetry) {
			t.Errorf("step %d at +%v: ok=%v retry=%v, want ok=%v retry=%v", i, st.at, ok, retry, st.ok, st.wantRetry)
		}
	}
}
