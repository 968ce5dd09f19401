package email

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trackd/trackd/notify/email/smtptest"
	"github.com/wneessen/go-mail/smtp"
)

// newSender returns a Sender for srv, closed when the test ends.
func newSender(t testing.TB, srv *smtptest.Server, mod func(*Config)) *Sender {
	t.Helper()
	cfg := Config{URL: srv.URL(), From: "Trackd Store <shop@example.com>", TLSConfig: srv.TLSConfig(), Timeout: 5 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// parsed is a received message taken apart as a mail client would.
type parsed struct {
	header      mail.Header
	contentType string
	// parts are the bodies by media type, decoded, in order.
	parts []part
}

type part struct {
	mediaType, charset, body string
}

func parse(t *testing.T, data []byte) parsed {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("read message: %v\n%s", err, data)
	}
	p := parsed{header: m.Header}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("content type: %v", err)
	}
	p.contentType = mt
	if !strings.HasPrefix(mt, "multipart/") {
		body, err := decodeBody(m.Header.Get("Content-Transfer-Encoding"), m.Body)
		if err != nil {
			t.Fatal(err)
		}
		// The final line break ends the message's last line, not the text.
		p.parts = []part{{mt, params["charset"], strings.TrimSuffix(body, "\r\n")}}
		return p
	}
	r := multipart.NewReader(m.Body, params["boundary"])
	for {
		mp, err := r.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("next part: %v", err)
		}
		pmt, pparams, err := mime.ParseMediaType(mp.Header.Get("Content-Type"))
		if err != nil {
			t.Fatalf("part content type: %v", err)
		}
		// multipart.Reader decodes quoted-printable itself.
		body, err := io.ReadAll(mp)
		if err != nil {
			t.Fatal(err)
		}
		p.parts = append(p.parts, part{pmt, pparams["charset"], string(body)})
	}
	return p
}

func decodeBody(cte string, r io.Reader) (string, error) {
	if strings.EqualFold(cte, "quoted-printable") {
		r = quotedprintable.NewReader(r)
	}
	b, err := io.ReadAll(r)
	return string(b), err
}

// subject decodes the Subject header as a mail client would.
func (p parsed) subject(t *testing.T) string {
	t.Helper()
	s, err := new(mime.WordDecoder).DecodeHeader(p.header.Get("Subject"))
	if err != nil {
		t.Fatalf("decode subject: %v", err)
	}
	return s
}

