// Package outbound sends signed webhooks to the merchant's systems: it
// keeps the subscriptions, turns the change stream into events, and
// delivers each (subscription, event) at least once, with retries, a
// delivery log per subscription and replay of a time range.
//
// # Redis layout (under the store's prefix)
//
//	wh:subs              set: subscription ids
//	wh:sub:{<sub>}       hash: a subscription: url, events, secret, status, its failure streak
//	wh:log:{<sub>}       stream: its delivery log, capped, trimmed to the retention
//	wh:ev:{n}:<event>    string: an event's body, byte for byte as sent, kept EventRetention
//	wh:idx:{n}:<sub>     sorted set: event id -> created (unix ms): the events meant for a subscription
//	wh:due:{n}           sorted set: "<sub>|<event>" -> due (unix ms); a claimed job's lease end
//	wh:jobs:{n}          hash: "<sub>|<event>" -> the job (JSON)
//
// n is the shard of the event id, so an event, its jobs and its index
// entries share a hash tag and one script writes them together, on a
// single Redis and on Redis Cluster alike.
//
// # Guarantees
//
// An event id is derived from what caused it (the change id and the
// type), so a change read twice, a delivery retried and a replay all carry
// the same id: receivers de-duplicate by it. Writing the event and queueing
// its jobs is one script that does nothing when the event already exists,
// so a change redelivered to the consumer group queues nothing twice. A
// claimed job is leased: a node that dies mid-delivery leaves it to be
// claimed again when the lease ends (the receiver may then see it twice,
// with the same id).
package outbound

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/trackd/trackd/tracking"
)

//go:embed emit.lua
var emitScript string

//go:embed complete.lua
var completeScript string

//go:embed replay.lua
var replayScript string

//go:embed fail.lua
var failScript string

// Store is what outbound reads of orders and shipments, and where the
// change stream is (tracking.Store).
type Store interface {
	Order(ctx context.Context, id string) (tracking.Order, error)
	Shipment(ctx context.Context, id string, withEvents bool) (*tracking.Shipment, error)
	ChangesKey(n int) string
}

// Resolver resolves host names (net.DefaultResolver; tests give their own).
type Resolver interface {
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
}

// Config tunes outbound webhooks.
type Config struct {
	// Prefix and Shards are the tracking store's: Run reads Shards change
	// streams, and outbound's own keys are spread over as many shards.
	Prefix string
	Shards int
	// Group is the consumer group on the change streams; Consumer names
	// this node in it.
	Group    string
	Consumer string
	// AllowPrivate lets subscriptions target http:// URLs and private,
	// loopback, link-local and other non-public addresses. Off, such
	// targets are refused when a subscription is saved and again when each
	// delivery connects, after resolution, so a name that later resolves
	// elsewhere (DNS rebinding) reaches nothing inside the network.
	AllowPrivate bool
	// Resolver resolves target hosts; nil is net.DefaultResolver.
	Resolver Resolver
	// Timeout bounds one delivery: connecting, TLS, and the answer. A
	// receiver that needs longer should answer first and work after.
	Timeout time.Duration
	// Lease is how long a claimed job is left to its node; it must outlast
	// Timeout, or a slow delivery would be claimed and sent again.
	Lease time.Duration
	// Batch is how many changes or jobs one step reads or claims.
	Batch int
	// Concurrency is how many deliveries one shard has in flight at once.
	Concurrency int
	// BackoffBase and BackoffMax shape the retries: 30 s doubling up to an
	// hour, so a receiver down for a minute hears soon, and one down for a
	// day is not hammered.
	BackoffBase, BackoffMax time.Duration
	// MaxAge is how long a failing event is retried, from when it was
	// queued: a day and an hour, so a receiver down over a whole day (a
	// weekend deploy gone wrong) still gets everything once it is back.
	MaxAge time.Duration
	// DisableAfter and DisableAfterFor disable a subscription whose
	// deliveries keep failing: after DisableAfter failed attempts in a row
	// (over all its events) that began at least DisableAfterFor ago. Both,
	// so that a short outage of a busy receiver (hundreds of failures in
	// minutes) does not disable it, and a dead one stops being tried. An
	// event that fails for MaxAge disables its subscription too.
	DisableAfter    int
	DisableAfterFor time.Duration
	// EventRetention is how long event bodies and the per-subscription
	// index are kept for replay.
	EventRetention time.Duration
	// LogMax caps each subscription's delivery log (approximately);
	// LogRetention drops entries older than it.
	LogMax       int64
	LogRetention time.Duration
	// Idle is the longest a delivery loop sleeps with nothing due.
	Idle time.Duration
	// UserAgent is sent with every delivery.
	UserAgent string
}

