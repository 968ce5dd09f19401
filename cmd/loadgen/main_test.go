package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trackd/trackd/carriers/generic"
)

func TestPercentile(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	thousand := make([]time.Duration, 1000)
	for i := range thousand {
		thousand[i] = time.Duration(i+1) * time.Microsecond
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"single p50", []time.Duration{7}, 50, 7},
		{"single max", []time.Duration{7}, 100, 7},
		{"p0 is the minimum", hundred, 0, 1 * time.Millisecond},
		{"p50 of 100", hundred, 50, 50 * time.Millisecond},
		{"p90 of 100", hundred, 90, 90 * time.Millisecond},
		{"p99 of 100", hundred, 99, 99 * time.Millisecond},
		{"p99.9 of 100 rounds up to the max", hundred, 99.9, 100 * time.Millisecond},
		{"max of 100", hundred, 100, 100 * time.Millisecond},
		{"p99.9 of 1000", thousand, 99.9, 999 * time.Microsecond},
		{"p50 of two", []time.Duration{1, 2}, 50, 1},
		{"p51 of two", []time.Duration{1, 2}, 51, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.sorted, tt.p); got != tt.want {
				t.Errorf("percentile(%d values, %g) = %v, want %v", len(tt.sorted), tt.p, got, tt.want)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	got := summarize([]time.Duration{time.Millisecond, 2 * time.Millisecond, 3 * time.Millisecond, 4 * time.Millisecond})
	want := latencySummary{Count: 4, P50: 2, P90: 4, P99: 4, P999: 4, Max: 4}
	if got != want {
		t.Errorf("summarize = %+v, want %+v", got, want)
	}
}

const exposition = `# HELP trackd_ingest_backlog Accepted webhooks not yet applied, in all ingest shards.
# TYPE trackd_ingest_backlog gauge
trackd_ingest_backlog 1234

trackd_ingest_oldest_seconds{shard="0"} 0.5
trackd_ingest_oldest_seconds{shard="1"} 2.25 1700000000000
# TYPE trackd_processor_lag_seconds histogram
trackd_processor_lag_seconds_bucket{le="0.001"} 10
trackd_processor_lag_seconds_bucket{le="0.002"} 30
trackd_processor_lag_seconds_bucket{le="0.004"} 90
trackd_processor_lag_seconds_bucket{le="+Inf"} 100
trackd_processor_lag_seconds_sum 0.25
trackd_processor_lag_seconds_count 100
weird_labels{path="/a,b}",quote="say \"hi\"",back="a\\b",nl="x\ny" , empty=""} -Inf
no_labels_nan NaN
`

func TestParseExposition(t *testing.T) {
	samples, err := parseExposition(strings.NewReader(exposition))
	if err != nil {
		t.Fatal(err)
	}
	if len(samples) != 11 {
		t.Fatalf("got %d samples, want 11: %+v", len(samples), samples)
	}
	if v, ok := sumSeries(samples, backlogMetric); !ok || v != 1234 {
		t.Errorf("backlog = %v, %v; want 1234, true", v, ok)
	}
	if v, ok := maxSeries(samples, oldestMetric); !ok || v != 2.25 {
		t.Errorf("oldest = %v, %v; want 2.25, true", v, ok)
	}
	if _, ok := sumSeries(samples, "absent"); ok {
		t.Error("an absent gauge was found")
	}
	weird := samples[9]
	wantLabels := map[string]string{"path": "/a,b}", "quote": `say "hi"`, "back": `a\b`, "nl": "x\ny", "empty": ""}
	if weird.name != "weird_labels" || !math.IsInf(weird.value, -1) || fmt.Sprint(weird.labels) != fmt.Sprint(wantLabels) {
		t.Errorf("weird_labels parsed as %+v, want labels %v and -Inf", weird, wantLabels)
	}
	if !math.IsNaN(samples[10].value) {
		t.Errorf("NaN parsed as %v", samples[10].value)
	}
}

func TestParseExpositionErrors(t *testing.T) {
	for _, in := range []string{
		"novalue",
		"name{le=\"1\"}",
		"name notanumber",
		"name 1 2 3",
		"name{le=1} 2",
		"name{le=\"1\" 2",
		"name{le=\"1} 2",
		"name{le=\"1\"x} 2",
		"{le=\"1\"} 2",
	} {
		if s, err := parseExposition(strings.NewReader(in)); err == nil {
			t.Errorf("parseExposition(%q) = %+v, want an error", in, s)
		}
	}
}

func TestHistogramQuantile(t *testing.T) {
	samples, err := parseExposition(strings.NewReader(exposition))
	if err != nil {
		t.Fatal(err)
	}
	buckets := histogramBuckets(samples, lagMetric)
	tests := []struct {
		q    float64
		want float64
	}{
		{0, 0},
		{0.05, 0.0005},             // rank 5 of the first 10, in [0, 0.001]
		{0.2, 0.0015},              // rank 20: halfway through (0.001, 0.002]
		{0.5, 0.002 + 0.002*20/60}, // rank 50: 20 of 60 into (0.002, 0.004]
		{0.9, 0.004},               // exactly the top of a bucket
		{0.99, 0.004},              // in +Inf: the highest finite bound
	}
	for _, tt := range tests {
		got, ok := histogramQuantile(tt.q, buckets)
		if !ok || math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("histogramQuantile(%g) = %v, %v; want %v", tt.q, got, ok, tt.want)
		}
	}
	if _, ok := histogramQuantile(0.5, []bucket{{le: 1, count: 3}}); ok {
		t.Error("a histogram without +Inf gave a quantile")
	}
	if _, ok := histogramQuantile(0.5, []bucket{{le: 1}, {le: math.Inf(1)}}); ok {
		t.Error("an empty histogram gave a quantile")
	}
}

