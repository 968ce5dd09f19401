package ups

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
	testClientID     = "ups-app-id"
	testClientSecret = "ups-app-secret"
	testAccount      = "A1B2C3"
	testNumber       = "1Z1442YY7229014688"
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

// fakeUPS is a local UPS: its token endpoint issues tok-1, tok-2, ...
// to the test app in UPS's own answer shape (expires_in as a string), and
// its Track API answers with track.
type fakeUPS struct {
	*httptest.Server
	mu          sync.Mutex
	issued      int
	tokenStatus int // when set, every token request fails with it
	tokenReqs   []*http.Request
	trackReqs   []*http.Request
	track       http.HandlerFunc
}

func (f *fakeUPS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/security/v1/oauth/token":
		f.serveToken(w, r)
	case strings.HasPrefix(r.URL.Path, "/api/track/v1/details/"):
		f.mu.Lock()
		f.trackReqs = append(f.trackReqs, r.Clone(context.Background()))
		f.mu.Unlock()
		f.track(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeUPS) serveToken(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r.ParseForm()
	f.tokenReqs = append(f.tokenReqs, r.Clone(context.Background()))
	w.Header().Set("Content-Type", "application/json")
	id, secret, ok := r.BasicAuth()
	switch {
	case f.tokenStatus != 0:
		w.WriteHeader(f.tokenStatus)
		fmt.Fprint(w, `{"response":{"errors":[{"code":"10401","message":"ClientId is Invalid"}]}}`)
	case r.Method != http.MethodPost || r.PostForm.Get("grant_type") != "client_credentials":
		w.WriteHeader(400)
		fmt.Fprint(w, `{"response":{"errors":[{"code":"10400","message":"Invalid/Missing Grant Type"}]}}`)
	case !ok || id != testClientID || secret != testClientSecret:
		w.WriteHeader(401)
		fmt.Fprint(w, `{"response":{"errors":[{"code":"10401","message":"ClientId is Invalid"}]}}`)
	default:
		f.issued++
		fmt.Fprintf(w, `{"token_type":"Bearer","issued_at":"1795618800000","client_id":%q,"access_token":"tok-%d","expires_in":"14399","status":"approved"}`,
			testClientID, f.issued)
	}
}

func (f *fakeUPS) counts() (tokens, tracks int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.issued, len(f.trackReqs)
}

// pollServer is a local UPS answering the Track API with track, and an
// adapter pointed at it; the test fails if a response body is left open.
func pollServer(t *testing.T, track http.HandlerFunc) (*Adapter, *fakeUPS) {
	t.Helper()
	f := &fakeUPS{track: track}
	f.Server = httptest.NewServer(f)
	counter := &bodyCounter{base: &http.Transport{}}
	t.Cleanup(func() {
		if n := counter.open.Load(); n != 0 {
			t.Errorf("%d response bodies left open", n)
		}
		counter.base.CloseIdleConnections()
		f.Close()
	})
	a := New(Config{
		ClientID: testClientID, ClientSecret: testClientSecret, AccountNumber: testAccount,
		BaseURL: f.URL + "/", Timeout: 5 * time.Second, HTTPClient: &http.Client{Transport: counter},
	})
	a.now = func() time.Time { return testNow }
	return a, f
}

// serve answers every request with status, headers and body.
func serve(status int, headers map[string]string, body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for k, v := range headers {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write(body)
	}
}

func TestPoll_Success(t *testing.T) {
	fixture := readTestdata(t, postmanPoll)
	a, f := pollServer(t, serve(200, nil, fixture))
	body, err := a.Poll(context.Background(), " 1z1442yy 7229014688 ")
	if err != nil {
		t.Fatalf("Poll = %v", err)
	}
	if !bytes.Equal(body, fixture) {
		t.Error("Poll did not return the answer as received")
	}
	req := f.trackReqs[0]
	if req.Method != http.MethodGet || req.URL.Path != "/api/track/v1/details/"+testNumber ||
		req.URL.Query().Get("locale") != "en_US" || req.URL.Query().Get("returnSignature") != "false" {
		t.Errorf("request %s %s", req.Method, req.URL)
	}
	if got := req.Header.Get("Authorization"); got != "Bearer tok-1" {
		t.Errorf("Authorization = %q", got)
	}
	if id := req.Header.Get("transId"); id == "" || len(id) > 32 {
		t.Errorf("transId = %q, want 1 to 32 characters", id)
	}
	if src := req.Header.Get("transactionSrc"); src != "trackd" {
		t.Errorf("transactionSrc = %q", src)
	}
	tr := f.tokenReqs[0]
	if id, secret, ok := tr.BasicAuth(); !ok || id != testClientID || secret != testClientSecret {
		t.Errorf("token request not authenticated with HTTP Basic: %q", tr.Header.Get("Authorization"))
	}
	if tr.PostForm.Get("client_secret") != "" {
		t.Error("the client secret was sent in the form too")
	}
	if got := tr.Header.Get("x-merchant-id"); got != testAccount {
		t.Errorf("token request x-merchant-id = %q, want %q", got, testAccount)
	}
	us, err := a.ParsePoll(body)
	if err != nil || len(us) != 1 || us[0].TrackingNumber != testNumber {
		t.Errorf("ParsePoll(Poll answer) = %+v, %v", us, err)
	}
}

func TestPoll_TokenIsReusedAndTransIDsDiffer(t *testing.T) {
	a, f := pollServer(t, serve(200, nil, readTestdata(t, postmanPoll)))
	for range 3 {
		if _, err := a.Poll(context.Background(), testNumber); err != nil {
			t.Fatal(err)
		}
	}
	if tokens, tracks := f.counts(); tokens != 1 || tracks != 3 {
		t.Errorf("%d tokens for %d polls, want 1 for 3", tokens, tracks)
	}
	seen := map[string]bool{}
	for _, r := range f.trackReqs {
		seen[r.Header.Get("transId")] = true
	}
	if len(seen) != 3 {
		t.Errorf("%d distinct transIds in 3 requests", len(seen))
	}
}

func TestPoll_NoAccountNumberNoMerchantID(t *testing.T) {
	a, f := pollServer(t, serve(200, nil, readTestdata(t, postmanPoll)))
	a2 := New(Config{ClientID: testClientID, ClientSecret: testClientSecret, BaseURL: f.URL, HTTPClient: a.cfg.HTTPClient})
	if _, err := a2.Poll(context.Background(), testNumber); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.tokenReqs[0].Header["X-Merchant-Id"]; ok {
		t.Error("x-merchant-id sent without an account number")
	}
}

func TestPoll_RefreshesTheTokenOn401(t *testing.T) {
	fixture := readTestdata(t, postmanPoll)
	var calls atomic.Int64
	a, f := pollServer(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			serve(401, nil, []byte(`{"response":{"errors":[{"code":"250002","message":"Invalid Authentication Information."}]}}`))(w, r)
			return
		}
		serve(200, nil, fixture)(w, r)
	})
	body, err := a.Poll(context.Background(), testNumber)
	if err != nil || !bytes.Equal(body, fixture) {
		t.Fatalf("Poll = %v", err)
	}
	if tokens, tracks := f.counts(); tokens != 2 || tracks != 2 {
		t.Errorf("%d tokens, %d requests; want 2 and 2", tokens, tracks)
	}
	if got := f.trackReqs[1].Header.Get("Authorization"); got != "Bearer tok-2" {
		t.Errorf("retry Authorization = %q, want the new token", got)
	}
	if f.trackReqs[0].Header.Get("transId") == f.trackReqs[1].Header.Get("transId") {
		t.Error("the retry reused the transId")
	}
	// The new token serves the next poll.
	if _, err := a.Poll(context.Background(), testNumber); err != nil {
		t.Fatal(err)
	}
	if tokens, _ := f.counts(); tokens != 2 {
		t.Errorf("%d tokens after a third poll, want 2", tokens)
	}
}

