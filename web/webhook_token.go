package web

import (
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/trackd/trackd/carriers"
)

// tokenIssuer is an adapter whose carrier fetches an OAuth token from
// trackd before calling its webhook: UPS Track Alert v2 uses the
// client-credentials flow against a token URL the subscriber gives it.
type tokenIssuer interface {
	IssueWebhookToken(r carriers.WebhookRequest) (status int, body []byte)
}

// webhookToken is POST /webhooks/{slug}/token, the token endpoint of
// RFC 6749 for the adapters that need one. Failed requests count against
// the client like rejected webhooks: it is a password check.
func (s *Server) webhookToken(c *fiber.Ctx) error {
	slug := strings.Clone(c.Params("slug"))
	var issuer tokenIssuer
	if s.deps.Adapters != nil {
		a, _ := s.deps.Adapters.Adapter(slug)
		issuer, _ = a.(tokenIssuer)
	}
	if issuer == nil {
		return httpError(fiber.StatusNotFound, "no carrier adapter here issues webhook tokens")
	}
	now := s.deps.Now()
	ip := c.IP()
	if s.rejects.blocked(ip, now) {
		return &Error{Status: fiber.StatusTooManyRequests, Message: "too many rejected requests from this address; retry later", RetryAfter: 10}
	}
	if len(c.Body()) > s.cfg.APIBodyLimit {
		s.rejects.reject(ip, now)
		return httpError(fiber.StatusRequestEntityTooLarge, "request body too large")
	}
	query := c.Context().QueryArgs()
	status, body := issuer.IssueWebhookToken(carriers.WebhookRequest{
		Body:   c.Body(),
		Header: func(name string) string { return c.Get(name) },
		Query:  func(name string) string { return string(query.Peek(name)) },
		Now:    now,
	})
	if status != fiber.StatusOK {
		s.rejects.reject(ip, now)
	}
	// RFC 6749 5.1: tokens are never cached; 5.2: a failed client
	// authentication by HTTP Basic is answered with its challenge.
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderPragma, "no-cache")
	if status == fiber.StatusUnauthorized {
		c.Set(fiber.HeaderWWWAuthenticate, `Basic realm="trackd `+slug+` webhooks"`)
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	return c.Status(status).Send(body)
}
