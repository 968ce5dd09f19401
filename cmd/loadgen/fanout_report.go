package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// fanoutReport is mode fanout's result.
type fanoutReport struct {
	Mode            string    `json:"mode"`
	At              time.Time `json:"at"`
	Run             string    `json:"run"`
	Nodes           []string  `json:"nodes"`
	Clients         int       `json:"clients"`
	Orders          int       `json:"orders"`
	Procs           int       `json:"procs"`
	TargetRate      float64   `json:"target_rate"`
	DurationSeconds float64   `json:"duration_seconds"`
	Interrupted     bool      `json:"interrupted"` // stopped early by a signal

	Connect  fanoutConnect  `json:"connect"`
	Events   fanoutEvents   `json:"events"`
	Delivery fanoutDelivery `json:"delivery"`
	// Latency is from the webhook being sent to the client receiving the
	// event's message, over every delivery.
	Latency latencySummary `json:"latency_ms"`
	Servers []fanoutServer `json:"servers"`
	// LiveConnections is trackd_live_connections summed over the nodes,
	// before the clients connected and once they all had; null when no
	// node exported it.
	LiveConnectionsBefore *float64 `json:"live_connections_before"`
	LiveConnectionsAfter  *float64 `json:"live_connections_after"`
}

type fanoutConnect struct {
	Connected  int              `json:"connected"`
	Failed     int              `json:"failed"`
	Errors     map[string]int64 `json:"errors"`
	FirstError string           `json:"first_error,omitempty"`
	Seconds    float64          `json:"seconds"` // the whole connect phase
	// Time is from starting the dial to having the snapshot, per client.
	Time latencySummary `json:"time_ms"`
}

type fanoutEvents struct {
	Sent              int64            `json:"sent"`
	Accepted          int64            `json:"accepted"`
	Failed            int64            `json:"failed"`
	Errors            map[string]int64 `json:"errors"`
	FirstError        string           `json:"first_error,omitempty"`
	ElapsedSeconds    float64          `json:"elapsed_seconds"`
	AcceptedPerSecond float64          `json:"accepted_per_second"`
	LateSends         int64            `json:"late_sends"`
	MaxLateMs         float64          `json:"max_late_ms"`
}

type fanoutDelivery struct {
	// Expected is, over the accepted events, the sum of the clients
	// watching each event's order.
	Expected   int64 `json:"expected"`
	Delivered  int64 `json:"delivered"` // distinct (client, event) pairs
	Missing    int64 `json:"missing"`
	Duplicates int64 `json:"duplicates"` // an event a client already had
	Misrouted  int64 `json:"misrouted"`  // an event of another order
	Other      int64 `json:"other"`      // messages that are not events of this run
	// StragglerSeconds is how long after the last send the workers' count
	// reached Expected; null when it did not within the wait.
	StragglerSeconds *float64         `json:"straggler_seconds"`
	DroppedClients   int              `json:"dropped_clients"` // sockets ended before the stop
	DropErrors       map[string]int64 `json:"drop_errors"`
	FirstDropError   string           `json:"first_drop_error,omitempty"`
}

// fanoutServer is one node's side of the run.
type fanoutServer struct {
	Node    string `json:"node"`
	Clients int    `json:"clients"` // connected to this node
	// RSS is process_resident_memory_bytes before the clients connected
	// and once they all had, idle; per connection is the growth over the
	// clients. Null when unknown.
	RSSBeforeBytes        *float64 `json:"rss_before_bytes"`
	RSSAfterBytes         *float64 `json:"rss_after_bytes"`
	RSSPerConnectionBytes *float64 `json:"rss_per_connection_bytes"`
	LiveConnectionsBefore *float64 `json:"live_connections_before"`
	LiveConnectionsAfter  *float64 `json:"live_connections_after"`
	Error                 string   `json:"error,omitempty"`
}

