package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fasthttp/websocket"
)

// The parent and its workers speak JSON lines. Parent to worker, on the
// worker's stdin: one "start" (the spec), later one "stop"; the end of
// stdin also means stop, so workers never outlive their parent. Worker to
// parent, on its stdout: one "connected" once every client has its snapshot
// or has failed, "progress" with the running delivered count while events
// flow, and one "result" after the stop, or "error" if it cannot run.
const fanoutWorkerArg = "fanout-worker"

type workerMsg struct {
	Type      string        `json:"type"`
	Spec      *workerSpec   `json:"spec,omitempty"`
	Result    *workerResult `json:"result,omitempty"`
	Delivered int64         `json:"delivered,omitempty"`
	Error     string        `json:"error,omitempty"`
}

const (
	msgStart     = "start"
	msgStop      = "stop"
	msgConnected = "connected"
	msgProgress  = "progress"
	msgResult    = "result"
	msgError     = "error"
)

// workerSpec is everything a worker needs: which clients are its own and
// what they watch.
type workerSpec struct {
	Worker             int           `json:"worker"`
	Procs              int           `json:"procs"`
	Run                string        `json:"run"`
	Clients            int           `json:"clients"` // in total, over all workers
	Nodes              []string      `json:"nodes"`
	Origin             string        `json:"origin,omitempty"`
	Orders             []fanoutOrder `json:"orders"`
	ConnectConcurrency int           `json:"connect_concurrency"` // this worker's share
	ConnectTimeout     time.Duration `json:"connect_timeout"`
	ProgressEvery      time.Duration `json:"progress_every"`
}

// fanoutOrder is one registered order: its page's token and its shipment.
type fanoutOrder struct {
	Token          string `json:"token"`
	ShipmentID     string `json:"shipment_id"`
	TrackingNumber string `json:"tracking_number"`
}

func (s workerSpec) validate() error {
	switch {
	case s.Procs < 1 || s.Worker < 0 || s.Worker >= s.Procs:
		return fmt.Errorf("worker %d of %d", s.Worker, s.Procs)
	case s.Clients < s.Procs:
		return fmt.Errorf("%d clients for %d workers", s.Clients, s.Procs)
	case len(s.Nodes) == 0:
		return errors.New("no nodes")
	case len(s.Orders) == 0:
		return errors.New("no orders")
	case s.ConnectConcurrency < 1:
		return fmt.Errorf("connect concurrency %d", s.ConnectConcurrency)
	case s.ConnectTimeout <= 0 || s.ProgressEvery <= 0:
		return errors.New("connect timeout and progress interval must be positive")
	}
	return nil
}

// fanoutWorkerMain is a worker process: the spec on stdin, results on
// stdout, its own complaints on stderr.
func fanoutWorkerMain(stdin io.Reader, stdout, stderr io.Writer) int {
	// Ctrl-C reaches the whole process group; the parent decides when the
	// workers stop (it still wants their results), and a parent that dies
	// closes their stdin.
	signal.Ignore(os.Interrupt)
	if _, err := raiseFileLimit(); err != nil {
		fmt.Fprintf(stderr, "loadgen: %s: %v\n", fanoutWorkerArg, err)
	}
	if err := runFanoutWorker(stdin, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "loadgen: %s: %v\n", fanoutWorkerArg, err)
		return exitFailed
	}
	return exitOK
}

// runFanoutWorker is the worker: in-process (over pipes) or in its own
// process, the same code.
func runFanoutWorker(in io.Reader, out io.Writer, logw io.Writer) error {
	dec := json.NewDecoder(in)
	w := &msgWriter{enc: json.NewEncoder(out)}
	var start workerMsg
	if err := dec.Decode(&start); err != nil {
		return fmt.Errorf("read the start message: %w", err)
	}
	if start.Type != msgStart || start.Spec == nil {
		err := fmt.Errorf("first message is %q, want %q with a spec", start.Type, msgStart)
		w.send(workerMsg{Type: msgError, Error: err.Error()})
		return err
	}
	spec := *start.Spec
	if err := spec.validate(); err != nil {
		err = fmt.Errorf("bad spec: %w", err)
		w.send(workerMsg{Type: msgError, Error: err.Error()})
		return err
	}

	// Anything after the start (a stop, or the end of stdin) ends the run.
	stopCtx, stop := context.WithCancel(context.Background())
	defer stop()
	go func() {
		defer stop()
		var m workerMsg
		for dec.Decode(&m) == nil && m.Type != msgStop {
		}
	}()

	pool := newClientPool(spec)
	lo, hi := workerShare(spec.Worker, spec.Procs, spec.Clients)
	fmt.Fprintf(logw, "loadgen: worker %d: connecting clients %d..%d\n", spec.Worker, lo, hi-1)
	pool.connectAll(stopCtx, lo, hi)
	connected := pool.connectResult()
	if err := w.send(workerMsg{Type: msgConnected, Result: &connected}); err != nil {
		pool.closeAll()
		return fmt.Errorf("report connected: %w", err)
	}

	ticker := time.NewTicker(spec.ProgressEvery)
	last := int64(-1)
	for running := true; running; {
		select {
		case <-stopCtx.Done():
			running = false
		case <-ticker.C:
			if n := pool.delivered.Load(); n != last {
				last = n
				if err := w.send(workerMsg{Type: msgProgress, Delivered: n}); err != nil {
					running = false // the parent is gone
				}
			}
		}
	}
	ticker.Stop()
	pool.closeAll()
	res := pool.result()
	if err := w.send(workerMsg{Type: msgResult, Result: &res}); err != nil {
		return fmt.Errorf("report the result: %w", err)
	}
	return nil
}

