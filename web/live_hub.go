package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/trackd/trackd/tracking"
)

// LiveSource names the pub/sub channels the processors announce new events
// on, and finds a shipment's newest event.
type LiveSource interface {
	LiveChannel(id string) string
	ShipmentFromLiveChannel(ch string) (string, bool)
	LastCursor(ctx context.Context, id string) (string, error)
	LastCursors(ctx context.Context, ids []string) ([]string, error)
}

// HubConfig tunes the live fan-out.
type HubConfig struct {
	// QueueSize bounds each connection's unsent messages. A client that
	// falls this far behind is disconnected (it resumes from its cursors
	// when it comes back) rather than growing the server's memory.
	QueueSize int
	// WriteTimeout bounds one write to a client.
	WriteTimeout time.Duration
	// PingEvery is the heartbeat: WebSocket pings, SSE comments. Proxies
	// close connections idle for a minute; this keeps them open.
	PingEvery time.Duration
	// IdleTimeout closes a WebSocket whose client answered nothing (not
	// even a pong) for this long.
	IdleTimeout time.Duration
	// Resync is how often every watched shipment is checked for events
	// even without a notification: pub/sub is at-most-once, so a lost
	// notification delays an update by at most this long. The check is
	// spread over the interval in small pipelined batches, so thousands of
	// watched shipments never cost a burst.
	Resync time.Duration
	// NoScanAfter is used to derive "delayed" for each message.
	NoScanAfter time.Duration
}

// DefaultHubConfig returns the defaults.
func DefaultHubConfig() HubConfig {
	return HubConfig{
		QueueSize:    64,
		WriteTimeout: 10 * time.Second,
		PingEvery:    25 * time.Second,
		IdleTimeout:  60 * time.Second,
		Resync:       5 * time.Second,
		NoScanAfter:  96 * time.Hour,
	}
}

// Hub fans new shipment events out to this node's live connections. It
// holds one Redis subscription per watched shipment, shared by all the
// node's connections watching it (reference-counted), on one pub/sub
// connection. Notifications only say "shipment X has news": the hub reads
// what is new from the shipment's stream, once per node, so messages reach
// every client in stream order, none missed and none twice.
//
// News without a new event (the delay watcher marking a shipment late, or
// clearing that) goes out as a state message, to the clients whose last
// message about the shipment showed something else:
//
//	{"type":"state","shipment_id","status","delayed","estimated_delivery"}
type Hub struct {
	cfg     HubConfig
	rdb     redis.UniversalClient
	src     LiveSource
	store   Store
	log     *slog.Logger
	now     func() time.Time
	metrics hubMetrics

	mu      sync.Mutex
	ps      *redis.PubSub
	watches map[string]*watch
	clients map[*liveClient]struct{}
	closed  bool
}

type hubMetrics struct {
	connections *prometheus.GaugeVec
	messages    prometheus.Counter
	slow        prometheus.Counter
}

// watch is one shipment watched by this node.
type watch struct {
	id   string
	refs int // guarded by Hub.mu

	// mu serializes fan-out and attaching clients, so a client attached
	// while events arrive gets each exactly once.
	mu      sync.Mutex
	last    string // newest cursor fanned out
	clients map[*liveClient]struct{}
	// fanned is last, readable without mu by the resync.
	fanned atomic.Pointer[string]

	running atomic.Bool
	dirty   atomic.Bool
}

// NewHub returns a hub; Run must run for it to deliver anything.
func NewHub(cfg HubConfig, rdb redis.UniversalClient, src LiveSource, store Store, reg prometheus.Registerer, log *slog.Logger) *Hub {
	h := &Hub{cfg: cfg, rdb: rdb, src: src, store: store, log: log, now: time.Now,
		watches: map[string]*watch{}, clients: map[*liveClient]struct{}{}}
	h.metrics = hubMetrics{
		connections: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "trackd_live_connections", Help: "Open live connections on this node, by transport."}, []string{"transport"}),
		messages: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "trackd_live_messages_total", Help: "Live messages queued to clients."}),
		slow: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "trackd_live_slow_disconnects_total", Help: "Live clients disconnected for not keeping up."}),
	}
	reg.MustRegister(h.metrics.connections, h.metrics.messages, h.metrics.slow)
	h.ps = rdb.Subscribe(context.Background())
	return h
}

