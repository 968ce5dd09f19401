package web

import (
	"context"

	"github.com/gofiber/fiber/v2"
	"github.com/trackd/trackd/console/settings"
	"github.com/trackd/trackd/notify"
	tpl "github.com/trackd/trackd/notify/templates"
	"github.com/trackd/trackd/templates"
)

// ConsoleMarketing is what the console's marketing pages need: the
// templates (grid, editor, versions, test sends) and the rules and brand.
type ConsoleMarketing struct {
	// Templates and Engine are the notification templates
	// (*templates.Store, *templates.Engine); nil leaves the templates
	// pages out.
	Templates TemplateStore
	Engine    TemplateRenderer
	// Defaults are the shipped templates, what version 1's changes are
	// shown against; nil shows version 1 whole.
	Defaults *tpl.Defaults
	// Send sends test messages (the templates API's); nil says test sends
	// are not configured.
	Send TestSender
	// Rules switch triggers and channels; nil leaves the rules page out.
	Rules *notify.RuleStore
	// Settings hold the brand, the quiet hours and the collapse window;
	// nil leaves them off the rules page (the environment's values hold).
	Settings *settings.Store
}

// consoleMarketingRoutes registers the console's marketing pages.
func (s *Server) consoleMarketingRoutes(con fiber.Router) {
	m := s.deps.Console.Marketing
	if m.Templates != nil && m.Engine != nil {
		tpls := s.requireRole("templates")
		con.Get("/templates", tpls, s.mktTemplateGrid)
		con.Post("/templates/preview", tpls, s.mktTemplatePreview)
		base := "/templates/:trigger/:channel/:locale"
		con.Get(base, tpls, s.mktTemplateEditor)
		con.Post(base, tpls, s.mktTemplateSave)
		con.Get(base+"/versions", tpls, s.mktTemplateVersions)
		con.Post(base+"/versions/:n/restore", tpls, s.mktTemplateRestore)
		con.Post(base+"/test", tpls, s.mktTemplateTest)
	}
	if m.Rules != nil {
		rules := s.requireRole("rules")
		con.Get("/rules", rules, s.mktRulesPage)
		con.Post("/rules", rules, s.mktRulesSave)
		if m.Settings != nil {
			con.Post("/rules/brand", rules, s.mktBrandSave)
		}
	}
}

// CurrentBrand is the brand the shopper's pages show now: the console's
// settings when there are some (cached, at most a few seconds old), else
// Config.Brand.
func (s *Server) CurrentBrand(ctx context.Context) Brand {
	if d := s.deps.Console; d != nil && d.Marketing != nil && d.Marketing.Settings != nil {
		b := d.Marketing.Settings.Brand(ctx)
		return Brand{Name: b.Name, LogoURL: b.LogoURL, Color: b.Color, AccentColor: b.AccentColor}
	}
	return s.cfg.Brand
}

// mktMessage answers with a console page saying msg.
func (s *Server) mktMessage(c *fiber.Ctx, status int, title, active, msg string) error {
	c.Status(status)
	return s.consolePage(c, templates.ConsoleMessage(templates.ConsoleMessageProps{
		Console: s.consoleProps(c, title, active), Message: msg}))
}

// mktUnavailable is the page for a store that cannot be reached.
func (s *Server) mktUnavailable(c *fiber.Ctx, active string, err error) error {
	s.deps.Log.Warn("console: store unavailable", "path", c.Path(), "err", err)
	c.Set(fiber.HeaderRetryAfter, "5")
	return s.mktMessage(c, fiber.StatusServiceUnavailable, "Unavailable", active,
		"The console cannot reach its store right now. Try again in a few seconds.")
}

// mktAuthor is who is signed in, as versions and the audit log name them.
func mktAuthor(c *fiber.Ctx) string {
	if cc := signedIn(c); cc != nil {
		return cc.User.Email
	}
	return ""
}
