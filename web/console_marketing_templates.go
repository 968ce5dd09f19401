package web

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/trackd/trackd/notify"
	tpl "github.com/trackd/trackd/notify/templates"
	"github.com/trackd/trackd/templates"
	"github.com/trackd/trackd/tracking"
)

// mktKey names a template: trigger, channel and locale.
type mktKey struct {
	trigger notify.Trigger
	channel notify.Channel
	locale  string
}

func (k mktKey) String() string { return string(k.trigger) + "/" + string(k.channel) + "/" + k.locale }

func (k mktKey) path() string { return "/console/templates/" + k.String() }

// mktTemplateKey reads the template the path names; ok is false when it
// names none, and the 404 page is written.
func (s *Server) mktTemplateKey(c *fiber.Ctx) (mktKey, bool, error) {
	k := mktKey{notify.Trigger(strings.Clone(c.Params("trigger"))), notify.Channel(strings.Clone(c.Params("channel"))),
		strings.Clone(c.Params("locale"))}
	if err := tpl.CheckKey(k.trigger, k.channel, k.locale); err != nil {
		return k, false, s.mktMessage(c, fiber.StatusNotFound, "No such template", "templates", "There is no such template: "+err.Error()+".")
	}
	return k, true, nil
}

// mktTime is how the console writes when something was saved.
func mktTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2 Jan 2006, 15:04 UTC")
}

// mktTemplateGrid serves GET /console/templates: every trigger × channel
// × locale, marking marketing's versions.
func (s *Server) mktTemplateGrid(c *fiber.Ctx) error {
	m := s.deps.Console.Marketing
	ctx := c.UserContext()
	p := templates.ConsoleTemplatesProps{Console: s.consoleProps(c, "Templates", "templates"), Locales: notify.Locales}
	for _, ch := range notify.Channels {
		p.Channels = append(p.Channels, string(ch))
	}
	for _, t := range notify.Triggers {
		for _, ch := range notify.Channels {
			row := templates.ConsoleTemplateRow{Trigger: string(t), Channel: string(ch)}
			for _, l := range notify.Locales {
				got, err := m.Templates.Get(ctx, t, ch, l)
				if err != nil {
					return s.mktUnavailable(c, "templates", err)
				}
				k := mktKey{t, ch, l}
				row.Cells = append(row.Cells, templates.ConsoleTemplateCell{Locale: l, Custom: got.Custom, Version: got.Version, Path: k.path()})
			}
			p.Rows = append(p.Rows, row)
		}
	}
	return s.consolePage(c, templates.ConsoleTemplates(p))
}

// mktSample is a preview's sample situation and language.
type mktSample struct {
	status         string
	delayed, split bool
	locale         string
}

// mktSampleFor is the situation a trigger is about, as
// templates.SampleForTrigger has it.
func mktSampleFor(k mktKey) mktSample {
	sm := mktSample{status: string(k.trigger), locale: k.locale}
	switch k.trigger {
	case notify.Shipped:
		sm.status = string(tracking.StatusInfoReceived)
	case notify.Delayed:
		sm.status, sm.delayed = string(tracking.StatusInTransit), true
	case notify.ArrivingSoon:
		sm.status = string(tracking.StatusInTransit)
	case notify.AllDelivered:
		sm.status, sm.split = string(tracking.StatusDelivered), true
	}
	return sm
}

// mktSampleData is the sample order, with the store named as the brand
// settings name it: the preview shows what shoppers will get.
func (s *Server) mktSampleData(ctx context.Context, d tpl.Data) tpl.Data {
	if st := s.deps.Console.Marketing.Settings; st != nil {
		b := st.Brand(ctx)
		d.Store.Name, d.Store.SupportEmail = b.Name, b.SupportEmail
	}
	return d
}

// mktRender renders parts in a sample situation. A template that does not
// render gives its problems (errs), not an error; err is for anything
// else.
func (s *Server) mktRender(ctx context.Context, ch notify.Channel, parts tpl.Parts, sm mktSample) (r tpl.Rendered, errs, warnings []tpl.Problem, err error) {
	m := s.deps.Console.Marketing
	errs, warnings = m.Engine.ValidatePartial(ch, parts)
	if len(errs) > 0 {
		return tpl.Rendered{}, errs, warnings, nil
	}
	d := s.mktSampleData(ctx, tpl.SampleData(sm.locale, sm.status, sm.delayed, sm.split))
	r, err = m.Engine.RenderContext(ctx, ch, parts, d)
	var re *tpl.RenderError
	if errors.As(err, &re) {
		return tpl.Rendered{}, re.Problems, warnings, nil
	}
	return r, nil, warnings, err
}

