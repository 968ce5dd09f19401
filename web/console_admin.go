package web

import (
	"github.com/gofiber/fiber/v2"
	"github.com/trackd/trackd/console"
)

// ConsoleAdmin is what the console's admin pages need: the users, sessions
// and audit log come from ConsoleDeps.
type ConsoleAdmin struct {
	// Keys are the API keys the console lists, creates and revokes; the
	// merchant API authorizes with the same store.
	Keys *KeyStore
	// AuditLimit is how many entries the audit page shows; zero is 200, a
	// few screens of the newest changes, which is what an admin looks for.
	AuditLimit int64
}

// consoleAdminRoutes registers the console's admin pages.
func (s *Server) consoleAdminRoutes(con fiber.Router) {
	users, keys, audit := s.requireRole("users"), s.requireRole("keys"), s.requireRole("audit")
	con.Get("/users", users, s.adminUsers)
	con.Post("/users", users, s.adminCreateUser)
	con.Post("/users/role", users, s.adminChangeRole)
	con.Post("/users/password", users, s.adminResetPassword)
	con.Post("/users/delete", users, s.adminDeleteUser)
	if s.deps.Console.Admin.Keys != nil {
		con.Get("/api-keys", keys, s.adminAPIKeys)
		con.Post("/api-keys", keys, s.adminCreateAPIKey)
		con.Post("/api-keys/:id/revoke", keys, s.adminRevokeAPIKey)
	}
	con.Get("/audit", audit, s.adminAudit)
}

// adminUnavailable is a Redis failure on an admin page.
func adminUnavailable(err error) error {
	return &Error{Status: fiber.StatusServiceUnavailable, Message: "cannot reach the console's store now; retry later", RetryAfter: 5, Err: err}
}

// adminSelf is the signed-in user's email.
func adminSelf(c *fiber.Ctx) string {
	if cc := signedIn(c); cc != nil {
		return cc.User.Email
	}
	return ""
}

func roleNames() []string {
	out := make([]string, len(console.Roles))
	for i, r := range console.Roles {
		out[i] = string(r)
	}
	return out
}
