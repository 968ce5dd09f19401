// Package web is trackd's HTTP surface: carrier webhooks, the merchant API,
// health and metrics. Nothing outside this package imports Fiber.
package web

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/trackd/trackd/carriers"
	"github.com/trackd/trackd/carriers/generic"
	"github.com/trackd/trackd/notify"
	"github.com/trackd/trackd/tracking"
)

// Store is what the web tier needs of the tracking store.
type Store interface {
	Append(ctx context.Context, src string, body []byte, shardKey string, at time.Time) (string, error)
	PutOrder(ctx context.Context, in tracking.OrderInput, now time.Time) (tracking.Order, bool, error)
	Order(ctx context.Context, id string) (tracking.Order, error)
	OrderByToken(ctx context.Context, token string) (tracking.Order, error)
	OrderByNumber(ctx context.Context, number string) (tracking.Order, error)
	Shipment(ctx context.Context, id string, withEvents bool) (*tracking.Shipment, error)
	EventsAfter(ctx context.Context, id, cursor string) ([]tracking.Event, error)
	// ChangeCarrier corrects a claimed shipment's carrier and returns the
	// id of the shipment the order now tracks.
	ChangeCarrier(ctx context.Context, shipmentID, carrier string, now time.Time) (string, error)
}

// Adapters finds carrier adapters.
type Adapters interface {
	Adapter(slug string) (carriers.Adapter, bool)
	Adapters() []carriers.Adapter
}

// Keys looks up API keys.
type Keys interface {
	Lookup(ctx context.Context, secret string) (APIKey, error)
}

// Config configures the web tier.
type Config struct {
	// PublicURL is where shoppers reach trackd; tracking links start with it.
	PublicURL string
	// WebhookBodyLimit caps a webhook body. Carriers batch at most a few
	// hundred events per message, far below the 1 MiB default.
	WebhookBodyLimit int
	// APIBodyLimit caps a merchant API request body.
	APIBodyLimit int
	// APIRateLimit and APIRateWindow limit each API key's requests, across
	// all nodes; a limit of 0 turns the limit off.
	APIRateLimit  int
	APIRateWindow time.Duration
	// GenericSecrets verify /webhooks/generic; several while rotating.
	GenericSecrets [][]byte
	// SignatureTolerance is how old (or early) a signed timestamp may be.
	SignatureTolerance time.Duration
	// NoScanAfter marks a shipment delayed when no scan came for this long.
	NoScanAfter time.Duration
	// RejectsPerSecond and RejectBurst limit rejected webhooks per client
	// address: a sender with a broken signer gets a burst of clear errors,
	// then 429s, instead of unlimited work on our side.
	RejectsPerSecond float64
	RejectBurst      int
	// KeyPrefix starts the web tier's own Redis keys (rate limits).
	KeyPrefix string
	// TrustedProxies are the addresses (IPs or CIDRs) of load balancers
	// whose X-Forwarded-For names the client. Without them every client
	// behind a balancer shares the balancer's rate limits.
	TrustedProxies []string
	// Brand is how the shopper's pages look.
	Brand Brand
	// Sandbox turns on POST /api/v1/sandbox/shipments/{id}/advance
	// (TRACKD_SANDBOX). Never in production.
	Sandbox bool
}

// Brand is the retailer's look on the shopper's pages.
type Brand struct {
	Name string
	// LogoURL is an absolute URL or a path; empty shows the name instead.
	LogoURL string
	// Color and AccentColor are CSS hex colours (#rrggbb).
	Color       string
	AccentColor string
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		PublicURL:          "http://localhost:8080",
		WebhookBodyLimit:   1 << 20,
		APIBodyLimit:       1 << 20,
		APIRateLimit:       6000,
		APIRateWindow:      time.Minute,
		SignatureTolerance: generic.DefaultTolerance,
		NoScanAfter:        96 * time.Hour, // four days without a scan is worth a look
		RejectsPerSecond:   5,
		RejectBurst:        50,
		KeyPrefix:          "trackd:",
		Brand:              Brand{Name: "trackd", Color: "#1f4e79", AccentColor: "#2e7d32"},
	}
}

