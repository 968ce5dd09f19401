package web

import (
	"context"
	"errors"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/trackd/trackd/console"
)

// admLastAudit is the newest audit entry.
func (e *admEnv) lastAudit(t *testing.T) console.Entry {
	t.Helper()
	entries, err := e.audit.List(context.Background(), 1)
	if err != nil || len(entries) != 1 {
		t.Fatalf("audit log: %v %v", entries, err)
	}
	return entries[0]
}

func TestConsoleUsers_Manage(t *testing.T) {
	e := newAdmEnv(t, nil)
	e.user(t, "ada@example.com", console.Admin)
	cl := e.signedIn(t, "ada@example.com")
	ctx := context.Background()
	create := func(email, name, role, password string) url.Values {
		return url.Values{"email": {email}, "name": {name}, "role": {role}, "password": {password}}
	}

	r := cl.post(t, "/console/users", create(" Mia@Example.com", "Mia <b>M</b>", "marketing", admPassword))
	if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/console/users?done=created") {
		t.Fatalf("create: %d to %q %s", r.StatusCode, r.Header.Get("Location"), r.body)
	}
	if a := e.lastAudit(t); a.Actor != "ada@example.com" || a.Action != "create user" || a.Target != "mia@example.com" || a.Detail != "role marketing" {
		t.Errorf("audit after create: %+v", a)
	}
	page := cl.do(t, http.MethodGet, r.Header.Get("Location"), nil)
	if page.StatusCode != http.StatusOK || !strings.Contains(page.body, "Added mia@example.com.") ||
		!strings.Contains(page.body, "Mia &lt;b&gt;M&lt;/b&gt;") || strings.Contains(page.body, "<b>M</b>") {
		t.Errorf("users page after create: %d; want the notice and the name, escaped", page.StatusCode)
	}
	if _, err := e.users.Authenticate(ctx, "mia@example.com", admPassword); err != nil {
		t.Errorf("the new user cannot sign in: %v", err)
	}

	refused := []struct {
		name string
		form url.Values
		code int
		msg  string
	}{
		{"existing email", create("MIA@example.com", "Mia again", "ops", admPassword), 409, "There is already a user mia@example.com."},
		{"short password", create("sam@example.com", "Sam", "ops", "short"), 400, "Password: must be at least 12 characters."},
		{"not an email", create("sam", "Sam", "ops", admPassword), 400, "Email: "},
		{"display name", create("Sam <sam@example.com>", "Sam", "ops", admPassword), 400, "Email: only the address"},
		{"unknown role", create("sam@example.com", "Sam", "root", admPassword), 400, "Role: "},
		{"long name", create("sam@example.com", strings.Repeat("s", 101), "ops", admPassword), 400, "Name: at most 100 characters."},
	}
	for _, tt := range refused {
		t.Run("create "+tt.name, func(t *testing.T) {
			r := cl.post(t, "/console/users", tt.form)
			if r.StatusCode != tt.code || !strings.Contains(html.UnescapeString(r.body), tt.msg) {
				t.Errorf("%d, want %d saying %q", r.StatusCode, tt.code, tt.msg)
			}
			if strings.Contains(r.body, admPassword) {
				t.Error("the refused form shows the password back")
			}
		})
	}
	if _, err := e.users.Get(ctx, "sam@example.com"); !errors.Is(err, console.ErrNotFound) {
		t.Errorf("sam: %v, want never created", err)
	}
	if u, _ := e.users.Get(ctx, "mia@example.com"); u.Name != "Mia <b>M</b>" || u.Role != console.Marketing {
		t.Errorf("mia %+v: want unchanged by the refused create", u)
	}

	// Role.
	if r := cl.post(t, "/console/users/role", url.Values{"email": {"mia@example.com"}, "role": {"ops"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("change role: %d %s", r.StatusCode, r.body)
	}
	if u, _ := e.users.Get(ctx, "mia@example.com"); u.Role != console.Ops {
		t.Errorf("role after change: %s, want ops", u.Role)
	}
	if a := e.lastAudit(t); a.Action != "change role" || a.Target != "mia@example.com" || a.Detail != "marketing → ops" {
		t.Errorf("audit after role change: %+v", a)
	}

	// Password.
	const newPassword = "a brand new passphrase"
	if r := cl.post(t, "/console/users/password", url.Values{"email": {"mia@example.com"}, "password": {"short"}}); r.StatusCode != http.StatusBadRequest {
		t.Errorf("short new password: %d, want 400", r.StatusCode)
	}
	if r := cl.post(t, "/console/users/password", url.Values{"email": {"mia@example.com"}, "password": {newPassword}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("reset password: %d %s", r.StatusCode, r.body)
	}
	if _, err := e.users.Authenticate(ctx, "mia@example.com", newPassword); err != nil {
		t.Errorf("new password: %v", err)
	}
	if _, err := e.users.Authenticate(ctx, "mia@example.com", admPassword); !errors.Is(err, console.ErrBadCredentials) {
		t.Errorf("old password: %v, want refused", err)
	}
	if u, _ := e.users.Get(ctx, "mia@example.com"); u.Role != console.Ops {
		t.Errorf("role after the password reset: %s, want ops still", u.Role)
	}
	if a := e.lastAudit(t); a.Action != "reset password" || a.Target != "mia@example.com" || strings.Contains(a.Detail, newPassword) {
		t.Errorf("audit after password reset: %+v", a)
	}

	// Self and strangers.
	for _, tt := range []struct {
		name, path string
		form       url.Values
		code       int
		msg        string
	}{
		{"demote self", "/console/users/role", url.Values{"email": {"ada@example.com"}, "role": {"ops"}}, 400, "You cannot take away your own admin role"},
		{"delete self", "/console/users/delete", url.Values{"email": {"ADA@example.com"}, "confirm": {"yes"}}, 400, "You cannot delete yourself"},
		{"delete unconfirmed", "/console/users/delete", url.Values{"email": {"mia@example.com"}}, 400, "Tick"},
		{"unknown user", "/console/users/role", url.Values{"email": {"nobody@example.com"}, "role": {"ops"}}, 404, "There is no user nobody@example.com."},
		{"no user", "/console/users/delete", url.Values{"confirm": {"yes"}}, 404, "There is no user"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := e.lastAudit(t)
			r := cl.post(t, tt.path, tt.form)
			if r.StatusCode != tt.code || !strings.Contains(r.body, tt.msg) {
				t.Errorf("%d, want %d saying %q", r.StatusCode, tt.code, tt.msg)
			}
			if after := e.lastAudit(t); after != before {
				t.Errorf("a refused change was audited: %+v", after)
			}
		})
	}
	if u, err := e.users.Get(ctx, "ada@example.com"); err != nil || u.Role != console.Admin {
		t.Errorf("ada %+v (%v): want an admin still", u, err)
	}

	// Delete: the user's session ends with them.
	mia := e.client()
	if r := mia.signIn(t, "mia@example.com", newPassword, "/console"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("mia signs in: %d", r.StatusCode)
	}
	if r := cl.post(t, "/console/users/delete", url.Values{"email": {"mia@example.com"}, "confirm": {"yes"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete: %d %s", r.StatusCode, r.body)
	}
	if _, err := e.users.Get(ctx, "mia@example.com"); !errors.Is(err, console.ErrNotFound) {
		t.Errorf("mia after delete: %v", err)
	}
	if a := e.lastAudit(t); a.Action != "delete user" || a.Target != "mia@example.com" {
		t.Errorf("audit after delete: %+v", a)
	}
	if r := mia.do(t, http.MethodGet, "/console/ops", nil); r.StatusCode != http.StatusSeeOther {
		t.Errorf("deleted user's session: %d, want 303 to sign in", r.StatusCode)
	}
	if page := cl.do(t, http.MethodGet, "/console/users", nil); strings.Contains(page.body, "mia@example.com") {
		t.Error("the users page still lists the deleted user")
	}
}

var admSecret = regexp.MustCompile(`<code id="secret">(tk_[A-Za-z0-9_-]{43})</code>`)

func TestConsoleAPIKeys_CreateListRevoke(t *testing.T) {
	e := newAdmEnv(t, nil)
	e.user(t, "ada@example.com", console.Admin)
	cl := e.signedIn(t, "ada@example.com")
	ctx := context.Background()
	api := func(method, path, secret string) int {
		t.Helper()
		r := e.client().do(t, method, path, nil, "Authorization", "Bearer "+secret)
		return r.StatusCode
	}

	r := cl.post(t, "/console/api-keys", url.Values{"name": {"OMS <prod>"}, "scope": {"read"}})
	m := admSecret.FindStringSubmatch(r.body)
	if r.StatusCode != http.StatusCreated || m == nil {
		t.Fatalf("create: %d, secret shown: %v\n%s", r.StatusCode, m != nil, r.body)
	}
	secret := m[1]
	if !strings.Contains(r.body, "OMS &lt;prod&gt;") || r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("result page: want the name escaped and Cache-Control no-store (got %q)", r.Header.Get("Cache-Control"))
	}
	a := e.lastAudit(t)
	if a.Action != "create API key" || a.Target != "OMS <prod>" || strings.Contains(a.Detail, secret) || !strings.Contains(a.Detail, "scope read") {
		t.Errorf("audit after create: %+v", a)
	}

	// The list shows it, never used, and never the secret.
	list := cl.do(t, http.MethodGet, "/console/api-keys", nil)
	if list.StatusCode != http.StatusOK || !strings.Contains(list.body, "OMS &lt;prod&gt;") || !strings.Contains(list.body, "never") {
		t.Errorf("list: %d; want the key, never used", list.StatusCode)
	}
	if strings.Contains(list.body, secret) || strings.Contains(list.body, secret[3:]) {
		t.Error("the list shows the secret")
	}
	// requireKey touches the key on use; the list shows when.
	used := time.Now().Add(48 * time.Hour).UTC()
	if err := e.keys.Touch(ctx, secret, used); err != nil {
		t.Fatal(err)
	}
	if list := cl.do(t, http.MethodGet, "/console/api-keys", nil); !strings.Contains(list.body, used.Format("2006-01-02 15:04 UTC")) {
		t.Error("the list does not show the last use")
	}

	// The key works with the merchant API, within its scope.
	if code := api(http.MethodGet, "/api/v1/carriers", secret); code != http.StatusOK {
		t.Errorf("GET /api/v1/carriers with the new read key: %d, want 200", code)
	}
	if code := api(http.MethodPost, "/api/v1/orders", secret); code != http.StatusForbidden {
		t.Errorf("POST /api/v1/orders with the read key: %d, want 403", code)
	}
	key, err := e.keys.Lookup(ctx, secret)
	if err != nil || key.Name != "OMS <prod>" || key.Scope != ScopeRead {
		t.Errorf("Lookup: %+v %v", key, err)
	}

	for _, tt := range []struct {
		name        string
		form        url.Values
		code        int
		msg         string
		createsNone bool
	}{
		{"admin scope", url.Values{"name": {"root"}, "scope": {"admin"}}, 400, "Scope: read or write.", true},
		{"no name", url.Values{"name": {"  "}, "scope": {"write"}}, 400, "Name: ", true},
		{"two lines", url.Values{"name": {"a\nb"}, "scope": {"write"}}, 400, "Name: ", true},
	} {
		t.Run("create "+tt.name, func(t *testing.T) {
			r := cl.post(t, "/console/api-keys", tt.form)
			if r.StatusCode != tt.code || !strings.Contains(r.body, tt.msg) || admSecret.MatchString(r.body) {
				t.Errorf("%d, want %d saying %q and no secret", r.StatusCode, tt.code, tt.msg)
			}
		})
	}
	keys, err := e.keys.List(ctx)
	if err != nil || len(keys) != 1 {
		t.Fatalf("keys %+v (%v): want the one", keys, err)
	}

	// Revoke.
	revoke := "/console/api-keys/" + keys[0].ID + "/revoke"
	if r := cl.post(t, revoke, url.Values{}); r.StatusCode != http.StatusBadRequest {
		t.Errorf("revoke unconfirmed: %d, want 400", r.StatusCode)
	}
	if r := cl.post(t, revoke, url.Values{"confirm": {"yes"}}); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/console/api-keys?done=revoked" {
		t.Fatalf("revoke: %d to %q", r.StatusCode, r.Header.Get("Location"))
	}
	if code := api(http.MethodGet, "/api/v1/carriers", secret); code != http.StatusUnauthorized {
		t.Errorf("the revoked key: %d, want 401", code)
	}
	if a := e.lastAudit(t); a.Action != "revoke API key" || a.Target != "OMS <prod>" {
		t.Errorf("audit after revoke: %+v", a)
	}
	if list := cl.do(t, http.MethodGet, "/console/api-keys?done=revoked", nil); strings.Contains(list.body, "OMS &lt;prod&gt;") || !strings.Contains(list.body, "Revoked the key.") {
		t.Error("the list after revoking: want the key gone and the notice")
	}
	if r := cl.post(t, revoke, url.Values{"confirm": {"yes"}}); r.StatusCode != http.StatusNotFound {
		t.Errorf("revoke again: %d, want 404", r.StatusCode)
	}
}

func TestConsoleAudit_NewestFirst(t *testing.T) {
	e := newAdmEnv(t, func(_ *Config, d *ConsoleDeps) { d.Admin.AuditLimit = 3 })
	e.user(t, "ada@example.com", console.Admin)
	cl := e.signedIn(t, "ada@example.com") // audited: sign in
	for _, email := range []string{"one@example.com", "two@example.com", "three@example.com"} {
		if r := cl.post(t, "/console/users", url.Values{"email": {email}, "role": {"ops"}, "password": {admPassword}}); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("create %s: %d", email, r.StatusCode)
		}
	}
	r := cl.do(t, http.MethodGet, "/console/audit", nil)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("audit page: %d", r.StatusCode)
	}
	three, two, one := strings.Index(r.body, "three@example.com"), strings.Index(r.body, "two@example.com"), strings.Index(r.body, "one@example.com")
	if three < 0 || two < three || one < two {
		t.Errorf("audit page order: three at %d, two at %d, one at %d; want newest first", three, two, one)
	}
	if strings.Contains(r.body, ">sign in<") {
		t.Error("the audit page shows more than its limit")
	}
	if !strings.Contains(r.body, ">create user<") || !strings.Contains(r.body, ">ada@example.com<") || !strings.Contains(r.body, " UTC</time>") {
		t.Error("the audit page does not say who did what when")
	}
}

