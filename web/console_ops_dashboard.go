package web

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/trackd/trackd/notify"
	"github.com/trackd/trackd/notify/deliverylog"
	"github.com/trackd/trackd/templates"
	"github.com/trackd/trackd/timeline"
)

// Colours of the dashboard's series: the shopper page's tones, each at
// least 3:1 against white as graphics need.
const (
	colorOK   = "#2e7d32"
	colorBad  = "#a4161a"
	colorP50  = "#1f4e79"
	colorP99  = "#8a4b00"
	colorMax  = "#6a1b9a"
	dayStep   = 15 * time.Minute
	daySpan   = 24 * time.Hour
	hourSpan  = time.Hour
	minuteFmt = "15:04"
)

// opsDashboard serves GET /console/ops: the last hour by minute and the
// last day by quarter-hour.
func (s *Server) opsDashboard(c *fiber.Ctx) error {
	const title = "Operations"
	ops := s.deps.Console.Ops
	if ops.Stats == nil {
		return s.notSetUp(c, title, "ops")
	}
	now := s.deps.Now().UTC()
	end := now.Truncate(time.Minute).Add(time.Minute)
	// The day ends with the current quarter-hour, so its buckets are whole
	// quarters (the last one filling).
	dayStart := now.Truncate(dayStep).Add(dayStep - daySpan)
	p := templates.OpsDashboardProps{Console: s.consoleProps(c, title, "ops"), Now: opsTime(now)}
	minutes, err := ops.Stats.Query(c.UserContext(), dayStart, end)
	if err != nil {
		s.deps.Log.Warn("dashboard stats", "err", err)
		c.Status(fiber.StatusServiceUnavailable)
		p.Error = "The numbers cannot be read now; reload in a moment."
	}
	hour := minutes
	if len(hour) > 60 {
		hour = hour[len(hour)-60:]
	}
	if len(minutes) > 0 {
		p.Windows = []templates.OpsWindow{
			opsWindow("hour", "Last hour, by minute", hour),
			opsWindow("day", "Last day, by quarter-hour", timeline.Aggregate(minutes, dayStep)),
		}
	}
	return s.consolePage(c, templates.OpsDashboard(p))
}

