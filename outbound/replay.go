package outbound

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// replayChunk bounds the events one replay script handles, so a long
// range does not hold Redis for long.
const replayChunk = 500

// Replay queues again, for one subscription, every event meant for it
// that was created in [from, to] and is still kept (EventRetention), with
// the ids they first had: receivers that processed them already see
// duplicates they can drop. Events that came while the subscription was
// disabled are included, so a replay catches up after re-enabling. It
// returns how many events will be delivered.
func (s *Service) Replay(ctx context.Context, id string, from, to time.Time) (int, error) {
	if to.Before(from) {
		return 0, fieldErr("to", "is before from")
	}
	sub, err := s.load(ctx, id)
	if err != nil {
		return 0, err
	}
	if sub.Status != Active {
		return 0, fmt.Errorf("replay to webhook subscription %s: %w; re-enable it first", id, ErrDisabled)
	}
	now := s.now()
	total := 0
	for shard := range s.cfg.Shards {
		ids, err := s.rdb.ZRangeByScore(ctx, s.indexKey(shard, id), &redis.ZRangeBy{
			Min: strconv.FormatInt(from.UnixMilli(), 10), Max: strconv.FormatInt(to.UnixMilli(), 10),
		}).Result()
		if err != nil {
			return total, fmt.Errorf("read the events of webhook subscription %s: %w", id, err)
		}
		for start := 0; start < len(ids); start += replayChunk {
			n, err := s.replayChunk(ctx, shard, id, ids[start:min(start+replayChunk, len(ids))], now)
			total += n
			if err != nil {
				return total, err
			}
		}
	}
	s.log.Info("webhook events replayed", "subscription", id, "from", from, "to", to, "events", total)
	return total, nil
}

func (s *Service) replayChunk(ctx context.Context, shard int, sub string, events []string, now time.Time) (int, error) {
	// The type is in the body; reading the bodies also skips the events
	// no longer kept.
	pipe := s.rdb.Pipeline()
	bodies := make([]*redis.StringCmd, len(events))
	for i, ev := range events {
		bodies[i] = pipe.Get(ctx, s.eventKey(shard, ev))
	}
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return 0, fmt.Errorf("read events to replay: %w", err)
	}
	keys := []string{s.dueKey(shard), s.jobsKey(shard)}
	args := []any{now.UnixMilli()}
	for i, ev := range events {
		body, err := bodies[i].Bytes()
		if err != nil {
			continue
		}
		var head struct {
			Type EventType `json:"type"`
		}
		if json.Unmarshal(body, &head) != nil {
			continue
		}
		b, err := json.Marshal(job{Sub: sub, Event: ev, Type: head.Type, First: now.UnixMilli(), Replay: true})
		if err != nil {
			return 0, err
		}
		keys = append(keys, s.eventKey(shard, ev))
		args = append(args, member(sub, ev), b)
	}
	if len(keys) == 2 {
		return 0, nil
	}
	n, err := s.replay.Run(ctx, s.rdb, keys, args...).Int()
	if err != nil {
		return 0, fmt.Errorf("queue replayed events: %w", err)
	}
	return n, nil
}
