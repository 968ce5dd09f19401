package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/trackd/trackd/console"
	"github.com/trackd/trackd/tracking/redistest"
)

// The console's foundation, tested through the app on a real redis-server:
// sign-in, its cookie, rate limit and CSRF, roles, session expiry and
// sign-out. The helpers (prefixed adm) are shared with the admin pages'
// tests.

const admPassword = "correct horse battery"

// admEnv is a trackd app with the console and its admin pages.
type admEnv struct {
	app      *fiber.App
	rdb      *redis.Client
	prefix   string
	users    *console.Users
	sessions *console.Sessions
	audit    *console.Audit
	keys     *KeyStore
}

// newAdmEnv builds the app; tune may change the configuration and the
// console's stores before it is built.
func newAdmEnv(t *testing.T, tune func(*Config, *ConsoleDeps)) *admEnv {
	t.Helper()
	rdb := redistest.Start(t).Client(t)
	prefix := redistest.Prefix(t)
	keys := NewKeyStore(rdb, prefix)
	cfg := DefaultConfig()
	cfg.KeyPrefix = prefix
	deps := &ConsoleDeps{Users: console.NewUsers(rdb, prefix), Sessions: console.NewSessions(rdb, prefix),
		Audit: console.NewAudit(rdb, prefix), Admin: &ConsoleAdmin{Keys: keys}}
	if tune != nil {
		tune(&cfg, deps)
	}
	app, err := New(cfg, Deps{Store: newPageStore(), Keys: keys, Redis: rdb, Console: deps,
		Ready: func(context.Context) error { return nil }, Registry: prometheus.NewRegistry(), Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return &admEnv{app: app, rdb: rdb, prefix: prefix, users: deps.Users, sessions: deps.Sessions, audit: deps.Audit, keys: keys}
}

// user creates a console user with admPassword.
func (e *admEnv) user(t *testing.T, email string, role console.Role) {
	t.Helper()
	if _, err := e.users.Create(context.Background(), email, strings.Split(email, "@")[0], role, admPassword, time.Now()); err != nil {
		t.Fatal(err)
	}
}

// sessionKey is where the session with the cookie token is kept (as
// console.Sessions names it).
func (e *admEnv) sessionKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return e.prefix + "{cs:" + hex.EncodeToString(sum[:16]) + "}"
}

// sessionKeys lists every stored session.
func (e *admEnv) sessionKeys(t *testing.T) []string {
	t.Helper()
	keys, err := e.rdb.Keys(context.Background(), e.prefix+"{cs:*").Result()
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// admClient is a browser: it keeps the cookies the app sets.
type admClient struct {
	e   *admEnv
	jar map[string]*http.Cookie
}

func (e *admEnv) client() *admClient { return &admClient{e: e, jar: map[string]*http.Cookie{}} }

// admResp is an answer, its body read.
type admResp struct {
	*http.Response
	body string
}

// do sends a request with the jar's cookies; a non-nil form is posted
// url-encoded. It keeps the cookies set, and drops those cleared.
func (cl *admClient) do(t *testing.T, method, path string, form url.Values, header ...string) admResp {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	for _, c := range cl.jar {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	resp, err := cl.e.app.Test(req, -1)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range resp.Cookies() {
		if c.Value == "" || c.MaxAge < 0 || (!c.Expires.IsZero() && c.Expires.Before(time.Now())) {
			delete(cl.jar, c.Name)
		} else {
			cl.jar[c.Name] = c
		}
	}
	return admResp{Response: resp, body: string(b)}
}

var (
	admCSRFInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	admCSRFMeta  = regexp.MustCompile(`<meta name="csrf-token" content="([^"]*)"`)
)

// signIn signs in through the sign-in page, as a browser would.
func (cl *admClient) signIn(t *testing.T, email, password, next string) admResp {
	t.Helper()
	page := cl.do(t, http.MethodGet, "/console/signin?next="+url.QueryEscape(next), nil)
	m := admCSRFInput.FindStringSubmatch(page.body)
	if page.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("sign-in page: %d, csrf input found: %v", page.StatusCode, m != nil)
	}
	return cl.do(t, http.MethodPost, "/console/signin", url.Values{
		"email": {email}, "password": {password}, "csrf": {html.UnescapeString(m[1])}, "next": {next}})
}

// signedIn returns a client signed in as email (with admPassword).
func (e *admEnv) signedIn(t *testing.T, email string) *admClient {
	t.Helper()
	cl := e.client()
	if r := cl.signIn(t, email, admPassword, "/console"); r.StatusCode != http.StatusSeeOther || cl.jar[sessionCookie] == nil {
		t.Fatalf("sign in as %s: %d %s", email, r.StatusCode, r.body)
	}
	return cl
}

// csrf is the session's anti-forgery token, as console pages carry it.
func (cl *admClient) csrf(t *testing.T) string {
	t.Helper()
	sess, err := cl.e.sessions.Get(context.Background(), cl.jar[sessionCookie].Value, time.Now())
	if err != nil {
		t.Fatalf("session: %v", err)
	}
	return sess.CSRF
}

// post posts form with the session's CSRF token.
func (cl *admClient) post(t *testing.T, path string, form url.Values) admResp {
	t.Helper()
	form.Set("csrf", cl.csrf(t))
	return cl.do(t, http.MethodPost, path, form)
}

func TestConsoleSignIn_Cookie(t *testing.T) {
	for _, tt := range []struct {
		name, publicURL string
		secure          bool
	}{
		{"http", "http://localhost:8080", false},
		{"https", "https://track.example.com", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newAdmEnv(t, func(cfg *Config, _ *ConsoleDeps) { cfg.PublicURL = tt.publicURL })
			e.user(t, "ada@example.com", console.Admin)
			cl := e.client()
			r := cl.signIn(t, "Ada@Example.com ", admPassword, "/console/users")
			if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/console/users" {
				t.Fatalf("sign in: %d to %q, want 303 to /console/users", r.StatusCode, r.Header.Get("Location"))
			}
			var set string
			for _, h := range r.Header.Values("Set-Cookie") {
				if strings.HasPrefix(h, sessionCookie+"=") {
					set = h
				}
			}
			lower := strings.ToLower(set)
			if !strings.Contains(lower, "httponly") || !strings.Contains(lower, "samesite=lax") || !strings.Contains(lower, "path=/console") {
				t.Errorf("session cookie %q: want HttpOnly, SameSite=Lax, Path=/console", set)
			}
			if got := strings.Contains(lower, "secure"); got != tt.secure {
				t.Errorf("session cookie %q: Secure %v, want %v", set, got, tt.secure)
			}
			if r := cl.do(t, http.MethodGet, "/console/users", nil); r.StatusCode != http.StatusOK || !strings.Contains(r.body, "ada@example.com") {
				t.Errorf("users page after sign-in: %d", r.StatusCode)
			}
			entries, err := e.audit.List(context.Background(), 10)
			if err != nil || len(entries) != 1 || entries[0].Action != "sign in" || entries[0].Actor != "ada@example.com" {
				t.Errorf("audit log %+v (%v): want the sign-in", entries, err)
			}
		})
	}
}

