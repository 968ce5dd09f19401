package web

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/andybalholm/brotli"
	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/trackd/trackd/static"
	"github.com/trackd/trackd/tracking"
)

var updateTrackingGolden = flag.Bool("update-tracking", false, "rewrite web/testdata/tracking_page.*.html")

// pageStore is an in-memory Store holding orders and shipment states.
type pageStore struct {
	mu        sync.Mutex
	orders    map[string]tracking.Order // by token
	shipments map[string]*tracking.Shipment
	lookups   []string // tokens OrderByToken was asked for
	fail      error    // when set, every read fails with it
}

func newPageStore() *pageStore {
	return &pageStore{orders: map[string]tracking.Order{}, shipments: map[string]*tracking.Shipment{}}
}

func (p *pageStore) add(o tracking.Order, shipments ...*tracking.Shipment) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.orders[o.Token] = o
	for _, sh := range shipments {
		p.shipments[sh.ID] = sh
	}
}

func (p *pageStore) Append(context.Context, string, []byte, string, time.Time) (string, error) {
	return "", fmt.Errorf("append: not in this fake")
}

func (p *pageStore) ChangeCarrier(context.Context, string, string, time.Time) (string, error) {
	return "", fmt.Errorf("change carrier: not in this fake")
}

func (p *pageStore) PutOrder(context.Context, tracking.OrderInput, time.Time) (tracking.Order, bool, error) {
	return tracking.Order{}, false, fmt.Errorf("put order: not in this fake")
}

func (p *pageStore) Order(_ context.Context, id string) (tracking.Order, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, o := range p.orders {
		if o.ID == id {
			return o, nil
		}
	}
	return tracking.Order{}, fmt.Errorf("order %s: %w", id, tracking.ErrNotFound)
}

func (p *pageStore) OrderByToken(_ context.Context, token string) (tracking.Order, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lookups = append(p.lookups, token)
	if p.fail != nil {
		return tracking.Order{}, fmt.Errorf("read token: %w", p.fail)
	}
	if o, ok := p.orders[token]; ok {
		return o, nil
	}
	return tracking.Order{}, fmt.Errorf("token: %w", tracking.ErrNotFound)
}

func (p *pageStore) OrderByNumber(_ context.Context, number string) (tracking.Order, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, o := range p.orders {
		if o.Number == number {
			return o, nil
		}
	}
	return tracking.Order{}, fmt.Errorf("order number: %w", tracking.ErrNotFound)
}

func (p *pageStore) Shipment(_ context.Context, id string, withEvents bool) (*tracking.Shipment, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	sh, ok := p.shipments[id]
	if !ok {
		return nil, fmt.Errorf("shipment %s: %w", id, tracking.ErrNotFound)
	}
	c := *sh
	if withEvents {
		c.Events = append([]tracking.Event(nil), sh.Events...)
	} else {
		c.Events = nil
	}
	return &c, nil
}

func (p *pageStore) EventsAfter(_ context.Context, id, cursor string) ([]tracking.Event, error) {
	sh, err := p.Shipment(context.Background(), id, true)
	if err != nil {
		return nil, err
	}
	var out []tracking.Event
	for _, e := range sh.Events {
		if e.Cursor > cursor {
			out = append(out, e)
		}
	}
	return out, nil
}

func (p *pageStore) tokensLookedUp() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.lookups...)
}

type noKeys struct{}

func (noKeys) Lookup(context.Context, string) (APIKey, error) { return APIKey{}, ErrUnknownKey }

// pageNow is the test's "now": 12 minutes after the UPS parcel's last scan.
var pageNow = time.Date(2026, 11, 25, 15, 12, 0, 0, time.UTC)

func newPageServer(t *testing.T, store *pageStore) *fiber.App {
	t.Helper()
	app, err := New(DefaultConfig(), Deps{
		Store:    store,
		Keys:     noKeys{},
		Redis:    redis.NewClient(&redis.Options{Addr: miniredis.RunT(t).Addr()}),
		Ready:    func(context.Context) error { return nil },
		Registry: prometheus.NewRegistry(),
		Log:      slog.New(slog.DiscardHandler),
		Now:      func() time.Time { return pageNow },
	})
	if err != nil {
		t.Fatal(err)
	}
	return app
}

