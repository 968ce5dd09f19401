package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/trackd/trackd/carriers/polling"
	"github.com/trackd/trackd/console"
	"github.com/trackd/trackd/salesforce"
	"github.com/trackd/trackd/web"
)

// Config is everything trackd reads from its environment.
type Config struct {
	Addr      string
	PublicURL string
	// publicURLFromAddr says PublicURL was derived from Addr, so it follows
	// the port actually bound when Addr asks for any (":0").
	publicURLFromAddr bool
	RedisURL          string
	RedisClusterURL   string
	Roles             map[string]bool
	BootstrapAPIKey   string
	// APIRateLimit and APIRateWindow limit each API key's requests.
	APIRateLimit  int
	APIRateWindow time.Duration
	// OutboundAllowPrivate lets webhook subscriptions target http:// and
	// private, loopback or link-local addresses (tests).
	OutboundAllowPrivate bool
	// Sandbox turns on the sandbox endpoint (never in production).
	Sandbox bool
	// BootstrapAdmin is the first console user, "email:password".
	BootstrapAdmin string
	GenericSecrets []string
	Demo           bool
	KeyPrefix      string
	Shards         int
	RetainFinished time.Duration
	RetainIdle     time.Duration
	IngestBacklog  int64
	WebhookLimit   int
	NoScanAfter    time.Duration
	DebugAddr      string
	// Notify configures notifications.
	Notify NotifyConfig
	// PollRates override the poll scheduler's per-carrier rates.
	PollRates      map[string]polling.Rate
	Brand          web.Brand
	TrustedProxies []string
	// AdapterEnv holds the carrier adapters' settings by variable name
	// (TRACKD_<SLUG>_...); each adapter reads its own.
	AdapterEnv map[string]string
	LogLevel   slog.Level
	LogJSON    bool
}

// NotifyConfig is how notifications behave.
type NotifyConfig struct {
	// Collapse is the burst window; zero sends every change at once.
	Collapse time.Duration
	// QuietStart and QuietEnd are SMS quiet hours from midnight; equal
	// means none.
	QuietStart, QuietEnd time.Duration
	Zone                 *time.Location
	// Secret keys the recipient hashes and signs unsubscribe links; it
	// must be the same on every node and never change.
	Secret       string
	LogRetention time.Duration
	SupportEmail string
}

// adapterSettings are the carrier adapters' variables: the webhook secret
// (for Shippo, the token its webhook URL carries), the API key, and the
// API's base URL (configurable so tests and proxies can stand in).
var adapterSettings = []string{
	"TRACKD_AFTERSHIP_WEBHOOK_SECRET", "TRACKD_AFTERSHIP_API_KEY", "TRACKD_AFTERSHIP_BASE_URL",
	"TRACKD_EASYPOST_WEBHOOK_SECRET", "TRACKD_EASYPOST_API_KEY", "TRACKD_EASYPOST_BASE_URL",
	"TRACKD_SHIPPO_WEBHOOK_SECRET", "TRACKD_SHIPPO_API_KEY", "TRACKD_SHIPPO_BASE_URL",
	"TRACKD_UPS_CLIENT_ID", "TRACKD_UPS_CLIENT_SECRET", "TRACKD_UPS_ACCOUNT_NUMBER", "TRACKD_UPS_BASE_URL",
	"TRACKD_UPS_WEBHOOK_SECRET", "TRACKD_UPS_WEBHOOK_CLIENT_ID",
	"TRACKD_FEDEX_CLIENT_ID", "TRACKD_FEDEX_CLIENT_SECRET", "TRACKD_FEDEX_BASE_URL", "TRACKD_FEDEX_WEBHOOK_SECRET",
	"TRACKD_USPS_CLIENT_ID", "TRACKD_USPS_CLIENT_SECRET", "TRACKD_USPS_BASE_URL", "TRACKD_USPS_WEBHOOK_SECRET",
	"TRACKD_DHL_API_KEY", "TRACKD_DHL_BASE_URL", "TRACKD_DHL_SERVICE",
	"TRACKD_DHL_REQUESTER_COUNTRY_CODE", "TRACKD_DHL_ORIGIN_COUNTRY_CODE",
	// Notification providers, under the names their own tools use.
	"SMTP_URL", "SMTP_FROM",
	"TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM", "TWILIO_MESSAGING_SERVICE_SID", "TWILIO_BASE_URL",
	"TWILIO_API_KEY", "TWILIO_API_SECRET",
	"TRACKD_SALESFORCE_INSTANCE_URL", "TRACKD_SALESFORCE_CLIENT_ID", "TRACKD_SALESFORCE_CLIENT_SECRET",
	"TRACKD_SALESFORCE_API_VERSION", "TRACKD_SALESFORCE_STATUS_MAP",
}