func TestConsoleSignIn_SignedOutIsSentToSignIn(t *testing.T) {
	e := newAdmEnv(t, nil)
	for _, tt := range []struct {
		name, cookie string
	}{{"no cookie", ""}, {"unknown session", "not-a-session-token"}} {
		t.Run(tt.name, func(t *testing.T) {
			cl := e.client()
			if tt.cookie != "" {
				cl.jar[sessionCookie] = &http.Cookie{Name: sessionCookie, Value: tt.cookie}
			}
			r := cl.do(t, http.MethodGet, "/console/users?x=1", nil)
			if want := "/console/signin?next=" + url.QueryEscape("/console/users?x=1"); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != want {
				t.Errorf("GET: %d to %q, want 303 to %q", r.StatusCode, r.Header.Get("Location"), want)
			}
			if r := cl.do(t, http.MethodPost, "/console/users", url.Values{"email": {"eve@example.com"}}); r.StatusCode != http.StatusUnauthorized {
				t.Errorf("POST: %d, want 401", r.StatusCode)
			}
		})
	}
	if users, _ := e.users.List(context.Background()); len(users) != 0 {
		t.Errorf("users %v: want none", users)
	}
}

func TestConsoleSignIn_RateLimited(t *testing.T) {
	e := newAdmEnv(t, nil)
	e.user(t, "ada@example.com", console.Admin)
	cl := e.client()
	const limit = 10 // per email per 15 minutes: consoleRoutes
	for i := range limit {
		if r := cl.signIn(t, "ada@example.com", "wrong password "+strconv.Itoa(i), "/console"); r.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong password %d: %d, want 401", i+1, r.StatusCode)
		}
	}
	for _, pw := range []string{"yet another wrong one", admPassword} {
		r := cl.signIn(t, "ada@example.com", pw, "/console")
		retry, _ := strconv.Atoi(r.Header.Get("Retry-After"))
		if r.StatusCode != http.StatusTooManyRequests || retry < 1 || retry > 15*60 {
			t.Errorf("password %q after %d failures: %d, Retry-After %q; want 429 with 1..900 s", pw, limit, r.StatusCode, r.Header.Get("Retry-After"))
		}
		if cl.jar[sessionCookie] != nil {
			t.Fatalf("password %q while limited: signed in", pw)
		}
	}
	// The window passes: the attempts recorded are moved 15 minutes back.
	lim := newRedisLimiter(e.rdb, e.prefix, "console_signin_email", limit, 15*time.Minute)
	ctx := context.Background()
	attempts, err := e.rdb.ZRangeWithScores(ctx, lim.key("ada@example.com"), 0, -1).Result()
	if err != nil || len(attempts) != limit {
		t.Fatalf("recorded attempts %v (%v): want %d", attempts, err, limit)
	}
	for _, a := range attempts {
		a.Score -= float64((15*time.Minute + time.Second).Microseconds())
		e.rdb.ZAdd(ctx, lim.key("ada@example.com"), a)
	}
	if r := cl.signIn(t, "ada@example.com", admPassword, "/console"); r.StatusCode != http.StatusSeeOther || cl.jar[sessionCookie] == nil {
		t.Errorf("right password after the window: %d, want 303 and signed in", r.StatusCode)
	}
}

