// Package fedex is trackd's FedEx adapter: it recognises FedEx tracking
// numbers (Detect), polls the FedEx Track API, and takes the pushes of
// FedEx's tracking webhook.
//
// # Polling
//
// Poll asks the Track API ("Basic Integrated Visibility"),
// POST /track/v1/trackingnumbers, with a Bearer token from FedEx's OAuth 2.0
// client-credentials endpoint, /oauth/token, where client_id and
// client_secret travel in the form. The token is shared by every poll until
// shortly before it expires and fetched again when the API answers 401 (see
// carriers/oauth). The answer is returned as received and parsed later by
// ParsePoll; see Poll for what counts as a refusal.
//
// # Webhooks
//
// FedEx's tracking webhook ("Advanced Integrated Visibility", formerly
// "Shipment Visibility Webhook") is authenticated as FedEx documents it in
// "Advanced Integrated Visibility Validation Process"
// (https://developer.fedex.com/api/en-jp/catalog/shipment-visibility-webhook/docs/introduction/advanced-integrated-visibility-validation-process.html):
// every push carries the header fdx-signature, the Base64 HMAC-SHA256 of
// the raw payload keyed with the security token given when the webhook
// project (or its test URL) was set up. That token is
// TRACKD_FEDEX_WEBHOOK_SECRET here. FedEx signs nothing else (no
// timestamp), so there is no replay window to check: a replayed body is one
// trackd has stored already, and applying it again changes nothing.
//
// The payload is read in the shape FedEx documents for the push its Test
// Webhook feature sends (TestWebhookOutputVO,
// https://developer.fedex.com/api/content/dam/fedex-com/irc/documentation/TestWebhookOutputVO_VB3%203.json):
// the Track API's answer, {"transactionId", "outputMetaData": [...],
// "output": {"completeTrackResults": [...]}}, with the same trackResults
// and scanEvents. That live pushes have this shape too is an assumption:
// FedEx publishes no sample push, and none exists in any public
// repository; the webhook bodies in testdata are built from Track API
// answers accordingly (testdata/SOURCES.md). ParseWebhook and ParsePoll
// share one parser, so a push of another shape fails loudly (to the dead
// letters) rather than silently.
//
// # Statuses and times
//
// Each scan event becomes one tracking.Event whose status comes from its
// eventType, or its derivedStatusCode when the eventType is unknown
// (statuses.go). Scan times carry their UTC offset, except some that do
// not (a pickup dated at midnight, for one); those are placed in the zone
// of the scan's state or country when it has one (carriers/zones).
package fedex

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/trackd/trackd/carriers"
	"github.com/trackd/trackd/carriers/oauth"
	"github.com/trackd/trackd/tracking"
)

// SignatureHeader carries the Base64 HMAC-SHA256 of the raw body under the
// webhook's security token.
const SignatureHeader = "fdx-signature"

// DefaultBaseURL is FedEx's production API root; the sandbox is
// https://apis-sandbox.fedex.com.
const DefaultBaseURL = "https://apis.fedex.com"

// DefaultTimeout is Config.Timeout's default. It covers a token fetch and
// the track request, and the retry after a 401.
const DefaultTimeout = 20 * time.Second

// Config configures the adapter. The zero value parses webhooks and poll
// answers but verifies no webhook (no secret) and polls nothing (no
// credentials).
type Config struct {
	// ClientID and ClientSecret are a FedEx Developer Portal project's API
	// key and secret key, exchanged for OAuth tokens.
	ClientID     string
	ClientSecret string
	// WebhookSecret is the security token of the webhook project. Without
	// it every webhook is refused.
	WebhookSecret string
	// BaseURL is the API root (default DefaultBaseURL), under which both
	// /oauth/token and /track/v1/trackingnumbers are found; tests point it
	// at a local server.
	BaseURL string
	// HTTPClient sends token and track requests (default: a client of its
	// own over http.DefaultTransport). Its own Timeout, if any, applies too.
	HTTPClient *http.Client
	// Timeout bounds one poll, token fetch included (default
	// DefaultTimeout): a hung request must not hold the poll scheduler's
	// lease on a shipment.
	Timeout time.Duration
}

