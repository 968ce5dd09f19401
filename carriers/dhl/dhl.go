// Package dhl is trackd's DHL adapter: it polls DHL's Shipment Tracking –
// Unified API, which answers for every DHL business (Express, Parcel
// Germany, eCommerce, Freight, Global Forwarding, ...) under one endpoint.
// DHL tracking numbers are recognised by Detect, which needs no
// credentials and no configuration.
//
// # Webhooks
//
// There are none. The Unified API is a request/response API: its
// specification (dpdhl_tracking-unified-api 1.3.1, one GET /shipments
// operation) defines no push or callback of any kind, so trackd offers no
// webhook URL for DHL and VerifyWebhook refuses every request. DHL
// shipments are followed by polling.
//
// # Polling
//
// Poll sends GET {BaseURL}/shipments?trackingNumber=...&language=en with
// the API key in the DHL-API-Key header. The answer holds shipments[], one
// per DHL business that knows the number (an Express waybill and a Parcel
// Germany piece may share digits); each becomes an update. Errors are RFC
// 7807 problem details (application/problem+json): 401 for a bad key, 404
// for an unknown number, 429 past the rate limit, 5xx.
//
// DHL's starter plan allows 250 calls a day and one per second (more on
// request), and DHL asks for at most ten fetches per shipment a day, spread
// over the day: the poll scheduler's interval for DHL must respect that.
//
// Each event keeps DHL's statusCode (pre-transit, transit, delivered,
// failure, unknown) and its free-text status as CarrierStatus; trackd's
// status comes from the statusCode, refined by what the text says
// (statuses.go). The texts are read in English, so language=en is fixed.
package dhl

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"golang.org/x/text/language"
	"golang.org/x/text/language/display"

	"github.com/trackd/trackd/carriers"
	"github.com/trackd/trackd/tracking"
)

// DefaultBaseURL is the Unified API's production server, as its
// specification names it. DHL offers no test environment for it.
const DefaultBaseURL = "https://api-eu.dhl.com/track"

// DefaultTimeout is Config.Timeout's default.
const DefaultTimeout = 15 * time.Second

// Config configures the adapter. The zero value parses poll answers but
// polls nothing (no key).
type Config struct {
	// APIKey is the app's consumer key from DHL's developer portal, sent
	// as DHL-API-Key.
	APIKey string
	// BaseURL is the API root (default DefaultBaseURL); tests point it at
	// a local server.
	BaseURL string
	// Service, when set, is sent as the service parameter: the DHL
	// business to ask ("express", "parcel-de", "ecommerce", "freight",
	// "dgf", "parcel-nl", "parcel-pl", "parcel-uk", "post-de", "sameday",
	// "dsc"). Without it DHL asks all of them, and a number two businesses
	// both know returns two shipments. A shop that ships with one DHL
	// business sets it so a colliding number from another is not tracked.
	Service string
	// RequesterCountryCode and OriginCountryCode, ISO 3166-1 alpha-2,
	// are sent as requesterCountryCode and originCountryCode when set:
	// DHL uses the first to pick the answer's sources, and needs the
	// second to find shipments of its "dsc" service.
	RequesterCountryCode string
	OriginCountryCode    string
	// HTTPClient sends poll requests (default: a client of its own over
	// http.DefaultTransport). Its own Timeout, if any, applies too.
	HTTPClient *http.Client
	// Timeout bounds one poll, connection to last byte (default 15s): a
	// hung request must not hold the poll scheduler's lease on a shipment.
	Timeout time.Duration
}

// ConfigFromEnv reads TRACKD_DHL_API_KEY, TRACKD_DHL_BASE_URL,
// TRACKD_DHL_SERVICE, TRACKD_DHL_REQUESTER_COUNTRY_CODE and
// TRACKD_DHL_ORIGIN_COUNTRY_CODE.
func ConfigFromEnv(getenv func(string) string) Config {
	return Config{
		APIKey:               strings.TrimSpace(getenv("TRACKD_DHL_API_KEY")),
		BaseURL:              strings.TrimSpace(getenv("TRACKD_DHL_BASE_URL")),
		Service:              strings.TrimSpace(getenv("TRACKD_DHL_SERVICE")),
		RequesterCountryCode: strings.TrimSpace(getenv("TRACKD_DHL_REQUESTER_COUNTRY_CODE")),
		OriginCountryCode:    strings.TrimSpace(getenv("TRACKD_DHL_ORIGIN_COUNTRY_CODE")),
	}
}