const (
	testToken    = "Zm9vYmFyYmF6cXV4MTIzNA" // 22 characters of base64url
	unknownToken = "AAAAAAAAAAAAAAAAAAAAAA"
)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func ev(status tracking.Status, local, msg, city, region, country, cursor string) tracking.Event {
	l := at(local)
	return tracking.Event{Status: status, Message: msg, OccurredAt: l.UTC(), OccurredAtLocal: l,
		Location: tracking.Location{City: city, Region: region, Country: country}, Cursor: cursor,
		Raw: json.RawMessage(`{"raw":"carrier payload"}`)}
}

// shipmentState is a stored shipment with events oldest first, as the
// store returns them.
func shipmentState(carrier, number string, dir tracking.Direction, eta *tracking.ETA, events ...tracking.Event) *tracking.Shipment {
	sh := &tracking.Shipment{ID: tracking.ShipmentID(carrier, number), Carrier: carrier, TrackingNumber: number,
		Direction: dir, Status: tracking.StatusPending, EstimatedDelivery: eta, EventCount: len(events),
		CreatedAt: at("2026-11-22T12:00:00Z"), UpdatedAt: at("2026-11-22T12:00:00Z"), Events: events}
	if n := len(events); n > 0 {
		last := events[n-1]
		sh.Status, sh.StatusEvent, sh.Cursor = last.Status, &last, last.Cursor
		sh.UpdatedAt = last.OccurredAt
	}
	return sh
}

// fixtureOrder is a realistic order: a UPS parcel in transit, a delayed
// FedEx parcel whose estimate moved, a DHL return, and two items not
// shipped yet.
func fixtureOrder(locale string) (tracking.Order, []*tracking.Shipment) {
	ups := shipmentState("ups", "1Z999AA10123456784", tracking.Outbound, &tracking.ETA{First: "2026-11-27", Latest: "2026-11-27"},
		ev(tracking.StatusInfoReceived, "2026-11-23T09:00:00-05:00", "Shipper created a label", "Atlanta", "GA", "US", "1764000000000-0"),
		ev(tracking.StatusInTransit, "2026-11-24T20:00:00-05:00", "Departed from facility", "Atlanta", "GA", "US", "1764100000000-0"),
		ev(tracking.StatusInTransit, "2026-11-25T10:00:00-05:00", "Arrived at facility", "Louisville", "KY", "US", "1764200000000-0"),
	)
	ups.UpdatedAt = at("2026-11-25T15:00:00Z")
	fedex := shipmentState("fedex", "123456789012", tracking.Outbound, &tracking.ETA{First: "2026-11-20", Latest: "2026-11-24"},
		ev(tracking.StatusInTransit, "2026-11-19T08:30:00+01:00", "In transit", "Paris", "", "FR", "1763500000000-0"),
	)
	dhl := shipmentState("dhl", "JD014600003828163476", tracking.Return, nil,
		ev(tracking.StatusInTransit, "2026-11-24T14:00:00+01:00", "Shipment picked up", "Bonn", "NW", "DE", "1764050000000-0"),
	)
	o := tracking.Order{ID: "o_test1", Number: "1001-ABC", Token: testToken,
		Customer: tracking.Customer{Name: "Ada Shopper", Email: "ada@example.com", Phone: "+15555550100", PostalCode: "30301", Locale: locale},
		Items: []tracking.Item{
			{SKU: "SHOE-1", Name: "Trail running shoes", Quantity: 2},
			{SKU: "SOCK-3", Name: "Wool socks", Quantity: 3},
			{SKU: "BOTTLE", Name: "Water bottle", Quantity: 1},
			{SKU: "JACKET", Name: "Rain jacket", Quantity: 1},
		},
		Shipments: []tracking.ShipmentClaim{
			{ID: ups.ID, Carrier: "ups", TrackingNumber: ups.TrackingNumber, Direction: tracking.Outbound, Items: []tracking.ItemRef{{SKU: "SHOE-1", Quantity: 2}}},
			{ID: fedex.ID, Carrier: "fedex", TrackingNumber: fedex.TrackingNumber, Direction: tracking.Outbound, Items: []tracking.ItemRef{{SKU: "SOCK-3", Quantity: 3}}},
			{ID: dhl.ID, Carrier: "dhl", TrackingNumber: dhl.TrackingNumber, Direction: tracking.Return, Items: []tracking.ItemRef{{SKU: "SHOE-1", Quantity: 1}}},
		},
	}
	return o, []*tracking.Shipment{ups, fedex, dhl}
}