// pollCredentials name, per polled carrier, the variable whose presence
// turns its polling on: its API credentials.
var pollCredentials = map[string]string{
	"ups": "TRACKD_UPS_CLIENT_ID", "fedex": "TRACKD_FEDEX_CLIENT_ID",
	"usps": "TRACKD_USPS_CLIENT_ID", "dhl": "TRACKD_DHL_API_KEY",
}

// allRoles are the parts of trackd a node can run.
var allRoles = []string{"web", "ingest", "poll", "notify", "outbound"}

// setting is one environment variable, with the flag that overrides it.
type setting struct {
	env, def, help string
	set            func(c *Config, v string) error
}

// settings lists every variable trackd reads. The flag of each is its name
// in lower-case kebab form: REDIS_URL is --redis-url.
func settings() []setting {
	var adapters []setting
	for _, env := range adapterSettings {
		adapters = append(adapters, adapterSetting(env))
	}
	return append(adapters, []setting{
		{"TRACKD_ADDR", ":8080", "address to listen on", func(c *Config, v string) error { c.Addr = v; return nil }},
		{"TRACKD_PUBLIC_URL", "", "URL shoppers reach trackd at (default http://localhost<addr>)", func(c *Config, v string) error {
			if v == "" {
				return nil
			}
			u, err := url.Parse(v)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return fmt.Errorf("%q is not an http(s) URL", v)
			}
			c.PublicURL = strings.TrimRight(v, "/")
			return nil
		}},
		{"REDIS_URL", "", "redis://[user:pass@]host:port/db; unset runs an embedded in-memory Redis", func(c *Config, v string) error {
			c.RedisURL = v
			return nil
		}},
		{"REDIS_CLUSTER_URL", "", "redis://host:port?addr=host2:port2&addr=host3:port3 for a Redis Cluster", func(c *Config, v string) error {
			c.RedisClusterURL = v
			return nil
		}},
		{"TRACKD_ROLES", strings.Join(allRoles, ","), "comma-separated roles this node runs: web, ingest, poll, notify, outbound", parseRoles},
		{"TRACKD_BOOTSTRAP_API_KEY", "", "first API key (admin scope), at least 16 characters", func(c *Config, v string) error {
			if v != "" && len(v) < 16 {
				return errors.New("must be at least 16 characters")
			}
			c.BootstrapAPIKey = v
			return nil
		}},
		{"TRACKD_GENERIC_WEBHOOK_SECRET", "", "secret for /webhooks/generic signatures; comma-separated while rotating", func(c *Config, v string) error {
			c.GenericSecrets = nil
			for s := range strings.SplitSeq(v, ",") {
				if s = strings.TrimSpace(s); s != "" {
					c.GenericSecrets = append(c.GenericSecrets, s)
				}
			}
			return nil
		}},
		{"TRACKD_BOOTSTRAP_ADMIN", "", "the first console admin, email:password (created when no user has that email)", func(c *Config, v string) error {
			if v == "" {
				c.BootstrapAdmin = ""
				return nil
			}
			email, password, ok := strings.Cut(v, ":")
			if !ok || !strings.Contains(email, "@") || len(password) < console.MinPasswordLength {
				return fmt.Errorf("must be email:password, the password at least %d characters", console.MinPasswordLength)
			}
			c.BootstrapAdmin = v
			return nil
		}},
		{"TRACKD_API_RATE_LIMIT", "6000/m", "requests each API key may make, across all nodes (N/s, N/m, N/h; 0 for no limit)", func(c *Config, v string) error {
			if v == "0" {
				c.APIRateLimit = 0
				return nil
			}
			num, unit, ok := strings.Cut(v, "/")
			n, err := strconv.Atoi(strings.TrimSpace(num))
			per := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour}[strings.TrimSpace(unit)]
			if !ok || err != nil || n < 1 || per == 0 {
				return fmt.Errorf("%q is not N/s, N/m or N/h (like 6000/m), or 0", v)
			}
			c.APIRateLimit, c.APIRateWindow = n, per
			return nil
		}},
		{"TRACKD_OUTBOUND_ALLOW_PRIVATE", "false", "let webhook subscriptions target http:// and private, loopback or link-local addresses (tests)",
			boolSetting(func(c *Config) *bool { return &c.OutboundAllowPrivate })},
		{"TRACKD_SANDBOX", "false", "turn on POST /api/v1/sandbox/shipments/{id}/advance (moves a shipment through the real pipeline); never in production", boolSetting(func(c *Config) *bool { return &c.Sandbox })},
		{"TRACKD_DEMO", "false", "seed demo orders and a simulated carrier that moves them", boolSetting(func(c *Config) *bool { return &c.Demo })},
		{"TRACKD_KEY_PREFIX", "trackd:", "prefix of every Redis key", func(c *Config, v string) error {
			if strings.ContainsAny(v, "{}") {
				return errors.New("must not contain { or }")
			}
			c.KeyPrefix = v
			return nil
		}},
		{"TRACKD_SHARDS", "4", "shards of each shared stream; keep it the same on every node", intSetting(1, 1024, func(c *Config, n int) { c.Shards = n })},
		{"TRACKD_RETAIN_FINISHED", "90d", "how long delivered or returned shipments are kept", durationSetting(func(c *Config) *time.Duration { return &c.RetainFinished })},
		{"TRACKD_RETAIN_IDLE", "180d", "how long any other shipment is kept after its last change", durationSetting(func(c *Config) *time.Duration { return &c.RetainIdle })},
		{"TRACKD_INGEST_BACKLOG", "1000000", "unprocessed webhooks per shard beyond which webhooks get 503", intSetting(1, 1<<40, func(c *Config, n int) { c.IngestBacklog = int64(n) })},
		{"TRACKD_WEBHOOK_BODY_LIMIT", "1048576", "largest webhook body in bytes", intSetting(1024, 64<<20, func(c *Config, n int) { c.WebhookLimit = n })},
		{"TRACKD_NO_SCAN_AFTER", "96h", "a shipment with no scan for this long is delayed", durationSetting(func(c *Config) *time.Duration { return &c.NoScanAfter })},
		{"TRACKD_BRAND_NAME", "trackd", "the store's name on the shopper's pages", func(c *Config, v string) error {
			c.Brand.Name = v
			return nil
		}},
		{"TRACKD_BRAND_LOGO_URL", "", "the store's logo (URL or path); unset shows the name", func(c *Config, v string) error {
			c.Brand.LogoURL = v
			return nil
		}},
		{"TRACKD_BRAND_COLOR", "#1f4e79", "main colour of the pages, #rrggbb", colorSetting(func(c *Config) *string { return &c.Brand.Color })},
		{"TRACKD_BRAND_ACCENT_COLOR", "#2e7d32", "accent colour (progress, links), #rrggbb", colorSetting(func(c *Config) *string { return &c.Brand.AccentColor })},
		{"TRACKD_TRUSTED_PROXIES", "", "comma-separated IPs or CIDRs of load balancers whose X-Forwarded-For is believed", func(c *Config, v string) error {
			c.TrustedProxies = nil
			for p := range strings.SplitSeq(v, ",") {
				if p = strings.TrimSpace(p); p == "" {
					continue
				}
				if _, _, err := net.ParseCIDR(p); err != nil && net.ParseIP(p) == nil {
					return fmt.Errorf("%q is not an IP address or CIDR", p)
				}
				c.TrustedProxies = append(c.TrustedProxies, p)
			}
			return nil
		}},
		{"TRACKD_NOTIFY_COLLAPSE", "5m", "burst window: changes of one shipment within it send only the latest; 0 sends every change", func(c *Config, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d < 0 {
				return fmt.Errorf("%q is not a duration like 5m (0 to send every change)", v)
			}
			c.Notify.Collapse = d
			return nil
		}},
		{"TRACKD_NOTIFY_QUIET_HOURS", "21:00-08:00", "when SMS wait, in the shopper's time zone (HH:MM-HH:MM, or off)", parseQuietHours},
		{"TRACKD_NOTIFY_TIME_ZONE", "UTC", "the shoppers' time zone when an order names none (IANA name)", func(c *Config, v string) error {
			z, err := time.LoadLocation(v)
			if err != nil || v == "Local" || v == "" {
				return fmt.Errorf("%q is not an IANA time zone like Europe/Berlin", v)
			}
			c.Notify.Zone = z
			return nil
		}},
		{"TRACKD_NOTIFY_SECRET", "", "at least 32 characters: keys opt-out records and signs unsubscribe links; the same on every node, never changed", func(c *Config, v string) error {
			if v != "" && len(v) < 32 {
				return errors.New("must be at least 32 characters")
			}
			c.Notify.Secret = v
			return nil
		}},
		{"TRACKD_NOTIFY_LOG_RETENTION", "90d", "how long the notification delivery log keeps attempts", durationSetting(func(c *Config) *time.Duration { return &c.Notify.LogRetention })},
		{"TRACKD_SUPPORT_EMAIL", "", "the store's support address, for the notification templates", func(c *Config, v string) error {
			c.Notify.SupportEmail = v
			return nil
		}},
		{"TRACKD_POLL_RATES", "", "per-carrier poll rates shared by all nodes, e.g. dhl=250/d,ups=5/s (defaults: the carriers' published limits)", parsePollRates},
		{"TRACKD_DEBUG_ADDR", "", "address for Go's pprof profiles (e.g. 127.0.0.1:6060); unset: off", func(c *Config, v string) error {
			c.DebugAddr = v
			return nil
		}},
		{"TRACKD_LOG_LEVEL", "info", "debug, info, warn or error", func(c *Config, v string) error { return c.LogLevel.UnmarshalText([]byte(v)) }},
		{"TRACKD_LOG_FORMAT", "text", "text or json", func(c *Config, v string) error {
			switch v {
			case "text", "json":
				c.LogJSON = v == "json"
				return nil
			}
			return errors.New("must be text or json")
		}},
	}...)
}

