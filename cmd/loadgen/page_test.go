package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trackd/trackd/carriers/generic"
	"github.com/trackd/trackd/tracking"
)

const pageFakeToken = "AAAAAAAAAAAAAAAAAAAAAA"

// pageFake is trackd as mode page sees it: orders, generic webhooks, a
// tracking page (gzipped when asked), and metrics with an empty backlog.
type pageFake struct {
	t      *testing.T
	apiKey string
	secret []byte
	html   []byte
	gz     []byte

	mu       sync.Mutex
	orders   []orderRequest
	events   []tracking.Event
	tracking []string // of each webhook
	gets     int      // of the page
	firstErr error
}

func newPageFake(t *testing.T) *pageFake {
	html := []byte("<!doctype html><html lang=en><title>Your order</title><ol>" +
		strings.Repeat("<li>Departed from facility, Louisville KY</li>", 200) + "</ol></html>")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(html)
	zw.Close()
	return &pageFake{t: t, apiKey: "test-key", secret: []byte("test-secret"), html: html, gz: gz.Bytes()}
}

func (f *pageFake) start() string {
	srv := httptest.NewServer(f)
	f.t.Cleanup(srv.Close)
	return srv.URL
}

func (f *pageFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == ordersPath:
		f.order(w, r)
	case r.Method == http.MethodPost && r.URL.Path == webhookPath:
		f.webhook(w, r)
	case r.Method == http.MethodGet && r.URL.Path == "/t/"+pageFakeToken:
		f.page(w, r)
	case r.Method == http.MethodGet && r.URL.Path == "/broken":
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(f.gz[:len(f.gz)/2])
	case r.Method == http.MethodGet && r.URL.Path == "/metrics":
		fmt.Fprintf(w, "# TYPE %s gauge\n%s 0\n", backlogMetric, backlogMetric)
	default:
		http.NotFound(w, r)
	}
}

func (f *pageFake) fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.firstErr == nil {
		f.firstErr = err
	}
}

