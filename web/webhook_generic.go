package web

import (
	"errors"

	"github.com/gofiber/fiber/v2"
	"github.com/trackd/trackd/carriers/generic"
	"github.com/trackd/trackd/tracking"
)

// genericWebhook accepts trackd's own signed format. The order of checks
// matters: size, then signature (nothing unauthenticated is parsed), then
// the content, and only then the durable append the 202 promises.
func (s *Server) genericWebhook(c *fiber.Ctx) error {
	const src = "generic"
	m := s.deps.Metrics
	now := s.deps.Now()
	ip := c.IP()
	if s.rejects.blocked(ip, now) {
		m.webhooks.WithLabelValues(src, "rate_limited").Inc()
		return &Error{Status: fiber.StatusTooManyRequests, Message: "too many rejected requests from this address; retry later", RetryAfter: 10}
	}
	reject := func(reason string, err *Error) error {
		m.webhooks.WithLabelValues(src, reason).Inc()
		if reason != "unavailable" {
			s.rejects.reject(ip, now)
		}
		return err
	}
	body := c.Body()
	if len(body) > s.cfg.WebhookBodyLimit {
		return reject("too_large", httpError(fiber.StatusRequestEntityTooLarge, "request body too large"))
	}
	if len(s.verifier.Secrets) == 0 {
		return reject("bad_signature", httpError(fiber.StatusUnauthorized,
			"generic webhooks are disabled: no TRACKD_GENERIC_WEBHOOK_SECRET is configured"))
	}
	if err := s.verifier.Verify(c.Get(generic.SignatureHeader), body, now); err != nil {
		return reject("bad_signature", &Error{Status: fiber.StatusUnauthorized, Message: err.Error(), Err: err})
	}
	u, err := generic.Parse(body, now)
	if err != nil {
		var fe *tracking.FieldError
		if errors.As(err, &fe) {
			return reject("malformed", &Error{Status: fiber.StatusBadRequest, Message: fe.Error(), Field: fe.Field})
		}
		return reject("malformed", httpError(fiber.StatusBadRequest, err.Error()))
	}
	// Appended as received: the processors parse it again, so what is
	// stored is exactly what was signed.
	if _, err := s.deps.Store.Append(c.UserContext(), src, body, u.Carrier+":"+u.TrackingNumber, now); err != nil {
		msg := "cannot store the webhook now; retry later"
		if errors.Is(err, tracking.ErrBacklogFull) {
			msg = "too much unprocessed work; retry later"
		}
		return reject("unavailable", &Error{Status: fiber.StatusServiceUnavailable, Message: msg, RetryAfter: 5, Err: err})
	}
	m.webhooks.WithLabelValues(src, "accepted").Inc()
	m.accept.WithLabelValues(src).Observe(s.deps.Now().Sub(now).Seconds())
	return c.Status(fiber.StatusAccepted).JSON(fiber.Map{"accepted": len(u.Events)})
}
