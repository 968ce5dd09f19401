// Package settings keeps the settings marketing changes at run time from
// the console: the brand (the tracking page's and the emails' look and
// support contact), the SMS quiet hours and the notification collapse
// window. They live in Redis, over defaults taken from the environment,
// so every node sees a change within Config.MaxAge without a restart.
package settings

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"
	"github.com/trackd/trackd/notify/templates"
)

// Brand is the retailer's look and contact.
type Brand struct {
	Name string `json:"name"`
	// LogoURL is an https:// URL or a path on trackd; empty shows the name.
	LogoURL string `json:"logo_url"`
	// Color and AccentColor are #rrggbb.
	Color       string `json:"color"`
	AccentColor string `json:"accent_color"`
	// SupportEmail is where shoppers write; empty when there is none.
	SupportEmail string `json:"support_email"`
}

// QuietHours are when SMS wait, in the shopper's zone: Start and End are
// offsets from midnight (Start after End spans midnight).
type QuietHours struct {
	Start, End time.Duration
	Off        bool
}

// String is the hours as ParseQuietHours reads them: "21:00-08:00" or "off".
func (q QuietHours) String() string {
	if q.Off || q.Start == q.End {
		return "off"
	}
	return clock(q.Start) + "-" + clock(q.End)
}

func clock(d time.Duration) string {
	return fmt.Sprintf("%02d:%02d", int(d/time.Hour), int(d%time.Hour/time.Minute))
}

// ParseQuietHours reads "21:00-08:00" (an en dash will do too), or "off".
func ParseQuietHours(s string) (QuietHours, error) {
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, "off") {
		return QuietHours{Off: true}, nil
	}
	s = strings.ReplaceAll(s, "–", "-")
	from, to, ok := strings.Cut(s, "-")
	start, err1 := parseClock(from)
	end, err2 := parseClock(to)
	if !ok || err1 != nil || err2 != nil {
		return QuietHours{}, fmt.Errorf("%q is not HH:MM-HH:MM (like 21:00-08:00) or off", s)
	}
	q := QuietHours{Start: start, End: end}
	return q, q.check()
}

func parseClock(s string) (time.Duration, error) {
	t, err := time.Parse("15:04", strings.TrimSpace(s))
	if err != nil {
		return 0, err
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}

func (q QuietHours) check() error {
	if q.Off {
		return nil
	}
	for _, d := range []time.Duration{q.Start, q.End} {
		if d < 0 || d >= 24*time.Hour || d%time.Minute != 0 {
			return fmt.Errorf("%s is not a time of day in whole minutes", d)
		}
	}
	if q.Start == q.End {
		return errors.New("start and end are the same; say off for no quiet hours")
	}
	return nil
}

// Settings are every runtime setting.
type Settings struct {
	Brand      Brand
	QuietHours QuietHours
	// Collapse is the burst window: a shipment's changes within it send
	// only the latest. Zero sends every change.
	Collapse time.Duration
}

// MaxCollapse bounds the collapse window: every notification waits that
// long, and a day late is no longer news.
const MaxCollapse = 24 * time.Hour

// FieldError is one setting that is wrong, by its field name: "name",
// "logo_url", "color", "accent_color", "support_email", "quiet_hours",
// "collapse".
type FieldError struct{ Field, Message string }

// Errors are the settings refused by a Set, each with why; nothing was
// stored.
type Errors []FieldError

func (e Errors) Error() string {
	msgs := make([]string, len(e))
	for i, f := range e {
		msgs[i] = f.Field + ": " + f.Message
	}
	return "invalid settings: " + strings.Join(msgs, "; ")
}

// Message returns the message for field, "" when it is fine.
func (e Errors) Message(field string) string {
	for _, f := range e {
		if f.Field == field {
			return f.Message
		}
	}
	return ""
}

// Config configures a Store.
type Config struct {
	// Prefix starts the store's key, as TRACKD_KEY_PREFIX ("trackd:").
	Prefix string
	// Defaults are what holds where nothing was stored: the environment's
	// values.
	Defaults Settings
	// MaxAge is how old the cached settings the hot paths read may be. A
	// tracking page view or a notification reads them; five seconds keeps
	// that to one Redis read per node every five seconds, and a change
	// reaches every node about as fast as marketing can look.
	MaxAge time.Duration
}

// Store keeps the settings in one Redis hash, <prefix>console:settings:
// "brand" (JSON), "quiet_hours" ("21:00-08:00" or "off") and "collapse"
// (a Go duration). A field not set has its default.
type Store struct {
	rdb redis.UniversalClient
	key string
	cfg Config
	now func() time.Time

	mu         sync.Mutex
	cached     Settings
	readAt     time.Time // when cached was read; zero: never
	refreshing bool
	ready      chan struct{} // closed once the first read finished
}

// New returns the settings under cfg.Prefix. A MaxAge of zero is five
// seconds.
func New(rdb redis.UniversalClient, cfg Config) *Store {
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = 5 * time.Second
	}
	return &Store{rdb: rdb, key: cfg.Prefix + "console:settings", cfg: cfg, now: time.Now,
		cached: cfg.Defaults, ready: make(chan struct{})}
}