// Run delivers notifications until ctx ends.
func (h *Hub) Run(ctx context.Context) {
	msgs := h.ps.Channel(redis.WithChannelSize(4096))
	go h.resync(ctx)
	for {
		select {
		case <-ctx.Done():
			h.ps.Close()
			return
		case m, ok := <-msgs:
			if !ok {
				return
			}
			if id, ok := h.src.ShipmentFromLiveChannel(m.Channel); ok {
				h.kick(id)
			}
		}
	}
}

// resyncSlices is how many batches one Resync interval is split into.
const resyncSlices = 50

// resync compares every watched shipment's newest stored event with the
// newest one fanned out, a slice of them at a time, and kicks those behind.
func (h *Hub) resync(ctx context.Context) {
	tick := time.NewTicker(h.cfg.Resync / resyncSlices)
	defer tick.Stop()
	var pending []string
	perTick := 1
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if len(pending) == 0 {
			h.mu.Lock()
			for id := range h.watches {
				pending = append(pending, id)
			}
			h.mu.Unlock()
			perTick = min(max(1, (len(pending)+resyncSlices-1)/resyncSlices), 1000)
		}
		n := min(len(pending), perTick)
		batch := pending[:n]
		pending = pending[n:]
		if len(batch) == 0 {
			continue
		}
		lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		lasts, err := h.src.LastCursors(lctx, batch)
		cancel()
		if err != nil {
			h.log.Debug("live resync", "err", err)
			continue
		}
		for i, id := range batch {
			h.mu.Lock()
			w := h.watches[id]
			h.mu.Unlock()
			if w == nil {
				continue
			}
			if f := w.fanned.Load(); f == nil || tracking.CompareCursors(lasts[i], *f) > 0 {
				h.kick(id)
			}
		}
	}
}

// Close disconnects every client with "going away", so they reconnect to
// another node. Run's context ends the subscription.
func (h *Hub) Close() {
	h.mu.Lock()
	h.closed = true
	clients := make([]*liveClient, 0, len(h.clients))
	for c := range h.clients {
		clients = append(clients, c)
	}
	h.mu.Unlock()
	for _, c := range clients {
		c.close(closeGoingAway, "server shutting down")
	}
}

// kick makes sure the shipment's news is fanned out: by a run already in
// progress (which then goes round once more), or by a new one.
func (h *Hub) kick(id string) {
	h.mu.Lock()
	w := h.watches[id]
	h.mu.Unlock()
	if w == nil {
		return
	}
	w.dirty.Store(true)
	if !w.running.CompareAndSwap(false, true) {
		return
	}
	go func() {
		for {
			for w.dirty.Swap(false) {
				h.fanout(w)
			}
			w.running.Store(false)
			// A kick between the last check and here found running set
			// and left the work to us.
			if !w.dirty.Load() || !w.running.CompareAndSwap(false, true) {
				return
			}
		}
	}()
}

func (h *Hub) fanout(w *watch) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	w.mu.Lock()
	defer w.mu.Unlock()
	msgs, last, err := h.messagesAfter(ctx, w.id, w.last)
	if err != nil {
		h.log.Warn("live fan-out", "shipment_id", w.id, "err", err)
		return
	}
	if len(msgs) == 0 {
		h.fanoutState(ctx, w)
		return
	}
	for _, m := range msgs {
		for c := range w.clients {
			c.deliver(w.id, m)
		}
	}
	if last != "" {
		w.last = last
		w.fanned.Store(&last)
	}
}

// fanoutState sends the shipment's state to the clients that show another
// one. The caller holds w.mu.
func (h *Hub) fanoutState(ctx context.Context, w *watch) {
	if len(w.clients) == 0 {
		return
	}
	st, b, ok := h.state(ctx, w.id)
	if !ok {
		return
	}
	for c := range w.clients {
		c.deliverState(w.id, st, b)
	}
}

// state reads a shipment's state and its state message; false when there
// is nothing stored to show, or it cannot be read now (logged: a live
// page catches up with the next message).
func (h *Hub) state(ctx context.Context, id string) (shownState, []byte, bool) {
	sh, err := h.store.Shipment(ctx, id, false)
	if errors.Is(err, tracking.ErrNotFound) {
		return shownState{}, nil, false
	}
	if err != nil {
		h.log.Warn("live state", "shipment_id", id, "err", err)
		return shownState{}, nil, false
	}
	sh.DeriveDelayed(h.now(), h.cfg.NoScanAfter)
	b, err := json.Marshal(liveState{Type: "state", ShipmentID: id, Status: sh.Status, Delayed: sh.Delayed,
		EstimatedDelivery: sh.EstimatedDelivery})
	if err != nil {
		h.log.Warn("encode live state", "shipment_id", id, "err", err)
		return shownState{}, nil, false
	}
	return stateOf(sh), b, true
}