// colorSetting accepts #rrggbb only: the value goes into the pages' CSS.
func colorSetting(field func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error {
		if len(v) != 7 || v[0] != '#' || strings.Trim(v[1:], "0123456789abcdefABCDEF") != "" {
			return fmt.Errorf("%q is not a colour like #1f4e79", v)
		}
		*field(c) = v
		return nil
	}
}

func adapterSetting(env string) setting {
	return setting{env, "", "carrier adapter setting", func(c *Config, v string) error {
		if c.AdapterEnv == nil {
			c.AdapterEnv = map[string]string{}
		}
		c.AdapterEnv[env] = v
		return nil
	}}
}

// parsePollRates reads "carrier=N/unit" pairs, unit s, m, h or d; the
// burst is six seconds' worth, at least one.
func parsePollRates(c *Config, v string) error {
	c.PollRates = map[string]polling.Rate{}
	for pair := range strings.SplitSeq(v, ",") {
		if pair = strings.TrimSpace(pair); pair == "" {
			continue
		}
		carrier, rate, ok := strings.Cut(pair, "=")
		num, unit, ok2 := strings.Cut(strings.TrimSpace(rate), "/")
		n, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
		per := map[string]float64{"s": 1, "m": 60, "h": 3600, "d": 86400}[strings.TrimSpace(unit)]
		if !ok || !ok2 || err != nil || n <= 0 || per == 0 {
			return fmt.Errorf("%q is not carrier=N/unit (unit s, m, h or d), e.g. dhl=250/d", pair)
		}
		perSecond := n / per
		c.PollRates[strings.ToLower(strings.TrimSpace(carrier))] = polling.Rate{PerSecond: perSecond, Burst: max(1, int(perSecond*6))}
	}
	return nil
}