// DefaultConfig returns the production defaults for consumer.
func DefaultConfig(consumer string) Config {
	return Config{
		Prefix: "trackd:", Shards: 4, Group: "outbound", Consumer: consumer,
		Timeout: 10 * time.Second, Lease: 2 * time.Minute,
		Batch: 64, Concurrency: 16,
		BackoffBase: 30 * time.Second, BackoffMax: time.Hour,
		MaxAge:       25 * time.Hour,
		DisableAfter: 20, DisableAfterFor: 6 * time.Hour,
		// A week: a receiver fixed after a long weekend can replay it all.
		EventRetention: 7 * 24 * time.Hour,
		LogMax:         1000, LogRetention: 30 * 24 * time.Hour,
		Idle:      time.Second,
		UserAgent: "trackd-webhooks/1",
	}
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	switch {
	case strings.ContainsAny(c.Prefix, "{}"):
		return fmt.Errorf("key prefix %q must not contain '{' or '}'", c.Prefix)
	case c.Shards < 1:
		return errors.New("shards must be at least 1")
	case c.Group == "" || c.Consumer == "":
		return errors.New("group and consumer are required")
	case c.Timeout <= 0 || c.Lease <= c.Timeout:
		return errors.New("the lease must be longer than the delivery timeout")
	case c.Batch < 1 || c.Concurrency < 1:
		return errors.New("batch and concurrency must be at least 1")
	case time.Duration((c.Batch+c.Concurrency-1)/c.Concurrency)*c.Timeout >= c.Lease:
		// A batch of receivers that all time out must finish inside the
		// lease, or its last jobs would be claimed and sent twice.
		return errors.New("the lease must outlast a batch of deliveries that all time out (batch / concurrency × timeout)")
	case c.BackoffBase <= 0 || c.BackoffMax < c.BackoffBase:
		return errors.New("backoff must be positive, and its maximum at least its base")
	case c.MaxAge <= 0 || c.EventRetention < c.MaxAge:
		return errors.New("events must be kept at least as long as they are retried")
	case c.DisableAfter < 1:
		return errors.New("disable-after must be at least 1")
	case c.LogMax < 1 || c.LogRetention <= 0:
		return errors.New("the delivery log's cap and retention must be positive")
	}
	return nil
}

// Service is outbound webhooks: the subscriptions, the consumer of the
// change stream, the deliveries and their log.
type Service struct {
	rdb    redis.UniversalClient
	store  Store
	cfg    Config
	log    *slog.Logger
	client *http.Client
	now    func() time.Time

	emit, complete, replay, fail, patch, disable *redis.Script
}

// New returns the service. Every node that serves the API needs one; only
// the nodes that deliver call Run.
func New(rdb redis.UniversalClient, store Store, cfg Config, log *slog.Logger) (*Service, error) {
	if cfg.Resolver == nil {
		cfg.Resolver = net.DefaultResolver
	}
	if cfg.Idle <= 0 {
		cfg.Idle = time.Second
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("outbound config: %w", err)
	}
	return &Service{
		rdb: rdb, store: store, cfg: cfg, log: log,
		client:   newClient(cfg),
		now:      time.Now,
		emit:     redis.NewScript(emitScript),
		complete: redis.NewScript(completeScript),
		replay:   redis.NewScript(replayScript),
		fail:     redis.NewScript(failScript),
		patch:    redis.NewScript(patchLua),
		disable:  redis.NewScript(disableLua),
	}, nil
}

func (s *Service) subsKey() string         { return s.cfg.Prefix + "wh:subs" }
func (s *Service) subKey(id string) string { return s.cfg.Prefix + "wh:sub:{" + id + "}" }
func (s *Service) logKey(id string) string { return s.cfg.Prefix + "wh:log:{" + id + "}" }
func (s *Service) shardTag(n int) string   { return "{" + strconv.Itoa(n) + "}" }
func (s *Service) dueKey(n int) string     { return s.cfg.Prefix + "wh:due:" + s.shardTag(n) }
func (s *Service) jobsKey(n int) string    { return s.cfg.Prefix + "wh:jobs:" + s.shardTag(n) }
func (s *Service) eventKey(n int, id string) string {
	return s.cfg.Prefix + "wh:ev:" + s.shardTag(n) + ":" + id
}
func (s *Service) indexKey(n int, sub string) string {
	return s.cfg.Prefix + "wh:idx:" + s.shardTag(n) + ":" + sub
}

// shardOf spreads event ids over the shards.
func (s *Service) shardOf(key string) int {
	h := fnv.New32a()
	h.Write([]byte(key))
	return int(h.Sum32() % uint32(s.cfg.Shards))
}