func TestHistogramBucketsMergesSeries(t *testing.T) {
	in := `h_bucket{src="a",le="1"} 1
h_bucket{src="b",le="1"} 2
h_bucket{src="a",le="+Inf"} 3
h_bucket{src="b",le="+Inf"} 4
h_count 7
`
	samples, err := parseExposition(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	got := histogramBuckets(samples, "h")
	want := []bucket{{le: 1, count: 3}, {le: math.Inf(1), count: 7}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("buckets = %v, want %v", got, want)
	}
	if got := histogramBuckets(samples, "absent"); got != nil {
		t.Errorf("absent histogram = %v, want nil", got)
	}
}

func TestSubtractBuckets(t *testing.T) {
	start := []bucket{{1, 2}, {math.Inf(1), 5}}
	end := []bucket{{1, 12}, {math.Inf(1), 25}}
	got, ok := subtractBuckets(end, start)
	if want := []bucket{{1, 10}, {math.Inf(1), 20}}; !ok || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("subtract = %v, %v; want %v", got, ok, want)
	}
	if _, ok := subtractBuckets(start, end); ok {
		t.Error("a reset histogram (counts went down) was subtracted")
	}
	if _, ok := subtractBuckets(end, nil); ok {
		t.Error("a missing baseline was subtracted")
	}
}

func TestBodiesParseAndProgress(t *testing.T) {
	cfg := config{Carrier: "ups", Senders: 3, Shipments: 7}
	b := newBodyMaker(cfg, "run1")
	now := time.Now()
	ids := map[string]bool{}
	statuses := map[string][]string{}
	for sender := range cfg.Senders {
		for k := range 30 {
			body := b.build(sender, k, now)
			if len(body) > b.size {
				t.Errorf("body of %d bytes outgrew the %d estimated", len(body), b.size)
			}
			u, err := generic.Parse(body, now)
			if err != nil {
				t.Fatalf("body %s: %v", body, err)
			}
			if u.Carrier != "ups" || len(u.Events) != 1 || !u.Events[0].OccurredAt.Equal(now.Truncate(time.Second)) {
				t.Fatalf("body %s parsed as %+v", body, u)
			}
			if ids[u.Events[0].ID] {
				t.Fatalf("event id %s repeated", u.Events[0].ID)
			}
			ids[u.Events[0].ID] = true
			statuses[u.TrackingNumber] = append(statuses[u.TrackingNumber], string(u.Events[0].Status))
		}
	}
	if len(statuses) != cfg.Shipments {
		t.Errorf("%d shipments used, want %d", len(statuses), cfg.Shipments)
	}
	want := []string{"info_received", "in_transit", "out_for_delivery", "delivered", "info_received"}
	first := fmt.Sprintf("LG%016d", 0)
	if got := statuses[first]; len(got) < len(want) || fmt.Sprint(got[:len(want)]) != fmt.Sprint(want) {
		t.Errorf("statuses of %s = %v, want them to start %v", first, got, want)
	}
}

