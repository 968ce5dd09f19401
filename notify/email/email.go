// Package email delivers notification emails over SMTP with go-mail.
//
// A Sender keeps a small pool of open SMTP connections and sends each
// message on one of them: a dial costs TCP, TLS, EHLO and AUTH round
// trips, a message on an open connection four (MAIL, RCPT, DATA, the
// reply to the data). A connection the server has closed in the meantime
// shows at MAIL, before anything of the message was accepted, and the
// message goes again once on a new connection; a failure after the data
// was sent is returned as it is, since retrying could deliver it twice.
package email

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"
)

// Sender sends emails over a pool of SMTP connections. It is safe for
// concurrent use; at most Config.PoolSize messages are in flight at once
// and the others wait for a connection.
type Sender struct {
	ep endpoint
	// slots holds the pool's connections while they are free; a Send
	// takes one and puts it back.
	slots     chan *conn
	done      chan struct{}
	closeOnce sync.Once
	// clock dates messages; nil is time.Now.
	clock func() time.Time
}

// New returns a Sender for cfg. It does not connect: the first Sends
// open the connections, so a server that is down at startup delays mail
// rather than trackd.
func New(cfg Config) (*Sender, error) {
	ep, err := cfg.parse()
	if err != nil {
		return nil, err
	}
	s := &Sender{ep: ep, slots: make(chan *conn, ep.poolSize), done: make(chan struct{})}
	for range ep.poolSize {
		c, err := newConn(&s.ep)
		if err != nil {
			return nil, err
		}
		s.slots <- c
	}
	return s, nil
}

// Send sends m and returns its Message-ID (without angle brackets), the
// provider id to record. The id is returned with an error too, once the
// message was built, so that a send that failed after its data went out
// can still be traced. Permanent tells whether an error is worth a retry.
// ctx bounds the wait for a free connection and the send itself.
func (s *Sender) Send(ctx context.Context, m Message) (string, error) {
	msg, id, err := s.build(m)
	if err != nil {
		return "", err
	}
	c, err := s.acquire(ctx)
	if err != nil {
		return id, &Error{Op: "send", Err: err}
	}
	defer func() { s.slots <- c }()
	return id, c.send(ctx, msg)
}

// Close waits for the Sends in flight, then says QUIT on every open
// connection. Sends after Close fail with ErrClosed.
func (s *Sender) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		for range s.ep.poolSize {
			c := <-s.slots
			c.quit()
		}
	})
	return nil
}

func (s *Sender) acquire(ctx context.Context) (*conn, error) {
	select {
	case <-s.done:
		return nil, ErrClosed
	default:
	}
	select {
	case c := <-s.slots:
		return c, nil
	case <-s.done:
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for a connection: %w", ctx.Err())
	}
}

// conn is one slot of the pool: a go-mail client of its own (its AUTH
// state belongs to one connection at a time) and, while connected, the
// SMTP session.
type conn struct {
	ep *endpoint
	mc *gomail.Client
	sc *smtp.Client
	// guard interrupts sc's network connection when a Send's context
	// ends; dialing is the guard of a dial in progress.
	guard, dialing *guard
	lastUsed       time.Time
}

func newConn(ep *endpoint) (*conn, error) {
	c := &conn{ep: ep}
	opts := []gomail.Option{
		gomail.WithPort(ep.port),
		gomail.WithTimeout(ep.timeout),
		gomail.WithTLSConfig(ep.tlsConfig),
		gomail.WithDialContextFunc(c.dialNet),
		// NOOP before each message and RSET after it would each cost a
		// round trip: a dead connection shows at MAIL just as well, and a
		// completed DATA ends the transaction (RFC 5321 4.1.1.4).
		gomail.WithoutNoop(),
		gomail.WithoutRset(),
	}
	switch {
	case ep.implicitTLS:
		opts = append(opts, gomail.WithSSL())
	case ep.requireTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	}
	if ep.helloName != "" {
		opts = append(opts, gomail.WithHELO(ep.helloName))
	}
	if ep.auth {
		opts = append(opts, gomail.WithSMTPAuthCustom(&auth{user: ep.user, pass: ep.pass, plainOK: ep.loopback() || ep.allowInsecureAuth}))
	}
	mc, err := gomail.NewClient(ep.host, opts...)
	if err != nil {
		return nil, fmt.Errorf("smtp client: %w", err)
	}
	c.mc = mc
	return c, nil
}

// dialNet opens the network connection for go-mail. It dials itself,
// rather than leave it to go-mail, to put the guard under the connection
// (and TLS, for smtps://, over it) and to join host and port properly
// for IPv6.
func (c *conn) dialNet(ctx context.Context, network, _ string) (net.Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, network, net.JoinHostPort(c.ep.host, strconv.Itoa(c.ep.port)))
	if err != nil {
		return nil, err
	}
	gc := c.dialing.attach(nc)
	if !c.ep.implicitTLS {
		return gc, nil
	}
	tc := tls.Client(gc, c.ep.tlsConfig)
	if err := tc.HandshakeContext(ctx); err != nil {
		nc.Close()
		return nil, fmt.Errorf("tls: %w", err)
	}
	return tc, nil
}