// parseQuietHours reads "21:00-08:00", or "off".
func parseQuietHours(c *Config, v string) error {
	if v == "off" || v == "" {
		c.Notify.QuietStart, c.Notify.QuietEnd = 0, 0
		return nil
	}
	from, to, ok := strings.Cut(v, "-")
	start, err1 := time.Parse("15:04", strings.TrimSpace(from))
	end, err2 := time.Parse("15:04", strings.TrimSpace(to))
	if !ok || err1 != nil || err2 != nil {
		return fmt.Errorf("%q is not HH:MM-HH:MM (like 21:00-08:00) or off", v)
	}
	sinceMidnight := func(t time.Time) time.Duration {
		return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute
	}
	c.Notify.QuietStart, c.Notify.QuietEnd = sinceMidnight(start), sinceMidnight(end)
	return nil
}

func parseRoles(c *Config, v string) error {
	c.Roles = map[string]bool{}
	for r := range strings.SplitSeq(v, ",") {
		r = strings.TrimSpace(r)
		known := false
		for _, a := range allRoles {
			known = known || a == r
		}
		if !known {
			return fmt.Errorf("unknown role %q (want some of %s)", r, strings.Join(allRoles, ","))
		}
		c.Roles[r] = true
	}
	return nil
}

func boolSetting(field func(*Config) *bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%q is not a boolean (true, false, 1, 0)", v)
		}
		*field(c) = b
		return nil
	}
}