// msgWriter serializes messages from the worker's goroutines.
type msgWriter struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func (w *msgWriter) send(m workerMsg) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.enc.Encode(m)
}

// ---- the clients ----

// clientPool holds one worker's WebSocket clients.
type clientPool struct {
	spec   workerSpec
	plan   fanoutPlan
	prefix string
	dialer *websocket.Dialer

	connectHist atomicHistogram
	latencyHist atomicHistogram
	delivered   atomic.Int64
	duplicates  atomic.Int64
	misrouted   atomic.Int64
	other       atomic.Int64

	connecting sync.WaitGroup // clients still dialing or awaiting their snapshot
	reading    sync.WaitGroup // clients reading events

	mu                sync.Mutex
	stopping          bool
	conns             []*websocket.Conn
	clients           int
	connected         int
	connectSeconds    float64
	perOrder, perNode []int
	connectErrors     map[string]int64
	firstConnectError string
	dropped           int
	dropErrors        map[string]int64
	firstDropError    string
}

func newClientPool(spec workerSpec) *clientPool {
	return &clientPool{
		spec:   spec,
		plan:   fanoutPlan{nodes: len(spec.Nodes), orders: len(spec.Orders)},
		prefix: eventIDPrefix(spec.Run),
		dialer: &websocket.Dialer{
			NetDialContext:   (&net.Dialer{Timeout: spec.ConnectTimeout}).DialContext,
			Proxy:            nil, // a load generator talks to its targets directly
			HandshakeTimeout: spec.ConnectTimeout,
			// Small buffers: thousands of clients, small messages; a message
			// larger than the buffer is still read whole. Clients never
			// write but the close, so their write buffers are pooled.
			ReadBufferSize:  2048,
			WriteBufferSize: 512,
			WriteBufferPool: &sync.Pool{},
		},
		perOrder:      make([]int, len(spec.Orders)),
		perNode:       make([]int, len(spec.Nodes)),
		connectErrors: map[string]int64{},
		dropErrors:    map[string]int64{},
	}
}

// connectAll connects clients lo..hi-1, at most ConnectConcurrency at a
// time, and returns when each has its snapshot or has failed.
func (p *clientPool) connectAll(ctx context.Context, lo, hi int) {
	started := time.Now()
	sem := make(chan struct{}, p.spec.ConnectConcurrency)
	p.clients = hi - lo
dial:
	for c := lo; c < hi; c++ {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			p.mu.Lock()
			p.connectErrors[connectErrorKind(ctx.Err())] += int64(hi - c)
			p.mu.Unlock()
			break dial
		}
		p.connecting.Add(1)
		go p.runClient(ctx, c, sem)
	}
	p.connecting.Wait()
	p.mu.Lock()
	p.connectSeconds = time.Since(started).Seconds()
	p.mu.Unlock()
}

// runClient is one client's life: connect (holding a dial slot), then read
// until the stop.
func (p *clientPool) runClient(ctx context.Context, c int, sem chan struct{}) {
	node, order := p.plan.place(int64(c))
	conn, err := p.connect(ctx, node, order)
	<-sem
	if err != nil {
		p.connectFailed(err)
		p.connecting.Done()
		return
	}
	p.mu.Lock()
	if p.stopping {
		p.mu.Unlock()
		conn.Close()
		p.connecting.Done()
		return
	}
	p.conns = append(p.conns, conn)
	p.connected++
	p.perOrder[order]++
	p.perNode[node]++
	p.reading.Add(1)
	p.mu.Unlock()
	p.connecting.Done()
	defer p.reading.Done()
	p.read(conn, order)
}

