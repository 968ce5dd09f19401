package usps

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trackd/trackd/carriers"
)

const (
	testClientID     = "usps-consumer-key"
	testClientSecret = "usps-consumer-secret"
	testNumber       = "9400109104250532908587"
)

// bodyCounter is a transport that counts the response bodies not yet
// closed, so every test can check that Poll closes what it opens.
type bodyCounter struct {
	base *http.Transport
	open atomic.Int64
}

func (c *bodyCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.base.RoundTrip(r)
	if err == nil {
		c.open.Add(1)
		resp.Body = &countedBody{ReadCloser: resp.Body, c: c}
	}
	return resp, err
}

type countedBody struct {
	io.ReadCloser
	c    *bodyCounter
	once sync.Once
}

func (b *countedBody) Close() error {
	b.once.Do(func() { b.c.open.Add(-1) })
	return b.ReadCloser.Close()
}

// fakeUSPS is a local USPS: its token endpoint issues tok-1, tok-2, ... to
// the test client, and its Tracking API answers with track.
type fakeUSPS struct {
	srv    *httptest.Server
	tokens atomic.Int64
	// tokenForm is the last token request's form.
	tokenForm  map[string]string
	tokenFail  http.HandlerFunc // when set, answers token requests instead
	track      http.HandlerFunc
	trackCalls atomic.Int64
	mu         sync.Mutex
	requests   []*http.Request // the tracking requests, as received
}

func newFakeUSPS(t *testing.T, track http.HandlerFunc) *fakeUSPS {
	t.Helper()
	f := &fakeUSPS{track: track}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/oauth2/v3/token":
			f.token(w, r)
		case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/tracking/v3/tracking/"):
			f.trackCalls.Add(1)
			f.mu.Lock()
			f.requests = append(f.requests, r.Clone(context.Background()))
			f.mu.Unlock()
			if got := r.Header.Get("Authorization"); !strings.HasPrefix(got, "Bearer tok-") {
				w.WriteHeader(401)
				fmt.Fprint(w, `{"apiVersion":"v3","error":{"code":"401","message":"Unauthorized"}}`)
				return
			}
			f.track(w, r)
		default:
			http.NotFound(w, r)
		}
	}))
	return f
}

func (f *fakeUSPS) token(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if f.tokenFail != nil {
		f.tokenFail(w, r)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, `{"error":"invalid_request"}`, 400)
		return
	}
	f.mu.Lock()
	f.tokenForm = map[string]string{}
	for k := range r.PostForm {
		f.tokenForm[k] = r.PostForm.Get(k)
	}
	f.mu.Unlock()
	if r.PostForm.Get("grant_type") != "client_credentials" {
		w.WriteHeader(400)
		fmt.Fprint(w, `{"error":"unsupported_grant_type"}`)
		return
	}
	if r.PostForm.Get("client_id") != testClientID || r.PostForm.Get("client_secret") != testClientSecret {
		w.WriteHeader(401)
		fmt.Fprint(w, `{"error":"invalid_client","error_description":"Client authentication failed.","error_uri":"https://datatracker.ietf.org/doc/html/rfc6749#page-45"}`)
		return
	}
	n := f.tokens.Add(1)
	fmt.Fprintf(w, `{"access_token":"tok-%d","token_type":"Bearer","issued_at":1732301920000,"expires_in":28799,"status":"approved","scope":"tracking","issuer":"api.usps.com"}`, n)
}

func (f *fakeUSPS) lastRequest() *http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.requests) == 0 {
		return nil
	}
	return f.requests[len(f.requests)-1]
}

// pollAdapter is an adapter pointed at f; the test fails if a response
// body is left open.
func pollAdapter(t *testing.T, f *fakeUSPS) *Adapter {
	t.Helper()
	counter := &bodyCounter{base: &http.Transport{}}
	t.Cleanup(func() {
		if n := counter.open.Load(); n != 0 {
			t.Errorf("%d response bodies left open", n)
		}
		counter.base.CloseIdleConnections()
		f.srv.Close()
	})
	a := New(Config{
		ClientID: testClientID, ClientSecret: testClientSecret,
		BaseURL: f.srv.URL + "/", Timeout: 5 * time.Second,
		HTTPClient: &http.Client{Transport: counter},
	})
	a.now = func() time.Time { return testNow }
	return a
}

// serve answers with status, headers and body.
func serve(status int, headers map[string]string, body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for k, v := range headers {
			w.Header().Set(k, v)
		}
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(status)
		w.Write(body)
	}
}