func TestConsoleSignIn_CSRF(t *testing.T) {
	e := newAdmEnv(t, nil)
	e.user(t, "ada@example.com", console.Admin)
	for _, tt := range []struct {
		name          string
		cookie, token string
	}{
		{"neither", "", ""},
		{"no token", "cookie-token-0123456789", ""},
		{"no cookie", "", "cookie-token-0123456789"},
		{"mismatch", "cookie-token-0123456789", "other-token-0123456789"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cl := e.client()
			if tt.cookie != "" {
				cl.jar[signinCSRFCookie] = &http.Cookie{Name: signinCSRFCookie, Value: tt.cookie}
			}
			form := url.Values{"email": {"ada@example.com"}, "password": {admPassword}}
			if tt.token != "" {
				form.Set("csrf", tt.token)
			}
			r := cl.do(t, http.MethodPost, "/console/signin", form)
			if r.StatusCode != http.StatusForbidden || cl.jar[sessionCookie] != nil {
				t.Errorf("sign in: %d, session cookie %v; want 403 and none", r.StatusCode, cl.jar[sessionCookie] != nil)
			}
		})
	}
	if keys := e.sessionKeys(t); len(keys) != 0 {
		t.Errorf("sessions %v: want none", keys)
	}
}

func TestConsoleCSRF_FormPostWithoutTokenIsRefused(t *testing.T) {
	e := newAdmEnv(t, nil)
	e.user(t, "ada@example.com", console.Admin)
	cl := e.signedIn(t, "ada@example.com")
	newUser := func() url.Values {
		return url.Values{"email": {"eve@example.com"}, "name": {"Eve"}, "role": {"admin"}, "password": {admPassword}}
	}
	for _, tt := range []struct {
		name   string
		form   url.Values
		header []string
	}{
		{"no token", newUser(), nil},
		{"wrong token", func() url.Values { f := newUser(); f.Set("csrf", "forged"); return f }(), nil},
		{"wrong header", newUser(), []string{"X-CSRF-Token", "forged"}},
		{"another session's token", func() url.Values {
			other, err := e.sessions.Create(context.Background(), "ada@example.com", time.Now())
			if err != nil {
				t.Fatal(err)
			}
			f := newUser()
			f.Set("csrf", other.CSRF)
			return f
		}(), nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if r := cl.do(t, http.MethodPost, "/console/users", tt.form, tt.header...); r.StatusCode != http.StatusForbidden {
				t.Errorf("create user: %d, want 403", r.StatusCode)
			}
		})
	}
	if r := cl.do(t, http.MethodPost, "/console/api-keys", url.Values{"name": {"oms"}, "scope": {"write"}}); r.StatusCode != http.StatusForbidden {
		t.Errorf("create API key: %d, want 403", r.StatusCode)
	}
	if r := cl.do(t, http.MethodPost, "/console/users/delete", url.Values{"email": {"ada@example.com"}, "confirm": {"yes"}}); r.StatusCode != http.StatusForbidden {
		t.Errorf("delete user: %d, want 403", r.StatusCode)
	}
	ctx := context.Background()
	if _, err := e.users.Get(ctx, "eve@example.com"); err == nil {
		t.Error("a user was created without the CSRF token")
	}
	if keys, err := e.keys.List(ctx); err != nil || len(keys) != 0 {
		t.Errorf("API keys %v (%v): want none", keys, err)
	}
	// The token from the header (as the console's scripts send it) works.
	if r := cl.do(t, http.MethodPost, "/console/users", newUser(), "X-CSRF-Token", cl.csrf(t)); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("create user with the token: %d %s", r.StatusCode, r.body)
	}
	if _, err := e.users.Get(ctx, "eve@example.com"); err != nil {
		t.Errorf("user with the token: %v", err)
	}
	// The pages carry the token, in the forms and for scripts.
	r := cl.do(t, http.MethodGet, "/console/users", nil)
	want := cl.csrf(t)
	if m := admCSRFMeta.FindStringSubmatch(r.body); m == nil || html.UnescapeString(m[1]) != want {
		t.Errorf("users page: no csrf-token meta with the session's token")
	}
	forms := strings.Count(r.body, "<form")
	if got := strings.Count(r.body, `name="csrf" value="`+html.EscapeString(want)+`"`); got != forms || forms < 2 {
		t.Errorf("users page: %d forms, %d with the CSRF token", forms, got)
	}
}

