package tracking

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// ChangeGroup reads the change streams in one consumer group, for the
// parts that act on changes (the notifier, outbound webhooks, the
// Salesforce write-back): each shard's reader takes this consumer's own
// unacknowledged entries first, then new ones, and now and then claims
// entries other consumers left pending. Handle does the work (EachChange
// decodes the entries); the group acknowledges the batch when Handle
// returns nil, and an error leaves it pending, to be read again.
type ChangeGroup struct {
	RDB redis.UniversalClient
	// Key names a shard's change stream (Store.ChangesKey).
	Key             func(shard int) string
	Group, Consumer string
	Batch           int
	Handle          func(ctx context.Context, shard int, msgs []redis.XMessage) error
	Log             *slog.Logger
}

// Create makes the group on every shard, reading from start ("0": the
// streams' whole retained history; "$": only what comes next). A group
// that exists is left as it is.
func (g ChangeGroup) Create(ctx context.Context, shards int, start string) error {
	for shard := range shards {
		err := g.RDB.XGroupCreateMkStream(ctx, g.Key(shard), g.Group, start).Err()
		if err != nil && !strings.Contains(err.Error(), "BUSYGROUP") {
			return fmt.Errorf("create group %s on %s: %w", g.Group, g.Key(shard), err)
		}
	}
	return nil
}

// Loop reads shard until ctx ends.
func (g ChangeGroup) Loop(ctx context.Context, shard int) {
	key := g.Key(shard)
	from := "0"
	var lastClaim time.Time
	for ctx.Err() == nil {
		if time.Since(lastClaim) > 30*time.Second {
			lastClaim = time.Now()
			if err := g.reclaim(ctx, shard); err != nil && ctx.Err() == nil {
				g.Log.Warn("reclaim changes", "stream", key, "group", g.Group, "err", err)
			}
		}
		got, err := g.ReadOnce(ctx, shard, from, time.Second)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			g.Log.Warn("read changes", "stream", key, "group", g.Group, "err", err)
			t := time.NewTimer(time.Second)
			select {
			case <-ctx.Done():
			case <-t.C:
			}
			t.Stop()
			continue
		}
		if from == "0" && got == 0 {
			from = ">"
		}
	}
}

// reclaim takes over entries other consumers read over a minute ago and
// never acknowledged.
func (g ChangeGroup) reclaim(ctx context.Context, shard int) error {
	start := "0-0"
	for {
		msgs, next, err := g.RDB.XAutoClaim(ctx, &redis.XAutoClaimArgs{
			Stream: g.Key(shard), Group: g.Group, Consumer: g.Consumer,
			MinIdle: time.Minute, Start: start, Count: int64(g.Batch),
		}).Result()
		if err != nil {
			return err
		}
		if len(msgs) > 0 {
			if err := g.handle(ctx, shard, msgs); err != nil {
				return err
			}
		}
		if next == "0-0" || len(msgs) == 0 {
			return nil
		}
		start = next
	}
}

// ReadOnce reads a batch from shard (from: "0" for this consumer's pending
// entries, ">" for new ones; block < 0 does not wait) and hands it to
// Handle. It returns how many entries it handled.
func (g ChangeGroup) ReadOnce(ctx context.Context, shard int, from string, block time.Duration) (int, error) {
	key := g.Key(shard)
	res, err := g.RDB.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group: g.Group, Consumer: g.Consumer, Streams: []string{key, from},
		Count: int64(g.Batch), Block: block,
	}).Result()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", key, err)
	}
	total := 0
	for _, s := range res {
		if len(s.Messages) == 0 {
			continue
		}
		if err := g.handle(ctx, shard, s.Messages); err != nil {
			return total, err
		}
		total += len(s.Messages)
	}
	return total, nil
}

// handle runs Handle on a batch and acknowledges it once Handle is done.
func (g ChangeGroup) handle(ctx context.Context, shard int, msgs []redis.XMessage) error {
	if err := g.Handle(ctx, shard, msgs); err != nil {
		return err
	}
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i] = m.ID
	}
	if err := g.RDB.XAck(ctx, g.Key(shard), g.Group, ids...).Err(); err != nil {
		return fmt.Errorf("ack %d changes on %s: %w", len(ids), g.Key(shard), err)
	}
	return nil
}

// EachChange calls f with each change of a batch read from the change
// stream key, in order, and stops at f's first error. An entry that
// cannot be decoded is logged and skipped (and so acknowledged with its
// batch): reading it again cannot fix it.
func EachChange(log *slog.Logger, key string, msgs []redis.XMessage, f func(Change) error) error {
	for _, m := range msgs {
		raw, _ := m.Values["change"].(string)
		var c Change
		if err := json.Unmarshal([]byte(raw), &c); err != nil {
			log.Error("unreadable change; skipped", "stream", key, "entry", m.ID, "err", err)
			continue
		}
		if err := f(c); err != nil {
			return err
		}
	}
	return nil
}