func TestPoll_Tracking(t *testing.T) {
	fixture := readTestdata(t, pollFixture)
	f := newFakeUSPS(t, serve(200, nil, fixture))
	a := pollAdapter(t, f)
	body, err := a.Poll(context.Background(), " 9400 1091 0425 0532 9085 87 ")
	if err != nil {
		t.Fatalf("Poll = %v", err)
	}
	if !bytes.Equal(body, fixture) {
		t.Error("Poll did not return the answer as received")
	}
	got := f.lastRequest()
	if got.URL.Path != "/tracking/v3/tracking/"+testNumber || got.URL.RawQuery != "expand=DETAIL" {
		t.Errorf("request %s %s, want GET /tracking/v3/tracking/%s?expand=DETAIL", got.Method, got.URL, testNumber)
	}
	if auth, accept := got.Header.Get("Authorization"), got.Header.Get("Accept"); auth != "Bearer tok-1" || accept != "application/json" {
		t.Errorf("Authorization %q, Accept %q", auth, accept)
	}
	want := map[string]string{"grant_type": "client_credentials", "client_id": testClientID, "client_secret": testClientSecret}
	if fmt.Sprint(f.tokenForm) != fmt.Sprint(want) {
		t.Errorf("token request form %v, want %v", f.tokenForm, want)
	}
	us, err := a.ParsePoll(body)
	if err != nil || len(us) != 1 || us[0].TrackingNumber != testNumber || len(us[0].Events) != 12 {
		t.Errorf("ParsePoll(Poll answer) = %+v, %v", us, err)
	}
}

func TestPoll_TokenIsReused(t *testing.T) {
	f := newFakeUSPS(t, serve(200, nil, readTestdata(t, pollFixture)))
	a := pollAdapter(t, f)
	for range 5 {
		if _, err := a.Poll(context.Background(), testNumber); err != nil {
			t.Fatalf("Poll = %v", err)
		}
	}
	if n := f.tokens.Load(); n != 1 {
		t.Errorf("%d tokens fetched for 5 polls, want 1", n)
	}
}

func TestPoll_TokenRefreshedOn401(t *testing.T) {
	fixture := readTestdata(t, pollFixture)
	// tok-1 is revoked: the API refuses it, and takes the next one.
	f := newFakeUSPS(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "Bearer tok-1" {
			serve(401, map[string]string{"WWW-Authenticate": `Bearer realm="https://api.usps.com"`},
				[]byte(`{"apiVersion":"v3","error":{"code":"401","message":"Token expired"}}`))(w, r)
			return
		}
		serve(200, nil, fixture)(w, r)
	})
	a := pollAdapter(t, f)
	body, err := a.Poll(context.Background(), testNumber)
	if err != nil || !bytes.Equal(body, fixture) {
		t.Fatalf("Poll = %v", err)
	}
	if f.tokens.Load() != 2 || f.trackCalls.Load() != 2 {
		t.Errorf("%d tokens, %d tracking calls; want 2 and 2", f.tokens.Load(), f.trackCalls.Load())
	}
	if got := f.lastRequest().Header.Get("Authorization"); got != "Bearer tok-2" {
		t.Errorf("retried with %q", got)
	}
	// The fresh token is kept for the next poll.
	if _, err := a.Poll(context.Background(), testNumber); err != nil || f.tokens.Load() != 2 {
		t.Errorf("next Poll = %v with %d tokens fetched", err, f.tokens.Load())
	}
}

func TestPoll_401Twice(t *testing.T) {
	f := newFakeUSPS(t, serve(401, nil, []byte(`{"apiVersion":"v3","error":{"code":"401","message":"Unauthorized"}}`)))
	a := pollAdapter(t, f)
	_, err := a.Poll(context.Background(), testNumber)
	var re *carriers.RemoteError
	if !errors.As(err, &re) || re.Status != 401 || re.Code != "401" || re.Message != "Unauthorized" || re.Temporary() {
		t.Fatalf("Poll = %v, want a permanent RemoteError 401", err)
	}
	if f.trackCalls.Load() != 2 {
		t.Errorf("%d tracking calls, want 2 (one retry with a fresh token)", f.trackCalls.Load())
	}
}