// mktTemplatePreview serves POST /console/templates/preview, the editor's
// live preview: the body and answers of POST /api/v1/templates/preview
// (rendered result, or 422 with the problems), with the store as the
// brand settings name it.
func (s *Server) mktTemplatePreview(c *fiber.Ctx) error {
	if len(c.Body()) > DefaultTemplateBodyLimit {
		return httpError(fiber.StatusRequestEntityTooLarge, "request body too large")
	}
	var in previewRequest
	if err := decodeJSON(c.Body(), &in); err != nil {
		return err
	}
	if err := in.check(); err != nil {
		return err
	}
	r, errs, warnings, err := s.mktRender(c.UserContext(), in.Channel, in.Parts,
		mktSample{status: in.Sample.Status, delayed: in.Sample.Delayed, split: in.Sample.Split, locale: in.Locale})
	switch {
	case err != nil:
		return err
	case len(errs) > 0:
		return invalid(c, errs, warnings)
	}
	return c.JSON(previewOf(in.Channel, r, warnings))
}

// mktEditor is what an editor page shows besides the template.
type mktEditor struct {
	flash, errMsg string
	// problems, when set, replace the preview's own: a refused save's.
	problems, warnings []tpl.Problem
	refused            bool
	sendTo             string
	sendResult         string
	sendError          string
}

var mktLocaleNames = map[string]string{"en": "English", "es": "Español", "fr": "Français", "de": "Deutsch"}

func mktPartsOf(ch notify.Channel, p tpl.Parts) []templates.ConsoleEditorPart {
	if ch == notify.SMS {
		return []templates.ConsoleEditorPart{{Name: "body", Label: "Message", Value: p.Body, Rows: 6}}
	}
	return []templates.ConsoleEditorPart{
		{Name: "subject", Label: "Subject", Value: p.Subject, Rows: 2},
		{Name: "html", Label: "HTML", Value: p.HTML, Rows: 22},
		{Name: "text", Label: "Text", Value: p.Text, Rows: 12},
	}
}

// mktLine is line n (from 1) of src, trimmed for showing beside a problem.
func mktLine(src string, n int) string {
	if n < 1 {
		return ""
	}
	lines := strings.Split(src, "\n")
	if n > len(lines) {
		return ""
	}
	l := strings.TrimSpace(lines[n-1])
	if r := []rune(l); len(r) > 120 {
		l = string(r[:120]) + "…"
	}
	return l
}

