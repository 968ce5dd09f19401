// Package easypost is trackd's adapter for EasyPost, a tracking aggregator:
// its tracker.created and tracker.updated webhooks, and its Trackers API.
//
// EasyPost is a route for data, not a carrier: every update names the carrier
// that moves the parcel (Update.Carrier "ups", "fedex", "usps", "dhl", ...;
// see CarrierSlug), so it lands on the shipment registered with that carrier
// and tracking number.
//
// # Webhooks
//
// EasyPost posts an Event object to the URL the merchant registers
// (https://<trackd>/webhooks/easypost), signed with the webhook secret given
// when the webhook was created: X-Hmac-Signature: hmac-sha256-hex=<hex
// HMAC-SHA256 of the raw body, keyed with the NFKD-normalized secret>, as
// EasyPost's client libraries check it (ValidateWebhook). The signature has
// no timestamp, so a captured request can be replayed; that is harmless here,
// because applying an event twice is applying it once.
//
// Events tracker.created and tracker.updated carry a Tracker under "result";
// each of its tracking_details becomes an event. Every other event type
// (batch.*, shipment.*, insurance.*, payment.*, refund.*, report.*, ...) is
// about something other than tracking: it is accepted and yields no update
// and no error, so it neither moves a shipment nor fills the dead letters.
// (insurance.* events embed a Tracker too, but EasyPost sends the same
// tracker's tracker.updated as well.)
//
// # Polling
//
// EasyPost polls by tracker id, not by tracking number: Poll("trk_...")
// sends GET /v2/trackers/{id}. The tracker id is in every webhook
// (result.id), but the poll scheduler must know it to poll this way, and
// storing it with the shipment is a later issue's work. Until then, Poll
// with anything that is not a tracker id is taken as a tracking number and
// sent as POST /v2/trackers {"tracker": {"tracking_code": ...}}, which
// creates the tracker, or returns the existing one: EasyPost de-duplicates
// trackers by tracking code and carrier for three months. Creating a tracker
// is billed by EasyPost, and the carrier is left for EasyPost to detect from
// the number (Poll is given no carrier), so polling by tracker id is the way
// to run at scale.
package easypost

import (
	"net/http"
	"strings"
	"time"

	"github.com/trackd/trackd/carriers"
	"golang.org/x/text/unicode/norm"
)

// DefaultBaseURL is EasyPost's API.
const DefaultBaseURL = "https://api.easypost.com"

// DefaultTimeout bounds one poll, answer included. GET /v2/trackers/{id} is
// answered from EasyPost's own store, normally well within a second; a
// tracker's creation may wait on the carrier. Twenty seconds covers that
// without letting one request hold a poller's slot for long.
const DefaultTimeout = 20 * time.Second

// Config configures the adapter.
type Config struct {
	// WebhookSecret is the webhook_secret given to EasyPost when the webhook
	// was created. Empty refuses every webhook: an unauthenticated endpoint
	// would let anyone move any shipment.
	WebhookSecret string
	// APIKey is the EasyPost API key (test or production) used for polling,
	// sent as the HTTP Basic username. Empty makes Poll fail at once.
	APIKey string
	// BaseURL is EasyPost's API root; configuration so tests can point it at
	// a local server. Empty means DefaultBaseURL.
	BaseURL string
	// HTTPClient makes the poll requests; nil means a client of the
	// adapter's own over http.DefaultTransport.
	HTTPClient *http.Client
	// Timeout bounds one poll; zero means DefaultTimeout.
	Timeout time.Duration
}

// ConfigFromEnv reads TRACKD_EASYPOST_WEBHOOK_SECRET, TRACKD_EASYPOST_API_KEY
// and TRACKD_EASYPOST_BASE_URL (default DefaultBaseURL).
func ConfigFromEnv(getenv func(string) string) Config {
	cfg := Config{
		WebhookSecret: strings.TrimSpace(getenv("TRACKD_EASYPOST_WEBHOOK_SECRET")),
		APIKey:        strings.TrimSpace(getenv("TRACKD_EASYPOST_API_KEY")),
		BaseURL:       strings.TrimSpace(getenv("TRACKD_EASYPOST_BASE_URL")),
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	return cfg
}

// Adapter is the EasyPost adapter. It implements carriers.Adapter and
// carriers.Poller.
type Adapter struct {
	cfg Config
	// key is the HMAC key: the webhook secret, NFKD-normalized once.
	key    []byte
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
	a := &Adapter{cfg: cfg, client: client, now: time.Now}
	if cfg.WebhookSecret != "" {
		a.key = hmacKey(cfg.WebhookSecret)
	}
	return a
}

// hmacKey is the key EasyPost signs with: the secret's UTF-8 bytes after
// NFKD normalization ("sécret" is keyed as "se\u0301cret").
func hmacKey(secret string) []byte { return []byte(norm.NFKD.String(secret)) }

// Slug implements carriers.Adapter.
func (*Adapter) Slug() string { return "easypost" }

// Routes implements carriers.Route: an aggregator carries the data of the
// carriers it tracks for its users.
func (*Adapter) Routes() string { return "the carriers it tracks" }

// Name implements carriers.Adapter.
func (*Adapter) Name() string { return "EasyPost" }
