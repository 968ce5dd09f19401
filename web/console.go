package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"
	"github.com/trackd/trackd/console"
	"github.com/trackd/trackd/templates"
)

// ConsoleDeps are the console's stores; nil leaves the console out.
type ConsoleDeps struct {
	Users    *console.Users
	Sessions *console.Sessions
	Audit    *console.Audit
	// The sections' own dependencies; nil leaves a section out.
	Marketing *ConsoleMarketing
	Ops       *ConsoleOps
	Admin     *ConsoleAdmin
}

// sessionCookie names the console's session cookie.
const sessionCookie = "trackd_console"

// consoleLocal holds the signed-in user and session of a console request.
const consoleLocal = "trackd.console"

// consoleCtx is who is signed in.
type consoleCtx struct {
	User    console.User
	Session console.Session
}

// signedIn returns the console request's user and session.
func signedIn(c *fiber.Ctx) *consoleCtx {
	cc, _ := c.Locals(consoleLocal).(*consoleCtx)
	return cc
}

// consoleRoutes registers the console.
func (s *Server) consoleRoutes(app *fiber.App) {
	if s.deps.Console == nil {
		return
	}
	signinLimit := newRedisLimiter(s.deps.Redis, s.cfg.KeyPrefix, "console_signin_ip", 30, 15*time.Minute)
	emailLimit := newRedisLimiter(s.deps.Redis, s.cfg.KeyPrefix, "console_signin_email", 10, 15*time.Minute)
	app.Get("/console/signin", s.consoleHeaders, s.signInPage)
	app.Post("/console/signin", s.consoleHeaders, s.signIn(signinLimit, emailLimit))
	con := app.Group("/console", s.consoleHeaders, s.consoleAuth)
	con.Post("/signout", s.signOut)
	if d := s.deps.Console; d.Marketing != nil {
		s.consoleMarketingRoutes(con)
	}
	if d := s.deps.Console; d.Ops != nil {
		s.consoleOpsRoutes(con)
	}
	if d := s.deps.Console; d.Admin != nil {
		s.consoleAdminRoutes(con)
	}
	con.Get("/", func(c *fiber.Ctx) error {
		switch signedIn(c).User.Role {
		case console.Ops:
			return c.Redirect("/console/ops", fiber.StatusSeeOther)
		default:
			return c.Redirect("/console/templates", fiber.StatusSeeOther)
		}
	})
}

// consoleHeaders keep console pages out of caches and frames.
func (s *Server) consoleHeaders(c *fiber.Ctx) error {
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderXFrameOptions, "DENY")
	// Scripts only from trackd's own files; the email preview's frame is
	// sandboxed as well, so template HTML never runs script here.
	c.Set(fiber.HeaderContentSecurityPolicy, "default-src 'self'; script-src 'self'; img-src 'self' https: data:; "+
		"style-src 'self' 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
	c.Set("X-Content-Type-Options", "nosniff")
	c.Set("Referrer-Policy", "no-referrer")
	return c.Next()
}

// consoleAuth admits signed-in users: a request without a session is sent
// to sign in (a page) or refused (anything else), and every request that
// changes something must carry the session's CSRF token.
func (s *Server) consoleAuth(c *fiber.Ctx) error {
	d := s.deps.Console
	now := s.deps.Now()
	sess, err := d.Sessions.Get(c.UserContext(), c.Cookies(sessionCookie), now)
	var user console.User
	if err == nil {
		user, err = d.Users.Get(c.UserContext(), sess.Email)
	}
	switch {
	case errors.Is(err, console.ErrNotFound):
		if c.Method() == fiber.MethodGet {
			return c.Redirect("/console/signin?next="+url.QueryEscape(c.OriginalURL()), fiber.StatusSeeOther)
		}
		return httpError(fiber.StatusUnauthorized, "signed out: sign in again")
	case err != nil:
		return &Error{Status: fiber.StatusServiceUnavailable, Message: "cannot check the session now; retry later", RetryAfter: 5, Err: err}
	}
	if c.Method() != fiber.MethodGet && c.Method() != fiber.MethodHead {
		got := c.FormValue("csrf")
		if got == "" {
			got = c.Get("X-CSRF-Token")
		}
		if subtle.ConstantTimeCompare([]byte(got), []byte(sess.CSRF)) != 1 {
			return s.consolePage(c.Status(fiber.StatusForbidden),
				templates.ConsoleMessage(templates.ConsoleMessageProps{
					Console: s.consoleProps(c, "Refused", ""), Message: "This form is out of date or did not come from the console. Reload the page and try again."}))
		}
	}
	c.Locals(consoleLocal, &consoleCtx{User: user, Session: sess})
	return c.Next()
}

// requireRole admits users whose role may open section (admin may open
// all); others get 403.
func (s *Server) requireRole(section string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		cc := signedIn(c)
		if cc == nil || !templates.ConsoleAllows(string(cc.User.Role), section) {
			c.Status(fiber.StatusForbidden)
			return s.consolePage(c, templates.ConsoleMessage(templates.ConsoleMessageProps{
				Console: s.consoleProps(c, "Not allowed", ""), Message: "Your role does not open this part of the console."}))
		}
		return c.Next()
	}
}

// consoleProps are the layout's props for the request's user.
func (s *Server) consoleProps(c *fiber.Ctx, title, active string) templates.ConsoleProps {
	p := templates.ConsoleProps{Title: title, Active: active, Brand: templates.Brand(s.CurrentBrand(c.UserContext()))}
	if cc := signedIn(c); cc != nil {
		p.User = templates.ConsoleUser{Email: cc.User.Email, Name: cc.User.Name, Role: string(cc.User.Role)}
		p.CSRF = cc.Session.CSRF
	}
	return p
}