// Adapter is the DHL adapter: a carriers.Adapter (whose webhooks are all
// refused), a carriers.Poller and a carriers.Detector.
type Adapter struct {
	cfg    Config
	client *http.Client
	now    func() time.Time
	// countries maps the country names DHL Express writes into
	// addressLocality ("LEIPZIG - GERMANY") to ISO codes; built once per
	// adapter from CLDR's English names.
	countries map[string]string
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
	cfg.Service = strings.ToLower(strings.TrimSpace(cfg.Service))
	cfg.RequesterCountryCode = strings.ToUpper(strings.TrimSpace(cfg.RequesterCountryCode))
	cfg.OriginCountryCode = strings.ToUpper(strings.TrimSpace(cfg.OriginCountryCode))
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{}
	}
	return &Adapter{cfg: cfg, client: client, now: time.Now, countries: countryNames()}
}

// Slug implements carriers.Adapter.
func (*Adapter) Slug() string { return "dhl" }

// Name implements carriers.Adapter.
func (*Adapter) Name() string { return "DHL" }

// Detect implements carriers.Detector; see the Detect function.
func (*Adapter) Detect(number string) float64 { return Detect(number) }

// ErrNoWebhook is wrapped by VerifyWebhook's and ParseWebhook's errors:
// DHL sends no webhooks.
var ErrNoWebhook = errors.New("DHL has no webhook here: the Shipment Tracking – Unified API defines none, and DHL shipments are polled")

// VerifyWebhook implements carriers.Adapter by refusing every request:
// DHL sends no webhook trackd could authenticate (see the package
// documentation), so whatever arrives at DHL's webhook URL is not DHL's.
func (*Adapter) VerifyWebhook(carriers.WebhookRequest) error {
	return fmt.Errorf("%w: %w", carriers.ErrUnauthenticated, ErrNoWebhook)
}

// ParseWebhook implements carriers.Adapter. Nothing passes VerifyWebhook,
// so nothing should reach it; a body that does is not DHL's.
func (*Adapter) ParseWebhook([]byte) ([]tracking.Update, error) {
	return nil, fmt.Errorf("dhl: %w", ErrNoWebhook)
}

// ParsePoll implements carriers.Poller; see parsePoll.
func (a *Adapter) ParsePoll(body []byte) ([]tracking.Update, error) {
	return a.parsePoll(body)
}

// countryNames returns the ISO 3166-1 alpha-2 code of every country by its
// English name, normalized by placeName ("HONG KONG SAR CHINA"), and the
// other names DHL Express is known to write.
func countryNames() map[string]string {
	names := make(map[string]string, 300)
	english := display.English.Regions()
	// A few of the names DHL's own country list uses where CLDR's differ.
	for name, code := range map[string]string{
		"UNITED STATES OF AMERICA": "US", "GREAT BRITAIN": "GB", "ENGLAND": "GB",
		"CZECH REPUBLIC": "CZ", "CZECH REPUBLIC THE": "CZ", "NETHERLANDS THE": "NL",
		"KOREA REPUBLIC OF SOUTH K": "KR", "KOREA REPUBLIC OF": "KR", "HONG KONG": "HK",
		"CHINA PEOPLES REPUBLIC": "CN", "MAINLAND CHINA": "CN", "RUSSIAN FEDERATION THE": "RU",
		"TURKEY": "TR", "VIETNAM": "VN", "MACAU": "MO", "MACAU SAR CHINA": "MO",
	} {
		names[name] = code
	}
	for a := 'A'; a <= 'Z'; a++ {
		for b := 'A'; b <= 'Z'; b++ {
			r, err := language.ParseRegion(string([]rune{a, b}))
			if err != nil || !r.IsCountry() || r.Canonicalize() != r {
				continue
			}
			name := placeName(english.Name(r))
			if _, ok := names[name]; !ok && name != "" {
				names[name] = r.String()
			}
		}
	}
	return names
}