// mktEditorPage writes the editor for template t showing parts, with the
// preview rendered in the sample situation.
func (s *Server) mktEditorPage(c *fiber.Ctx, k mktKey, t tpl.Template, parts tpl.Parts, sm mktSample, e mktEditor) error {
	ctx := c.UserContext()
	r, errs, warnings, err := s.mktRender(ctx, k.channel, parts, sm)
	if err != nil {
		return err
	}
	if e.refused {
		errs, warnings = e.problems, e.warnings
	}
	p := templates.ConsoleEditorProps{
		Console: s.consoleProps(c, consoleTemplateTitle(k), "templates"),
		Trigger: string(k.trigger), Channel: string(k.channel), Locale: k.locale, Path: k.path(),
		Version: t.Version, Custom: t.Custom, SavedBy: t.SavedBy, SavedAt: mktTime(t.SavedAt), RestoredFrom: t.RestoredFrom,
		Parts: mktPartsOf(k.channel, parts), Flash: e.flash, Error: e.errMsg,
		Split: sm.split, Delayed: sm.delayed,
		CanSend: s.deps.Console.Marketing.Send != nil, SendTo: e.sendTo, SendResult: e.sendResult, SendError: e.sendError,
	}
	p.Console.Scripts = append(p.Console.Scripts, "console-editor.js")
	byPart := map[string]int{}
	for i, part := range p.Parts {
		byPart[part.Name] = i
	}
	for _, pr := range errs {
		if i, ok := byPart[pr.Part]; ok {
			p.Parts[i].Problems = append(p.Parts[i].Problems, templates.ConsoleProblem{Line: pr.Line, Message: pr.Message, Source: mktLine(p.Parts[i].Value, pr.Line)})
		} else {
			p.General = append(p.General, templates.ConsoleProblem{Line: pr.Line, Message: pr.Part + ": " + pr.Message})
		}
	}
	for _, pr := range warnings {
		if i, ok := byPart[pr.Part]; ok {
			p.Parts[i].Warnings = append(p.Parts[i].Warnings, templates.ConsoleProblem{Line: pr.Line, Message: pr.Message, Source: mktLine(p.Parts[i].Value, pr.Line)})
		} else {
			p.General = append(p.General, templates.ConsoleProblem{Line: pr.Line, Message: pr.Part + ": " + pr.Message})
		}
	}
	if len(errs) == 0 {
		p.Preview = templates.ConsoleRendered{OK: true, Subject: r.Subject, HTML: r.HTML, Text: r.Text,
			Body: r.Body, Encoding: r.Encoding, Characters: r.Characters, Segments: r.Segments}
	}
	for _, st := range tracking.Statuses() {
		p.Statuses = append(p.Statuses, templates.ConsoleOption{Value: string(st),
			Label: tpl.StatusText(notify.DefaultLocale, string(st)), Selected: string(st) == sm.status})
	}
	for _, l := range notify.Locales {
		p.Locales = append(p.Locales, templates.ConsoleOption{Value: l, Label: mktLocaleNames[l] + " (" + l + ")", Selected: l == sm.locale})
		p.OtherLocales = append(p.OtherLocales, templates.ConsoleLink{Label: l, Path: mktKey{k.trigger, k.channel, l}.path(), Current: l == k.locale})
	}
	return s.consolePage(c, templates.ConsoleTemplateEditor(p))
}

func consoleTemplateTitle(k mktKey) string {
	name := strings.ReplaceAll(string(k.trigger), "_", " ")
	ch := "Email"
	if k.channel == notify.SMS {
		ch = "SMS"
	}
	return ch + " “" + name + "” (" + k.locale + ")"
}

// mktSampleQuery reads the sample chooser's GET form (the editor without
// JavaScript), defaulting to the trigger's situation.
func mktSampleQuery(c *fiber.Ctx, k mktKey) mktSample {
	sm := mktSampleFor(k)
	if st := c.Query("status"); tracking.Status(st).Valid() {
		sm.status = st
		sm.split, sm.delayed = c.Query("split") != "", c.Query("delayed") != ""
	}
	if l := c.Query("preview_locale"); tpl.CheckKey(k.trigger, k.channel, l) == nil {
		sm.locale = l
	}
	return sm
}

// mktTemplateEditor serves GET /console/templates/{trigger}/{channel}/{locale}:
// the current template beside its preview.
func (s *Server) mktTemplateEditor(c *fiber.Ctx) error {
	k, ok, err := s.mktTemplateKey(c)
	if !ok {
		return err
	}
	t, err := s.deps.Console.Marketing.Templates.Get(c.UserContext(), k.trigger, k.channel, k.locale)
	if err != nil {
		return s.mktUnavailable(c, "templates", err)
	}
	var e mktEditor
	if n, err := strconv.Atoi(c.Query("saved")); err == nil && n > 0 {
		e.flash = fmt.Sprintf("Saved as version %d.", n)
	}
	if n, err := strconv.Atoi(c.Query("restored")); err == nil && n > 0 {
		from, _ := strconv.Atoi(c.Query("from"))
		e.flash = fmt.Sprintf("Restored version %d as version %d.", from, n)
	}
	return s.mktEditorPage(c, k, t, t.Parts, mktSampleQuery(c, k), e)
}

// mktFormParts reads the editor's textareas. Browsers send a textarea's
// lines with CRLF; templates keep LF.
func mktFormParts(c *fiber.Ctx, ch notify.Channel) tpl.Parts {
	v := func(name string) string {
		return strings.ReplaceAll(strings.Clone(c.FormValue(name)), "\r\n", "\n")
	}
	if ch == notify.SMS {
		return tpl.Parts{Body: v("body")}
	}
	return tpl.Parts{Subject: v("subject"), HTML: v("html"), Text: v("text")}
}