// Needs requireKey to call keyToucher.Touch (web/auth.go).
func TestConsoleAPIKeys_LastUsedByRequests(t *testing.T) {
	e := newAdmEnv(t, nil)
	e.user(t, "ada@example.com", console.Admin)
	cl := e.signedIn(t, "ada@example.com")
	r := cl.post(t, "/console/api-keys", url.Values{"name": {"oms"}, "scope": {"read"}})
	m := admSecret.FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("create: %d", r.StatusCode)
	}
	before := time.Now().UTC().Truncate(time.Millisecond)
	if r := e.client().do(t, http.MethodGet, "/api/v1/carriers", nil, "Authorization", "Bearer "+m[1]); r.StatusCode != http.StatusOK {
		t.Fatalf("API request: %d", r.StatusCode)
	}
	keys, err := e.keys.List(context.Background())
	if err != nil || len(keys) != 1 || keys[0].LastUsed.Before(before) || keys[0].LastUsed.After(time.Now()) {
		t.Fatalf("keys %+v (%v): want last used by the request, after %v", keys, err, before)
	}
	if list := cl.do(t, http.MethodGet, "/console/api-keys", nil); !strings.Contains(list.body, keys[0].LastUsed.Format("2006-01-02 15:04 UTC")) {
		t.Error("the list does not show the last use")
	}
}