func TestPickWithMoreSendersThanShipments(t *testing.T) {
	b := newBodyMaker(config{Carrier: "ups", Senders: 5, Shipments: 2}, "r")
	for sender := range 5 {
		for k := range 4 {
			if ship, _ := b.pick(sender, k); ship < 0 || ship >= 2 {
				t.Fatalf("pick(%d, %d) = shipment %d, outside [0, 2)", sender, k, ship)
			}
		}
	}
}

func TestAppendPadded(t *testing.T) {
	for _, n := range []int{0, 7, 4999, 1234567890123456} {
		if got, want := string(appendPadded([]byte("LG"), n, 16)), fmt.Sprintf("LG%016d", n); got != want {
			t.Errorf("appendPadded(%d) = %s, want %s", n, got, want)
		}
	}
}

func TestUnknownModeExits2(t *testing.T) {
	var stderr bytes.Buffer
	code := realMain(context.Background(), []string{"-mode", "websocket"}, func(string) string { return "" }, io.Discard, &stderr)
	if code != exitUsage || !strings.Contains(stderr.String(), `unknown mode "websocket"`) {
		t.Errorf("exit %d, stderr %q; want 2 and an unknown-mode message", code, stderr.String())
	}
}

func TestParseFlagsDefaults(t *testing.T) {
	env := func(k string) string {
		if k == "TRACKD_GENERIC_WEBHOOK_SECRET" {
			return "from-env"
		}
		return ""
	}
	cfg, err := parseFlags([]string{"-target", "http://trackd:9000/"}, env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if string(cfg.Secret) != "from-env" || cfg.MetricsURL != "http://trackd:9000/metrics" ||
		cfg.Mode != "ingest" || cfg.Rate != 10000 || cfg.Senders != 64 || cfg.Shipments != 5000 ||
		cfg.Duration != time.Minute || cfg.Carrier != "ups" {
		t.Errorf("defaults: %+v", cfg)
	}
	cfg, err = parseFlags([]string{"-secret", "flag", "-metrics", "off"}, env, io.Discard)
	if err != nil || string(cfg.Secret) != "flag" || cfg.MetricsURL != "" {
		t.Errorf("-secret flag -metrics off: %+v, %v", cfg, err)
	}
	if _, err := parseFlags([]string{"-target", "trackd:8080"}, env, io.Discard); err == nil {
		t.Error("a target without a scheme was accepted")
	}
}

// fakeTrackd verifies and counts webhooks and serves a /metrics whose lag
// histogram grows with them.
type fakeTrackd struct {
	secret []byte

	mu       sync.Mutex
	seen     int
	rejected int
	firstErr error
}

func (f *fakeTrackd) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == webhookPath:
		f.webhook(w, r)
	case r.Method == http.MethodGet && r.URL.Path == "/metrics":
		f.metrics(w)
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeTrackd) webhook(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err == nil {
		err = generic.Verifier{Secrets: [][]byte{f.secret}}.Verify(r.Header.Get(generic.SignatureHeader), body, time.Now())
	}
	if err == nil {
		_, err = generic.Parse(body, time.Now())
	}
	f.mu.Lock()
	f.seen++
	if err != nil {
		f.rejected++
		if f.firstErr == nil {
			f.firstErr = fmt.Errorf("body %s: %w", body, err)
		}
	}
	f.mu.Unlock()
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	io.WriteString(w, `{"accepted":1}`)
}

func (f *fakeTrackd) metrics(w http.ResponseWriter) {
	f.mu.Lock()
	n := f.seen
	f.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	fmt.Fprintf(w, "# TYPE %s gauge\n%s 0\n%s 0\n", backlogMetric, backlogMetric, oldestMetric)
	fmt.Fprintf(w, "%s_bucket{le=\"0.001\"} 0\n%s_bucket{le=\"0.002\"} %d\n%s_bucket{le=\"+Inf\"} %d\n",
		lagMetric, lagMetric, n, lagMetric, n)
}

