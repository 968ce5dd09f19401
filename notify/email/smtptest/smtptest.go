// Package smtptest runs an SMTP server in the test's process
// (github.com/emersion/go-smtp on 127.0.0.1) that records every message,
// for the tests of whatever sends email: it can offer STARTTLS or speak
// implicit TLS with a certificate made at start, require AUTH PLAIN,
// refuse or stall given recipients, and drop its connections on demand.
package smtptest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Options choose how the server behaves. The zero value is a plain SMTP
// server that accepts everything without AUTH.
type Options struct {
	// StartTLS offers STARTTLS.
	StartTLS bool
	// ImplicitTLS speaks TLS from the first byte (smtps://).
	ImplicitTLS bool
	// Username and Password, when Username is set, make AUTH PLAIN
	// required before MAIL. AUTH is offered only over TLS when the
	// server has TLS, and over plain SMTP otherwise.
	Username, Password string
	// IdleTimeout, when set, has the server answer 421 and hang up on a
	// connection idle that long, as real servers do.
	IdleTimeout time.Duration
	// DiscardData keeps envelopes but not message data: for benchmarks,
	// whose message count has no bound.
	DiscardData bool
}

// Message is one message the server accepted.
type Message struct {
	// From and To are the envelope (MAIL FROM and RCPT TO).
	From string
	To   []string
	// Data is the message as received (headers and body, CRLF lines).
	Data []byte
	// TLS says the connection was encrypted (STARTTLS or implicit).
	TLS bool
	// User is who logged in with AUTH, "" without.
	User string
	// Conn numbers the connection that carried the message, from 1 in
	// the order they were accepted.
	Conn int
}

// Server is a running SMTP server.
type Server struct {
	opts Options
	srv  *smtp.Server
	ln   net.Listener
	pool *x509.CertPool
	// closing releases stalled recipients.
	closing   chan struct{}
	closeOnce sync.Once

	mu       sync.Mutex
	messages []Message
	count    int
	replies  map[string]*smtp.SMTPError
	// dataReplies answer DATA for messages to these recipients.
	dataReplies map[string]*smtp.SMTPError
	stalls      map[string]bool
	accepted    int
	stalled     int
	open        map[*trackedConn]bool
	// changed is closed and replaced whenever something waiters wait for
	// happens (a message, a connection closing).
	changed chan struct{}
}

// Start starts a server for t and stops it when t ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// New starts a server; Close stops it.
func New(opts Options) (*Server, error) {
	s := &Server{
		opts:        opts,
		closing:     make(chan struct{}),
		replies:     map[string]*smtp.SMTPError{},
		dataReplies: map[string]*smtp.SMTPError{},
		stalls:      map[string]bool{},
		open:        map[*trackedConn]bool{},
		changed:     make(chan struct{}),
	}
	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.Domain = "localhost"
	srv.ErrorLog = log.New(io.Discard, "", 0)
	srv.ReadTimeout = opts.IdleTimeout
	var tlsConfig *tls.Config
	if opts.StartTLS || opts.ImplicitTLS {
		cert, pool, err := selfSigned()
		if err != nil {
			return nil, err
		}
		s.pool = pool
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	if opts.StartTLS {
		srv.TLSConfig = tlsConfig
	}
	// A real server takes a password only over TLS; without TLS the
	// tests of AUTH itself would have nothing to talk to.
	srv.AllowInsecureAuth = tlsConfig == nil
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("smtptest: listen: %w", err)
	}
	s.ln = &trackingListener{Listener: ln, s: s}
	if opts.ImplicitTLS {
		s.ln = tls.NewListener(s.ln, tlsConfig)
	}
	s.srv = srv
	go srv.Serve(s.ln)
	return s, nil
}

// Close stops the server and hangs up on every client.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.closing)
		// The server closes the listeners it serves, but Serve runs on
		// its own goroutine and may not have registered this one yet.
		s.ln.Close()
		s.srv.Close()
	})
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL is an SMTP_URL for the server: smtps:// for implicit TLS, smtp://
// otherwise, with the credentials when AUTH is required.
func (s *Server) URL() string {
	u := url.URL{Scheme: "smtp", Host: s.Addr()}
	if s.opts.ImplicitTLS {
		u.Scheme = "smtps"
	}
	if s.opts.Username != "" {
		u.User = url.UserPassword(s.opts.Username, s.opts.Password)
	}
	return u.String()
}

// TLSConfig is a client configuration that trusts the server's
// certificate, nil when the server has no TLS.
func (s *Server) TLSConfig() *tls.Config {
	if s.pool == nil {
		return nil
	}
	return &tls.Config{RootCAs: s.pool, MinVersion: tls.VersionTLS12}
}

// Reply makes the server answer RCPT TO for rcpt with code and text (451
// for a temporary failure, 550 for a mailbox that does not exist).
func (s *Server) Reply(rcpt string, code int, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.replies[strings.ToLower(rcpt)] = &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCodeNotSet, Message: text}
}

