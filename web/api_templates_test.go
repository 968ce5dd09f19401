package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/trackd/trackd/notify"
	"github.com/trackd/trackd/notify/templates"
	"github.com/trackd/trackd/tracking/redistest"
)

// sentMessage is what the test sender was asked to send.
type sentMessage struct {
	channel  notify.Channel
	to       string
	rendered templates.Rendered
}

// tplEnv is the templates API on a real redis-server, with a sender that
// records what it sends and answers what the test tells it to.
type tplEnv struct {
	app      *fiber.App
	mu       sync.Mutex
	sent     []sentMessage
	sendErr  error
	defaults *templates.Defaults
}

func newTplEnv(t *testing.T, withSender bool) *tplEnv {
	t.Helper()
	defaults, err := templates.LoadDefaults()
	if err != nil {
		t.Fatal(err)
	}
	engine := templates.NewEngine(templates.DefaultLimits())
	store := templates.NewStore(redistest.Start(t).Client(t), engine, defaults,
		templates.StoreConfig{Prefix: redistest.Prefix(t)})
	env := &tplEnv{defaults: defaults}
	api := TemplateAPI{
		Store: store, Engine: engine, BodyLimit: 4 << 10,
		Author: func(c *fiber.Ctx) string { return c.Get("X-Test-Author") },
	}
	if withSender {
		api.Send = func(_ context.Context, ch notify.Channel, to string, r templates.Rendered) (string, error) {
			env.mu.Lock()
			defer env.mu.Unlock()
			if env.sendErr != nil {
				return "", env.sendErr
			}
			env.sent = append(env.sent, sentMessage{ch, to, r})
			return fmt.Sprintf("msg-%d", len(env.sent)), nil
		}
	}
	app := fiber.New(fiber.Config{ErrorHandler: errorHandler(slog.New(slog.DiscardHandler))})
	base := "/api/v1/templates/:trigger/:channel/:locale"
	app.Post("/api/v1/templates/preview", TemplatePreview(api))
	app.Post("/api/v1/templates/test-send", TemplateTestSend(api))
	app.Get(base, TemplateGet(api))
	app.Put(base, TemplatePut(api))
	app.Get(base+"/versions", TemplateVersions(api))
	app.Post(base+"/versions/:n/restore", TemplateRestore(api))
	env.app = app
	return env
}

func (e *tplEnv) sentMessages() []sentMessage {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]sentMessage(nil), e.sent...)
}

func (e *tplEnv) failSends(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.sendErr = err
}

// do sends a request and decodes the JSON answer into a map.
func (e *tplEnv) do(t *testing.T, method, path, body string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, bytes.NewReader([]byte(body)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Test-Author", "marketing-key")
	resp, err := e.app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s %s answered %d %q: not a JSON object: %v", method, path, resp.StatusCode, b, err)
	}
	return resp.StatusCode, out
}

func jsonBody(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// problems decodes an answer's "errors" or "warnings".
func problems(t *testing.T, v any) []templates.Problem {
	t.Helper()
	var ps []templates.Problem
	if err := json.Unmarshal([]byte(jsonBody(t, v)), &ps); err != nil {
		t.Fatalf("%v is not a list of problems: %v", v, err)
	}
	return ps
}

func wantStatus(t *testing.T, what string, got, want int, body map[string]any) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: answer %d %v, want %d", what, got, body, want)
	}
}

const smsPath = "/api/v1/templates/shipped/sms/es"

