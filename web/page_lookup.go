package web

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"
	"github.com/trackd/trackd/templates"
	"github.com/trackd/trackd/tracking"
)

// Rate limits of the order lookup. The contact (email or postal code) is a
// weak secret, a postal code especially, so what protects an order is how
// few guesses anyone gets.
const (
	// lookupsPerIP per lookupIPWindow from one client address: a shopper who
	// mistypes a few times never meets it; someone enumerating order numbers
	// or contacts gets one try a minute.
	lookupsPerIP   = 10
	lookupIPWindow = 10 * time.Minute
	// lookupsPerOrder per lookupOrderWindow for one order number, from all
	// addresses together: guessing one order's email or postal code from a
	// thousand addresses is no faster than from one. Lower than per address,
	// since an honest shopper needs one or two tries for their order.
	lookupsPerOrder   = 5
	lookupOrderWindow = 10 * time.Minute

	// lookupMaxOrder is the longest order number, as the merchant API
	// accepts them (tracking.OrderInput.Validate).
	lookupMaxOrder = 128
	// lookupMaxContact is the longest email address SMTP allows (RFC 5321);
	// postal codes are far shorter.
	lookupMaxContact = 254

	// lookupAbsentOrder is an order id that cannot exist (ids are base32,
	// which has no 0 or 1): read when an order number is unknown, so that a
	// miss costs the same Redis round trips as a hit.
	lookupAbsentOrder = "o_00000000000000000000000000"
)

// lookupConfig tunes GET /track; defaultLookupConfig says why each default.
type lookupConfig struct {
	PerIP          int
	PerIPWindow    time.Duration
	PerOrder       int
	PerOrderWindow time.Duration
	// Timeout bounds the Redis work of one lookup; past it the shopper gets
	// the "try again" page rather than a hanging one.
	Timeout time.Duration
	// ClientIP is the address a request is limited by. Fiber's c.IP() is the
	// TCP peer (or Fiber's ProxyHeader, when the server trusts a proxy).
	ClientIP func(*fiber.Ctx) string
}

func defaultLookupConfig() lookupConfig {
	return lookupConfig{
		PerIP:          lookupsPerIP,
		PerIPWindow:    lookupIPWindow,
		PerOrder:       lookupsPerOrder,
		PerOrderWindow: lookupOrderWindow,
		Timeout:        3 * time.Second, // a healthy Redis answers in milliseconds
		ClientIP:       func(c *fiber.Ctx) string { return c.IP() },
	}
}

// lookupRoutes serves GET /track: find an order by number and email or
// postal code.
func (s *Server) lookupRoutes(r fiber.Router) {
	s.mountLookup(r, defaultLookupConfig())
}

func (s *Server) mountLookup(r fiber.Router, cfg lookupConfig) {
	h := &lookupHandler{
		s:       s,
		cfg:     cfg,
		byIP:    newRedisLimiter(s.deps.Redis, s.cfg.KeyPrefix, "lookup_ip", cfg.PerIP, cfg.PerIPWindow),
		byOrder: newRedisLimiter(s.deps.Redis, s.cfg.KeyPrefix, "lookup_order", cfg.PerOrder, cfg.PerOrderWindow),
	}
	r.Get("/track", h.serve)
}

// lookupBrandLocal carries the request's brand from serve to the page.
const lookupBrandLocal = "trackd.lookup_brand"

type lookupHandler struct {
	s       *Server
	cfg     lookupConfig
	byIP    *redisLimiter
	byOrder *redisLimiter
}

// lookupCSP is the page's Content-Security-Policy: nothing but its own
// stylesheet (and the layout's inline brand colours), forms only to
// trackd, never framed. A logo on another origin is allowed as an image.
func lookupCSP(logoURL string) string {
	csp := "default-src 'self'; style-src 'self' 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
	if u, err := url.Parse(logoURL); err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" {
		csp += "; img-src 'self' " + u.Scheme + "://" + u.Host
	}
	return csp
}

