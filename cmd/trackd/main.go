// Command trackd is the order-tracking server: webhooks in, shipment state
// in Redis, live pages and notifications out. See README.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	// Carriers give local times that trackd places in their zone
	// (carriers/zones); the zone database is built in so that a container
	// without one still reads them right.
	_ "time/tzdata"

	"github.com/alicebob/miniredis/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"
	"github.com/trackd/trackd/carriers"
	"github.com/trackd/trackd/carriers/aftership"
	"github.com/trackd/trackd/carriers/demo"
	"github.com/trackd/trackd/carriers/dhl"
	"github.com/trackd/trackd/carriers/easypost"
	"github.com/trackd/trackd/carriers/fedex"
	"github.com/trackd/trackd/carriers/generic"
	"github.com/trackd/trackd/carriers/polling"
	"github.com/trackd/trackd/carriers/shippo"
	"github.com/trackd/trackd/carriers/ups"
	"github.com/trackd/trackd/carriers/usps"
	"github.com/trackd/trackd/console"
	"github.com/trackd/trackd/outbound"
	"github.com/trackd/trackd/salesforce"
	"github.com/trackd/trackd/timeline"
	"github.com/trackd/trackd/tracking"
	"github.com/trackd/trackd/web"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stderr, nil))
}

// shutdownBudget is how long trackd takes to stop after SIGTERM at most:
// in-flight requests finish, processors finish or release their batches.
const shutdownBudget = 10 * time.Second

// run is trackd's whole life. ready, when not nil, receives the listening
// address once the server accepts connections (tests use it).
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer, ready chan<- string) int {
	cfg, err := LoadConfig(args, getenv, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "trackd: configuration:", err)
		return 2
	}
	log := newLogger(cfg, stderr)
	if err := serve(ctx, cfg, log, ready); err != nil {
		var se *settingError
		if errors.As(err, &se) {
			fmt.Fprintln(stderr, "trackd: configuration:", err)
			return 2
		}
		log.Error("trackd stopped", "err", err)
		return 1
	}
	return 0
}

func newLogger(cfg Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// publicHost is the host:port shoppers use when no public URL is set: the
// configured host (localhost when none) with the port actually bound.
func publicHost(addr string, bound *net.TCPAddr) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		host = "localhost"
	}
	return net.JoinHostPort(host, strconv.Itoa(bound.Port))
}

// connectRedis returns the configured Redis, or starts the embedded one.
func connectRedis(cfg Config, log *slog.Logger) (redis.UniversalClient, func(), error) {
	switch {
	case cfg.RedisClusterURL != "":
		opts, err := redis.ParseClusterURL(cfg.RedisClusterURL)
		if err != nil {
			return nil, nil, fmt.Errorf("REDIS_CLUSTER_URL: %w", err)
		}
		c := redis.NewClusterClient(opts)
		return c, func() { c.Close() }, nil
	case cfg.RedisURL != "":
		opts, err := redis.ParseURL(cfg.RedisURL)
		if err != nil {
			return nil, nil, fmt.Errorf("REDIS_URL: %w", err)
		}
		opts.PoolSize = max(opts.PoolSize, 128)
		c := redis.NewClient(opts)
		return c, func() { c.Close() }, nil
	}
	mr := miniredis.NewMiniRedis()
	if err := mr.Start(); err != nil {
		return nil, nil, fmt.Errorf("start embedded redis: %w", err)
	}
	log.Warn("REDIS_URL is not set: running on an EMBEDDED IN-MEMORY REDIS. Everything is lost when trackd stops, " +
		"and nodes share nothing. Fine for a demo; set REDIS_URL for anything else.")
	c := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	return c, func() { c.Close(); mr.Close() }, nil
}