// mktTemplateSave serves POST /console/templates/{trigger}/{channel}/{locale}:
// saves the form as the next version and goes back to the editor saying
// so; a template that does not validate is the editor again, 422, with
// the problems beside their parts, and nothing saved.
func (s *Server) mktTemplateSave(c *fiber.Ctx) error {
	k, ok, err := s.mktTemplateKey(c)
	if !ok {
		return err
	}
	if len(c.Body()) > DefaultTemplateBodyLimit {
		return s.mktMessage(c, fiber.StatusRequestEntityTooLarge, "Too large", "templates",
			"The template is too large to save: each part may have at most 64 KiB.")
	}
	m := s.deps.Console.Marketing
	ctx := c.UserContext()
	parts := mktFormParts(c, k.channel)
	n, errs, warnings, err := m.Templates.Put(ctx, k.trigger, k.channel, k.locale, parts, mktAuthor(c))
	switch {
	case errors.Is(err, tpl.ErrInvalidTemplate):
		t, gerr := m.Templates.Get(ctx, k.trigger, k.channel, k.locale)
		if gerr != nil {
			return s.mktUnavailable(c, "templates", gerr)
		}
		c.Status(fiber.StatusUnprocessableEntity)
		return s.mktEditorPage(c, k, t, parts, mktSampleFor(k), mktEditor{
			errMsg:  "Not saved: fix the problems marked below and save again.",
			refused: true, problems: errs, warnings: warnings,
		})
	case err != nil:
		return s.mktUnavailable(c, "templates", err)
	}
	s.audit(c, "template saved", k.String(), fmt.Sprintf("version %d", n))
	return c.Redirect(k.path()+"?saved="+strconv.Itoa(n), fiber.StatusSeeOther)
}

// mktTemplateVersions serves GET .../versions: every saved version, newest
// first, each with its changes from the one before.
func (s *Server) mktTemplateVersions(c *fiber.Ctx) error {
	k, ok, err := s.mktTemplateKey(c)
	if !ok {
		return err
	}
	m := s.deps.Console.Marketing
	vs, err := m.Templates.Versions(c.UserContext(), k.trigger, k.channel, k.locale)
	if err != nil {
		return s.mktUnavailable(c, "templates", err)
	}
	p := templates.ConsoleVersionsProps{
		Console: s.consoleProps(c, "History of "+consoleTemplateTitle(k), "templates"),
		Trigger: string(k.trigger), Channel: string(k.channel), Locale: k.locale, EditorPath: k.path(),
	}
	for i, v := range vs {
		cv := templates.ConsoleVersion{
			Number: v.Version, SavedBy: v.SavedBy, SavedAt: mktTime(v.SavedAt), RestoredFrom: v.RestoredFrom,
			Current: i == 0, RestorePath: k.path() + "/versions/" + strconv.Itoa(v.Version) + "/restore",
		}
		var base tpl.Parts
		switch {
		case i+1 < len(vs):
			base, cv.Base = vs[i+1].Parts, "version "+strconv.Itoa(vs[i+1].Version)
		case m.Defaults != nil:
			base, _ = m.Defaults.Get(k.trigger, k.channel, k.locale)
			cv.Base = "the shipped default"
		default:
			cv.Base = "nothing (the first version)"
		}
		cv.Diffs = mktDiffs(k.channel, base, v.Parts)
		p.Versions = append(p.Versions, cv)
	}
	return s.consolePage(c, templates.ConsoleTemplateVersions(p))
}

// mktDiffs are the changes of each of the channel's parts.
func mktDiffs(ch notify.Channel, old, new tpl.Parts) []templates.ConsoleDiff {
	type pair struct{ name, old, new string }
	pairs := []pair{{"body", old.Body, new.Body}}
	if ch == notify.Email {
		pairs = []pair{{"subject", old.Subject, new.Subject}, {"html", old.HTML, new.HTML}, {"text", old.Text, new.Text}}
	}
	out := make([]templates.ConsoleDiff, 0, len(pairs))
	for _, p := range pairs {
		d := templates.ConsoleDiff{Part: p.name}
		for _, op := range diffHunks(lineDiff(p.old, p.new)) {
			kind := map[byte]string{' ': "same", '-': "del", '+': "ins", '~': "skip"}[op.kind]
			d.Lines = append(d.Lines, templates.ConsoleDiffLine{Kind: kind, Text: op.text})
		}
		d.Changed = len(d.Lines) > 0
		out = append(out, d)
	}
	return out
}

