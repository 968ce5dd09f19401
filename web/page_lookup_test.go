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
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/trackd/trackd/templates"
	"github.com/trackd/trackd/tracking"
	"github.com/trackd/trackd/tracking/redistest"
)

// lookupStore is an in-memory Store holding orders by number. The lookup
// uses OrderByNumber and Order; any other method is a test bug and panics
// on the nil embedded interface.
type lookupStore struct {
	Store
	mu     sync.Mutex
	orders []tracking.Order
	fail   error
}

func (f *lookupStore) OrderByNumber(_ context.Context, number string) (tracking.Order, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return tracking.Order{}, f.fail
	}
	for _, o := range f.orders {
		if o.Number == strings.TrimSpace(number) {
			return o, nil
		}
	}
	return tracking.Order{}, fmt.Errorf("order number: %w", tracking.ErrNotFound)
}

func (f *lookupStore) Order(_ context.Context, id string) (tracking.Order, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, o := range f.orders {
		if o.ID == id {
			return o, nil
		}
	}
	return tracking.Order{}, fmt.Errorf("order %s: %w", id, tracking.ErrNotFound)
}

type lookupKeys struct{}

func (lookupKeys) Lookup(context.Context, string) (APIKey, error) { return APIKey{}, ErrUnknownKey }

var (
	lookupAda = tracking.Order{ID: "o_ada", Number: "A-1001", Token: "tokAda_-1",
		Customer: tracking.Customer{Name: "Ada", Email: "Ada.Lovelace@Example.com", PostalCode: "SW1A 1AA"}}
	lookupBob = tracking.Order{ID: "o_bob", Number: "B-2002", Token: "tokBob_-2",
		Customer: tracking.Customer{Name: "Bob", Email: "bob@example.org"}} // no postal code
)

func newLookupStore(orders ...tracking.Order) *lookupStore { return &lookupStore{orders: orders} }

func lookupTestConfig(t *testing.T) (Config, Deps) {
	cfg := DefaultConfig()
	cfg.KeyPrefix = redistest.Prefix(t)
	return cfg, Deps{
		Keys:     lookupKeys{},
		Ready:    func(context.Context) error { return nil },
		Registry: prometheus.NewRegistry(),
		Log:      slog.New(slog.DiscardHandler),
		Now:      func() time.Time { return time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC) },
	}
}

// newLookupApp is the whole app as New builds it, on rdb, under a key
// prefix of t's own (so limits start fresh).
func newLookupApp(t *testing.T, rdb redis.UniversalClient, store Store) *fiber.App {
	t.Helper()
	cfg, deps := lookupTestConfig(t)
	deps.Store, deps.Redis = store, rdb
	app, err := New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	return app
}

// newLookupAppByHeader serves only the lookup, limiting by the address in
// X-Forwarded-For, so one test can be many clients (app.Test's peer is
// always 0.0.0.0).
func newLookupAppByHeader(t *testing.T, rdb redis.UniversalClient, store Store) *fiber.App {
	t.Helper()
	cfg, deps := lookupTestConfig(t)
	deps.Store, deps.Redis = store, rdb
	lcfg := defaultLookupConfig()
	lcfg.ClientIP = func(c *fiber.Ctx) string { return c.Get(fiber.HeaderXForwardedFor) }
	app := fiber.New(fiber.Config{ErrorHandler: errorHandler(deps.Log)})
	(&Server{cfg: cfg, deps: deps}).mountLookup(app, lcfg)
	return app
}

type lookupResponse struct {
	status int
	header http.Header
	body   string
}

func lookupGet(t *testing.T, app *fiber.App, query string, header ...string) lookupResponse {
	t.Helper()
	target := "/track"
	if query != "" {
		target += "?" + query
	}
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := app.Test(req, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := lookupResponse{status: resp.StatusCode, header: resp.Header, body: string(body)}
	assertLookupHeaders(t, r)
	return r
}

func lookupQuery(order, contact string) string {
	return url.Values{"order": {order}, "contact": {contact}}.Encode()
}

// assertLookupHeaders checks what every answer of /track must say, whatever
// its status: the URL holds the contact, so nothing may cache or refer it.
func assertLookupHeaders(t *testing.T, r lookupResponse) {
	t.Helper()
	want := map[string]string{
		"Cache-Control":           "no-store",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
		"Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
	}
	for k, v := range want {
		if got := r.header.Get(k); got != v {
			t.Errorf("status %d: %s = %q, want %q", r.status, k, got, v)
		}
	}
	if r.status != fiber.StatusSeeOther && !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
		t.Errorf("status %d: Content-Type = %q, want text/html", r.status, r.header.Get("Content-Type"))
	}
}