func TestConsoleRoles_Forbidden(t *testing.T) {
	e := newAdmEnv(t, nil)
	e.user(t, "ada@example.com", console.Admin)
	e.user(t, "mia@example.com", console.Marketing)
	e.user(t, "olu@example.com", console.Ops)
	clients := map[string]*admClient{}
	for _, u := range []string{"ada", "mia", "olu"} {
		clients[u] = e.signedIn(t, u+"@example.com")
	}
	for _, tt := range []struct {
		who, method, path string
		want              int
	}{
		{"mia", http.MethodGet, "/console/users", 403},
		{"mia", http.MethodGet, "/console/api-keys", 403},
		{"mia", http.MethodGet, "/console/audit", 403},
		{"mia", http.MethodPost, "/console/users", 403},
		{"mia", http.MethodPost, "/console/api-keys", 403},
		{"olu", http.MethodGet, "/console/api-keys", 403},
		{"olu", http.MethodGet, "/console/users", 403},
		{"olu", http.MethodPost, "/console/api-keys", 403},
		{"olu", http.MethodPost, "/console/users/role", 403},
		{"ada", http.MethodGet, "/console/users", 200},
		{"ada", http.MethodGet, "/console/api-keys", 200},
		{"ada", http.MethodGet, "/console/audit", 200},
	} {
		t.Run(tt.who+" "+tt.method+" "+tt.path, func(t *testing.T) {
			cl := clients[tt.who]
			var r admResp
			if tt.method == http.MethodPost {
				r = cl.post(t, tt.path, url.Values{"email": {"mia@example.com"}, "name": {"sneaky"}, "role": {"admin"},
					"scope": {"write"}, "password": {admPassword}})
			} else {
				r = cl.do(t, tt.method, tt.path, nil)
			}
			if r.StatusCode != tt.want {
				t.Errorf("%d, want %d", r.StatusCode, tt.want)
			}
		})
	}
	ctx := context.Background()
	if u, err := e.users.Get(ctx, "mia@example.com"); err != nil || u.Role != console.Marketing {
		t.Errorf("mia is %+v (%v): want marketing still", u, err)
	}
	if keys, _ := e.keys.List(ctx); len(keys) != 0 {
		t.Errorf("API keys %v: want none", keys)
	}
	// The navigation offers only what the role opens.
	r := clients["mia"].do(t, http.MethodGet, "/console/audit", nil)
	if strings.Contains(r.body, `href="/console/users"`) || strings.Contains(r.body, `href="/console/api-keys"`) {
		t.Error("a marketing user's navigation links to users or API keys")
	}
}

