// Package usps also holds the adapter for the United States Postal Service:
// it polls USPS's Tracking API v3 and takes the tracking notifications of
// its Subscriptions - Tracking API.
//
// # Polling
//
// Poll sends GET {BaseURL}/tracking/v3/tracking/{number}?expand=DETAIL with
// an OAuth 2.0 access token (client credentials, from
// {BaseURL}/oauth2/v3/token with client_id and client_secret in the form),
// fetched once and shared until shortly before it expires, and fetched
// again when the API answers 401 (see carriers/oauth). The answer, the
// spec's TrackingDetails object, is returned as received; ParsePoll turns
// its trackingEvents (newest first) into events. The Web Tools XML API
// that preceded v3 is retired and not spoken here.
//
// # Webhooks
//
// USPS pushes tracking through its Subscriptions - Tracking API: a
// subscription names a listenerURL (https://<trackd>/webhooks/usps) and
// may carry a 32-character secret. USPS then POSTs a JSON envelope
//
//	{"subscriptionId": "...", "subscriptionType": "TRACKING",
//	 "timestamp": "2026-07-23T14:32:00Z", "payload": "<tracking JSON, as a string>"}
//
// signed in the X-HMAC header (formerly hmac-header): the base64
// HMAC-SHA256, keyed with the subscription secret, of the timestamp field
// followed by the payload field, both exactly as the envelope carries them.
// USPS's own page (developers.usps.com/subscriptions-trackingv3r2) renders
// only in a browser, so this follows the description published in
// hookdeck/webhook-skills (skills/usps-webhooks/references/verification.md),
// which read it there; testdata/SOURCES.md says more. No signed notification
// has been published, so the scheme is tested against itself only.
//
// Only the timestamp and the payload are signed. Changing another field can
// only make a notification say nothing (another subscriptionType is not
// read), and a replayed one says what it said before, which changes nothing
// once applied: so neither the other fields nor the timestamp's age are
// checked. Without a
// configured secret every notification is refused, as is one without the
// header: a subscription made without a secret is not signed at all.
//
// The payload of a TRACKING notification is read like a poll answer: its
// trackingNumber, its estimates and its trackingEvents. USPS calls it a
// summary with the recent events, so a notification may carry fewer events
// than a poll; the store de-duplicates events, so both routes agree. Other
// subscription types (USPS also offers a scan-event extract, whose payload
// has not been published) are accepted and give no update.
package usps

import (
	"net/http"
	"strings"
	"time"

	"github.com/trackd/trackd/carriers"
	"github.com/trackd/trackd/carriers/oauth"
)

// DefaultBaseURL is USPS's production API root. The testing environment is
// https://apis-tem.usps.com.
const DefaultBaseURL = "https://apis.usps.com"

// DefaultTimeout bounds one poll, token fetch included. USPS answers in
// about a second when well; twenty seconds covers a slow token endpoint
// without holding the poll scheduler's lease on a shipment for long.
const DefaultTimeout = 20 * time.Second

// Config configures the adapter. The zero value parses webhooks and poll
// answers but verifies no webhook (no secret) and polls nothing (no
// credentials).
type Config struct {
	// ClientID and ClientSecret are the Consumer Key and Consumer Secret of
	// the app registered on developers.usps.com, with the Tracking API.
	ClientID     string
	ClientSecret string
	// WebhookSecret is the secret given when the tracking subscription was
	// created. Without it every webhook is refused.
	WebhookSecret string
	// BaseURL is the API root (default DefaultBaseURL); the token endpoint
	// and the Tracking API hang below it. Tests point it at a local server.
	BaseURL string
	// HTTPClient sends token and poll requests (default: a client of its
	// own over http.DefaultTransport). Its own Timeout, if any, applies too.
	HTTPClient *http.Client
	// Timeout bounds one poll (default DefaultTimeout).
	Timeout time.Duration
}

// ConfigFromEnv reads TRACKD_USPS_CLIENT_ID, TRACKD_USPS_CLIENT_SECRET,
// TRACKD_USPS_WEBHOOK_SECRET and TRACKD_USPS_BASE_URL.
func ConfigFromEnv(getenv func(string) string) Config {
	return Config{
		ClientID:      strings.TrimSpace(getenv("TRACKD_USPS_CLIENT_ID")),
		ClientSecret:  strings.TrimSpace(getenv("TRACKD_USPS_CLIENT_SECRET")),
		WebhookSecret: strings.TrimSpace(getenv("TRACKD_USPS_WEBHOOK_SECRET")),
		BaseURL:       strings.TrimSpace(getenv("TRACKD_USPS_BASE_URL")),
	}
}

// Adapter is the USPS adapter: a carriers.Adapter, a carriers.Poller and a
// carriers.Detector.
type Adapter struct {
	cfg   Config
	oauth *oauth.Client // sends the poll requests, with the token
	now   func() time.Time
}

var (
	_ carriers.Adapter  = (*Adapter)(nil)
	_ carriers.Poller   = (*Adapter)(nil)
	_ carriers.Detector = (*Adapter)(nil)
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
	return &Adapter{
		cfg: cfg,
		oauth: oauth.New(oauth.Config{
			TokenURL:     cfg.BaseURL + "/oauth2/v3/token",
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			AuthStyle:    oauth.AuthInParams,
			HTTPClient:   client,
		}),
		now: time.Now,
	}
}

// Slug implements carriers.Adapter.
func (*Adapter) Slug() string { return "usps" }

// Name implements carriers.Adapter.
func (*Adapter) Name() string { return "USPS" }

// Detect implements carriers.Detector; see the package function Detect.
func (*Adapter) Detect(number string) float64 { return Detect(number) }