// Defaults returns the defaults the store was made with.
func (s *Store) Defaults() Settings { return s.cfg.Defaults }

// Get reads the settings in force: what was stored, over the defaults.
func (s *Store) Get(ctx context.Context) (Settings, error) {
	m, err := s.rdb.HGetAll(ctx, s.key).Result()
	if err != nil {
		return Settings{}, fmt.Errorf("read settings: %w", err)
	}
	out := s.cfg.Defaults
	if v, ok := m["brand"]; ok {
		if err := json.Unmarshal([]byte(v), &out.Brand); err != nil {
			return Settings{}, fmt.Errorf("read settings: brand: %w", err)
		}
	}
	if v, ok := m["quiet_hours"]; ok {
		if out.QuietHours, err = ParseQuietHours(v); err != nil {
			return Settings{}, fmt.Errorf("read settings: quiet hours: %w", err)
		}
	}
	if v, ok := m["collapse"]; ok {
		if out.Collapse, err = time.ParseDuration(v); err != nil {
			return Settings{}, fmt.Errorf("read settings: collapse: %w", err)
		}
	}
	s.remember(out)
	return out, nil
}

// SetBrand validates b and stores it whole; a wrong field is an Errors
// naming it, and nothing is stored. Colours are stored lower-case.
func (s *Store) SetBrand(ctx context.Context, b Brand) (Brand, error) {
	b, errs := CheckBrand(b)
	if len(errs) > 0 {
		return b, errs
	}
	v, _ := json.Marshal(b)
	if err := s.rdb.HSet(ctx, s.key, "brand", v).Err(); err != nil {
		return b, fmt.Errorf("store brand: %w", err)
	}
	s.forget()
	return b, nil
}

// SetNotifications validates and stores the quiet hours and the collapse
// window; a wrong one is an Errors naming it, and nothing is stored.
func (s *Store) SetNotifications(ctx context.Context, q QuietHours, collapse time.Duration) error {
	var errs Errors
	if err := q.check(); err != nil {
		errs = append(errs, FieldError{"quiet_hours", err.Error()})
	}
	if msg := checkCollapse(collapse); msg != "" {
		errs = append(errs, FieldError{"collapse", msg})
	}
	if len(errs) > 0 {
		return errs
	}
	if err := s.rdb.HSet(ctx, s.key, "quiet_hours", q.String(), "collapse", collapse.String()).Err(); err != nil {
		return fmt.Errorf("store notification settings: %w", err)
	}
	s.forget()
	return nil
}

func checkCollapse(d time.Duration) string {
	switch {
	case d < 0:
		return "must not be negative (0 sends every change)"
	case d > MaxCollapse:
		return "must be at most 24h: every notification waits that long"
	}
	return ""
}

// ParseCollapse reads a collapse window, a Go duration like 5m or 90s
// ("0" sends every change).
func ParseCollapse(s string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration like 5m, 90s or 0", strings.TrimSpace(s))
	}
	if msg := checkCollapse(d); msg != "" {
		return 0, errors.New(msg)
	}
	return d, nil
}

