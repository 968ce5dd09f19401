// Command loadgen drives load against a running trackd and reports what it
// saw. Speed is measured here and by benchmarks, never by timed assertions
// in tests (DESIGN.md, "Testing").
//
// Mode "ingest" posts signed generic webhooks (DESIGN.md, "/webhooks/generic")
// at a fixed rate from many keep-alive senders, records every request's
// latency, and watches trackd's ingest backlog and processor lag through its
// Prometheus endpoint until the backlog drains.
//
//	loadgen -mode ingest -target http://127.0.0.1:8080 -rate 10000 -duration 60s
//
// Mode "fanout" registers orders, holds many WebSocket clients on their
// tracking pages (DESIGN.md, "Live messages"), possibly in several worker
// processes, posts webhooks for the orders and checks that every client got
// every event exactly once, and how soon (fanout.go).
//
//	loadgen -mode fanout -target http://127.0.0.1:8080 -clients 18000 -orders 100 -rate 1000 -duration 60s
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/trackd/trackd/carriers/generic"
	"github.com/trackd/trackd/tracking"
)

const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == fanoutWorkerArg {
		// A worker process of -mode fanout, started by its parent: not a
		// command for people, so not in the usage.
		os.Exit(fanoutWorkerMain(os.Stdin, os.Stdout, os.Stderr))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := realMain(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// realMain is main without the process: it returns the exit code.
func realMain(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "loadgen: %v\n", err)
		return exitUsage
	}
	m, ok := lookupMode(cfg.Mode)
	if !ok {
		fmt.Fprintf(stderr, "loadgen: unknown mode %q (known modes: %s)\n", cfg.Mode, strings.Join(modeNames(), ", "))
		return exitUsage
	}
	if err := m.validate(cfg); err != nil {
		fmt.Fprintf(stderr, "loadgen: -mode %s: %v\n", cfg.Mode, err)
		return exitUsage
	}
	cfg.Progress = stderr
	rep, err := m.run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "loadgen: -mode %s: %v\n", cfg.Mode, err)
		return exitFailed
	}
	if err := emit(rep, cfg, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "loadgen: %v\n", err)
		return exitFailed
	}
	if rep.failed() {
		fmt.Fprintf(stderr, "loadgen: failed: %s\n", rep.failureReason())
		return exitFailed
	}
	return exitOK
}

// config is every mode's settings: the flags, plus a few knobs the command
// line fixes and tests shorten.
type config struct {
	Mode       string
	Target     string
	Secret     []byte
	Rate       float64 // webhooks per second in total; 0 = as fast as possible
	Duration   time.Duration
	Senders    int
	Shipments  int
	Carrier    string
	MetricsURL string // "" = do not scrape
	JSON       bool
	Out        string

	// -mode fanout
	Nodes              []string // trackd base URLs, without a trailing slash
	Clients            int      // WebSocket clients in total
	Orders             int      // orders they are spread over, one shipment each
	Procs              int      // worker processes holding the clients
	APIKey             string
	Origin             string // Origin header of every client; "" = the node's base URL
	ConnectConcurrency int    // dials in flight at once, over all workers

	// -mode page
	PagePath string // path to GET on Target; "" = register an order and GET its tracking page

	ScrapeEvery    time.Duration // metrics scrape and progress tick
	ProgressEvery  time.Duration // one progress line per this much time
	DrainTimeout   time.Duration // how long to wait after the run for the backlog to reach 0
	RequestTimeout time.Duration
	Progress       io.Writer

	// -mode fanout knobs
	ConnectTimeout      time.Duration // one client's dial, handshake and snapshot
	StragglerWait       time.Duration // after the last send, for deliveries still on their way
	WorkerProgressEvery time.Duration // how often a worker reports its delivered count
	StopTimeout         time.Duration // for workers to close their clients and answer
	WorkerCommand       []string      // argv of a worker process; nil = this executable
	WorkerEnv           []string      // added to a worker process's environment
}

func defaultConfig() config {
	return config{
		ScrapeEvery:    time.Second,
		ProgressEvery:  5 * time.Second,
		DrainTimeout:   30 * time.Second,
		RequestTimeout: 10 * time.Second,
		Progress:       io.Discard,

		ConnectTimeout:      15 * time.Second,
		StragglerWait:       10 * time.Second,
		WorkerProgressEvery: 100 * time.Millisecond,
		StopTimeout:         60 * time.Second,
	}
}

