package main

// Mode "page" measures the shopper's tracking page under load.
//
// With -path it GETs <target><path>. Without, it first registers one order
// (POST /api/v1/orders with -api-key), posts pageTimelineEvents signed
// generic webhooks for its shipment (info_received, then in_transit, a
// minute apart) so the page has a realistic timeline, waits for trackd's
// ingest backlog to drain (when -metrics is reachable) and GETs the path of
// the order's tracking_url on -target.
//
// The load is open-loop, like mode ingest: request j is due at
// start + j/rate, spread over -senders that each keep one connection. A
// sender that falls behind sends back to back and counts the sends made
// more than lateThreshold late; latency runs from the actual send to the
// last byte of the body, so lateness is not hidden. Every request asks for
// gzip and English, as a browser would; the body is counted as received
// (compressed), the whole response as read off the connection (status
// line, headers, chunk framing, TLS records) and the body once decoded,
// which also checks that it is a complete gzip stream.
//
//	loadgen -mode page -target http://127.0.0.1:8080 -rate 1000 -duration 60s

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trackd/trackd/tracking"
)

const (
	defaultPageRate    = 1000
	defaultPageSenders = 32
	// pageTimelineEvents is how many webhooks the registered order's
	// shipment gets, one event each.
	pageTimelineEvents = 20
	ordersPath         = "/api/v1/orders"
	// maxPageBody bounds what one response may make a sender buffer.
	maxPageBody = 64 << 20
)

// applyPageDefaults sets the flags whose default differs in mode page.
func applyPageDefaults(cfg *config, set map[string]bool, getenv func(string) string) {
	if !set["rate"] {
		cfg.Rate = defaultPageRate
	}
	if !set["senders"] {
		cfg.Senders = defaultPageSenders
	}
	if cfg.APIKey == "" {
		cfg.APIKey = getenv("TRACKD_BOOTSTRAP_API_KEY")
	}
}

func validatePage(cfg config) error {
	switch {
	case cfg.Rate <= 0:
		return fmt.Errorf("-rate %g: must be positive (requests per second in total)", cfg.Rate)
	case cfg.Duration <= 0:
		return fmt.Errorf("-duration %s: must be positive", cfg.Duration)
	case cfg.Senders < 1:
		return fmt.Errorf("-senders %d: must be at least 1", cfg.Senders)
	case cfg.PagePath != "":
		if _, err := pageURL(cfg.Target, cfg.PagePath); err != nil {
			return err
		}
		return nil
	// Without -path the mode registers an order and posts its timeline.
	case cfg.APIKey == "":
		return errors.New("no API key to register the order with: set -api-key or TRACKD_BOOTSTRAP_API_KEY, or give -path")
	case len(cfg.Secret) == 0:
		return errors.New("no webhook secret for the order's timeline: set -secret or TRACKD_GENERIC_WEBHOOK_SECRET, or give -path")
	case strings.TrimSpace(cfg.Carrier) == "":
		return errors.New("-carrier: must not be empty")
	}
	return nil
}

// pageURL is target joined with path, which must be an absolute path
// (a query is allowed).
func pageURL(target, path string) (string, error) {
	if !strings.HasPrefix(path, "/") || strings.HasPrefix(path, "//") {
		return "", fmt.Errorf("-path %q: want a path on -target such as /t/<token>", path)
	}
	u := strings.TrimRight(target, "/") + path
	if _, err := url.Parse(u); err != nil {
		return "", fmt.Errorf("-path %q: %w", path, err)
	}
	return u, nil
}

