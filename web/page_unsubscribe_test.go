package web

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/trackd/trackd/notify"
	"github.com/trackd/trackd/notify/optout"
)

var (
	unsubHashKey = []byte("unsubscribe-test-hash-key-0123456789")
	unsubSignKey = []byte("unsubscribe-test-sign-key-0123456789")
	unsubCSRFKey = []byte("unsubscribe-test-csrf-key-0123456789")
)

// unsubOptOuts records opt-outs, or fails with fail.
type unsubOptOuts struct {
	mu   sync.Mutex
	set  []string // "<channel> <hash>"
	fail error
}

func (o *unsubOptOuts) SetOptOutHash(_ context.Context, ch notify.Channel, hash string, out bool) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.fail != nil {
		return o.fail
	}
	if out {
		o.set = append(o.set, string(ch)+" "+hash)
	}
	return nil
}

func (o *unsubOptOuts) recorded() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.set...)
}

// unsubLimiter allows while allow is true; err, when set, is its failure.
type unsubLimiter struct {
	allow bool
	err   error
	keys  []string
}

func (l *unsubLimiter) Allow(_ context.Context, key string) (bool, time.Duration, error) {
	l.keys = append(l.keys, key)
	if l.err != nil {
		return false, 0, l.err
	}
	return l.allow, 90 * time.Second, nil
}

type unsubEnv struct {
	app     *fiber.App
	signer  *optout.Signer
	hasher  optout.Hasher
	optOuts *unsubOptOuts
}

func newUnsubEnv(t *testing.T, mod ...func(*UnsubscribeDeps)) *unsubEnv {
	t.Helper()
	h, err := optout.NewHasher(unsubHashKey)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := optout.NewSigner(h, unsubSignKey)
	if err != nil {
		t.Fatal(err)
	}
	e := &unsubEnv{signer: signer, hasher: h, optOuts: &unsubOptOuts{}}
	d := UnsubscribeDeps{Tokens: signer, OptOuts: e.optOuts, CSRFKey: unsubCSRFKey,
		Brand: Brand{Name: "Acme Outfitters", Color: "#1f4e79", AccentColor: "#2e7d32"},
		Log:   slog.New(slog.DiscardHandler)}
	for _, m := range mod {
		m(&d)
	}
	log := slog.New(slog.DiscardHandler)
	e.app = fiber.New(fiber.Config{ErrorHandler: errorHandler(log)})
	e.app.Get("/u/:token", UnsubscribePage(d))
	e.app.Post("/u/:token", UnsubscribeSubmit(d))
	return e
}

type unsubResponse struct {
	status int
	header http.Header
	body   string
}

func (e *unsubEnv) do(t *testing.T, req *http.Request) unsubResponse {
	t.Helper()
	resp, err := e.app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := unsubResponse{status: resp.StatusCode, header: resp.Header, body: string(b)}
	if r.status != fiber.StatusRequestEntityTooLarge {
		if cc := r.header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("%s %s: Cache-Control %q, want no-store", req.Method, req.URL, cc)
		}
		if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self'") {
			t.Errorf("%s %s: CSP %q", req.Method, req.URL, csp)
		}
	}
	return r
}

func (e *unsubEnv) get(t *testing.T, target string, header ...string) unsubResponse {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return e.do(t, req)
}

func (e *unsubEnv) post(t *testing.T, target, contentType, body string, header ...string) unsubResponse {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return e.do(t, req)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]*)"`)

// formCSRF returns the anti-forgery token of the page at target.
func (e *unsubEnv) formCSRF(t *testing.T, target string) string {
	t.Helper()
	r := e.get(t, target)
	m := csrfField.FindStringSubmatch(r.body)
	if r.status != http.StatusOK || m == nil || m[1] == "" {
		t.Fatalf("GET %s: %d without a csrf field:\n%s", target, r.status, r.body)
	}
	return m[1]
}

func formBody(csrf, lang string) string {
	v := url.Values{"csrf": {csrf}}
	if lang != "" {
		v.Set("lang", lang)
	}
	return v.Encode()
}

const formType = "application/x-www-form-urlencoded"

