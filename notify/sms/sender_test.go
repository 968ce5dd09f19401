package sms

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twilio/twilio-go/client"
)

const (
	testAccount  = "AC0123456789abcdef0123456789abcdef"
	testToken    = "0123456789abcdef0123456789abcdef"
	testKeySID   = "SK0123456789abcdef0123456789abcdef"
	testKeySec   = "keysecret0123456789"
	testService  = "MG0123456789abcdef0123456789abcdef"
	testFrom     = "+14155550100"
	testTo       = "+14155550123"
	testCallback = "https://track.example.com/webhooks/twilio/status"
	testSID      = "SM1f0e8ae6ade43cb3c0ce4525424e404f"
)

// Recipients the fake answers differently for. The 1500555000x numbers
// are Twilio's own magic test numbers, with the errors Twilio's test
// credentials give for them.
const (
	toInvalid      = "+15005550001"
	toCannotRoute  = "+15005550002"
	toNoPermission = "+15005550003"
	toOptedOut     = "+15005550004"
	toNotMobile    = "+15005550009"
	toRateLimited  = "+15005550429"
	toServerError  = "+15005550500"
	toBadGateway   = "+15005550502"
	toHang         = "+15005550999"
)

// seenRequest is what the fake Twilio received.
type seenRequest struct {
	method, path, contentType string
	user, pass                string
	form                      url.Values
}

// fakeTwilio stands in for Twilio's Messages API: it records each request
// and answers as Twilio does, with the documented JSON.
type fakeTwilio struct {
	*httptest.Server
	user, pass string
	created    []byte
	mu         sync.Mutex
	reqs       []seenRequest
	conns      atomic.Int32 // connections opened
}

func newFakeTwilio(t *testing.T, user, pass string) *fakeTwilio {
	t.Helper()
	created, err := os.ReadFile("testdata/message_created.json")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeTwilio{user: user, pass: pass, created: created}
	f.Server = httptest.NewUnstartedServer(f)
	f.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			f.conns.Add(1)
		}
	}
	f.Start()
	t.Cleanup(f.Close)
	return f
}

func (f *fakeTwilio) requests() []seenRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seenRequest(nil), f.reqs...)
}

