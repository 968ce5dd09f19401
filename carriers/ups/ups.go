// Package ups is trackd's UPS adapter. Its tracking numbers are recognised
// by Detect, which needs no credentials and no configuration.
//
// # Webhooks: UPS Track Alert
//
// Track Alert posts one JSON object per package activity to the URL of a
// subscription (UPSTrackAlert.yaml, webhooks.TrackingEvent, in
// github.com/UPS-API/api-documentation). UPS authenticates those posts in
// one of two ways, depending on the API version the subscription was made
// with, and VerifyWebhook accepts both:
//
//   - v1: the subscription's destination carries a "credential", an opaque
//     string the subscriber chooses, and UPS sends it back verbatim in the
//     credential header of every post. Subscribe with the webhook secret
//     (TRACKD_UPS_WEBHOOK_SECRET) as the credential; it is compared in
//     constant time.
//   - v2: the subscriber registers a token URL, a client id and a secret
//     with UPS (developer.ups.com, "Manage Webhook Credentials"; security
//     scheme clientOauth2, client_secret_basic). UPS fetches an OAuth 2.0
//     client-credentials token there and posts with Authorization: Bearer.
//     trackd is that token endpoint: register
//     https://<trackd>/webhooks/ups/token as the token URL, the webhook
//     client id (TRACKD_UPS_WEBHOOK_CLIENT_ID, default "ups") as the
//     client id and the webhook secret as the client secret. The route
//     calls IssueWebhookToken. Its tokens are stateless (an expiry and an
//     HMAC over it, keyed from the webhook secret), so every trackd node
//     verifies the tokens any node issued, and changing the secret revokes
//     them all.
//
// # Polling: UPS Track API
//
// Poll asks GET /api/track/v1/details/{inquiryNumber} (Tracking.yaml) with
// an OAuth 2.0 client-credentials token from /security/v1/oauth/token,
// fetched with HTTP Basic client authentication and shared by every poll
// until shortly before it expires (carriers/oauth).
//
// # Times
//
// UPS gives local wall times without an offset: YYYYMMDD dates and HHMMSS
// times (whose leading zero may be missing). Beside them come GMT times
// (Track Alert: gmtActivityDate/Time; Track API: gmtDate/gmtTime, when
// present) and sometimes gmtOffset. The GMT time is the instant; the
// offset of the local time is gmtOffset, or the difference between the
// local and the GMT time. Without a GMT time, the zone of the activity's
// place is looked up (carriers/zones), and an event at a place of unknown
// zone is marked OffsetUnknown.
package ups

import (
	"net/http"
	"strings"
	"time"

	"github.com/trackd/trackd/carriers"
	"github.com/trackd/trackd/carriers/oauth"
	"github.com/trackd/trackd/tracking"
)

// Slug is the adapter's slug, in URLs, configuration and updates.
const Slug = "ups"

// DefaultBaseURL is UPS's production host; its Customer Integration
// Environment is https://wwwcie.ups.com. The Track API lives under /api,
// the token endpoint under /security.
const DefaultBaseURL = "https://onlinetools.ups.com"

// DefaultWebhookClientID is Config.WebhookClientID's default.
const DefaultWebhookClientID = "ups"

// DefaultTimeout is Config.Timeout's default.
const DefaultTimeout = 15 * time.Second

// Config configures the adapter. The zero value parses webhooks and poll
// answers but verifies no webhook (no secret) and polls nothing (no
// client credentials).
type Config struct {
	// ClientID and ClientSecret are the UPS developer app's credentials,
	// for the Track API's OAuth tokens.
	ClientID     string
	ClientSecret string
	// AccountNumber is a UPS shipper account number, sent as x-merchant-id
	// with token requests; optional.
	AccountNumber string
	// BaseURL is the UPS host (default DefaultBaseURL); tests point it at
	// a local server.
	BaseURL string
	// WebhookSecret authenticates Track Alert: the v1 credential, and the
	// v2 token endpoint's client secret. Without it every webhook and
	// every token request is refused.
	WebhookSecret string
	// WebhookClientID is the client id UPS must present to the token
	// endpoint (default DefaultWebhookClientID).
	WebhookClientID string
	// HTTPClient sends token and poll requests (default: a client of its
	// own over http.DefaultTransport). Its own Timeout, if any, applies too.
	HTTPClient *http.Client
	// Timeout bounds one poll, token request included (default 15s): a
	// hung request must not hold the poll scheduler's lease on a shipment.
	Timeout time.Duration
}

// ConfigFromEnv reads TRACKD_UPS_CLIENT_ID, TRACKD_UPS_CLIENT_SECRET,
// TRACKD_UPS_ACCOUNT_NUMBER, TRACKD_UPS_BASE_URL,
// TRACKD_UPS_WEBHOOK_SECRET and TRACKD_UPS_WEBHOOK_CLIENT_ID.
func ConfigFromEnv(getenv func(string) string) Config {
	return Config{
		ClientID:        strings.TrimSpace(getenv("TRACKD_UPS_CLIENT_ID")),
		ClientSecret:    strings.TrimSpace(getenv("TRACKD_UPS_CLIENT_SECRET")),
		AccountNumber:   strings.TrimSpace(getenv("TRACKD_UPS_ACCOUNT_NUMBER")),
		BaseURL:         strings.TrimSpace(getenv("TRACKD_UPS_BASE_URL")),
		WebhookSecret:   strings.TrimSpace(getenv("TRACKD_UPS_WEBHOOK_SECRET")),
		WebhookClientID: strings.TrimSpace(getenv("TRACKD_UPS_WEBHOOK_CLIENT_ID")),
	}
}

// Adapter is the UPS adapter: a carriers.Adapter, carriers.Poller and
// carriers.Detector, and the token endpoint of Track Alert v2.
type Adapter struct {
	cfg    Config
	tokens *oauth.Client
	// tokenKey signs and verifies the webhook tokens (webhookTokenKey).
	tokenKey []byte
	now      func() time.Time
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
	if cfg.WebhookClientID == "" {
		cfg.WebhookClientID = DefaultWebhookClientID
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{}
	}
	oc := oauth.Config{
		TokenURL:     cfg.BaseURL + "/security/v1/oauth/token",
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		AuthStyle:    oauth.AuthInHeader,
		HTTPClient:   cfg.HTTPClient,
	}
	if cfg.AccountNumber != "" {
		oc.Header = http.Header{"X-Merchant-Id": {cfg.AccountNumber}}
	}
	a := &Adapter{cfg: cfg, tokens: oauth.New(oc), now: time.Now}
	if cfg.WebhookSecret != "" {
		a.tokenKey = webhookTokenKey(cfg.WebhookSecret)
	}
	return a
}

// Slug implements carriers.Adapter.
func (*Adapter) Slug() string { return Slug }

// Name implements carriers.Adapter.
func (*Adapter) Name() string { return "UPS" }

// Detect implements carriers.Detector; see the package's Detect.
func (*Adapter) Detect(number string) float64 { return Detect(number) }

// ParseWebhook implements carriers.Adapter; see parseWebhook.
func (*Adapter) ParseWebhook(body []byte) ([]tracking.Update, error) { return parseWebhook(body) }

// ParsePoll implements carriers.Poller; see parsePoll.
func (*Adapter) ParsePoll(body []byte) ([]tracking.Update, error) { return parsePoll(body) }