func newFanoutReport(cfg config, run string, res workerResult, ev *eventsResult, straggle *time.Duration, before, after []nodeScrape) *fanoutReport {
	r := &fanoutReport{
		Mode: "fanout", At: time.Now().UTC().Truncate(time.Second), Run: run, Nodes: cfg.Nodes,
		Clients: cfg.Clients, Orders: cfg.Orders, Procs: cfg.Procs,
		TargetRate: cfg.Rate, DurationSeconds: cfg.Duration.Seconds(),
		Connect: fanoutConnect{
			Connected: res.Connected, Failed: res.ConnectFailed, Errors: res.ConnectErrors,
			FirstError: res.FirstConnectError, Seconds: res.ConnectSeconds, Time: res.ConnectTime.summary(),
		},
		Events: fanoutEvents{
			Sent: ev.Sent, Accepted: ev.Accepted, Failed: ev.Failed, Errors: ev.Errors, FirstError: ev.FirstError,
			ElapsedSeconds: ev.Elapsed.Seconds(), LateSends: ev.LateSends, MaxLateMs: ms(ev.MaxLate),
		},
		Delivery: fanoutDelivery{
			Expected: expectedDeliveries(ev.AcceptedPerOrder, res.PerOrder), Delivered: res.Delivered,
			Duplicates: res.Duplicates, Misrouted: res.Misrouted, Other: res.Other,
			DroppedClients: res.Dropped, DropErrors: res.DropErrors, FirstDropError: res.FirstDropError,
		},
		Latency: res.Latency.summary(),
	}
	if ev.Elapsed > 0 {
		r.Events.AcceptedPerSecond = float64(ev.Accepted) / ev.Elapsed.Seconds()
	}
	r.Delivery.Missing = max(0, r.Delivery.Expected-r.Delivery.Delivered)
	if straggle != nil {
		r.Delivery.StragglerSeconds = ptr(straggle.Seconds())
	}
	for i, n := range cfg.Nodes {
		s := fanoutServer{Node: n}
		if i < len(res.PerNode) {
			s.Clients = res.PerNode[i]
		}
		var b, a nodeScrape
		switch {
		case cfg.MetricsURL == "":
			s.Error = "metrics scraping is off"
		case i >= len(before) || i >= len(after):
			s.Error = "not scraped (interrupted)"
		default:
			b, a = before[i], after[i]
			s.Error = scrapeErrors(b, a)
		}
		if b.haveRSS {
			s.RSSBeforeBytes = ptr(b.rss)
		}
		if a.haveRSS {
			s.RSSAfterBytes = ptr(a.rss)
		}
		if b.haveRSS && a.haveRSS && s.Clients > 0 {
			s.RSSPerConnectionBytes = ptr((a.rss - b.rss) / float64(s.Clients))
		}
		if b.haveLive || a.haveLive {
			// trackd's gauge has a series per transport, made by the first
			// connection: none yet reads as 0.
			s.LiveConnectionsBefore = ptr(b.live)
			r.LiveConnectionsBefore = ptr(deref(r.LiveConnectionsBefore) + b.live)
		}
		if a.haveLive {
			s.LiveConnectionsAfter = ptr(a.live)
			r.LiveConnectionsAfter = ptr(deref(r.LiveConnectionsAfter) + a.live)
		}
		r.Servers = append(r.Servers, s)
	}
	return r
}

func scrapeErrors(before, after nodeScrape) string {
	var msgs []string
	for _, s := range []nodeScrape{before, after} {
		if s.err != nil {
			msgs = append(msgs, s.err.Error())
		}
	}
	if len(msgs) == 0 {
		var missing []string
		if !before.haveRSS || !after.haveRSS {
			missing = append(missing, rssMetric)
		}
		if !after.haveLive {
			missing = append(missing, liveConnsMetric)
		}
		if len(missing) > 0 {
			return "not exported: " + strings.Join(missing, ", ")
		}
	}
	return strings.Join(msgs, "; ")
}

func deref(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}