func TestLookup_Answers(t *testing.T) {
	srv := redistest.Start(t)
	long := strings.Repeat("9", lookupMaxOrder+1)
	tests := []struct {
		name     string
		query    string
		status   int
		location string
		contains []string
	}{
		{"no query shows the form", "", 200, "", []string{`name="order"`, `name="contact"`, `method="get"`, `action="/track"`}},
		{"number and email", lookupQuery("A-1001", "Ada.Lovelace@Example.com"), 303, "/t/tokAda_-1", nil},
		{"email in another case, with spaces", lookupQuery("A-1001", "  ada.lovelace@EXAMPLE.com "), 303, "/t/tokAda_-1", nil},
		{"postal code without space, lower case", lookupQuery("A-1001", "sw1a1aa"), 303, "/t/tokAda_-1", nil},
		{"postal code, other spacing", lookupQuery("A-1001", " Sw1A  1aA "), 303, "/t/tokAda_-1", nil},
		{"number with spaces around", lookupQuery("  A-1001 ", "sw1a 1aa"), 303, "/t/tokAda_-1", nil},
		{"order without postal code, by email", lookupQuery("B-2002", "BOB@example.org"), 303, "/t/tokBob_-2", nil},
		{"wrong email", lookupQuery("A-1001", "eve@example.com"), 404, "", []string{"We couldn&#39;t find an order with those details."}},
		{"wrong postal code", lookupQuery("A-1001", "SW1A 2AA"), 404, "", []string{"We couldn&#39;t find an order with those details."}},
		{"another order's email", lookupQuery("A-1001", "bob@example.org"), 404, "", nil},
		{"partial email", lookupQuery("A-1001", "ada.lovelace"), 404, "", nil},
		{"unknown order", lookupQuery("Z-9999", "Ada.Lovelace@Example.com"), 404, "", []string{"We couldn&#39;t find an order with those details."}},
		{"unknown order, the stand-in email", lookupQuery("Z-9999", "nobody@invalid.invalid"), 404, "", nil},
		{"unknown order, the stand-in postal code", lookupQuery("Z-9999", "00000"), 404, "", nil},
		{"number in another case", lookupQuery("a-1001", "sw1a1aa"), 404, "", nil},
		{"both empty", lookupQuery("", ""), 400, "", []string{"Enter your order number.", "Enter the email address or postal code of the order.", `aria-invalid="true"`}},
		{"blank contact", lookupQuery("A-1001", "   "), 400, "", []string{"Enter the email address or postal code of the order.", `value="A-1001"`}},
		{"contact missing", "order=A-1001", 400, "", []string{"Enter the email address or postal code of the order."}},
		{"order missing", "contact=sw1a1aa", 400, "", []string{"Enter your order number."}},
		{"order too long", lookupQuery(long, "sw1a1aa"), 400, "", []string{"This order number is too long."}},
		{"contact too long", lookupQuery("A-1001", strings.Repeat("a", lookupMaxContact)+"@x"), 400, "", []string{"This is too long for an email address or postal code."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := newLookupApp(t, srv.Client(t), newLookupStore(lookupAda, lookupBob))
			r := lookupGet(t, app, tt.query)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d; body:\n%s", r.status, tt.status, r.body)
			}
			if got := r.header.Get("Location"); got != tt.location {
				t.Errorf("Location = %q, want %q", got, tt.location)
			}
			for _, s := range tt.contains {
				if !strings.Contains(r.body, s) {
					t.Errorf("body lacks %q:\n%s", s, r.body)
				}
			}
			if r.status == 400 && strings.Contains(r.body, "couldn&#39;t find") {
				t.Error("a 400 says the order was not found; nothing was looked up")
			}
		})
	}
}