func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	cfg := defaultConfig()
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var secret, metrics, nodes string
	fs.StringVar(&cfg.Mode, "mode", "ingest", "what to load: "+strings.Join(modeNames(), ", "))
	fs.StringVar(&cfg.Target, "target", "http://127.0.0.1:8080", "trackd's base URL")
	fs.StringVar(&secret, "secret", "", "generic webhook secret (default $TRACKD_GENERIC_WEBHOOK_SECRET)")
	fs.Float64Var(&cfg.Rate, "rate", 10000, "target webhooks (page: page requests) per second in total; 0 = as fast as possible (ingest only; fanout's and page's default is 1000)")
	fs.DurationVar(&cfg.Duration, "duration", 60*time.Second, "how long to send")
	fs.IntVar(&cfg.Senders, "senders", 64, "concurrent senders, each with a keep-alive connection (page's default is 32)")
	fs.IntVar(&cfg.Shipments, "shipments", 5000, "distinct tracking numbers (ingest)")
	fs.StringVar(&cfg.Carrier, "carrier", "ups", "carrier named in every webhook (and, for fanout and page, every shipment)")
	fs.StringVar(&metrics, "metrics", "", `trackd's Prometheus endpoint (default <target>/metrics; fanout scrapes <node>/metrics; "off" = do not scrape)`)
	fs.BoolVar(&cfg.JSON, "json", false, "also print the report as JSON on stdout (the text report then goes to stderr)")
	fs.StringVar(&cfg.Out, "out", "", "append the report as a markdown table row to this file")
	fs.StringVar(&nodes, "nodes", "", "fanout: comma-separated base URLs of trackd nodes; clients and webhooks go round-robin over them (default -target)")
	fs.IntVar(&cfg.Clients, "clients", 1000, "fanout: WebSocket clients in total")
	fs.IntVar(&cfg.Orders, "orders", 100, "fanout: orders (one shipment each) the clients are spread over")
	fs.IntVar(&cfg.Procs, "procs", 0, fmt.Sprintf("fanout: worker processes holding the clients (default ceil(clients/%d))", clientsPerProc))
	fs.StringVar(&cfg.APIKey, "api-key", "", "fanout, page: API key that registers the orders (fanout: on the first node; default $TRACKD_BOOTSTRAP_API_KEY)")
	fs.StringVar(&cfg.Origin, "origin", "", "fanout: Origin header of the clients, which trackd checks against its TRACKD_PUBLIC_URL (default each node's base URL)")
	fs.IntVar(&cfg.ConnectConcurrency, "connect-concurrency", 500, "fanout: WebSocket dials in flight at once, in total")
	fs.StringVar(&cfg.PagePath, "path", "", "page: path to GET on -target, such as /t/<token> (default: register an order with a 20-event timeline and GET its tracking page)")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if secret == "" {
		secret = getenv("TRACKD_GENERIC_WEBHOOK_SECRET")
	}
	cfg.Secret = []byte(secret)
	if err := checkTarget(cfg.Target); err != nil {
		return cfg, err
	}
	cfg.MetricsURL = metricsURL(cfg.Target, metrics)
	if cfg.Mode == "page" {
		applyPageDefaults(&cfg, set, getenv)
	}
	if cfg.Mode == "fanout" {
		if !set["rate"] {
			cfg.Rate = defaultFanoutRate
		}
		if !set["procs"] {
			cfg.Procs = max(1, (cfg.Clients+clientsPerProc-1)/clientsPerProc)
		}
		if cfg.APIKey == "" {
			cfg.APIKey = getenv("TRACKD_BOOTSTRAP_API_KEY")
		}
		if nodes == "" {
			nodes = cfg.Target
		}
		for n := range strings.SplitSeq(nodes, ",") {
			n = strings.TrimRight(strings.TrimSpace(n), "/")
			if err := checkNode(n); err != nil {
				return cfg, err
			}
			cfg.Nodes = append(cfg.Nodes, n)
		}
	}
	return cfg, nil
}