// serve shows the lookup form and, given ?order=&contact=, looks the order
// up. The form uses GET: a lookup changes nothing, so it needs no CSRF token,
// and the shopper can bookmark or reload it. The contact then sits in the
// URL, which is why every answer says Referrer-Policy: no-referrer and
// Cache-Control: no-store.
func (h *lookupHandler) serve(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderReferrerPolicy, "no-referrer")
	// The brand is the console's to change: read per request (cached).
	brand := templates.Brand(h.s.CurrentBrand(c.UserContext()))
	c.Locals(lookupBrandLocal, brand)
	c.Set(fiber.HeaderContentSecurityPolicy, lookupCSP(brand.LogoURL))

	args := c.Context().QueryArgs()
	p := templates.LookupProps{
		Lang:       templates.PickLang("", c.Get(fiber.HeaderAcceptLanguage)),
		MaxOrder:   lookupMaxOrder,
		MaxContact: lookupMaxContact,
	}
	if !args.Has("order") && !args.Has("contact") {
		return h.render(c, fiber.StatusOK, p)
	}
	// Copied: Fiber reuses the request's buffers once the handler returns.
	p.Order = strings.Clone(strings.TrimSpace(c.Query("order")))
	p.Contact = strings.Clone(strings.TrimSpace(c.Query("contact")))
	switch {
	case p.Order == "":
		p.OrderError = "lookup.error.order_required"
	case len(p.Order) > lookupMaxOrder:
		p.OrderError = "lookup.error.order_too_long"
	}
	switch {
	case p.Contact == "":
		p.ContactError = "lookup.error.contact_required"
	case len(p.Contact) > lookupMaxContact:
		p.ContactError = "lookup.error.contact_too_long"
	}
	if p.OrderError != "" || p.ContactError != "" {
		return h.render(c, fiber.StatusBadRequest, p)
	}

	ctx, cancel := context.WithTimeout(c.UserContext(), h.cfg.Timeout)
	defer cancel()
	ok, retry, err := h.byIP.Allow(ctx, h.cfg.ClientIP(c))
	if err == nil && ok {
		// Order numbers differ by case only in typos; one budget for all.
		ok, retry, err = h.byOrder.Allow(ctx, strings.ToLower(p.Order))
	}
	if err != nil {
		return h.unavailable(c, p, err)
	}
	if !ok {
		c.Set(fiber.HeaderRetryAfter, strconv.FormatInt(int64((retry+time.Second-1)/time.Second), 10))
		p.Message = "lookup.error.rate_limited"
		return h.render(c, fiber.StatusTooManyRequests, p)
	}

	o, found, err := h.find(ctx, p.Order)
	if err != nil {
		return h.unavailable(c, p, err)
	}
	if contactMatches(p.Contact, o.Customer) && found {
		return c.Redirect("/t/"+url.PathEscape(o.Token), fiber.StatusSeeOther)
	}
	// One answer for "no such order" and "not its email or postal code", so
	// the form tells nobody which order numbers exist.
	p.Message = "lookup.error.not_found"
	return h.render(c, fiber.StatusNotFound, p)
}

// find reads the order with number, doing the same Redis work whether it
// exists or not: the store reads an order in two round trips (number index,
// then the order), a missing one in one, so a miss reads an order id that
// cannot exist. A miss returns a stand-in customer, for the same comparisons
// as a hit; found=false keeps it from ever matching, whatever was typed.
func (h *lookupHandler) find(ctx context.Context, number string) (o tracking.Order, found bool, err error) {
	store := h.s.deps.Store
	o, err = store.OrderByNumber(ctx, number)
	if err == nil {
		return o, true, nil
	}
	if !errors.Is(err, tracking.ErrNotFound) {
		return tracking.Order{}, false, err
	}
	if _, err := store.Order(ctx, lookupAbsentOrder); err != nil && !errors.Is(err, tracking.ErrNotFound) {
		return tracking.Order{}, false, err
	}
	return tracking.Order{Customer: tracking.Customer{Email: "nobody@invalid.invalid", PostalCode: "00000"}}, false, nil
}

// contactMatches reports whether contact is the customer's email (case
// ignored) or postal code (case and spaces ignored). Both are always
// compared, in constant time, on SHA-256 digests: equal lengths, so the time
// says nothing about the stored value's length or its common prefix.
func contactMatches(contact string, cu tracking.Customer) bool {
	email := equalDigests(normalizeEmail(contact), normalizeEmail(cu.Email))
	postal := equalDigests(normalizePostal(contact), normalizePostal(cu.PostalCode))
	return email|postal == 1
}

// equalDigests is 1 when got and want are equal and want is not empty (an
// order without a postal code matches no postal code).
func equalDigests(got, want string) int {
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) & subtle.ConstantTimeLessOrEq(1, len(want))
}

func normalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

func normalizePostal(s string) string {
	return strings.ToUpper(strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s))
}

// unavailable answers 503 when Redis (limits or orders) cannot answer. The
// error is logged here, once; the shopper gets the form and a "try again".
func (h *lookupHandler) unavailable(c *fiber.Ctx, p templates.LookupProps, err error) error {
	h.s.deps.Log.Warn("order lookup unavailable", "err", err)
	c.Set(fiber.HeaderRetryAfter, "5")
	p.Message = "lookup.error.unavailable"
	return h.render(c, fiber.StatusServiceUnavailable, p)
}

func (h *lookupHandler) render(c *fiber.Ctx, status int, p templates.LookupProps) error {
	c.Status(status)
	c.Type("html", "utf-8")
	brand, _ := c.Locals(lookupBrandLocal).(templates.Brand)
	layout := templates.LayoutProps{Lang: p.Lang, Title: p.Lang.T("lookup.title"), Brand: brand}
	ctx := templ.WithChildren(c.UserContext(), templates.LookupPage(p))
	return templates.Layout(layout).Render(ctx, c.Response().BodyWriter())
}