// dial connects: TCP, TLS, EHLO and AUTH.
func (c *conn) dial(ctx context.Context) error {
	g := &guard{}
	c.dialing = g
	stop := context.AfterFunc(ctx, g.abort)
	sc, err := c.mc.DialToSMTPClientWithContext(ctx)
	interrupted := !stop()
	c.dialing = nil
	if err != nil {
		// go-mail leaves the connection open when EHLO, STARTTLS or AUTH
		// fails.
		g.close()
		if interrupted {
			err = fmt.Errorf("%w: %w", ctx.Err(), err)
		}
		return dialError(err)
	}
	if interrupted {
		sc.Close()
		return dialError(ctx.Err())
	}
	c.sc, c.guard = sc, g
	return nil
}

// send sends msg, on the open connection if there is one. A reused
// connection that turns out dead before the message was accepted is
// replaced, and the message sent again, once.
func (c *conn) send(ctx context.Context, msg *gomail.Msg) error {
	if c.sc != nil && time.Since(c.lastUsed) > c.ep.idleTimeout {
		c.discard()
	}
	reused := c.sc != nil
	for {
		if c.sc == nil {
			if err := c.dial(ctx); err != nil {
				return err
			}
		}
		stop := context.AfterFunc(ctx, c.guard.abort)
		err := c.mc.SendWithSMTPClient(c.sc, msg)
		interrupted := !stop()
		if err == nil {
			if interrupted {
				c.discard()
			}
			c.lastUsed = time.Now()
			return nil
		}
		e := classify(err)
		keep, retry := outcome(err)
		if interrupted {
			keep, retry = false, false
			if e.Code == 0 {
				e.Err = fmt.Errorf("%w: %w", ctx.Err(), err)
			}
		}
		if keep {
			c.lastUsed = time.Now()
		} else {
			c.discard()
		}
		if !retry || !reused {
			return e
		}
		reused = false
	}
}

// outcome reads a failed send: whether the connection can carry the next
// message, and whether the message can go again on a new connection
// without risk of delivering it twice.
func outcome(err error) (keep, retry bool) {
	var se *gomail.SendError
	if !errors.As(err, &se) {
		return false, false
	}
	code := se.ErrorCode()
	switch se.Reason {
	case gomail.ErrSMTPMailFrom:
		// MAIL is the first command on a reused connection: no reply (the
		// server hung up) or 421 (it is closing) means it died idle.
		return code != 0 && code != 421, code == 0 || code == 421
	case gomail.ErrSMTPRcptTo:
		// go-mail answers a refused RCPT with RSET: the session goes on.
		return code != 0 && code != 421, code == 421
	case gomail.ErrSMTPData:
		return false, code == 421
	case gomail.ErrSMTPDataClose:
		// The data went out: without a reply, it may have been accepted.
		return code != 0 && code != 421, false
	case gomail.ErrConnCheck:
		return false, true
	default:
		return false, false
	}
}

func (c *conn) discard() {
	if c.sc != nil {
		c.sc.Close()
	}
	c.sc, c.guard = nil, nil
}

// quit ends the session politely, within a short deadline: Close should
// not wait long on a server that stopped answering.
func (c *conn) quit() {
	if c.sc == nil {
		return
	}
	if err := c.sc.UpdateDeadline(min(c.ep.timeout, 5*time.Second)); err == nil {
		if err := c.sc.Quit(); err == nil {
			c.sc, c.guard = nil, nil
			return
		}
	}
	c.discard()
}

// guard lets a context interrupt a connection's I/O. go-mail takes a
// context only to dial; after that it sets deadlines, which the guard
// turns into the past once the context ends.
type guard struct {
	mu          sync.Mutex
	nc          net.Conn
	interrupted bool
}

// past is a deadline that has passed: I/O with it fails at once.
var past = time.Unix(1, 0)

// attach puts the guard on nc and returns the connection to use.
func (g *guard) attach(nc net.Conn) net.Conn {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.nc = nc
	if g.interrupted {
		nc.SetDeadline(past)
	}
	return &guardedConn{Conn: nc, g: g}
}

func (g *guard) abort() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.interrupted = true
	if g.nc != nil {
		g.nc.SetDeadline(past)
	}
}

func (g *guard) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.nc != nil {
		g.nc.Close()
	}
}

// guardedConn keeps an interrupted connection's deadlines in the past.
type guardedConn struct {
	net.Conn
	g *guard
}

func (c *guardedConn) SetDeadline(t time.Time) error {
	return c.set(c.Conn.SetDeadline, t)
}

func (c *guardedConn) SetReadDeadline(t time.Time) error {
	return c.set(c.Conn.SetReadDeadline, t)
}

func (c *guardedConn) SetWriteDeadline(t time.Time) error {
	return c.set(c.Conn.SetWriteDeadline, t)
}

func (c *guardedConn) set(f func(time.Time) error, t time.Time) error {
	c.g.mu.Lock()
	defer c.g.mu.Unlock()
	if c.g.interrupted {
		t = past
	}
	return f(t)
}