func TestPoll_TokenRefused(t *testing.T) {
	tests := []struct {
		name      string
		secret    string
		fail      http.HandlerFunc
		status    int
		code      string
		retry     time.Duration
		temporary bool
	}{
		{name: "invalid client", secret: "wrong", status: 401, code: "invalid_client"},
		{name: "invalid client, as USPS words it", secret: testClientSecret,
			fail: serve(401, nil, readTestdata(t, "oauth_invalid_client.json")), status: 401, code: "invalid_client"},
		{name: "token endpoint rate limited", secret: testClientSecret,
			fail:   serve(429, map[string]string{"Retry-After": "20"}, []byte(`{"error":"rate_limited"}`)),
			status: 429, code: "rate_limited", retry: 20 * time.Second, temporary: true},
		{name: "token endpoint down", secret: testClientSecret,
			fail: serve(503, nil, []byte(`<html>down</html>`)), status: 503, temporary: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeUSPS(t, serve(200, nil, readTestdata(t, pollFixture)))
			f.tokenFail = tt.fail
			a := withClient(pollAdapter(t, f), tt.secret)
			_, err := a.Poll(context.Background(), testNumber)
			var re *carriers.RemoteError
			if !errors.As(err, &re) {
				t.Fatalf("Poll = %v, want a RemoteError", err)
			}
			if re.Status != tt.status || re.Code != tt.code || re.RetryAfter != tt.retry || re.Temporary() != tt.temporary {
				t.Errorf("RemoteError{Status %d, Code %q, RetryAfter %v, Temporary %v}, want {%d, %q, %v, %v}",
					re.Status, re.Code, re.RetryAfter, re.Temporary(), tt.status, tt.code, tt.retry, tt.temporary)
			}
			if f.trackCalls.Load() != 0 {
				t.Errorf("%d tracking calls without a token", f.trackCalls.Load())
			}
		})
	}
}

// withClient returns a copy of a's configuration with another client
// secret, over the same transport.
func withClient(a *Adapter, secret string) *Adapter {
	cfg := a.cfg
	cfg.ClientSecret = secret
	b := New(cfg)
	b.now = a.now
	return b
}