func TestUnsubscribePage_AsksWithoutChangingAnything(t *testing.T) {
	e := newUnsubEnv(t)
	tok := e.signer.Token(notify.Email, "jane@example.com", "o_1")
	r := e.get(t, "/u/"+tok)
	if r.status != http.StatusOK {
		t.Fatalf("status %d, want 200:\n%s", r.status, r.body)
	}
	for _, want := range []string{
		`<html lang="en">`,
		"<title>Unsubscribe · Acme Outfitters</title>",
		"<h1>Stop shipping updates by email?</h1>",
		"emails from Acme Outfitters about your orders",
		`<form method="post" action="/u/` + tok + `">`,
		`<button type="submit">Unsubscribe</button>`,
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("page lacks %q:\n%s", want, r.body)
		}
	}
	if strings.Contains(r.body, "jane") {
		t.Error("the page shows the address")
	}
	if got := e.optOuts.recorded(); len(got) != 0 {
		t.Errorf("GET opted out: %v", got)
	}
}

func TestUnsubscribePage_SMSWording(t *testing.T) {
	e := newUnsubEnv(t)
	r := e.get(t, "/u/"+e.signer.Token(notify.SMS, "+15551234567", "o_1"))
	if r.status != http.StatusOK || !strings.Contains(r.body, "<h1>Stop shipping updates by text message?</h1>") {
		t.Errorf("status %d:\n%s", r.status, r.body)
	}
}

func TestUnsubscribePage_Language(t *testing.T) {
	e := newUnsubEnv(t)
	tok := e.signer.Token(notify.Email, "jane@example.com", "o_1")
	for _, tc := range []struct {
		name, query, accept string
		lang, heading       string
	}{
		{"default", "", "", "en", "Stop shipping updates by email?"},
		{"browser", "", "de-DE,de;q=0.9", "de", "Keine Versandinformationen mehr per E-Mail?"},
		{"link over browser", "?lang=fr", "de", "fr", "Ne plus recevoir les informations de livraison par e-mail ?"},
		{"unknown link language falls to the browser", "?lang=xx", "es", "es", "¿Dejar de recibir avisos de envío por correo electrónico?"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.get(t, "/u/"+tok+tc.query, "Accept-Language", tc.accept)
			if !strings.Contains(r.body, `<html lang="`+tc.lang+`">`) || !strings.Contains(r.body, "<h1>"+tc.heading+"</h1>") ||
				!strings.Contains(r.body, `name="lang" value="`+tc.lang+`"`) {
				t.Errorf("want %s:\n%s", tc.lang, r.body)
			}
			if !strings.Contains(r.header.Get("Vary"), "Accept-Language") {
				t.Errorf("Vary %q", r.header.Get("Vary"))
			}
		})
	}
}

func TestUnsubscribePage_InvalidTokenIsAFriendly404(t *testing.T) {
	e := newUnsubEnv(t)
	tok := e.signer.Token(notify.Email, "jane@example.com", "o_1")
	other, _ := optout.NewSigner(e.hasher, []byte("another-signing-key-0123456789abcdef"))
	for name, bad := range map[string]string{
		"garbage":     "nope",
		"tampered":    tok[:len(tok)-2] + "AA",
		"other key":   other.Token(notify.Email, "jane@example.com", "o_1"),
		"markup":      url.PathEscape(`<script>alert(1)</script>`),
		"too long":    strings.Repeat("A", 600),
		"quote in it": url.PathEscape(`x"onmouseover="alert(1)`),
	} {
		t.Run(name, func(t *testing.T) {
			for _, r := range []unsubResponse{
				e.get(t, "/u/"+bad, "Accept-Language", "fr"),
				e.post(t, "/u/"+bad, formType, "List-Unsubscribe=One-Click", "Accept-Language", "fr"),
			} {
				if r.status != http.StatusNotFound || !strings.Contains(r.body, "<h1>Lien de désabonnement non valide</h1>") {
					t.Errorf("status %d:\n%s", r.status, r.body)
				}
				if strings.Contains(r.body, "<script>alert") || strings.Contains(r.body, "onmouseover") || strings.Contains(r.body, "<form") {
					t.Errorf("the page reflects the token or offers a form:\n%s", r.body)
				}
			}
			if got := e.optOuts.recorded(); len(got) != 0 {
				t.Errorf("an invalid token opted out: %v", got)
			}
		})
	}
}

