package web

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/trackd/trackd/templates"
	"github.com/trackd/trackd/timeline"
	"github.com/trackd/trackd/tracking"
)

// ConsoleOps is what the console's ops pages need. A nil field leaves its
// page saying it is not set up on this node.
type ConsoleOps struct {
	// Stats are the dashboard's per-minute counts (*timeline.Recorder).
	Stats OpsStats
	// DeadLetters lists and replays dead letters (*tracking.Store).
	DeadLetters DeadLetterStore
	// Log is the delivery log (*deliverylog.Log).
	Log NotificationLog
}

// OpsStats reads the dashboard's counts (timeline.Recorder).
type OpsStats interface {
	Query(ctx context.Context, from, to time.Time) ([]timeline.Bucket, error)
}

// DeadLetterStore lists and replays dead letters (tracking.Store).
type DeadLetterStore interface {
	DeadLetters(ctx context.Context, f tracking.DeadLetterFilter) ([]tracking.DeadLetterEntry, string, error)
	DeadLetter(ctx context.Context, ref string) (tracking.DeadLetterEntry, error)
	ReplayDeadLetter(ctx context.Context, ref, by string, now time.Time) (tracking.DeadLetterEntry, bool, error)
	ReplayDeadLetters(ctx context.Context, f tracking.ReplayFilter, by string, now time.Time) (tracking.ReplaySummary, error)
}

// consoleOpsRoutes registers the console's ops pages.
func (s *Server) consoleOpsRoutes(con fiber.Router) {
	con.Get("/ops", s.requireRole("ops"), s.opsDashboard)
	dl := s.requireRole("deadletters")
	con.Get("/dead-letters", dl, s.deadLettersPage)
	con.Post("/dead-letters/replay", dl, s.replayDeadLetters)
	con.Get("/dead-letters/:ref", dl, s.deadLetterPage)
	con.Post("/dead-letters/:ref/replay", dl, s.replayDeadLetter)
	dv := s.requireRole("deliveries")
	con.Get("/deliveries", dv, s.deliveriesPage)
	con.Get("/deliveries.csv", dv, s.deliveriesCSV())
}

// opsMessage answers a console page with only a message.
func (s *Server) opsMessage(c *fiber.Ctx, status int, title, active, msg string) error {
	c.Status(status)
	return s.consolePage(c, templates.ConsoleMessage(templates.ConsoleMessageProps{
		Console: s.consoleProps(c, title, active), Message: msg}))
}

// notSetUp answers a page whose dependency this node lacks.
func (s *Server) notSetUp(c *fiber.Ctx, title, active string) error {
	return s.opsMessage(c, fiber.StatusNotFound, title, active, "This part of the console is not set up on this node.")
}

// opsTime writes a time for the ops pages: UTC, to the second.
func opsTime(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return t.UTC().Format("2006-01-02 15:04:05")
}