func TestTemplateAPI_GetAnswersTheDefaultUntilSaved(t *testing.T) {
	env := newTplEnv(t, false)
	code, got := env.do(t, http.MethodGet, "/api/v1/templates/delivered/email/fr", "")
	wantStatus(t, "get", code, 200, got)
	want, _ := env.defaults.Get(notify.Delivered, notify.Email, "fr")
	if got["trigger"] != "delivered" || got["channel"] != "email" || got["locale"] != "fr" ||
		got["version"] != 0.0 || got["custom"] != false || got["saved_at"] != nil ||
		got["subject"] != want.Subject || got["html"] != want.HTML || got["text"] != want.Text {
		t.Errorf("answer %v, want the default email", got)
	}
	if _, ok := got["body"]; ok {
		t.Errorf("an email template answered a body: %v", got)
	}

	code, got = env.do(t, http.MethodGet, smsPath, "")
	wantStatus(t, "get sms", code, 200, got)
	want, _ = env.defaults.Get(notify.Shipped, notify.SMS, "es")
	if got["body"] != want.Body {
		t.Errorf("body %v, want %q", got["body"], want.Body)
	}
	for _, k := range []string{"subject", "html", "text"} {
		if _, ok := got[k]; ok {
			t.Errorf("an SMS template answered %q: %v", k, got)
		}
	}
}

func TestTemplateAPI_UnknownTemplatesAre404NamingWhat(t *testing.T) {
	env := newTplEnv(t, false)
	tests := []struct{ path, field, mention string }{
		{"/api/v1/templates/shiped/email/en", "trigger", `unknown trigger "shiped"`},
		{"/api/v1/templates/shipped/fax/en", "channel", `unknown channel "fax"`},
		{"/api/v1/templates/shipped/email/pt", "locale", `unknown locale "pt"`},
	}
	for _, tt := range tests {
		for _, r := range []struct{ method, suffix, body string }{
			{http.MethodGet, "", ""},
			{http.MethodPut, "", `{"body": "x"}`},
			{http.MethodGet, "/versions", ""},
			{http.MethodPost, "/versions/1/restore", ""},
		} {
			code, got := env.do(t, r.method, tt.path+r.suffix, r.body)
			msg, _ := got["error"].(string)
			if code != 404 || got["field"] != tt.field || !strings.Contains(msg, tt.mention) {
				t.Errorf("%s %s%s: %d %v, want 404 naming %s", r.method, tt.path, r.suffix, code, got, tt.field)
			}
		}
	}
}

func TestTemplateAPI_EverySaveIsANewVersion(t *testing.T) {
	env := newTplEnv(t, false)
	v1 := "{{ store.name }}: tu pedido {{ order.number }} va en camino. {{ shipment.tracking_url }}"
	v2 := "{{ store.name }}: ¡en camino! {{ shipment.tracking_url }}"

	code, got := env.do(t, http.MethodPut, smsPath, jsonBody(t, map[string]string{"body": v1}))
	wantStatus(t, "first put", code, 200, got)
	if got["version"] != 1.0 || got["custom"] != true || got["body"] != v1 || got["saved_by"] != "marketing-key" || got["saved_at"] == nil {
		t.Errorf("first save answered %v", got)
	}
	if ws, ok := got["warnings"].([]any); !ok || len(ws) != 0 {
		t.Errorf("warnings %v, want []", got["warnings"])
	}
	code, got = env.do(t, http.MethodPut, smsPath, jsonBody(t, map[string]string{"body": v2}))
	wantStatus(t, "second put", code, 200, got)
	if got["version"] != 2.0 {
		t.Errorf("second save answered version %v, want 2", got["version"])
	}

	code, got = env.do(t, http.MethodGet, smsPath, "")
	wantStatus(t, "get", code, 200, got)
	if got["version"] != 2.0 || got["body"] != v2 || got["custom"] != true {
		t.Errorf("current %v, want version 2", got)
	}
	code, got = env.do(t, http.MethodGet, smsPath+"/versions", "")
	wantStatus(t, "versions", code, 200, got)
	vs, _ := got["versions"].([]any)
	if len(vs) != 2 || vs[0].(map[string]any)["version"] != 2.0 || vs[1].(map[string]any)["body"] != v1 {
		t.Errorf("versions %v, want 2 then 1", got)
	}
}

func TestTemplateAPI_VersionsOfADefaultAreEmpty(t *testing.T) {
	env := newTplEnv(t, false)
	code, got := env.do(t, http.MethodGet, smsPath+"/versions", "")
	wantStatus(t, "versions", code, 200, got)
	if vs, ok := got["versions"].([]any); !ok || len(vs) != 0 {
		t.Errorf("versions %v, want []", got)
	}
}