func TestUnsubscribePage_EscapesTheBrand(t *testing.T) {
	e := newUnsubEnv(t, func(d *UnsubscribeDeps) { d.Brand.Name = `<script>alert(1)</script>&"` })
	r := e.get(t, "/u/"+e.signer.Token(notify.Email, "jane@example.com", "o_1"))
	if strings.Contains(r.body, "<script>alert(1)") {
		t.Fatalf("brand not escaped:\n%s", r.body)
	}
	if !strings.Contains(r.body, "emails from &lt;script&gt;alert(1)&lt;/script&gt;&amp;&#34; about") {
		t.Errorf("brand missing or escaped unexpectedly:\n%s", r.body)
	}
}

func TestUnsubscribeSubmit_FormWithItsToken(t *testing.T) {
	e := newUnsubEnv(t)
	tok := e.signer.Token(notify.Email, "Jane@Example.com", "o_1")
	csrf := e.formCSRF(t, "/u/"+tok)
	r := e.post(t, "/u/"+tok, formType, formBody(csrf, "es"), "Sec-Fetch-Site", "same-origin")
	if r.status != http.StatusOK {
		t.Fatalf("status %d:\n%s", r.status, r.body)
	}
	if !strings.Contains(r.body, "<h1>Te has dado de baja</h1>") || strings.Contains(r.body, "<form") {
		t.Errorf("not the confirmation, in the form's language:\n%s", r.body)
	}
	want := "email " + e.hasher.Hash(notify.Email, "jane@example.com")
	if got := e.optOuts.recorded(); len(got) != 1 || got[0] != want {
		t.Errorf("opt-outs %v, want [%s]", got, want)
	}
}

func TestUnsubscribeSubmit_RefusesFormWithoutItsToken(t *testing.T) {
	e := newUnsubEnv(t)
	tok := e.signer.Token(notify.Email, "jane@example.com", "o_1")
	otherTok := e.signer.Token(notify.Email, "john@example.com", "o_2")
	csrf := e.formCSRF(t, "/u/"+tok)
	for _, tc := range []struct {
		name, body string
		header     []string
	}{
		{"no token", formBody("", ""), nil},
		{"empty body", "", nil},
		{"another link's token", formBody(e.formCSRF(t, "/u/"+otherTok), ""), nil},
		{"altered token", formBody(csrf[:len(csrf)-1]+"x", ""), nil},
		{"cross-site with the token", formBody(csrf, ""), []string{"Sec-Fetch-Site", "cross-site"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.post(t, "/u/"+tok, formType, tc.body, tc.header...)
			if r.status != http.StatusForbidden {
				t.Fatalf("status %d, want 403:\n%s", r.status, r.body)
			}
			if !strings.Contains(r.body, `role="alert">We couldn&#39;t confirm your request`) || !csrfField.MatchString(r.body) {
				t.Errorf("want the form again with a note:\n%s", r.body)
			}
			if got := e.optOuts.recorded(); len(got) != 0 {
				t.Errorf("opted out without a valid form: %v", got)
			}
		})
	}
}