func (f *pageFake) order(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+f.apiKey {
		http.Error(w, `{"error":"bad key"}`, http.StatusUnauthorized)
		return
	}
	var in orderRequest
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		http.Error(w, `{"error":"bad order"}`, http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.orders = append(f.orders, in)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	// The public URL is not the target: only its path is loaded.
	json.NewEncoder(w).Encode(map[string]any{"id": "ord_1", "order_number": in.OrderNumber,
		"tracking_url": "https://track.example.com/t/" + pageFakeToken})
}

func (f *pageFake) webhook(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err == nil {
		err = generic.Verifier{Secrets: [][]byte{f.secret}}.Verify(r.Header.Get(generic.SignatureHeader), body, time.Now())
	}
	var u tracking.Update
	if err == nil {
		u, err = generic.Parse(body, time.Now())
	}
	if err != nil {
		f.fail(fmt.Errorf("webhook %s: %w", body, err))
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.events = append(f.events, u.Events...)
	f.tracking = append(f.tracking, u.TrackingNumber)
	f.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
	io.WriteString(w, `{"accepted":1}`)
}

func (f *pageFake) page(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.gets++
	f.mu.Unlock()
	if r.Header.Get("Accept-Language") != "en" {
		http.Error(w, "want Accept-Language: en", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Vary", "Accept-Encoding, Accept-Language")
	if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(f.gz)
		return
	}
	w.Write(f.html)
}

func TestPageEndToEnd(t *testing.T) {
	f := newPageFake(t)
	base := f.start()
	cfg := defaultConfig()
	cfg.Mode, cfg.Target, cfg.Secret, cfg.APIKey, cfg.Carrier = "page", base, f.secret, f.apiKey, "ups"
	cfg.Rate, cfg.Duration, cfg.Senders = 200, time.Second, 8
	cfg.MetricsURL = base + "/metrics"
	if err := validatePage(cfg); err != nil {
		t.Fatal(err)
	}
	rep, err := runPage(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	if f.firstErr != nil {
		t.Fatalf("server refused a request: %v", f.firstErr)
	}
	// The order and its timeline.
	if len(f.orders) != 1 {
		t.Fatalf("%d orders registered, want 1", len(f.orders))
	}
	o := f.orders[0]
	if !strings.HasPrefix(o.OrderNumber, "LGP-") || len(o.Items) != 1 || len(o.Shipments) != 1 ||
		o.Shipments[0].Carrier != "ups" || !strings.HasPrefix(o.Shipments[0].TrackingNumber, "LGP") {
		t.Fatalf("order %+v", o)
	}
	if len(f.events) != pageTimelineEvents || len(f.tracking) != pageTimelineEvents {
		t.Fatalf("%d webhooks with %d events, want %d of one each", len(f.tracking), len(f.events), pageTimelineEvents)
	}
	ids := map[string]bool{}
	for i, e := range f.events {
		if f.tracking[i] != o.Shipments[0].TrackingNumber {
			t.Errorf("webhook %d is for %s, not the order's %s", i, f.tracking[i], o.Shipments[0].TrackingNumber)
		}
		want := tracking.Status("in_transit")
		if i == 0 {
			want = "info_received"
		}
		if e.Status != want {
			t.Errorf("event %d status %s, want %s", i, e.Status, want)
		}
		if e.ID == "" || ids[e.ID] {
			t.Errorf("event %d id %q is empty or repeated", i, e.ID)
		}
		ids[e.ID] = true
		if i > 0 {
			if d := e.OccurredAt.Sub(f.events[i-1].OccurredAt); d != time.Minute {
				t.Errorf("event %d occurred %v after the one before, want 1m", i, d)
			}
		}
	}
	if s := rep.Setup; s == nil || s.Webhooks != pageTimelineEvents || s.Path != "/t/"+pageFakeToken ||
		s.AppliedSeconds == nil || s.OrderNumber != o.OrderNumber {
		t.Errorf("setup = %+v", rep.Setup)
	}

	// The load: 200/s for 1s is exactly 200 scheduled requests.
	if f.gets != 200 || rep.Sent != 200 || rep.OK != 200 || rep.Latency.Count != 200 {
		t.Errorf("server saw %d GETs; report sent %d, ok %d, %d latencies; want 200 each",
			f.gets, rep.Sent, rep.OK, rep.Latency.Count)
	}
	if rep.Failed != 0 || len(rep.Errors) != 0 || rep.failed() {
		t.Errorf("report has failures: %d %v (%s)", rep.Failed, rep.Errors, rep.FirstError)
	}
	if rep.URL != base+"/t/"+pageFakeToken {
		t.Errorf("loaded %s, want the tracking_url's path on the target", rep.URL)
	}
	b := rep.Bytes
	if b.Gzipped != 200 || b.BodyMean != float64(len(f.gz)) || b.DecodedMean != float64(len(f.html)) ||
		b.WireMean <= b.BodyMean || b.WireTotal <= int64(200*len(f.gz)) {
		t.Errorf("bytes = %+v; want 200 gzipped, body %d, decoded %d, wire more than the body",
			b, len(f.gz), len(f.html))
	}

	var text bytes.Buffer
	rep.writeText(&text)
	for _, want := range []string{"sent 200, ok 200, failed 0", "req/s", "p99.9", "gzipped", o.OrderNumber} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
	}
	if _, err := json.Marshal(rep); err != nil {
		t.Errorf("JSON report: %v", err)
	}
	if h, r := rep.markdownHeader(), rep.markdownRow(); len(h) != len(r) {
		t.Errorf("markdown header has %d columns, row %d", len(h), len(r))
	}
}

func TestPageCountsFailuresAndExits1(t *testing.T) {
	f := newPageFake(t)
	base := f.start()
	for path, kind := range map[string]string{"/missing": "status 404", "/broken": "body: bad gzip"} {
		t.Run(path, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			// 50/s for 200ms: 10 requests. -path needs neither key nor secret.
			code := realMain(context.Background(), []string{"-mode", "page", "-target", base, "-path", path,
				"-rate", "50", "-duration", "200ms", "-senders", "2", "-metrics", "off", "-json"},
				func(string) string { return "" }, &stdout, &stderr)
			if code != exitFailed || !strings.Contains(stderr.String(), "10 of 10 requests failed") {
				t.Errorf("exit %d, stderr %q; want 1 and every request failed", code, stderr.String())
			}
			var rep pageReport
			if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
				t.Fatalf("JSON report %q: %v", stdout.String(), err)
			}
			if rep.Setup != nil || rep.Sent != 10 || rep.Failed != 10 || rep.OK != 0 || rep.Errors[kind] != 10 {
				t.Errorf("report %+v; want 10 sent, all failed as %q, no setup", rep, kind)
			}
		})
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.orders) != 0 || len(f.events) != 0 {
		t.Errorf("with -path, %d orders and %d events were posted", len(f.orders), len(f.events))
	}
}

func TestPageFlags(t *testing.T) {
	env := func(k string) string {
		return map[string]string{"TRACKD_GENERIC_WEBHOOK_SECRET": "sec", "TRACKD_BOOTSTRAP_API_KEY": "key-from-env"}[k]
	}
	cfg, err := parseFlags([]string{"-mode", "page"}, env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Rate != defaultPageRate || cfg.Senders != defaultPageSenders || cfg.Duration != time.Minute ||
		cfg.APIKey != "key-from-env" || string(cfg.Secret) != "sec" || cfg.PagePath != "" {
		t.Errorf("page defaults: %+v", cfg)
	}
	if err := validatePage(cfg); err != nil {
		t.Errorf("defaults do not validate: %v", err)
	}
	cfg, err = parseFlags([]string{"-mode", "page", "-rate", "50", "-senders", "4", "-path", "/t/x?a=1", "-api-key", "k"}, env, io.Discard)
	if err != nil || cfg.Rate != 50 || cfg.Senders != 4 || cfg.PagePath != "/t/x?a=1" || cfg.APIKey != "k" {
		t.Errorf("explicit flags: %+v, %v", cfg, err)
	}
	// ingest keeps its own defaults
	cfg, err = parseFlags(nil, env, io.Discard)
	if err != nil || cfg.Rate != 10000 || cfg.Senders != 64 || cfg.APIKey != "" {
		t.Errorf("ingest defaults changed: %+v, %v", cfg, err)
	}
}

func TestValidatePage(t *testing.T) {
	good := defaultConfig()
	good.Mode, good.Target, good.Secret, good.APIKey, good.Carrier = "page", "http://a:1", []byte("s"), "k", "ups"
	good.Rate, good.Duration, good.Senders = 10, time.Second, 4
	if err := validatePage(good); err != nil {
		t.Fatal(err)
	}
	withPath := good
	withPath.PagePath, withPath.Secret, withPath.APIKey, withPath.Carrier = "/t/abc", nil, "", ""
	if err := validatePage(withPath); err != nil {
		t.Errorf("-path without key, secret or carrier: %v", err)
	}
	for name, mutate := range map[string]func(*config){
		"zero rate":         func(c *config) { c.Rate = 0 },
		"negative rate":     func(c *config) { c.Rate = -1 },
		"zero duration":     func(c *config) { c.Duration = 0 },
		"no senders":        func(c *config) { c.Senders = 0 },
		"no api key":        func(c *config) { c.APIKey = "" },
		"no secret":         func(c *config) { c.Secret = nil },
		"no carrier":        func(c *config) { c.Carrier = " " },
		"relative path":     func(c *config) { c.PagePath = "t/abc" },
		"scheme-less host":  func(c *config) { c.PagePath = "//evil.example/t/abc" },
		"full URL as path":  func(c *config) { c.PagePath = "http://a:1/t/abc" },
		"bad path encoding": func(c *config) { c.PagePath = "/t/%zz" },
	} {
		cfg := good
		mutate(&cfg)
		if err := validatePage(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	var stderr bytes.Buffer
	code := realMain(context.Background(), []string{"-mode", "page", "-rate", "0", "-path", "/t/x"}, func(string) string { return "" }, io.Discard, &stderr)
	if code != exitUsage || !strings.Contains(stderr.String(), "-rate 0") {
		t.Errorf("exit %d, stderr %q; want 2 naming -rate", code, stderr.String())
	}
}