// liveState is the message for a shipment whose state moved without a new
// event (DESIGN.md, "Live messages").
type liveState struct {
	Type              string          `json:"type"` // "state"
	ShipmentID        string          `json:"shipment_id"`
	Status            tracking.Status `json:"status"`
	Delayed           bool            `json:"delayed"`
	EstimatedDelivery *tracking.ETA   `json:"estimated_delivery"`
}

// shownState is what a page shows of a shipment beside its history, as the
// last message about it said.
type shownState struct {
	status              tracking.Status
	delayed, eta        bool
	etaFirst, etaLatest string
}

func stateOf(sh *tracking.Shipment) shownState {
	st := shownState{status: sh.Status, delayed: sh.Delayed}
	if e := sh.EstimatedDelivery; e != nil {
		st.eta, st.etaFirst, st.etaLatest = true, e.First, e.Latest
	}
	return st
}

// liveMessage is one queued message: the cursor orders it, id names it
// for SSE's Last-Event-ID; state is the shipment's state it carries.
type liveMessage struct {
	cursor string
	id     string
	data   []byte
	state  *shownState
}

// messagesAfter builds the event messages for a shipment's events after cursor.
func (h *Hub) messagesAfter(ctx context.Context, id, cursor string) ([]liveMessage, string, error) {
	events, err := h.store.EventsAfter(ctx, id, cursor)
	if err != nil || len(events) == 0 {
		return nil, "", err
	}
	sh, err := h.store.Shipment(ctx, id, false)
	if err != nil {
		return nil, "", err
	}
	sh.DeriveDelayed(h.now(), h.cfg.NoScanAfter)
	st := stateOf(sh)
	out := make([]liveMessage, 0, len(events))
	for _, e := range events {
		e.Raw = nil
		b, err := json.Marshal(tracking.LiveEvent{Type: "event", ShipmentID: id, TrackingNumber: sh.TrackingNumber,
			Cursor: e.Cursor, Status: sh.Status, Delayed: sh.Delayed, EstimatedDelivery: sh.EstimatedDelivery, Event: e})
		if err != nil {
			return nil, "", fmt.Errorf("encode live event %s: %w", e.Cursor, err)
		}
		out = append(out, liveMessage{cursor: e.Cursor, id: id + ":" + e.Cursor, data: b, state: &st})
	}
	return out, events[len(events)-1].Cursor, nil
}

// errHubClosed is returned when a client connects during shutdown.
var errHubClosed = errors.New("live updates are shutting down on this node")

// acquire starts watching a shipment for one more client.
func (h *Hub) acquire(ctx context.Context, id string) (*watch, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, errHubClosed
	}
	if w := h.watches[id]; w != nil {
		w.refs++
		return w, nil
	}
	if err := h.ps.Subscribe(ctx, h.src.LiveChannel(id)); err != nil {
		return nil, fmt.Errorf("subscribe to %s: %w", id, err)
	}
	// Read after subscribing: whatever is stored later is announced, or
	// found by the next resync.
	last, err := h.src.LastCursor(ctx, id)
	if err != nil {
		h.ps.Unsubscribe(ctx, h.src.LiveChannel(id))
		return nil, err
	}
	w := &watch{id: id, refs: 1, last: last, clients: map[*liveClient]struct{}{}}
	w.fanned.Store(&last)
	h.watches[id] = w
	return w, nil
}

// release stops watching a shipment for one client.
func (h *Hub) release(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	w := h.watches[id]
	if w == nil {
		return
	}
	if w.refs--; w.refs > 0 {
		return
	}
	delete(h.watches, id)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := h.ps.Unsubscribe(ctx, h.src.LiveChannel(id)); err != nil {
		h.log.Debug("unsubscribe", "shipment_id", id, "err", err)
	}
}

// Close codes sent to WebSocket clients.
const (
	closeGoingAway     = 1001
	closeInternalError = 1011
	closeTryAgainLater = 1013
)

// liveClient is one connection, WebSocket or SSE.
type liveClient struct {
	hub       *Hub
	transport string
	send      chan liveMessage

	mu      sync.Mutex
	cursors map[string]string     // shipment id -> newest cursor queued
	shown   map[string]shownState // shipment id -> state last queued

	done      chan struct{}
	closeOnce sync.Once
	code      int
	reason    string
	watches   []string
}