func checkTarget(target string) error {
	u, err := url.Parse(target)
	if err != nil {
		return fmt.Errorf("-target %q: %w", target, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("-target %q: want an http(s) base URL such as http://127.0.0.1:8080", target)
	}
	return nil
}

func metricsURL(target, flagValue string) string {
	switch flagValue {
	case "off":
		return ""
	case "":
		return strings.TrimRight(target, "/") + "/metrics"
	}
	return flagValue
}

// mode is one kind of load. Each mode validates the config it needs and
// runs to a report.
type mode struct {
	validate func(config) error
	run      func(context.Context, config) (report, error)
}

func modeNames() []string { return []string{"ingest", "fanout", "page"} }

func lookupMode(name string) (mode, bool) {
	switch name {
	case "ingest":
		return mode{validate: validateIngest, run: func(ctx context.Context, cfg config) (report, error) {
			r, err := runIngest(ctx, cfg)
			if err != nil {
				return nil, err
			}
			return r, nil
		}}, true
	case "fanout":
		return mode{validate: validateFanout, run: func(ctx context.Context, cfg config) (report, error) {
			r, err := runFanout(ctx, cfg)
			if err != nil {
				return nil, err
			}
			return r, nil
		}}, true
	case "page":
		return mode{validate: validatePage, run: func(ctx context.Context, cfg config) (report, error) {
			r, err := runPage(ctx, cfg)
			if err != nil {
				return nil, err
			}
			return r, nil
		}}, true
	}
	return mode{}, false
}

// ---- mode ingest ----

const (
	webhookPath   = "/webhooks/generic"
	lateThreshold = time.Millisecond
)

func validateIngest(cfg config) error {
	switch {
	case len(cfg.Secret) == 0:
		return errors.New("no webhook secret: set -secret or TRACKD_GENERIC_WEBHOOK_SECRET")
	case cfg.Rate < 0:
		return fmt.Errorf("-rate %g: must be 0 (as fast as possible) or more", cfg.Rate)
	case cfg.Duration <= 0:
		return fmt.Errorf("-duration %s: must be positive", cfg.Duration)
	case cfg.Senders < 1:
		return fmt.Errorf("-senders %d: must be at least 1", cfg.Senders)
	case cfg.Shipments < 1:
		return fmt.Errorf("-shipments %d: must be at least 1", cfg.Shipments)
	case strings.TrimSpace(cfg.Carrier) == "":
		return errors.New("-carrier: must not be empty")
	}
	return nil
}

// runIngest sends webhooks for cfg.Duration, then waits for trackd's
// processors to drain the backlog, and reports.
func runIngest(ctx context.Context, cfg config) (*ingestReport, error) {
	endpoint, err := url.JoinPath(cfg.Target, webhookPath)
	if err != nil {
		return nil, fmt.Errorf("webhook URL from -target %q: %w", cfg.Target, err)
	}
	client := newSenderClient(cfg.Senders, cfg.RequestTimeout)
	defer client.CloseIdleConnections()

	mon := newLagMonitor(cfg)
	mon.baseline(ctx)

	start := time.Now()
	sched := newSchedule(start, cfg)
	bodies := newBodyMaker(cfg, strconv.FormatInt(start.UnixNano(), 36))
	live := &liveCounters{}
	fmt.Fprintf(cfg.Progress, "loadgen: ingest: POST %s at %s for %s with %d senders; metrics %s\n",
		endpoint, rateText(cfg.Rate), cfg.Duration, cfg.Senders, orText(cfg.MetricsURL, "off"))

	watchCtx, stopWatch := context.WithCancel(ctx)
	watched := make(chan struct{})
	prog := &progress{w: cfg.Progress, every: cfg.ProgressEvery, start: start, lastAt: start, live: live}
	go func() {
		defer close(watched)
		mon.watch(watchCtx, prog)
	}()

	senders := make([]*sender, cfg.Senders)
	for i := range senders {
		senders[i] = &sender{id: i, client: client, endpoint: endpoint, secret: cfg.Secret,
			sched: sched, bodies: bodies, live: live}
	}
	results := runSenders(ctx, senders)
	end := time.Now()
	stopWatch()
	<-watched

	mon.drain(ctx, end)
	rep := newIngestReport(cfg, endpoint, results, end.Sub(start), mon.result())
	rep.Interrupted = ctx.Err() != nil
	return rep, nil
}

func newSenderClient(senders int, timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:               nil, // a load generator talks to its target directly
			DialContext:         dialer.DialContext,
			MaxIdleConns:        senders,
			MaxIdleConnsPerHost: senders,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
	}
}

