// Package jobqueue is the claiming half of trackd's leased job queues (the
// notifier's sends, outbound webhook deliveries): per shard, a sorted set
// of job members by due time (unix ms) and a hash of member → job. A
// claim moves a due job's time to the end of a lease, so no other node
// takes it until the lease passes; the worker then completes it with its
// own script, which checks the lease is still its own.
package jobqueue

import (
	"context"
	_ "embed"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

//go:embed claim.lua
var claimLua string

var claimScript = redis.NewScript(claimLua)

// Queue is one kind of job queue.
type Queue struct {
	RDB redis.UniversalClient
	// Due and Jobs name a shard's sorted set and hash.
	Due, Jobs func(shard int) string
	// Lease is how long a claimed job is the claimer's.
	Lease time.Duration
	// Batch is how many due jobs one claim takes, Concurrency how many
	// are worked on at once.
	Batch, Concurrency int
}

// RunOnce claims the shard's jobs due at now and calls work for each, at
// most Concurrency at once, with the job's member, content and lease end
// (the due score the completion must find). It returns when all are done,
// with how many it claimed.
func (q Queue) RunOnce(ctx context.Context, shard int, now time.Time, work func(member, job string, lease int64)) (int, error) {
	lease := now.Add(q.Lease).UnixMilli()
	res, err := claimScript.Run(ctx, q.RDB, []string{q.Due(shard), q.Jobs(shard)},
		now.UnixMilli(), lease, q.Batch).StringSlice()
	if err != nil {
		return 0, fmt.Errorf("claim jobs on %s: %w", q.Due(shard), err)
	}
	sem := make(chan struct{}, max(1, q.Concurrency))
	var wg sync.WaitGroup
	for i := 0; i+1 < len(res); i += 2 {
		member, job := res[i], res[i+1]
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			work(member, job, lease)
		})
	}
	wg.Wait()
	return len(res) / 2, nil
}

// Loop calls once until ctx ends, waiting idle after a round that found
// nothing to do; failed is told each error.
func Loop(ctx context.Context, idle time.Duration, once func() (int, error), failed func(error)) {
	for ctx.Err() == nil {
		got, err := once()
		if err != nil && ctx.Err() == nil {
			failed(err)
		}
		if got == 0 {
			Sleep(ctx, idle)
		}
	}
}

// Sleep waits d, or until ctx ends.
func Sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
