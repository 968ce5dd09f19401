package outbound

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Results of an attempt in the delivery log.
const (
	// ResultDelivered: the receiver answered 2xx.
	ResultDelivered = "delivered"
	// ResultRetrying: it failed and will be tried again (NextAttemptAt).
	ResultRetrying = "retrying"
	// ResultFailed: it failed and the subscription was disabled by it.
	ResultFailed = "failed"
	// ResultGaveUp: it failed for MaxAge, or the event is no longer kept.
	ResultGaveUp = "gave_up"
	// ResultDisabled: not an attempt, the notice that the subscription
	// was disabled; Error says why.
	ResultDisabled = "disabled"
)

// Attempt is an entry of a subscription's delivery log.
type Attempt struct {
	// ID is the entry's position in the log, a cursor for paging.
	ID      string    `json:"id,omitempty"`
	At      time.Time `json:"at"`
	EventID string    `json:"event_id,omitempty"`
	Type    EventType `json:"type,omitempty"`
	// Attempt counts the tries of this delivery, from 1.
	Attempt int    `json:"attempt,omitempty"`
	Result  string `json:"result"`
	// StatusCode is the receiver's answer; 0 when none came.
	StatusCode    int        `json:"status_code,omitempty"`
	Error         string     `json:"error,omitempty"`
	DurationMS    int64      `json:"duration_ms,omitempty"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	// Replay marks the deliveries a replay asked for.
	Replay bool `json:"replay,omitempty"`
}

// MaxDeliveries is the most entries one Deliveries call returns.
const MaxDeliveries = 500

// logAttempt appends to the subscription's delivery log. The log is a
// stream: capped at LogMax, and trimmed to LogRetention by the ids Redis
// gives the entries (its own clock, so the nodes' clocks do not matter).
// A log that cannot be written is logged here and not retried: the
// delivery itself went as it went.
func (s *Service) logAttempt(ctx context.Context, sub string, a Attempt) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	b, err := json.Marshal(a)
	if err != nil {
		s.log.Warn("encode webhook attempt", "subscription", sub, "err", err)
		return
	}
	key := s.logKey(sub)
	id, err := s.rdb.XAdd(ctx, &redis.XAddArgs{Stream: key, MaxLen: s.cfg.LogMax, Approx: true, Values: []any{"a", b}}).Result()
	if err != nil {
		s.log.Warn("record webhook attempt", "subscription", sub, "event", a.EventID, "err", err)
		return
	}
	ms, _ := strconv.ParseInt(strings.SplitN(id, "-", 2)[0], 10, 64)
	pipe := s.rdb.Pipeline()
	pipe.XTrimMinIDApprox(ctx, key, strconv.FormatInt(ms-s.cfg.LogRetention.Milliseconds(), 10), 0)
	pipe.Expire(ctx, key, s.cfg.LogRetention)
	if _, err := pipe.Exec(ctx); err != nil {
		s.log.Warn("trim webhook log", "subscription", sub, "err", err)
	}
}

var logCursor = regexp.MustCompile(`^[0-9]{1,20}-[0-9]{1,20}$`)

// Deliveries returns a subscription's delivery log, newest first: up to
// limit entries (1 to MaxDeliveries) before cursor (a previous page's next
// cursor; "" for the newest), and the cursor of the next page ("" after
// the last).
func (s *Service) Deliveries(ctx context.Context, id string, limit int, cursor string) ([]Attempt, string, error) {
	if limit < 1 || limit > MaxDeliveries {
		return nil, "", fieldErr("limit", "must be between 1 and %d", MaxDeliveries)
	}
	end := "+"
	if cursor != "" {
		if !logCursor.MatchString(cursor) {
			return nil, "", fieldErr("cursor", "is not a cursor this API gave")
		}
		end = "(" + cursor
	}
	if !validSubID(id) {
		return nil, "", notFound(id)
	}
	pipe := s.rdb.Pipeline()
	exists := pipe.Exists(ctx, s.subKey(id))
	rng := pipe.XRevRangeN(ctx, s.logKey(id), end, "-", int64(limit+1))
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, "", fmt.Errorf("read the delivery log of webhook subscription %s: %w", id, err)
	}
	if exists.Val() == 0 {
		return nil, "", notFound(id)
	}
	msgs, next := rng.Val(), ""
	if len(msgs) > limit {
		msgs, next = msgs[:limit], msgs[limit-1].ID
	}
	out := make([]Attempt, 0, len(msgs))
	for _, m := range msgs {
		raw, _ := m.Values["a"].(string)
		var a Attempt
		if err := json.Unmarshal([]byte(raw), &a); err != nil {
			return nil, "", fmt.Errorf("decode webhook attempt %s: %w", m.ID, err)
		}
		a.ID = m.ID
		out = append(out, a)
	}
	return out, next, nil
}