func runSenders(ctx context.Context, senders []*sender) []senderResult {
	results := make([]senderResult, len(senders))
	var wg sync.WaitGroup
	for i, s := range senders {
		wg.Go(func() { results[i] = s.run(ctx) })
	}
	wg.Wait()
	return results
}

// schedule gives every send its due time. Sender i sends at
// start + i*stagger + k*perSender, so together the senders send every
// 1/rate seconds. A sender that falls behind sends back to back until it
// catches up; its lateness is counted, and latency is measured from the
// actual send, so late sends (coordinated omission) are visible rather
// than hidden.
type schedule struct {
	start, end time.Time
	stagger    time.Duration // between senders' first sends: 1/rate
	perSender  time.Duration // between one sender's sends: senders/rate; 0 = unpaced
}

func newSchedule(start time.Time, cfg config) schedule {
	s := schedule{start: start, end: start.Add(cfg.Duration)}
	if cfg.Rate > 0 {
		s.stagger = time.Duration(float64(time.Second) / cfg.Rate)
		s.perSender = time.Duration(float64(time.Second) * float64(cfg.Senders) / cfg.Rate)
	}
	return s
}

func (s schedule) paced() bool { return s.perSender > 0 }

func (s schedule) due(sender, k int) time.Time {
	return s.start.Add(time.Duration(sender)*s.stagger + time.Duration(k)*s.perSender)
}

// expected is how many sends one sender will make, to size its latency
// slice; a guess when unpaced.
func (s schedule) expected() int {
	if !s.paced() {
		return 4096
	}
	return min(int(s.end.Sub(s.start)/s.perSender)+1, 1<<22)
}

// liveCounters are the running totals the progress line reads.
type liveCounters struct {
	sent, accepted, failed, late atomic.Int64
}

type sender struct {
	id       int
	client   *http.Client
	endpoint string
	secret   []byte
	sched    schedule
	bodies   *bodyMaker
	live     *liveCounters
}

// senderResult is what one sender saw; results are merged at the end.
type senderResult struct {
	latencies []time.Duration
	sent      int64
	accepted  int64
	late      int64
	maxLate   time.Duration
	errorTally
}

// errorTally counts failures by kind and keeps the first one's text.
type errorTally struct {
	errors   map[string]int64
	firstErr string
}

func newErrorTally() errorTally { return errorTally{errors: map[string]int64{}} }

func (r *errorTally) fail(kind string, err error) {
	r.errors[kind]++
	if r.firstErr == "" {
		if err != nil {
			r.firstErr = err.Error()
		} else {
			r.firstErr = kind
		}
	}
}

func (s *sender) run(ctx context.Context) senderResult {
	res := senderResult{latencies: make([]time.Duration, 0, s.sched.expected()), errorTally: newErrorTally()}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for k := 0; ; k++ {
		due := time.Now()
		if s.sched.paced() {
			due = s.sched.due(s.id, k)
			if !due.Before(s.sched.end) || !sleepUntil(ctx, timer, due) {
				break
			}
		} else if ctx.Err() != nil || !due.Before(s.sched.end) {
			break
		}
		s.sendOne(ctx, k, due, &res)
	}
	return res
}

// sleepUntil waits for t; it reports false if ctx ended first.
func sleepUntil(ctx context.Context, timer *time.Timer, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer.Reset(d)
	select {
	case <-ctx.Done():
		timer.Stop()
		return false
	case <-timer.C:
		return true
	}
}

func (s *sender) sendOne(ctx context.Context, k int, due time.Time, res *senderResult) {
	body := s.bodies.build(s.id, k, time.Now())
	sentAt := time.Now()
	if late := sentAt.Sub(due); s.sched.paced() && late > lateThreshold {
		res.late++
		res.maxLate = max(res.maxLate, late)
		s.live.late.Add(1)
	}
	// A request once sent is seen through (bounded by the client's
	// timeout) even if the run is interrupted meanwhile.
	status, err := s.post(context.WithoutCancel(ctx), body)
	took := time.Since(sentAt)
	res.sent++
	s.live.sent.Add(1)
	res.latencies = append(res.latencies, took)
	switch {
	case err != nil:
		res.fail(classifyError(err), err)
		s.live.failed.Add(1)
	case status == http.StatusAccepted:
		res.accepted++
		s.live.accepted.Add(1)
	default:
		res.fail("status "+strconv.Itoa(status), nil)
		s.live.failed.Add(1)
	}
}