type pageResponse struct {
	status int
	header http.Header
	body   string
}

func get(t *testing.T, app *fiber.App, path string, header ...string) pageResponse {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return pageResponse{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func fixtureServer(t *testing.T, locale string) (*fiber.App, *pageStore) {
	t.Helper()
	store := newPageStore()
	o, shs := fixtureOrder(locale)
	store.add(o, shs...)
	return newPageServer(t, store), store
}

// section returns the HTML of the shipment section with id.
func section(t *testing.T, body, id string) string {
	t.Helper()
	i := strings.Index(body, `data-shipment-id="`+id+`"`)
	if i < 0 {
		t.Fatalf("no section for shipment %s", id)
	}
	j := strings.Index(body[i:], "</section>")
	return body[i : i+j]
}

func assertContains(t *testing.T, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("missing %q", w)
		}
	}
}

func assertInOrder(t *testing.T, body string, wants ...string) {
	t.Helper()
	last := -1
	for _, w := range wants {
		i := strings.Index(body, w)
		if i < 0 {
			t.Errorf("missing %q", w)
			return
		}
		if i < last {
			t.Errorf("%q comes before the previous one, want it after", w)
		}
		last = i
	}
}

func TestTrackingPage_Renders(t *testing.T) {
	app, _ := fixtureServer(t, "")
	r := get(t, app, "/t/"+testToken)
	if r.status != http.StatusOK {
		t.Fatalf("status %d, body %s", r.status, r.body)
	}
	o, shs := fixtureOrder("")
	ups, fedex, dhl := section(t, r.body, shs[0].ID), section(t, r.body, shs[1].ID), section(t, r.body, shs[2].ID)
	upsTimeline := ups[strings.Index(ups, "data-timeline"):]
	tests := []struct {
		name  string
		html  string
		wants []string
		check func(t *testing.T, html string, wants ...string)
	}{
		{"content type", r.header.Get("Content-Type"), []string{"text/html", "utf-8"}, assertContains},
		{"order number", r.body, []string{"<h1>Order " + o.Number + "</h1>", "<title>Order 1001-ABC · trackd</title>"}, assertContains},
		{"token and script hooks", r.body, []string{`data-token="` + testToken + `"`, `<script src="/static/live.js" defer>`,
			`<script id="i18n" type="application/json">`, `data-cursor="1764200000000-0"`, "data-timeline", "data-status=\"in_transit\"",
			"data-eta", "data-updated", `aria-live="polite"`}, assertContains},
		{"carrier link", ups, []string{"UPS", `<a href="https://www.ups.com/track?tracknum=1Z999AA10123456784" target="_blank" rel="noopener noreferrer">1Z999AA10123456784`}, assertContains},
		{"progress current step", ups, []string{`<li data-step="ordered" class="done">Ordered</li>`, `<li data-step="shipped" class="done">Shipped</li>`,
			`<li data-step="in_transit" aria-current="step" class="done now">In transit</li>`, `<li data-step="out_for_delivery">Out for delivery</li>`}, assertContains},
		{"timeline newest first in local time with offset", upsTimeline, []string{
			`<time datetime="2026-11-25T10:00:00-05:00">Nov 25, 2026, 10:00 AM (UTC−05:00)</time>`, "Arrived at facility",
			`Nov 24, 2026, 8:00 PM (UTC−05:00)`, "Departed from facility",
			`Nov 23, 2026, 9:00 AM (UTC−05:00)`, "Shipper created a label"}, assertInOrder},
		{"event location and status", ups, []string{`<b>In transit</b> <span>Arrived at facility</span> <span class="loc">Louisville, KY, US</span>`, "<b>Label created</b>"}, assertContains},
		{"last update relative", ups, []string{`<time datetime="2026-11-25T15:00:00Z">12 minutes ago</time>`}, assertContains},
		{"eta", ups, []string{"Estimated delivery", "Nov 27, 2026"}, assertContains},
		{"items per package", ups, []string{"Your package", "In this package", "2 ×</span> Trail running shoes"}, assertContains},
		{"second package", fedex, []string{"FedEx", "3 ×</span> Wool socks", "https://www.fedex.com/fedextrack/?trknbr=123456789012"}, assertContains},
		{"delayed badge", fedex, []string{`<span class="badge late" data-delayed>Delayed</span>`, "It is running later than expected."}, assertContains},
		{"later than first promised", fedex, []string{"Nov 24, 2026", "<small>Later than first promised (Nov 20, 2026)</small>"}, assertContains},
		{"event offset east of UTC", fedex, []string{"Nov 19, 2026, 8:30 AM (UTC+01:00)", `<span class="loc">Paris, FR</span>`}, assertContains},
		{"return labelled", dhl, []string{`data-direction="return"`, "Your return", "In this return", "1 ×</span> Trail running shoes", "Return started"}, assertContains},
		{"unshipped", r.body, []string{"Not shipped yet", "1 ×</span> Water bottle", "1 ×</span> Rain jacket"}, assertContains},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.check(t, tt.html, tt.wants...) })
	}
	t.Run("not delayed hides badge", func(t *testing.T) {
		assertContains(t, ups, `<span class="badge late" data-delayed hidden>`)
	})
	t.Run("no later note when estimate kept", func(t *testing.T) {
		if strings.Contains(ups, "Later than first promised") {
			t.Error("UPS estimate did not move, but the page says it is later")
		}
	})
	t.Run("no customer data", func(t *testing.T) {
		for _, s := range []string{"ada@example.com", "Ada Shopper", "+15555550100", "30301", "carrier payload"} {
			if strings.Contains(r.body, s) {
				t.Errorf("page shows %q", s)
			}
		}
	})
}