func TestSend_Delivers(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	date := time.Date(2025, 3, 14, 15, 9, 26, 0, time.FixedZone("CET", 3600))
	s := newSender(t, srv, nil)
	s.clock = func() time.Time { return date }

	subject := "Votre colis est arrivé à Noël — ça y est, Zoë ! Ünïcödé everywhere, long enough to fold the header line twice over"
	text := "Bonjour Zoë,\nvotre colis « 1Z999 » est livré.\nLigne très longue " + strings.Repeat("é", 120) + "\n"
	html := `<p>Bonjour Zoë,</p><p>votre colis &laquo;1Z999&raquo; est livré. <a href="https://shop.example.com/t/1Z999?x=1&amp;y=2">Suivre</a></p>`
	unsub := "https://shop.example.com/unsubscribe?t=AbC-123_xyz.sig"
	id, err := s.Send(context.Background(), Message{
		To: "zoe@example.net", ToName: "Zoë Dupont", Subject: subject, Text: text, HTML: html,
		UnsubscribeURL: unsub,
		Headers:        map[string]string{"X-Trackd-Notification": "ntf_42"},
	})
	if err != nil {
		t.Fatal(err)
	}
	msgs := srv.Wait(t, 1)
	got := msgs[0]
	if got.From != "shop@example.com" || len(got.To) != 1 || got.To[0] != "zoe@example.net" {
		t.Errorf("envelope = %q -> %q, want shop@example.com -> [zoe@example.net]", got.From, got.To)
	}
	p := parse(t, got.Data)

	from, err := mail.ParseAddress(p.header.Get("From"))
	if err != nil || from.Name != "Trackd Store" || from.Address != "shop@example.com" {
		t.Errorf("From = %q (%v), want Trackd Store <shop@example.com>", p.header.Get("From"), err)
	}
	to, err := mail.ParseAddress(p.header.Get("To"))
	if err != nil || to.Name != "Zoë Dupont" || to.Address != "zoe@example.net" {
		t.Errorf("To = %q (%v), want Zoë Dupont <zoe@example.net>", p.header.Get("To"), err)
	}
	if raw := p.header.Get("Subject"); !strings.Contains(raw, "=?UTF-8?q?") && !strings.Contains(raw, "=?UTF-8?Q?") {
		t.Errorf("Subject %q is not RFC 2047 encoded", raw)
	}
	if got := p.subject(t); got != subject {
		t.Errorf("Subject = %q, want %q", got, subject)
	}
	if got := p.header.Get("Message-Id"); got != "<"+id+">" || !strings.HasSuffix(id, "@example.com") {
		t.Errorf("Message-ID = %q, returned id %q: want <id@example.com>", got, id)
	}
	if d, err := p.header.Date(); err != nil || !d.Equal(date) {
		t.Errorf("Date = %q (%v), want %v", p.header.Get("Date"), err, date)
	}
	if got := p.header.Get("List-Unsubscribe"); got != "<"+unsub+">" {
		t.Errorf("List-Unsubscribe = %q, want <%s>", got, unsub)
	}
	if got := p.header.Get("List-Unsubscribe-Post"); got != "List-Unsubscribe=One-Click" {
		t.Errorf("List-Unsubscribe-Post = %q, want List-Unsubscribe=One-Click", got)
	}
	if got := p.header.Get("X-Trackd-Notification"); got != "ntf_42" {
		t.Errorf("X-Trackd-Notification = %q, want ntf_42", got)
	}
	if got := p.header.Get("Mime-Version"); got != "1.0" {
		t.Errorf("MIME-Version = %q, want 1.0", got)
	}
	if p.contentType != "multipart/alternative" || len(p.parts) != 2 {
		t.Fatalf("content = %s with %d parts, want multipart/alternative with 2", p.contentType, len(p.parts))
	}
	for i, want := range []part{{"text/plain", "UTF-8", text}, {"text/html", "UTF-8", html}} {
		got := p.parts[i]
		got.body = strings.ReplaceAll(got.body, "\r\n", "\n")
		if got.mediaType != want.mediaType || !strings.EqualFold(got.charset, want.charset) || got.body != want.body {
			t.Errorf("part %d = %s; charset=%s\n%q\nwant %s; charset=%s\n%q", i, got.mediaType, got.charset, got.body, want.mediaType, want.charset, want.body)
		}
	}
	// Nothing but 7-bit lines of legal length went over the wire.
	for i, line := range strings.Split(string(got.Data), "\r\n") {
		if len(line) > 998 || strings.ContainsFunc(line, func(r rune) bool { return r > '~' }) {
			t.Errorf("line %d is not 7-bit or too long: %q", i, line)
		}
	}
}

func TestSend_SinglePart(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	s := newSender(t, srv, nil)
	tests := []struct {
		name string
		msg  Message
		want part
	}{
		{"text only", Message{Text: "Livré ✓"}, part{"text/plain", "UTF-8", "Livré ✓"}},
		{"html only", Message{HTML: "<b>Livré</b>"}, part{"text/html", "UTF-8", "<b>Livré</b>"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.msg.To, tt.msg.Subject = "a@example.net", "s"
			if _, err := s.Send(context.Background(), tt.msg); err != nil {
				t.Fatal(err)
			}
			p := parse(t, srv.Wait(t, i+1)[i].Data)
			if len(p.parts) != 1 || p.parts[0].mediaType != tt.want.mediaType || !strings.EqualFold(p.parts[0].charset, tt.want.charset) || p.parts[0].body != tt.want.body {
				t.Errorf("parts = %+v, want [%+v]", p.parts, tt.want)
			}
		})
	}
}