func (r *fanoutReport) failureReasons() []string {
	var why []string
	d := r.Delivery
	if r.Connect.Connected == 0 {
		why = append(why, "no client connected")
	}
	if r.Connect.Failed > 0 {
		why = append(why, fmt.Sprintf("%d of %d clients failed to connect", r.Connect.Failed, r.Clients))
	}
	if r.Events.Accepted == 0 {
		why = append(why, "no event was accepted")
	} else if float64(r.Events.Failed) > maxFailureRatio*float64(r.Events.Sent) {
		why = append(why, fmt.Sprintf("%d of %d webhooks failed (more than %g%%)", r.Events.Failed, r.Events.Sent, maxFailureRatio*100))
	}
	if d.Delivered < d.Expected {
		why = append(why, fmt.Sprintf("delivered %d of %d expected messages (%d missing)", d.Delivered, d.Expected, d.Missing))
	}
	if d.Duplicates > 0 {
		why = append(why, fmt.Sprintf("%d duplicate messages", d.Duplicates))
	}
	if d.Misrouted > 0 {
		why = append(why, fmt.Sprintf("%d events reached clients of another order", d.Misrouted))
	}
	if d.DroppedClients > 0 {
		why = append(why, fmt.Sprintf("%d clients were disconnected before the end", d.DroppedClients))
	}
	return why
}

func (r *fanoutReport) failed() bool { return len(r.failureReasons()) > 0 }

func (r *fanoutReport) failureReason() string { return strings.Join(r.failureReasons(), "; ") }

func (r *fanoutReport) writeText(w io.Writer) {
	fmt.Fprintf(w, "loadgen fanout: %d clients over %d orders on %s, %d worker process(es), run %s\n",
		r.Clients, r.Orders, strings.Join(r.Nodes, ", "), r.Procs, r.Run)
	c := r.Connect
	fmt.Fprintf(w, "  connect     %d connected, %d failed, in %.2fs; p50 %.2fms  p99 %.2fms  max %.2fms  (dial to snapshot)\n",
		c.Connected, c.Failed, c.Seconds, c.Time.P50, c.Time.P99, c.Time.Max)
	if len(c.Errors) > 0 {
		fmt.Fprintf(w, "  conn. errs  %s\n", errorsText(c.Errors))
		fmt.Fprintf(w, "  first error %s\n", c.FirstError)
	}
	e := r.Events
	fmt.Fprintf(w, "  events      %s for %gs: sent %d, accepted %d (%.1f/s), failed %d; late sends %d (worst %.1fms)",
		rateText(r.TargetRate), r.DurationSeconds, e.Sent, e.Accepted, e.AcceptedPerSecond, e.Failed, e.LateSends, e.MaxLateMs)
	if r.Interrupted {
		fmt.Fprint(w, "; interrupted")
	}
	fmt.Fprintln(w)
	if len(e.Errors) > 0 {
		fmt.Fprintf(w, "  event errs  %s\n", errorsText(e.Errors))
		fmt.Fprintf(w, "  first error %s\n", e.FirstError)
	}
	d := r.Delivery
	pct := 100.0
	if d.Expected > 0 {
		pct = 100 * float64(d.Delivered) / float64(d.Expected)
	}
	straggle := "not complete within the wait"
	switch {
	case d.StragglerSeconds != nil:
		straggle = fmt.Sprintf("complete %.2fs after the last send", *d.StragglerSeconds)
	case r.Interrupted:
		straggle = "stragglers not awaited (interrupted)"
	}
	fmt.Fprintf(w, "  delivery    delivered %d of %d expected (%.2f%%), %d duplicates, %d misrouted, %d other messages; %s\n",
		d.Delivered, d.Expected, pct, d.Duplicates, d.Misrouted, d.Other, straggle)
	if d.DroppedClients > 0 {
		fmt.Fprintf(w, "  dropped     %d clients: %s; first: %s\n", d.DroppedClients, errorsText(d.DropErrors), d.FirstDropError)
	}
	l := r.Latency
	fmt.Fprintf(w, "  latency     p50 %.2fms  p90 %.2fms  p99 %.2fms  p99.9 %.2fms  max %.2fms  (%d deliveries, webhook sent to client received)\n",
		l.P50, l.P90, l.P99, l.P999, l.Max, l.Count)
	for i, s := range r.Servers {
		label := "  server     "
		if i > 0 {
			label = "             "
		}
		fmt.Fprintf(w, "%s %s: %d clients; %s", label, s.Node, s.Clients, s.memoryText())
		if s.LiveConnectionsAfter != nil {
			fmt.Fprintf(w, "; live connections %.0f", *s.LiveConnectionsAfter)
		}
		if s.Error != "" {
			fmt.Fprintf(w, " (%s)", s.Error)
		}
		fmt.Fprintln(w)
	}
	if r.LiveConnectionsAfter != nil {
		fmt.Fprintf(w, "  live conns  %.0f on the nodes once connected (%s), %s before\n",
			*r.LiveConnectionsAfter, liveConnsMetric, optCount(r.LiveConnectionsBefore))
	}
}

