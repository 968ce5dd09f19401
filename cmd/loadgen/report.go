package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// maxFailureRatio is the share of failed requests above which a run fails.
const maxFailureRatio = 0.01

// report is a mode's result. Every report also marshals to JSON.
type report interface {
	writeText(w io.Writer)
	markdownHeader() []string
	markdownRow() []string
	failed() bool
	failureReason() string
}

// emit prints rep as text (to stdout, or stderr when JSON goes to stdout),
// as JSON if asked, and appends it to the -out table if asked.
func emit(rep report, cfg config, stdout, stderr io.Writer) error {
	text := stdout
	if cfg.JSON {
		text = stderr
	}
	rep.writeText(text)
	if cfg.JSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return fmt.Errorf("write JSON report: %w", err)
		}
	}
	if cfg.Out != "" {
		if err := appendMarkdownRow(cfg.Out, rep); err != nil {
			return fmt.Errorf("append report to -out: %w", err)
		}
	}
	return nil
}

// appendMarkdownRow appends rep as a table row to path, starting the table
// with its header when the file is new or empty.
func appendMarkdownRow(path string, rep report) (err error) {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("open %s: %w", path, err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close %s: %w", path, cerr)
		}
	}()
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat %s: %w", path, err)
	}
	var b strings.Builder
	if info.Size() == 0 {
		header := rep.markdownHeader()
		b.WriteString(markdownLine(header))
		b.WriteString(markdownLine(slices.Repeat([]string{"---"}, len(header))))
	}
	b.WriteString(markdownLine(rep.markdownRow()))
	if _, err := f.WriteString(b.String()); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func markdownLine(cells []string) string {
	escaped := make([]string, len(cells))
	for i, c := range cells {
		escaped[i] = strings.ReplaceAll(c, "|", `\|`)
	}
	return "| " + strings.Join(escaped, " | ") + " |\n"
}

// ---- the ingest report ----

type ingestReport struct {
	Mode              string           `json:"mode"`
	At                time.Time        `json:"at"`
	Endpoint          string           `json:"endpoint"`
	Carrier           string           `json:"carrier"`
	TargetRate        float64          `json:"target_rate"` // 0 = as fast as possible
	Senders           int              `json:"senders"`
	Shipments         int              `json:"shipments"`
	DurationSeconds   float64          `json:"duration_seconds"`
	ElapsedSeconds    float64          `json:"elapsed_seconds"`
	Sent              int64            `json:"sent"`
	Accepted          int64            `json:"accepted"`
	Failed            int64            `json:"failed"`
	Interrupted       bool             `json:"interrupted"` // stopped early by a signal
	AcceptedPerSecond float64          `json:"accepted_per_second"`
	Errors            map[string]int64 `json:"errors"`
	FirstError        string           `json:"first_error,omitempty"`
	LateSends         int64            `json:"late_sends"`
	MaxLateMs         float64          `json:"max_late_ms"`
	Latency           latencySummary   `json:"latency_ms"`
	Lag               lagReport        `json:"lag"`
}

// latencySummary holds request latencies in milliseconds.
type latencySummary struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p99_9"`
	Max   float64 `json:"max"`
}

type lagReport struct {
	MetricsURL         string   `json:"metrics_url,omitempty"`
	Known              bool     `json:"known"`
	Error              string   `json:"error,omitempty"`
	ScrapeErrors       int      `json:"scrape_errors"`
	BacklogStart       float64  `json:"backlog_start"`
	BacklogMax         float64  `json:"backlog_max"`
	BacklogFinal       float64  `json:"backlog_final"`
	OldestMaxSeconds   float64  `json:"oldest_max_seconds"`
	OldestFinalSeconds float64  `json:"oldest_final_seconds"`
	Drained            bool     `json:"drained"`
	DrainSeconds       *float64 `json:"drain_seconds"` // null: not drained within the wait
	LagObservations    float64  `json:"lag_observations"`
	LagSinceStart      bool     `json:"lag_since_start"` // false: the histogram since trackd started
	LagP50Seconds      *float64 `json:"lag_p50_seconds"`
	LagP99Seconds      *float64 `json:"lag_p99_seconds"`
}