func TestPoll_401Twice(t *testing.T) {
	a, f := pollServer(t, serve(401, nil, []byte(`{"response":{"errors":[{"code":"250002","message":"Invalid Authentication Information."}]}}`)))
	_, err := a.Poll(context.Background(), testNumber)
	var re *carriers.RemoteError
	if !errors.As(err, &re) || re.Status != 401 || re.Code != "250002" || re.Message != "Invalid Authentication Information." || re.Temporary() {
		t.Fatalf("Poll = %v, want a permanent RemoteError 401 250002", err)
	}
	if tokens, tracks := f.counts(); tokens != 2 || tracks != 2 {
		t.Errorf("%d tokens, %d requests; want one retry with a fresh token", tokens, tracks)
	}
}

func TestPoll_TokenRefused(t *testing.T) {
	for _, status := range []int{401, 503} {
		a, f := pollServer(t, serve(200, nil, readTestdata(t, postmanPoll)))
		f.tokenStatus = status
		_, err := a.Poll(context.Background(), testNumber)
		var re *carriers.RemoteError
		if !errors.As(err, &re) || re.Status != status || re.Temporary() != (status >= 500) {
			t.Errorf("token endpoint %d: Poll = %v", status, err)
		}
		if _, tracks := f.counts(); tracks != 0 {
			t.Errorf("token endpoint %d: the Track API was asked without a token", status)
		}
	}
}

