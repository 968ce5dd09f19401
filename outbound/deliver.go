package outbound

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/redis/go-redis/v9"
	"github.com/trackd/trackd/carriers/generic"
	"github.com/trackd/trackd/jobqueue"
	"github.com/trackd/trackd/tracking"
)

// Headers sent with every delivery, beside Trackd-Signature.
const (
	HeaderEventID   = "Trackd-Event-Id"
	HeaderEventType = "Trackd-Event-Type"
	// HeaderAttempt counts the tries of this delivery, from 1.
	HeaderAttempt = "Trackd-Delivery-Attempt"
)

func (s *Service) deliverLoop(ctx context.Context, shard int) {
	jobqueue.Loop(ctx, s.cfg.Idle, func() (int, error) { return s.DeliverOnce(ctx, shard) },
		func(err error) { s.log.Warn("deliver webhooks", "shard", shard, "err", err) })
}

// DeliverOnce claims the shard's due deliveries and makes them, at most
// Concurrency at once, and returns when all are done. It returns how many
// it claimed.
func (s *Service) DeliverOnce(ctx context.Context, shard int) (int, error) {
	return s.queue().RunOnce(ctx, shard, s.now(), func(member, job string, lease int64) {
		s.process(ctx, shard, member, job, lease)
	})
}

func (s *Service) queue() jobqueue.Queue {
	return jobqueue.Queue{RDB: s.rdb, Due: s.dueKey, Jobs: s.jobsKey, Lease: s.cfg.Lease,
		Batch: s.cfg.Batch, Concurrency: s.cfg.Concurrency}
}

func (s *Service) process(ctx context.Context, shard int, m, raw string, lease int64) {
	var j job
	if err := json.Unmarshal([]byte(raw), &j); err != nil {
		s.log.Error("unreadable webhook job; dropped", "member", m, "err", err)
		s.finish(ctx, shard, m, lease, nil, time.Time{})
		return
	}
	next, at, done := s.deliver(ctx, shard, j)
	if !done {
		return // interrupted: the lease runs out and the job is claimed again
	}
	s.finish(ctx, shard, m, lease, next, at)
}

