package web

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/trackd/trackd/templates"
)

// adminKeyScopes are the scopes a key made in the console may have: the
// merchant API's read and write. Admin keys (notification rules by API)
// come from configuration only.
var adminKeyScopes = []string{ScopeRead, ScopeWrite}

// adminAPIKeys is GET /console/api-keys: every key, never a secret.
func (s *Server) adminAPIKeys(c *fiber.Ctx) error {
	notice := ""
	if c.Query("done") == "revoked" {
		notice = "Revoked the key. Requests with it are refused from now on."
	}
	return s.adminAPIKeysPage(c, fiber.StatusOK, notice, "", "", ScopeRead)
}

func (s *Server) adminAPIKeysPage(c *fiber.Ctx, status int, notice, errMsg, name, scope string) error {
	keys, err := s.deps.Console.Admin.Keys.List(c.UserContext())
	if err != nil {
		return adminUnavailable(err)
	}
	rows := make([]templates.AdminAPIKey, len(keys))
	for i, k := range keys {
		rows[i] = templates.AdminAPIKey{ID: k.ID, Name: k.Name, Scope: k.Scope, CreatedAt: k.CreatedAt, LastUsed: k.LastUsed}
	}
	c.Status(status)
	return s.consolePage(c, templates.AdminAPIKeysPage(templates.AdminAPIKeysProps{
		Console: s.consoleProps(c, "API keys", "keys"), Keys: rows, Scopes: adminKeyScopes,
		Notice: notice, Error: errMsg, Name: name, Scope: scope}))
}

// adminCreateAPIKey is POST /console/api-keys. The answer is the one page
// that shows the secret; it is not cached (consoleHeaders), and a reload
// would make another key, not show this one again.
func (s *Server) adminCreateAPIKey(c *fiber.Ctx) error {
	name := strings.TrimSpace(c.FormValue("name"))
	scope := c.FormValue("scope")
	switch {
	case name == "":
		return s.adminAPIKeysPage(c, fiber.StatusBadRequest, "", "Name: say who or what will use the key.", name, scope)
	case utf8.RuneCountInString(name) > adminMaxName || strings.IndexFunc(name, unicode.IsControl) >= 0:
		return s.adminAPIKeysPage(c, fiber.StatusBadRequest, "", fmt.Sprintf("Name: at most %d characters, on one line.", adminMaxName), name, scope)
	case scope != ScopeRead && scope != ScopeWrite:
		return s.adminAPIKeysPage(c, fiber.StatusBadRequest, "", "Scope: read or write.", name, ScopeRead)
	}
	secret, key, err := s.deps.Console.Admin.Keys.Create(c.UserContext(), name, scope, s.deps.Now())
	if err != nil {
		return adminUnavailable(err)
	}
	s.audit(c, "create API key", key.Name, "id "+key.ID+", scope "+key.Scope)
	c.Status(fiber.StatusCreated)
	return s.consolePage(c, templates.AdminAPIKeyCreatedPage(templates.AdminAPIKeyCreatedProps{
		Console: s.consoleProps(c, "API key created", "keys"), Secret: secret,
		Key: templates.AdminAPIKey{ID: key.ID, Name: key.Name, Scope: key.Scope, CreatedAt: key.CreatedAt}}))
}

// adminRevokeAPIKey is POST /console/api-keys/:id/revoke.
func (s *Server) adminRevokeAPIKey(c *fiber.Ctx) error {
	id := strings.Clone(c.Params("id"))
	if c.FormValue("confirm") != "yes" {
		return s.adminAPIKeysPage(c, fiber.StatusBadRequest, "", "Tick “sure” to revoke a key.", "", ScopeRead)
	}
	key, err := s.deps.Console.Admin.Keys.Revoke(c.UserContext(), id)
	if errors.Is(err, ErrUnknownKey) {
		return s.adminAPIKeysPage(c, fiber.StatusNotFound, "", "There is no such key: revoked already?", "", ScopeRead)
	}
	if err != nil {
		return adminUnavailable(err)
	}
	s.audit(c, "revoke API key", key.Name, "id "+key.ID+", scope "+key.Scope)
	return c.Redirect("/console/api-keys?done=revoked", fiber.StatusSeeOther)
}