// ConfigFromEnv reads TRACKD_FEDEX_CLIENT_ID, TRACKD_FEDEX_CLIENT_SECRET,
// TRACKD_FEDEX_BASE_URL and TRACKD_FEDEX_WEBHOOK_SECRET.
func ConfigFromEnv(getenv func(string) string) Config {
	return Config{
		ClientID:      strings.TrimSpace(getenv("TRACKD_FEDEX_CLIENT_ID")),
		ClientSecret:  strings.TrimSpace(getenv("TRACKD_FEDEX_CLIENT_SECRET")),
		BaseURL:       strings.TrimSpace(getenv("TRACKD_FEDEX_BASE_URL")),
		WebhookSecret: strings.TrimSpace(getenv("TRACKD_FEDEX_WEBHOOK_SECRET")),
	}
}

// Adapter is the FedEx adapter: a carriers.Adapter, carriers.Poller and
// carriers.Detector.
type Adapter struct {
	cfg    Config
	tokens *oauth.Client
	now    func() time.Time
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
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{}
	}
	return &Adapter{
		cfg: cfg,
		tokens: oauth.New(oauth.Config{
			TokenURL:     cfg.BaseURL + "/oauth/token",
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			AuthStyle:    oauth.AuthInParams,
			HTTPClient:   cfg.HTTPClient,
		}),
		now: time.Now,
	}
}

// Slug implements carriers.Adapter.
func (*Adapter) Slug() string { return "fedex" }

// Name implements carriers.Adapter.
func (*Adapter) Name() string { return "FedEx" }

// Detect implements carriers.Detector; see the package function Detect.
func (*Adapter) Detect(number string) float64 { return Detect(number) }

// VerifyWebhook implements carriers.Adapter: the fdx-signature header must
// be the HMAC-SHA256 of the raw body under the webhook secret, compared in
// constant time. FedEx documents it Base64-encoded, and that is what is
// expected; one line of its page speaks of hex encoding instead, so a
// 64-digit hex value of the same MAC is accepted too. Both carry the whole
// MAC, so neither is easier to forge.
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
		return errors.New("no FedEx webhook security token configured (TRACKD_FEDEX_WEBHOOK_SECRET)")
	}
	sig = strings.TrimSpace(sig)
	if sig == "" {
		return fmt.Errorf("missing %s header", SignatureHeader)
	}
	got, ok := decodeMAC(sig)
	if !ok {
		return fmt.Errorf("%s is not a Base64 (or hex) HMAC-SHA256", SignatureHeader)
	}
	if !hmac.Equal(got, Sign(secret, body)) {
		return fmt.Errorf("%s does not match the body", SignatureHeader)
	}
	return nil
}

// decodeMAC reads a signature as standard Base64 (padded or not) or as
// hex, and reports whether it is a SHA-256-sized MAC.
func decodeMAC(sig string) ([]byte, bool) {
	if len(sig) == 2*sha256.Size {
		if b, err := hex.DecodeString(sig); err == nil {
			return b, true
		}
	}
	for _, enc := range [...]*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding} {
		if b, err := enc.DecodeString(sig); err == nil && len(b) == sha256.Size {
			return b, true
		}
	}
	return nil, false
}

// Sign returns the raw HMAC-SHA256 of body under secret, the webhook's
// security token; its Base64 is what FedEx sends in SignatureHeader.
func Sign(secret string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return m.Sum(nil)
}

// SignatureOf returns the SignatureHeader value for body under secret.
// Tests and tools sign with it.
func SignatureOf(secret string, body []byte) string {
	return base64.StdEncoding.EncodeToString(Sign(secret, body))
}

// ParseWebhook implements carriers.Adapter; see parseAnswer.
func (*Adapter) ParseWebhook(body []byte) ([]tracking.Update, error) {
	return parseAnswer(body, "webhook body")
}

// ParsePoll implements carriers.Poller; see parseAnswer.
func (*Adapter) ParsePoll(body []byte) ([]tracking.Update, error) {
	return parseAnswer(body, "poll answer")
}