// ReplyData makes the server accept RCPT TO for rcpt but answer the
// message's data with code and text (554 for content refused as spam,
// 452 for a full mailbox).
func (s *Server) ReplyData(rcpt string, code int, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dataReplies[strings.ToLower(rcpt)] = &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCodeNotSet, Message: text}
}

// Stall makes the server never answer RCPT TO for rcpt, until it closes:
// for client timeouts.
func (s *Server) Stall(rcpt string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stalls[strings.ToLower(rcpt)] = true
}

// Messages returns the messages accepted so far, in order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Count is how many messages were accepted, DiscardData or not.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count
}

// Connections is how many connections the server accepted.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted
}

// Open is how many connections are open now.
func (s *Server) Open() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.open)
}

// DropConnections hangs up on every open connection without a word, as a
// server that restarts or a middlebox that forgets does.
func (s *Server) DropConnections() {
	s.mu.Lock()
	conns := make([]*trackedConn, 0, len(s.open))
	for c := range s.open {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

// Wait waits until at least n messages arrived and returns them; it fails
// t after ten seconds.
func (s *Server) Wait(t testing.TB, n int) []Message {
	t.Helper()
	s.waitFor(t, fmt.Sprintf("%d messages", n), func() bool { return s.count >= n })
	return s.Messages()
}

// WaitOpen waits until at most n connections are open; it fails t after
// ten seconds.
func (s *Server) WaitOpen(t testing.TB, n int) {
	t.Helper()
	s.waitFor(t, fmt.Sprintf("at most %d open connections", n), func() bool { return len(s.open) <= n })
}

// WaitStalled waits until n RCPT TO commands for stalled recipients
// arrived (and are held); it fails t after ten seconds.
func (s *Server) WaitStalled(t testing.TB, n int) {
	t.Helper()
	s.waitFor(t, fmt.Sprintf("%d stalled recipients", n), func() bool { return s.stalled >= n })
}

// waitFor waits for cond, which runs with s.mu held.
func (s *Server) waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	for {
		s.mu.Lock()
		ok, changed := cond(), s.changed
		s.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-changed:
		case <-timeout.C:
			t.Fatalf("smtptest: waited 10s for %s", what)
		}
	}
}

// notify wakes the waiters; s.mu must be held.
func (s *Server) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	nc := c.Conn()
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	sess := &session{s: s, c: c}
	if tc, ok := nc.(*trackedConn); ok {
		sess.conn = tc.n
	}
	return sess, nil
}

// session is one SMTP session; STARTTLS starts a new one on the same
// connection.
type session struct {
	s    *Server
	c    *smtp.Conn
	conn int
	user string
	from string
	to   []string
}

var errAuthRequired = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}

func (x *session) AuthMechanisms() []string {
	if x.s.opts.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (x *session) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain || x.s.opts.Username == "" {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if identity != "" && identity != user {
			return errors.New("identity differs from user name")
		}
		if user != x.s.opts.Username || pass != x.s.opts.Password {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication credentials invalid"}
		}
		x.user = user
		return nil
	}), nil
}

func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	if x.s.opts.Username != "" && x.user == "" {
		return errAuthRequired
	}
	x.from = from
	return nil
}

func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.s.mu.Lock()
	reply, stall := x.s.replies[strings.ToLower(to)], x.s.stalls[strings.ToLower(to)]
	x.s.mu.Unlock()
	if stall {
		x.s.mu.Lock()
		x.s.stalled++
		x.s.notify()
		x.s.mu.Unlock()
		<-x.s.closing
		return &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Shutting down"}
	}
	if reply != nil {
		return reply
	}
	x.to = append(x.to, to)
	return nil
}

func (x *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	x.s.mu.Lock()
	for _, to := range x.to {
		if reply := x.s.dataReplies[strings.ToLower(to)]; reply != nil {
			x.s.mu.Unlock()
			return reply
		}
	}
	x.s.mu.Unlock()
	_, isTLS := x.c.TLSConnectionState()
	m := Message{From: x.from, To: x.to, TLS: isTLS, User: x.user, Conn: x.conn}
	if !x.s.opts.DiscardData {
		m.Data = data
	}
	x.s.mu.Lock()
	defer x.s.mu.Unlock()
	x.s.count++
	if !x.s.opts.DiscardData {
		x.s.messages = append(x.s.messages, m)
	}
	x.s.notify()
	return nil
}

func (x *session) Reset() { x.from, x.to = "", nil }

func (x *session) Logout() error { return nil }

// trackingListener counts and tracks the connections it accepts.
type trackingListener struct {
	net.Listener
	s *Server
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	l.s.accepted++
	tc := &trackedConn{Conn: c, s: l.s, n: l.s.accepted}
	l.s.open[tc] = true
	return tc, nil
}

type trackedConn struct {
	net.Conn
	s    *Server
	n    int
	once sync.Once
}

func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.s.mu.Lock()
		defer c.s.mu.Unlock()
		delete(c.s.open, c)
		c.s.notify()
	})
	return err
}

// selfSigned makes a certificate for 127.0.0.1, ::1 and localhost, and a
// pool that trusts it.
func selfSigned() (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("smtptest: key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "smtptest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("smtptest: certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("smtptest: certificate: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool, nil
}