func TestSend_TLS(t *testing.T) {
	tests := []struct {
		name    string
		opts    smtptest.Options
		url     func(*smtptest.Server) string
		trusted bool
		wantTLS bool
		wantErr string
	}{
		{name: "smtp to a server without STARTTLS stays plain", opts: smtptest.Options{}, trusted: true, wantTLS: false},
		{name: "smtp upgrades with STARTTLS when offered", opts: smtptest.Options{StartTLS: true}, trusted: true, wantTLS: true},
		{name: "smtps is implicit TLS", opts: smtptest.Options{ImplicitTLS: true}, trusted: true, wantTLS: true},
		{name: "starttls=required refuses a server without it", opts: smtptest.Options{},
			url: func(s *smtptest.Server) string { return s.URL() + "?starttls=required" }, trusted: true, wantErr: "STARTTLS"},
		{name: "starttls=required with STARTTLS", opts: smtptest.Options{StartTLS: true},
			url: func(s *smtptest.Server) string { return s.URL() + "?starttls=required" }, trusted: true, wantTLS: true},
		{name: "an untrusted certificate fails STARTTLS", opts: smtptest.Options{StartTLS: true}, trusted: false, wantErr: "certificate"},
		{name: "an untrusted certificate fails smtps", opts: smtptest.Options{ImplicitTLS: true}, trusted: false, wantErr: "certificate"},
		{name: "insecure_skip_verify accepts it", opts: smtptest.Options{ImplicitTLS: true},
			url: func(s *smtptest.Server) string { return s.URL() + "?insecure_skip_verify=true" }, trusted: false, wantTLS: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := smtptest.Start(t, tt.opts)
			s := newSender(t, srv, func(c *Config) {
				if tt.url != nil {
					c.URL = tt.url(srv)
				}
				if !tt.trusted {
					c.TLSConfig = nil
				}
			})
			_, err := s.Send(context.Background(), Message{To: "a@example.net", Subject: "s", Text: "t"})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || Permanent(err) {
					t.Fatalf("err = %v, want a transient error mentioning %q", err, tt.wantErr)
				}
				if srv.Count() != 0 {
					t.Errorf("server accepted %d messages, want none", srv.Count())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := srv.Wait(t, 1)[0].TLS; got != tt.wantTLS {
				t.Errorf("TLS = %v, want %v", got, tt.wantTLS)
			}
		})
	}
}

func TestSend_Auth(t *testing.T) {
	tests := []struct {
		name     string
		opts     smtptest.Options
		password string
		wantUser string
		wantErr  string
	}{
		{name: "plain SMTP on loopback", opts: smtptest.Options{Username: "shop", Password: "s3cret:@/"}, wantUser: "shop"},
		{name: "after STARTTLS", opts: smtptest.Options{StartTLS: true, Username: "shop", Password: "pw"}, wantUser: "shop"},
		{name: "over implicit TLS", opts: smtptest.Options{ImplicitTLS: true, Username: "shop", Password: "pw"}, wantUser: "shop"},
		{name: "wrong password", opts: smtptest.Options{Username: "shop", Password: "pw"}, password: "nope", wantErr: "535"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := smtptest.Start(t, tt.opts)
			s := newSender(t, srv, func(c *Config) {
				if tt.password != "" {
					c.URL = strings.Replace(c.URL, "shop:pw@", "shop:"+tt.password+"@", 1)
				}
			})
			_, err := s.Send(context.Background(), Message{To: "a@example.net", Subject: "s", Text: "t"})
			if tt.wantErr != "" {
				var e *Error
				if !errors.As(err, &e) || e.Op != "dial" || e.Code != 535 || Permanent(err) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want a transient dial error with code 535", err)
				}
				if strings.Contains(err.Error(), "nope") {
					t.Errorf("error %q shows the password", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := srv.Wait(t, 1)[0].User; got != tt.wantUser {
				t.Errorf("user = %q, want %q", got, tt.wantUser)
			}
		})
	}
}

func TestAuth_RefusesCleartextToRemoteHost(t *testing.T) {
	tests := []struct {
		name    string
		info    smtp.ServerInfo
		plainOK bool
		want    string // mechanism, or "" for a refusal
	}{
		{"TLS, PLAIN offered", smtp.ServerInfo{Name: "mail.example.com", TLS: true, Auth: []string{"LOGIN", "PLAIN"}}, false, "PLAIN"},
		{"TLS, LOGIN only", smtp.ServerInfo{Name: "mail.example.com", TLS: true, Auth: []string{"LOGIN"}}, false, "LOGIN"},
		{"no TLS, remote", smtp.ServerInfo{Name: "mail.example.com", TLS: false, Auth: []string{"PLAIN"}}, false, ""},
		{"no TLS, allowed", smtp.ServerInfo{Name: "mail.example.com", TLS: false, Auth: []string{"PLAIN"}}, true, "PLAIN"},
		{"TLS, CRAM-MD5 only", smtp.ServerInfo{Name: "mail.example.com", TLS: true, Auth: []string{"CRAM-MD5"}}, false, ""},
		{"TLS, no AUTH", smtp.ServerInfo{Name: "mail.example.com", TLS: true}, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &auth{user: "u", pass: "p", plainOK: tt.plainOK}
			mech, _, err := a.Start(&tt.info)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("Start = %s, want a refusal", mech)
				}
				return
			}
			if err != nil || mech != tt.want {
				t.Fatalf("Start = %q, %v; want %s", mech, err, tt.want)
			}
		})
	}
}