func TestTrackingPage_Headers(t *testing.T) {
	app, _ := fixtureServer(t, "")
	for _, path := range []string{"/t/" + testToken, "/t/" + unknownToken, "/t/short", "/t/" + testToken + ".json", "/t/" + unknownToken + ".json"} {
		t.Run(path, func(t *testing.T) {
			r := get(t, app, path)
			want := map[string]string{
				"Cache-Control":           "no-store",
				"Content-Security-Policy": pageCSP,
				"X-Content-Type-Options":  "nosniff",
				"Referrer-Policy":         "no-referrer",
			}
			for k, v := range want {
				if got := r.header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
				t.Errorf("CSP %q", csp)
			}
		})
	}
}

func TestTrackingPage_Languages(t *testing.T) {
	tests := []struct {
		lang, accept string
		wants        []string
	}{
		{"en", "en-US,en;q=0.9", []string{`<html lang="en">`, "Order 1001-ABC", "Estimated delivery", "Nov 25, 2026, 10:00 AM (UTC−05:00)",
			"12 minutes ago", "Not shipped yet", "Later than first promised (Nov 20, 2026)", "Package 1 of 2", "Your return", "Delayed"}},
		{"es", "es-ES,es;q=0.9", []string{`<html lang="es">`, "Pedido 1001-ABC", "Entrega estimada", "25 nov 2026, 10:00 (UTC−05:00)",
			"hace 12 minutos", "Pendiente de envío", "Más tarde de lo prometido inicialmente (20 nov 2026)", "Paquete 1 de 2", "Tu devolución", "Con retraso", "En tránsito"}},
		{"fr", "fr-FR,fr;q=0.9", []string{`<html lang="fr">`, "Commande 1001-ABC", "Livraison estimée", "25 nov. 2026, 10:00 (UTC−05:00)",
			"il y a 12 minutes", "Pas encore expédié", "Plus tard que la date promise initialement (20 nov. 2026)", "Colis 1 sur 2", "Votre retour", "En retard"}},
		{"de", "de-DE,de;q=0.9", []string{`<html lang="de">`, "Bestellung 1001-ABC", "Voraussichtliche Zustellung", "25. Nov. 2026, 10:00 (UTC−05:00)",
			"vor 12 Minuten", "Noch nicht versandt", "Später als ursprünglich zugesagt (20. Nov. 2026)", "Paket 1 von 2", "Ihre Rücksendung", "Verspätet", "Unterwegs"}},
	}
	app, _ := fixtureServer(t, "")
	for _, tt := range tests {
		t.Run(tt.lang, func(t *testing.T) {
			r := get(t, app, "/t/"+testToken, "Accept-Language", tt.accept)
			if r.status != http.StatusOK {
				t.Fatalf("status %d", r.status)
			}
			assertContains(t, r.body, tt.wants...)
			if tt.lang != "en" {
				for _, en := range []string{"Estimated delivery", "Not shipped yet", "minutes ago", "Tracking history"} {
					if strings.Contains(r.body, en) {
						t.Errorf("%s page has English %q", tt.lang, en)
					}
				}
			}
			golden(t, "tracking_page."+tt.lang+".html", r.body)
		})
	}
}

