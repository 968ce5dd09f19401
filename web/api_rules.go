package web

import (
	"errors"

	"github.com/gofiber/fiber/v2"
	"github.com/trackd/trackd/notify"
)

// rulesView is the notification rules as the API shows them:
// {"shipped": {"email": true, "sms": false}, ...}, every trigger and
// channel present.
type rulesView map[notify.Trigger]map[notify.Channel]bool

// getRules answers GET /api/v1/notification-rules.
func (s *Server) getRules(c *fiber.Ctx) error {
	if s.deps.Rules == nil {
		return httpError(fiber.StatusNotFound, "notifications are not configured on this server")
	}
	r, err := s.deps.Rules.Get(c.UserContext())
	if err != nil {
		return &Error{Status: fiber.StatusServiceUnavailable, Message: "cannot read the rules now; retry later", RetryAfter: 5, Err: err}
	}
	return c.JSON(rulesView(r))
}

// putRules answers PUT /api/v1/notification-rules: the triggers and
// channels given are switched, the others keep their value; the answer is
// every rule in force.
func (s *Server) putRules(c *fiber.Ctx) error {
	if s.deps.Rules == nil {
		return httpError(fiber.StatusNotFound, "notifications are not configured on this server")
	}
	if len(c.Body()) > s.cfg.APIBodyLimit {
		return httpError(fiber.StatusRequestEntityTooLarge, "request body too large")
	}
	var in map[string]map[string]bool
	if err := decodeJSON(c.Body(), &in); err != nil {
		return err
	}
	changes := notify.Rules{}
	for t, chans := range in {
		trig := notify.Trigger(t)
		if !trig.Valid() {
			return &Error{Status: fiber.StatusBadRequest, Field: t, Message: t + ": not a trigger; triggers are shipped, in_transit, out_for_delivery, delivered, failed_attempt, available_for_pickup, exception, delayed, returning, arriving_soon, all_delivered"}
		}
		changes[trig] = map[notify.Channel]bool{}
		for ch, on := range chans {
			if !notify.Channel(ch).Valid() {
				return &Error{Status: fiber.StatusBadRequest, Field: t + "." + ch, Message: t + "." + ch + ": not a channel; channels are email and sms"}
			}
			changes[trig][notify.Channel(ch)] = on
		}
	}
	if err := s.deps.Rules.Set(c.UserContext(), changes); err != nil {
		var unknown *notify.UnknownError
		if errors.As(err, &unknown) {
			return &Error{Status: fiber.StatusBadRequest, Message: err.Error()}
		}
		return &Error{Status: fiber.StatusServiceUnavailable, Message: "cannot store the rules now; retry later", RetryAfter: 5, Err: err}
	}
	return s.getRules(c)
}