// Deps are the web tier's collaborators.
type Deps struct {
	Store Store
	Keys  Keys
	// Redis is for state the web nodes share: rate limits, live fan-out.
	Redis redis.UniversalClient
	// Hub fans live updates out; nil disables them on this node.
	Hub *Hub
	// Adapters verify carriers' webhooks (POST /webhooks/{slug}); nil
	// leaves only /webhooks/generic.
	Adapters Adapters
	// Polls schedules the polling of registered shipments; nil when no
	// carrier is polled.
	Polls PollScheduler
	// Delays is told of shipments registered or corrected, so that one
	// without a scan yet is watched for delay too; nil leaves that to the
	// processors, which watch a shipment from its first scan.
	Delays tracking.ShipmentWatcher
	// Rules are the notification rules; nil when notifications are off.
	Rules *notify.RuleStore
	// Notify serves the delivery log, unsubscribe page and Twilio
	// webhooks; nil leaves them out.
	Notify *NotifyDeps
	// Console holds the console's users, sessions and audit log; nil
	// leaves the console out.
	Console *ConsoleDeps
	// Webhooks serve /api/v1/webhook-subscriptions; nil leaves them out.
	Webhooks *WebhookSubscriptionAPI
	// Stats counts webhooks for the console's dashboard (timeline.Recorder); nil counts nothing.
	Stats    WebhookStats
	Ready    func(context.Context) error
	Registry *prometheus.Registry
	Metrics  *Metrics
	Log      *slog.Logger
	Now      func() time.Time
}

// WebhookStats counts webhooks by carrier and result.
type WebhookStats interface {
	Webhook(carrier, result string, at time.Time)
}

// PollScheduler is the poll scheduler as the API uses it.
type PollScheduler interface {
	// Schedule makes a shipment due for polling at at, unless it already
	// is; carriers that are not polled are ignored.
	Schedule(ctx context.Context, carrier, number string, at time.Time) error
	// Unschedule stops polling a shipment.
	Unschedule(ctx context.Context, carrier, number string) error
}

// Server holds the handlers' shared state.
type Server struct {
	cfg      Config
	deps     Deps
	verifier generic.Verifier
	rejects  *rejectLimiter
	apiLimit *redisLimiter
}

func proxyHeader(trusted []string) string {
	if len(trusted) == 0 {
		return ""
	}
	return fiber.HeaderXForwardedFor
}

// New returns the Fiber app serving every route.
func New(cfg Config, deps Deps) (*fiber.App, error) {
	if deps.Store == nil || deps.Keys == nil || deps.Redis == nil || deps.Ready == nil || deps.Registry == nil || deps.Log == nil {
		return nil, errors.New("web: Store, Keys, Redis, Ready, Registry and Log are required")
	}
	if deps.Metrics == nil {
		deps.Metrics = NewMetrics(deps.Registry)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	s := &Server{cfg: cfg, deps: deps,
		verifier: generic.Verifier{Secrets: cfg.GenericSecrets, Tolerance: cfg.SignatureTolerance},
		rejects:  newRejectLimiter(cfg.RejectsPerSecond, cfg.RejectBurst)}
	if cfg.APIRateLimit > 0 && cfg.APIRateWindow >= time.Millisecond {
		s.apiLimit = newRedisLimiter(deps.Redis, cfg.KeyPrefix, "api_key", cfg.APIRateLimit, cfg.APIRateWindow)
	}
	app := fiber.New(fiber.Config{
		AppName:      "trackd",
		ErrorHandler: errorHandler(deps.Log),
		// Fiber cuts a body over its limit by closing the connection, which
		// most clients see as a reset, not as the 413. The handlers enforce
		// the real limits and answer 413 with a reason; this outer limit,
		// four times larger, only bounds memory against abuse.
		BodyLimit:               4 * max(cfg.WebhookBodyLimit, cfg.APIBodyLimit),
		DisableStartupMessage:   true,
		ReadTimeout:             30 * time.Second,
		WriteTimeout:            30 * time.Second,
		IdleTimeout:             120 * time.Second,
		EnableTrustedProxyCheck: len(cfg.TrustedProxies) > 0,
		TrustedProxies:          cfg.TrustedProxies,
		ProxyHeader:             proxyHeader(cfg.TrustedProxies),
	})
	app.Use(recover.New())
	s.routes(app)
	return app, nil
}