// TestLookup_NotFoundIsUniform checks that "no such order" and "not its
// email or postal code" cannot be told apart: same status, headers, bytes.
func TestLookup_NotFoundIsUniform(t *testing.T) {
	srv := redistest.Start(t)
	for _, contact := range []string{"eve@example.com", "SW1A 2AA", "bob@example.org"} {
		t.Run(contact, func(t *testing.T) {
			q := lookupQuery("A-1001", contact)
			exists := lookupGet(t, newLookupApp(t, srv.Client(t), newLookupStore(lookupAda, lookupBob)), q, "Accept-Language", "fr")
			absent := lookupGet(t, newLookupApp(t, srv.Client(t), newLookupStore(lookupBob)), q, "Accept-Language", "fr")
			if exists.status != 404 || absent.status != 404 {
				t.Fatalf("statuses %d and %d, want 404", exists.status, absent.status)
			}
			if exists.body != absent.body {
				t.Errorf("bodies differ:\nwrong contact:\n%s\nno such order:\n%s", exists.body, absent.body)
			}
			for _, h := range []http.Header{exists.header, absent.header} {
				h.Del("Date")
			}
			if fmt.Sprint(exists.header) != fmt.Sprint(absent.header) {
				t.Errorf("headers differ:\n%v\n%v", exists.header, absent.header)
			}
		})
	}
}

// redisRecorder records the commands a client sends.
type redisRecorder struct {
	mu    sync.Mutex
	names []string
}

func (r *redisRecorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.names
	r.names = nil
	return n
}

func (r *redisRecorder) add(cmds ...redis.Cmder) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range cmds {
		r.names = append(r.names, c.Name())
	}
}

func (r *redisRecorder) DialHook(next redis.DialHook) redis.DialHook { return next }

func (r *redisRecorder) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { r.add(cmd); return next(ctx, cmd) }
}

func (r *redisRecorder) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { r.add(cmds...); return next(ctx, cmds) }
}