// golden compares got with testdata/name, or rewrites it with -update-tracking.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *updateTrackingGolden {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./web -run TestTrackingPage -update-tracking to create it)", err)
	}
	if string(want) != got {
		t.Errorf("page differs from %s (review, then rerun with -update-tracking):\n%s", path, firstDiff(string(want), got))
	}
}

func firstDiff(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	from := max(0, i-80)
	return fmt.Sprintf("want …%s…\n got …%s…", a[from:min(len(a), i+80)], b[from:min(len(b), i+80)])
}

func TestTrackingPage_LanguageChoice(t *testing.T) {
	tests := []struct {
		name, locale, accept, want string
	}{
		{"no header falls back to English", "", "", "en"},
		{"unsupported language falls back to English", "", "ja-JP,ja;q=0.9", "en"},
		{"regional variant matches", "", "de-AT", "de"},
		{"first supported in preference order", "", "ja;q=1, fr;q=0.8, es;q=0.5", "fr"},
		{"customer locale wins over header", "es-MX", "de-DE,de;q=0.9", "es"},
		{"unsupported customer locale falls to header", "ja-JP", "fr-CA", "fr"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app, _ := fixtureServer(t, tt.locale)
			r := get(t, app, "/t/"+testToken, "Accept-Language", tt.accept)
			assertContains(t, r.body, `<html lang="`+tt.want+`">`, `"lang":"`+tt.want+`"`)
		})
	}
}

func TestTrackingPage_Statuses(t *testing.T) {
	tests := []struct {
		status      tracking.Status
		step, tone  string
		label, desc string
	}{
		{tracking.StatusInfoReceived, "shipped", "", "Label created", "A shipping label has been created."},
		{tracking.StatusOutForDelivery, "out_for_delivery", "", "Out for delivery", "out for delivery today"},
		{tracking.StatusFailedAttempt, "out_for_delivery", "warn", "Delivery attempt failed", "tried to deliver"},
		{tracking.StatusAvailableForPickup, "out_for_delivery", "warn", "Ready for pickup", "pickup point"},
		{tracking.StatusDelivered, "delivered", "ok", "Delivered", "has been delivered"},
		{tracking.StatusException, "in_transit", "bad", "Delivery problem", "There is a problem"},
		{tracking.StatusReturning, "in_transit", "bad", "Returning to sender", "being sent back"},
		{tracking.StatusReturned, "in_transit", "bad", "Returned to sender", "has been returned"},
		{tracking.StatusExpired, "in_transit", "bad", "Tracking expired", "no longer provides updates"},
	}
	for _, tt := range tests {
		t.Run(string(tt.status), func(t *testing.T) {
			sh := shipmentState("ups", "1Z999AA10123456784", tracking.Outbound, nil,
				ev(tracking.StatusInTransit, "2026-11-24T20:00:00-05:00", "Departed", "Atlanta", "GA", "US", "1764100000000-0"),
				ev(tt.status, "2026-11-25T10:00:00-05:00", "Carrier says so", "Louisville", "KY", "US", "1764200000000-0"))
			store := newPageStore()
			store.add(tracking.Order{ID: "o_1", Number: "42", Token: testToken, Shipments: []tracking.ShipmentClaim{
				{ID: sh.ID, Carrier: "ups", TrackingNumber: sh.TrackingNumber, Direction: tracking.Outbound}}}, sh)
			r := get(t, newPageServer(t, store), "/t/"+testToken)
			s := section(t, r.body, sh.ID)
			assertContains(t, s, `data-tone="`+tt.tone+`"`, `<span class="badge st" data-status="`+string(tt.status)+`">`+tt.label+`</span>`,
				`<li data-step="`+tt.step+`" aria-current="step"`, tt.desc)
			if n := strings.Count(s, `aria-current="step"`); n != 1 {
				t.Errorf("%d steps are current, want 1", n)
			}
		})
	}
}