func (s fanoutServer) memoryText() string {
	switch {
	case s.RSSPerConnectionBytes != nil && s.RSSBeforeBytes != nil && s.RSSAfterBytes != nil:
		return fmt.Sprintf("RSS %s -> %s, %s per connection", mib(*s.RSSBeforeBytes), mib(*s.RSSAfterBytes), kib(*s.RSSPerConnectionBytes))
	case s.RSSPerConnectionBytes != nil:
		return kib(*s.RSSPerConnectionBytes) + " RSS per connection"
	case s.RSSAfterBytes != nil:
		return "RSS " + mib(*s.RSSAfterBytes) + ", per connection unknown"
	}
	return "RSS unknown"
}

func mib(b float64) string { return fmt.Sprintf("%.1f MiB", b/(1<<20)) }
func kib(b float64) string { return fmt.Sprintf("%.1f KiB", b/(1<<10)) }

func optCount(v *float64) string {
	if v == nil {
		return "?"
	}
	return fmt.Sprintf("%.0f", *v)
}

func (r *fanoutReport) markdownHeader() []string {
	return []string{"at (UTC)", "mode", "nodes", "clients", "orders", "procs", "rate", "duration s",
		"connected", "connect failed", "connect p50 ms", "connect p99 ms", "sent", "accepted",
		"delivered", "expected", "duplicates", "p50 ms", "p90 ms", "p99 ms", "max ms",
		"RSS/conn KiB", "live conns"}
}

func (r *fanoutReport) markdownRow() []string {
	perConn := make([]string, 0, len(r.Servers))
	for _, s := range r.Servers {
		if s.RSSPerConnectionBytes != nil {
			perConn = append(perConn, fmt.Sprintf("%.1f", *s.RSSPerConnectionBytes/1024))
		} else {
			perConn = append(perConn, "?")
		}
	}
	l, c := r.Latency, r.Connect.Time
	return []string{r.At.Format("2006-01-02 15:04:05"), r.Mode, strings.Join(r.Nodes, " "),
		strconv.Itoa(r.Clients), strconv.Itoa(r.Orders), strconv.Itoa(r.Procs), rateText(r.TargetRate),
		fmt.Sprintf("%g", r.DurationSeconds), strconv.Itoa(r.Connect.Connected), strconv.Itoa(r.Connect.Failed),
		fmt.Sprintf("%.2f", c.P50), fmt.Sprintf("%.2f", c.P99),
		strconv.FormatInt(r.Events.Sent, 10), strconv.FormatInt(r.Events.Accepted, 10),
		strconv.FormatInt(r.Delivery.Delivered, 10), strconv.FormatInt(r.Delivery.Expected, 10),
		strconv.FormatInt(r.Delivery.Duplicates, 10),
		fmt.Sprintf("%.2f", l.P50), fmt.Sprintf("%.2f", l.P90), fmt.Sprintf("%.2f", l.P99), fmt.Sprintf("%.2f", l.Max),
		strings.Join(perConn, " / "), optCount(r.LiveConnectionsAfter)}
}