func newIngestReport(cfg config, endpoint string, results []senderResult, elapsed time.Duration, lag lagReport) *ingestReport {
	r := &ingestReport{
		Mode: "ingest", At: time.Now().UTC().Truncate(time.Second), Endpoint: endpoint, Carrier: cfg.Carrier,
		TargetRate: cfg.Rate, Senders: cfg.Senders, Shipments: cfg.Shipments,
		DurationSeconds: cfg.Duration.Seconds(), ElapsedSeconds: elapsed.Seconds(),
		Errors: map[string]int64{}, Lag: lag,
	}
	var maxLate time.Duration
	var all []time.Duration
	for _, res := range results {
		r.Sent += res.sent
		r.Accepted += res.accepted
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
	}
	r.MaxLateMs = ms(maxLate)
	if elapsed > 0 {
		r.AcceptedPerSecond = float64(r.Accepted) / elapsed.Seconds()
	}
	slices.Sort(all)
	r.Latency = summarize(all)
	return r
}

// summarize gives the percentiles of sorted latencies.
func summarize(sorted []time.Duration) latencySummary {
	return latencySummary{
		Count: len(sorted),
		P50:   ms(percentile(sorted, 50)),
		P90:   ms(percentile(sorted, 90)),
		P99:   ms(percentile(sorted, 99)),
		P999:  ms(percentile(sorted, 99.9)),
		Max:   ms(percentile(sorted, 100)),
	}
}

// percentile is the nearest-rank p-th percentile of sorted: the smallest
// value with at least p% of the values at or below it; 0 when empty.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	// The epsilon keeps float error (99.9% of 1000 = 999.0000000000001)
	// from pushing the rank one up.
	rank := int(math.Ceil(p/100*float64(len(sorted)) - 1e-9))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// tooManyFailed, failureText and failedPercent judge a run of requests,
// whichever mode sent them: none sent, or more than maxFailureRatio failed.
func tooManyFailed(sent, failed int64) bool {
	return sent == 0 || float64(failed) > maxFailureRatio*float64(sent)
}

func failureText(sent, failed int64) string {
	if sent == 0 {
		return "no request was sent"
	}
	return fmt.Sprintf("%d of %d requests failed (%.2f%%, more than %g%%)",
		failed, sent, failedPercent(sent, failed), maxFailureRatio*100)
}

func failedPercent(sent, failed int64) float64 {
	if sent == 0 {
		return 0
	}
	return 100 * float64(failed) / float64(sent)
}

func (r *ingestReport) failed() bool           { return tooManyFailed(r.Sent, r.Failed) }
func (r *ingestReport) failureReason() string  { return failureText(r.Sent, r.Failed) }
func (r *ingestReport) failedPercent() float64 { return failedPercent(r.Sent, r.Failed) }

func (r *ingestReport) writeText(w io.Writer) {
	fmt.Fprintf(w, "loadgen ingest: %s, carrier %s, %d shipments\n", r.Endpoint, r.Carrier, r.Shipments)
	fmt.Fprintf(w, "  load        %s for %gs with %d senders (sending took %.2fs)\n",
		rateText(r.TargetRate), r.DurationSeconds, r.Senders, r.ElapsedSeconds)
	fmt.Fprintf(w, "  requests    sent %d, accepted %d (%.1f/s), failed %d (%.2f%%)",
		r.Sent, r.Accepted, r.AcceptedPerSecond, r.Failed, r.failedPercent())
	if r.Interrupted {
		fmt.Fprint(w, "; interrupted")
	}
	fmt.Fprintln(w)
	if len(r.Errors) > 0 {
		fmt.Fprintf(w, "  errors      %s\n", errorsText(r.Errors))
		fmt.Fprintf(w, "  first error %s\n", r.FirstError)
	}
	if r.TargetRate > 0 {
		fmt.Fprintf(w, "  late sends  %d more than %s behind schedule (worst %.1fms)\n", r.LateSends, lateThreshold, r.MaxLateMs)
	}
	l := r.Latency
	fmt.Fprintf(w, "  latency     p50 %.2fms  p90 %.2fms  p99 %.2fms  p99.9 %.2fms  max %.2fms  (%d requests, send to response)\n",
		l.P50, l.P90, l.P99, l.P999, l.Max, l.Count)
	r.Lag.writeText(w, r.Interrupted)
}

