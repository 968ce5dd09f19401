package jobqueue

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/trackd/trackd/tracking/redistest"
)

// A claimed job is the claimer's until its lease ends; a member whose job
// is gone is dropped from the schedule.
func TestRunOnce_ClaimsDueJobsForALease(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Start(t).Client(t)
	p := redistest.Prefix(t)
	q := Queue{RDB: rdb, Due: func(int) string { return p + "due:{0}" }, Jobs: func(int) string { return p + "jobs:{0}" },
		Lease: time.Minute, Batch: 10, Concurrency: 2}
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for _, m := range []string{"a", "b", "gone"} {
		rdb.ZAdd(ctx, q.Due(0), redisZ(now, m))
	}
	rdb.ZAdd(ctx, q.Due(0), redisZ(now.Add(time.Hour), "later"))
	rdb.HSet(ctx, q.Jobs(0), "a", "job a", "b", "job b", "later", "job later")

	var mu sync.Mutex
	got := map[string]string{}
	run := func(at time.Time) int {
		n, err := q.RunOnce(ctx, 0, at, func(member, job string, lease int64) {
			mu.Lock()
			defer mu.Unlock()
			got[member] = job
			if lease != at.Add(q.Lease).UnixMilli() {
				t.Errorf("lease %d, want the claim's end %d", lease, at.Add(q.Lease).UnixMilli())
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := run(now); n != 2 || got["a"] != "job a" || got["b"] != "job b" {
		t.Fatalf("first claim: %d, %v; want a and b", n, got)
	}
	if n := run(now.Add(30 * time.Second)); n != 0 {
		t.Errorf("%d claimed within the lease, want 0", n)
	}
	if n, _ := rdb.ZScore(ctx, q.Due(0), "gone").Result(); n != 0 {
		t.Errorf("a member without a job is still scheduled")
	}
	if n := run(now.Add(2 * time.Minute)); n != 2 {
		t.Errorf("%d claimed after the lease, want a and b again", n)
	}
}

func redisZ(at time.Time, member string) redis.Z {
	return redis.Z{Score: float64(at.UnixMilli()), Member: member}
}
