package main

// Mode "fanout" measures live delivery: webhook in, WebSocket message out.
//
// The parent registers -orders orders (one shipment each) on the first
// node, scrapes every node's /metrics, and starts -procs workers that each
// hold a share of the -clients WebSocket clients, spread round-robin over
// the -nodes and over the orders. Once every client has its snapshot it
// scrapes again (server memory per connection), then posts signed generic
// webhooks at -rate for -duration, round-robin over the orders and the
// nodes. Each event id carries its send time; clients take the latency from
// it when the message arrives, and count every event of their order once.
// After the last send it waits up to StragglerWait for the deliveries
// still on their way, stops the workers and adds up what they saw.
//
// One process holds at most ~15,000 clients (the machine caps a process
// at 20,000 open files), so with -procs > 1 the program re-executes itself
// as workers, speaking JSON lines over their stdin and stdout
// (fanout_worker.go); with -procs 1 the same worker runs in-process over
// pipes.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	clientsPerProc    = 15000
	defaultFanoutRate = 1000
	// fdReserve is what a process needs open besides its clients.
	fdReserve = 256

	rssMetric       = "process_resident_memory_bytes"
	liveConnsMetric = "trackd_live_connections"
)

func checkNode(n string) error {
	u, err := url.Parse(n)
	if err != nil {
		return fmt.Errorf("-nodes: %q: %w", n, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("-nodes: %q: want http(s) base URLs such as http://127.0.0.1:8080", n)
	}
	return nil
}

func validateFanout(cfg config) error {
	switch {
	case len(cfg.Secret) == 0:
		return errors.New("no webhook secret: set -secret or TRACKD_GENERIC_WEBHOOK_SECRET")
	case cfg.APIKey == "":
		return errors.New("no API key to register orders with: set -api-key or TRACKD_BOOTSTRAP_API_KEY")
	case len(cfg.Nodes) == 0:
		return errors.New("-nodes: no node")
	case cfg.Rate <= 0:
		return fmt.Errorf("-rate %g: must be positive (events per second in total)", cfg.Rate)
	case cfg.Duration <= 0:
		return fmt.Errorf("-duration %s: must be positive", cfg.Duration)
	case cfg.Clients < 1:
		return fmt.Errorf("-clients %d: must be at least 1", cfg.Clients)
	case cfg.Orders < 1:
		return fmt.Errorf("-orders %d: must be at least 1", cfg.Orders)
	case cfg.Procs < 1 || cfg.Procs > cfg.Clients:
		return fmt.Errorf("-procs %d: must be between 1 and -clients (%d)", cfg.Procs, cfg.Clients)
	case cfg.Senders < 1:
		return fmt.Errorf("-senders %d: must be at least 1", cfg.Senders)
	case cfg.ConnectConcurrency < 1:
		return fmt.Errorf("-connect-concurrency %d: must be at least 1", cfg.ConnectConcurrency)
	case strings.TrimSpace(cfg.Carrier) == "":
		return errors.New("-carrier: must not be empty")
	}
	for _, n := range cfg.Nodes {
		if err := checkNode(n); err != nil {
			return err
		}
	}
	return nil
}

// runFanout runs the whole measurement; see the top of this file.
func runFanout(ctx context.Context, cfg config) (*fanoutReport, error) {
	limit, err := raiseFileLimit()
	if err != nil {
		fmt.Fprintf(cfg.Progress, "loadgen: fanout: %v\n", err)
	}
	perProc := (cfg.Clients + cfg.Procs - 1) / cfg.Procs
	if limit > 0 && uint64(perProc+fdReserve) > limit {
		return nil, fmt.Errorf("%d clients per process (-clients %d over -procs %d) need more open files than the limit of %d: raise -procs",
			perProc, cfg.Clients, cfg.Procs, limit)
	}
	run := strings.ToUpper(strconv.FormatInt(time.Now().UnixNano(), 36))
	api := &http.Client{Timeout: cfg.RequestTimeout, Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: registerConcurrency}}
	defer api.CloseIdleConnections()

	fmt.Fprintf(cfg.Progress, "loadgen: fanout: run %s: registering %d orders on %s\n", run, cfg.Orders, cfg.Nodes[0])
	orders, err := registerOrders(ctx, cfg, api, run)
	if err != nil {
		return nil, err
	}
	before := scrapeNodes(ctx, cfg, api)

	fmt.Fprintf(cfg.Progress, "loadgen: fanout: connecting %d clients to %d node(s) with %d worker process(es), %d dials at a time\n",
		cfg.Clients, len(cfg.Nodes), cfg.Procs, cfg.ConnectConcurrency)
	g, err := startWorkers(cfg, run, orders)
	if err != nil {
		return nil, err
	}
	defer g.close()
	conn, err := g.awaitConnected(ctx)
	if err != nil {
		return nil, err
	}
	var after []nodeScrape
	ev := &eventsResult{AcceptedPerOrder: make([]int64, len(orders)), Errors: map[string]int64{}}
	var straggle *time.Duration
	if conn != nil { // not interrupted while connecting
		fmt.Fprintf(cfg.Progress, "loadgen: fanout: %d clients connected, %d failed, in %.1fs\n",
			conn.Connected, conn.ConnectFailed, conn.ConnectSeconds)
		after = scrapeNodes(ctx, cfg, api)
		ev = sendEvents(ctx, cfg, run, orders, conn.PerOrder, g)
		expected := expectedDeliveries(ev.AcceptedPerOrder, conn.PerOrder)
		straggle = g.awaitDelivered(ctx, expected, cfg.StragglerWait, ev.end)
	}
	results, err := g.stopAll(cfg.StopTimeout)
	if err != nil {
		return nil, err
	}
	final := mergeWorkerResults(results, len(orders), len(cfg.Nodes))
	rep := newFanoutReport(cfg, run, final, ev, straggle, before, after)
	rep.Interrupted = ctx.Err() != nil
	return rep, nil
}