func TestTemplateAPI_PutWarnsAboutUnknownVariables(t *testing.T) {
	env := newTplEnv(t, false)
	code, got := env.do(t, http.MethodPut, smsPath, `{"body": "Hola\n{{ customer.name }}"}`)
	wantStatus(t, "put", code, 200, got)
	want := []templates.Problem{{Part: "body", Line: 2, Message: "unknown variable customer.name"}}
	if ps := problems(t, got["warnings"]); fmt.Sprint(ps) != fmt.Sprint(want) {
		t.Errorf("warnings %v, want %v", ps, want)
	}
}

func TestTemplateAPI_PutRefusesInvalidTemplates(t *testing.T) {
	env := newTplEnv(t, false)
	path := "/api/v1/templates/delivered/email/en"
	tests := []struct {
		name string
		body any
		want []templates.Problem
	}{
		{"a syntax error", map[string]string{"subject": "Delivered", "html": "<p>\n{% if shipment.delayed %}", "text": "{{ nope }}"},
			[]templates.Problem{{Part: "html", Line: 2, Message: `unterminated "if" block`}}},
		{"missing parts", map[string]string{"subject": "Delivered"},
			[]templates.Problem{{Part: "html", Message: "is required"}, {Part: "text", Message: "is required"}}},
		{"a part email does not have", map[string]string{"subject": "s", "html": "h", "text": "t", "body": "b"},
			[]templates.Problem{{Part: "body", Message: "email templates have no body part"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, got := env.do(t, http.MethodPut, path, jsonBody(t, tt.body))
			wantStatus(t, "put", code, 422, got)
			if ps := problems(t, got["errors"]); fmt.Sprint(ps) != fmt.Sprint(tt.want) {
				t.Errorf("errors %v, want %v", ps, tt.want)
			}
			if _, ok := got["warnings"].([]any); !ok {
				t.Errorf("warnings %v, want a list", got["warnings"])
			}
		})
	}
	_, got := env.do(t, http.MethodGet, path, "")
	if got["version"] != 0.0 {
		t.Errorf("after refused saves the template is %v, want the default", got)
	}
	_, got = env.do(t, http.MethodPut, path, jsonBody(t, tests[0].body))
	if ws := problems(t, got["warnings"]); len(ws) != 1 || ws[0].Message != "unknown variable nope" {
		t.Errorf("a refused save's warnings %v, want the unknown variable", ws)
	}
}

func TestTemplateAPI_PutRefusesBadBodies(t *testing.T) {
	env := newTplEnv(t, false)
	tests := []struct {
		name, body string
		status     int
	}{
		{"malformed JSON", `{"body": `, 400},
		{"not an object", `["body"]`, 400},
		{"empty", ``, 400},
		{"too large", jsonBody(t, map[string]string{"body": strings.Repeat("x", 5<<10)}), 413},
	}
	for _, tt := range tests {
		code, got := env.do(t, http.MethodPut, smsPath, tt.body)
		if code != tt.status || got["error"] == nil {
			t.Errorf("%s: %d %v, want %d with an error", tt.name, code, got, tt.status)
		}
	}
}

func TestTemplateAPI_RestoreSavesAnOldVersionAgain(t *testing.T) {
	env := newTplEnv(t, false)
	for _, body := range []string{"first {{ shipment.tracking_url }}", "second {{ shipment.tracking_url }}"} {
		code, got := env.do(t, http.MethodPut, smsPath, jsonBody(t, map[string]string{"body": body}))
		wantStatus(t, "put", code, 200, got)
	}
	code, got := env.do(t, http.MethodPost, smsPath+"/versions/1/restore", "")
	wantStatus(t, "restore", code, 200, got)
	if got["version"] != 3.0 || got["restored_from"] != 1.0 || got["body"] != "first {{ shipment.tracking_url }}" || got["saved_by"] != "marketing-key" {
		t.Errorf("restore answered %v, want version 3 with version 1's body", got)
	}
	_, got = env.do(t, http.MethodGet, smsPath, "")
	if got["version"] != 3.0 {
		t.Errorf("current version %v, want 3", got["version"])
	}
	for _, n := range []string{"4", "0", "-1", "one"} {
		code, got := env.do(t, http.MethodPost, smsPath+"/versions/"+n+"/restore", "")
		if code != 404 {
			t.Errorf("restore %s: %d %v, want 404", n, code, got)
		}
	}
}

func TestTemplateAPI_Preview(t *testing.T) {
	env := newTplEnv(t, false)
	const path = "/api/v1/templates/preview"
	t.Run("email", func(t *testing.T) {
		code, got := env.do(t, http.MethodPost, path, jsonBody(t, map[string]any{
			"channel": "email", "locale": "de",
			"subject": "{{ shipment.status_text }}: {{ order.number }}",
			"html":    "<p>{{ shipment.latest_event.message }}</p>{{ shipment.colour }}",
			"text":    "{% if shipment.delayed %}late{% endif %} {{ order.shipment_count }}",
			"sample":  map[string]any{"status": "out_for_delivery", "delayed": true, "split": true},
		}))
		wantStatus(t, "preview", code, 200, got)
		if got["subject"] != "In Zustellung: NW-10482" || got["text"] != "late 2" ||
			!strings.Contains(got["html"].(string), "Verspätung wegen Unwetter") {
			t.Errorf("preview %v", got)
		}
		if ws := problems(t, got["warnings"]); len(ws) != 1 || ws[0].Message != "unknown variable shipment.colour" {
			t.Errorf("warnings %v, want shipment.colour", ws)
		}
	})
	t.Run("sms", func(t *testing.T) {
		code, got := env.do(t, http.MethodPost, path, `{"channel": "sms", "locale": "es", "body": "Hola {{ customer.first_name }}"}`)
		wantStatus(t, "preview", code, 200, got)
		if got["body"] != "Hola Lucía" || got["encoding"] != "UCS-2" || got["characters"] != 10.0 || got["segments"] != 1.0 {
			t.Errorf("preview %v", got)
		}
		if _, ok := got["subject"]; ok {
			t.Errorf("an SMS preview has a subject: %v", got)
		}
	})
	t.Run("one part of an email", func(t *testing.T) {
		code, got := env.do(t, http.MethodPost, path, `{"channel": "email", "subject": "Order {{ order.number }}"}`)
		wantStatus(t, "preview", code, 200, got)
		if got["subject"] != "Order NW-10482" || got["html"] != "" {
			t.Errorf("preview %v", got)
		}
	})
	t.Run("errors", func(t *testing.T) {
		code, got := env.do(t, http.MethodPost, path, `{"channel": "sms", "body": "ok\n{{ order.number | shout }}"}`)
		wantStatus(t, "preview", code, 422, got)
		want := []templates.Problem{{Part: "body", Line: 2, Message: `unknown filter "shout"`}}
		if ps := problems(t, got["errors"]); fmt.Sprint(ps) != fmt.Sprint(want) {
			t.Errorf("errors %v, want %v", ps, want)
		}
	})
	t.Run("bad requests", func(t *testing.T) {
		for _, tt := range []struct{ body, field string }{
			{`{"channel": "fax", "body": "x"}`, "channel"},
			{`{"body": "x"}`, "channel"},
			{`{"channel": "sms", "locale": "pt", "body": "x"}`, "locale"},
			{`{"channel": "sms", "body": "x", "sample": {"status": "lost"}}`, "sample.status"},
			{`{"channel": "sms", "body": "x", "sample": {"delayed": "yes"}}`, "sample.delayed"},
		} {
			code, got := env.do(t, http.MethodPost, path, tt.body)
			if code != 400 || got["field"] != tt.field {
				t.Errorf("%s: %d %v, want 400 for %s", tt.body, code, got, tt.field)
			}
		}
	})
}

func TestTemplateAPI_TestSend(t *testing.T) {
	env := newTplEnv(t, true)
	const path = "/api/v1/templates/test-send"

	code, got := env.do(t, http.MethodPost, path, `{"trigger": "delivered", "channel": "email", "locale": "fr", "to": "Camille <camille@example.com>"}`)
	wantStatus(t, "email test send", code, 202, got)
	sent := env.sentMessages()
	if got["provider_id"] != "msg-1" || len(sent) != 1 {
		t.Fatalf("answer %v, sent %v", got, sent)
	}
	if s := sent[0]; s.channel != notify.Email || s.to != "camille@example.com" ||
		s.rendered.Subject != "Livrée : votre commande NW-10482" || !strings.Contains(s.rendered.HTML, "Camille") {
		t.Errorf("sent %+v", s)
	}

	// The current template, marketing's once saved.
	code, got = env.do(t, http.MethodPut, smsPath, `{"body": "Prueba {{ order.number }}"}`)
	wantStatus(t, "put", code, 200, got)
	code, got = env.do(t, http.MethodPost, path, `{"trigger": "shipped", "channel": "sms", "locale": "es", "to": "+34600000000"}`)
	wantStatus(t, "sms test send", code, 202, got)
	if s := env.sentMessages()[1]; s.to != "+34600000000" || s.rendered.Body != "Prueba NW-10482" || s.rendered.Segments != 1 {
		t.Errorf("sent %+v", s)
	}

	for _, tt := range []struct{ body, field string }{
		{`{"trigger": "shipped", "channel": "email", "locale": "en", "to": "not an address"}`, "to"},
		{`{"trigger": "shipped", "channel": "email", "locale": "en", "to": ""}`, "to"},
		{`{"trigger": "shipped", "channel": "email", "locale": "en", "to": "` + strings.Repeat("a", 250) + `@example.com"}`, "to"},
		{`{"trigger": "lost", "channel": "email", "locale": "en", "to": "a@example.com"}`, "trigger"},
		{`{"trigger": "shipped", "channel": "pigeon", "locale": "en", "to": "a@example.com"}`, "channel"},
		{`{"trigger": "shipped", "channel": "email", "locale": "xx", "to": "a@example.com"}`, "locale"},
	} {
		code, got := env.do(t, http.MethodPost, path, tt.body)
		if code != 400 || got["field"] != tt.field {
			t.Errorf("%s: %d %v, want 400 for %s", tt.body, code, got, tt.field)
		}
	}
	if n := len(env.sentMessages()); n != 2 {
		t.Errorf("bad requests sent %d messages", n-2)
	}

	send := `{"trigger": "shipped", "channel": "sms", "locale": "en", "to": "12345"}`
	env.failSends(fmt.Errorf("twilio: %w: 12345 is not an E.164 number", ErrInvalidRecipient))
	code, got = env.do(t, http.MethodPost, path, send)
	if code != 400 || got["field"] != "to" || !strings.Contains(got["error"].(string), "not an E.164 number") {
		t.Errorf("invalid number: %d %v, want 400 for to", code, got)
	}
	env.failSends(invalidNumber{})
	if code, got = env.do(t, http.MethodPost, path, send); code != 400 {
		t.Errorf("invalid number (by method): %d %v, want 400", code, got)
	}
	env.failSends(errors.New("twilio: 503 service unavailable"))
	code, got = env.do(t, http.MethodPost, path, send)
	if code != 502 || !strings.Contains(got["error"].(string), "503 service unavailable") {
		t.Errorf("provider failure: %d %v, want 502 with its error", code, got)
	}
}

type invalidNumber struct{}

func (invalidNumber) Error() string          { return "the number is not valid" }
func (invalidNumber) InvalidRecipient() bool { return true }

func TestTemplateAPI_TestSendWithoutASender(t *testing.T) {
	env := newTplEnv(t, false)
	code, got := env.do(t, http.MethodPost, "/api/v1/templates/test-send", `{"trigger": "shipped", "channel": "email", "locale": "en", "to": "a@example.com"}`)
	if code != 501 {
		t.Errorf("answer %d %v, want 501", code, got)
	}
}