// mktTemplateRestore serves POST .../versions/{n}/restore: saves version n
// again as the newest, and shows it in the editor.
func (s *Server) mktTemplateRestore(c *fiber.Ctx) error {
	k, ok, err := s.mktTemplateKey(c)
	if !ok {
		return err
	}
	n, err := strconv.Atoi(c.Params("n"))
	if err != nil || n < 1 {
		return s.mktMessage(c, fiber.StatusNotFound, "No such version", "templates", "There is no such version.")
	}
	v, err := s.deps.Console.Marketing.Templates.Restore(c.UserContext(), k.trigger, k.channel, k.locale, n, mktAuthor(c))
	var ve *tpl.ValidationError
	switch {
	case errors.Is(err, tpl.ErrUnknownVersion):
		return s.mktMessage(c, fiber.StatusNotFound, "No such version", "templates", fmt.Sprintf("Version %d of this template does not exist.", n))
	case errors.As(err, &ve):
		return s.mktMessage(c, fiber.StatusUnprocessableEntity, "Not restored", "templates",
			fmt.Sprintf("Version %d no longer validates, so it was not restored: %s", n, ve.Error()))
	case err != nil:
		return s.mktUnavailable(c, "templates", err)
	}
	s.audit(c, "template restored", k.String(), fmt.Sprintf("version %d as version %d", n, v))
	return c.Redirect(k.path()+"?restored="+strconv.Itoa(v)+"&from="+strconv.Itoa(n), fiber.StatusSeeOther)
}

// mktTemplateTest serves POST .../test: renders the saved template with a
// sample order in the trigger's situation and sends it to the form's
// address or number, through the templates API's sender; the editor says
// whether it went.
func (s *Server) mktTemplateTest(c *fiber.Ctx) error {
	k, ok, err := s.mktTemplateKey(c)
	if !ok {
		return err
	}
	m := s.deps.Console.Marketing
	ctx := c.UserContext()
	t, err := m.Templates.Get(ctx, k.trigger, k.channel, k.locale)
	if err != nil {
		return s.mktUnavailable(c, "templates", err)
	}
	raw := strings.TrimSpace(strings.Clone(c.FormValue("to")))
	e := mktEditor{sendTo: raw}
	status, to, err := s.mktSendTest(ctx, k, t, raw)
	if err != nil {
		e.sendError = err.Error()
	} else {
		e.sendResult = "Sent to " + to + "."
		s.audit(c, "test sent", k.String(), fmt.Sprintf("version %d to %s", t.Version, to))
	}
	c.Status(status)
	return s.mktEditorPage(c, k, t, t.Parts, mktSampleFor(k), e)
}

// mktSendTest sends template t to raw; it answers the status for the page
// and, on failure, why, in words for marketing.
func (s *Server) mktSendTest(ctx context.Context, k mktKey, t tpl.Template, raw string) (int, string, error) {
	m := s.deps.Console.Marketing
	if m.Send == nil {
		return fiber.StatusNotImplemented, "", errors.New("test sends are not configured on this server")
	}
	to, err := recipient(k.channel, raw)
	if err != nil {
		return fiber.StatusBadRequest, "", fmt.Errorf("not sent: %w", err)
	}
	d := s.mktSampleData(ctx, tpl.SampleForTrigger(k.locale, k.trigger))
	r, err := m.Engine.RenderContext(ctx, k.channel, t.Parts, d)
	if err != nil {
		return fiber.StatusUnprocessableEntity, "", fmt.Errorf("not sent: the saved template does not render: %w", err)
	}
	_, err = m.Send(ctx, k.channel, to, r)
	var ir interface{ InvalidRecipient() bool }
	switch {
	case errors.Is(err, ErrInvalidRecipient) || errors.As(err, &ir) && ir.InvalidRecipient():
		return fiber.StatusBadRequest, "", fmt.Errorf("not sent: %s refused %s: %w", mktProvider(k.channel), to, err)
	case err != nil:
		return fiber.StatusBadGateway, "", fmt.Errorf("not sent: %s did not take the message: %w", mktProvider(k.channel), err)
	}
	return fiber.StatusOK, to, nil
}

func mktProvider(ch notify.Channel) string {
	if ch == notify.SMS {
		return "the SMS provider"
	}
	return "the mail server"
}