// errNotSnapshot is a first message other than the snapshot.
var errNotSnapshot = errors.New("first message is not a snapshot")

// connect dials the order's page on the node and reads the snapshot.
func (p *clientPool) connect(ctx context.Context, node, order int) (*websocket.Conn, error) {
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	start := time.Now()
	deadline := start.Add(p.spec.ConnectTimeout)
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	base := p.spec.Nodes[node]
	wsURL, err := webSocketURL(base, p.spec.Orders[order].Token)
	if err != nil {
		return nil, err
	}
	origin := p.spec.Origin
	if origin == "" {
		origin = base
	}
	conn, resp, err := p.dialer.DialContext(ctx, wsURL, http.Header{"Origin": {origin}})
	if err != nil {
		if resp != nil {
			return nil, &handshakeError{status: resp.StatusCode, origin: origin}
		}
		return nil, fmt.Errorf("dial %s: %w", wsURL, err)
	}
	conn.SetReadDeadline(deadline)
	_, b, err := conn.ReadMessage()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("read the snapshot: %w", err)
	}
	var first struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(b, &first) != nil || first.Type != "snapshot" {
		conn.Close()
		return nil, fmt.Errorf("%w: %.100s", errNotSnapshot, b)
	}
	conn.SetReadDeadline(time.Time{})
	p.connectHist.add(time.Since(start))
	return conn, nil
}

// webSocketURL is ws(s)://<node>/t/<token>/ws.
func webSocketURL(base, token string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("node %q: %w", base, err)
	}
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	default:
		return "", fmt.Errorf("node %q: want http or https", base)
	}
	return u.JoinPath("t", token, "ws").String(), nil
}

type handshakeError struct {
	status int
	origin string
}

func (e *handshakeError) Error() string {
	msg := "handshake refused: status " + strconv.Itoa(e.status)
	if e.status == http.StatusForbidden {
		msg += fmt.Sprintf(" (is TRACKD_PUBLIC_URL %s? trackd accepts only that Origin; see -origin)", e.origin)
	}
	return msg
}

// connectErrorKind names a connect failure coarsely enough to count.
func connectErrorKind(err error) string {
	var he *handshakeError
	switch {
	case errors.As(err, &he):
		return "handshake: status " + strconv.Itoa(he.status)
	case errors.Is(err, errNotSnapshot):
		return "first message not a snapshot"
	case errors.Is(err, context.Canceled):
		return "stopped"
	}
	return classifyError(err)
}

func (p *clientPool) connectFailed(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.connectErrors[connectErrorKind(err)]++
	if p.firstConnectError == "" {
		p.firstConnectError = err.Error()
	}
}

// liveFrame is the part of a live message a client looks at.
type liveFrame struct {
	Type       string `json:"type"`
	ShipmentID string `json:"shipment_id"`
	Event      struct {
		ID string `json:"id"`
	} `json:"event"`
}

// read counts the events of the client's order until the socket ends.
func (p *clientPool) read(conn *websocket.Conn, order int) {
	var seen bitset
	shipment := p.spec.Orders[order].ShipmentID
	for {
		_, b, err := conn.ReadMessage()
		if err != nil {
			p.ended(err)
			return
		}
		p.handle(b, time.Now(), order, shipment, &seen)
	}
}

func (p *clientPool) handle(b []byte, recv time.Time, order int, shipment string, seen *bitset) {
	var f liveFrame
	if json.Unmarshal(b, &f) != nil || f.Type != "event" {
		p.other.Add(1)
		return
	}
	seq, sent, ok := parseEventID(f.Event.ID, p.prefix)
	if !ok {
		p.other.Add(1) // an event this run did not send
		return
	}
	if _, o := p.plan.place(seq); o != order || f.ShipmentID != shipment {
		p.misrouted.Add(1)
		return
	}
	if seen.testAndSet(p.plan.eventIndex(seq)) {
		p.duplicates.Add(1)
		return
	}
	p.delivered.Add(1)
	p.latencyHist.add(recv.Sub(sent))
}

// ended records a socket's end: expected after the stop, a drop before.
func (p *clientPool) ended(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopping {
		return
	}
	p.dropped++
	kind := classifyError(err)
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		kind = "closed by the server: " + strconv.Itoa(ce.Code)
		if ce.Text != "" {
			kind += " " + ce.Text
		}
	}
	p.dropErrors[kind]++
	if p.firstDropError == "" {
		p.firstDropError = err.Error()
	}
}