// opsWindow builds one window's charts from its buckets.
func opsWindow(key, name string, buckets []timeline.Bucket) templates.OpsWindow {
	w := templates.OpsWindow{Key: key, Name: name}
	labels := make([]string, len(buckets))
	for i, b := range buckets {
		labels[i] = b.Start.UTC().Format(minuteFmt)
	}
	step := "a minute"
	if len(buckets) > 0 && buckets[0].Span > time.Minute {
		step = "a quarter-hour"
	}
	total := timeline.Total(buckets)

	for _, carrier := range timeline.Labels(buckets, timeline.KindWebhook) {
		accepted := make([]float64, len(buckets))
		rejected := make([]float64, len(buckets))
		for i, b := range buckets {
			for result, n := range b.Results(timeline.KindWebhook, carrier) {
				if result == timeline.Accepted {
					accepted[i] += float64(n)
				} else {
					rejected[i] += float64(n)
				}
			}
		}
		results := total.Results(timeline.KindWebhook, carrier)
		acc := results[timeline.Accepted]
		rej := int64(0)
		var reasons []string
		for r, n := range results {
			if r != timeline.Accepted {
				rej += n
				reasons = append(reasons, r+" "+strconv.FormatInt(n, 10))
			}
		}
		if rej > 0 {
			sort.Strings(reasons)
			w.Rejected = append(w.Rejected, carrier+": "+strings.Join(reasons, ", "))
		}
		w.Webhooks = append(w.Webhooks, templates.OpsChart{
			ID:    "wh-" + key + "-" + carrier,
			Title: carrier + " webhooks",
			Summary: fmt.Sprintf("%d accepted, %d rejected; at most %s in %s.", acc, rej,
				formatCount(peak(accepted, rejected)), step),
			Labels: labels,
			Series: []templates.OpsSeries{
				{Name: "accepted", Color: colorOK, Values: accepted},
				{Name: "rejected", Color: colorBad, Values: rejected},
			},
			Format: formatCount,
		})
	}
	for _, src := range timeline.Labels(buckets, timeline.KindDeadLetter) {
		w.DeadLetters = append(w.DeadLetters, src+" "+strconv.FormatInt(total.Count(timeline.DeadLetter(src)), 10))
	}

	p50 := make([]float64, len(buckets))
	p99 := make([]float64, len(buckets))
	mx := make([]float64, len(buckets))
	for i, b := range buckets {
		sum := b.Summary(timeline.ProcessorLag)
		p50[i], p99[i], mx[i] = ms(sum.P50), ms(sum.P99), ms(sum.Max)
	}
	lag := total.Summary(timeline.ProcessorLag)
	lagSummary := "Nothing applied."
	if lag.Count > 0 {
		lagSummary = fmt.Sprintf("%d entries applied; p50 %s, p99 %s, max %s.", lag.Count,
			formatMillis(ms(lag.P50)), formatMillis(ms(lag.P99)), formatMillis(ms(lag.Max)))
	}
	w.Lag = templates.OpsChart{
		ID: "lag-" + key, Title: "Processor lag", Summary: lagSummary, Labels: labels, Lines: true,
		Series: []templates.OpsSeries{
			{Name: "p50", Color: colorP50, Values: p50},
			{Name: "p99", Color: colorP99, Values: p99},
			{Name: "max", Color: colorMax, Values: mx},
		},
		Format: formatMillis,
	}

	channels := timeline.Labels(buckets, timeline.KindNotification)
	for _, ch := range notify.Channels {
		if !slices.Contains(channels, string(ch)) {
			channels = append(channels, string(ch))
		}
	}
	sort.Strings(channels)
	var others []string
	for _, ch := range channels {
		sent := make([]float64, len(buckets))
		failed := make([]float64, len(buckets))
		for i, b := range buckets {
			sent[i] = float64(b.Count(timeline.Notification(ch, deliverylog.Sent)))
			failed[i] = float64(b.Count(timeline.Notification(ch, deliverylog.Failed)))
		}
		results := total.Results(timeline.KindNotification, ch)
		var rest []string
		for r, n := range results {
			if r != deliverylog.Sent && r != deliverylog.Failed {
				rest = append(rest, r+" "+strconv.FormatInt(n, 10))
			}
		}
		if len(rest) > 0 {
			sort.Strings(rest)
			others = append(others, ch+": "+strings.Join(rest, ", "))
		}
		w.Notifications = append(w.Notifications, templates.OpsChart{
			ID: "nt-" + key + "-" + ch, Title: ch + " notifications",
			Summary: fmt.Sprintf("%d sent, %d failed; at most %s in %s.", results[deliverylog.Sent], results[deliverylog.Failed],
				formatCount(peak(sent, failed)), step),
			Labels: labels,
			Series: []templates.OpsSeries{
				{Name: "sent", Color: colorOK, Values: sent},
				{Name: "failed", Color: colorBad, Values: failed},
			},
			Format: formatCount,
		})
	}
	w.OtherResults = others
	return w
}

// peak is the largest stacked total of a bucket.
func peak(series ...[]float64) float64 {
	top := 0.0
	for i := range series[0] {
		sum := 0.0
		for _, s := range series {
			sum += s[i]
		}
		top = max(top, sum)
	}
	return top
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func formatCount(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// formatMillis writes a duration given in milliseconds: "0", "12 ms", "1.5 s", "2 min".
func formatMillis(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v < 10:
		return strconv.FormatFloat(v, 'f', 1, 64) + " ms"
	case v < 1000:
		return strconv.FormatFloat(v, 'f', 0, 64) + " ms"
	case v < 60_000:
		return strconv.FormatFloat(v/1000, 'f', -1, 64) + " s"
	default:
		return strconv.FormatFloat(v/60_000, 'f', 1, 64) + " min"
	}
}