// admAwait polls cond until it holds or a deadline passes.
func admAwait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestConsoleSession_IdleExpiry(t *testing.T) {
	const idle = 10 * time.Minute
	e := newAdmEnv(t, func(_ *Config, d *ConsoleDeps) { d.Sessions.Idle = idle })
	e.user(t, "ada@example.com", console.Admin)
	cl := e.signedIn(t, "ada@example.com")
	ctx := context.Background()
	key := e.sessionKey(cl.jar[sessionCookie].Value)
	if ttl := e.rdb.PTTL(ctx, key).Val(); ttl <= 0 || ttl > idle {
		t.Fatalf("session TTL %v, want (0, %v]", ttl, idle)
	}
	// Use renews the idle expiry.
	e.rdb.PExpire(ctx, key, time.Minute)
	if r := cl.do(t, http.MethodGet, "/console/users", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("users page: %d", r.StatusCode)
	}
	if ttl := e.rdb.PTTL(ctx, key).Val(); ttl <= time.Minute {
		t.Errorf("session TTL after use %v, want renewed to about %v", ttl, idle)
	}
	// Idle until it expires: the session ends.
	e.rdb.PExpire(ctx, key, time.Millisecond)
	admAwait(t, "the session to expire", func() bool { return e.rdb.Exists(ctx, key).Val() == 0 })
	r := cl.do(t, http.MethodGet, "/console/users", nil)
	if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/console/signin?next=") {
		t.Errorf("after idle expiry: %d to %q, want 303 to sign in", r.StatusCode, r.Header.Get("Location"))
	}
}

func TestConsoleSignOut_EndsSession(t *testing.T) {
	e := newAdmEnv(t, nil)
	e.user(t, "ada@example.com", console.Admin)
	cl := e.signedIn(t, "ada@example.com")
	token := cl.jar[sessionCookie].Value
	if r := cl.do(t, http.MethodPost, "/console/signout", url.Values{}); r.StatusCode != http.StatusForbidden {
		t.Errorf("sign out without the CSRF token: %d, want 403", r.StatusCode)
	}
	r := cl.post(t, "/console/signout", url.Values{})
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/console/signin" {
		t.Fatalf("sign out: %d to %q", r.StatusCode, r.Header.Get("Location"))
	}
	if cl.jar[sessionCookie] != nil {
		t.Error("sign out did not clear the session cookie")
	}
	if n := e.rdb.Exists(context.Background(), e.sessionKey(token)).Val(); n != 0 {
		t.Error("the session is still stored")
	}
	// The old cookie, kept by someone, opens nothing.
	cl.jar[sessionCookie] = &http.Cookie{Name: sessionCookie, Value: token}
	if r := cl.do(t, http.MethodGet, "/console/users", nil); r.StatusCode != http.StatusSeeOther {
		t.Errorf("old cookie after sign-out: %d, want 303 to sign in", r.StatusCode)
	}
}