// post sends one webhook, signed now, and reads the whole response so the
// connection is reused.
func (s *sender) post(ctx context.Context, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(generic.SignatureHeader, generic.Sign(s.secret, time.Now(), body))
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("post webhook: %w", err)
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)); err != nil {
		return resp.StatusCode, fmt.Errorf("read %d response: %w", resp.StatusCode, err)
	}
	return resp.StatusCode, nil
}

// classifyError names a transport failure coarsely enough to count.
func classifyError(err error) string {
	var netErr net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "transport: timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "transport: connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "transport: connection reset"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "transport: connection closed"
	}
	return "transport: other"
}

// bodyMaker builds webhook bodies from fragments prepared once, so a send
// costs a few appends. Sender s owns shipments s, s+senders, s+2*senders...
// and walks them round-robin; each pass moves its shipments one status
// further along info_received, in_transit, out_for_delivery, delivered and
// then starts over. Event ids are unique per run and across runs.
type bodyMaker struct {
	runID     string
	senders   int
	shipments int
	head      string // `{"carrier":"ups","tracking_number":"LG`
	idStart   string // `","events":[{"id":"lg-`
	steps     []step
	size      int
}

type step struct {
	fields string // `","status":...,"occurred_at":"`
	zone   *time.Location
}

type stepSpec struct {
	status, carrierStatus, message string
	location                       tracking.Location
	utcOffsetHours                 int
}

func progression() []stepSpec {
	return []stepSpec{
		{"info_received", "MP", "Shipper created a label", tracking.Location{City: "Atlanta", Region: "GA", PostalCode: "30301", Country: "US"}, -5},
		{"in_transit", "I", "Departed from facility", tracking.Location{City: "Louisville", Region: "KY", PostalCode: "40209", Country: "US"}, -5},
		{"out_for_delivery", "OT", "Out for delivery", tracking.Location{City: "Denver", Region: "CO", PostalCode: "80202", Country: "US"}, -7},
		{"delivered", "D", "Delivered, front door", tracking.Location{City: "Denver", Region: "CO", PostalCode: "80202", Country: "US"}, -7},
	}
}

const trackingDigits = 16

func newBodyMaker(cfg config, runID string) *bodyMaker {
	carrier, _ := json.Marshal(cfg.Carrier) // a string always marshals
	b := &bodyMaker{
		runID:     runID,
		senders:   cfg.Senders,
		shipments: cfg.Shipments,
		head:      `{"carrier":` + string(carrier) + `,"tracking_number":"LG`,
		idStart:   `","events":[{"id":"lg-`,
	}
	longest := 0
	for _, sp := range progression() {
		st := sp.step()
		b.steps = append(b.steps, st)
		longest = max(longest, len(st.fields))
	}
	b.size = len(b.head) + trackingDigits + len(b.idStart) + len(runID) + 2*20 + longest + len(time.RFC3339) + 16
	return b
}

func (sp stepSpec) step() step {
	fields, _ := json.Marshal(struct { // fixed field types: cannot fail
		Status        string            `json:"status"`
		CarrierStatus string            `json:"carrier_status"`
		Message       string            `json:"message"`
		Location      tracking.Location `json:"location"`
	}{sp.status, sp.carrierStatus, sp.message, sp.location})
	inner := fields[1 : len(fields)-1]
	return step{
		fields: `",` + string(inner) + `,"occurred_at":"`,
		zone:   time.FixedZone(fmt.Sprintf("UTC%+d", sp.utcOffsetHours), sp.utcOffsetHours*3600),
	}
}

// pick returns the shipment of sender's k-th send and how many times the
// sender has been round its shipments.
func (b *bodyMaker) pick(sender, k int) (shipment, pass int) {
	owned := 0
	if sender < b.shipments {
		owned = (b.shipments - sender + b.senders - 1) / b.senders
	}
	if owned == 0 { // more senders than shipments: share one
		return sender % b.shipments, k
	}
	return sender + (k%owned)*b.senders, k / owned
}

