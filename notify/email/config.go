package email

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Defaults of Config's zero fields.
const (
	// DefaultTimeout bounds one SMTP exchange: a dial (TCP, TLS, EHLO,
	// AUTH) or one message (MAIL to the reply after DATA). Servers answer
	// in milliseconds; a server that takes longer is in trouble, and the
	// notifier's retry with backoff serves the message better than a
	// worker held for RFC 5321's minutes.
	DefaultTimeout = 30 * time.Second
	// DefaultPoolSize keeps a few connections open: enough to hide the
	// per-message round trips (several hundred messages a second on
	// loopback), few enough to stay under the per-client connection
	// limits relays and providers enforce.
	DefaultPoolSize = 4
	// DefaultIdleTimeout is how long an unused connection is trusted.
	// Servers drop idle sessions (Postfix after 300s, many providers
	// sooner) and NAT boxes forget them silently; a connection older than
	// this is closed and redialled rather than risk a send hanging on it.
	DefaultIdleTimeout = 30 * time.Second
)

// Default ports by scheme: smtp:// is message submission with STARTTLS
// (RFC 6409, port 587), which every provider offers and clouds do not
// block, unlike port 25 (server-to-server relay); smtps:// is submission
// over implicit TLS (RFC 8314, port 465). A local relay on port 25 is
// smtp://localhost:25.
const (
	defaultPortSTARTTLS = 587
	defaultPortTLS      = 465
)

// Config configures a Sender.
type Config struct {
	// URL is SMTP_URL: smtp://[user:pass@]host[:port] or
	// smtps://[user:pass@]host[:port], with optional query options.
	//
	// smtp:// upgrades with STARTTLS when the server offers it and talks
	// plain SMTP when it does not; smtps:// is TLS from the first byte.
	// User info turns AUTH on (PLAIN, else LOGIN, as the server offers),
	// and AUTH is refused over a connection that is not encrypted unless
	// the server is on loopback or allow_insecure_auth is set: a password
	// in clear text to a remote host is a leak, not a login. Escape
	// special characters of the user and password (%40 for @).
	//
	// Query options (booleans take true/false, 1/0):
	//   - starttls=required: fail instead of falling back to plain SMTP
	//     when the server does not offer STARTTLS (smtp:// only).
	//   - insecure_skip_verify=true: accept any server certificate
	//     (self-signed relays, tests); the connection is encrypted but
	//     not authenticated.
	//   - allow_insecure_auth=true: allow AUTH over an unencrypted
	//     connection to a remote host.
	URL string
	// From is SMTP_FROM: the sender, "Store <shop@example.com>" or a bare
	// address. Its address is also the envelope sender and its domain the
	// right-hand side of generated Message-IDs.
	From string
	// Timeout bounds one dial and one message (default DefaultTimeout).
	Timeout time.Duration
	// PoolSize is how many connections are kept open for reuse, and so
	// how many messages are in flight at once (default DefaultPoolSize).
	PoolSize int
	// IdleTimeout is how long an unused connection is reused (default
	// DefaultIdleTimeout).
	IdleTimeout time.Duration
	// HelloName is the name sent with EHLO (default: this host's name).
	HelloName string
	// TLSConfig, if set, is the base of the TLS configuration (RootCAs for
	// a private CA, client certificates); ServerName defaults to the URL's
	// host. Nil uses the system roots.
	TLSConfig *tls.Config
}

// ConfigFromEnv reads SMTP_URL and SMTP_FROM; the other fields keep their
// defaults.
func ConfigFromEnv(getenv func(string) string) Config {
	return Config{
		URL:  strings.TrimSpace(getenv("SMTP_URL")),
		From: strings.TrimSpace(getenv("SMTP_FROM")),
	}
}

// Configured reports whether an SMTP server is set: without one, email is
// off.
func (c Config) Configured() bool { return c.URL != "" }

// Validate reports the first problem with c, naming the setting at fault.
func (c Config) Validate() error {
	_, err := c.parse()
	return err
}

// endpoint is Config, parsed and defaulted.
type endpoint struct {
	host        string
	port        int
	implicitTLS bool
	// requireTLS makes STARTTLS mandatory (smtp:// only).
	requireTLS bool
	auth       bool
	user, pass string

	insecureSkipVerify bool
	allowInsecureAuth  bool

	from        *mail.Address
	fromDomain  string
	timeout     time.Duration
	idleTimeout time.Duration
	poolSize    int
	helloName   string
	tlsConfig   *tls.Config
}

// loopback reports whether the server is on this machine, where no one
// can listen to an unencrypted AUTH.
func (e endpoint) loopback() bool {
	if strings.EqualFold(e.host, "localhost") {
		return true
	}
	ip := net.ParseIP(e.host)
	return ip != nil && ip.IsLoopback()
}

