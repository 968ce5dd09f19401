package outbound

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/trackd/trackd/tracking"
)

// job is one delivery of one event to one subscription.
type job struct {
	Sub   string    `json:"sub"`
	Event string    `json:"event"`
	Type  EventType `json:"type"`
	// Attempt counts the failed attempts so far.
	Attempt int `json:"attempt,omitempty"`
	// First is when the job was queued (unix ms): retries stop MaxAge after.
	First  int64 `json:"first"`
	Replay bool  `json:"replay,omitempty"`
}

func member(sub, event string) string { return sub + "|" + event }

// Run reads the change streams and delivers events until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	if err := s.CreateGroups(ctx); err != nil {
		return err
	}
	var wg sync.WaitGroup
	for shard := range s.cfg.Shards {
		wg.Go(func() { s.readLoop(ctx, shard) })
		wg.Go(func() { s.deliverLoop(ctx, shard) })
	}
	wg.Wait()
	return nil
}

// changes is the outbound consumer group on the change streams.
func (s *Service) changes() tracking.ChangeGroup {
	return tracking.ChangeGroup{RDB: s.rdb, Key: s.store.ChangesKey, Group: s.cfg.Group, Consumer: s.cfg.Consumer,
		Batch: s.cfg.Batch, Handle: s.handle, Log: s.log}
}

// CreateGroups creates the consumer group on every change stream shard.
// A new group starts at the streams' end ("$"): a trackd upgraded to this
// version does not send the merchant the whole retained history.
func (s *Service) CreateGroups(ctx context.Context) error {
	return s.changes().Create(ctx, s.cfg.Shards, "$")
}

func (s *Service) readLoop(ctx context.Context, shard int) { s.changes().Loop(ctx, shard) }

// ReadOnce reads a batch of changes from shard (from: "0" for this
// consumer's pending entries, ">" for new ones), records their events,
// queues their deliveries and acknowledges them. It returns how many
// changes it handled.
func (s *Service) ReadOnce(ctx context.Context, shard int, from string, block time.Duration) (int, error) {
	return s.changes().ReadOnce(ctx, shard, from, block)
}

// handle records the events of changes; the group acknowledges them once
// all are recorded. Without subscriptions there is nothing to record, and
// the changes are not even decoded.
func (s *Service) handle(ctx context.Context, shard int, msgs []redis.XMessage) error {
	subs, err := s.all(ctx)
	if err != nil || len(subs) == 0 {
		return err
	}
	wanted := func(t EventType) bool {
		for _, sub := range subs {
			if sub.wants(t) {
				return true
			}
		}
		return false
	}
	return tracking.EachChange(s.log, s.store.ChangesKey(shard), msgs, func(c tracking.Change) error {
		events, err := s.changeEvents(ctx, c, wanted)
		if err != nil {
			return fmt.Errorf("events of change %s: %w", c.ID, err)
		}
		for _, ev := range events {
			if _, err := s.record(ctx, ev, subs); err != nil {
				return err
			}
		}
		return nil
	})
}

// Publish sends an event that does not come from the change stream (the
// notifier's notification.failed) to the subscriptions that want it. Its
// ID must be derived from its cause (EventID), so that publishing it again
// sends nothing twice.
func (s *Service) Publish(ctx context.Context, ev Event) error {
	switch {
	case !ev.Type.Valid():
		return fmt.Errorf("publish: %q is not an event type", ev.Type)
	case ev.ID == "":
		return errors.New("publish: the event has no id")
	}
	if ev.CreatedAt.IsZero() {
		ev.CreatedAt = s.now().UTC()
	}
	if len(ev.Data) == 0 {
		ev.Data = json.RawMessage("{}")
	}
	subs, err := s.all(ctx)
	if err != nil {
		return err
	}
	_, err = s.record(ctx, ev, subs)
	return err
}

// record stores ev, indexes it for the subscriptions that want it and
// queues it for the active ones, unless it was recorded before. It returns
// how many deliveries it queued. The shard is the event id's, not the
// change's: two changes that make the same event (the last two parcels of
// an order delivered at once, on different shards) meet on one key.
func (s *Service) record(ctx context.Context, ev Event, subs []Subscription) (int, error) {
	shard := s.shardOf(ev.ID)
	keys := []string{s.eventKey(shard, ev.ID), s.dueKey(shard), s.jobsKey(shard)}
	now := s.now()
	args := []any{nil, int64(s.cfg.EventRetention / time.Second), ev.CreatedAt.UnixMilli(), now.UnixMilli(),
		now.Add(-s.cfg.EventRetention).UnixMilli(), ev.ID}
	for _, sub := range subs {
		if !sub.wants(ev.Type) {
			continue
		}
		b, err := json.Marshal(job{Sub: sub.ID, Event: ev.ID, Type: ev.Type, First: now.UnixMilli()})
		if err != nil {
			return 0, err
		}
		active := "0"
		if sub.Status == Active {
			active = "1"
		}
		keys = append(keys, s.indexKey(shard, sub.ID))
		args = append(args, member(sub.ID, ev.ID), b, active)
	}
	if len(keys) == 3 {
		return 0, nil // nobody wants it: nothing to keep
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return 0, fmt.Errorf("encode event %s: %w", ev.ID, err)
	}
	args[0] = body
	n, err := s.emit.Run(ctx, s.rdb, keys, args...).Int()
	if err != nil {
		return 0, fmt.Errorf("record event %s: %w", ev.ID, err)
	}
	if n < 0 {
		s.log.Debug("event recorded before; not queued again", "event", ev.ID, "type", ev.Type)
		return 0, nil
	}
	return n, nil
}