// closeAll ends every client and waits for their readers.
func (p *clientPool) closeAll() {
	p.mu.Lock()
	p.stopping = true
	conns := p.conns
	p.conns = nil
	p.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
	p.reading.Wait()
}

func (p *clientPool) connectResult() workerResult {
	p.mu.Lock()
	defer p.mu.Unlock()
	failed := 0
	for _, n := range p.connectErrors {
		failed += int(n)
	}
	return workerResult{
		Worker: p.spec.Worker, Clients: p.clients,
		Connected: p.connected, ConnectFailed: failed,
		ConnectErrors: copyMap(p.connectErrors), FirstConnectError: p.firstConnectError,
		ConnectTime: p.connectHist.snapshot(), ConnectSeconds: p.connectSeconds,
		PerOrder: append([]int(nil), p.perOrder...), PerNode: append([]int(nil), p.perNode...),
	}
}

func (p *clientPool) result() workerResult {
	r := p.connectResult()
	r.Delivered = p.delivered.Load()
	r.Duplicates = p.duplicates.Load()
	r.Misrouted = p.misrouted.Load()
	r.Other = p.other.Load()
	r.Latency = p.latencyHist.snapshot()
	p.mu.Lock()
	r.Dropped, r.DropErrors, r.FirstDropError = p.dropped, copyMap(p.dropErrors), p.firstDropError
	p.mu.Unlock()
	return r
}

func copyMap(m map[string]int64) map[string]int64 {
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// ---- the parent's end of a worker ----

// workerProc is a running worker: its stdin, its stdout, and how to wait
// for it and to end it.
type workerProc struct {
	in   io.WriteCloser
	out  io.Reader
	wait func() error
	kill func()
}

// startWorkerProcess re-executes this program (or cfg.WorkerCommand) as a
// worker.
func startWorkerProcess(cfg config) (*workerProc, error) {
	argv := cfg.WorkerCommand
	if len(argv) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("find this executable to start workers: %w", err)
		}
		argv = []string{exe, fanoutWorkerArg}
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), cfg.WorkerEnv...)
	cmd.Stderr = cfg.Progress
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start worker %s: %w", argv[0], err)
	}
	return &workerProc{in: in, out: out, wait: cmd.Wait, kill: func() { cmd.Process.Kill() }}, nil
}

// startWorkerInProcess runs the worker as goroutines, over pipes: the same
// protocol without a process.
func startWorkerInProcess(cfg config) *workerProc {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := runFanoutWorker(inR, outW, cfg.Progress)
		inR.Close() // the parent's writes fail rather than block
		outW.Close()
		done <- err
	}()
	return &workerProc{in: inW, out: outR, wait: func() error { return <-done },
		kill: func() { inW.Close() }}
}

// workerHandle is the parent's view of one worker.
type workerHandle struct {
	index     int
	proc      *workerProc
	enc       *json.Encoder
	connected chan workerResult // the "connected" message, once
	done      chan struct{}     // closed when the worker's output ends
	delivered atomic.Int64      // its latest progress

	// set before done is closed
	result *workerResult
	err    error
}

func newWorkerHandle(index int, proc *workerProc) *workerHandle {
	h := &workerHandle{index: index, proc: proc, enc: json.NewEncoder(proc.in),
		connected: make(chan workerResult, 1), done: make(chan struct{})}
	go h.readOutput()
	return h
}

func (h *workerHandle) readOutput() {
	defer close(h.done)
	dec := json.NewDecoder(h.proc.out)
	for {
		var m workerMsg
		if err := dec.Decode(&m); err != nil {
			if h.result == nil && h.err == nil {
				h.err = fmt.Errorf("worker %d ended without a result (%v)", h.index, err)
			}
			io.Copy(io.Discard, h.proc.out) // let it exit
			return
		}
		switch m.Type {
		case msgConnected:
			if m.Result != nil {
				select {
				case h.connected <- *m.Result:
				default:
				}
			}
		case msgProgress:
			h.delivered.Store(m.Delivered)
		case msgResult:
			if m.Result != nil {
				h.result = m.Result
				h.delivered.Store(m.Result.Delivered)
			}
		case msgError:
			h.err = fmt.Errorf("worker %d: %s", h.index, m.Error)
		}
	}
}

func (h *workerHandle) send(m workerMsg) error {
	if err := h.enc.Encode(m); err != nil {
		return fmt.Errorf("write to worker %d: %w", h.index, err)
	}
	return nil
}

// stop asks the worker for its result and closes its stdin.
func (h *workerHandle) stop() {
	h.send(workerMsg{Type: msgStop})
	h.proc.in.Close()
}