func TestTrackingPage_NoShipmentsYet(t *testing.T) {
	store := newPageStore()
	store.add(tracking.Order{ID: "o_1", Number: "42", Token: testToken,
		Items: []tracking.Item{{SKU: "A", Name: "Lamp", Quantity: 1200}}, Shipments: []tracking.ShipmentClaim{}})
	app := newPageServer(t, store)
	r := get(t, app, "/t/"+testToken)
	assertContains(t, r.body, "being prepared", "Not shipped yet", "1,200 ×</span> Lamp")
	r = get(t, app, "/t/"+testToken, "Accept-Language", "de")
	assertContains(t, r.body, "1.200 ×</span> Lamp")
}

func TestTrackingPage_EscapesCarrierText(t *testing.T) {
	sh := shipmentState("ups", "1Z999AA10123456784", tracking.Outbound, nil,
		ev(tracking.StatusInTransit, "2026-11-25T10:00:00-05:00", "<script>alert(1)</script>", `"><img src=x onerror=alert(1)>`, "KY", "US", "1764200000000-0"))
	store := newPageStore()
	store.add(tracking.Order{ID: "o_1", Number: `<b>42</b>`, Token: testToken,
		Items:     []tracking.Item{{SKU: "A", Name: `<img src=x onerror=alert(2)>`, Quantity: 1}},
		Shipments: []tracking.ShipmentClaim{{ID: sh.ID, Carrier: "ups", TrackingNumber: sh.TrackingNumber, Direction: tracking.Outbound, Items: []tracking.ItemRef{{SKU: "A", Quantity: 1}}}}}, sh)
	r := get(t, newPageServer(t, store), "/t/"+testToken)
	for _, bad := range []string{"<script>alert", "<img src=x", "<b>42</b>", `"><img`} {
		if strings.Contains(r.body, bad) {
			t.Errorf("page contains raw %q", bad)
		}
	}
	assertContains(t, r.body, "&lt;script&gt;alert(1)&lt;/script&gt;", "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;", "&lt;b&gt;42&lt;/b&gt;")
}

func TestTrackingPage_NotFound(t *testing.T) {
	tests := []struct {
		name, path, accept string
		wants              []string
	}{
		{"unknown token", "/t/" + unknownToken, "", []string{`<html lang="en">`, "Tracking link not found", `href="/track"`}},
		{"malformed token", "/t/not-a-token", "", []string{"Tracking link not found"}},
		{"too long token", "/t/" + testToken + "A", "", []string{"Tracking link not found"}},
		{"token with bad characters", "/t/" + strings.Repeat("%2B", 22), "", []string{"Tracking link not found"}},
		{"localized", "/t/" + unknownToken, "fr-FR,fr;q=0.8", []string{`<html lang="fr">`, "Lien de suivi introuvable"}},
		{"localized german", "/t/nope", "de", []string{`<html lang="de">`, "Sendungsverfolgung nicht gefunden"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app, store := fixtureServer(t, "")
			r := get(t, app, tt.path, "Accept-Language", tt.accept)
			if r.status != http.StatusNotFound {
				t.Errorf("status %d, want 404", r.status)
			}
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Errorf("content type %q", ct)
			}
			assertContains(t, r.body, tt.wants...)
			if strings.Contains(r.body, "live.js") || strings.Contains(r.body, "data-token") {
				t.Error("404 page loads the live script")
			}
			// The store is asked either way, so timing does not tell a
			// malformed token from an unknown one.
			if n := len(store.tokensLookedUp()); n != 1 {
				t.Errorf("%d token lookups, want 1", n)
			}
		})
	}
}