func multipartBody(t *testing.T, fields ...string) (string, string) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for i := 0; i+1 < len(fields); i += 2 {
		if err := w.WriteField(fields[i], fields[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return w.FormDataContentType(), b.String()
}

// TestUnsubscribeSubmit_OneClick: RFC 8058's exact body opts out without a
// form token (a mail client has none); anything near it does not.
func TestUnsubscribeSubmit_OneClick(t *testing.T) {
	mpType, mpBody := multipartBody(t, "List-Unsubscribe", "One-Click")
	mpExtraType, mpExtraBody := multipartBody(t, "List-Unsubscribe", "One-Click", "x", "1")
	mpLowerType, mpLowerBody := multipartBody(t, "List-Unsubscribe", "one-click")
	for _, tc := range []struct {
		name, contentType, body string
		want                    int
	}{
		{"urlencoded", formType, "List-Unsubscribe=One-Click", http.StatusOK},
		{"urlencoded with charset", formType + "; charset=utf-8", "List-Unsubscribe=One-Click", http.StatusOK},
		{"no content type", "", "List-Unsubscribe=One-Click", http.StatusOK},
		{"multipart", mpType, mpBody, http.StatusOK},
		{"lower case value", formType, "List-Unsubscribe=one-click", http.StatusForbidden},
		{"another field too", formType, "List-Unsubscribe=One-Click&x=1", http.StatusForbidden},
		{"trailing newline", formType, "List-Unsubscribe=One-Click\r\n", http.StatusForbidden},
		{"percent-encoded", formType, "List-Unsubscribe=One%2DClick", http.StatusForbidden},
		{"empty", formType, "", http.StatusForbidden},
		{"as JSON", "application/json", "List-Unsubscribe=One-Click", http.StatusForbidden},
		{"multipart with another field", mpExtraType, mpExtraBody, http.StatusForbidden},
		{"multipart lower case", mpLowerType, mpLowerBody, http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newUnsubEnv(t)
			tok := e.signer.Token(notify.SMS, "+15551234567", "o_1")
			r := e.post(t, "/u/"+tok, tc.contentType, tc.body)
			if r.status != tc.want {
				t.Fatalf("status %d, want %d:\n%s", r.status, tc.want, r.body)
			}
			got := e.optOuts.recorded()
			if tc.want == http.StatusOK {
				want := "sms " + e.hasher.Hash(notify.SMS, "+15551234567")
				if len(got) != 1 || got[0] != want || !strings.Contains(r.body, "reply START") {
					t.Errorf("opt-outs %v, want [%s]; page:\n%s", got, want, r.body)
				}
			} else if len(got) != 0 {
				t.Errorf("opted out: %v", got)
			}
		})
	}
}

func TestUnsubscribeSubmit_StoreDown(t *testing.T) {
	e := newUnsubEnv(t)
	e.optOuts.fail = errors.New("connection refused")
	tok := e.signer.Token(notify.Email, "jane@example.com", "o_1")
	r := e.post(t, "/u/"+tok, formType, "List-Unsubscribe=One-Click")
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
		t.Fatalf("status %d Retry-After %q, want 503 and a retry", r.status, r.header.Get("Retry-After"))
	}
	if !strings.Contains(r.body, "We couldn&#39;t unsubscribe you just now") || !csrfField.MatchString(r.body) {
		t.Errorf("want the form again with a note:\n%s", r.body)
	}
}

func TestUnsubscribeSubmit_RateLimited(t *testing.T) {
	for _, tc := range []struct {
		name    string
		limiter *unsubLimiter
		want    int
		optOuts int
	}{
		{"allowed", &unsubLimiter{allow: true}, http.StatusOK, 1},
		{"refused", &unsubLimiter{allow: false}, http.StatusTooManyRequests, 0},
		{"limiter down lets the opt-out through", &unsubLimiter{err: errors.New("redis down")}, http.StatusOK, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newUnsubEnv(t, func(d *UnsubscribeDeps) {
				d.Limit = tc.limiter
				d.ClientIP = func(c *fiber.Ctx) string { return c.Get("X-Client") }
			})
			tok := e.signer.Token(notify.Email, "jane@example.com", "o_1")
			r := e.post(t, "/u/"+tok, formType, "List-Unsubscribe=One-Click", "X-Client", "203.0.113.7")
			if r.status != tc.want {
				t.Fatalf("status %d, want %d:\n%s", r.status, tc.want, r.body)
			}
			if got := len(e.optOuts.recorded()); got != tc.optOuts {
				t.Errorf("%d opt-outs, want %d", got, tc.optOuts)
			}
			if len(tc.limiter.keys) != 1 || tc.limiter.keys[0] != "203.0.113.7" {
				t.Errorf("limited by %v, want the client address", tc.limiter.keys)
			}
			if tc.want == http.StatusTooManyRequests && (r.header.Get("Retry-After") != "90" || !strings.Contains(r.body, "Too many attempts")) {
				t.Errorf("Retry-After %q:\n%s", r.header.Get("Retry-After"), r.body)
			}
		})
	}
}

func TestUnsubscribeSubmit_CapsTheBody(t *testing.T) {
	e := newUnsubEnv(t)
	tok := e.signer.Token(notify.Email, "jane@example.com", "o_1")
	r := e.post(t, "/u/"+tok, formType, "csrf="+strings.Repeat("a", unsubscribeBodyLimit))
	if r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d, want 413", r.status)
	}
	if got := e.optOuts.recorded(); len(got) != 0 {
		t.Errorf("opted out: %v", got)
	}
}

func TestUnsubscribePage_PanicsWithoutDeps(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic for a short CSRF key")
		}
	}()
	UnsubscribePage(UnsubscribeDeps{Tokens: &optout.Signer{}, OptOuts: &unsubOptOuts{}, Log: slog.New(slog.DiscardHandler), CSRFKey: []byte("short")})
}