// build returns the body of sender's k-th webhook, its event occurring now.
func (b *bodyMaker) build(sender, k int, now time.Time) []byte {
	shipment, pass := b.pick(sender, k)
	st := b.steps[pass%len(b.steps)]
	buf := make([]byte, 0, b.size)
	buf = append(buf, b.head...)
	buf = appendPadded(buf, shipment, trackingDigits)
	buf = append(buf, b.idStart...)
	buf = append(buf, b.runID...)
	buf = append(buf, '-')
	buf = strconv.AppendInt(buf, int64(sender), 10)
	buf = append(buf, '-')
	buf = strconv.AppendInt(buf, int64(k), 10)
	buf = append(buf, st.fields...)
	buf = now.In(st.zone).AppendFormat(buf, time.RFC3339)
	return append(buf, `"}]}`...)
}

// appendPadded appends n in decimal, zero-padded to width digits.
func appendPadded(buf []byte, n, width int) []byte {
	var digits [20]byte
	d := strconv.AppendInt(digits[:0], int64(n), 10)
	for range width - len(d) {
		buf = append(buf, '0')
	}
	return append(buf, d...)
}

// ---- trackd's metrics during and after the run ----

const (
	backlogMetric = "trackd_ingest_backlog"
	oldestMetric  = "trackd_ingest_oldest_seconds"
	lagMetric     = "trackd_processor_lag_seconds"
)

// lagMonitor scrapes trackd's metrics. It is used by one goroutine at a
// time: baseline, then watch (in its own goroutine, joined), then drain.
type lagMonitor struct {
	url          string
	client       *http.Client
	every        time.Duration
	drainTimeout time.Duration

	base         *snapshot // before the run
	last         *snapshot // latest successful scrape
	scrapeErrors int
	lastErr      error
	backlogMax   float64
	oldestMax    float64
	drained      bool
	drainTime    time.Duration
}

// snapshot is what one scrape said.
type snapshot struct {
	backlog, oldest         float64
	haveBacklog, haveOldest bool
	lag                     []bucket
}

func newLagMonitor(cfg config) *lagMonitor {
	return &lagMonitor{
		url:          cfg.MetricsURL,
		client:       &http.Client{Timeout: 2 * time.Second},
		every:        cfg.ScrapeEvery,
		drainTimeout: cfg.DrainTimeout,
	}
}

func (m *lagMonitor) enabled() bool { return m.url != "" }

func (m *lagMonitor) baseline(ctx context.Context) {
	if !m.enabled() {
		return
	}
	if s, ok := m.poll(ctx); ok {
		m.base = &s
	}
}

// poll scrapes once and records the result.
func (m *lagMonitor) poll(ctx context.Context) (snapshot, bool) {
	s, err := m.scrape(ctx)
	if err != nil {
		if ctx.Err() == nil {
			m.scrapeErrors++
			m.lastErr = err
		}
		return s, false
	}
	m.last = &s
	if s.haveBacklog {
		m.backlogMax = max(m.backlogMax, s.backlog)
	}
	if s.haveOldest {
		m.oldestMax = max(m.oldestMax, s.oldest)
	}
	return s, true
}

// watch scrapes every m.every until ctx ends, and prints progress.
func (m *lagMonitor) watch(ctx context.Context, prog *progress) {
	ticker := time.NewTicker(m.every)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-ticker.C:
			if m.enabled() {
				m.poll(ctx)
			}
			prog.maybePrint(now, m)
		}
	}
}