func twilioError(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"code":%d,"message":%q,"more_info":"https://www.twilio.com/docs/errors/%d","status":%d}`, code, msg, code, status)
}

func (f *fakeTwilio) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	user, pass, _ := r.BasicAuth()
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, seenRequest{r.Method, r.URL.Path, r.Header.Get("Content-Type"), user, pass, r.PostForm})
	f.mu.Unlock()
	if user != f.user || pass != f.pass {
		twilioError(w, 401, 20003, "Authenticate")
		return
	}
	switch r.PostForm.Get("To") {
	case toInvalid:
		twilioError(w, 400, 21211, "The 'To' number "+toInvalid+" is not a valid phone number.")
	case toCannotRoute:
		twilioError(w, 400, 21612, "The 'To' phone number: "+toCannotRoute+", is not currently reachable using the 'From' phone number: "+testFrom+" via SMS.")
	case toNoPermission:
		twilioError(w, 400, 21408, "Permission to send an SMS has not been enabled for the region indicated by the 'To' number: "+toNoPermission+".")
	case toOptedOut:
		twilioError(w, 400, 21610, "Attempt to send to unsubscribed recipient")
	case toNotMobile:
		twilioError(w, 400, 21614, "'To' number is not a valid mobile number")
	case toRateLimited:
		twilioError(w, 429, 20429, "Too Many Requests")
	case toServerError:
		twilioError(w, 500, 20500, "Internal Server Error")
	case toBadGateway:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		// Large enough that twilio-go's decoder stops before its end, as
		// it does at a CDN's error page.
		fmt.Fprintf(w, "<html><body><h1>502 Bad Gateway</h1>%s</body></html>", strings.Repeat("<!-- padding -->", 256))
	case toHang:
		<-r.Context().Done()
	default:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		w.Write(f.created)
	}
}

func newSender(t *testing.T, cfg Config) *Sender {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func TestSend_RequestIsWhatTwilioExpects(t *testing.T) {
	body := "Ihr Paket #1001 ist unterwegs 🚚\nhttps://track.example.com/t/abc?x=1&y=2"
	tests := []struct {
		name       string
		cfg        Config
		to         string
		user, pass string
		basePath   string
		want       url.Values
	}{
		{
			name: "from a number, with the account's token",
			cfg:  Config{AccountSID: testAccount, AuthToken: testToken, From: testFrom, StatusCallbackURL: testCallback},
			to:   testTo, user: testAccount, pass: testToken,
			want: url.Values{"To": {testTo}, "From": {testFrom}, "Body": {body}, "StatusCallback": {testCallback}},
		},
		{
			name: "typed number normalized",
			cfg:  Config{AccountSID: testAccount, AuthToken: testToken, From: "+1 (415) 555-0100", StatusCallbackURL: testCallback},
			to:   " +1 (415) 555-0123 ", user: testAccount, pass: testToken,
			want: url.Values{"To": {testTo}, "From": {testFrom}, "Body": {body}, "StatusCallback": {testCallback}},
		},
		{
			name: "through a messaging service, without status callback",
			cfg:  Config{AccountSID: testAccount, AuthToken: testToken, MessagingServiceSID: testService},
			to:   testTo, user: testAccount, pass: testToken,
			want: url.Values{"To": {testTo}, "MessagingServiceSid": {testService}, "Body": {body}},
		},
		{
			name: "alphanumeric sender with an API key, base URL with a path",
			cfg:  Config{AccountSID: testAccount, APIKeySID: testKeySID, APIKeySecret: testKeySec, From: "Trackd Shop", StatusCallbackURL: testCallback},
			to:   testTo, user: testKeySID, pass: testKeySec, basePath: "/twilio",
			want: url.Values{"To": {testTo}, "From": {"Trackd Shop"}, "Body": {body}, "StatusCallback": {testCallback}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeTwilio(t, tt.user, tt.pass)
			tt.cfg.BaseURL = f.URL + tt.basePath
			sid, err := newSender(t, tt.cfg).Send(context.Background(), tt.to, body)
			if err != nil {
				t.Fatal(err)
			}
			if sid != testSID {
				t.Errorf("sid %q, want %q", sid, testSID)
			}
			reqs := f.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			got := reqs[0]
			wantPath := tt.basePath + "/2010-04-01/Accounts/" + testAccount + "/Messages.json"
			if got.method != http.MethodPost || got.path != wantPath {
				t.Errorf("request %s %s, want POST %s", got.method, got.path, wantPath)
			}
			if got.user != tt.user || got.pass != tt.pass {
				t.Errorf("basic auth %q:%q, want %q:%q", got.user, got.pass, tt.user, tt.pass)
			}
			if got.contentType != "application/x-www-form-urlencoded" {
				t.Errorf("content type %q", got.contentType)
			}
			if !reflect.DeepEqual(got.form, tt.want) {
				t.Errorf("form\n got %v\nwant %v", got.form, tt.want)
			}
		})
	}
}

func TestSend_TwilioErrorsClassified(t *testing.T) {
	f := newFakeTwilio(t, testAccount, testToken)
	s := newSender(t, Config{AccountSID: testAccount, AuthToken: testToken, From: testFrom, BaseURL: f.URL})
	tests := []struct {
		to        string
		code      int // Twilio's code, 0 when there is none
		permanent bool
		errHas    string
	}{
		{toInvalid, 21211, true, "is not a valid phone number"},
		{toCannotRoute, 21612, true, "is not currently reachable"},
		{toNoPermission, 21408, true, "Permission to send an SMS has not been enabled"},
		{toOptedOut, 21610, true, "unsubscribed recipient"},
		{toNotMobile, 21614, true, "not a valid mobile number"},
		{toRateLimited, 20429, false, "Too Many Requests"},
		{toServerError, 20500, false, "Internal Server Error"},
		{toBadGateway, 0, false, "502"},
	}
	for _, tt := range tests {
		t.Run(tt.to, func(t *testing.T) {
			sid, err := s.Send(context.Background(), tt.to, "hello")
			if err == nil {
				t.Fatalf("sid %q, want an error", sid)
			}
			if got := Permanent(err); got != tt.permanent {
				t.Errorf("Permanent = %v, want %v (%v)", got, tt.permanent, err)
			}
			if !strings.Contains(err.Error(), tt.errHas) {
				t.Errorf("error %q does not say %q", err, tt.errHas)
			}
			var te *client.TwilioRestError
			switch {
			case tt.code == 0 && errors.As(err, &te):
				t.Errorf("twilio error %+v, want none", te)
			case tt.code != 0 && !errors.As(err, &te):
				t.Errorf("error %v is not Twilio's", err)
			case tt.code != 0 && te.Code != tt.code:
				t.Errorf("code %d, want %d", te.Code, tt.code)
			}
		})
	}
}

func TestSend_WrongCredentialsArePermanent(t *testing.T) {
	f := newFakeTwilio(t, testAccount, testToken)
	s := newSender(t, Config{AccountSID: testAccount, AuthToken: "wrongtoken", From: testFrom, BaseURL: f.URL})
	_, err := s.Send(context.Background(), testTo, "hello")
	var te *client.TwilioRestError
	if !errors.As(err, &te) || te.Code != 20003 || te.Status != 401 || !Permanent(err) {
		t.Errorf("error %v, want Twilio's permanent 20003", err)
	}
}

func TestSend_RefusedBeforeReachingTwilio(t *testing.T) {
	f := newFakeTwilio(t, testAccount, testToken)
	s := newSender(t, Config{AccountSID: testAccount, AuthToken: testToken, From: testFrom, BaseURL: f.URL})
	tests := []struct {
		name, to, body string
		want           error
	}{
		{"national number", "(415) 555-0123", "hi", ErrInvalidNumber},
		{"letters", "+1 415 CALL NOW", "hi", ErrInvalidNumber},
		{"empty body", testTo, " \n ", ErrEmptyBody},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Send(context.Background(), tt.to, tt.body)
			if !errors.Is(err, tt.want) || !Permanent(err) {
				t.Errorf("error %v, want permanent %v", err, tt.want)
			}
		})
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("%d requests reached Twilio", n)
	}
}

func TestSend_TimeoutAndCancelAreTransient(t *testing.T) {
	f := newFakeTwilio(t, testAccount, testToken)
	s := newSender(t, Config{AccountSID: testAccount, AuthToken: testToken, From: testFrom, BaseURL: f.URL, Timeout: 50 * time.Millisecond})

	start := time.Now()
	_, err := s.Send(context.Background(), toHang, "hello")
	if !errors.Is(err, context.DeadlineExceeded) || Permanent(err) {
		t.Errorf("hung Twilio: error %v, want a transient deadline error", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Send took %v with a 50ms timeout", d)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Send(ctx, testTo, "hello"); !errors.Is(err, context.Canceled) || Permanent(err) {
		t.Errorf("canceled context: error %v, want a transient cancellation", err)
	}
}

// Every answer, error answers included, is read whole and the connection
// goes back to the pool. twilio-go alone never closes an error answer's
// body, so each 502 page it stops decoding early would leak a connection.
func TestSend_ConnectionsReusedAcrossErrors(t *testing.T) {
	f := newFakeTwilio(t, testAccount, testToken)
	s := newSender(t, Config{AccountSID: testAccount, AuthToken: testToken, From: testFrom, BaseURL: f.URL})
	for range 3 {
		for _, to := range []string{testTo, toInvalid, toOptedOut, toRateLimited, toServerError, toBadGateway} {
			s.Send(context.Background(), to, "hello")
		}
	}
	if n := len(f.requests()); n != 18 {
		t.Fatalf("%d requests, want 18", n)
	}
	if n := f.conns.Load(); n != 1 {
		t.Errorf("%d connections for 18 sequential requests, want 1", n)
	}
}

func TestSend_NoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		f := newFakeTwilio(t, testAccount, testToken)
		defer f.Close()
		s, err := New(Config{AccountSID: testAccount, AuthToken: testToken, From: testFrom, BaseURL: f.URL, Timeout: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for _, to := range []string{testTo, toInvalid, toRateLimited, toServerError, toBadGateway, toHang} {
					s.Send(context.Background(), to, "hello")
				}
			})
		}
		wg.Wait()
	}()
	// Closed connections wind down asynchronously: wait for the count to
	// come back, up to a deadline.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines before, %d after:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestNew_RefusesWhatTwilioWould(t *testing.T) {
	ok := Config{AccountSID: testAccount, AuthToken: testToken, From: testFrom}
	tests := []struct {
		name   string
		change func(*Config)
		errHas string // "" for a valid configuration
	}{
		{"valid", func(*Config) {}, ""},
		{"messaging service only", func(c *Config) { c.From, c.MessagingServiceSID = "", testService }, ""},
		{"api key instead of token", func(c *Config) { c.AuthToken, c.APIKeySID, c.APIKeySecret = "", testKeySID, testKeySec }, ""},
		{"alphanumeric sender", func(c *Config) { c.From = "ACME" }, ""},
		{"missing account", func(c *Config) { c.AccountSID = "" }, "account SID"},
		{"account is not an AC sid", func(c *Config) { c.AccountSID = testService }, "account SID"},
		{"missing credentials", func(c *Config) { c.AuthToken = "" }, "auth token"},
		{"token with symbols", func(c *Config) { c.AuthToken = "abc:def" }, "auth token"},
		{"half an API key", func(c *Config) { c.APIKeySID = testKeySID }, "API key secret"},
		{"no sender", func(c *Config) { c.From = "" }, "From number or a messaging service"},
		{"sender number too short", func(c *Config) { c.From = "+1415" }, "fewer than 8 digits"},
		{"sender ID too long", func(c *Config) { c.From = "TRACKD STORE INC" }, "alphanumeric sender ID"},
		{"bad messaging service", func(c *Config) { c.MessagingServiceSID = "MG123" }, "messaging service SID"},
		{"relative callback", func(c *Config) { c.StatusCallbackURL = "/webhooks/twilio/status" }, "status callback URL"},
		{"base URL without scheme", func(c *Config) { c.BaseURL = "api.twilio.com" }, "base URL"},
		{"base URL with query", func(c *Config) { c.BaseURL = "https://api.twilio.com/?x=1" }, "base URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.change(&cfg)
			s, err := New(cfg)
			if tt.errHas == "" {
				if err != nil {
					t.Fatal(err)
				}
				s.Close()
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.errHas) {
				t.Errorf("error %v, want one about %q", err, tt.errHas)
			}
		})
	}
}

func TestNew_Defaults(t *testing.T) {
	s := newSender(t, Config{AccountSID: testAccount, AuthToken: testToken, From: testFrom})
	if s.base.String() != DefaultBaseURL || s.cfg.Timeout != DefaultTimeout {
		t.Errorf("base %s, timeout %v", s.base, s.cfg.Timeout)
	}
}

func TestConfigFromEnv_Variables(t *testing.T) {
	env := map[string]string{
		"TWILIO_ACCOUNT_SID":           " " + testAccount + " ",
		"TWILIO_AUTH_TOKEN":            testToken + "\n",
		"TWILIO_API_KEY":               testKeySID,
		"TWILIO_API_SECRET":            testKeySec,
		"TWILIO_FROM":                  testFrom,
		"TWILIO_MESSAGING_SERVICE_SID": testService,
		"TWILIO_BASE_URL":              "http://127.0.0.1:9999",
	}
	got := ConfigFromEnv(func(k string) string { return env[k] })
	want := Config{AccountSID: testAccount, AuthToken: testToken, APIKeySID: testKeySID, APIKeySecret: testKeySec,
		From: testFrom, MessagingServiceSID: testService, BaseURL: "http://127.0.0.1:9999"}
	if got != want {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if !got.Enabled() || (Config{}).Enabled() {
		t.Error("Enabled is wrong")
	}
}

func TestPermanent_Classification(t *testing.T) {
	rest := func(status, code int) error {
		return fmt.Errorf("send sms: %w", &client.TwilioRestError{Status: status, Code: code, Message: "m"})
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"invalid number", fmt.Errorf("x: %w", ErrInvalidNumber), true},
		{"empty body", ErrEmptyBody, true},
		{"invalid To", rest(400, 21211), true},
		{"opted out", rest(400, 21610), true},
		{"any other 400", rest(400, 21602), true},
		{"forbidden", rest(403, 20403), true},
		{"not found", rest(404, 20404), true},
		{"request timeout", rest(408, 0), false},
		{"rate limited", rest(429, 20429), false},
		{"server error", rest(500, 20500), false},
		{"unavailable", rest(503, 20503), false},
		{"a permanent code whatever the status", rest(500, 21614), true},
		{"deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), false},
		{"network", &net.OpError{Op: "dial", Err: errors.New("connection refused")}, false},
		{"unknown", errors.New("something"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Permanent(tt.err); got != tt.want {
				t.Errorf("Permanent(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}