func TestPoll_RemoteErrors(t *testing.T) {
	notFound := readTestdata(t, "karrio_tracking_number_not_found_response.json")
	invalid := readTestdata(t, "karrio_invalid_tracking_number_response.json")
	auth := readTestdata(t, "karrio_auth_error.json")
	tooMany := []byte(`{"response":{"errors":[{"code":"10429","message":"Too Many Requests"}]}}`)
	tests := []struct {
		name      string
		status    int
		headers   map[string]string
		body      []byte
		want      carriers.RemoteError
		temporary bool
		notFound  bool
		errHas    string
	}{
		{name: "400 invalid inquiry number", status: 400, body: invalid,
			want: carriers.RemoteError{Status: 400, Code: "TV1002", Message: "Invalid inquiry number"}},
		{name: "403 blocked merchant", status: 403, body: auth,
			want: carriers.RemoteError{Status: 403, Code: "250003", Message: "Invalid Access License number"}},
		{name: "404 not found", status: 404,
			body: []byte(`{"response":{"errors":[{"code":"TW0001","message":"Tracking Information Not Found"}]}}`),
			want: carriers.RemoteError{Status: 404, Code: "TW0001", Message: "Tracking Information Not Found"}, notFound: true},
		{name: "404 from something else", status: 404, body: []byte("<html>no route</html>"),
			want: carriers.RemoteError{Status: 404}},
		{name: "200 with only a not-found warning", status: 200, body: notFound,
			want: carriers.RemoteError{Status: 200, Code: "TW0001", Message: "Tracking Information Not Found"}, notFound: true,
			errHas: "holds no package"},
		{name: "200 with no shipment", status: 200, body: []byte(`{"trackResponse":{"shipment":[]}}`),
			want: carriers.RemoteError{Status: 200}, notFound: true},
		{name: "error inside a 200", status: 200, body: invalid,
			want: carriers.RemoteError{Status: 200, Code: "TV1002", Message: "Invalid inquiry number"}, errHas: "inside an HTTP 200 answer"},
		{name: "not found inside a 200", status: 200,
			body: []byte(`{"response":{"errors":[{"code":"TW0001","message":"Tracking Information Not Found"}]}}`),
			want: carriers.RemoteError{Status: 200, Code: "TW0001", Message: "Tracking Information Not Found"}, notFound: true},
		{name: "429 with Retry-After seconds", status: 429, headers: map[string]string{"Retry-After": "30"}, body: tooMany,
			want: carriers.RemoteError{Status: 429, Code: "10429", Message: "Too Many Requests", RetryAfter: 30 * time.Second}, temporary: true},
		{name: "429 with Retry-After date", status: 429,
			headers: map[string]string{"Retry-After": testNow.Add(2 * time.Minute).Format(http.TimeFormat)}, body: tooMany,
			want: carriers.RemoteError{Status: 429, Code: "10429", Message: "Too Many Requests", RetryAfter: 2 * time.Minute}, temporary: true},
		{name: "429 without Retry-After", status: 429, body: tooMany,
			want: carriers.RemoteError{Status: 429, Code: "10429", Message: "Too Many Requests"}, temporary: true},
		{name: "429 asking for a year", status: 429, headers: map[string]string{"Retry-After": "31536000"}, body: tooMany,
			want: carriers.RemoteError{Status: 429, Code: "10429", Message: "Too Many Requests", RetryAfter: 24 * time.Hour}, temporary: true},
		{name: "500", status: 500, body: []byte(`{"response":{"errors":[{"code":"10004","message":"Something went wrong"}]}}`),
			want: carriers.RemoteError{Status: 500, Code: "10004", Message: "Something went wrong"}, temporary: true},
		{name: "502 from a proxy", status: 502, body: []byte("<html>bad gateway</html>"),
			want: carriers.RemoteError{Status: 502}, temporary: true},
		{name: "503 with Retry-After", status: 503, headers: map[string]string{"Retry-After": "5"}, body: nil,
			want: carriers.RemoteError{Status: 503, RetryAfter: 5 * time.Second}, temporary: true},
		{name: "200 with a malformed body", status: 200, body: []byte(`{"trackResponse":{"shipment":[`),
			want: carriers.RemoteError{Status: 200}, errHas: "malformed answer"},
		{name: "200 with an HTML body", status: 200, body: []byte(`<html>maintenance</html>`),
			want: carriers.RemoteError{Status: 200}, errHas: "malformed answer"},
		{name: "200 without trackResponse", status: 200, body: []byte(`{}`),
			want: carriers.RemoteError{Status: 200}, errHas: `no "trackResponse"`},
		{name: "200 with packages of the wrong type", status: 200, body: []byte(`{"trackResponse":{"shipment":[{"package":"x"}]}}`),
			want: carriers.RemoteError{Status: 200}, errHas: "malformed answer"},
		{name: "answer too large", status: 200, body: bytes.Repeat([]byte(" "), MaxAnswerBytes+1),
			want: carriers.RemoteError{Status: 200}, errHas: "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, _ := pollServer(t, serve(tt.status, tt.headers, tt.body))
			body, err := a.Poll(context.Background(), testNumber)
			var re *carriers.RemoteError
			if !errors.As(err, &re) {
				t.Fatalf("Poll = %.100q, %v; want a *carriers.RemoteError", body, err)
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
			if errors.Is(err, ErrNotFound) != tt.notFound {
				t.Errorf("errors.Is(%v, ErrNotFound) = %v, want %v", err, !tt.notFound, tt.notFound)
			}
			if tt.errHas != "" && !strings.Contains(err.Error(), tt.errHas) {
				t.Errorf("error %q does not say %q", err, tt.errHas)
			}
		})
	}
}

