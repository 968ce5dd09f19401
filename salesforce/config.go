package salesforce

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/trackd/trackd/tracking"
)

// Config is the connector's settings.
type Config struct {
	// InstanceURL is the org's My Domain URL, https://<MyDomain>.my.salesforce.com.
	// The token endpoint and the REST API both live there. Salesforce also
	// returns it as instance_url in the token answer; configuring it keeps
	// the token client generic and the API host fixed.
	InstanceURL  string
	ClientID     string
	ClientSecret string
	// APIVersion is the REST API version, "v62.0".
	APIVersion string

	// Prefix and Shards must be the store's: the connector reads the
	// store's change streams and shards its own queue the same way.
	Prefix string
	Shards int
	// Group is the consumer group on the change streams; Consumer names
	// this node in it.
	Group, Consumer string

	// Batch is the most records one sObject Collections request carries
	// (Salesforce's limit is 200) and the most jobs one claim takes.
	Batch int
	// Linger is how long a new change waits before it is due, so that a
	// burst of changes leaves in one request and a shipment's quick
	// succession of changes is written once, as its latest.
	Linger time.Duration
	// Lease is how long a claimed batch belongs to its node. It must
	// outlast a whole attempt (token, query, update, each bounded by
	// HTTPTimeout), or a slow attempt is taken over and written twice
	// (harmless, the same values, but wasteful).
	Lease time.Duration
	// Idle is the longest the sender sleeps with nothing due.
	Idle time.Duration
	// BackoffBase doubles per failed attempt up to BackoffMax; after
	// MaxAttempts tries a record is given up and logged failed.
	BackoffBase, BackoffMax time.Duration
	MaxAttempts             int
	// StatusMap maps trackd's statuses to values of the Shipment Status
	// picklist. A status mapped to "" (or absent) leaves Salesforce's
	// Status as it is; the dates are still written.
	StatusMap map[tracking.Status]string
	// IDCacheTTL is how long a tracking number's Shipment ids are kept
	// in Redis; a stale id (record deleted) is dropped when Salesforce
	// says so.
	IDCacheTTL time.Duration
	// LogMaxLen caps the delivery log; LogRetention drops older attempts.
	LogMaxLen    int64
	LogRetention time.Duration
	// HTTPTimeout bounds each request to Salesforce.
	HTTPTimeout time.Duration
}

// DefaultAPIVersion is the REST API version used when none is configured:
// recent enough for the Shipment fields used here (TrackingNumber and
// Status exist since well before it), old enough to be on every org.
const DefaultAPIVersion = "v62.0"

// DefaultStatusMap maps trackd's statuses to the Shipment Status picklist.
// The object reference documents Status as a picklist without fixing its
// values for every org, so the defaults use the three plain values an
// Order Management org has or can add without surprise; everything else
// leaves Status alone until TRACKD_SALESFORCE_STATUS_MAP says otherwise.
// A value missing from a restricted picklist fails that record with
// INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST, logged as failed.
func DefaultStatusMap() map[tracking.Status]string {
	return map[tracking.Status]string{
		tracking.StatusPending:            "",
		tracking.StatusInfoReceived:       "Shipped",
		tracking.StatusInTransit:          "In Transit",
		tracking.StatusOutForDelivery:     "In Transit",
		tracking.StatusFailedAttempt:      "In Transit",
		tracking.StatusAvailableForPickup: "In Transit",
		tracking.StatusDelivered:          "Delivered",
		tracking.StatusException:          "",
		tracking.StatusReturning:          "",
		tracking.StatusReturned:           "",
		tracking.StatusExpired:            "",
	}
}

// DefaultConfig is everything but the credentials: batches as large as
// Salesforce takes after a 2-second linger; retries from 30 s doubling to
// an hour, 40 tries (about a day and a half) before a record is given up.
func DefaultConfig(consumer string) Config {
	return Config{
		APIVersion: DefaultAPIVersion,
		Prefix:     "trackd:", Shards: 4,
		Group: "salesforce", Consumer: consumer,
		Batch: 200, Linger: 2 * time.Second,
		Lease: 5 * time.Minute, Idle: time.Second,
		BackoffBase: 30 * time.Second, BackoffMax: time.Hour, MaxAttempts: 40,
		StatusMap:  DefaultStatusMap(),
		IDCacheTTL: 7 * 24 * time.Hour,
		LogMaxLen:  100_000, LogRetention: 30 * 24 * time.Hour,
		HTTPTimeout: 20 * time.Second,
	}
}

