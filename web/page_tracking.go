package web

import (
	"context"
	"errors"
	"strings"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/compress"
	"github.com/trackd/trackd/templates"
	"github.com/trackd/trackd/tracking"
)

// pageCSP keeps the shopper's page to its own origin: no inline script, no
// third-party requests, no framing. Inline styles are allowed for the brand
// colours the layout sets.
const pageCSP = "default-src 'self'; img-src 'self' https: data:; style-src 'self' 'unsafe-inline'; " +
	"script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// tokenLen is the length of a tracking token: 128 bits in unpadded base64url.
const tokenLen = 22

// trackingPageRoutes serves the shopper's tracking page: GET /t/{token}
// and GET /t/{token}.json.
//
// One route serves both: Fiber would split "/t/:token.json" at the dot, and
// a token never contains one, so the suffix is checked in the handler.
func (s *Server) trackingPageRoutes(r fiber.Router) {
	// Fastest gzip: at level 6 compressing the page cost a quarter of its
	// CPU; level 1 costs a fraction of that for a few hundred bytes more.
	r.Get("/t/:token", compress.New(compress.Config{Level: compress.LevelBestSpeed}), s.trackingPage)
}

// snapshot is the order as a live client first sees it, and what
// GET /t/{token}.json answers: {"type":"snapshot","number",...,"shipments"}.
type snapshot struct {
	Type string `json:"type"`
	tracking.PublicOrder
}

// snapshot reads the shopper's view of o as a snapshot message.
func (s *Server) snapshot(ctx context.Context, o tracking.Order) (snapshot, error) {
	v, err := s.publicOrder(ctx, o)
	if err != nil {
		return snapshot{}, err
	}
	return snapshot{Type: "snapshot", PublicOrder: v}, nil
}

func (s *Server) trackingPage(c *fiber.Ctx) error {
	// Copied: the parameter aliases Fiber's buffer.
	token := strings.Clone(c.Params("token"))
	token, asJSON := strings.CutSuffix(token, ".json")
	setPageHeaders(c)
	if !asJSON {
		c.Vary(fiber.HeaderAcceptLanguage)
	}

	ctx := c.UserContext()
	// A malformed token costs the same lookup as a well-formed one, so the
	// answer's timing does not tell which tokens are worth guessing.
	order, err := s.deps.Store.OrderByToken(ctx, token)
	if err == nil && !validToken(token) {
		err = tracking.ErrNotFound
	}
	switch {
	case errors.Is(err, tracking.ErrNotFound):
		if asJSON {
			return httpError(fiber.StatusNotFound, "not found")
		}
		lang := templates.PickLang("", c.Get(fiber.HeaderAcceptLanguage))
		c.Status(fiber.StatusNotFound)
		return s.renderPage(c, templates.LayoutProps{Lang: lang, Title: lang.T("not_found.title")}, templates.NotFoundPage(lang))
	case err != nil:
		return storeError(err)
	}

	snap, err := s.snapshot(ctx, order)
	if err != nil {
		return err
	}
	if asJSON {
		return c.JSON(snap)
	}
	lang := templates.PickLang(snap.Locale, c.Get(fiber.HeaderAcceptLanguage))
	props := templates.TrackingProps{Lang: lang, Token: token, Order: snap.PublicOrder, Now: s.deps.Now()}
	return s.renderPage(c, templates.LayoutProps{Lang: lang, Title: templates.OrderTitle(lang, snap.Number), Scripts: []string{"live.js"}},
		templates.TrackingPage(props))
}

// renderPage writes body inside the shopper layout, with the brand.
func (s *Server) renderPage(c *fiber.Ctx, p templates.LayoutProps, body templ.Component) error {
	p.Brand = templates.Brand(s.CurrentBrand(c.UserContext()))
	c.Type("html", "utf-8")
	ctx := templ.WithChildren(c.UserContext(), body)
	return templates.Layout(p).Render(ctx, c.Response().BodyWriter())
}

// setPageHeaders sets what every answer about a tracking token carries:
// nothing cached (the page is live and the token is a secret), nothing
// leaked through the referrer, nothing sniffed or framed.
func setPageHeaders(c *fiber.Ctx) {
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderContentSecurityPolicy, pageCSP)
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderReferrerPolicy, "no-referrer")
}

// validToken reports whether t looks like a tracking token: 22 characters
// of unpadded base64url.
func validToken(t string) bool {
	if len(t) != tokenLen {
		return false
	}
	for i := 0; i < len(t); i++ {
		ch := t[i]
		if !(ch >= 'A' && ch <= 'Z' || ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_') {
			return false
		}
	}
	return true
}
