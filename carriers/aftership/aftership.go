// Package aftership is trackd's adapter for AfterShip Tracking, an
// aggregator: its webhooks (signed with aftership-hmac-sha256) and its
// Tracking REST API (polled with the as-api-key header) carry the scans of
// hundreds of couriers, each classified with AfterShip's tag and subtag
// taxonomy (statuses.go). Every update names the courier that moves the
// parcel, never AfterShip (couriers.go).
//
// The adapter speaks AfterShip's legacy Tracking API, v4, the version of
// every published AfterShip payload (see testdata/SOURCES.md), and the
// legacy webhook body, which carries the same tracking object. The dated
// API versions (https://api.aftership.com/tracking/2024-04 and later) keep
// the tag taxonomy and most field names but drop the by-courier-and-number
// endpoint; see Poll.
package aftership

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/trackd/trackd/carriers"
	"github.com/trackd/trackd/tracking"
)

// SignatureHeader carries base64(HMAC-SHA256(webhook secret, raw body)),
// https://www.aftership.com/docs/tracking/webhook/webhook-signature. (The
// as-signature-hmac-sha256 header of AfterShip Returns and of its API
// request signing is another thing.)
const SignatureHeader = "aftership-hmac-sha256"

// DefaultBaseURL is AfterShip's legacy v4 Tracking API. AfterShip serves
// v4 at /v4, not under /tracking/ like the dated versions (its migration
// guides: "Base URL https://api.aftership.com/v4").
const DefaultBaseURL = "https://api.aftership.com/v4"

// Config configures the adapter. The zero value parses webhooks and poll
// answers but verifies no webhook (no secret) and polls nothing (no key).
type Config struct {
	// WebhookSecret is the secret shown in AfterShip's Tracking settings,
	// Webhooks. Without it every webhook is refused.
	WebhookSecret string
	// APIKey is an AfterShip API key, sent as as-api-key.
	APIKey string
	// BaseURL is the Tracking API root (default DefaultBaseURL); tests
	// point it at a local server.
	BaseURL string
	// HTTPClient sends poll requests (default: a client of its own over
	// http.DefaultTransport). Its own Timeout, if any, applies too.
	HTTPClient *http.Client
	// Timeout bounds one poll, connection to last byte (default 15s):
	// AfterShip answers from its own store in well under a second, and a
	// hung request must not hold the poll scheduler's lease on a shipment.
	Timeout time.Duration
}

// DefaultTimeout is Config.Timeout's default.
const DefaultTimeout = 15 * time.Second

// ConfigFromEnv reads TRACKD_AFTERSHIP_WEBHOOK_SECRET,
// TRACKD_AFTERSHIP_API_KEY and TRACKD_AFTERSHIP_BASE_URL.
func ConfigFromEnv(getenv func(string) string) Config {
	return Config{
		WebhookSecret: strings.TrimSpace(getenv("TRACKD_AFTERSHIP_WEBHOOK_SECRET")),
		APIKey:        strings.TrimSpace(getenv("TRACKD_AFTERSHIP_API_KEY")),
		BaseURL:       strings.TrimSpace(getenv("TRACKD_AFTERSHIP_BASE_URL")),
	}
}

// Adapter is the AfterShip adapter: a carriers.Adapter and a
// carriers.Poller. AfterShip tracking numbers have no format of their own,
// so it is no carriers.Detector.
type Adapter struct {
	cfg    Config
	client *http.Client
	now    func() time.Time
}

var (
	_ carriers.Adapter = (*Adapter)(nil)
	_ carriers.Poller  = (*Adapter)(nil)
)

// New returns an adapter, with cfg's defaults filled in.
func New(cfg Config) *Adapter {
	cfg.BaseURL = strings.TrimRight(strings.TrimSpace(cfg.BaseURL), "/")
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{}
	}
	return &Adapter{cfg: cfg, client: client, now: time.Now}
}

// Slug implements carriers.Adapter.
func (*Adapter) Slug() string { return "aftership" }

// Routes implements carriers.Route: an aggregator carries the data of the
// carriers it tracks for its users.
func (*Adapter) Routes() string { return "the carriers it tracks" }

// Name implements carriers.Adapter.
func (*Adapter) Name() string { return "AfterShip" }

// VerifyWebhook implements carriers.Adapter: the aftership-hmac-sha256
// header must be the base64 HMAC-SHA256 of the raw body under the webhook
// secret, compared in constant time. AfterShip signs nothing else (no
// timestamp), so there is no replay window to check; a replayed body is
// one trackd has stored already, and applying it again changes nothing.
func (a *Adapter) VerifyWebhook(r carriers.WebhookRequest) error {
	if err := verify(a.cfg.WebhookSecret, header(r, SignatureHeader), r.Body); err != nil {
		return fmt.Errorf("%w: %w", carriers.ErrUnauthenticated, err)
	}
	return nil
}

func header(r carriers.WebhookRequest, name string) string {
	if r.Header == nil {
		return ""
	}
	return r.Header(name)
}

func verify(secret, sig string, body []byte) error {
	if secret == "" {
		return errors.New("no AfterShip webhook secret configured (TRACKD_AFTERSHIP_WEBHOOK_SECRET)")
	}
	sig = strings.TrimSpace(sig)
	if sig == "" {
		return fmt.Errorf("missing %s header", SignatureHeader)
	}
	got, err := base64.StdEncoding.DecodeString(sig)
	if err != nil || len(got) != sha256.Size {
		return fmt.Errorf("%s is not a base64 HMAC-SHA256", SignatureHeader)
	}
	if !hmac.Equal(got, Sign(secret, body)) {
		return fmt.Errorf("%s does not match the body", SignatureHeader)
	}
	return nil
}

// Sign returns the raw HMAC-SHA256 of body under secret; its base64 is
// what AfterShip sends in SignatureHeader. Tests and tools sign with it.
func Sign(secret string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return m.Sum(nil)
}

// SignatureOf returns the SignatureHeader value for body under secret.
func SignatureOf(secret string, body []byte) string {
	return base64.StdEncoding.EncodeToString(Sign(secret, body))
}

// ParseWebhook implements carriers.Adapter; see parseWebhook.
func (*Adapter) ParseWebhook(body []byte) ([]tracking.Update, error) { return parseWebhook(body) }

// ParsePoll implements carriers.Poller; see parsePoll.
func (*Adapter) ParsePoll(body []byte) ([]tracking.Update, error) { return parsePoll(body) }