// Enabled reports whether the connector has what it needs to run.
func (c Config) Enabled() bool {
	return c.InstanceURL != "" && c.ClientID != "" && c.ClientSecret != ""
}

var apiVersionRE = regexp.MustCompile(`^v?[0-9]{2,3}\.[0-9]$`)

// ConfigFromEnv reads TRACKD_SALESFORCE_INSTANCE_URL, _CLIENT_ID,
// _CLIENT_SECRET, _API_VERSION and _STATUS_MAP over DefaultConfig. The
// connector is enabled when the first three are set; some but not all of
// them is an error, as is a value that cannot work.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := DefaultConfig("")
	c.InstanceURL = strings.TrimRight(strings.TrimSpace(getenv("TRACKD_SALESFORCE_INSTANCE_URL")), "/")
	c.ClientID = strings.TrimSpace(getenv("TRACKD_SALESFORCE_CLIENT_ID"))
	c.ClientSecret = strings.TrimSpace(getenv("TRACKD_SALESFORCE_CLIENT_SECRET"))
	if v := strings.TrimSpace(getenv("TRACKD_SALESFORCE_API_VERSION")); v != "" {
		c.APIVersion = v
	}
	if v := strings.TrimSpace(getenv("TRACKD_SALESFORCE_STATUS_MAP")); v != "" {
		m, err := ParseStatusMap(v)
		if err != nil {
			return c, fmt.Errorf("TRACKD_SALESFORCE_STATUS_MAP: %w", err)
		}
		for k, v := range m {
			c.StatusMap[k] = v
		}
	}
	set := 0
	for _, v := range []string{c.InstanceURL, c.ClientID, c.ClientSecret} {
		if v != "" {
			set++
		}
	}
	if set == 0 {
		return c, nil
	}
	if set < 3 {
		return c, errors.New("TRACKD_SALESFORCE_INSTANCE_URL, TRACKD_SALESFORCE_CLIENT_ID and TRACKD_SALESFORCE_CLIENT_SECRET are needed together")
	}
	return c, c.validate()
}

func (c Config) validate() error {
	if err := checkInstanceURL(c.InstanceURL); err != nil {
		return fmt.Errorf("TRACKD_SALESFORCE_INSTANCE_URL: %w", err)
	}
	if !apiVersionRE.MatchString(c.APIVersion) {
		return fmt.Errorf("TRACKD_SALESFORCE_API_VERSION %q: want a REST API version such as v62.0", c.APIVersion)
	}
	return nil
}

// checkInstanceURL accepts an https origin, or http on a loopback host
// (a local stand-in): the client secret travels in the token request.
func checkInstanceURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return fmt.Errorf("%q: want the My Domain URL alone, https://<MyDomain>.my.salesforce.com", s)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
			return nil
		}
	}
	return fmt.Errorf("%q: must be https (it receives the client secret)", s)
}

// apiVersion is the version as it goes in the path: "v62.0".
func (c Config) apiVersion() string {
	if c.APIVersion == "" {
		return DefaultAPIVersion
	}
	if !strings.HasPrefix(c.APIVersion, "v") {
		return "v" + c.APIVersion
	}
	return c.APIVersion
}

// ParseStatusMap reads "in_transit=In Transit,exception=Exception,pending="
// (an empty value: leave Status alone for that status).
func ParseStatusMap(s string) (map[tracking.Status]string, error) {
	out := map[tracking.Status]string{}
	for part := range strings.SplitSeq(s, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("%q: want status=Picklist Value", part)
		}
		st, err := tracking.ParseStatus(strings.TrimSpace(k))
		if err != nil {
			return nil, err
		}
		out[st] = strings.TrimSpace(v)
	}
	return out, nil
}
