package web

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"log/slog"
	"mime"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"
	"github.com/trackd/trackd/notify"
	"github.com/trackd/trackd/notify/optout"
	"github.com/trackd/trackd/templates"
)

// UnsubscribeTokens checks unsubscribe tokens (optout.Signer).
type UnsubscribeTokens interface {
	Verify(token string) (optout.Claims, error)
}

// UnsubscribeOptOuts records opt-outs by recipient hash (optout.Store).
type UnsubscribeOptOuts interface {
	SetOptOutHash(ctx context.Context, ch notify.Channel, hash string, out bool) error
}

// UnsubscribeLimiter limits calls per key, as the web tier's Redis limiter
// (newRedisLimiter) does: ok when allowed, else how long until it would be.
type UnsubscribeLimiter interface {
	Allow(ctx context.Context, key string) (ok bool, retryAfter time.Duration, err error)
}

// UnsubscribeDeps are what the unsubscribe page needs.
type UnsubscribeDeps struct {
	Tokens  UnsubscribeTokens
	OptOuts UnsubscribeOptOuts
	// CSRFKey keys the form's anti-forgery token: at least 32 secret bytes,
	// its own (not a signing key of the links). Changing it only makes
	// pages open at that moment ask for a second press.
	CSRFKey []byte
	// Limit, when set, limits opt-outs per client address (ClientIP). A
	// Redis failure of the limiter lets the request through: an opt-out
	// must not be lost to a rate limiter.
	Limit    UnsubscribeLimiter
	ClientIP func(*fiber.Ctx) string // nil: c.IP()
	Brand    Brand
	Log      *slog.Logger
	// Timeout bounds the Redis work of one opt-out; past it the shopper
	// gets "try again" rather than a hanging page. Zero: 3s.
	Timeout time.Duration
}

const (
	// unsubscribeBodyLimit caps a POST: the one-click body is 26 bytes and
	// the form's a hundred; multipart framing adds a few hundred.
	unsubscribeBodyLimit = 4 << 10
	// oneClickBody is RFC 8058's one-click request body.
	oneClickBody = "List-Unsubscribe=One-Click"
	// csrfContext separates the form tokens' MACs from other uses of the key.
	csrfContext = "trackd unsubscribe form\x00"
)

// unsubscribePage serves GET and POST /u/{token}.
type unsubscribePage struct {
	d     UnsubscribeDeps
	brand templates.Brand
}

func newUnsubscribePage(d UnsubscribeDeps) *unsubscribePage {
	if d.Tokens == nil || d.OptOuts == nil || d.Log == nil || len(d.CSRFKey) < 32 {
		panic("web: unsubscribe page needs Tokens, OptOuts, Log and a CSRFKey of 32 bytes or more")
	}
	if d.ClientIP == nil {
		d.ClientIP = func(c *fiber.Ctx) string { return c.IP() }
	}
	if d.Timeout <= 0 {
		d.Timeout = 3 * time.Second // a healthy Redis answers in milliseconds
	}
	d.CSRFKey = append([]byte(nil), d.CSRFKey...)
	b := d.Brand
	return &unsubscribePage{d: d, brand: templates.Brand{Name: b.Name, LogoURL: b.LogoURL, Color: b.Color, AccentColor: b.AccentColor}}
}

// UnsubscribePage serves GET /u/{token} (route parameter "token"): the page
// saying what will stop, in the shopper's language (?lang=, else
// Accept-Language), with a button posting the form back to the same
// address. Opening the page changes nothing: mail scanners and link
// previews open links.
func UnsubscribePage(d UnsubscribeDeps) fiber.Handler { return newUnsubscribePage(d).get }

// UnsubscribeSubmit serves POST /u/{token} (route parameter "token"): the
// opt-out. Two requests are accepted, both authenticated by the signed
// token in the address:
//   - RFC 8058 one-click, from a mail client's List-Unsubscribe-Post: the
//     body is exactly List-Unsubscribe=One-Click (urlencoded, or the same
//     single field as multipart/form-data, which RFC 8058 also allows);
//   - the page's form, with its anti-forgery token (an HMAC of the link's
//     token) and not from another site (Sec-Fetch-Site).
//
// Either opts out and answers the confirmation page (200). Anything else
// gets the form again (403); an unknown token the 404 page.
func UnsubscribeSubmit(d UnsubscribeDeps) fiber.Handler { return newUnsubscribePage(d).post }

func (h *unsubscribePage) get(c *fiber.Ctx) error {
	token := strings.Clone(c.Params("token"))
	lang := h.lang(c, c.Query("lang"))
	claims, err := h.d.Tokens.Verify(token)
	if err != nil {
		return h.render(c, fiber.StatusNotFound, templates.UnsubscribeProps{Lang: lang, State: templates.UnsubscribeInvalid})
	}
	return h.render(c, fiber.StatusOK, h.ask(lang, token, claims))
}

