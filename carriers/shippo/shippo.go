// Package shippo is trackd's adapter for Shippo, a tracking aggregator:
// its track_updated webhooks and its tracking API (GET /tracks/{carrier}/{number}).
//
// Shippo is a route for data, not a carrier: every update names the carrier
// that moves the parcel (Update.Carrier "usps", "ups", "fedex", "dhl", ...),
// so it lands on the shipment registered with that carrier and number.
//
// Webhooks. Shippo posts {"event": "track_updated", "test": <bool>, "data":
// <Track>} to a URL the merchant registers. It signs nothing by default; it
// recommends a self-generated token in the URL, which is what trackd checks:
// register https://<trackd>/webhooks/shippo?token=<TRACKD_SHIPPO_WEBHOOK_SECRET>.
// Webhooks of other event types (transaction_created, batch_purchased, ...)
// are acknowledged and yield no update. Test webhooks ("test": true) are
// parsed like live ones: Shippo's test mode tracks under the carrier token
// "shippo", so they never touch a real carrier's shipment.
//
// Polling. Shippo's tracking API needs the carrier token as well as the
// number, so Poll takes "<carrier>/<number>", e.g. "usps/9205590164917337534322".
// The carrier is Shippo's token (usps, ups, fedex, dhl_express, ...); trackd's
// own slug "dhl" is sent as dhl_express, the DHL product Shippo tracks most.
package shippo

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/trackd/trackd/carriers"
)

// DefaultBaseURL is Shippo's API.
const DefaultBaseURL = "https://api.goshippo.com"

// DefaultTimeout bounds one poll, answer included. Shippo answers a track
// request in well under a second normally; thirty seconds leaves room for a
// slow carrier behind it without letting one request hold a poller's slot.
const DefaultTimeout = 30 * time.Second

// Config configures the adapter.
type Config struct {
	// WebhookToken is the token the webhook URL must carry as ?token=.
	// Empty refuses every webhook: an unauthenticated endpoint would let
	// anyone move any shipment.
	WebhookToken string
	// APIKey is the Shippo API token used for polling (live or test).
	APIKey string
	// BaseURL is Shippo's API root; configuration so tests can point it at
	// a local server. Empty means DefaultBaseURL.
	BaseURL string
	// HTTPClient makes the poll requests; nil means a client of the
	// adapter's own over http.DefaultTransport.
	HTTPClient *http.Client
	// Timeout bounds one poll; zero means DefaultTimeout.
	Timeout time.Duration
}

// ConfigFromEnv reads TRACKD_SHIPPO_WEBHOOK_SECRET (the URL token),
// TRACKD_SHIPPO_API_KEY and TRACKD_SHIPPO_BASE_URL.
func ConfigFromEnv(getenv func(string) string) Config {
	cfg := Config{
		WebhookToken: strings.TrimSpace(getenv("TRACKD_SHIPPO_WEBHOOK_SECRET")),
		APIKey:       strings.TrimSpace(getenv("TRACKD_SHIPPO_API_KEY")),
		BaseURL:      strings.TrimSpace(getenv("TRACKD_SHIPPO_BASE_URL")),
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	return cfg
}

// Adapter is the Shippo adapter. It implements carriers.Adapter and
// carriers.Poller.
type Adapter struct {
	cfg    Config
	client *http.Client
	now    func() time.Time
}

var (
	_ carriers.Adapter = (*Adapter)(nil)
	_ carriers.Poller  = (*Adapter)(nil)
)

// New returns an adapter for cfg, with defaults filled in.
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
func (*Adapter) Slug() string { return "shippo" }

// Routes implements carriers.Route: an aggregator carries the data of the
// carriers it tracks for its users.
func (*Adapter) Routes() string { return "the carriers it tracks" }

// Name implements carriers.Adapter.
func (*Adapter) Name() string { return "Shippo" }

// TokenParam is the query parameter carrying the webhook token.
const TokenParam = "token"

// VerifyWebhook implements carriers.Adapter: the request's ?token= must be
// the configured token. The comparison is over SHA-256 digests in constant
// time, so neither the token nor its length leaks through timing.
func (a *Adapter) VerifyWebhook(r carriers.WebhookRequest) error {
	if a.cfg.WebhookToken == "" {
		return fmt.Errorf("%w: no Shippo webhook token is configured (TRACKD_SHIPPO_WEBHOOK_SECRET)", carriers.ErrUnauthenticated)
	}
	got := ""
	if r.Query != nil {
		got = r.Query(TokenParam)
	}
	if got == "" {
		return fmt.Errorf("%w: no ?%s= in the webhook URL", carriers.ErrUnauthenticated, TokenParam)
	}
	want := sha256.Sum256([]byte(a.cfg.WebhookToken))
	have := sha256.Sum256([]byte(got))
	if subtle.ConstantTimeCompare(want[:], have[:]) != 1 {
		return fmt.Errorf("%w: wrong ?%s=", carriers.ErrUnauthenticated, TokenParam)
	}
	return nil
}