func (l lagReport) writeText(w io.Writer, interrupted bool) {
	if !l.Known {
		fmt.Fprintf(w, "  backlog     unknown (%s)\n", orText(l.Error, "metrics unreachable"))
	} else {
		drain := fmt.Sprintf("not drained within the wait (final %.0f)", l.BacklogFinal)
		switch {
		case l.DrainSeconds != nil:
			drain = fmt.Sprintf("drained %.0fs after the run", *l.DrainSeconds)
		case interrupted:
			drain = "drain not awaited (interrupted)"
		}
		fmt.Fprintf(w, "  backlog     start %.0f, max %.0f, final %.0f; oldest max %.2fs, final %.2fs; %s\n",
			l.BacklogStart, l.BacklogMax, l.BacklogFinal, l.OldestMaxSeconds, l.OldestFinalSeconds, drain)
	}
	if l.LagP50Seconds == nil || l.LagP99Seconds == nil {
		fmt.Fprintf(w, "  proc. lag   unknown (%s)\n", orText(l.Error, "no "+lagMetric+" observations"))
		return
	}
	scope := "over the run"
	if !l.LagSinceStart {
		scope = "since trackd started"
	}
	fmt.Fprintf(w, "  proc. lag   p50 %.3fs  p99 %.3fs  (accept to applied, %.0f observations %s)\n",
		*l.LagP50Seconds, *l.LagP99Seconds, l.LagObservations, scope)
}

func errorsText(errs map[string]int64) string {
	parts := make([]string, 0, len(errs))
	for _, k := range slices.Sorted(maps.Keys(errs)) {
		parts = append(parts, fmt.Sprintf("%s: %d", k, errs[k]))
	}
	return strings.Join(parts, ", ")
}

func (r *ingestReport) markdownHeader() []string {
	return []string{"at (UTC)", "mode", "endpoint", "rate", "senders", "duration s", "sent", "accepted/s",
		"failed %", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms", "late", "backlog max", "drain s",
		"lag p50 s", "lag p99 s"}
}

func (r *ingestReport) markdownRow() []string {
	l := r.Latency
	drain := "?"
	if r.Lag.DrainSeconds != nil {
		drain = fmt.Sprintf("%.0f", *r.Lag.DrainSeconds)
	}
	backlogMax := "?"
	if r.Lag.Known {
		backlogMax = fmt.Sprintf("%.0f", r.Lag.BacklogMax)
	}
	return []string{r.At.Format("2006-01-02 15:04:05"), r.Mode, r.Endpoint, rateText(r.TargetRate),
		strconv.Itoa(r.Senders), fmt.Sprintf("%g", r.DurationSeconds), strconv.FormatInt(r.Sent, 10),
		fmt.Sprintf("%.1f", r.AcceptedPerSecond), fmt.Sprintf("%.2f", r.failedPercent()),
		fmt.Sprintf("%.2f", l.P50), fmt.Sprintf("%.2f", l.P90), fmt.Sprintf("%.2f", l.P99),
		fmt.Sprintf("%.2f", l.P999), fmt.Sprintf("%.2f", l.Max), strconv.FormatInt(r.LateSends, 10),
		backlogMax, drain, optSeconds(r.Lag.LagP50Seconds), optSeconds(r.Lag.LagP99Seconds)}
}

func optSeconds(v *float64) string {
	if v == nil {
		return "?"
	}
	return fmt.Sprintf("%.3f", *v)
}

// ---- Prometheus text exposition format ----

// sample is one line of the text format: name{labels} value [timestamp].
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

// parseExposition reads the Prometheus text format (version 0.0.4),
// skipping comments and blank lines.
func parseExposition(r io.Reader) ([]sample, error) {
	var out []sample
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		s, err := parseSampleLine(line)
		if err != nil {
			return nil, fmt.Errorf("metrics line %d: %w", n, err)
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read metrics: %w", err)
	}
	return out, nil
}

func parseSampleLine(line string) (sample, error) {
	end := strings.IndexAny(line, "{ \t")
	if end <= 0 {
		return sample{}, fmt.Errorf("%q: want `name[{labels}] value`", line)
	}
	s := sample{name: line[:end]}
	rest := line[end:]
	if rest[0] == '{' {
		labels, after, err := parseLabels(rest[1:])
		if err != nil {
			return sample{}, fmt.Errorf("%s labels: %w", s.name, err)
		}
		s.labels, rest = labels, after
	}
	fields := strings.Fields(rest)
	if len(fields) != 1 && len(fields) != 2 { // value, optional timestamp
		return sample{}, fmt.Errorf("%s: want a value and at most a timestamp after the name, got %q", s.name, rest)
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return sample{}, fmt.Errorf("%s: value %q: %w", s.name, fields[0], err)
	}
	s.value = v
	return s, nil
}