// runPage prepares the page (unless -path names one), loads it for
// cfg.Duration and reports.
func runPage(ctx context.Context, cfg config) (*pageReport, error) {
	var setup *pageSetup
	path := cfg.PagePath
	if path == "" {
		s, err := preparePage(ctx, cfg)
		if err != nil {
			return nil, err
		}
		setup, path = s, s.Path
	}
	target, err := pageURL(cfg.Target, path)
	if err != nil {
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("interrupted before the load: %w", ctx.Err())
	}

	start := time.Now()
	sched := newSchedule(start, cfg)
	live := &liveCounters{}
	fmt.Fprintf(cfg.Progress, "loadgen: page: GET %s at %s for %s with %d senders\n",
		target, rateText(cfg.Rate), cfg.Duration, cfg.Senders)

	progressCtx, stopProgress := context.WithCancel(ctx)
	progressDone := make(chan struct{})
	go func() {
		defer close(progressDone)
		printPageProgress(progressCtx, cfg, start, live)
	}()

	senders := make([]*pageSender, cfg.Senders)
	for i := range senders {
		s := &pageSender{id: i, url: target, sched: sched, live: live}
		s.client = newPageClient(cfg.RequestTimeout, &s.wire)
		senders[i] = s
	}
	results := make([]pageResult, len(senders))
	var wg sync.WaitGroup
	for i, s := range senders {
		wg.Go(func() {
			defer s.client.CloseIdleConnections()
			results[i] = s.run(ctx)
		})
	}
	wg.Wait()
	end := time.Now()
	stopProgress()
	<-progressDone

	rep := newPageReport(cfg, target, setup, results, end.Sub(start))
	rep.Interrupted = ctx.Err() != nil
	return rep, nil
}

// ---- the page to load ----

// pageSetup is the order mode page registered for its page.
type pageSetup struct {
	Run            string `json:"run"`
	OrderNumber    string `json:"order_number"`
	TrackingNumber string `json:"tracking_number"`
	TrackingURL    string `json:"tracking_url"`
	Path           string `json:"path"`
	Webhooks       int    `json:"webhooks"`
	// AppliedSeconds is how long after the last webhook trackd's ingest
	// backlog was seen at 0, so the timeline was on the page; null when
	// that was not seen (AppliedError says why).
	AppliedSeconds *float64 `json:"applied_seconds"`
	AppliedError   string   `json:"applied_error,omitempty"`
}

// preparePage registers the run's order, posts its timeline and waits for
// trackd to apply it.
func preparePage(ctx context.Context, cfg config) (*pageSetup, error) {
	run := strings.ToUpper(strconv.FormatInt(time.Now().UnixNano(), 36))
	client := &http.Client{Timeout: cfg.RequestTimeout, Transport: &http.Transport{Proxy: nil}}
	defer client.CloseIdleConnections()

	s := &pageSetup{Run: run, OrderNumber: "LGP-" + run, TrackingNumber: "LGP" + run}
	fmt.Fprintf(cfg.Progress, "loadgen: page: run %s: registering order %s on %s\n", run, s.OrderNumber, cfg.Target)
	trackingURL, err := registerPageOrder(ctx, client, cfg, s.OrderNumber, s.TrackingNumber)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(trackingURL)
	if err != nil || !strings.HasPrefix(u.EscapedPath(), "/") {
		return nil, fmt.Errorf("order %s: tracking_url %q is not a URL with a path", s.OrderNumber, trackingURL)
	}
	s.TrackingURL, s.Path = trackingURL, u.RequestURI()

	endpoint, err := url.JoinPath(cfg.Target, webhookPath)
	if err != nil {
		return nil, fmt.Errorf("webhook URL from -target %q: %w", cfg.Target, err)
	}
	now := time.Now()
	for i, body := range pageTimeline(cfg.Carrier, s.TrackingNumber, run, now) {
		status, err := postSigned(ctx, client, endpoint, cfg.Secret, body)
		if err == nil && status != http.StatusAccepted {
			err = fmt.Errorf("POST %s: status %d, want %d", endpoint, status, http.StatusAccepted)
		}
		if err != nil {
			return nil, fmt.Errorf("order %s: webhook %d of %d: %w", s.OrderNumber, i+1, pageTimelineEvents, err)
		}
		s.Webhooks++
	}

	mon := newLagMonitor(cfg)
	mon.drain(ctx, time.Now())
	if mon.drained {
		s.AppliedSeconds = ptr(mon.drainTime.Seconds())
	} else {
		s.AppliedError = orText(mon.result().Error, fmt.Sprintf("%s not 0 within %s", backlogMetric, cfg.DrainTimeout))
		if ctx.Err() != nil {
			s.AppliedError = "interrupted"
		}
	}
	fmt.Fprintf(cfg.Progress, "loadgen: page: posted %d webhooks for %s; %s\n", s.Webhooks, s.TrackingNumber, s.appliedText())
	return s, nil
}

func (s *pageSetup) appliedText() string {
	if s.AppliedSeconds != nil {
		return fmt.Sprintf("timeline applied %.2fs after the last", *s.AppliedSeconds)
	}
	return "timeline not seen applied (" + s.AppliedError + ")"
}

