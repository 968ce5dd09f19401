package outbound

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// nonPublic are the ranges, beyond what netip classifies, that no
// merchant's receiver lives in and that may reach inside a network.
var nonPublic = []struct {
	prefix netip.Prefix
	kind   string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "a \"this network\""},
	{netip.MustParsePrefix("100.64.0.0/10"), "a carrier-grade NAT"},
	{netip.MustParsePrefix("192.0.0.0/24"), "an IETF protocol"},
	{netip.MustParsePrefix("198.18.0.0/15"), "a benchmarking"},
	{netip.MustParsePrefix("240.0.0.0/4"), "a reserved"},
}

// nat64 is the well-known NAT64 prefix: its addresses carry an IPv4
// address in their last 32 bits, which is what they reach.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// blocked says why ip may not be a webhook target ("" when it may).
func blocked(ip netip.Addr) string {
	ip = ip.Unmap()
	if nat64.Contains(ip) {
		b := ip.As16()
		ip = netip.AddrFrom4([4]byte(b[12:]))
	}
	switch {
	case !ip.IsValid():
		return "an invalid"
	case ip.IsUnspecified():
		return "an unspecified"
	case ip.IsLoopback():
		return "a loopback"
	case ip.IsPrivate():
		return "a private"
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast():
		return "a link-local"
	case ip.IsMulticast(), ip.IsInterfaceLocalMulticast():
		return "a multicast"
	}
	for _, r := range nonPublic {
		if r.prefix.Contains(ip) {
			return r.kind
		}
	}
	return ""
}

// RefusedError is a target refused for its address.
type RefusedError struct {
	Host string
	IP   netip.Addr
	Kind string
}

func (e *RefusedError) Error() string {
	what := e.Host + " resolves to " + e.IP.String()
	if e.Host == "" || e.Host == e.IP.String() {
		what = e.IP.String() + " is"
	} else {
		what += ","
	}
	return fmt.Sprintf("%s %s address: targets in private, loopback, link-local or reserved networks are refused "+
		"(TRACKD_OUTBOUND_ALLOW_PRIVATE=true allows them)", what, e.Kind)
}

// CheckURL reports why url cannot be a webhook target, as a field error
// on "url". With AllowPrivate off, it must be https and its host must
// resolve to public addresses only.
func (s *Service) CheckURL(ctx context.Context, raw string) error {
	if raw == "" {
		return fieldErr("url", "is required")
	}
	if len(raw) > maxURL {
		return fieldErr("url", "is longer than %d characters", maxURL)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fieldErr("url", "is not a URL: %v", err)
	}
	switch {
	case u.Scheme == "http" && s.cfg.AllowPrivate:
	case u.Scheme != "https":
		return fieldErr("url", "must be an https:// URL")
	}
	host := u.Hostname()
	if host == "" {
		return fieldErr("url", "has no host")
	}
	if s.cfg.AllowPrivate {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := resolvePublic(ctx, s.cfg.Resolver, host); err != nil {
		var re *RefusedError
		if errors.As(err, &re) {
			return fieldErr("url", "%s", re.Error())
		}
		return fieldErr("url", "cannot resolve %s: %v", host, err)
	}
	return nil
}

// resolvePublic resolves host and returns its addresses if every one is
// public: a name with one private address among public ones is refused,
// since which one a connection uses is not ours to pick.
func resolvePublic(ctx context.Context, r Resolver, host string) ([]netip.Addr, error) {
	var ips []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		ips = []netip.Addr{ip}
	} else {
		addrs, err := r.LookupIPAddr(ctx, host)
		if err != nil {
			return nil, err
		}
		for _, a := range addrs {
			if ip, ok := netip.AddrFromSlice(a.IP); ok {
				ips = append(ips, ip.Unmap())
			}
		}
		if len(ips) == 0 {
			return nil, fmt.Errorf("no addresses for %s", host)
		}
	}
	for _, ip := range ips {
		if kind := blocked(ip); kind != "" {
			return nil, &RefusedError{Host: host, IP: ip, Kind: kind}
		}
	}
	return ips, nil
}

// newClient returns the deliveries' HTTP client. With AllowPrivate off,
// it resolves each target itself, refuses non-public addresses and dials
// the very address it checked; the dialer's Control refuses them again at
// the socket, whatever path a connection takes. No proxy from the
// environment (it would be the proxy's address that was checked), and no
// redirects (a redirect could point anywhere).
func newClient(cfg Config) *http.Client {
	d := &net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second}
	dial := d.DialContext
	if !cfg.AllowPrivate {
		d.Control = refusePrivate
		dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			ips, err := resolvePublic(ctx, cfg.Resolver, host)
			if err != nil {
				return nil, err
			}
			var errs []error
			for _, ip := range ips {
				c, err := d.DialContext(ctx, network, net.JoinHostPort(ip.String(), port))
				if err == nil {
					return c, nil
				}
				errs = append(errs, err)
			}
			return nil, errors.Join(errs...)
		}
	}
	return &http.Client{
		Timeout: cfg.Timeout,
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           dial,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          100,
			MaxIdleConnsPerHost:   4,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   cfg.Timeout,
			ResponseHeaderTimeout: cfg.Timeout,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// refusePrivate is the dialer's Control: it sees the address a socket is
// about to connect to, after every resolution.
func refusePrivate(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("refused: cannot tell the address of %q", address)
	}
	if kind := blocked(ap.Addr()); kind != "" {
		return &RefusedError{IP: ap.Addr().Unmap(), Kind: kind}
	}
	return nil
}

// redactURL is a URL fit for logs: its user information and query may
// carry credentials.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable url)"
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return strings.TrimSuffix(u.String(), "?")
}
