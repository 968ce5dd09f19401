package web

import (
	"errors"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/trackd/trackd/carriers/generic"
)

// genericWebhook accepts trackd's own signed format, validated at the edge:
// an unknown status or a missing field is a 400, and 202 counts the events.
func (s *Server) genericWebhook(c *fiber.Ctx) error {
	return s.acceptWebhook(c, webhookSource{
		name: "generic",
		verify: func(c *fiber.Ctx, body []byte, now time.Time) error {
			if len(s.verifier.Secrets) == 0 {
				return errors.New("generic webhooks are disabled: no TRACKD_GENERIC_WEBHOOK_SECRET is configured")
			}
			return s.verifier.Verify(c.Get(generic.SignatureHeader), body, now)
		},
		inspect: func(body []byte, now time.Time) (string, int, error) {
			u, err := generic.Parse(body, now)
			if err != nil {
				return "", 0, err
			}
			// One shipment's messages share a shard.
			return u.Carrier + ":" + u.TrackingNumber, len(u.Events), nil
		},
	})
}