func TestSend_ReusesConnections(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{StartTLS: true})
	const poolSize, senders, perSender = 3, 10, 10
	s := newSender(t, srv, func(c *Config) { c.PoolSize = poolSize })
	var wg sync.WaitGroup
	errs := make(chan error, senders*perSender)
	for g := range senders {
		wg.Go(func() {
			for i := range perSender {
				_, err := s.Send(context.Background(), Message{To: fmt.Sprintf("s%d-%d@example.net", g, i), Subject: "s", Text: "t"})
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	srv.Wait(t, senders*perSender)
	if got := srv.Connections(); got > poolSize {
		t.Errorf("%d connections for %d messages, want at most %d", got, senders*perSender, poolSize)
	}
}

func TestSend_RedialsDroppedConnection(t *testing.T) {
	tests := []struct {
		name string
		opts smtptest.Options
		drop func(*smtptest.Server)
	}{
		{"server hangs up without a word", smtptest.Options{}, (*smtptest.Server).DropConnections},
		{"server closes idle with 421", smtptest.Options{IdleTimeout: 50 * time.Millisecond}, func(*smtptest.Server) {}},
		{"TLS connection dropped", smtptest.Options{StartTLS: true}, (*smtptest.Server).DropConnections},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := smtptest.Start(t, tt.opts)
			s := newSender(t, srv, func(c *Config) { c.PoolSize = 1 })
			msg := Message{To: "a@example.net", Subject: "s", Text: "t"}
			if _, err := s.Send(context.Background(), msg); err != nil {
				t.Fatal(err)
			}
			tt.drop(srv)
			srv.WaitOpen(t, 0)
			if _, err := s.Send(context.Background(), msg); err != nil {
				t.Fatalf("send after the server dropped the connection: %v", err)
			}
			srv.Wait(t, 2)
			if got := srv.Connections(); got != 2 {
				t.Errorf("connections = %d, want 2 (one redial)", got)
			}
		})
	}
}

func TestSend_IdleConnectionRedialledBeforeUse(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	s := newSender(t, srv, func(c *Config) { c.PoolSize = 1; c.IdleTimeout = time.Nanosecond })
	for range 2 {
		if _, err := s.Send(context.Background(), Message{To: "a@example.net", Subject: "s", Text: "t"}); err != nil {
			t.Fatal(err)
		}
	}
	if got := srv.Connections(); got != 2 {
		t.Errorf("connections = %d, want 2: a connection idle past IdleTimeout is not reused", got)
	}
}

func TestSend_Errors(t *testing.T) {
	tests := []struct {
		name      string
		rcpt      string
		setup     func(*smtptest.Server)
		op        string // default "rcpt to"
		timeout   time.Duration
		permanent bool
		code      int
		want      string
	}{
		{name: "550 mailbox unavailable", rcpt: "gone@example.net", setup: func(s *smtptest.Server) { s.Reply("gone@example.net", 550, "mailbox unavailable") },
			permanent: true, code: 550, want: "550"},
		{name: "553 bad address", rcpt: "bad@example.net", setup: func(s *smtptest.Server) { s.Reply("bad@example.net", 553, "mailbox name not allowed") },
			permanent: true, code: 553, want: "mailbox name not allowed"},
		{name: "451 try later", rcpt: "busy@example.net", setup: func(s *smtptest.Server) { s.Reply("busy@example.net", 451, "try again later") },
			permanent: false, code: 451, want: "451"},
		{name: "554 refused after the data", rcpt: "spam@example.net", setup: func(s *smtptest.Server) { s.ReplyData("spam@example.net", 554, "message refused") },
			op: "data", permanent: true, code: 554, want: "message refused"},
		{name: "452 after the data", rcpt: "full@example.net", setup: func(s *smtptest.Server) { s.ReplyData("full@example.net", 452, "mailbox full") },
			op: "data", permanent: false, code: 452, want: "452"},
		{name: "timeout", rcpt: "slow@example.net", setup: func(s *smtptest.Server) { s.Stall("slow@example.net") },
			timeout: 200 * time.Millisecond, permanent: false, code: 0, want: "timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := smtptest.Start(t, smtptest.Options{})
			tt.setup(srv)
			s := newSender(t, srv, func(c *Config) {
				c.PoolSize = 1
				if tt.timeout != 0 {
					c.Timeout = tt.timeout
				}
			})
			_, err := s.Send(context.Background(), Message{To: tt.rcpt, Subject: "s", Text: "t"})
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want an *Error", err)
			}
			if strings.Contains(err.Error(), tt.rcpt) {
				t.Errorf("error %q shows the recipient's address", err)
			}
			if tt.op == "" {
				tt.op = "rcpt to"
			}
			if Permanent(err) != tt.permanent || e.Code != tt.code || e.Op != tt.op || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v (op %q, code %d, permanent %v), want op %s, code %d, permanent %v, mentioning %q",
					err, e.Op, e.Code, Permanent(err), tt.op, tt.code, tt.permanent, tt.want)
			}
			// The next message goes through; a refused recipient does not
			// cost the connection.
			if _, err := s.Send(context.Background(), Message{To: "ok@example.net", Subject: "s", Text: "t"}); err != nil {
				t.Fatalf("next send: %v", err)
			}
			if want := map[bool]int{true: 1, false: 2}[tt.code != 0]; srv.Connections() != want {
				t.Errorf("connections = %d, want %d", srv.Connections(), want)
			}
		})
	}
}

