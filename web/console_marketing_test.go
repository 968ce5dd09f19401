package web

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/trackd/trackd/console"
	"github.com/trackd/trackd/console/settings"
	"github.com/trackd/trackd/notify"
	tpl "github.com/trackd/trackd/notify/templates"
	"github.com/trackd/trackd/tracking/redistest"
)

const mktPassword = "marketing password 1"

// mktEnv is the console with its marketing section on a real
// redis-server.
type mktEnv struct {
	app      *fiber.App
	rdb      *redis.Client
	users    *console.Users
	audit    *console.Audit
	store    *tpl.Store
	rules    *notify.RuleStore
	settings *settings.Store
}

// mktDefaults are the environment's settings in the tests.
var mktDefaults = settings.Settings{
	Brand:      settings.Brand{Name: "Northwind Outfitters", Color: "#1f4e79", AccentColor: "#2e7d32", SupportEmail: "help@shop.example.com"},
	QuietHours: settings.QuietHours{Start: 21 * time.Hour, End: 8 * time.Hour},
	Collapse:   5 * time.Minute,
}

// newMktEnv builds the app; send is the test sender (nil: none).
func newMktEnv(t *testing.T, send TestSender) *mktEnv {
	t.Helper()
	rdb := redistest.Start(t).Client(t)
	prefix := redistest.Prefix(t)
	defaults, err := tpl.LoadDefaults()
	if err != nil {
		t.Fatal(err)
	}
	engine := tpl.NewEngine(tpl.DefaultLimits())
	e := &mktEnv{
		rdb:      rdb,
		users:    console.NewUsers(rdb, prefix),
		audit:    console.NewAudit(rdb, prefix),
		store:    tpl.NewStore(rdb, engine, defaults, tpl.StoreConfig{Prefix: prefix}),
		rules:    notify.NewRuleStore(rdb, prefix),
		settings: settings.New(rdb, settings.Config{Prefix: prefix, Defaults: mktDefaults}),
	}
	cfg := DefaultConfig()
	cfg.KeyPrefix = prefix
	app, err := New(cfg, Deps{
		Store: &pageStore{}, Keys: noKeys{}, Redis: rdb,
		Ready: func(context.Context) error { return nil }, Registry: prometheus.NewRegistry(), Log: slog.New(slog.DiscardHandler),
		Console: &ConsoleDeps{
			Users: e.users, Sessions: console.NewSessions(rdb, prefix), Audit: e.audit,
			Marketing: &ConsoleMarketing{Templates: e.store, Engine: engine, Defaults: defaults, Send: send,
				Rules: e.rules, Settings: e.settings},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	e.app = app
	return e
}

func (e *mktEnv) user(t *testing.T, email string, role console.Role) {
	t.Helper()
	if _, err := e.users.Create(context.Background(), email, "Test", role, mktPassword, time.Now()); err != nil {
		t.Fatal(err)
	}
}

// lastAudit is the newest audit entry.
func (e *mktEnv) lastAudit(t *testing.T) console.Entry {
	t.Helper()
	es, err := e.audit.List(context.Background(), 1)
	if err != nil || len(es) == 0 {
		t.Fatalf("audit log: %v, %d entries", err, len(es))
	}
	return es[0]
}

// mktClient is a browser as far as cookies go.
type mktClient struct {
	app  *fiber.App
	jar  map[string]string
	csrf string
}

type mktResp struct {
	status   int
	body     string
	location string
}

func (cl *mktClient) do(t *testing.T, method, path string, body io.Reader, contentType string, header ...string) mktResp {
	t.Helper()
	req := httptest.NewRequest(method, path, body)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	for k, v := range cl.jar {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	resp, err := cl.app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	for _, c := range resp.Cookies() {
		cl.jar[c.Name] = c.Value
	}
	b, _ := io.ReadAll(resp.Body)
	return mktResp{status: resp.StatusCode, body: string(b), location: resp.Header.Get("Location")}
}

func (cl *mktClient) get(t *testing.T, path string) mktResp {
	t.Helper()
	r := cl.do(t, http.MethodGet, path, nil, "")
	if m := mktCSRFMeta.FindStringSubmatch(r.body); m != nil && m[1] != "" {
		cl.csrf = html.UnescapeString(m[1])
	}
	return r
}

// post posts a form with the session's CSRF token.
func (cl *mktClient) post(t *testing.T, path string, form url.Values) mktResp {
	t.Helper()
	f := url.Values{}
	for k, v := range form {
		f[k] = v
	}
	f.Set("csrf", cl.csrf)
	return cl.do(t, http.MethodPost, path, strings.NewReader(f.Encode()), fiber.MIMEApplicationForm)
}

var (
	mktCSRFMeta  = regexp.MustCompile(`<meta name="csrf-token" content="([^"]*)"`)
	mktCSRFInput = regexp.MustCompile(`name="csrf" value="([^"]*)"`)
)

// mktSignIn signs in through the sign-in form and returns the client,
// with the session's CSRF token read from a console page.
func mktSignIn(t *testing.T, app *fiber.App, email string) *mktClient {
	t.Helper()
	cl := &mktClient{app: app, jar: map[string]string{}}
	page := cl.do(t, http.MethodGet, "/console/signin", nil, "")
	m := mktCSRFInput.FindStringSubmatch(page.body)
	if m == nil {
		t.Fatalf("sign-in page without a CSRF field: %d %.500s", page.status, page.body)
	}
	form := url.Values{"email": {email}, "password": {mktPassword}, "csrf": {html.UnescapeString(m[1])}, "next": {"/console/templates"}}
	r := cl.do(t, http.MethodPost, "/console/signin", strings.NewReader(form.Encode()), fiber.MIMEApplicationForm)
	if r.status != http.StatusSeeOther {
		t.Fatalf("sign in as %s: %d %.500s", email, r.status, r.body)
	}
	cl.get(t, "/console/")
	if cl.csrf == "" {
		cl.get(t, "/console/templates")
	}
	return cl
}

func mktMustContain(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s lacks %q:\n%.4000s", what, w, body)
		}
	}
}

func TestConsoleTemplates_GridMarksCustomised(t *testing.T) {
	e := newMktEnv(t, nil)
	e.user(t, "mia@example.com", console.Marketing)
	ctx := context.Background()
	parts, _ := e.store.Get(ctx, notify.Delivered, notify.SMS, "fr")
	for range 2 {
		if _, _, _, err := e.store.Put(ctx, notify.Delivered, notify.SMS, "fr", parts.Parts, "someone"); err != nil {
			t.Fatal(err)
		}
	}
	cl := mktSignIn(t, e.app, "mia@example.com")
	r := cl.get(t, "/console/templates")
	if r.status != http.StatusOK {
		t.Fatalf("grid: %d %.500s", r.status, r.body)
	}
	cells := regexp.MustCompile(`data-template="([a-z_]+/[a-z]+/[a-z]+)" data-custom="(true|false)"`).FindAllStringSubmatch(r.body, -1)
	if want := len(notify.Triggers) * len(notify.Channels) * len(notify.Locales); len(cells) != want {
		t.Fatalf("the grid has %d templates, want %d (trigger × channel × locale)", len(cells), want)
	}
	for _, c := range cells {
		if custom := c[2] == "true"; custom != (c[1] == "delivered/sms/fr") {
			t.Errorf("%s custom=%s", c[1], c[2])
		}
	}
	mktMustContain(t, "the grid", r.body, `href="/console/templates/delivered/sms/fr"`, `<span class="custom">v2</span>`,
		`href="/console/templates/shipped/email/en"`)
}

func TestConsoleTemplates_OpsIsForbidden(t *testing.T) {
	e := newMktEnv(t, nil)
	e.user(t, "olu@example.com", console.Ops)
	cl := mktSignIn(t, e.app, "olu@example.com")
	for _, path := range []string{"/console/templates", "/console/templates/shipped/email/en", "/console/rules"} {
		if r := cl.get(t, path); r.status != http.StatusForbidden {
			t.Errorf("ops GET %s = %d, want 403", path, r.status)
		}
	}
	body := `{"channel":"sms","locale":"en","body":"hi"}`
	r := cl.do(t, http.MethodPost, "/console/templates/preview", strings.NewReader(body), fiber.MIMEApplicationJSON, "X-CSRF-Token", cl.csrf)
	if r.status != http.StatusForbidden {
		t.Errorf("ops POST preview = %d, want 403", r.status)
	}
}

func TestConsoleTemplates_EditorShowsTemplateAndPreview(t *testing.T) {
	e := newMktEnv(t, nil)
	e.user(t, "mia@example.com", console.Marketing)
	cl := mktSignIn(t, e.app, "mia@example.com")
	r := cl.get(t, "/console/templates/shipped/email/en")
	if r.status != http.StatusOK {
		t.Fatalf("editor: %d %.500s", r.status, r.body)
	}
	mktMustContain(t, "the email editor", r.body,
		`<textarea id="part-subject" name="subject"`, `name="html"`, `name="text"`,
		`<iframe sandbox="" title="The email's HTML, rendered" srcdoc="`,
		`data-preview-state="ok"`, `<option value="info_received" selected>`,
		`src="/static/console-editor.js"`, `The shipped default: no version saved yet.`)
	// The rendered HTML, escaped once into srcdoc: the frame shows it as
	// a page, not as its source.
	mktMustContain(t, "the HTML preview", r.body, `srcdoc="&lt;!DOCTYPE html&gt;`, "NW-10482")
	if strings.Contains(r.body, "&amp;lt;!DOCTYPE") {
		t.Error("the HTML preview is escaped twice")
	}

	r = cl.get(t, "/console/templates/delivered/sms/de?status=out_for_delivery&preview_locale=es")
	mktMustContain(t, "the SMS editor", r.body, `name="body"`, `data-preview-body`, `characters · GSM-7 ·`,
		`<option value="out_for_delivery" selected>`, `<option value="es" selected>`)
	if strings.Contains(r.body, "<iframe") {
		t.Error("the SMS editor shows an HTML frame")
	}

	if r := cl.get(t, "/console/templates/nope/email/en"); r.status != http.StatusNotFound {
		t.Errorf("unknown trigger: %d, want 404", r.status)
	}
}

func TestConsoleTemplates_SaveInvalidIs422WithProblemsInline(t *testing.T) {
	e := newMktEnv(t, nil)
	e.user(t, "mia@example.com", console.Marketing)
	cl := mktSignIn(t, e.app, "mia@example.com")
	cl.get(t, "/console/templates/shipped/email/en")
	form := url.Values{"subject": {"Your order {{ order.number }}"}, "html": {"<p>Hi</p>\r\n<p>{% if order.number %}unclosed</p>"}, "text": {""}}
	r := cl.post(t, "/console/templates/shipped/email/en", form)
	if r.status != http.StatusUnprocessableEntity {
		t.Fatalf("invalid save: %d, want 422\n%.2000s", r.status, r.body)
	}
	problems := regexp.MustCompile(`(?s)<ul class="problems" data-problems="(\w+)" data-kind="problems"[^>]*>(.*?)</ul>`).FindAllStringSubmatch(r.body, -1)
	byPart := map[string]string{}
	for _, p := range problems {
		byPart[p[1]] = p[2]
	}
	if !strings.Contains(byPart["html"], `data-line="2"`) || !strings.Contains(byPart["html"], "Line 2: ") {
		t.Errorf("the HTML part's problems do not name line 2: %q", byPart["html"])
	}
	if !strings.Contains(byPart["text"], "is required") {
		t.Errorf("the text part's problems: %q, want it required", byPart["text"])
	}
	if byPart["subject"] != "" {
		t.Errorf("the subject has problems: %q", byPart["subject"])
	}
	// What was typed is kept, with LF lines.
	mktMustContain(t, "the refused page", r.body, "&lt;p&gt;Hi&lt;/p&gt;\n&lt;p&gt;{% if order.number %}unclosed", "Not saved")
	if vs, _ := e.store.Versions(context.Background(), notify.Shipped, notify.Email, "en"); len(vs) != 0 {
		t.Errorf("an invalid template was saved: %d versions", len(vs))
	}
}

func TestConsoleTemplates_SaveVersionsRestoreAndAudit(t *testing.T) {
	e := newMktEnv(t, nil)
	e.user(t, "mia@example.com", console.Marketing)
	cl := mktSignIn(t, e.app, "mia@example.com")
	ctx := context.Background()
	path := "/console/templates/out_for_delivery/sms/en"
	cl.get(t, path)
	for i, body := range []string{"Out today: {{ order.number }}\r\nline two", "Out today: {{ order.number }}\r\nline 2"} {
		r := cl.post(t, path, url.Values{"body": {body}})
		if r.status != http.StatusSeeOther || r.location != fmt.Sprintf("%s?saved=%d", path, i+1) {
			t.Fatalf("save %d: %d to %q\n%.1000s", i+1, r.status, r.location, r.body)
		}
	}
	r := cl.get(t, path+"?saved=2")
	mktMustContain(t, "the editor after saving", r.body, "Saved as version 2.", "Version 2, saved by mia@example.com")
	if a := e.lastAudit(t); a.Action != "template saved" || a.Target != "out_for_delivery/sms/en" || a.Actor != "mia@example.com" || a.Detail != "version 2" {
		t.Errorf("audit %+v", a)
	}

	r = cl.get(t, path+"/versions")
	mktMustContain(t, "the history", r.body, `data-version="2"`, `data-version="1"`,
		"<del>- line two</del>", "<ins>+ line 2</ins>", `data-restore="1"`, "Changes from version 1", "Changes from the shipped default")
	if strings.Contains(r.body, `data-restore="2"`) {
		t.Error("the version in use has a Restore button")
	}

	r = cl.post(t, path+"/versions/1/restore", nil)
	if r.status != http.StatusSeeOther || r.location != path+"?restored=3&from=1" {
		t.Fatalf("restore: %d to %q", r.status, r.location)
	}
	got, err := e.store.Get(ctx, notify.OutForDelivery, notify.SMS, "en")
	if err != nil || got.Version != 3 || got.RestoredFrom != 1 || got.Parts.Body != "Out today: {{ order.number }}\nline two" {
		t.Errorf("after restore: %+v, %v", got, err)
	}
	if a := e.lastAudit(t); a.Action != "template restored" || a.Detail != "version 1 as version 3" {
		t.Errorf("audit %+v", a)
	}
	r = cl.get(t, r.location)
	mktMustContain(t, "the editor after restoring", r.body, "Restored version 1 as version 3.", "restored from version 1", "line two")

	if r := cl.post(t, path+"/versions/9/restore", nil); r.status != http.StatusNotFound {
		t.Errorf("restore of an unknown version: %d, want 404", r.status)
	}
}

func TestConsoleTemplates_PreviewJSON(t *testing.T) {
	e := newMktEnv(t, nil)
	e.user(t, "mia@example.com", console.Marketing)
	cl := mktSignIn(t, e.app, "mia@example.com")
	preview := func(body string, withToken bool) mktResp {
		hdr := []string{}
		if withToken {
			hdr = append(hdr, "X-CSRF-Token", cl.csrf)
		}
		return cl.do(t, http.MethodPost, "/console/templates/preview", strings.NewReader(body), fiber.MIMEApplicationJSON, hdr...)
	}
	r := preview(`{"channel":"email","locale":"fr","subject":"{{ store.name }}: {{ shipment.status_text }}","html":"<b>{{ customer.first_name }}</b>","text":"x","sample":{"status":"delivered"}}`, true)
	if r.status != http.StatusOK {
		t.Fatalf("preview: %d %s", r.status, r.body)
	}
	// The store as the brand settings name it, in the sample's language.
	mktMustContain(t, "the preview", r.body, `"subject":"Northwind Outfitters: Livré"`, `\u003cb\u003eCamille\u003c/b\u003e`)

	r = preview(`{"channel":"sms","locale":"en","body":"line one\n{{ order.number | nope }}"}`, true)
	if r.status != http.StatusUnprocessableEntity {
		t.Fatalf("broken preview: %d %s", r.status, r.body)
	}
	mktMustContain(t, "the problems", r.body, `"part":"body"`, `"line":2`)

	if r := preview(`{"channel":"sms","locale":"en","body":"hi"}`, false); r.status != http.StatusForbidden {
		t.Errorf("preview without the CSRF header: %d, want 403", r.status)
	}
}

func TestConsoleTemplates_TestSend(t *testing.T) {
	var mu sync.Mutex
	var sent []string
	fail := error(nil)
	send := func(_ context.Context, ch notify.Channel, to string, r tpl.Rendered) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		if fail != nil {
			return "", fail
		}
		sent = append(sent, string(ch)+" "+to+" "+r.Subject+r.Body)
		return "id-1", nil
	}
	e := newMktEnv(t, send)
	e.user(t, "mia@example.com", console.Marketing)
	cl := mktSignIn(t, e.app, "mia@example.com")
	path := "/console/templates/shipped/email/en"
	cl.get(t, path)

	r := cl.post(t, path+"/test", url.Values{"to": {"Mia <mia@example.com>"}})
	if r.status != http.StatusOK {
		t.Fatalf("test send: %d %.1000s", r.status, r.body)
	}
	mktMustContain(t, "the page after sending", r.body, `data-send-result>Sent to mia@example.com.</p>`)
	mu.Lock()
	if len(sent) != 1 || !strings.HasPrefix(sent[0], "email mia@example.com ") || !strings.Contains(sent[0], "NW-10482") {
		t.Errorf("sent %q", sent)
	}
	mu.Unlock()
	if a := e.lastAudit(t); a.Action != "test sent" || a.Target != "shipped/email/en" || a.Detail != "version 0 to mia@example.com" {
		t.Errorf("audit %+v", a)
	}

	if r := cl.post(t, path+"/test", url.Values{"to": {"not an address"}}); r.status != http.StatusBadRequest || !strings.Contains(r.body, "data-send-error") {
		t.Errorf("a bad address: %d, want 400 with the error", r.status)
	}
	mu.Lock()
	fail = errors.New("451 try later")
	mu.Unlock()
	r = cl.post(t, path+"/test", url.Values{"to": {"mia@example.com"}})
	if r.status != http.StatusBadGateway {
		t.Errorf("a failing provider: %d, want 502", r.status)
	}
	mktMustContain(t, "the failure", r.body, "the mail server did not take the message: 451 try later")
}

func TestConsoleTemplates_NoSenderSaysSo(t *testing.T) {
	e := newMktEnv(t, nil)
	e.user(t, "mia@example.com", console.Marketing)
	cl := mktSignIn(t, e.app, "mia@example.com")
	r := cl.get(t, "/console/templates/shipped/sms/en")
	mktMustContain(t, "the editor", r.body, "Test sends are not configured")
	if r := cl.post(t, "/console/templates/shipped/sms/en/test", url.Values{"to": {"+15035550123"}}); r.status != http.StatusNotImplemented {
		t.Errorf("test send without a sender: %d, want 501", r.status)
	}
}

func TestConsoleRules_SaveValidatesAndAudits(t *testing.T) {
	e := newMktEnv(t, nil)
	e.user(t, "mia@example.com", console.Marketing)
	cl := mktSignIn(t, e.app, "mia@example.com")
	ctx := context.Background()
	r := cl.get(t, "/console/rules")
	if r.status != http.StatusOK {
		t.Fatalf("rules page: %d", r.status)
	}
	mktMustContain(t, "the rules page", r.body, `name="on" value="shipped/email" checked`, `name="on" value="shipped/sms" aria-label`,
		`name="quiet_hours" value="21:00-08:00"`, `name="collapse" value="5m"`, `name="name" value="Northwind Outfitters"`)

	// Defaults, with shipped by SMS on and delivered by email off.
	on := url.Values{}
	for _, v := range []string{"shipped/email", "shipped/sms", "out_for_delivery/email", "out_for_delivery/sms", "delivered/sms", "exception/email", "delayed/email"} {
		on.Add("on", v)
	}
	bad := url.Values{"on": on["on"], "quiet_hours": {"9pm-8am"}, "collapse": {"5"}}
	r = cl.post(t, "/console/rules", bad)
	if r.status != http.StatusUnprocessableEntity {
		t.Fatalf("invalid rules: %d", r.status)
	}
	mktMustContain(t, "the refused rules", r.body, `data-field-error="quiet_hours">&#34;9pm-8am&#34; is not HH:MM-HH:MM`,
		`data-field-error="collapse">&#34;5&#34; is not a duration`, `name="on" value="shipped/sms" checked`, `value="9pm-8am"`)
	if rules, _ := e.rules.Get(ctx); rules.On(notify.Shipped, notify.SMS) {
		t.Error("refused rules were saved")
	}

	good := url.Values{"on": on["on"], "quiet_hours": {"22:00-07:30"}, "collapse": {"10m"}}
	r = cl.post(t, "/console/rules", good)
	if r.status != http.StatusSeeOther || r.location != "/console/rules?saved=rules" {
		t.Fatalf("save rules: %d to %q %.1000s", r.status, r.location, r.body)
	}
	rules, _ := e.rules.Get(ctx)
	if !rules.On(notify.Shipped, notify.SMS) || rules.On(notify.Delivered, notify.Email) || !rules.On(notify.Delivered, notify.SMS) {
		t.Errorf("rules after saving: %v", rules)
	}
	st, _ := e.settings.Get(ctx)
	if st.QuietHours.String() != "22:00-07:30" || st.Collapse != 10*time.Minute {
		t.Errorf("settings after saving: %+v", st)
	}
	a := e.lastAudit(t)
	if a.Action != "rules changed" || !strings.Contains(a.Detail, "shipped/sms on") || !strings.Contains(a.Detail, "delivered/email off") ||
		!strings.Contains(a.Detail, "quiet hours 22:00-07:30 (was 21:00-08:00)") || !strings.Contains(a.Detail, "collapse 10m (was 5m)") {
		t.Errorf("audit %+v", a)
	}
	if r := cl.post(t, "/console/rules", good); r.location != "/console/rules?saved=none" {
		t.Errorf("saving the same again: to %q, want nothing changed", r.location)
	}
	if r := cl.post(t, "/console/rules", url.Values{"on": {"nope/email"}, "quiet_hours": {"off"}, "collapse": {"0"}}); r.status != http.StatusUnprocessableEntity {
		t.Errorf("an unknown rule: %d, want 422", r.status)
	}
}

func TestConsoleBrand_SaveValidatesEachField(t *testing.T) {
	e := newMktEnv(t, nil)
	e.user(t, "mia@example.com", console.Marketing)
	cl := mktSignIn(t, e.app, "mia@example.com")
	ctx := context.Background()
	cl.get(t, "/console/rules")
	bad := url.Values{"name": {""}, "logo_url": {"javascript:alert(1)"}, "color": {"blue"}, "accent_color": {"#12345g"}, "support_email": {"help at shop"}}
	r := cl.post(t, "/console/rules/brand", bad)
	if r.status != http.StatusUnprocessableEntity {
		t.Fatalf("invalid brand: %d", r.status)
	}
	for _, f := range []string{"name", "logo_url", "color", "accent_color", "support_email"} {
		mktMustContain(t, "the refused brand", r.body, `data-field-error="`+f+`"`)
	}
	mktMustContain(t, "the refused brand", r.body, `value="javascript:alert(1)"`, "must be an https:// address or a path starting with /")
	if b := e.settings.Brand(ctx); b != mktDefaults.Brand {
		t.Errorf("a refused brand was saved: %+v", b)
	}

	good := url.Values{"name": {"Southwind"}, "logo_url": {"https://cdn.example.com/logo.svg"}, "color": {"#AA0000"}, "accent_color": {"#00aa00"}, "support_email": {"care@example.com"}}
	r = cl.post(t, "/console/rules/brand", good)
	if r.status != http.StatusSeeOther || r.location != "/console/rules?saved=brand" {
		t.Fatalf("save brand: %d to %q", r.status, r.location)
	}
	want := settings.Brand{Name: "Southwind", LogoURL: "https://cdn.example.com/logo.svg", Color: "#aa0000", AccentColor: "#00aa00", SupportEmail: "care@example.com"}
	if st, _ := e.settings.Get(ctx); st.Brand != want {
		t.Errorf("brand %+v, want %+v", st.Brand, want)
	}
	if a := e.lastAudit(t); a.Action != "brand changed" || !strings.Contains(a.Detail, `name "Southwind" (was "Northwind Outfitters")`) {
		t.Errorf("audit %+v", a)
	}
	// The preview names the store as the brand does now.
	r = cl.do(t, http.MethodPost, "/console/templates/preview", strings.NewReader(`{"channel":"sms","locale":"en","body":"{{ store.name }} {{ store.support_email }}"}`),
		fiber.MIMEApplicationJSON, "X-CSRF-Token", cl.csrf)
	mktMustContain(t, "the preview", r.body, `"body":"Southwind care@example.com"`)
}

func TestConsoleMarketing_FormPostWithoutCSRFIsRefused(t *testing.T) {
	e := newMktEnv(t, nil)
	e.user(t, "mia@example.com", console.Marketing)
	cl := mktSignIn(t, e.app, "mia@example.com")
	cl.get(t, "/console/rules")
	for path, form := range map[string]url.Values{
		"/console/rules":                         {"on": {"shipped/sms"}, "quiet_hours": {"off"}, "collapse": {"0"}},
		"/console/rules/brand":                   {"name": {"Evil"}, "color": {"#000000"}, "accent_color": {"#000000"}},
		"/console/templates/shipped/sms/en":      {"body": {"evil"}},
		"/console/templates/shipped/sms/en/test": {"to": {"+15035550123"}},
	} {
		r := cl.do(t, http.MethodPost, path, strings.NewReader(form.Encode()), fiber.MIMEApplicationForm)
		if r.status != http.StatusForbidden {
			t.Errorf("POST %s without the token: %d, want 403", path, r.status)
		}
	}
	if rules, _ := e.rules.Get(context.Background()); rules.On(notify.Shipped, notify.SMS) {
		t.Error("a forged post changed the rules")
	}
	if b := e.settings.Brand(context.Background()); b.Name != mktDefaults.Brand.Name {
		t.Error("a forged post changed the brand")
	}
	if vs, _ := e.store.Versions(context.Background(), notify.Shipped, notify.SMS, "en"); len(vs) != 0 {
		t.Error("a forged post saved a template")
	}
}