// ---- registering the orders ----

const registerConcurrency = 16

// registerOrders registers the run's orders on the first node, a few at a
// time.
func registerOrders(ctx context.Context, cfg config, client *http.Client, run string) ([]fanoutOrder, error) {
	endpoint, err := url.JoinPath(cfg.Nodes[0], "/api/v1/orders")
	if err != nil {
		return nil, fmt.Errorf("orders URL from %q: %w", cfg.Nodes[0], err)
	}
	orders := make([]fanoutOrder, cfg.Orders)
	errs := make([]error, cfg.Orders)
	sem := make(chan struct{}, registerConcurrency)
	var wg sync.WaitGroup
	for k := range orders {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			orders[k], errs[k] = registerOrder(ctx, client, endpoint, cfg.APIKey, cfg.Carrier, run, k)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		n := 0
		for _, e := range errs {
			if e != nil {
				n++
			}
		}
		return nil, fmt.Errorf("register orders: %d of %d failed; first: %w", n, len(errs), firstError(errs))
	}
	return orders, nil
}

func firstError(errs []error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

type orderItem struct {
	SKU      string `json:"sku"`
	Quantity int    `json:"quantity"`
}

type orderShipment struct {
	Carrier        string      `json:"carrier"`
	TrackingNumber string      `json:"tracking_number"`
	Items          []orderItem `json:"items"`
}

type orderRequest struct {
	OrderNumber string          `json:"order_number"`
	Items       []orderItem     `json:"items"`
	Shipments   []orderShipment `json:"shipments"`
}

func orderFor(run string, k int, carrier string) orderRequest {
	items := []orderItem{{SKU: "SKU", Quantity: 1}}
	return orderRequest{
		OrderNumber: "LGF-" + run + "-" + strconv.Itoa(k),
		Items:       items,
		Shipments:   []orderShipment{{Carrier: carrier, TrackingNumber: "LGF" + run + strconv.Itoa(k), Items: items}},
	}
}

func registerOrder(ctx context.Context, client *http.Client, endpoint, apiKey, carrier, run string, k int) (fanoutOrder, error) {
	in := orderFor(run, k, carrier)
	body, err := json.Marshal(in)
	if err != nil {
		return fanoutOrder{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return fanoutOrder{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+apiKey)
	resp, err := client.Do(req)
	if err != nil {
		return fanoutOrder{}, fmt.Errorf("order %s: %w", in.OrderNumber, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fanoutOrder{}, fmt.Errorf("order %s: read the answer: %w", in.OrderNumber, err)
	}
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		return fanoutOrder{}, fmt.Errorf("order %s: POST %s: %s: %.200s", in.OrderNumber, endpoint, resp.Status, b)
	}
	var out struct {
		TrackingURL string `json:"tracking_url"`
		Shipments   []struct {
			ID string `json:"id"`
		} `json:"shipments"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return fanoutOrder{}, fmt.Errorf("order %s: answer %.200s: %w", in.OrderNumber, b, err)
	}
	token := out.TrackingURL[strings.LastIndex(out.TrackingURL, "/")+1:]
	if token == "" || len(out.Shipments) == 0 || out.Shipments[0].ID == "" {
		return fanoutOrder{}, fmt.Errorf("order %s: answer %.200s lacks a tracking_url token or shipments[0].id", in.OrderNumber, b)
	}
	return fanoutOrder{Token: token, ShipmentID: out.Shipments[0].ID, TrackingNumber: in.Shipments[0].TrackingNumber}, nil
}

// ---- the nodes' metrics ----

// nodeScrape is what one node's /metrics said.
type nodeScrape struct {
	rss, live         float64
	haveRSS, haveLive bool
	err               error
}

// scrapeNodes reads every node's metrics at once; nil when scraping is off.
func scrapeNodes(ctx context.Context, cfg config, client *http.Client) []nodeScrape {
	if cfg.MetricsURL == "" {
		return nil
	}
	out := make([]nodeScrape, len(cfg.Nodes))
	var wg sync.WaitGroup
	for i, n := range cfg.Nodes {
		wg.Go(func() { out[i] = scrapeNode(ctx, client, n+"/metrics") })
	}
	wg.Wait()
	return out
}

func scrapeNode(ctx context.Context, client *http.Client, u string) nodeScrape {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nodeScrape{err: err}
	}
	req.Header.Set("Accept", "text/plain;version=0.0.4")
	resp, err := client.Do(req)
	if err != nil {
		return nodeScrape{err: fmt.Errorf("scrape %s: %w", u, err)}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nodeScrape{err: fmt.Errorf("scrape %s: status %s", u, resp.Status)}
	}
	samples, err := parseExposition(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nodeScrape{err: fmt.Errorf("scrape %s: %w", u, err)}
	}
	var s nodeScrape
	s.rss, s.haveRSS = sumSeries(samples, rssMetric)
	s.live, s.haveLive = sumSeries(samples, liveConnsMetric)
	return s
}

// ---- the workers, seen from the parent ----

type workerGroup struct {
	handles []*workerHandle
	closed  sync.Once
}

// startWorkers starts cfg.Procs workers, in-process when there is one, and
// gives each its spec.
func startWorkers(cfg config, run string, orders []fanoutOrder) (*workerGroup, error) {
	g := &workerGroup{}
	for i := range cfg.Procs {
		var proc *workerProc
		if cfg.Procs == 1 && len(cfg.WorkerCommand) == 0 {
			proc = startWorkerInProcess(cfg)
		} else {
			p, err := startWorkerProcess(cfg)
			if err != nil {
				g.close()
				return nil, err
			}
			proc = p
		}
		h := newWorkerHandle(i, proc)
		g.handles = append(g.handles, h)
		spec := workerSpec{
			Worker: i, Procs: cfg.Procs, Run: run, Clients: cfg.Clients, Nodes: cfg.Nodes, Origin: cfg.Origin,
			Orders:             orders,
			ConnectConcurrency: max(1, (cfg.ConnectConcurrency+cfg.Procs-1)/cfg.Procs),
			ConnectTimeout:     cfg.ConnectTimeout, ProgressEvery: cfg.WorkerProgressEvery,
		}
		if err := h.send(workerMsg{Type: msgStart, Spec: &spec}); err != nil {
			g.close()
			return nil, err
		}
	}
	return g, nil
}

// awaitConnected waits for every worker's clients to be connected (or
// failed) and adds them up. Interrupted, it returns nil and no error.
func (g *workerGroup) awaitConnected(ctx context.Context) (*workerResult, error) {
	results := make([]workerResult, 0, len(g.handles))
	for _, h := range g.handles {
		select {
		case r := <-h.connected:
			results = append(results, r)
		case <-h.done:
			err := h.err
			if err == nil {
				err = fmt.Errorf("worker %d ended while connecting", h.index)
			}
			return nil, err
		case <-ctx.Done():
			return nil, nil
		}
	}
	if len(results) == 0 {
		return nil, nil
	}
	r := mergeWorkerResults(results, len(results[0].PerOrder), len(results[0].PerNode))
	return &r, nil
}

// delivered is the workers' latest count of delivered messages.
func (g *workerGroup) delivered() int64 {
	var n int64
	for _, h := range g.handles {
		n += h.delivered.Load()
	}
	return n
}

// awaitDelivered waits, for at most wait, until the workers have received
// expected messages. It returns how long after lastSend that was, or nil
// if it did not happen.
func (g *workerGroup) awaitDelivered(ctx context.Context, expected int64, wait time.Duration, lastSend time.Time) *time.Duration {
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	poll := time.NewTicker(10 * time.Millisecond)
	defer poll.Stop()
	for {
		if g.delivered() >= expected {
			return ptr(time.Since(lastSend))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-deadline.C:
			return nil
		case <-poll.C:
		}
	}
}

// stopAll stops the workers and collects their results; a worker that
// does not answer within timeout is killed.
func (g *workerGroup) stopAll(timeout time.Duration) ([]workerResult, error) {
	for _, h := range g.handles {
		h.stop()
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var errs []error
	results := make([]workerResult, 0, len(g.handles))
	for _, h := range g.handles {
		select {
		case <-h.done:
		case <-timer.C:
			errs = append(errs, fmt.Errorf("worker %d did not stop within %s", h.index, timeout))
			g.close()
			return nil, errors.Join(errs...)
		}
		switch {
		case h.err != nil:
			errs = append(errs, h.err)
		case h.result == nil:
			errs = append(errs, fmt.Errorf("worker %d sent no result", h.index))
		default:
			results = append(results, *h.result)
		}
	}
	g.close()
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return results, nil
}

// close ends every worker still running and waits for them.
func (g *workerGroup) close() {
	g.closed.Do(func() {
		for _, h := range g.handles {
			select {
			case <-h.done:
			default:
				h.proc.kill()
			}
		}
		for _, h := range g.handles {
			<-h.done
			h.proc.wait()
		}
	})
}

// ---- the events ----

// eventsResult is what the senders did.
type eventsResult struct {
	Sent, Accepted, Failed int64
	Errors                 map[string]int64
	FirstError             string
	LateSends              int64
	MaxLate                time.Duration
	Elapsed                time.Duration
	AcceptedPerOrder       []int64
	end                    time.Time
}

// eventSender posts the run's webhooks: event seq is due at
// start + seq/rate; senders take the next seq in turn, so sends go
// round-robin over the orders and nodes whatever sender makes them. A send
// made late is counted, and its latency still starts at the actual send.
type eventSender struct {
	cfg       config
	plan      fanoutPlan
	prefix    string
	orders    []fanoutOrder
	endpoints []string
	client    *http.Client
	head      string // `{"carrier":"ups","tracking_number":"`
	start     time.Time
	end       time.Time

	next     atomic.Int64
	accepted []atomic.Int64 // per order
	sent     atomic.Int64
	ok       atomic.Int64
	failed   atomic.Int64
	late     atomic.Int64

	mu sync.Mutex // guards errorTally and maxLate
	errorTally
	maxLate time.Duration
}

func sendEvents(ctx context.Context, cfg config, run string, orders []fanoutOrder, watchers []int, g *workerGroup) *eventsResult {
	carrier, _ := json.Marshal(cfg.Carrier) // a string always marshals
	s := &eventSender{
		cfg: cfg, plan: fanoutPlan{nodes: len(cfg.Nodes), orders: len(orders)}, prefix: eventIDPrefix(run),
		orders: orders, client: newSenderClient(cfg.Senders, cfg.RequestTimeout),
		head:     `{"carrier":` + string(carrier) + `,"tracking_number":"`,
		accepted: make([]atomic.Int64, len(orders)), errorTally: newErrorTally(),
	}
	defer s.client.CloseIdleConnections()
	for _, n := range cfg.Nodes {
		s.endpoints = append(s.endpoints, n+webhookPath)
	}
	s.start = time.Now()
	s.end = s.start.Add(cfg.Duration)
	fmt.Fprintf(cfg.Progress, "loadgen: fanout: posting %s of events for %s to %d node(s) with %d senders\n",
		rateText(cfg.Rate), cfg.Duration, len(cfg.Nodes), cfg.Senders)

	progressCtx, stopProgress := context.WithCancel(ctx)
	progressDone := make(chan struct{})
	go func() {
		defer close(progressDone)
		s.printProgress(progressCtx, watchers, g)
	}()
	var wg sync.WaitGroup
	for range cfg.Senders {
		wg.Go(func() { s.runSender(ctx) })
	}
	wg.Wait()
	end := time.Now()
	stopProgress()
	<-progressDone

	r := &eventsResult{Sent: s.sent.Load(), Accepted: s.ok.Load(), Failed: s.failed.Load(), Errors: s.errors,
		FirstError: s.firstErr, LateSends: s.late.Load(), MaxLate: s.maxLate, Elapsed: end.Sub(s.start),
		AcceptedPerOrder: make([]int64, len(orders)), end: end}
	for i := range s.accepted {
		r.AcceptedPerOrder[i] = s.accepted[i].Load()
	}
	return r
}

func (s *eventSender) due(seq int64) time.Time {
	return s.start.Add(time.Duration(float64(seq) * float64(time.Second) / s.cfg.Rate))
}

func (s *eventSender) runSender(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		seq := s.next.Add(1) - 1
		due := s.due(seq)
		if !due.Before(s.end) || !sleepUntil(ctx, timer, due) {
			return
		}
		s.sendOne(ctx, seq, due)
	}
}

func (s *eventSender) sendOne(ctx context.Context, seq int64, due time.Time) {
	node, order := s.plan.place(seq)
	now := time.Now()
	if late := now.Sub(due); late > lateThreshold {
		s.late.Add(1)
		s.mu.Lock()
		s.maxLate = max(s.maxLate, late)
		s.mu.Unlock()
	}
	body := s.body(seq, order, now)
	// A request once sent is seen through (bounded by the client's
	// timeout) even if the run is interrupted meanwhile.
	status, err := postSigned(context.WithoutCancel(ctx), s.client, s.endpoints[node], s.cfg.Secret, body)
	s.sent.Add(1)
	switch {
	case err != nil:
		s.fail(classifyError(err), err)
	case status == http.StatusAccepted:
		s.ok.Add(1)
		s.accepted[order].Add(1)
	default:
		s.fail("status "+strconv.Itoa(status), nil)
	}
}

func (s *eventSender) fail(kind string, err error) {
	s.failed.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errorTally.fail(kind, err)
}

// body is the webhook of event seq for order: one in_transit event, its id
// carrying the send time.
func (s *eventSender) body(seq int64, order int, now time.Time) []byte {
	buf := make([]byte, 0, 256)
	buf = append(buf, s.head...)
	buf = append(buf, s.orders[order].TrackingNumber...)
	buf = append(buf, `","events":[{"id":"`...)
	buf = appendEventID(buf, s.prefix, seq, now)
	buf = append(buf, `","status":"in_transit","carrier_status":"I","message":"loadgen fanout","occurred_at":"`...)
	buf = now.UTC().AppendFormat(buf, time.RFC3339)
	return append(buf, `"}]}`...)
}

// postSigned posts body signed now and reads the whole answer, so the
// connection is reused.
func postSigned(ctx context.Context, client *http.Client, endpoint string, secret, body []byte) (int, error) {
	s := sender{client: client, endpoint: endpoint, secret: secret}
	return s.post(ctx, body)
}

func (s *eventSender) printProgress(ctx context.Context, watchers []int, g *workerGroup) {
	ticker := time.NewTicker(s.cfg.ProgressEvery)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-ticker.C:
			accepted := make([]int64, len(s.accepted))
			for i := range s.accepted {
				accepted[i] = s.accepted[i].Load()
			}
			fmt.Fprintf(s.cfg.Progress, "loadgen: %4.0fs sent %d accepted %d failed %d late %d; delivered %d of %d so far\n",
				now.Sub(s.start).Seconds(), s.sent.Load(), s.ok.Load(), s.failed.Load(), s.late.Load(),
				g.delivered(), expectedDeliveries(accepted, watchers))
		}
	}
}