func (h *unsubscribePage) post(c *fiber.Ctx) error {
	token := strings.Clone(c.Params("token"))
	if len(c.Body()) > unsubscribeBodyLimit {
		return httpError(fiber.StatusRequestEntityTooLarge, "request body too large")
	}
	oneClick := isOneClick(c)
	langValue := c.Query("lang")
	if !oneClick {
		langValue = c.FormValue("lang", langValue)
	}
	lang := h.lang(c, langValue)
	claims, err := h.d.Tokens.Verify(token)
	if err != nil {
		return h.render(c, fiber.StatusNotFound, templates.UnsubscribeProps{Lang: lang, State: templates.UnsubscribeInvalid})
	}
	ask := h.ask(lang, token, claims)
	if !oneClick && (crossSite(c) || !h.validCSRF(token, c.FormValue("csrf"))) {
		ask.Message = "unsub.error.retry"
		return h.render(c, fiber.StatusForbidden, ask)
	}

	ctx, cancel := context.WithTimeout(c.UserContext(), h.d.Timeout)
	defer cancel()
	if h.d.Limit != nil {
		ok, retry, err := h.d.Limit.Allow(ctx, h.d.ClientIP(c))
		switch {
		case err != nil:
			h.d.Log.Warn("unsubscribe rate limit unavailable; letting the opt-out through", "err", err)
		case !ok:
			c.Set(fiber.HeaderRetryAfter, strconv.FormatInt(int64((retry+time.Second-1)/time.Second), 10))
			ask.Message = "unsub.error.limited"
			return h.render(c, fiber.StatusTooManyRequests, ask)
		}
	}
	if err := h.d.OptOuts.SetOptOutHash(ctx, claims.Channel, claims.RecipientHash, true); err != nil {
		h.d.Log.Warn("unsubscribe failed", "channel", claims.Channel, "order_id", claims.OrderID, "err", err)
		c.Set(fiber.HeaderRetryAfter, "5")
		ask.Message = "unsub.error.unavailable"
		return h.render(c, fiber.StatusServiceUnavailable, ask)
	}
	h.d.Log.Info("unsubscribed", "channel", claims.Channel, "order_id", claims.OrderID, "one_click", oneClick)
	return h.render(c, fiber.StatusOK, templates.UnsubscribeProps{Lang: lang, State: templates.UnsubscribeDone,
		Channel: string(claims.Channel), Store: h.brand.Name})
}

// lang is the page's language: the explicit choice (the link's ?lang=, or
// the form's), else the browser's.
func (h *unsubscribePage) lang(c *fiber.Ctx, explicit string) templates.Lang {
	c.Vary(fiber.HeaderAcceptLanguage)
	return templates.PickLang(explicit, c.Get(fiber.HeaderAcceptLanguage))
}

func (h *unsubscribePage) ask(lang templates.Lang, token string, claims optout.Claims) templates.UnsubscribeProps {
	return templates.UnsubscribeProps{Lang: lang, State: templates.UnsubscribeAsk, Channel: string(claims.Channel),
		Store: h.brand.Name, Action: "/u/" + url.PathEscape(token), CSRF: h.csrf(token)}
}

// csrf is the form's anti-forgery token: an HMAC of the link's token, so it
// needs no cookie or session, and only a page trackd served carries it.
func (h *unsubscribePage) csrf(token string) string {
	m := hmac.New(sha256.New, h.d.CSRFKey)
	m.Write([]byte(csrfContext))
	m.Write([]byte(token))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (h *unsubscribePage) validCSRF(token, got string) bool {
	return hmac.Equal([]byte(h.csrf(token)), []byte(got))
}

// crossSite reports whether the browser says the request comes from
// another site. Browsers without Fetch Metadata send no header, and the
// form token still protects them.
func crossSite(c *fiber.Ctx) bool {
	return c.Get("Sec-Fetch-Site") == "cross-site"
}

// isOneClick reports whether the request is RFC 8058's one-click POST: the
// single field List-Unsubscribe=One-Click and nothing else, urlencoded (the
// exact body) or as multipart/form-data.
func isOneClick(c *fiber.Ctx) bool {
	mt, _, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if err != nil {
		mt = ""
	}
	switch mt {
	case "", fiber.MIMEApplicationForm:
		return string(c.Body()) == oneClickBody
	case fiber.MIMEMultipartForm:
		form, err := c.MultipartForm()
		if err != nil {
			return false
		}
		v := form.Value["List-Unsubscribe"]
		return len(form.Value) == 1 && len(form.File) == 0 && len(v) == 1 && v[0] == "One-Click"
	}
	return false
}

func (h *unsubscribePage) render(c *fiber.Ctx, status int, p templates.UnsubscribeProps) error {
	setPageHeaders(c)
	c.Set("X-Robots-Tag", "noindex")
	c.Status(status)
	c.Type("html", "utf-8")
	layout := templates.LayoutProps{Lang: p.Lang, Title: templates.UnsubscribeTitle(p), Brand: h.brand}
	ctx := templ.WithChildren(c.UserContext(), templates.UnsubscribePage(p))
	if err := templates.Layout(layout).Render(ctx, c.Response().BodyWriter()); err != nil {
		return fmt.Errorf("render unsubscribe page: %w", err)
	}
	return nil
}