// consolePage renders a console page.
func (s *Server) consolePage(c *fiber.Ctx, page templ.Component) error {
	c.Type("html", "utf-8")
	return page.Render(c.UserContext(), c.Response().BodyWriter())
}

// audit records a change by the signed-in user. A failure is logged: the
// change is made, and refusing it now would not undo it.
func (s *Server) audit(c *fiber.Ctx, action, target, detail string) {
	cc := signedIn(c)
	actor := "unknown"
	if cc != nil {
		actor = cc.User.Email
	}
	err := s.deps.Console.Audit.Record(context.WithoutCancel(c.UserContext()), console.Entry{
		At: s.deps.Now().UTC(), Actor: actor, Action: action, Target: target, Detail: detail})
	if err != nil {
		s.deps.Log.Warn("audit log", "action", action, "target", target, "err", err)
	}
}

// safeNext keeps a post-sign-in redirect inside the console.
func safeNext(next string) string {
	if strings.HasPrefix(next, "/console") && !strings.HasPrefix(next, "//") && !strings.ContainsAny(next, "\\\r\n") {
		return next
	}
	return "/console"
}

// signinCSRFCookie carries the sign-in form's anti-forgery token before
// there is a session: the form must echo the cookie (double submit), which
// a page on another site cannot read.
const signinCSRFCookie = "trackd_console_signin"

func (s *Server) signInPage(c *fiber.Ctx) error {
	b := make([]byte, 24)
	rand.Read(b)
	token := base64.RawURLEncoding.EncodeToString(b)
	c.Cookie(&fiber.Cookie{Name: signinCSRFCookie, Value: token, Path: "/console/signin", HTTPOnly: true,
		SameSite: fiber.CookieSameSiteStrictMode, Secure: s.secure(c)})
	p := s.consoleProps(c, "Sign in", "")
	p.CSRF = token
	return s.consolePage(c, templates.SignInPage(templates.SignInProps{Console: p, Next: safeNext(c.Query("next"))}))
}

// signIn checks the password. Attempts are limited per address and per
// email, so a password cannot be guessed by trying many.
func (s *Server) signIn(byIP, byEmail *redisLimiter) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx := c.UserContext()
		email := console.NormalizeEmail(c.FormValue("email"))
		next := safeNext(c.FormValue("next"))
		fail := func(status int, msg string) error {
			c.Status(status)
			p := s.consoleProps(c, "Sign in", "")
			p.CSRF = c.Cookies(signinCSRFCookie)
			return s.consolePage(c, templates.SignInPage(templates.SignInProps{Console: p, Email: email, Next: next, Error: msg}))
		}
		token := c.Cookies(signinCSRFCookie)
		if token == "" || subtle.ConstantTimeCompare([]byte(token), []byte(c.FormValue("csrf"))) != 1 {
			return fail(fiber.StatusForbidden, "This form is out of date. Reload the page and sign in again.")
		}
		for _, l := range []struct {
			lim *redisLimiter
			key string
		}{{byIP, c.IP()}, {byEmail, email}} {
			ok, retry, err := l.lim.Allow(ctx, l.key)
			if err != nil {
				return &Error{Status: fiber.StatusServiceUnavailable, Message: "cannot sign in now; retry later", RetryAfter: 5, Err: err}
			}
			if !ok {
				c.Set(fiber.HeaderRetryAfter, strconvSeconds(retry))
				return fail(fiber.StatusTooManyRequests, "Too many attempts. Wait a few minutes and try again.")
			}
		}
		user, err := s.deps.Console.Users.Authenticate(ctx, email, c.FormValue("password"))
		if errors.Is(err, console.ErrBadCredentials) {
			return fail(fiber.StatusUnauthorized, "Wrong email or password.")
		}
		if err != nil {
			return &Error{Status: fiber.StatusServiceUnavailable, Message: "cannot sign in now; retry later", RetryAfter: 5, Err: err}
		}
		sess, err := s.deps.Console.Sessions.Create(ctx, user.Email, s.deps.Now())
		if err != nil {
			return &Error{Status: fiber.StatusServiceUnavailable, Message: "cannot sign in now; retry later", RetryAfter: 5, Err: err}
		}
		c.Cookie(&fiber.Cookie{Name: sessionCookie, Value: sess.Token, Path: "/console", HTTPOnly: true,
			SameSite: fiber.CookieSameSiteLaxMode, Secure: s.secure(c)})
		c.Locals(consoleLocal, &consoleCtx{User: user, Session: sess})
		s.audit(c, "sign in", user.Email, "")
		return c.Redirect(next, fiber.StatusSeeOther)
	}
}

func (s *Server) signOut(c *fiber.Ctx) error {
	if err := s.deps.Console.Sessions.Delete(c.UserContext(), c.Cookies(sessionCookie)); err != nil {
		return &Error{Status: fiber.StatusServiceUnavailable, Message: "cannot sign out now; retry later", RetryAfter: 5, Err: err}
	}
	c.Cookie(&fiber.Cookie{Name: sessionCookie, Value: "", Path: "/console", HTTPOnly: true, Expires: time.Unix(0, 0),
		SameSite: fiber.CookieSameSiteLaxMode, Secure: s.secure(c)})
	return c.Redirect("/console/signin", fiber.StatusSeeOther)
}

// secure says whether cookies get the Secure flag: when shoppers reach
// trackd over HTTPS, or this request came over it.
func (s *Server) secure(c *fiber.Ctx) bool {
	return strings.HasPrefix(s.cfg.PublicURL, "https://") || c.Protocol() == "https"
}

func strconvSeconds(d time.Duration) string {
	return strconv.Itoa(max(1, int(d.Round(time.Second)/time.Second)))
}