func serve(ctx context.Context, cfg Config, log *slog.Logger, ready chan<- string) error {
	rdb, closeRedis, err := connectRedis(cfg, log)
	if err != nil {
		return err
	}
	defer closeRedis()

	scfg := tracking.DefaultStoreConfig()
	scfg.Prefix, scfg.Shards = cfg.KeyPrefix, cfg.Shards
	scfg.RetainFinished, scfg.RetainIdle, scfg.IngestBacklog = cfg.RetainFinished, cfg.RetainIdle, cfg.IngestBacklog
	store, err := tracking.NewStore(rdb, scfg)
	if err != nil {
		return err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		tracking.NewBacklogCollector(store))

	if cfg.Demo && len(cfg.GenericSecrets) == 0 {
		// The simulated carrier signs with a secret only this process knows.
		s, err := web.NewSecret()
		if err != nil {
			return err
		}
		cfg.GenericSecrets = []string{s}
	}
	if cfg.Demo && cfg.BootstrapAPIKey == "" {
		if cfg.BootstrapAPIKey, err = web.NewSecret(); err != nil {
			return err
		}
		log.Info("demo API key (set TRACKD_BOOTSTRAP_API_KEY to choose your own)", "api_key", cfg.BootstrapAPIKey)
	}
	if cfg.Demo && cfg.BootstrapAdmin == "" {
		password, err := web.NewSecret()
		if err != nil {
			return err
		}
		cfg.BootstrapAdmin = "admin@example.com:" + password
		log.Info("demo console admin (set TRACKD_BOOTSTRAP_ADMIN to choose your own)", "console", "/console",
			"email", "admin@example.com", "password", password)
	}
	keys := web.NewKeyStore(rdb, cfg.KeyPrefix)
	if cfg.BootstrapAPIKey != "" {
		if _, err := keys.Register(ctx, cfg.BootstrapAPIKey, web.APIKey{Name: "bootstrap", Scope: web.ScopeAdmin, CreatedAt: time.Now().UTC()}); err != nil {
			return fmt.Errorf("bootstrap API key: %w", err)
		}
	}

	tcfg := timeline.DefaultConfig()
	tcfg.Prefix = cfg.KeyPrefix
	stats, err := timeline.New(rdb, tcfg, log.With("role", "stats"))
	if err != nil {
		return fmt.Errorf("dashboard stats: %w", err)
	}
	cons := &web.ConsoleDeps{Users: console.NewUsers(rdb, cfg.KeyPrefix), Sessions: console.NewSessions(rdb, cfg.KeyPrefix),
		Audit: console.NewAudit(rdb, cfg.KeyPrefix), Admin: &web.ConsoleAdmin{Keys: keys}}
	if email, password, ok := strings.Cut(cfg.BootstrapAdmin, ":"); ok {
		_, err := cons.Users.Create(ctx, email, "Admin", console.Admin, password, time.Now())
		if err != nil && !errors.Is(err, console.ErrExists) {
			return fmt.Errorf("bootstrap console admin: %w", err)
		}
	}

	if cfg.DebugAddr != "" {
		// Profiles only, on their own listener: never on the public port.
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		srv := &http.Server{Addr: cfg.DebugAddr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() { log.Warn("debug listener stopped", "err", srv.ListenAndServe()) }()
		defer srv.Close()
	}

	var wg sync.WaitGroup
	// Processors get their own context: on shutdown they stop after the web
	// tier, so requests still in flight are accepted and then processed.
	procCtx, stopProcessors := context.WithCancel(context.WithoutCancel(ctx))
	defer stopProcessors()
	// Appends from all webhook requests share pipelines; they stop after
	// the web tier, which needs them until its last request.
	wg.Go(func() { store.RunAppender(procCtx, 4) })
	wg.Go(func() { store.WatchBacklog(procCtx, time.Second) })
	wg.Go(func() { stats.Run(procCtx) })
	var secrets [][]byte
	for _, s := range cfg.GenericSecrets {
		secrets = append(secrets, []byte(s))
	}
	adapterEnv := func(k string) string { return cfg.AdapterEnv[k] }
	sfcfg, err := salesforce.ConfigFromEnv(adapterEnv)
	if err != nil {
		return &settingError{"TRACKD_SALESFORCE_INSTANCE_URL", err}
	}
	adapters := carriers.NewRegistry(
		generic.Adapter{Verifier: generic.Verifier{Secrets: secrets}},
		aftership.New(aftership.ConfigFromEnv(adapterEnv)),
		easypost.New(easypost.ConfigFromEnv(adapterEnv)),
		shippo.New(shippo.ConfigFromEnv(adapterEnv)),
		ups.New(ups.ConfigFromEnv(adapterEnv)),
		fedex.New(fedex.ConfigFromEnv(adapterEnv)),
		usps.New(usps.ConfigFromEnv(adapterEnv)),
		dhl.New(dhl.ConfigFromEnv(adapterEnv)),
	)
	// Every node has a delay watcher: the API tells it of the shipments it
	// registers; nodes with the ingest role also sweep.
	dcfg := tracking.DefaultDelayConfig()
	dcfg.NoScanAfter = cfg.NoScanAfter
	delays, err := tracking.NewDelayWatcher(store, dcfg, log.With("role", "delay"), time.Now)
	if err != nil {
		return fmt.Errorf("delay watcher: %w", err)
	}
	if cfg.Roles["ingest"] {
		host, _ := os.Hostname()
		pcfg := tracking.DefaultProcessorConfig(host + "-" + strconv.Itoa(os.Getpid()))
		pcfg.Watcher = delays
		pcfg.Stats = stats
		proc := tracking.NewProcessor(store, adapters, pcfg, log.With("role", "ingest"), tracking.NewProcessorMetrics(reg))
		wg.Go(func() {
			if err := proc.Run(procCtx); err != nil {
				log.Error("processor stopped", "err", err)
			}
		})
		wg.Go(func() { delays.Run(procCtx) })
		log.Info("processors started", "shards", cfg.Shards)
	}
	// Every node has the outbound service (the API manages subscriptions);
	// nodes with the outbound role deliver.
	ohost, _ := os.Hostname()
	ocfg := outbound.DefaultConfig(ohost + "-" + strconv.Itoa(os.Getpid()))
	ocfg.Prefix, ocfg.Shards, ocfg.AllowPrivate = cfg.KeyPrefix, cfg.Shards, cfg.OutboundAllowPrivate
	hooks, err := outbound.New(rdb, store, ocfg, log.With("role", "outbound"))
	if err != nil {
		return fmt.Errorf("outbound webhooks: %w", err)
	}
	if cfg.Roles["outbound"] {
		wg.Go(func() {
			if err := hooks.Run(procCtx); err != nil {
				log.Error("outbound webhooks stopped", "err", err)
			}
		})
		log.Info("outbound webhooks started", "allow_private", cfg.OutboundAllowPrivate)
	}
	polls := newPollScheduler(cfg, rdb, store, adapters, log.With("role", "poll"), reg)
	if cfg.Roles["poll"] && polls != nil {
		wg.Go(func() { polls.Run(procCtx) })
		log.Info("poll scheduler started", "carriers", polls.Carriers())
	}

	// The listener comes first: the public URL may follow its port, and
	// notifications link to it.
	var ln net.Listener
	if cfg.Roles["web"] {
		if ln, err = net.Listen("tcp", cfg.Addr); err != nil {
			return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
		}
		if cfg.publicURLFromAddr {
			cfg.PublicURL = "http://" + publicHost(cfg.Addr, ln.Addr().(*net.TCPAddr))
		}
	}
	notes, err := newNotifications(cfg, rdb, cfg.RedisURL == "" && cfg.RedisClusterURL == "", log.With("role", "notify"))
	if err != nil {
		if ln != nil {
			ln.Close()
		}
		return err
	}
	defer notes.close()
	if cfg.Roles["notify"] {
		host, _ := os.Hostname()
		nt := notes.notifier(cfg, rdb, store, host+"-"+strconv.Itoa(os.Getpid()), stats, hooks, log.With("role", "notify"))
		wg.Go(func() {
			if err := nt.Run(procCtx); err != nil {
				log.Error("notifier stopped", "err", err)
			}
		})
		log.Info("notifier started", "email", notes.email != nil, "sms", notes.sms != nil)
	}
	if cfg.Roles["notify"] && sfcfg.Enabled() {
		host, _ := os.Hostname()
		sfcfg.Prefix, sfcfg.Shards = cfg.KeyPrefix, cfg.Shards
		sfcfg.Consumer = host + "-" + strconv.Itoa(os.Getpid())
		sfLog := salesforce.NewLog(rdb, cfg.KeyPrefix, sfcfg.LogMaxLen, sfcfg.LogRetention)
		conn := salesforce.New(rdb, store, salesforce.NewClient(sfcfg, nil), sfLog, sfcfg, log.With("role", "salesforce"))
		wg.Go(func() {
			if err := conn.Run(procCtx); err != nil {
				log.Error("salesforce connector stopped", "err", err)
			}
		})
		log.Info("salesforce connector started", "instance_url", sfcfg.InstanceURL, "api_version", sfcfg.APIVersion)
	}

	cons.Ops = &web.ConsoleOps{Stats: stats, DeadLetters: store, Log: notes.log}
	cons.Marketing = &web.ConsoleMarketing{Templates: notes.templates, Engine: notes.engine, Defaults: notes.defaults,
		Send: notes.testSend, Rules: notes.rules, Settings: notes.settings}

	var app interface {
		Listener(net.Listener) error
		ShutdownWithTimeout(time.Duration) error
	}
	var addr string
	var hub *web.Hub
	webErr := make(chan error, 1)
	if cfg.Roles["web"] {
		addr = ln.Addr().String()
		wcfg := web.DefaultConfig()
		wcfg.PublicURL, wcfg.WebhookBodyLimit, wcfg.NoScanAfter = cfg.PublicURL, cfg.WebhookLimit, cfg.NoScanAfter
		wcfg.KeyPrefix, wcfg.Brand, wcfg.TrustedProxies = cfg.KeyPrefix, cfg.Brand, cfg.TrustedProxies
		wcfg.GenericSecrets = secrets
		wcfg.Sandbox = cfg.Sandbox
		wcfg.APIRateLimit, wcfg.APIRateWindow = cfg.APIRateLimit, cfg.APIRateWindow
		if cfg.Sandbox {
			log.Warn("sandbox on: any write-scope API key can move any shipment to any status, notifying its shopper; never enable in production")
		}
		hcfg := web.DefaultHubConfig()
		hcfg.NoScanAfter = cfg.NoScanAfter
		hub = web.NewHub(hcfg, rdb, store, store, reg, log.With("role", "live"))
		wg.Go(func() { hub.Run(procCtx) })
		a, err := web.New(wcfg, web.Deps{
			Store: store, Keys: keys, Redis: rdb, Hub: hub, Adapters: adapters, Registry: reg, Log: log,
			Polls: pollDep(polls), Delays: delays, Rules: notes.rules,
			Notify: &web.NotifyDeps{
				Log: notes.log, Tokens: notes.signer, OptOuts: notes.optouts, CSRFKey: notes.csrfKey,
				SMSLog: notes.log, TwilioAuthToken: notes.smsConfig.AuthToken,
				Templates: &web.TemplateAPI{Store: notes.templates, Engine: notes.engine, Send: notes.testSend},
			},
			Console: cons, Stats: stats, Webhooks: &web.WebhookSubscriptionAPI{Subs: hooks},
			Ready: func(ctx context.Context) error { return rdb.Ping(ctx).Err() },
		})
		if err != nil {
			ln.Close()
			return err
		}
		app = a
		go func() { webErr <- a.Listener(ln) }()
		log.Info("trackd listening", "addr", addr, "public_url", cfg.PublicURL)
	}
	if ready != nil {
		ready <- addr
	}

	if cfg.Demo {
		if addr == "" {
			return errors.New("TRACKD_DEMO needs the web role: the simulated carrier posts to /webhooks/generic")
		}
		sim := demo.New(demo.Config{
			WebhookURL: "http://" + addr + "/webhooks/generic",
			Secret:     []byte(cfg.GenericSecrets[0]),
			PublicURL:  cfg.PublicURL,
			APIKey:     cfg.BootstrapAPIKey,
		}, store, log.With("role", "demo"))
		wg.Go(func() { sim.Run(ctx) })
	}

	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err := <-webErr:
		stopProcessors()
		wg.Wait()
		return fmt.Errorf("web server: %w", err)
	}
	deadline := time.Now().Add(shutdownBudget)
	if hub != nil {
		// Live clients are told "going away" and reconnect to another node.
		hub.Close()
	}
	if app != nil {
		// Stop accepting, and let requests in flight finish: their webhooks
		// are durably appended before the processors stop.
		if err := app.ShutdownWithTimeout(shutdownBudget / 2); err != nil {
			log.Warn("web shutdown", "err", err)
		}
	}
	stopProcessors()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		log.Info("stopped cleanly")
	case <-time.After(time.Until(deadline)):
		log.Warn("stopping with work in flight; it stays pending and another processor reclaims it")
	}
	return nil
}

// newPollScheduler returns the scheduler of the carriers whose API
// credentials are configured, or nil when there are none. Every node has
// one, so that the API can schedule the orders it stores; only nodes with
// the poll role run it.
func newPollScheduler(cfg Config, rdb redis.UniversalClient, store *tracking.Store, adapters *carriers.Registry, log *slog.Logger, reg prometheus.Registerer) *polling.Scheduler {
	sources := map[string]carriers.Poller{}
	for slug, env := range pollCredentials {
		if cfg.AdapterEnv[env] == "" {
			continue
		}
		a, ok := adapters.Adapter(slug)
		if p, isPoller := a.(carriers.Poller); ok && isPoller {
			sources[slug] = p
		}
	}
	if len(sources) == 0 {
		return nil
	}
	pcfg := polling.DefaultConfig()
	pcfg.Prefix = cfg.KeyPrefix
	pcfg.Rates = maps.Clone(pcfg.Rates)
	maps.Copy(pcfg.Rates, cfg.PollRates)
	return polling.New(rdb, store, sources, pcfg, log, polling.NewMetrics(reg))
}

// pollDep keeps a nil scheduler a nil interface.
func pollDep(s *polling.Scheduler) web.PollScheduler {
	if s == nil {
		return nil
	}
	return s
}