func TestPoll_RemoteErrors(t *testing.T) {
	notFound := []byte(`{"apiVersion":"v3","error":{"code":"404","message":"Resource Not Found","errors":[{"status":"404","code":"020100","title":"Tracking number not found","detail":"The tracking number 9400109104250532908587 was not found."}]}}`)
	tooMany := []byte(`{"apiVersion":"v3","error":{"code":"429","message":"Too Many Requests"}}`)
	tests := []struct {
		name      string
		status    int
		headers   map[string]string
		body      []byte
		want      carriers.RemoteError
		temporary bool
		errHas    string
	}{
		{name: "404 unknown number", status: 404, body: notFound,
			want: carriers.RemoteError{Status: 404, Code: "404", Message: "Resource Not Found; Tracking number not found: The tracking number 9400109104250532908587 was not found."}},
		{name: "400 placeholder error of the spec", status: 400, body: readTestdata(t, "v3_error_placeholder.json"),
			want: carriers.RemoteError{Status: 400, Code: "string", Message: "string"}},
		{name: "400 sub-error code only", status: 400, body: []byte(`{"error":{"message":"Bad Request","errors":[{"code":"010102","detail":"Invalid tracking number"}]}}`),
			want: carriers.RemoteError{Status: 400, Code: "010102", Message: "Bad Request; Invalid tracking number"}},
		{name: "403 not entitled", status: 403, body: []byte(`{"apiVersion":"v3","error":{"code":"403","message":"Forbidden"}}`),
			want: carriers.RemoteError{Status: 403, Code: "403", Message: "Forbidden"}},
		{name: "429 with Retry-After seconds", status: 429, headers: map[string]string{"Retry-After": "30"}, body: tooMany,
			want: carriers.RemoteError{Status: 429, Code: "429", Message: "Too Many Requests", RetryAfter: 30 * time.Second}, temporary: true},
		{name: "429 with Retry-After date", status: 429, headers: map[string]string{"Retry-After": testNow.Add(2 * time.Minute).Format(http.TimeFormat)}, body: tooMany,
			want: carriers.RemoteError{Status: 429, Code: "429", Message: "Too Many Requests", RetryAfter: 2 * time.Minute}, temporary: true},
		{name: "429 with an unreadable Retry-After", status: 429, headers: map[string]string{"Retry-After": "soon"}, body: tooMany,
			want: carriers.RemoteError{Status: 429, Code: "429", Message: "Too Many Requests"}, temporary: true},
		{name: "429 asking for a year", status: 429, headers: map[string]string{"Retry-After": "31536000"}, body: tooMany,
			want: carriers.RemoteError{Status: 429, Code: "429", Message: "Too Many Requests", RetryAfter: 24 * time.Hour}, temporary: true},
		{name: "503 with Retry-After", status: 503, headers: map[string]string{"Retry-After": "5"},
			body: []byte(`{"apiVersion":"v3","error":{"code":"503","message":"Service Unavailable"}}`),
			want: carriers.RemoteError{Status: 503, Code: "503", Message: "Service Unavailable", RetryAfter: 5 * time.Second}, temporary: true},
		{name: "500 from a proxy", status: 500, headers: map[string]string{"Content-Type": "text/html"}, body: []byte("<html>oops</html>"),
			want: carriers.RemoteError{Status: 500}, temporary: true},
		{name: "502 empty", status: 502, want: carriers.RemoteError{Status: 502}, temporary: true},
		{name: "200 with a malformed body", status: 200, body: readTestdata(t, pollFixture)[:300],
			want: carriers.RemoteError{Status: 200}, errHas: "malformed answer"},
		{name: "200 with an HTML body", status: 200, body: []byte(`<html>maintenance</html>`),
			want: carriers.RemoteError{Status: 200}, errHas: "malformed answer"},
		{name: "200 with an array", status: 200, body: []byte(`[]`),
			want: carriers.RemoteError{Status: 200}, errHas: "malformed answer"},
		{name: "200 without a tracking number", status: 200, body: []byte(`{"trackingEvents":[]}`),
			want: carriers.RemoteError{Status: 200}, errHas: `no "trackingNumber"`},
		{name: "error inside a 200", status: 200, body: notFound,
			want:   carriers.RemoteError{Status: 200, Code: "404", Message: "Resource Not Found; Tracking number not found: The tracking number 9400109104250532908587 was not found."},
			errHas: "inside an HTTP 200 answer"},
		{name: "answer too large", status: 200, body: bytes.Repeat([]byte(" "), MaxAnswerBytes+1),
			want: carriers.RemoteError{Status: 200}, errHas: "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := pollAdapter(t, newFakeUSPS(t, serve(tt.status, tt.headers, tt.body)))
			body, err := a.Poll(context.Background(), testNumber)
			var re *carriers.RemoteError
			if !errors.As(err, &re) {
				t.Fatalf("Poll = %q, %v; want a *carriers.RemoteError", body, err)
			}
			if body != nil {
				t.Errorf("Poll returned a body with its error")
			}
			if re.Status != tt.want.Status || re.Code != tt.want.Code || re.Message != tt.want.Message || re.RetryAfter != tt.want.RetryAfter {
				t.Errorf("RemoteError{Status %d, Code %q, Message %q, RetryAfter %v}\nwant        {Status %d, Code %q, Message %q, RetryAfter %v}",
					re.Status, re.Code, re.Message, re.RetryAfter, tt.want.Status, tt.want.Code, tt.want.Message, tt.want.RetryAfter)
			}
			if re.Temporary() != tt.temporary {
				t.Errorf("Temporary() = %v, want %v", re.Temporary(), tt.temporary)
			}
			if tt.errHas != "" && !strings.Contains(err.Error(), tt.errHas) {
				t.Errorf("error %q does not say %q", err, tt.errHas)
			}
		})
	}
}

func TestPoll_Timeout(t *testing.T) {
	release := make(chan struct{})
	f := newFakeUSPS(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	a := pollAdapter(t, f)
	defer close(release)
	a.cfg.Timeout = 100 * time.Millisecond
	start := time.Now()
	_, err := a.Poll(context.Background(), testNumber)
	var re *carriers.RemoteError
	if !errors.As(err, &re) || re.Status != 0 || !re.Temporary() || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Poll = %v, want a temporary RemoteError with no status, wrapping context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("Poll took %v; Config.Timeout was not applied", d)
	}
}

func TestPoll_TimeoutFetchingTheToken(t *testing.T) {
	release := make(chan struct{})
	f := newFakeUSPS(t, serve(200, nil, readTestdata(t, pollFixture)))
	f.tokenFail = func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}
	a := pollAdapter(t, f)
	defer close(release)
	a.cfg.Timeout = 100 * time.Millisecond
	_, err := a.Poll(context.Background(), testNumber)
	var re *carriers.RemoteError
	if !errors.As(err, &re) || re.Status != 0 || !re.Temporary() {
		t.Fatalf("Poll = %v, want a temporary RemoteError with no status", err)
	}
}

