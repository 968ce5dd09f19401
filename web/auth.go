package web

import (
	"errors"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// keyNameLocal holds the name of the request's API key.
const keyNameLocal = "trackd.key_name"

// keyName is the name of the API key that authorized c.
func keyName(c *fiber.Ctx) string {
	name, _ := c.Locals(keyNameLocal).(string)
	return "api key " + name
}

// requireKey admits requests with a bearer API key of at least scope.
func (s *Server) requireKey(scope string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		secret, ok := strings.CutPrefix(c.Get(fiber.HeaderAuthorization), "Bearer ")
		if !ok || strings.TrimSpace(secret) == "" {
			c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="trackd"`)
			return httpError(fiber.StatusUnauthorized, "missing API key: send Authorization: Bearer <key>")
		}
		key, err := s.deps.Keys.Lookup(c.UserContext(), strings.TrimSpace(secret))
		switch {
		case errors.Is(err, ErrUnknownKey):
			c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="trackd", error="invalid_token"`)
			return httpError(fiber.StatusUnauthorized, "unknown API key")
		case err != nil:
			return &Error{Status: fiber.StatusServiceUnavailable, Message: "cannot check the API key now; retry later", RetryAfter: 5, Err: err}
		case !allows(key.Scope, scope):
			return httpError(fiber.StatusForbidden, "this API key's scope ("+key.Scope+") does not allow this; it needs "+scope)
		}
		if err := s.limitKey(c, strings.TrimSpace(secret)); err != nil {
			return err
		}
		if t, ok := s.deps.Keys.(keyToucher); ok {
			if err := t.Touch(c.UserContext(), strings.TrimSpace(secret), s.deps.Now()); err != nil {
				s.deps.Log.Warn("record API key use", "key", key.Name, "err", err)
			}
		}
		// The key's name is who made a change, for the records that say so.
		c.Locals(keyNameLocal, key.Name)
		return c.Next()
	}
}
