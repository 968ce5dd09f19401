// Package sms sends trackd's text messages through Twilio's Messages API
// and understands what Twilio sends back: delivery status callbacks, the
// shopper's STOP/START/HELP replies, and the X-Twilio-Signature that
// authenticates both.
package sms

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// DefaultBaseURL is Twilio's REST API host. A regional host (for example
// https://api.dublin.ie1.twilio.com) is set the same way as a test server.
const DefaultBaseURL = "https://api.twilio.com"

// DefaultTimeout is Config.Timeout's default: twilio-go's own, long enough
// for a slow answer, short enough that a hung Twilio cannot hold a
// notifier worker for long.
const DefaultTimeout = 10 * time.Second

// Config configures a Sender.
type Config struct {
	// AccountSID is the account messages are sent from (AC...).
	AccountSID string
	// AuthToken authenticates with the account's own credentials. It is
	// also the key of X-Twilio-Signature, so the webhooks need it even when
	// sending uses an API key.
	AuthToken string
	// APIKeySID and APIKeySecret (SK...) authenticate instead of AuthToken
	// when both are set: a key can be revoked without rotating the token.
	APIKeySID    string
	APIKeySecret string
	// From is the sender: an E.164 number, or an alphanumeric sender ID
	// where the destination country allows it. Either From or
	// MessagingServiceSID is required; with both, Twilio picks From from
	// the service's pool.
	From string
	// MessagingServiceSID (MG...) sends through a Messaging Service, which
	// picks the sender and applies the service's opt-out rules.
	MessagingServiceSID string
	// BaseURL is where API requests go (default DefaultBaseURL); tests
	// point it at a local server.
	BaseURL string
	// StatusCallbackURL is where Twilio posts delivery updates:
	// https://<trackd's public URL>/webhooks/twilio/status. Empty: no
	// callbacks, and the delivery log never learns the final status.
	StatusCallbackURL string
	// Timeout bounds one Send, connection included (default DefaultTimeout).
	Timeout time.Duration
}

// ConfigFromEnv reads TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_API_KEY,
// TWILIO_API_SECRET, TWILIO_FROM, TWILIO_MESSAGING_SERVICE_SID and
// TWILIO_BASE_URL: the names Twilio's own tools use. StatusCallbackURL
// depends on trackd's public URL, so the caller sets it.
func ConfigFromEnv(getenv func(string) string) Config {
	get := func(name string) string { return strings.TrimSpace(getenv(name)) }
	return Config{
		AccountSID:          get("TWILIO_ACCOUNT_SID"),
		AuthToken:           get("TWILIO_AUTH_TOKEN"),
		APIKeySID:           get("TWILIO_API_KEY"),
		APIKeySecret:        get("TWILIO_API_SECRET"),
		From:                get("TWILIO_FROM"),
		MessagingServiceSID: get("TWILIO_MESSAGING_SERVICE_SID"),
		BaseURL:             get("TWILIO_BASE_URL"),
	}
}

// Enabled reports whether cfg holds enough to try sending; a trackd
// without Twilio settings simply sends no SMS.
func (cfg Config) Enabled() bool {
	return cfg.AccountSID != "" && (cfg.From != "" || cfg.MessagingServiceSID != "")
}

var (
	// Twilio's SIDs are two letters naming the kind and 32 hex digits.
	accountSIDPattern = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)
	serviceSIDPattern = regexp.MustCompile(`^MG[0-9a-fA-F]{32}$`)
	apiKeySIDPattern  = regexp.MustCompile(`^SK[0-9a-fA-F]{32}$`)
	// twilio-go refuses credentials with anything but letters and digits.
	secretPattern = regexp.MustCompile(`^[A-Za-z0-9]+$`)
	// An alphanumeric sender ID is at most 11 letters, digits and spaces,
	// with at least one letter (all digits would be a short code).
	senderIDPattern = regexp.MustCompile(`^[A-Za-z0-9 ]{1,11}$`)
)

// withDefaults validates cfg and fills in its defaults.
func (cfg Config) withDefaults() (Config, *url.URL, error) {
	var errs []error
	if !accountSIDPattern.MatchString(cfg.AccountSID) {
		errs = append(errs, errors.New("account SID must be AC followed by 32 hex digits"))
	}
	switch {
	case cfg.APIKeySID != "" || cfg.APIKeySecret != "":
		if !apiKeySIDPattern.MatchString(cfg.APIKeySID) {
			errs = append(errs, errors.New("API key SID must be SK followed by 32 hex digits"))
		}
		if !secretPattern.MatchString(cfg.APIKeySecret) {
			errs = append(errs, errors.New("API key secret must be letters and digits"))
		}
	case !secretPattern.MatchString(cfg.AuthToken):
		errs = append(errs, errors.New("auth token (or an API key SID and secret) is required, letters and digits only"))
	}
	if cfg.From == "" && cfg.MessagingServiceSID == "" {
		errs = append(errs, errors.New("a From number or a messaging service SID is required"))
	}
	if cfg.From != "" {
		if strings.HasPrefix(cfg.From, "+") {
			from, err := E164(cfg.From)
			if err != nil {
				errs = append(errs, fmt.Errorf("from: %w", err))
			}
			cfg.From = from
		} else if !senderIDPattern.MatchString(cfg.From) {
			errs = append(errs, errors.New("from must be an E.164 number or an alphanumeric sender ID of up to 11 characters"))
		}
	}
	if cfg.MessagingServiceSID != "" && !serviceSIDPattern.MatchString(cfg.MessagingServiceSID) {
		errs = append(errs, errors.New("messaging service SID must be MG followed by 32 hex digits"))
	}
	if cfg.StatusCallbackURL != "" {
		if _, err := absoluteURL(cfg.StatusCallbackURL); err != nil {
			errs = append(errs, fmt.Errorf("status callback URL: %w", err))
		}
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	base, err := absoluteURL(cfg.BaseURL)
	if err == nil && (base.RawQuery != "" || base.Fragment != "") {
		err = errors.New("must have no query or fragment")
	}
	if err != nil {
		errs = append(errs, fmt.Errorf("base URL: %w", err))
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if err := errors.Join(errs...); err != nil {
		return cfg, nil, fmt.Errorf("twilio config: %w", err)
	}
	return cfg, base, nil
}

func absoluteURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, err
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, errors.New("must be an absolute http or https URL")
	}
	return u, nil
}
