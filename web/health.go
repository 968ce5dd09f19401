package web

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"
)

// healthz says the process is alive; it checks nothing else, so a Redis
// outage does not get every node restarted.
func (s *Server) healthz(c *fiber.Ctx) error {
	return c.JSON(fiber.Map{"status": "ok"})
}

// readyz says whether this node can do its work: Redis must answer.
func (s *Server) readyz(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), time.Second)
	defer cancel()
	if err := s.deps.Ready(ctx); err != nil {
		return &Error{Status: fiber.StatusServiceUnavailable, Message: "redis unreachable: " + err.Error(), Err: err}
	}
	return c.JSON(fiber.Map{"status": "ready"})
}