func TestTrackingPage_JSON(t *testing.T) {
	app, _ := fixtureServer(t, "de-DE")
	r := get(t, app, "/t/"+testToken+".json")
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("content type %q", ct)
	}
	var got struct {
		Type      string                    `json:"type"`
		Number    string                    `json:"number"`
		Locale    string                    `json:"locale"`
		Items     []tracking.PublicItem     `json:"items"`
		Unshipped []tracking.PublicItem     `json:"unshipped"`
		Shipments []tracking.PublicShipment `json:"shipments"`
	}
	if err := json.Unmarshal([]byte(r.body), &got); err != nil {
		t.Fatal(err)
	}
	if got.Type != "snapshot" || got.Number != "1001-ABC" || len(got.Items) != 4 || len(got.Unshipped) != 2 || len(got.Shipments) != 3 {
		t.Errorf("snapshot %+v", got)
	}
	ups := got.Shipments[0]
	if ups.Cursor != "1764200000000-0" || len(ups.Events) != 3 || ups.Events[0].Message != "Arrived at facility" || ups.Status != tracking.StatusInTransit {
		t.Errorf("ups %+v", ups)
	}
	if !got.Shipments[1].Delayed {
		t.Error("fedex not delayed")
	}
	if !strings.HasPrefix(r.body, `{"type":"snapshot",`) {
		t.Errorf("body starts %.40s", r.body)
	}
	for _, s := range []string{"ada@example.com", "Ada Shopper", "+15555550100", "30301", "email", "raw"} {
		if strings.Contains(r.body, s) {
			t.Errorf("snapshot shows %q", s)
		}
	}

	r = get(t, app, "/t/"+unknownToken+".json")
	if r.status != http.StatusNotFound || !strings.Contains(r.body, `"error":"not found"`) || !strings.Contains(r.body, `"status":404`) {
		t.Errorf("unknown token: %d %s", r.status, r.body)
	}
	r = get(t, app, "/t/bad.json")
	if r.status != http.StatusNotFound || !strings.Contains(r.body, `"error":"not found"`) || !strings.Contains(r.body, `"status":404`) {
		t.Errorf("malformed token: %d %s", r.status, r.body)
	}
}

func TestTrackingPage_RoutesPageAndJSON(t *testing.T) {
	app, store := fixtureServer(t, "")
	tests := []struct {
		path, contentType string
	}{
		{"/t/" + testToken, "text/html"},
		{"/t/" + testToken + ".json", "application/json"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			r := get(t, app, tt.path)
			if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), tt.contentType) {
				t.Errorf("status %d, content type %q", r.status, r.header.Get("Content-Type"))
			}
		})
	}
	for _, tok := range store.tokensLookedUp() {
		if tok != testToken {
			t.Errorf("store asked for token %q, want %q", tok, testToken)
		}
	}
}

func TestTrackingPage_Compressed(t *testing.T) {
	app, _ := fixtureServer(t, "")
	decoders := map[string]func(io.Reader) (io.Reader, error){
		"gzip": func(r io.Reader) (io.Reader, error) { return gzip.NewReader(r) },
		"br":   func(r io.Reader) (io.Reader, error) { return brotli.NewReader(r), nil },
	}
	tests := []struct {
		name, path, encoding string
		status               int
	}{
		{"page gzip", "/t/" + testToken, "gzip", http.StatusOK},
		{"page br", "/t/" + testToken, "br", http.StatusOK},
		{"json gzip", "/t/" + testToken + ".json", "gzip", http.StatusOK},
		{"not found page br", "/t/" + unknownToken, "br", http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plain := get(t, app, tt.path).body
			r := get(t, app, tt.path, "Accept-Encoding", tt.encoding)
			if r.status != tt.status {
				t.Errorf("status %d, want %d", r.status, tt.status)
			}
			if got := r.header.Get("Content-Encoding"); got != tt.encoding {
				t.Fatalf("Content-Encoding %q, want %q", got, tt.encoding)
			}
			if !strings.Contains(r.header.Get("Vary"), "Accept-Encoding") {
				t.Errorf("Vary %q", r.header.Get("Vary"))
			}
			// At the fastest level a 700-byte page shrinks by about a quarter.
			if len(r.body) >= len(plain)*3/4 {
				t.Errorf("compressed %d bytes of %d", len(r.body), len(plain))
			}
			dr, err := decoders[tt.encoding](strings.NewReader(r.body))
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(dr)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != plain {
				t.Error("decompressed body differs from the plain one")
			}
		})
	}
}