// CheckBrand returns b tidied (spaces trimmed, colours lower-case) and
// what is wrong with it, by field.
func CheckBrand(b Brand) (Brand, Errors) {
	b.Name = strings.TrimSpace(b.Name)
	b.LogoURL = strings.TrimSpace(b.LogoURL)
	b.Color = strings.ToLower(strings.TrimSpace(b.Color))
	b.AccentColor = strings.ToLower(strings.TrimSpace(b.AccentColor))
	b.SupportEmail = strings.TrimSpace(b.SupportEmail)
	var errs Errors
	add := func(field, msg string) { errs = append(errs, FieldError{field, msg}) }
	switch {
	case b.Name == "":
		add("name", "is required: it heads the tracking page and signs the emails")
	case utf8.RuneCountInString(b.Name) > 80:
		add("name", "must be at most 80 characters")
	case strings.ContainsFunc(b.Name, unicode.IsControl):
		add("name", "must be one line, without control characters")
	}
	if msg := checkLogo(b.LogoURL); msg != "" {
		add("logo_url", msg)
	}
	if !isColor(b.Color) {
		add("color", fmt.Sprintf("%q is not a colour like #1f4e79", b.Color))
	}
	if !isColor(b.AccentColor) {
		add("accent_color", fmt.Sprintf("%q is not a colour like #2e7d32", b.AccentColor))
	}
	if b.SupportEmail != "" {
		a, err := mail.ParseAddress(b.SupportEmail)
		if err != nil || a.Address != b.SupportEmail || len(b.SupportEmail) > 254 {
			add("support_email", fmt.Sprintf("%q is not an email address like help@example.com", b.SupportEmail))
		}
	}
	return b, errs
}

// checkLogo allows an https:// URL or a path on trackd's own origin: the
// tracking page's Content-Security-Policy loads images from nowhere else.
func checkLogo(u string) string {
	const want = "must be an https:// address or a path starting with /"
	switch {
	case u == "":
		return ""
	case len(u) > 2048:
		return "must be at most 2048 characters"
	case strings.ContainsFunc(u, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
		return "must not contain spaces: " + want
	case strings.HasPrefix(u, "/") && !strings.HasPrefix(u, "//") && !strings.Contains(u, "\\"):
		return ""
	}
	p, err := url.Parse(u)
	if err != nil || p.Scheme != "https" || p.Host == "" || p.User != nil {
		return want
	}
	return ""
}

func isColor(v string) bool {
	return len(v) == 7 && v[0] == '#' && strings.Trim(v[1:], "0123456789abcdef") == ""
}

// Current returns the settings for a hot path: read from Redis at most
// every MaxAge, the last ones read (or the defaults) in between and while
// Redis cannot be reached, so a page or a notification never fails for
// them. One caller refreshes while the others go on with what is cached.
func (s *Store) Current(ctx context.Context) Settings {
	s.mu.Lock()
	fresh := !s.readAt.IsZero() && s.now().Sub(s.readAt) < s.cfg.MaxAge
	if fresh || s.refreshing {
		cur, first := s.cached, s.readAt.IsZero()
		s.mu.Unlock()
		if first {
			// Until the first read is in, wait for it rather than show the
			// defaults where marketing set something else.
			select {
			case <-s.ready:
				s.mu.Lock()
				cur = s.cached
				s.mu.Unlock()
			case <-ctx.Done():
			}
		}
		return cur
	}
	s.refreshing = true
	s.mu.Unlock()

	got, err := s.Get(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refreshing = false
	if err != nil {
		// Keep what we had; try again after MaxAge rather than on every
		// request while Redis is away.
		if s.readAt.IsZero() {
			close(s.ready)
		}
		s.readAt = s.now()
		return s.cached
	}
	return got
}

// remember caches what Get read.
func (s *Store) remember(v Settings) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.readAt.IsZero() {
		close(s.ready)
	}
	s.cached, s.readAt = v, s.now()
}

// forget makes this node's next Current read Redis: a change made here
// shows here at once.
func (s *Store) forget() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.readAt.IsZero() {
		s.readAt = s.now().Add(-s.cfg.MaxAge)
	}
}

// Brand is the brand in force (cached: see Current).
func (s *Store) Brand(ctx context.Context) Brand { return s.Current(ctx).Brand }

// StoreInfo is the shop as the notification templates name it ({{ store.name }},
// {{ store.support_email }}), at url (cached: see Current).
func (s *Store) StoreInfo(ctx context.Context, url string) templates.StoreInfo {
	b := s.Brand(ctx)
	return templates.StoreInfo{Name: b.Name, URL: url, SupportEmail: b.SupportEmail}
}

// QuietHours returns the quiet hours in force as the notifier counts
// them, offsets from midnight, equal when there are none (cached: see
// Current).
func (s *Store) QuietHours(ctx context.Context) (start, end time.Duration) {
	q := s.Current(ctx).QuietHours
	if q.Off || q.Start == q.End {
		return 0, 0
	}
	return q.Start, q.End
}

// Collapse is the collapse window in force (cached: see Current).
func (s *Store) Collapse(ctx context.Context) time.Duration { return s.Current(ctx).Collapse }
