package web

import (
	"errors"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/trackd/trackd/tracking"
)

// webhookSource is what differs between webhook endpoints: how a request
// is authenticated, and what its body says before it is stored.
type webhookSource struct {
	// name labels metrics and ingest entries: "generic", "aftership".
	name string
	// verify authenticates the request; an error is a 401.
	verify func(c *fiber.Ctx, body []byte, now time.Time) error
	// inspect returns the shard key and how many items the body holds; an
	// error is a 400 (a *tracking.FieldError names the field).
	inspect func(body []byte, now time.Time) (shardKey string, accepted int, err error)
}

// acceptWebhook is every webhook's path to the 202. The order of checks
// matters: rejected clients first (cheap), size, then authentication
// (nothing unauthenticated is read), then the content, and only then the
// durable append the 202 promises. The body is stored as received.
func (s *Server) acceptWebhook(c *fiber.Ctx, src webhookSource) error {
	m := s.deps.Metrics
	now := s.deps.Now()
	ip := c.IP()
	if s.rejects.blocked(ip, now) {
		m.webhooks.WithLabelValues(src.name, "rate_limited").Inc()
		if s.deps.Stats != nil {
			s.deps.Stats.Webhook(src.name, "rate_limited", now)
		}
		return &Error{Status: fiber.StatusTooManyRequests, Message: "too many rejected requests from this address; retry later", RetryAfter: 10}
	}
	reject := func(reason string, err *Error) error {
		m.webhooks.WithLabelValues(src.name, reason).Inc()
		if s.deps.Stats != nil {
			s.deps.Stats.Webhook(src.name, reason, now)
		}
		if reason != "unavailable" {
			s.rejects.reject(ip, now)
		}
		return err
	}
	body := c.Body()
	if len(body) > s.cfg.WebhookBodyLimit {
		return reject("too_large", httpError(fiber.StatusRequestEntityTooLarge, "request body too large"))
	}
	if err := src.verify(c, body, now); err != nil {
		return reject("bad_signature", &Error{Status: fiber.StatusUnauthorized, Message: err.Error(), Err: err})
	}
	shardKey, accepted, err := src.inspect(body, now)
	if err != nil {
		var fe *tracking.FieldError
		if errors.As(err, &fe) {
			return reject("malformed", &Error{Status: fiber.StatusBadRequest, Message: fe.Error(), Field: fe.Field})
		}
		return reject("malformed", httpError(fiber.StatusBadRequest, err.Error()))
	}
	if _, err := s.deps.Store.Append(c.UserContext(), src.name, body, shardKey, now); err != nil {
		msg := "cannot store the webhook now; retry later"
		if errors.Is(err, tracking.ErrBacklogFull) {
			msg = "too much unprocessed work; retry later"
		}
		return reject("unavailable", &Error{Status: fiber.StatusServiceUnavailable, Message: msg, RetryAfter: 5, Err: err})
	}
	m.webhooks.WithLabelValues(src.name, "accepted").Inc()
	if s.deps.Stats != nil {
		s.deps.Stats.Webhook(src.name, "accepted", now)
	}
	m.accept.WithLabelValues(src.name).Observe(s.deps.Now().Sub(now).Seconds())
	return c.Status(fiber.StatusAccepted).JSON(fiber.Map{"accepted": accepted})
}
