package web

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/trackd/trackd/console/settings"
	"github.com/trackd/trackd/notify"
	"github.com/trackd/trackd/templates"
)

// mktRulesForm is what the rules and brand page shows: what is stored, or
// what was just submitted with what is wrong with it.
type mktRulesForm struct {
	rules      notify.Rules
	quiet      string
	collapse   string
	brand      settings.Brand
	errors     map[string]string
	flash, err string
}

// mktRulesPage serves GET /console/rules: each trigger × channel on or
// off, the quiet hours, the collapse window and the brand.
func (s *Server) mktRulesPage(c *fiber.Ctx) error {
	f, err := s.mktStoredRules(c)
	if err != nil {
		return s.mktUnavailable(c, "rules", err)
	}
	switch c.Query("saved") {
	case "rules":
		f.flash = "The rules are saved."
	case "brand":
		f.flash = "The brand is saved. The tracking page and the emails show it within a few seconds."
	case "none":
		f.flash = "Nothing changed."
	}
	return s.mktRulesRender(c, f)
}

// mktStoredRules reads what is in force.
func (s *Server) mktStoredRules(c *fiber.Ctx) (mktRulesForm, error) {
	m := s.deps.Console.Marketing
	ctx := c.UserContext()
	rules, err := m.Rules.Get(ctx)
	if err != nil {
		return mktRulesForm{}, err
	}
	f := mktRulesForm{rules: rules}
	if m.Settings != nil {
		st, err := m.Settings.Get(ctx)
		if err != nil {
			return mktRulesForm{}, err
		}
		f.quiet, f.collapse, f.brand = st.QuietHours.String(), mktDuration(st.Collapse), st.Brand
	}
	return f, nil
}

// mktDuration writes a duration as people type it: 5m, not 5m0s.
func mktDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func (s *Server) mktRulesRender(c *fiber.Ctx, f mktRulesForm) error {
	m := s.deps.Console.Marketing
	p := templates.ConsoleRulesProps{
		Console: s.consoleProps(c, "Rules & brand", "rules"), HasSettings: m.Settings != nil,
		QuietHours: f.quiet, Collapse: f.collapse, Errors: f.errors, Flash: f.flash, Error: f.err,
		Brand: templates.ConsoleBrandForm{Name: f.brand.Name, LogoURL: f.brand.LogoURL, Color: f.brand.Color,
			AccentColor: f.brand.AccentColor, SupportEmail: f.brand.SupportEmail},
	}
	for _, ch := range notify.Channels {
		p.Channels = append(p.Channels, string(ch))
	}
	for _, t := range notify.Triggers {
		row := templates.ConsoleRuleRow{Trigger: string(t)}
		for _, ch := range notify.Channels {
			row.Cells = append(row.Cells, templates.ConsoleRuleCell{Channel: string(ch), Value: string(t) + "/" + string(ch), On: f.rules.On(t, ch)})
		}
		p.Rows = append(p.Rows, row)
	}
	return s.consolePage(c, templates.ConsoleRules(p))
}

// mktFormValues is every value of a form field (the rules' checkboxes).
func mktFormValues(c *fiber.Ctx, name string) []string {
	var out []string
	if strings.HasPrefix(c.Get(fiber.HeaderContentType), fiber.MIMEMultipartForm) {
		if form, err := c.MultipartForm(); err == nil {
			for _, v := range form.Value[name] {
				out = append(out, strings.Clone(v))
			}
		}
		return out
	}
	for _, v := range c.Request().PostArgs().PeekMulti(name) {
		out = append(out, string(v))
	}
	return out
}