// connect registers a client for an order's shipments. cursors holds the
// client's resume position per shipment; the snapshot, when the caller
// sends one, sets them for the others. Call attach once the snapshot (if
// any) is queued, and disconnect when the connection ends.
func (h *Hub) connect(ctx context.Context, transport string, shipmentIDs []string) (*liveClient, error) {
	c := &liveClient{hub: h, transport: transport, send: make(chan liveMessage, h.cfg.QueueSize),
		cursors: map[string]string{}, shown: map[string]shownState{}, done: make(chan struct{})}
	for _, id := range shipmentIDs {
		if _, err := h.acquire(ctx, id); err != nil {
			c.releaseWatches()
			return nil, err
		}
		c.watches = append(c.watches, id)
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		c.releaseWatches()
		return nil, errHubClosed
	}
	h.clients[c] = struct{}{}
	h.mu.Unlock()
	h.metrics.connections.WithLabelValues(transport).Inc()
	return c, nil
}

// attach replays each shipment's events after the client's cursor, then
// adds the client to the shipment's fan-out: under the watch's lock, so no
// event falls between the replay and the live messages.
//
// A resuming client (resumed: it got no snapshot) is also sent the state of
// each shipment with nothing new since its cursor: its state may have moved
// without an event (a delay) while the client was away.
func (c *liveClient) attach(ctx context.Context, cursors map[string]string, resumed bool) error {
	h := c.hub
	for _, id := range c.watches {
		h.mu.Lock()
		w := h.watches[id]
		h.mu.Unlock()
		if w == nil {
			return errHubClosed
		}
		w.mu.Lock()
		c.mu.Lock()
		c.cursors[id] = cursors[id]
		c.mu.Unlock()
		msgs, _, err := h.messagesAfter(ctx, id, cursors[id])
		if err == nil {
			for _, m := range msgs {
				c.deliver(id, m)
			}
			if resumed && len(msgs) == 0 {
				if st, b, ok := h.state(ctx, id); ok {
					c.deliverState(id, st, b)
				}
			}
			w.clients[c] = struct{}{}
		}
		w.mu.Unlock()
		if err != nil {
			return err
		}
	}
	return nil
}

// deliver queues m unless the client has it already; a full queue
// disconnects the client.
func (c *liveClient) deliver(shipmentID string, m liveMessage) {
	c.mu.Lock()
	if tracking.CompareCursors(m.cursor, c.cursors[shipmentID]) <= 0 {
		c.mu.Unlock()
		return
	}
	c.cursors[shipmentID] = m.cursor
	if m.state != nil {
		c.shown[shipmentID] = *m.state
	}
	c.mu.Unlock()
	c.push(m)
}

// deliverState queues a state message unless the client's last message
// about the shipment showed the same. A client that has had no message
// about it since it connected gets it anyway: its page may predate it.
func (c *liveClient) deliverState(shipmentID string, st shownState, data []byte) {
	c.mu.Lock()
	if prev, ok := c.shown[shipmentID]; ok && prev == st {
		c.mu.Unlock()
		return
	}
	c.shown[shipmentID] = st
	c.mu.Unlock()
	c.push(liveMessage{data: data})
}

// push queues m; a full queue disconnects the client.
func (c *liveClient) push(m liveMessage) {
	select {
	case c.send <- m:
		c.hub.metrics.messages.Inc()
	default:
		c.hub.metrics.slow.Inc()
		c.close(closeTryAgainLater, "client too slow")
	}
}

// queue puts a message (the snapshot) in front of the fan-out.
func (c *liveClient) queue(data []byte) {
	select {
	case c.send <- liveMessage{data: data}:
	default:
		c.close(closeTryAgainLater, "client too slow")
	}
}

func (c *liveClient) close(code int, reason string) {
	c.closeOnce.Do(func() {
		c.code, c.reason = code, reason
		close(c.done)
	})
}

// disconnect removes the client from the hub.
func (c *liveClient) disconnect() {
	c.close(closeGoingAway, "")
	h := c.hub
	for _, id := range c.watches {
		h.mu.Lock()
		w := h.watches[id]
		h.mu.Unlock()
		if w != nil {
			w.mu.Lock()
			delete(w.clients, c)
			w.mu.Unlock()
		}
	}
	c.releaseWatches()
	h.mu.Lock()
	_, known := h.clients[c]
	delete(h.clients, c)
	h.mu.Unlock()
	if known {
		h.metrics.connections.WithLabelValues(c.transport).Dec()
	}
}

func (c *liveClient) releaseWatches() {
	for _, id := range c.watches {
		c.hub.release(id)
	}
	c.watches = nil
}