// drain scrapes until the backlog is 0, for at most m.drainTimeout after
// runEnd. It gives up at once if the metrics were never reachable or do
// not have the backlog gauge.
func (m *lagMonitor) drain(ctx context.Context, runEnd time.Time) {
	if !m.enabled() {
		return
	}
	deadline := runEnd.Add(m.drainTimeout)
	ticker := time.NewTicker(m.every)
	defer ticker.Stop()
	for {
		s, ok := m.poll(ctx)
		switch {
		case ok && !s.haveBacklog, !ok && m.last == nil:
			return
		case ok && s.backlog == 0:
			m.drained, m.drainTime = true, time.Since(runEnd)
			return
		case !time.Now().Before(deadline):
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

func (m *lagMonitor) scrape(ctx context.Context) (snapshot, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.url, nil)
	if err != nil {
		return snapshot{}, fmt.Errorf("scrape %s: %w", m.url, err)
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := m.client.Do(req)
	if err != nil {
		return snapshot{}, fmt.Errorf("scrape: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return snapshot{}, fmt.Errorf("scrape %s: status %s", m.url, resp.Status)
	}
	samples, err := parseExposition(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return snapshot{}, fmt.Errorf("scrape %s: %w", m.url, err)
	}
	return snapshotOf(samples), nil
}

func snapshotOf(samples []sample) snapshot {
	var s snapshot
	s.backlog, s.haveBacklog = sumSeries(samples, backlogMetric)
	s.oldest, s.haveOldest = maxSeries(samples, oldestMetric)
	s.lag = histogramBuckets(samples, lagMetric)
	return s
}

// result summarises what the monitor saw.
func (m *lagMonitor) result() lagReport {
	r := lagReport{MetricsURL: m.url, ScrapeErrors: m.scrapeErrors}
	if m.lastErr != nil {
		r.Error = m.lastErr.Error()
	}
	switch {
	case !m.enabled():
		r.Error = "metrics scraping is off"
		return r
	case m.last == nil:
		return r
	case !m.last.haveBacklog:
		r.Error = backlogMetric + " is not exported by " + m.url
	default:
		r.Known = true
		r.BacklogMax, r.BacklogFinal = m.backlogMax, m.last.backlog
		r.OldestMaxSeconds, r.OldestFinalSeconds = m.oldestMax, m.last.oldest
		r.Drained = m.drained
		if m.drained {
			r.DrainSeconds = ptr(m.drainTime.Seconds())
		}
		if m.base != nil && m.base.haveBacklog {
			r.BacklogStart = m.base.backlog
		}
	}
	m.lagQuantiles(&r)
	return r
}

// lagQuantiles fills in the processor lag over the run: the histogram's
// growth since the baseline scrape, or its whole content without one.
func (m *lagMonitor) lagQuantiles(r *lagReport) {
	buckets := m.last.lag
	if m.base != nil {
		if d, ok := subtractBuckets(buckets, m.base.lag); ok {
			buckets, r.LagSinceStart = d, true
		}
	}
	if len(buckets) == 0 {
		return
	}
	r.LagObservations = buckets[len(buckets)-1].count
	if v, ok := histogramQuantile(0.5, buckets); ok {
		r.LagP50Seconds = ptr(v)
	}
	if v, ok := histogramQuantile(0.99, buckets); ok {
		r.LagP99Seconds = ptr(v)
	}
}

func ptr[T any](v T) *T { return &v }

// progress prints one line every `every` while the run lasts.
type progress struct {
	w            io.Writer
	every        time.Duration
	start        time.Time
	next         time.Time // when the next line is due
	lastAt       time.Time
	lastAccepted int64
	live         *liveCounters
}

func (p *progress) maybePrint(now time.Time, m *lagMonitor) {
	if p.next.IsZero() {
		p.next = p.start.Add(p.every)
	}
	if now.Before(p.next) {
		return
	}
	for !now.Before(p.next) {
		p.next = p.next.Add(p.every)
	}
	accepted := p.live.accepted.Load()
	rate := float64(accepted-p.lastAccepted) / now.Sub(p.lastAt).Seconds()
	p.lastAt, p.lastAccepted = now, accepted
	backlog := "backlog ?"
	if m.last != nil && m.last.haveBacklog {
		backlog = fmt.Sprintf("backlog %.0f oldest %.1fs", m.last.backlog, m.last.oldest)
	}
	fmt.Fprintf(p.w, "loadgen: %4.0fs sent %d accepted %d (%.0f/s) failed %d late %d %s\n",
		now.Sub(p.start).Seconds(), p.live.sent.Load(), accepted, rate, p.live.failed.Load(), p.live.late.Load(), backlog)
}

func rateText(rate float64) string {
	if rate == 0 {
		return "full speed"
	}
	return strconv.FormatFloat(rate, 'f', -1, 64) + "/s"
}

func orText(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}