func intSetting(lo, hi int, set func(*Config, int)) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("%q is not a whole number from %d to %d", v, lo, hi)
		}
		set(c, n)
		return nil
	}
}

// durationSetting parses Go durations, plus whole days ("90d").
func durationSetting(field func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		var d time.Duration
		var err error
		if days, ok := strings.CutSuffix(v, "d"); ok {
			var n int
			n, err = strconv.Atoi(days)
			d = time.Duration(n) * 24 * time.Hour
		} else {
			d, err = time.ParseDuration(v)
		}
		if err != nil || d <= 0 {
			return fmt.Errorf("%q is not a positive duration (like 96h or 90d)", v)
		}
		*field(c) = d
		return nil
	}
}

// flagName is an environment variable's flag: REDIS_URL is redis-url.
func flagName(env string) string {
	return strings.ReplaceAll(strings.ToLower(env), "_", "-")
}

// LoadConfig reads the environment, then flags, which override it. The
// error names the variable and what is wrong with its value.
func LoadConfig(args []string, getenv func(string) string, usage io.Writer) (Config, error) {
	var c Config
	fs := flag.NewFlagSet("trackd", flag.ContinueOnError)
	fs.SetOutput(usage)
	values := map[string]*string{}
	for _, s := range settings() {
		v := getenv(s.env)
		if v == "" {
			v = s.def
		}
		values[s.env] = fs.String(flagName(s.env), v, s.help+" ($"+s.env+")")
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	for _, s := range settings() {
		if err := s.set(&c, *values[s.env]); err != nil {
			return c, fmt.Errorf("%s (--%s): %w", s.env, flagName(s.env), err)
		}
	}
	if c.PublicURL == "" {
		host := c.Addr
		if strings.HasPrefix(host, ":") {
			host = "localhost" + host
		}
		c.PublicURL = "http://" + host
		c.publicURLFromAddr = true
	}
	if c.RedisURL != "" && c.RedisClusterURL != "" {
		return c, errors.New("REDIS_URL and REDIS_CLUSTER_URL are both set; set one")
	}
	if _, err := salesforce.ConfigFromEnv(func(k string) string { return c.AdapterEnv[k] }); err != nil {
		return c, err
	}
	return c, nil
}