func (s *Service) finish(ctx context.Context, shard int, m string, lease int64, next *job, at time.Time) {
	nextJSON := ""
	if next != nil {
		b, _ := json.Marshal(next)
		nextJSON = string(b)
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	ok, err := s.complete.Run(cctx, s.rdb, []string{s.dueKey(shard), s.jobsKey(shard)}, m, lease, nextJSON, at.UnixMilli()).Int()
	switch {
	case err != nil:
		s.log.Warn("complete webhook job", "member", m, "err", err)
	case ok == 0:
		s.log.Info("webhook job's lease ran out before it completed; another node has it", "member", m)
	}
}

// deliver makes one delivery. It returns the job to keep (a retry) and
// when it is due, or nil when the job is done; done is false when ctx
// ended mid-way and the job should be left to its lease.
func (s *Service) deliver(ctx context.Context, shard int, j job) (next *job, at time.Time, done bool) {
	now := s.now()
	a := Attempt{At: now.UTC(), EventID: j.Event, Type: j.Type, Attempt: j.Attempt + 1, Replay: j.Replay}
	sub, err := s.load(ctx, j.Sub)
	if errors.Is(err, tracking.ErrNotFound) {
		return nil, now, true // deleted
	}
	if err != nil {
		// Redis trouble is not the receiver's failure: try again, uncounted.
		s.log.Warn("read webhook subscription", "subscription", j.Sub, "err", err)
		return &j, now.Add(s.cfg.BackoffBase), ctx.Err() == nil
	}
	if sub.Status != Active {
		// Dropped unlogged: a busy store would fill the capped log with
		// these and push out the failures that explain the disabling. The
		// event stays in the subscription's index, for a replay.
		return nil, now, true
	}
	body, err := s.rdb.Get(ctx, s.eventKey(shard, j.Event)).Bytes()
	if errors.Is(err, redis.Nil) {
		a.Result, a.Error = ResultGaveUp, "the event is no longer kept"
		s.logAttempt(ctx, sub.ID, a)
		return nil, now, true
	}
	if err != nil {
		s.log.Warn("read webhook event", "event", j.Event, "err", err)
		return &j, now.Add(s.cfg.BackoffBase), ctx.Err() == nil
	}

	code, took, perr := s.post(ctx, sub, j, body, now)
	if ctx.Err() != nil {
		return nil, now, false
	}
	a.StatusCode, a.DurationMS = code, took.Milliseconds()
	if perr == nil {
		a.Result = ResultDelivered
		s.logAttempt(ctx, sub.ID, a)
		if sub.ConsecutiveFailures > 0 {
			if err := s.recordSuccess(ctx, sub.ID); err != nil {
				s.log.Warn("record webhook success", "subscription", sub.ID, "err", err)
			}
		}
		return nil, now, true
	}

	a.Error = perr.Error()
	reason, err := s.recordFailure(ctx, sub.ID, now, a.Error)
	if err != nil {
		s.log.Warn("record webhook failure", "subscription", sub.ID, "err", err)
	}
	if now.Sub(time.UnixMilli(j.First)) >= s.cfg.MaxAge {
		a.Result = ResultGaveUp
		s.logAttempt(ctx, sub.ID, a)
		s.log.Warn("webhook event given up after retrying", "subscription", sub.ID, "event", j.Event, "type", j.Type,
			"attempts", a.Attempt, "err", perr)
		if reason == "" {
			reason = fmt.Sprintf("event %s could not be delivered in %s of retries; the last error: %s",
				j.Event, s.cfg.MaxAge, truncate(a.Error, 300))
			if ok, err := s.disableSub(ctx, sub.ID, reason, now); err != nil {
				s.log.Warn("disable webhook subscription", "subscription", sub.ID, "err", err)
			} else if !ok {
				reason = ""
			}
		}
		s.disabled(ctx, sub, reason, now)
		return nil, now, true
	}
	if reason != "" {
		// The streak disabled the subscription: its queued events are
		// skipped from now on, and a replay after re-enabling sends them.
		a.Result = ResultFailed
		s.logAttempt(ctx, sub.ID, a)
		s.disabled(ctx, sub, reason, now)
		return nil, now, true
	}
	j.Attempt++
	wait := s.backoff(j.Attempt)
	nextAt := now.Add(wait).UTC()
	a.Result, a.NextAttemptAt = ResultRetrying, &nextAt
	s.logAttempt(ctx, sub.ID, a)
	s.log.Info("webhook delivery will be retried", "subscription", sub.ID, "event", j.Event, "attempt", a.Attempt,
		"in", wait, "err", perr)
	return &j, nextAt, true
}

// disabled tells of a subscription just disabled: at warn in the log, and
// in its own delivery log (the subscription itself says why and when).
func (s *Service) disabled(ctx context.Context, sub Subscription, reason string, now time.Time) {
	if reason == "" {
		return
	}
	s.log.Warn("webhook subscription disabled", "subscription", sub.ID, "url", redactURL(sub.URL), "reason", reason)
	s.logAttempt(ctx, sub.ID, Attempt{At: now.UTC(), Result: ResultDisabled, Error: reason})
}

// backoff is the wait before retry n (from 1): BackoffBase doubling up to
// BackoffMax, less up to half at random so a receiver coming back is not
// met by every retry at once.
func (s *Service) backoff(n int) time.Duration {
	wait := s.cfg.BackoffBase << min(n-1, 30)
	if wait <= 0 || wait > s.cfg.BackoffMax {
		wait = s.cfg.BackoffMax
	}
	return time.Duration(float64(wait) * (0.5 + rand.Float64()/2))
}

// post sends the event and says how it went: nil for a 2xx answer.
func (s *Service) post(ctx context.Context, sub Subscription, j job, body []byte, now time.Time) (int, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sub.URL, bytes.NewReader(body))
	if err != nil {
		return 0, 0, fmt.Errorf("bad target: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", s.cfg.UserAgent)
	req.Header.Set(generic.SignatureHeader, generic.Sign([]byte(sub.Secret), now, body))
	req.Header.Set(HeaderEventID, j.Event)
	req.Header.Set(HeaderEventType, string(j.Type))
	req.Header.Set(HeaderAttempt, strconv.Itoa(j.Attempt+1))
	start := time.Now()
	resp, err := s.client.Do(req)
	took := time.Since(start)
	if err != nil {
		return 0, took, errors.New(describe(err))
	}
	defer resp.Body.Close()
	excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	// Read a little more, so the connection can be reused.
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp.StatusCode, took, nil
	}
	msg := "HTTP " + strconv.Itoa(resp.StatusCode)
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		msg += " (redirects are not followed: subscribe the final URL)"
	}
	if t := printable(excerpt); t != "" {
		msg += ": " + t
	}
	return resp.StatusCode, took, errors.New(msg)
}

// describe is a transport error without the URL, which the log has.
func describe(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var re *RefusedError
	if errors.As(err, &re) {
		return "refused: " + re.Error()
	}
	if errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "Client.Timeout") {
		return "timed out: no answer within the delivery timeout"
	}
	return err.Error()
}

// printable is the start of a receiver's answer, on one line.
func printable(b []byte) string {
	s := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(string(b), "?"))
	return truncate(strings.Join(strings.Fields(s), " "), 200)
}