func TestPoll_CallerCancels(t *testing.T) {
	a := pollAdapter(t, newFakeUSPS(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := a.Poll(ctx, testNumber)
	var re *carriers.RemoteError
	if !errors.As(err, &re) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Poll = %v, want a RemoteError wrapping context.Canceled", err)
	}
}

func TestPoll_NoServer(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	a := New(Config{ClientID: testClientID, ClientSecret: testClientSecret, BaseURL: srv.URL})
	_, err := a.Poll(context.Background(), testNumber)
	var re *carriers.RemoteError
	if !errors.As(err, &re) || re.Status != 0 || !re.Temporary() {
		t.Fatalf("Poll = %v, want a temporary RemoteError with no status", err)
	}
}

func TestPoll_Refusals(t *testing.T) {
	f := newFakeUSPS(t, serve(200, nil, readTestdata(t, pollFixture)))
	a := pollAdapter(t, f)
	if _, err := a.Poll(context.Background(), " - "); err == nil {
		t.Error("Poll of no number = nil error")
	}
	b := New(Config{BaseURL: f.srv.URL, ClientID: testClientID})
	if _, err := b.Poll(context.Background(), testNumber); err == nil || !strings.Contains(err.Error(), "TRACKD_USPS_CLIENT_SECRET") {
		t.Errorf("Poll without a client secret = %v", err)
	}
	if f.tokens.Load() != 0 || f.trackCalls.Load() != 0 {
		t.Errorf("%d token and %d tracking requests sent for polls that could not be made", f.tokens.Load(), f.trackCalls.Load())
	}
}

func TestPoll_NumberIsEscaped(t *testing.T) {
	f := newFakeUSPS(t, serve(404, nil, nil))
	a := pollAdapter(t, f)
	a.Poll(context.Background(), "EC/123?456#US")
	got := f.lastRequest()
	if got == nil || got.URL.EscapedPath() != "/tracking/v3/tracking/EC%2F123%3F456%23US" || got.URL.RawQuery != "expand=DETAIL" {
		t.Errorf("request %v, want the number escaped in the path", got.URL)
	}
}

func TestPoll_NoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		fixture := readTestdata(t, pollFixture)
		f := newFakeUSPS(t, func(w http.ResponseWriter, r *http.Request) {
			switch {
			case strings.HasSuffix(r.URL.Path, "/SLOW"):
				<-r.Context().Done()
			case strings.HasSuffix(r.URL.Path, "/500"):
				serve(500, nil, []byte("oops"))(w, r)
			default:
				serve(200, nil, fixture)(w, r)
			}
		})
		defer f.srv.Close()
		tr := &http.Transport{}
		defer tr.CloseIdleConnections()
		a := New(Config{ClientID: testClientID, ClientSecret: testClientSecret, BaseURL: f.srv.URL,
			Timeout: 50 * time.Millisecond, HTTPClient: &http.Client{Transport: tr}})
		for range 20 {
			a.Poll(context.Background(), testNumber)
			a.Poll(context.Background(), "500")
			a.Poll(context.Background(), "SLOW")
		}
	}()
	// Connections wind down asynchronously once closed: wait for the
	// count to come back, up to a deadline.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines before, %d after:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestConfigFromEnv_Variables(t *testing.T) {
	env := map[string]string{
		"TRACKD_USPS_CLIENT_ID":      " key ",
		"TRACKD_USPS_CLIENT_SECRET":  "secret\n",
		"TRACKD_USPS_WEBHOOK_SECRET": " whsec ",
		"TRACKD_USPS_BASE_URL":       "https://apis-tem.usps.com/",
	}
	cfg := ConfigFromEnv(func(k string) string { return env[k] })
	if cfg.ClientID != "key" || cfg.ClientSecret != "secret" || cfg.WebhookSecret != "whsec" || cfg.BaseURL != "https://apis-tem.usps.com/" {
		t.Errorf("ConfigFromEnv = %+v", cfg)
	}
	a := New(cfg)
	if a.cfg.BaseURL != "https://apis-tem.usps.com" || a.cfg.Timeout != DefaultTimeout || !a.oauth.Configured() {
		t.Errorf("New(%+v) configured %+v", cfg, a.cfg)
	}
	d := New(ConfigFromEnv(func(string) string { return "" }))
	if d.cfg.BaseURL != DefaultBaseURL || d.oauth.Configured() {
		t.Errorf("default BaseURL = %q, configured %v", d.cfg.BaseURL, d.oauth.Configured())
	}
	if a.Slug() != "usps" || a.Name() != "USPS" {
		t.Errorf("Slug, Name = %q, %q", a.Slug(), a.Name())
	}
	if a.Detect(testNumber) < 0.9 || a.Detect("1Z999AA10123456784") != 0 {
		t.Errorf("Detect does not call the package's Detect")
	}
}
