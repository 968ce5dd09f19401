package web

import (
	"time"

	"github.com/gofiber/fiber/v2"
)

// NotifyDeps are the notification parts the web tier serves: the delivery
// log's API, the unsubscribe page and the Twilio webhooks. Nil leaves
// those routes out.
type NotifyDeps struct {
	Log NotificationLog
	// Tokens verify unsubscribe links; OptOuts record opt-outs.
	Tokens  UnsubscribeTokens
	OptOuts interface {
		UnsubscribeOptOuts
		SMSOptOuts
	}
	// CSRFKey keys the unsubscribe form's anti-forgery token.
	CSRFKey []byte
	// SMSLog takes Twilio's status callbacks; TwilioAuthToken verifies
	// them (empty: the Twilio webhooks refuse everything).
	SMSLog          SMSStatusLog
	TwilioAuthToken string
	// Templates serve the templates API; nil leaves it out. Its Author is
	// set here, from the API key.
	Templates *TemplateAPI
}

// notifyRoutes registers the notification routes.
func (s *Server) notifyRoutes(app *fiber.App, api fiber.Router) {
	n := s.deps.Notify
	if n == nil {
		return
	}
	api.Get("/notifications", s.requireKey(ScopeAdmin), NotificationsList(n.Log))
	api.Get("/notifications.csv", s.requireKey(ScopeAdmin), NotificationsCSV(n.Log, s.deps.Log))
	if n.Templates != nil {
		t := *n.Templates
		t.Author = keyName
		admin := s.requireKey(ScopeAdmin)
		api.Post("/templates/preview", admin, TemplatePreview(t))
		api.Post("/templates/test-send", admin, TemplateTestSend(t))
		api.Get("/templates/:trigger/:channel/:locale", admin, TemplateGet(t))
		api.Put("/templates/:trigger/:channel/:locale", admin, TemplatePut(t))
		api.Get("/templates/:trigger/:channel/:locale/versions", admin, TemplateVersions(t))
		api.Post("/templates/:trigger/:channel/:locale/versions/:n/restore", admin, TemplateRestore(t))
	}

	unsub := UnsubscribeDeps{
		Tokens: n.Tokens, OptOuts: n.OptOuts, CSRFKey: n.CSRFKey, Brand: s.cfg.Brand, Log: s.deps.Log,
		Limit: newRedisLimiter(s.deps.Redis, s.cfg.KeyPrefix, "unsubscribe_ip", 30, 10*time.Minute),
	}
	app.Get("/u/:token", UnsubscribePage(unsub))
	app.Post("/u/:token", UnsubscribeSubmit(unsub))

	tw := TwilioDeps{
		AuthToken: n.TwilioAuthToken, PublicURL: s.cfg.PublicURL, Log: n.SMSLog, OptOuts: n.OptOuts,
		HelpText: s.cfg.Brand.Name + ": order updates. Reply STOP to stop them.",
	}
	app.Post("/webhooks/twilio/status", TwilioStatus(tw))
	app.Post("/webhooks/twilio/inbound", TwilioInbound(tw))
}