func TestIngestEndToEnd(t *testing.T) {
	fake := &fakeTrackd{secret: []byte("test-secret")}
	srv := httptest.NewServer(fake)
	defer srv.Close()

	cfg := defaultConfig()
	cfg.Mode, cfg.Target, cfg.Secret = "ingest", srv.URL, fake.secret
	cfg.Rate, cfg.Duration, cfg.Senders, cfg.Shipments, cfg.Carrier = 500, time.Second, 8, 50, "ups"
	cfg.MetricsURL = srv.URL + "/metrics"
	if err := validateIngest(cfg); err != nil {
		t.Fatal(err)
	}
	rep, err := runIngest(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}

	fake.mu.Lock()
	seen, rejected, firstErr := fake.seen, fake.rejected, fake.firstErr
	fake.mu.Unlock()
	if rejected > 0 {
		t.Fatalf("server rejected %d of %d webhooks; first: %v", rejected, seen, firstErr)
	}
	if seen == 0 || rep.Accepted != int64(seen) || rep.Sent != int64(seen) {
		t.Errorf("server saw %d webhooks; report sent %d, accepted %d", seen, rep.Sent, rep.Accepted)
	}
	if rep.Failed != 0 || len(rep.Errors) != 0 || rep.failed() {
		t.Errorf("report has failures: %d %v (%s)", rep.Failed, rep.Errors, rep.FirstError)
	}
	if rep.Latency.Count != seen {
		t.Errorf("%d latencies recorded for %d requests", rep.Latency.Count, seen)
	}
	lag := rep.Lag
	if !lag.Known || !lag.Drained || lag.DrainSeconds == nil || lag.BacklogFinal != 0 {
		t.Errorf("lag = %+v, want known and drained", lag)
	}
	if !lag.LagSinceStart || lag.LagObservations != float64(seen) || lag.LagP99Seconds == nil ||
		*lag.LagP99Seconds <= 0.001 || *lag.LagP99Seconds > 0.002 {
		t.Errorf("lag histogram over the run = %+v, want %d observations in (0.001, 0.002]", lag, seen)
	}

	var text bytes.Buffer
	rep.writeText(&text)
	if !strings.Contains(text.String(), fmt.Sprintf("accepted %d", seen)) {
		t.Errorf("text report lacks the accepted count:\n%s", text.String())
	}
	if _, err := json.Marshal(rep); err != nil {
		t.Errorf("JSON report: %v", err)
	}
}

func TestUnreachableMetricsLeaveLagUnknown(t *testing.T) {
	fake := &fakeTrackd{secret: []byte("s")}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metrics" {
			http.Error(w, "no", http.StatusServiceUnavailable)
			return
		}
		fake.ServeHTTP(w, r)
	}))
	defer srv.Close()

	cfg := defaultConfig()
	cfg.Target, cfg.Secret, cfg.MetricsURL = srv.URL, fake.secret, srv.URL+"/metrics"
	cfg.Rate, cfg.Duration, cfg.Senders, cfg.Shipments, cfg.Carrier = 100, 100*time.Millisecond, 2, 3, "ups"
	rep, err := runIngest(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Lag.Known || rep.Lag.LagP50Seconds != nil || !strings.Contains(rep.Lag.Error, "503") {
		t.Errorf("lag = %+v, want unknown with the scrape error", rep.Lag)
	}
	if rep.Failed != 0 || rep.Accepted == 0 {
		t.Errorf("sent %d, accepted %d, failed %d", rep.Sent, rep.Accepted, rep.Failed)
	}
}

func TestMarkdownOut(t *testing.T) {
	path := filepath.Join(t.TempDir(), "runs.md")
	rep := &ingestReport{Mode: "ingest", Endpoint: "http://x|y/webhooks/generic", Sent: 10, Accepted: 10, Errors: map[string]int64{}}
	for range 2 {
		if err := appendMarkdownRow(path, rep); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[1], "| --- |") || !strings.Contains(lines[2], `http://x\|y`) {
		t.Errorf("table:\n%s", b)
	}
	cols := strings.Count(lines[0], " | ")
	if strings.Count(lines[2], " | ") != cols {
		t.Errorf("row and header have different column counts:\n%s", b)
	}
}
