package web

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/trackd/trackd/carriers"
	"github.com/trackd/trackd/tracking"
)

// carrierWebhook accepts a carrier's or aggregator's webhook: verified by
// its adapter, then appended as received. Its content is never refused:
// what the adapter cannot parse goes to the dead letters in the processors,
// so no carrier data is thrown away.
func (s *Server) carrierWebhook(c *fiber.Ctx) error {
	slug := strings.Clone(c.Params("slug"))
	m := s.deps.Metrics
	now := s.deps.Now()
	var a carriers.Adapter
	if s.deps.Adapters != nil {
		a, _ = s.deps.Adapters.Adapter(slug)
	}
	if a == nil {
		return httpError(fiber.StatusNotFound, "no carrier adapter named "+strconvQuote(slug)+" is configured")
	}
	ip := c.IP()
	if s.rejects.blocked(ip, now) {
		m.webhooks.WithLabelValues(slug, "rate_limited").Inc()
		return &Error{Status: fiber.StatusTooManyRequests, Message: "too many rejected requests from this address; retry later", RetryAfter: 10}
	}
	reject := func(reason string, err *Error) error {
		m.webhooks.WithLabelValues(slug, reason).Inc()
		if reason != "unavailable" {
			s.rejects.reject(ip, now)
		}
		return err
	}
	body := c.Body()
	if len(body) > s.cfg.WebhookBodyLimit {
		return reject("too_large", httpError(fiber.StatusRequestEntityTooLarge, "request body too large"))
	}
	query := c.Context().QueryArgs()
	err := a.VerifyWebhook(carriers.WebhookRequest{
		Body:   body,
		Header: func(name string) string { return c.Get(name) },
		Query:  func(name string) string { return string(query.Peek(name)) },
		Now:    now,
	})
	if err != nil {
		if !errors.Is(err, carriers.ErrUnauthenticated) {
			err = errors.Join(carriers.ErrUnauthenticated, err)
		}
		return reject("bad_signature", &Error{Status: fiber.StatusUnauthorized, Message: err.Error(), Err: err})
	}
	// The tracking number is not known before parsing; the body's hash
	// spreads messages over the shards.
	sum := sha256.Sum256(body)
	if _, err := s.deps.Store.Append(c.UserContext(), slug, body, hex.EncodeToString(sum[:8]), now); err != nil {
		msg := "cannot store the webhook now; retry later"
		if errors.Is(err, tracking.ErrBacklogFull) {
			msg = "too much unprocessed work; retry later"
		}
		return reject("unavailable", &Error{Status: fiber.StatusServiceUnavailable, Message: msg, RetryAfter: 5, Err: err})
	}
	m.webhooks.WithLabelValues(slug, "accepted").Inc()
	m.accept.WithLabelValues(slug).Observe(s.deps.Now().Sub(now).Seconds())
	// One message accepted; how many events it holds is known once parsed.
	return c.Status(fiber.StatusAccepted).JSON(fiber.Map{"accepted": 1})
}

func strconvQuote(s string) string { return `"` + url.PathEscape(s) + `"` }