func TestSend_ContextEndsSend(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	srv.Stall("slow@example.net")
	s := newSender(t, srv, func(c *Config) { c.PoolSize = 1; c.Timeout = time.Minute })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := s.Send(ctx, Message{To: "slow@example.net", Subject: "s", Text: "t"})
	if !errors.Is(err, context.DeadlineExceeded) || Permanent(err) {
		t.Fatalf("err = %v, want a transient context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Send took %v after its context ended", d)
	}
	// The interrupted connection is not reused.
	if _, err := s.Send(context.Background(), Message{To: "ok@example.net", Subject: "s", Text: "t"}); err != nil {
		t.Fatal(err)
	}
	if got := srv.Connections(); got != 2 {
		t.Errorf("connections = %d, want 2", got)
	}
}

func TestSend_WaitsForAFreeConnection(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	srv.Stall("slow@example.net")
	s := newSender(t, srv, func(c *Config) { c.PoolSize = 1; c.Timeout = time.Minute })
	slowCtx, cancelSlow := context.WithCancel(context.Background())
	slowDone := make(chan error, 1)
	go func() {
		_, err := s.Send(slowCtx, Message{To: "slow@example.net", Subject: "s", Text: "t"})
		slowDone <- err
	}()
	srv.WaitStalled(t, 1) // the pool's only connection is busy
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := s.Send(ctx, Message{To: "ok@example.net", Subject: "s", Text: "t"})
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "wait for a connection") {
		t.Errorf("err = %v, want context.DeadlineExceeded while waiting for a connection", err)
	}
	cancelSlow()
	if err := <-slowDone; !errors.Is(err, context.Canceled) {
		t.Errorf("slow send err = %v, want context.Canceled", err)
	}
	// The connection is free again.
	if _, err := s.Send(context.Background(), Message{To: "ok@example.net", Subject: "s", Text: "t"}); err != nil {
		t.Fatal(err)
	}
	if got := srv.Count(); got != 1 {
		t.Errorf("server got %d messages, want 1", got)
	}
}