func (c Config) parse() (endpoint, error) {
	if c.URL == "" {
		return endpoint{}, errors.New("SMTP_URL: not set")
	}
	e, err := parseURL(c.URL)
	if err != nil {
		return endpoint{}, fmt.Errorf("SMTP_URL: %w", err)
	}
	if e.from, e.fromDomain, err = parseFrom(c.From); err != nil {
		return endpoint{}, fmt.Errorf("SMTP_FROM: %w", err)
	}
	switch {
	case c.Timeout < 0:
		return endpoint{}, errors.New("email timeout: must not be negative")
	case c.Timeout == 0:
		e.timeout = DefaultTimeout
	default:
		e.timeout = c.Timeout
	}
	switch {
	case c.IdleTimeout < 0:
		return endpoint{}, errors.New("email idle timeout: must not be negative")
	case c.IdleTimeout == 0:
		e.idleTimeout = DefaultIdleTimeout
	default:
		e.idleTimeout = c.IdleTimeout
	}
	switch {
	case c.PoolSize < 0 || c.PoolSize > 256:
		return endpoint{}, fmt.Errorf("email pool size: %d is not between 1 and 256", c.PoolSize)
	case c.PoolSize == 0:
		e.poolSize = DefaultPoolSize
	default:
		e.poolSize = c.PoolSize
	}
	if c.HelloName != "" && (strings.ContainsFunc(c.HelloName, func(r rune) bool { return r <= ' ' || r > '~' })) {
		return endpoint{}, fmt.Errorf("email hello name: %q is not a host name", c.HelloName)
	}
	e.helloName = c.HelloName

	tc := &tls.Config{}
	if c.TLSConfig != nil {
		tc = c.TLSConfig.Clone()
	}
	if tc.ServerName == "" {
		tc.ServerName = e.host
	}
	if tc.MinVersion == 0 {
		tc.MinVersion = tls.VersionTLS12
	}
	if e.insecureSkipVerify {
		tc.InsecureSkipVerify = true
	}
	e.tlsConfig = tc
	return e, nil
}

// parseURL parses SMTP_URL. Its errors never quote the URL: it may carry
// a password.
func parseURL(raw string) (endpoint, error) {
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return endpoint{}, fmt.Errorf("not a URL: %w", err)
	}
	var e endpoint
	switch u.Scheme {
	case "smtp":
		e.port = defaultPortSTARTTLS
	case "smtps":
		e.implicitTLS = true
		e.port = defaultPortTLS
	default:
		return endpoint{}, errors.New("scheme must be smtp or smtps")
	}
	if u.Opaque != "" {
		return endpoint{}, errors.New("must be smtp://host or smtps://host")
	}
	e.host = u.Hostname()
	if e.host == "" {
		return endpoint{}, errors.New("no host")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return endpoint{}, fmt.Errorf("port %q is not between 1 and 65535", p)
		}
		e.port = n
	}
	if u.Path != "" && u.Path != "/" {
		return endpoint{}, errors.New("must have no path")
	}
	if u.Fragment != "" {
		return endpoint{}, errors.New("must have no fragment")
	}
	if u.User != nil {
		e.auth = true
		e.user = u.User.Username()
		e.pass, _ = u.User.Password()
		if e.user == "" {
			return endpoint{}, errors.New("user info without a user name")
		}
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return endpoint{}, fmt.Errorf("query: %w", err)
	}
	for key, vals := range q {
		v := vals[len(vals)-1]
		switch key {
		case "starttls":
			switch v {
			case "required":
				if e.implicitTLS {
					return endpoint{}, errors.New("starttls applies to smtp://, not smtps://")
				}
				e.requireTLS = true
			case "opportunistic", "":
			default:
				return endpoint{}, fmt.Errorf("starttls=%q: want required or opportunistic", v)
			}
		case "insecure_skip_verify":
			if e.insecureSkipVerify, err = strconv.ParseBool(v); err != nil {
				return endpoint{}, fmt.Errorf("insecure_skip_verify=%q: not a boolean", v)
			}
		case "allow_insecure_auth":
			if e.allowInsecureAuth, err = strconv.ParseBool(v); err != nil {
				return endpoint{}, fmt.Errorf("allow_insecure_auth=%q: not a boolean", v)
			}
		default:
			return endpoint{}, fmt.Errorf("unknown option %q (known: starttls, insecure_skip_verify, allow_insecure_auth)", key)
		}
	}
	return e, nil
}

// parseFrom parses SMTP_FROM and returns the domain Message-IDs use.
func parseFrom(s string) (*mail.Address, string, error) {
	if s == "" {
		return nil, "", errors.New("not set")
	}
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, "", fmt.Errorf("%q is not an address: %w", s, err)
	}
	at := strings.LastIndexByte(a.Address, '@')
	if at < 1 || at == len(a.Address)-1 {
		return nil, "", fmt.Errorf("%q has no domain", s)
	}
	return a, a.Address[at+1:], nil
}
