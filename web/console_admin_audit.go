package web

import (
	"github.com/gofiber/fiber/v2"
	"github.com/trackd/trackd/templates"
)

// adminAuditLimit is the audit page's length when ConsoleAdmin does not
// say: a few screens of the newest changes.
const adminAuditLimit = 200

// adminAudit is GET /console/audit: the newest entries of the audit log.
func (s *Server) adminAudit(c *fiber.Ctx) error {
	n := s.deps.Console.Admin.AuditLimit
	if n <= 0 {
		n = adminAuditLimit
	}
	entries, err := s.deps.Console.Audit.List(c.UserContext(), n)
	if err != nil {
		return adminUnavailable(err)
	}
	rows := make([]templates.AdminAuditEntry, len(entries))
	for i, e := range entries {
		rows[i] = templates.AdminAuditEntry{At: e.At, Actor: e.Actor, Action: e.Action, Target: e.Target, Detail: e.Detail}
	}
	return s.consolePage(c, templates.AdminAuditPage(templates.AdminAuditProps{
		Console: s.consoleProps(c, "Audit log", "audit"), Entries: rows, Limit: int(n)}))
}