func TestSend_HeaderInjection(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	s := newSender(t, srv, nil)
	base := Message{To: "a@example.net", Subject: "s", Text: "t", HTML: "<p>t</p>"}
	tests := []struct {
		name string
		mod  func(*Message)
		// refused: Send fails permanently and sends nothing; otherwise
		// check inspects what arrived.
		refused bool
		check   func(t *testing.T, p parsed)
	}{
		{name: "CRLF in Subject is neutralised", mod: func(m *Message) { m.Subject = "Hello\r\nBcc: evil@example.org\r\n\r\nbody" },
			check: func(t *testing.T, p parsed) {
				if got := p.subject(t); got != "Hello Bcc: evil@example.org body" {
					t.Errorf("Subject = %q", got)
				}
			}},
		{name: "LF in ToName is neutralised", mod: func(m *Message) { m.ToName = "Zoë\nBcc: evil@example.org" },
			check: func(t *testing.T, p parsed) {
				to, err := mail.ParseAddress(p.header.Get("To"))
				if err != nil || to.Name != "Zoë Bcc: evil@example.org" || to.Address != "a@example.net" {
					t.Errorf("To = %q (%v)", p.header.Get("To"), err)
				}
			}},
		{name: "CRLF in To", mod: func(m *Message) { m.To = "a@example.net\r\nBcc: evil@example.org" }, refused: true},
		{name: "second address in To", mod: func(m *Message) { m.To = "a@example.net, evil@example.org" }, refused: true},
		{name: "name in To", mod: func(m *Message) { m.To = "Evil <evil@example.org>" }, refused: true},
		{name: "To without domain", mod: func(m *Message) { m.To = "a@localhost" }, refused: true},
		{name: "empty To", mod: func(m *Message) { m.To = "" }, refused: true},
		{name: "no body", mod: func(m *Message) { m.Text, m.HTML = "", "" }, refused: true},
		{name: "CRLF in a header value", mod: func(m *Message) { m.Headers = map[string]string{"X-Id": "1\r\nBcc: evil@example.org"} }, refused: true},
		{name: "colon in a header name", mod: func(m *Message) { m.Headers = map[string]string{"Bcc: evil@example.org\r\nX-Id": "1"} }, refused: true},
		{name: "reserved header", mod: func(m *Message) { m.Headers = map[string]string{"bcc": "evil@example.org"} }, refused: true},
		{name: "content header", mod: func(m *Message) { m.Headers = map[string]string{"Content-Disposition": "attachment"} }, refused: true},
		{name: "CRLF in the unsubscribe URL", mod: func(m *Message) { m.UnsubscribeURL = "https://shop.example.com/u\r\nBcc: evil@example.org" }, refused: true},
		{name: "> in the unsubscribe URL", mod: func(m *Message) { m.UnsubscribeURL = "https://shop.example.com/u>, <mailto:evil@example.org" }, refused: true},
		{name: "relative unsubscribe URL", mod: func(m *Message) { m.UnsubscribeURL = "/unsubscribe" }, refused: true},
		{name: "javascript unsubscribe URL", mod: func(m *Message) { m.UnsubscribeURL = "javascript:alert(1)" }, refused: true},
		{name: "CRLF in MessageID", mod: func(m *Message) { m.MessageID = "a@b\r\nBcc: evil@example.org" }, refused: true},
		{name: "http unsubscribe URL gets no one-click", mod: func(m *Message) { m.UnsubscribeURL = "http://localhost:8080/u?t=1" },
			check: func(t *testing.T, p parsed) {
				if got := p.header.Get("List-Unsubscribe"); got != "<http://localhost:8080/u?t=1>" {
					t.Errorf("List-Unsubscribe = %q", got)
				}
				if got, ok := p.header["List-Unsubscribe-Post"]; ok {
					t.Errorf("List-Unsubscribe-Post = %q, want none for http", got)
				}
			}},
		{name: "given MessageID is kept", mod: func(m *Message) { m.MessageID = "<ntf-1.shipped@shop.example.com>" },
			check: func(t *testing.T, p parsed) {
				if got := p.header.Get("Message-Id"); got != "<ntf-1.shipped@shop.example.com>" {
					t.Errorf("Message-ID = %q", got)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := srv.Count()
			m := base
			tt.mod(&m)
			_, err := s.Send(context.Background(), m)
			if tt.refused {
				if !Permanent(err) {
					t.Fatalf("err = %v, want a permanent refusal", err)
				}
				if srv.Count() != before {
					t.Errorf("the server got a message")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := srv.Wait(t, before+1)[before]
			p := parse(t, got.Data)
			if len(got.To) != 1 || got.To[0] != "a@example.net" {
				t.Errorf("envelope recipients = %q", got.To)
			}
			for _, k := range []string{"Bcc", "Cc"} {
				if v, ok := p.header[k]; ok {
					t.Errorf("injected header %s: %q", k, v)
				}
			}
			tt.check(t, p)
		})
	}
}

func TestSender_Close(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	s := newSender(t, srv, func(c *Config) { c.PoolSize = 2 })
	if _, err := s.Send(context.Background(), Message{To: "a@example.net", Subject: "s", Text: "t"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	srv.WaitOpen(t, 0)
	if _, err := s.Send(context.Background(), Message{To: "a@example.net", Subject: "s", Text: "t"}); !errors.Is(err, ErrClosed) || Permanent(err) {
		t.Errorf("Send after Close = %v, want transient ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

func TestSend_DialFailureIsTransient(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	url := srv.URL()
	srv.Close()
	s, err := New(Config{URL: url, From: "shop@example.com", Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = s.Send(context.Background(), Message{To: "a@example.net", Subject: "s", Text: "t"})
	var e *Error
	if !errors.As(err, &e) || e.Op != "dial" || Permanent(err) {
		t.Fatalf("err = %v, want a transient dial error", err)
	}
}

func BenchmarkSend(b *testing.B) {
	srv := smtptest.Start(b, smtptest.Options{DiscardData: true})
	s := newSender(b, srv, func(c *Config) { c.PoolSize = DefaultPoolSize })
	msg := Message{
		To: "zoe@example.net", ToName: "Zoë Dupont", Subject: "Votre colis est en route — suivi 1Z999",
		Text:           strings.Repeat("Votre colis est en route. ", 40),
		HTML:           "<html><body>" + strings.Repeat("<p>Votre colis est en route.</p>", 40) + "</body></html>",
		UnsubscribeURL: "https://shop.example.com/unsubscribe?t=abc",
		Headers:        map[string]string{"X-Trackd-Notification": "ntf_1"},
	}
	// Twice as many senders as CPUs: the notifier's workers outnumber the
	// connections.
	b.SetParallelism(2)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Send(context.Background(), msg); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	if got := srv.Connections(); got > DefaultPoolSize {
		b.Errorf("%d connections, want at most %d", got, DefaultPoolSize)
	}
}