// TestTrackingPage_Budget checks a realistic page (three packages of twenty
// scans each) with its CSS and script stays under 50 KB, and the script
// under 8 KB.
func TestTrackingPage_Budget(t *testing.T) {
	messages := []string{"Arrived at facility", "Departed from facility", "In transit to next facility", "Processing at UPS facility",
		"Origin scan", "Loaded on delivery vehicle", "Your package is on the way, arriving on time"}
	places := [][3]string{{"Louisville", "KY", "US"}, {"Hodgkins", "IL", "US"}, {"Philadelphia", "PA", "US"}, {"Ontario", "CA", "US"}}
	store := newPageStore()
	o := tracking.Order{ID: "o_big", Number: "W2026-000123456", Token: testToken}
	var states []*tracking.Shipment
	for s, carrier := range []string{"ups", "fedex", "usps"} {
		number := fmt.Sprintf("1Z999AA1012345678%d", s)
		var events []tracking.Event
		for i := range 20 {
			p := places[i%len(places)]
			local := time.Date(2026, 11, 20, 6, 0, 0, 0, time.FixedZone("", -5*3600)).Add(time.Duration(i) * 3 * time.Hour)
			e := ev(tracking.StatusInTransit, local.Format(time.RFC3339), messages[i%len(messages)], p[0], p[1], p[2],
				fmt.Sprintf("%d-0", local.UnixMilli()))
			events = append(events, e)
		}
		sh := shipmentState(carrier, number, tracking.Outbound, &tracking.ETA{First: "2026-11-26", Latest: "2026-11-28"}, events...)
		states = append(states, sh)
		sku := fmt.Sprintf("SKU-%d", s)
		o.Items = append(o.Items, tracking.Item{SKU: sku, Name: "Insulated stainless steel water bottle, 750 ml", Quantity: 2})
		o.Shipments = append(o.Shipments, tracking.ShipmentClaim{ID: sh.ID, Carrier: carrier, TrackingNumber: number,
			Direction: tracking.Outbound, Items: []tracking.ItemRef{{SKU: sku, Quantity: 2}}})
	}
	store.add(o, states...)
	page := get(t, newPageServer(t, store), "/t/"+testToken, "Accept-Language", "fr").body
	if n := strings.Count(page, "<li data-at="); n != 60 {
		t.Fatalf("%d events on the page, want 60", n)
	}
	size := func(name string) int {
		b, err := fs.ReadFile(static.Files, name)
		if err != nil {
			t.Fatal(err)
		}
		return len(b)
	}
	css, js := size("app.css"), size("live.js")
	total := len(page) + css + js
	t.Logf("page %d + app.css %d + live.js %d = %d bytes", len(page), css, js, total)
	if total >= 50*1024 {
		t.Errorf("page, CSS and script are %d bytes, over the 50 KB budget", total)
	}
	// 10 KB unminified (about 3.7 KB gzipped, as /static serves it) since
	// the script also keeps the order's status line live.
	if js >= 10*1024 {
		t.Errorf("live.js is %d bytes, over 10 KB", js)
	}
	// No third-party requests: every src and href is local, except the
	// carrier links people follow themselves.
	for _, m := range regexp.MustCompile(`(?:src|href)="([^"]*)"`).FindAllStringSubmatch(page, -1) {
		u := m[1]
		if strings.HasPrefix(u, "/") || u == "data:," || strings.Contains(m[0], "href") && isCarrierLink(u) {
			continue
		}
		t.Errorf("third-party reference %q", m[0])
	}
}

func isCarrierLink(u string) bool {
	for _, p := range []string{"https://www.ups.com/", "https://www.fedex.com/", "https://tools.usps.com/", "https://www.dhl.com/"} {
		if strings.HasPrefix(u, p) {
			return true
		}
	}
	return false
}

func TestTrackingPage_StoreError(t *testing.T) {
	store := newPageStore()
	o, shs := fixtureOrder("")
	store.add(o, shs...)
	store.fail = errors.New("connection refused")
	r := get(t, newPageServer(t, store), "/t/"+testToken)
	// An outage is not a missing order: no friendly 404 that would make
	// the shopper think the link is wrong.
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
		t.Errorf("status %d, Retry-After %q, want 503 with Retry-After", r.status, r.header.Get("Retry-After"))
	}
}