// TestLookup_SameRedisWork checks, on the real store, that an unknown order
// number costs the same Redis commands as a known one with the wrong
// contact: timing cannot tell which order numbers exist.
func TestLookup_SameRedisWork(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Start(t).Client(t)
	scfg := tracking.DefaultStoreConfig()
	scfg.Prefix = redistest.Prefix(t)
	store, err := tracking.NewStore(rdb, scfg)
	if err != nil {
		t.Fatal(err)
	}
	in := tracking.OrderInput{Number: "A-1001", Customer: tracking.Customer{Email: "ada@example.com", PostalCode: "SW1A 1AA"}}
	o, _, err := store.PutOrder(ctx, in, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	rec := &redisRecorder{}
	rdb.AddHook(rec)
	app := newLookupApp(t, rdb, store)

	lookupGet(t, app, lookupQuery("W-0", "warm@example.com")) // loads the script
	rec.take()

	wrong := lookupGet(t, app, lookupQuery("A-1001", "eve@example.com"))
	wrongCmds := rec.take()
	absent := lookupGet(t, app, lookupQuery("Z-9999", "eve@example.com"))
	absentCmds := rec.take()
	if wrong.status != 404 || absent.status != 404 {
		t.Fatalf("statuses %d and %d, want 404", wrong.status, absent.status)
	}
	if !slices.Equal(wrongCmds, absentCmds) {
		t.Errorf("wrong contact sent %q, unknown order sent %q", wrongCmds, absentCmds)
	}
	t.Logf("commands per lookup: %q", wrongCmds)

	right := lookupGet(t, app, lookupQuery("A-1001", "sw1a 1aa"))
	if right.status != 303 || right.header.Get("Location") != "/t/"+o.Token {
		t.Errorf("right contact: %d to %q, want 303 to /t/%s", right.status, right.header.Get("Location"), o.Token)
	}
}

func retryAfter(t *testing.T, r lookupResponse, most int) {
	t.Helper()
	n, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil || n < 1 || n > most {
		t.Errorf("Retry-After = %q, want 1..%d seconds", r.header.Get("Retry-After"), most)
	}
}

func TestLookup_LimitPerIP(t *testing.T) {
	app := newLookupApp(t, redistest.Start(t).Client(t), newLookupStore(lookupAda))
	// Different order numbers, so the per-order limit stays out of it.
	for i := range lookupsPerIP {
		if r := lookupGet(t, app, lookupQuery(fmt.Sprintf("X-%d", i), "eve@example.com")); r.status != 404 {
			t.Fatalf("attempt %d: status %d, want 404", i+1, r.status)
		}
	}
	for _, q := range []string{lookupQuery("X-99", "eve@example.com"), lookupQuery("A-1001", "sw1a1aa")} {
		r := lookupGet(t, app, q, "Accept-Language", "de")
		if r.status != 429 {
			t.Fatalf("%s after %d attempts: status %d, want 429", q, lookupsPerIP, r.status)
		}
		retryAfter(t, r, int(lookupIPWindow/time.Second))
		if !strings.Contains(r.body, "Zu viele Versuche.") {
			t.Errorf("429 page lacks the German message:\n%s", r.body)
		}
		if strings.Contains(r.body, "Bestellung mit diesen Angaben") {
			t.Error("429 page says whether the order exists")
		}
	}
	// Empty fields are answered before any limit: they cost no lookup.
	if r := lookupGet(t, app, lookupQuery("", "")); r.status != 400 {
		t.Errorf("empty fields while limited: status %d, want 400", r.status)
	}
}

func TestLookup_LimitPerOrderAcrossIPs(t *testing.T) {
	app := newLookupAppByHeader(t, redistest.Start(t).Client(t), newLookupStore(lookupAda, lookupBob))
	for i := range lookupsPerOrder {
		ip := fmt.Sprintf("198.51.100.%d", i+1)
		if r := lookupGet(t, app, lookupQuery("A-1001", "eve@example.com"), "X-Forwarded-For", ip); r.status != 404 {
			t.Fatalf("attempt %d from %s: status %d, want 404", i+1, ip, r.status)
		}
	}
	fresh := "198.51.100.200"
	for _, q := range []string{
		lookupQuery("A-1001", "sw1a1aa"),  // even the right contact: the limit comes first
		lookupQuery("a-1001 ", "sw1a1aa"), // case and spaces do not make a new budget
	} {
		r := lookupGet(t, app, q, "X-Forwarded-For", fresh)
		if r.status != 429 {
			t.Fatalf("%s from a fresh address: status %d, want 429", q, r.status)
		}
		retryAfter(t, r, int(lookupOrderWindow/time.Second))
		if !strings.Contains(r.body, "Too many attempts.") {
			t.Errorf("429 page lacks the message:\n%s", r.body)
		}
	}
	// The address is not blocked, only that order number.
	if r := lookupGet(t, app, lookupQuery("B-2002", "bob@example.org"), "X-Forwarded-For", fresh); r.status != 303 {
		t.Errorf("another order from the same address: status %d, want 303", r.status)
	}
}

func TestLookup_Unavailable(t *testing.T) {
	t.Run("redis down", func(t *testing.T) {
		srv := redistest.Start(t)
		app := newLookupApp(t, srv.Client(t), newLookupStore(lookupAda))
		srv.Stop()
		r := lookupGet(t, app, lookupQuery("A-1001", "sw1a1aa"))
		if r.status != 503 {
			t.Fatalf("status %d, want 503", r.status)
		}
		retryAfter(t, r, 60)
		if !strings.Contains(r.body, "Order lookup is unavailable right now.") {
			t.Errorf("body lacks the message:\n%s", r.body)
		}
		// The form is unaffected: it needs no Redis.
		if r := lookupGet(t, app, ""); r.status != 200 {
			t.Errorf("form while redis is down: status %d, want 200", r.status)
		}
	})
	t.Run("store fails", func(t *testing.T) {
		store := newLookupStore(lookupAda)
		store.fail = errors.New("read order number: connection reset")
		r := lookupGet(t, newLookupApp(t, redistest.Start(t).Client(t), store), lookupQuery("A-1001", "sw1a1aa"))
		if r.status != 503 {
			t.Fatalf("status %d, want 503", r.status)
		}
		retryAfter(t, r, 60)
	})
}

// lookupKeysShown are the messages the form shows; each must be translated.
var lookupKeysShown = []string{
	"lookup.title", "lookup.intro", "lookup.order.label", "lookup.order.hint", "lookup.contact.label",
	"lookup.contact.hint", "lookup.submit", "lookup.error.not_found", "lookup.error.rate_limited",
	"lookup.error.unavailable", "lookup.error.order_required", "lookup.error.order_too_long",
	"lookup.error.contact_required", "lookup.error.contact_too_long",
}

func TestLookup_Languages(t *testing.T) {
	srv := redistest.Start(t)
	tests := []struct {
		accept string
		lang   templates.Lang
		words  []string // literal, so a wrong catalog entry shows
	}{
		{"", templates.English, []string{"Order number", "Email or postal code", "Find my order"}},
		{"en-GB,en;q=0.8", templates.English, []string{"Order number", "Email or postal code", "Find my order"}},
		{"es-MX,es;q=0.9,en;q=0.5", templates.Spanish, []string{"Número de pedido", "Correo electrónico o código postal", "Buscar mi pedido"}},
		{"fr-CH, fr;q=0.9", templates.French, []string{"Numéro de commande", "E-mail ou code postal", "Trouver ma commande"}},
		{"de", templates.German, []string{"Bestellnummer", "E-Mail-Adresse oder Postleitzahl", "Bestellung finden"}},
	}
	for _, tt := range tests {
		t.Run(string(tt.lang)+"/"+tt.accept, func(t *testing.T) {
			app := newLookupApp(t, srv.Client(t), newLookupStore(lookupAda))
			form := lookupGet(t, app, "", "Accept-Language", tt.accept)
			if form.status != 200 {
				t.Fatalf("status %d, want 200", form.status)
			}
			if want := `<html lang="` + tt.lang.Code() + `">`; !strings.Contains(form.body, want) {
				t.Errorf("body lacks %s", want)
			}
			for _, w := range tt.words {
				if !strings.Contains(form.body, ">"+w+"<") {
					t.Errorf("form lacks %q:\n%s", w, form.body)
				}
			}
			for _, key := range []string{"lookup.title", "lookup.intro", "lookup.order.hint", "lookup.contact.hint"} {
				if w := html.EscapeString(tt.lang.T(key)); !strings.Contains(form.body, w) {
					t.Errorf("form lacks %s %q", key, w)
				}
			}
			nf := lookupGet(t, app, lookupQuery("Z-1", "x@example.com"), "Accept-Language", tt.accept)
			if w := html.EscapeString(tt.lang.T("lookup.error.not_found")); nf.status != 404 || !strings.Contains(nf.body, w) {
				t.Errorf("not found: status %d, body lacks %q", nf.status, w)
			}
		})
	}
	t.Run("every message is translated", func(t *testing.T) {
		for _, l := range []templates.Lang{templates.Spanish, templates.French, templates.German} {
			for _, key := range lookupKeysShown {
				if en, got := templates.English.T(key), l.T(key); got == key || en == key || got == en {
					t.Errorf("%s %s = %q (English %q): not translated", l, key, got, en)
				}
			}
		}
	})
}

func TestLookup_EscapesInput(t *testing.T) {
	app := newLookupApp(t, redistest.Start(t).Client(t), newLookupStore(lookupAda))
	order := `"><script>alert(1)</script>`
	contact := `' autofocus onfocus='alert(2)`
	r := lookupGet(t, app, lookupQuery(order, contact))
	if r.status != 404 {
		t.Fatalf("status %d, want 404", r.status)
	}
	for _, bad := range []string{"<script>alert(1)", `"><script>`, "' autofocus", "onfocus='"} {
		if strings.Contains(r.body, bad) {
			t.Errorf("body holds %q unescaped:\n%s", bad, r.body)
		}
	}
	for _, want := range []string{
		`value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"`,
		`value="&#39; autofocus onfocus=&#39;alert(2)"`,
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("body lacks %s:\n%s", want, r.body)
		}
	}
}

func TestLookup_CSPAllowsAnExternalLogo(t *testing.T) {
	if got, want := lookupCSP("https://cdn.example.com/logo.svg"), "; img-src 'self' https://cdn.example.com"; !strings.HasSuffix(got, want) {
		t.Errorf("CSP %q does not end with %q", got, want)
	}
	for _, logo := range []string{"", "/static/logo.svg", "javascript:alert(1)", "data:image/png;base64,AA"} {
		if got := lookupCSP(logo); strings.Contains(got, "img-src") {
			t.Errorf("logo %q: CSP %q has an img-src", logo, got)
		}
	}
}