// UPS's documentation sample carries a warning beside its package: the
// package is what counts.
func TestPoll_WarningBesideAPackage(t *testing.T) {
	fixture := readTestdata(t, docPoll)
	a, _ := pollServer(t, serve(200, nil, fixture))
	if body, err := a.Poll(context.Background(), testNumber); err != nil || !bytes.Equal(body, fixture) {
		t.Fatalf("Poll = %v", err)
	}
}

func TestPoll_Timeout(t *testing.T) {
	release := make(chan struct{})
	a, _ := pollServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release)
	a.cfg.Timeout = 50 * time.Millisecond
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

func TestPoll_TimeoutCoversTheTokenRequest(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The server notices a client gone only once the body is read.
		io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	a := New(Config{ClientID: testClientID, ClientSecret: testClientSecret, BaseURL: srv.URL,
		Timeout: 50 * time.Millisecond, HTTPClient: &http.Client{Transport: tr}})
	start := time.Now()
	_, err := a.Poll(context.Background(), testNumber)
	var re *carriers.RemoteError
	if !errors.As(err, &re) || re.Status != 0 || !re.Temporary() {
		t.Fatalf("Poll = %v, want a temporary RemoteError with no status", err)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("Poll took %v", d)
	}
}

func TestPoll_CallerCancels(t *testing.T) {
	a, _ := pollServer(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := a.Poll(ctx, testNumber)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Poll = %v, want context.Canceled", err)
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
	a, f := pollServer(t, serve(200, nil, nil))
	for _, n := range []string{"", " - ", strings.Repeat("1", maxTrackingNumber+1)} {
		if _, err := a.Poll(context.Background(), n); err == nil {
			t.Errorf("Poll(%q) = nil error", n)
		}
	}
	noCreds := New(Config{BaseURL: f.URL, ClientID: testClientID})
	if _, err := noCreds.Poll(context.Background(), testNumber); err == nil || !strings.Contains(err.Error(), "TRACKD_UPS_CLIENT_SECRET") {
		t.Errorf("Poll without credentials = %v", err)
	}
	if tokens, tracks := f.counts(); tokens != 0 || tracks != 0 {
		t.Errorf("%d token and %d track requests sent for polls that could not be made", tokens, tracks)
	}
}

func TestPoll_PathIsEscaped(t *testing.T) {
	a, f := pollServer(t, serve(404, nil, nil))
	a.Poll(context.Background(), "1Z/../../security?x=1#")
	if len(f.trackReqs) != 1 || f.trackReqs[0].URL.EscapedPath() != "/api/track/v1/details/1Z%2F..%2F..%2FSECURITY%3FX=1%23" {
		t.Errorf("requests %v", f.trackReqs)
	}
}

func TestPoll_NoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		fixture := readTestdata(t, postmanPoll)
		f := &fakeUPS{track: func(w http.ResponseWriter, r *http.Request) {
			switch {
			case strings.HasSuffix(r.URL.Path, "SLOW"):
				<-r.Context().Done()
			case strings.HasSuffix(r.URL.Path, "500"):
				serve(500, nil, []byte("oops"))(w, r)
			default:
				serve(200, nil, fixture)(w, r)
			}
		}}
		f.Server = httptest.NewServer(f)
		defer f.Close()
		tr := &http.Transport{}
		defer tr.CloseIdleConnections()
		a := New(Config{ClientID: testClientID, ClientSecret: testClientSecret, BaseURL: f.URL,
			Timeout: 50 * time.Millisecond, HTTPClient: &http.Client{Transport: tr}})
		for range 20 {
			a.Poll(context.Background(), testNumber)
			a.Poll(context.Background(), "1Z500")
			a.Poll(context.Background(), "1ZSLOW")
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
		"TRACKD_UPS_CLIENT_ID":         " id ",
		"TRACKD_UPS_CLIENT_SECRET":     "secret\n",
		"TRACKD_UPS_ACCOUNT_NUMBER":    "A1B2C3",
		"TRACKD_UPS_BASE_URL":          "https://wwwcie.ups.com/",
		"TRACKD_UPS_WEBHOOK_SECRET":    " whsec ",
		"TRACKD_UPS_WEBHOOK_CLIENT_ID": "trackd",
	}
	cfg := ConfigFromEnv(func(k string) string { return env[k] })
	want := Config{ClientID: "id", ClientSecret: "secret", AccountNumber: "A1B2C3", BaseURL: "https://wwwcie.ups.com/",
		WebhookSecret: "whsec", WebhookClientID: "trackd"}
	if cfg != want {
		t.Errorf("ConfigFromEnv = %+v\nwant %+v", cfg, want)
	}
	a := New(cfg)
	if a.cfg.BaseURL != "https://wwwcie.ups.com" || a.cfg.Timeout != DefaultTimeout || a.cfg.HTTPClient == nil || a.tokenKey == nil {
		t.Errorf("New(%+v) configured %+v", cfg, a.cfg)
	}
	d := New(ConfigFromEnv(func(string) string { return "" }))
	if d.cfg.BaseURL != DefaultBaseURL || d.cfg.WebhookClientID != "ups" || d.tokenKey != nil || d.tokens.Configured() {
		t.Errorf("defaults %+v", d.cfg)
	}
	if a.Slug() != "ups" || a.Name() != "UPS" || a.Detect("1Z 999 AA1 0123456784") != confident1Z {
		t.Errorf("Slug, Name, Detect = %q, %q, %v", a.Slug(), a.Name(), a.Detect("1Z 999 AA1 0123456784"))
	}
}