// parseLabels parses `k="v",k2="v2"}` (the opening brace already read)
// and returns the labels and what follows the closing brace.
func parseLabels(s string) (map[string]string, string, error) {
	labels := map[string]string{}
	for {
		s = strings.TrimLeft(s, " \t")
		if strings.HasPrefix(s, "}") {
			return labels, s[1:], nil
		}
		eq := strings.IndexByte(s, '=')
		if eq <= 0 {
			return nil, "", errors.New("want name=\"value\" or }")
		}
		key := strings.TrimSpace(s[:eq])
		value, after, err := parseQuoted(strings.TrimLeft(s[eq+1:], " \t"))
		if err != nil {
			return nil, "", fmt.Errorf("label %s: %w", key, err)
		}
		labels[key] = value
		s = strings.TrimLeft(after, " \t")
		if strings.HasPrefix(s, ",") {
			s = s[1:]
		} else if !strings.HasPrefix(s, "}") {
			return nil, "", fmt.Errorf("after label %s: want , or }", key)
		}
	}
}

// parseQuoted reads a double-quoted label value with \\, \" and \n escapes.
func parseQuoted(s string) (string, string, error) {
	if !strings.HasPrefix(s, `"`) {
		return "", "", errors.New("value is not quoted")
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			return b.String(), s[i+1:], nil
		case '\\':
			if i+1 == len(s) {
				return "", "", errors.New("unterminated escape")
			}
			i++
			if s[i] == 'n' {
				b.WriteByte('\n')
			} else {
				b.WriteByte(s[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", "", errors.New("unterminated value")
}

// sumSeries adds every series of a gauge; ok is false when it is absent.
func sumSeries(samples []sample, name string) (total float64, ok bool) {
	for _, s := range samples {
		if s.name == name {
			total, ok = total+s.value, true
		}
	}
	return total, ok
}

// maxSeries is the largest value among a gauge's series.
func maxSeries(samples []sample, name string) (largest float64, ok bool) {
	for _, s := range samples {
		if s.name == name && (!ok || s.value > largest) {
			largest, ok = s.value, true
		}
	}
	return largest, ok
}

// bucket is a cumulative histogram bucket: count observations <= le.
type bucket struct {
	le    float64
	count float64
}

// histogramBuckets collects name_bucket samples, adding up series with
// other labels, sorted by upper bound; nil when there are none.
func histogramBuckets(samples []sample, name string) []bucket {
	byLE := map[float64]float64{}
	for _, s := range samples {
		if s.name != name+"_bucket" {
			continue
		}
		le, err := strconv.ParseFloat(s.labels["le"], 64)
		if err != nil {
			continue
		}
		byLE[le] += s.value
	}
	if len(byLE) == 0 {
		return nil
	}
	out := make([]bucket, 0, len(byLE))
	for _, le := range slices.Sorted(maps.Keys(byLE)) {
		out = append(out, bucket{le: le, count: byLE[le]})
	}
	return out
}

// subtractBuckets is end minus start, bucket by bucket: the observations
// made between two scrapes. ok is false if the bounds differ or a count
// went down (trackd restarted), and the caller should use end alone.
func subtractBuckets(end, start []bucket) ([]bucket, bool) {
	if len(end) != len(start) {
		return nil, false
	}
	out := make([]bucket, len(end))
	for i := range end {
		if end[i].le != start[i].le || end[i].count < start[i].count {
			return nil, false
		}
		out[i] = bucket{le: end[i].le, count: end[i].count - start[i].count}
	}
	return out, true
}

// histogramQuantile estimates the q-quantile (0..1) from cumulative
// buckets the way Prometheus does: find the bucket holding the rank and
// interpolate linearly inside it, the first bucket starting at 0. A rank in
// the +Inf bucket gives the highest finite bound. ok is false without a
// +Inf bucket or without observations.
func histogramQuantile(q float64, buckets []bucket) (float64, bool) {
	if len(buckets) == 0 || !math.IsInf(buckets[len(buckets)-1].le, 1) {
		return 0, false
	}
	total := buckets[len(buckets)-1].count
	if total == 0 || q < 0 || q > 1 {
		return 0, false
	}
	rank := q * total
	i, _ := slices.BinarySearchFunc(buckets, rank, func(b bucket, r float64) int {
		if b.count < r {
			return -1
		}
		return 1
	})
	if i == len(buckets)-1 {
		if i == 0 {
			return 0, false
		}
		return buckets[i-1].le, true
	}
	lower, below := 0.0, 0.0
	if i > 0 {
		lower, below = buckets[i-1].le, buckets[i-1].count
	}
	upper, in := buckets[i].le, buckets[i].count-below
	if in == 0 {
		return upper, true
	}
	return lower + (upper-lower)*(rank-below)/in, true
}
