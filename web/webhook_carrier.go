package web

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/trackd/trackd/carriers"
)

// carrierWebhook accepts a carrier's or aggregator's webhook, verified by
// its adapter. Its content is never refused: what the adapter cannot parse
// goes to the dead letters in the processors, so no carrier data is thrown
// away.
func (s *Server) carrierWebhook(c *fiber.Ctx) error {
	slug := strings.Clone(c.Params("slug"))
	var a carriers.Adapter
	if s.deps.Adapters != nil {
		a, _ = s.deps.Adapters.Adapter(slug)
	}
	if a == nil {
		return httpError(fiber.StatusNotFound, `no carrier adapter named "`+url.PathEscape(slug)+`" is configured`)
	}
	return s.acceptWebhook(c, webhookSource{
		name: slug,
		verify: func(c *fiber.Ctx, body []byte, now time.Time) error {
			query := c.Context().QueryArgs()
			err := a.VerifyWebhook(carriers.WebhookRequest{
				Body:   body,
				Header: func(name string) string { return c.Get(name) },
				Query:  func(name string) string { return string(query.Peek(name)) },
				Now:    now,
			})
			if err != nil && !errors.Is(err, carriers.ErrUnauthenticated) {
				err = errors.Join(carriers.ErrUnauthenticated, err)
			}
			return err
		},
		inspect: func(body []byte, _ time.Time) (string, int, error) {
			// The tracking number is not known before parsing; the body's
			// hash spreads messages over the shards. One message accepted:
			// how many events it holds is known once parsed.
			sum := sha256.Sum256(body)
			return hex.EncodeToString(sum[:8]), 1, nil
		},
	})
}
