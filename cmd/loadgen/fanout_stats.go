package main

import (
	"maps"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// ---- who watches what, and where each event goes ----

// fanoutPlan places clients and events. Client c and event seq e use the
// same rule: node = i mod nodes, order = (i div nodes) mod orders. So both
// go round-robin over the nodes, every order has clients on every node
// (given at least nodes*orders clients), and every order's events are
// posted to every node in turn: an event posted to one node must reach
// sockets held by the others.
type fanoutPlan struct {
	nodes, orders int
}

func (p fanoutPlan) place(i int64) (node, order int) {
	return int(i % int64(p.nodes)), int((i / int64(p.nodes)) % int64(p.orders))
}

// eventIndex numbers event seq among its order's events: 0, 1, 2, ...
// without gaps, so a client can keep the events it has seen in a bitset.
func (p fanoutPlan) eventIndex(seq int64) int64 {
	n, k := int64(p.nodes), int64(p.orders)
	return (seq/(n*k))*n + seq%n
}

// workerShare is the range of client numbers worker index of procs holds:
// contiguous blocks, so every worker has clients on every node and order.
func workerShare(index, procs, clients int) (lo, hi int) {
	return index * clients / procs, (index + 1) * clients / procs
}

// ---- event ids: lgf-<run>-<seq>-<unix nanoseconds of the send> ----

func eventIDPrefix(run string) string { return "lgf-" + run + "-" }

func appendEventID(buf []byte, prefix string, seq int64, sent time.Time) []byte {
	buf = append(buf, prefix...)
	buf = strconv.AppendInt(buf, seq, 10)
	buf = append(buf, '-')
	return strconv.AppendInt(buf, sent.UnixNano(), 10)
}

// parseEventID reads back what appendEventID wrote; ok is false for an id
// of another run or of something else.
func parseEventID(id, prefix string) (seq int64, sent time.Time, ok bool) {
	rest, found := strings.CutPrefix(id, prefix)
	if !found {
		return 0, time.Time{}, false
	}
	s, ns, found := strings.Cut(rest, "-")
	if !found {
		return 0, time.Time{}, false
	}
	seq, err := strconv.ParseInt(s, 10, 64)
	if err != nil || seq < 0 {
		return 0, time.Time{}, false
	}
	n, err := strconv.ParseInt(ns, 10, 64)
	if err != nil || n <= 0 {
		return 0, time.Time{}, false
	}
	return seq, time.Unix(0, n), true
}

// deliveryLatency is how long event id took from its webhook being sent to
// its message being received at recv: both read from this host's clock,
// by the parent and by a worker process on the same machine.
func deliveryLatency(id, prefix string, recv time.Time) (time.Duration, bool) {
	_, sent, ok := parseEventID(id, prefix)
	if !ok {
		return 0, false
	}
	return recv.Sub(sent), true
}

// ---- a client's seen events ----

// bitset grows as needed; one client of an order sees at most
// rate*duration/orders events, a few hundred bits.
type bitset []uint64

// testAndSet sets bit i and reports whether it was set already.
func (b *bitset) testAndSet(i int64) bool {
	w := int(i / 64)
	if w >= len(*b) {
		*b = append(*b, make([]uint64, w+1-len(*b))...)
	}
	mask := uint64(1) << (i % 64)
	was := (*b)[w]&mask != 0
	(*b)[w] |= mask
	return was
}

// ---- latency histograms ----

// Latencies are kept in log-linear buckets (HDR-style) rather than one by
// one: 18,000 clients at 10 events a second each are millions of samples,
// which workers could not stream to the parent. Values below 256ns are
// exact; above, each power of two is split into 128 buckets, so a bucket's
// bounds are within 1/128 (0.8%) of each other. Nanoseconds up to 2^42
// (73 minutes) have their own bucket; anything longer shares the last.
const (
	histSubBits = 7
	histSub     = 1 << histSubBits
	histMaxBits = 42
	histLen     = (histMaxBits-histSubBits)*histSub + 2*histSub
)

func histIndex(v int64) int {
	if v < 0 {
		v = 0
	}
	shift := max(bits.Len64(uint64(v))-histSubBits-1, 0)
	return min(shift*histSub+int(v>>shift), histLen-1)
}

// histUpper is the largest value bucket i holds.
func histUpper(i int) int64 {
	shift := max(i/histSub-1, 0)
	m := int64(i - shift*histSub)
	return (m+1)<<shift - 1
}

// histogram is a mergeable latency histogram, as workers send it.
type histogram struct {
	Counts map[int]int64 `json:"counts"` // bucket index -> observations
	N      int64         `json:"n"`
	Max    int64         `json:"max_ns"`
}

func (h *histogram) add(d time.Duration) {
	if h.Counts == nil {
		h.Counts = map[int]int64{}
	}
	h.Counts[histIndex(int64(d))]++
	h.N++
	h.Max = max(h.Max, int64(d))
}

func (h *histogram) merge(o histogram) {
	if h.Counts == nil {
		h.Counts = map[int]int64{}
	}
	for i, n := range o.Counts {
		h.Counts[i] += n
	}
	h.N += o.N
	h.Max = max(h.Max, o.Max)
}

// quantile is the nearest-rank p-th percentile (as percentile() does for
// raw samples), as the upper bound of its bucket, never above the maximum
// seen; 0 when empty.
func (h histogram) quantile(p float64) time.Duration {
	if h.N == 0 {
		return 0
	}
	rank := min(max(int64(math.Ceil(p/100*float64(h.N)-1e-9)), 1), h.N)
	var seen int64
	for _, i := range slices.Sorted(maps.Keys(h.Counts)) {
		seen += h.Counts[i]
		if seen >= rank {
			return time.Duration(min(histUpper(i), h.Max))
		}
	}
	return time.Duration(h.Max)
}

func (h histogram) summary() latencySummary {
	return latencySummary{
		Count: int(h.N),
		P50:   ms(h.quantile(50)),
		P90:   ms(h.quantile(90)),
		P99:   ms(h.quantile(99)),
		P999:  ms(h.quantile(99.9)),
		Max:   ms(time.Duration(h.Max)),
	}
}

// atomicHistogram is recorded into by many client goroutines at once.
type atomicHistogram struct {
	counts [histLen]atomic.Int64
	n      atomic.Int64
	max    atomic.Int64
}

func (h *atomicHistogram) add(d time.Duration) {
	h.counts[histIndex(int64(d))].Add(1)
	h.n.Add(1)
	for {
		m := h.max.Load()
		if int64(d) <= m || h.max.CompareAndSwap(m, int64(d)) {
			return
		}
	}
}

func (h *atomicHistogram) snapshot() histogram {
	out := histogram{Counts: map[int]int64{}, N: h.n.Load(), Max: h.max.Load()}
	for i := range h.counts {
		if n := h.counts[i].Load(); n > 0 {
			out.Counts[i] = n
		}
	}
	return out
}

// ---- what a worker saw ----

// workerResult is what one worker process reports: after connecting (the
// connect fields only) and at the end (everything). The parent merges them.
type workerResult struct {
	Worker  int `json:"worker"`
	Clients int `json:"clients"` // the clients this worker was given

	Connected         int              `json:"connected"`
	ConnectFailed     int              `json:"connect_failed"`
	ConnectErrors     map[string]int64 `json:"connect_errors,omitempty"`
	FirstConnectError string           `json:"first_connect_error,omitempty"`
	ConnectTime       histogram        `json:"connect_time"`
	ConnectSeconds    float64          `json:"connect_seconds"` // the whole connect phase
	PerOrder          []int            `json:"per_order"`       // connected clients watching each order
	PerNode           []int            `json:"per_node"`        // connected clients on each node

	Delivered  int64     `json:"delivered"`  // distinct (client, event) pairs of this run
	Duplicates int64     `json:"duplicates"` // an event a client had already
	Misrouted  int64     `json:"misrouted"`  // an event of another order
	Other      int64     `json:"other"`      // other messages (not an event of this run)
	Latency    histogram `json:"latency"`

	Dropped        int              `json:"dropped"` // clients whose socket ended before the stop
	DropErrors     map[string]int64 `json:"drop_errors,omitempty"`
	FirstDropError string           `json:"first_drop_error,omitempty"`
}

// mergeWorkerResults adds up the workers' results.
func mergeWorkerResults(results []workerResult, orders, nodes int) workerResult {
	out := workerResult{Worker: -1, ConnectErrors: map[string]int64{}, DropErrors: map[string]int64{},
		PerOrder: make([]int, orders), PerNode: make([]int, nodes),
		ConnectTime: histogram{Counts: map[int]int64{}}, Latency: histogram{Counts: map[int]int64{}}}
	for _, r := range results {
		out.Clients += r.Clients
		out.Connected += r.Connected
		out.ConnectFailed += r.ConnectFailed
		for k, n := range r.ConnectErrors {
			out.ConnectErrors[k] += n
		}
		if out.FirstConnectError == "" {
			out.FirstConnectError = r.FirstConnectError
		}
		out.ConnectTime.merge(r.ConnectTime)
		out.ConnectSeconds = max(out.ConnectSeconds, r.ConnectSeconds)
		for i, n := range r.PerOrder {
			if i < orders {
				out.PerOrder[i] += n
			}
		}
		for i, n := range r.PerNode {
			if i < nodes {
				out.PerNode[i] += n
			}
		}
		out.Delivered += r.Delivered
		out.Duplicates += r.Duplicates
		out.Misrouted += r.Misrouted
		out.Other += r.Other
		out.Latency.merge(r.Latency)
		out.Dropped += r.Dropped
		for k, n := range r.DropErrors {
			out.DropErrors[k] += n
		}
		if out.FirstDropError == "" {
			out.FirstDropError = r.FirstDropError
		}
	}
	return out
}

// expectedDeliveries is the sum over accepted events of the clients
// watching the event's order.
func expectedDeliveries(acceptedPerOrder []int64, watchers []int) int64 {
	var total int64
	for o, n := range acceptedPerOrder {
		if o < len(watchers) {
			total += n * int64(watchers[o])
		}
	}
	return total
}