// mktRulesSave serves POST /console/rules: the switches, quiet hours and
// collapse window. Anything wrong is the page again, 422, each message by
// its field, and nothing saved.
func (s *Server) mktRulesSave(c *fiber.Ctx) error {
	m := s.deps.Console.Marketing
	ctx := c.UserContext()
	cur, err := s.mktStoredRules(c)
	if err != nil {
		return s.mktUnavailable(c, "rules", err)
	}
	f := cur
	f.errors = map[string]string{}
	f.rules = notify.Rules{}
	for _, t := range notify.Triggers {
		f.rules[t] = map[notify.Channel]bool{}
		for _, ch := range notify.Channels {
			f.rules[t][ch] = false
		}
	}
	for _, v := range mktFormValues(c, "on") {
		t, ch, _ := strings.Cut(v, "/")
		if !notify.Trigger(t).Valid() || !notify.Channel(ch).Valid() {
			f.errors["on"] = fmt.Sprintf("%q is not a trigger and channel", v)
			continue
		}
		f.rules[notify.Trigger(t)][notify.Channel(ch)] = true
	}
	var quiet settings.QuietHours
	var collapse time.Duration
	if m.Settings != nil {
		f.quiet, f.collapse = strings.TrimSpace(c.FormValue("quiet_hours")), strings.TrimSpace(c.FormValue("collapse"))
		if quiet, err = settings.ParseQuietHours(f.quiet); err != nil {
			f.errors["quiet_hours"] = err.Error()
		}
		if collapse, err = settings.ParseCollapse(f.collapse); err != nil {
			f.errors["collapse"] = err.Error()
		}
	}
	if len(f.errors) > 0 {
		f.err = "Nothing was saved: fix what is marked below."
		if msg := f.errors["on"]; msg != "" {
			f.err += " " + msg + "."
		}
		c.Status(fiber.StatusUnprocessableEntity)
		return s.mktRulesRender(c, f)
	}

	var changes []string
	changed := notify.Rules{}
	for _, t := range notify.Triggers {
		for _, ch := range notify.Channels {
			if on := f.rules.On(t, ch); on != cur.rules.On(t, ch) {
				if changed[t] == nil {
					changed[t] = map[notify.Channel]bool{}
				}
				changed[t][ch] = on
				changes = append(changes, fmt.Sprintf("%s/%s %s", t, ch, map[bool]string{true: "on", false: "off"}[on]))
			}
		}
	}
	if len(changed) > 0 {
		if err := m.Rules.Set(ctx, changed); err != nil {
			return s.mktUnavailable(c, "rules", err)
		}
	}
	if m.Settings != nil && (quiet.String() != cur.quiet || mktDuration(collapse) != cur.collapse) {
		if err := m.Settings.SetNotifications(ctx, quiet, collapse); err != nil {
			return s.mktSettingsFailure(c, f, err)
		}
		if quiet.String() != cur.quiet {
			changes = append(changes, fmt.Sprintf("quiet hours %s (was %s)", quiet, cur.quiet))
		}
		if mktDuration(collapse) != cur.collapse {
			changes = append(changes, fmt.Sprintf("collapse %s (was %s)", mktDuration(collapse), cur.collapse))
		}
	}
	if len(changes) == 0 {
		return c.Redirect("/console/rules?saved=none", fiber.StatusSeeOther)
	}
	s.audit(c, "rules changed", "notification rules", strings.Join(changes, "; "))
	return c.Redirect("/console/rules?saved=rules", fiber.StatusSeeOther)
}

// mktSettingsFailure is a refused settings change as the page shows it.
func (s *Server) mktSettingsFailure(c *fiber.Ctx, f mktRulesForm, err error) error {
	var errs settings.Errors
	if !errors.As(err, &errs) {
		return s.mktUnavailable(c, "rules", err)
	}
	if f.errors == nil {
		f.errors = map[string]string{}
	}
	for _, fe := range errs {
		f.errors[fe.Field] = fe.Message
	}
	f.err = "Nothing was saved: fix what is marked below."
	c.Status(fiber.StatusUnprocessableEntity)
	return s.mktRulesRender(c, f)
}

// mktBrandSave serves POST /console/rules/brand: the store's name, logo,
// colours and support address, checked each.
func (s *Server) mktBrandSave(c *fiber.Ctx) error {
	m := s.deps.Console.Marketing
	cur, err := s.mktStoredRules(c)
	if err != nil {
		return s.mktUnavailable(c, "rules", err)
	}
	v := func(name string) string { return strings.Clone(c.FormValue(name)) }
	in := settings.Brand{Name: v("name"), LogoURL: v("logo_url"), Color: v("color"), AccentColor: v("accent_color"), SupportEmail: v("support_email")}
	b, errs := settings.CheckBrand(in)
	if len(errs) > 0 {
		f := cur
		f.brand = in
		return s.mktSettingsFailure(c, f, errs)
	}
	var changes []string
	for _, d := range []struct{ field, old, new string }{
		{"name", cur.brand.Name, b.Name}, {"logo", cur.brand.LogoURL, b.LogoURL}, {"colour", cur.brand.Color, b.Color},
		{"accent colour", cur.brand.AccentColor, b.AccentColor}, {"support email", cur.brand.SupportEmail, b.SupportEmail},
	} {
		if d.old != d.new {
			changes = append(changes, fmt.Sprintf("%s %q (was %q)", d.field, d.new, d.old))
		}
	}
	if len(changes) == 0 {
		return c.Redirect("/console/rules?saved=none", fiber.StatusSeeOther)
	}
	if _, err := m.Settings.SetBrand(c.UserContext(), b); err != nil {
		f := cur
		f.brand = in
		return s.mktSettingsFailure(c, f, err)
	}
	s.audit(c, "brand changed", "brand", strings.Join(changes, "; "))
	return c.Redirect("/console/rules?saved=brand", fiber.StatusSeeOther)
}