// registerPageOrder registers the run's order and returns its tracking_url.
func registerPageOrder(ctx context.Context, client *http.Client, cfg config, number, trackingNumber string) (string, error) {
	endpoint, err := url.JoinPath(cfg.Target, ordersPath)
	if err != nil {
		return "", fmt.Errorf("orders URL from -target %q: %w", cfg.Target, err)
	}
	items := []orderItem{{SKU: "SKU", Quantity: 1}}
	body, err := json.Marshal(orderRequest{
		OrderNumber: number,
		Items:       items,
		Shipments:   []orderShipment{{Carrier: cfg.Carrier, TrackingNumber: trackingNumber, Items: items}},
	})
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+cfg.APIKey)
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("order %s: %w", number, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("order %s: read the answer: %w", number, err)
	}
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("order %s: POST %s: %s: %.200s", number, endpoint, resp.Status, b)
	}
	var out struct {
		TrackingURL string `json:"tracking_url"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return "", fmt.Errorf("order %s: answer %.200s: %w", number, b, err)
	}
	if out.TrackingURL == "" {
		return "", fmt.Errorf("order %s: answer %.200s has no tracking_url", number, b)
	}
	return out.TrackingURL, nil
}

// pageWebhook is one generic webhook of the timeline.
type pageWebhook struct {
	Carrier        string             `json:"carrier"`
	TrackingNumber string             `json:"tracking_number"`
	Events         []pageWebhookEvent `json:"events"`
}

type pageWebhookEvent struct {
	ID            string            `json:"id"`
	Status        string            `json:"status"`
	CarrierStatus string            `json:"carrier_status"`
	Message       string            `json:"message"`
	Location      tracking.Location `json:"location"`
	OccurredAt    string            `json:"occurred_at"`
}

// pageTimeline is the bodies of the order's webhooks: info_received, then
// in_transit through a few facilities, a minute apart, the last a minute
// before now. Event ids are unique per run.
func pageTimeline(carrier, trackingNumber, run string, now time.Time) [][]byte {
	route := []tracking.Location{
		{City: "Louisville", Region: "KY", PostalCode: "40209", Country: "US"},
		{City: "Indianapolis", Region: "IN", PostalCode: "46241", Country: "US"},
		{City: "St. Louis", Region: "MO", PostalCode: "63134", Country: "US"},
		{City: "Kansas City", Region: "MO", PostalCode: "64153", Country: "US"},
		{City: "Denver", Region: "CO", PostalCode: "80249", Country: "US"},
	}
	first := now.UTC().Truncate(time.Minute).Add(-pageTimelineEvents * time.Minute)
	bodies := make([][]byte, 0, pageTimelineEvents)
	for i := range pageTimelineEvents {
		ev := pageWebhookEvent{
			ID:            "lgp-" + run + "-" + strconv.Itoa(i),
			Status:        "in_transit",
			CarrierStatus: "I",
			Message:       "Departed from facility",
			Location:      route[i%len(route)],
			OccurredAt:    first.Add(time.Duration(i) * time.Minute).Format(time.RFC3339),
		}
		if i == 0 {
			ev.Status, ev.CarrierStatus, ev.Message = "info_received", "MP", "Shipper created a label"
			ev.Location = tracking.Location{City: "Atlanta", Region: "GA", PostalCode: "30301", Country: "US"}
		} else if i%2 == 0 {
			ev.Message = "Arrived at facility"
		}
		b, _ := json.Marshal(pageWebhook{Carrier: carrier, TrackingNumber: trackingNumber, Events: []pageWebhookEvent{ev}}) // strings only: cannot fail
		bodies = append(bodies, b)
	}
	return bodies
}

// ---- the load ----

// countingConn adds the bytes read from a connection to read.
type countingConn struct {
	net.Conn
	read *atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.read.Add(int64(n))
	return n, err
}

// newPageClient is one sender's client: one keep-alive HTTP/1.1
// connection whose reads add up in wire. Compression is left to the
// sender, so the body is counted as it came.
func newPageClient(timeout time.Duration, wire *atomic.Int64) *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Client{
		Timeout: timeout,
		// A redirect is an answer of its own, counted by its status, not a
		// second request folded into this one's latency and bytes.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{
			Proxy: nil, // a load generator talks to its target directly
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				c, err := dialer.DialContext(ctx, network, addr)
				if err != nil {
					return nil, err
				}
				return &countingConn{Conn: c, read: wire}, nil
			},
			MaxIdleConns:        1,
			MaxIdleConnsPerHost: 1,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
	}
}

// pageSender makes the requests of one schedule slot: due at
// start + id/rate + k*senders/rate.
type pageSender struct {
	id     int
	client *http.Client
	url    string
	sched  schedule
	live   *liveCounters
	wire   atomic.Int64 // bytes read from this sender's connections

	body bytes.Buffer // the latest response body, as received
	zr   *gzip.Reader
}

// pageResult is what one sender saw; results are merged at the end.
type pageResult struct {
	latencies []time.Duration
	sent      int64
	ok        int64
	late      int64
	maxLate   time.Duration
	errorTally
	// over the OK responses
	gzipped      int64
	wireBytes    int64
	bodyBytes    int64
	decodedBytes int64
}

func (s *pageSender) run(ctx context.Context) pageResult {
	res := pageResult{latencies: make([]time.Duration, 0, s.sched.expected()), errorTally: newErrorTally()}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for k := 0; ; k++ {
		due := s.sched.due(s.id, k)
		if !due.Before(s.sched.end) || !sleepUntil(ctx, timer, due) {
			break
		}
		s.getOne(ctx, due, &res)
	}
	return res
}

// pageResponse is one response as received.
type pageResponse struct {
	status   int
	encoding string // Content-Encoding
	wire     int64  // bytes read off the connection for it
	body     int64  // body bytes as received
}

func (s *pageSender) getOne(ctx context.Context, due time.Time, res *pageResult) {
	// A request once sent is seen through (bounded by the client's
	// timeout) even if the run is interrupted meanwhile.
	req, err := http.NewRequestWithContext(context.WithoutCancel(ctx), http.MethodGet, s.url, nil)
	if err != nil {
		res.fail("build request", err)
		return
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8")
	req.Header.Set("Accept-Encoding", "gzip")
	req.Header.Set("Accept-Language", "en")

	sentAt := time.Now()
	if late := sentAt.Sub(due); late > lateThreshold {
		res.late++
		res.maxLate = max(res.maxLate, late)
		s.live.late.Add(1)
	}
	resp, err := s.get(req)
	took := time.Since(sentAt)
	res.sent++
	s.live.sent.Add(1)
	res.latencies = append(res.latencies, took)
	if err == nil && resp.status != http.StatusOK {
		res.fail("status "+strconv.Itoa(resp.status), nil)
		s.live.failed.Add(1)
		return
	}
	var decoded int64
	if err == nil {
		decoded, err = s.decode(resp.encoding)
	}
	if err != nil {
		kind := classifyError(err)
		var be *pageBodyError
		if errors.As(err, &be) {
			kind = be.kind
		}
		res.fail(kind, err)
		s.live.failed.Add(1)
		return
	}
	res.ok++
	s.live.accepted.Add(1)
	if resp.encoding == "gzip" {
		res.gzipped++
	}
	res.wireBytes += resp.wire
	res.bodyBytes += resp.body
	res.decodedBytes += decoded
}

// get does req and reads the whole body into s.body, as received.
func (s *pageSender) get(req *http.Request) (pageResponse, error) {
	before := s.wire.Load()
	s.body.Reset()
	resp, err := s.client.Do(req)
	if err != nil {
		return pageResponse{}, fmt.Errorf("GET %s: %w", s.url, err)
	}
	defer resp.Body.Close()
	r := pageResponse{status: resp.StatusCode, encoding: strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding")))}
	n, err := s.body.ReadFrom(io.LimitReader(resp.Body, maxPageBody+1))
	r.body = n
	if err != nil {
		return r, fmt.Errorf("GET %s: read the %d response: %w", s.url, resp.StatusCode, err)
	}
	if n > maxPageBody {
		return r, &pageBodyError{kind: "body: too large", err: fmt.Errorf("GET %s: body over %d bytes", s.url, maxPageBody)}
	}
	// The transport has read the whole response off the connection by
	// the time its body ends, so the counter now includes it.
	r.wire = s.wire.Load() - before
	return r, nil
}

// decode checks the body in s.body and returns its decoded size.
func (s *pageSender) decode(encoding string) (int64, error) {
	switch encoding {
	case "", "identity":
		return int64(s.body.Len()), nil
	case "gzip":
	default:
		return 0, &pageBodyError{kind: "body: encoding " + encoding, err: fmt.Errorf("GET %s: Content-Encoding %q, asked for gzip", s.url, encoding)}
	}
	br := bytes.NewReader(s.body.Bytes())
	var err error
	if s.zr == nil {
		s.zr, err = gzip.NewReader(br)
	} else {
		err = s.zr.Reset(br)
	}
	var n int64
	if err == nil {
		n, err = io.Copy(io.Discard, s.zr)
	}
	if err != nil {
		return 0, &pageBodyError{kind: "body: bad gzip", err: fmt.Errorf("GET %s: gzip body of %d bytes: %w", s.url, s.body.Len(), err)}
	}
	return n, nil
}

// pageBodyError is a response whose body is not a page, with the kind it
// is counted under.
type pageBodyError struct {
	kind string
	err  error
}

func (e *pageBodyError) Error() string { return e.err.Error() }
func (e *pageBodyError) Unwrap() error { return e.err }

func printPageProgress(ctx context.Context, cfg config, start time.Time, live *liveCounters) {
	ticker := time.NewTicker(cfg.ProgressEvery)
	defer ticker.Stop()
	lastAt, lastOK := start, int64(0)
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-ticker.C:
			ok := live.accepted.Load()
			rate := float64(ok-lastOK) / now.Sub(lastAt).Seconds()
			lastAt, lastOK = now, ok
			fmt.Fprintf(cfg.Progress, "loadgen: %4.0fs sent %d ok %d (%.0f/s) failed %d late %d\n",
				now.Sub(start).Seconds(), live.sent.Load(), ok, rate, live.failed.Load(), live.late.Load())
		}
	}
}

// ---- the report ----

type pageReport struct {
	Mode            string     `json:"mode"`
	At              time.Time  `json:"at"`
	URL             string     `json:"url"`
	Setup           *pageSetup `json:"setup"` // null when -path was given
	TargetRate      float64    `json:"target_rate"`
	Senders         int        `json:"senders"`
	DurationSeconds float64    `json:"duration_seconds"`
	ElapsedSeconds  float64    `json:"elapsed_seconds"`
	Sent            int64      `json:"sent"`
	OK              int64      `json:"ok"` // 200 with a complete body
	Failed          int64      `json:"failed"`
	Interrupted     bool       `json:"interrupted"` // stopped early by a signal
	// RequestsPerSecond is the requests answered (whatever the answer)
	// per second of the run; OKPerSecond only the OK ones.
	RequestsPerSecond float64          `json:"requests_per_second"`
	OKPerSecond       float64          `json:"ok_per_second"`
	Errors            map[string]int64 `json:"errors"`
	FirstError        string           `json:"first_error,omitempty"`
	LateSends         int64            `json:"late_sends"`
	MaxLateMs         float64          `json:"max_late_ms"`
	// Latency is from the send to the last byte of the body, over every
	// request.
	Latency latencySummary `json:"latency_ms"`
	Bytes   pageBytes      `json:"bytes"`
}

// pageBytes is the size of the OK responses.
type pageBytes struct {
	Gzipped int64 `json:"gzipped"` // responses with Content-Encoding: gzip
	// Means per response: as read off the connection (status line,
	// headers, framing, body), the body as received (compressed) and the
	// body decoded.
	WireMean    float64 `json:"wire_mean"`
	BodyMean    float64 `json:"body_mean"`
	DecodedMean float64 `json:"decoded_mean"`
	WireTotal   int64   `json:"wire_total"`
}

func newPageReport(cfg config, target string, setup *pageSetup, results []pageResult, elapsed time.Duration) *pageReport {
	r := &pageReport{
		Mode: "page", At: time.Now().UTC().Truncate(time.Second), URL: target, Setup: setup,
		TargetRate: cfg.Rate, Senders: cfg.Senders,
		DurationSeconds: cfg.Duration.Seconds(), ElapsedSeconds: elapsed.Seconds(),
		Errors: map[string]int64{},
	}
	var maxLate time.Duration
	var all []time.Duration
	var body, decoded int64
	for _, res := range results {
		r.Sent += res.sent
		r.OK += res.ok
		r.LateSends += res.late
		maxLate = max(maxLate, res.maxLate)
		for k, n := range res.errors {
			r.Errors[k] += n
			r.Failed += n
		}
		if r.FirstError == "" {
			r.FirstError = res.firstErr
		}
		all = append(all, res.latencies...)
		r.Bytes.Gzipped += res.gzipped
		r.Bytes.WireTotal += res.wireBytes
		body += res.bodyBytes
		decoded += res.decodedBytes
	}
	r.MaxLateMs = ms(maxLate)
	if elapsed > 0 {
		r.RequestsPerSecond = float64(r.Sent) / elapsed.Seconds()
		r.OKPerSecond = float64(r.OK) / elapsed.Seconds()
	}
	if r.OK > 0 {
		n := float64(r.OK)
		r.Bytes.WireMean = float64(r.Bytes.WireTotal) / n
		r.Bytes.BodyMean = float64(body) / n
		r.Bytes.DecodedMean = float64(decoded) / n
	}
	slices.Sort(all)
	r.Latency = summarize(all)
	return r
}

func (r *pageReport) failed() bool           { return tooManyFailed(r.Sent, r.Failed) }
func (r *pageReport) failureReason() string  { return failureText(r.Sent, r.Failed) }
func (r *pageReport) failedPercent() float64 { return failedPercent(r.Sent, r.Failed) }

func (r *pageReport) writeText(w io.Writer) {
	fmt.Fprintf(w, "loadgen page: GET %s\n", r.URL)
	if s := r.Setup; s != nil {
		fmt.Fprintf(w, "  page        order %s, shipment %s, %d webhooks; %s\n",
			s.OrderNumber, s.TrackingNumber, s.Webhooks, s.appliedText())
	}
	fmt.Fprintf(w, "  load        %s for %gs with %d senders (sending took %.2fs)\n",
		rateText(r.TargetRate), r.DurationSeconds, r.Senders, r.ElapsedSeconds)
	fmt.Fprintf(w, "  requests    sent %d, ok %d, failed %d (%.2f%%); achieved %.1f req/s (%.1f ok/s)",
		r.Sent, r.OK, r.Failed, r.failedPercent(), r.RequestsPerSecond, r.OKPerSecond)
	if r.Interrupted {
		fmt.Fprint(w, "; interrupted")
	}
	fmt.Fprintln(w)
	if len(r.Errors) > 0 {
		fmt.Fprintf(w, "  errors      %s\n", errorsText(r.Errors))
		fmt.Fprintf(w, "  first error %s\n", r.FirstError)
	}
	fmt.Fprintf(w, "  late sends  %d more than %s behind schedule (worst %.1fms)\n", r.LateSends, lateThreshold, r.MaxLateMs)
	l := r.Latency
	fmt.Fprintf(w, "  latency     p50 %.2fms  p90 %.2fms  p99 %.2fms  p99.9 %.2fms  max %.2fms  (%d requests, send to full body read)\n",
		l.P50, l.P90, l.P99, l.P999, l.Max, l.Count)
	b := r.Bytes
	fmt.Fprintf(w, "  bytes       mean %.0f per response on the wire (headers and body), body %.0f as received, %.0f decoded; %d of %d gzipped\n",
		b.WireMean, b.BodyMean, b.DecodedMean, b.Gzipped, r.OK)
}

func (r *pageReport) markdownHeader() []string {
	return []string{"at (UTC)", "mode", "url", "rate", "senders", "duration s", "sent", "req/s",
		"failed %", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms", "late",
		"wire bytes", "body bytes", "decoded bytes", "gzipped"}
}

func (r *pageReport) markdownRow() []string {
	l, b := r.Latency, r.Bytes
	return []string{r.At.Format("2006-01-02 15:04:05"), r.Mode, r.URL, rateText(r.TargetRate),
		strconv.Itoa(r.Senders), fmt.Sprintf("%g", r.DurationSeconds), strconv.FormatInt(r.Sent, 10),
		fmt.Sprintf("%.1f", r.RequestsPerSecond), fmt.Sprintf("%.2f", r.failedPercent()),
		fmt.Sprintf("%.2f", l.P50), fmt.Sprintf("%.2f", l.P90), fmt.Sprintf("%.2f", l.P99),
		fmt.Sprintf("%.2f", l.P999), fmt.Sprintf("%.2f", l.Max), strconv.FormatInt(r.LateSends, 10),
		fmt.Sprintf("%.0f", b.WireMean), fmt.Sprintf("%.0f", b.BodyMean), fmt.Sprintf("%.0f", b.DecodedMean),
		fmt.Sprintf("%d/%d", b.Gzipped, r.OK)}
}
