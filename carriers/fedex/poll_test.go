package fedex

import (
	"bytes"
	"context"
	"encoding/json"
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
	testClientID     = "l7xx-test-client-id"
	testClientSecret = "test-client-secret"
	testNumber       = "738488882438"
)

// bodyCounter is a transport that counts the response bodies not yet
// closed, so every test can check that Poll (and the token fetch) closes
// what it opens.
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

// fakeFedEx is a local FedEx: an OAuth token endpoint that issues tok-1,
// tok-2, ... and a track endpoint that refuses any other Bearer token with
// FedEx's documented 401, then answers with track.
type fakeFedEx struct {
	t *testing.T
	// track answers a request that carries a valid token.
	track http.HandlerFunc
	// token, when set, answers the token requests instead.
	token http.HandlerFunc

	mu          sync.Mutex
	valid       map[string]bool
	tokenCalls  int
	trackCalls  int
	tokenForms  []map[string][]string
	tokenAuth   []string
	trackReqs   []*http.Request
	trackBodies [][]byte
}

func (f *fakeFedEx) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/oauth/token":
		f.mu.Lock()
		f.tokenCalls++
		n := f.tokenCalls
		if err := r.ParseForm(); err != nil {
			f.t.Errorf("token request form: %v", err)
		}
		f.tokenForms = append(f.tokenForms, r.PostForm)
		f.tokenAuth = append(f.tokenAuth, r.Header.Get("Authorization"))
		f.mu.Unlock()
		if f.token != nil {
			f.token(w, r)
			return
		}
		tok := fmt.Sprintf("tok-%d", n)
		f.mu.Lock()
		f.valid[tok] = true
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":%q,"token_type":"bearer","expires_in":3599,"scope":"CXS"}`, tok)
	case trackPath:
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.trackCalls++
		f.trackReqs = append(f.trackReqs, r.Clone(context.Background()))
		f.trackBodies = append(f.trackBodies, body)
		ok := f.valid[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
		f.mu.Unlock()
		if !ok {
			serve(http.StatusUnauthorized, nil, readTestdata(f.t, "spec_error_401.json"))(w, r)
			return
		}
		f.track(w, r)
	default:
		f.t.Errorf("unexpected request %s %s", r.Method, r.URL)
		http.NotFound(w, r)
	}
}

// revoke makes every token issued so far invalid, as FedEx does when one
// expires early.
func (f *fakeFedEx) revoke() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.valid)
}

func (f *fakeFedEx) calls() (token, track int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tokenCalls, f.trackCalls
}

// pollServer is a local FedEx answering track requests with track, and an
// adapter pointed at it; the test fails if a response body is left open.
func pollServer(t *testing.T, track http.HandlerFunc) (*Adapter, *fakeFedEx) {
	t.Helper()
	f := &fakeFedEx{t: t, track: track, valid: map[string]bool{}}
	srv := httptest.NewServer(f)
	counter := &bodyCounter{base: &http.Transport{}}
	t.Cleanup(func() {
		if n := counter.open.Load(); n != 0 {
			t.Errorf("%d response bodies left open", n)
		}
		counter.base.CloseIdleConnections()
		srv.Close()
	})
	a := New(Config{
		ClientID: testClientID, ClientSecret: testClientSecret,
		BaseURL: srv.URL + "/", Timeout: 5 * time.Second,
		HTTPClient: &http.Client{Transport: counter},
	})
	a.now = func() time.Time { return testNow }
	return a, f
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

func TestPoll_RequestAndAnswer(t *testing.T) {
	fixture := readTestdata(t, "track_delivered_mixed_offsets.json")
	a, f := pollServer(t, serve(200, nil, fixture))
	body, err := a.Poll(context.Background(), " 7384 8888 2438 ")
	if err != nil {
		t.Fatalf("Poll = %v", err)
	}
	if !bytes.Equal(body, fixture) {
		t.Error("Poll did not return the answer as received")
	}

	// The token request: client credentials in the form, not in a header.
	form := f.tokenForms[0]
	if got := fmt.Sprint(form["grant_type"], form["client_id"], form["client_secret"]); got != "[client_credentials] ["+testClientID+"] ["+testClientSecret+"]" {
		t.Errorf("token form = %v", form)
	}
	if f.tokenAuth[0] != "" {
		t.Errorf("token request Authorization = %q; FedEx takes the credentials in the form", f.tokenAuth[0])
	}

	// The track request: FedEx's documented headers and body.
	r := f.trackReqs[0]
	if r.Method != http.MethodPost || r.URL.Path != trackPath {
		t.Errorf("request %s %s, want POST %s", r.Method, r.URL.Path, trackPath)
	}
	for h, want := range map[string]string{"Authorization": "Bearer tok-1", "Content-Type": "application/json", "X-Locale": "en_US"} {
		if got := r.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	var sent any
	if err := json.Unmarshal(f.trackBodies[0], &sent); err != nil {
		t.Fatal(err)
	}
	var want any
	json.Unmarshal([]byte(`{"includeDetailedScans":true,"trackingInfo":[{"trackingNumberInfo":{"trackingNumber":"738488882438"}}]}`), &want)
	if fmt.Sprint(sent) != fmt.Sprint(want) {
		t.Errorf("request body %s", f.trackBodies[0])
	}

	us, err := a.ParsePoll(body)
	if err != nil || len(us) != 1 || us[0].TrackingNumber != testNumber || len(us[0].Events) != 17 {
		t.Errorf("ParsePoll(Poll answer) = %d updates, %v", len(us), err)
	}
}

func TestPoll_TokenIsReused(t *testing.T) {
	a, f := pollServer(t, serve(200, nil, readTestdata(t, "track_delivered_mixed_offsets.json")))
	for range 3 {
		if _, err := a.Poll(context.Background(), testNumber); err != nil {
			t.Fatal(err)
		}
	}
	if tok, tr := f.calls(); tok != 1 || tr != 3 {
		t.Errorf("%d token and %d track requests, want 1 and 3", tok, tr)
	}
}

func TestPoll_ConcurrentPollsShareOneToken(t *testing.T) {
	a, f := pollServer(t, serve(200, nil, readTestdata(t, "track_delivered_mixed_offsets.json")))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := a.Poll(context.Background(), testNumber); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if tok, tr := f.calls(); tok != 1 || tr != 8 {
		t.Errorf("%d token and %d track requests, want 1 and 8", tok, tr)
	}
}

func TestPoll_TokenRefreshedOn401(t *testing.T) {
	a, f := pollServer(t, serve(200, nil, readTestdata(t, "track_delivered_mixed_offsets.json")))
	if _, err := a.Poll(context.Background(), testNumber); err != nil {
		t.Fatal(err)
	}
	f.revoke()
	if _, err := a.Poll(context.Background(), testNumber); err != nil {
		t.Fatalf("Poll after the token was revoked = %v", err)
	}
	if tok, tr := f.calls(); tok != 2 || tr != 3 {
		t.Errorf("%d token and %d track requests, want 2 and 3 (the refused one retried once)", tok, tr)
	}
	// The retry carries the new token and the same body.
	if got := f.trackReqs[2].Header.Get("Authorization"); got != "Bearer tok-2" {
		t.Errorf("retry Authorization = %q", got)
	}
	if !bytes.Equal(f.trackBodies[1], f.trackBodies[2]) || len(f.trackBodies[2]) == 0 {
		t.Errorf("retry body %q, first %q", f.trackBodies[2], f.trackBodies[1])
	}
}

func TestPoll_401Twice(t *testing.T) {
	a, f := pollServer(t, nil)
	f.track = func(w http.ResponseWriter, r *http.Request) {
		f.revoke()
		serve(401, nil, readTestdata(t, "spec_error_401.json"))(w, r)
	}
	_, err := a.Poll(context.Background(), testNumber)
	var re *carriers.RemoteError
	if !errors.As(err, &re) || re.Status != 401 || re.Code != "NOT.AUTHORIZED.ERROR" ||
		re.Message != "Access token expired. Please modify your request and try again." || re.Temporary() {
		t.Fatalf("Poll = %v, want FedEx's 401", err)
	}
	if tok, tr := f.calls(); tok != 2 || tr != 2 {
		t.Errorf("%d token and %d track requests, want 2 and 2 (one retry, no more)", tok, tr)
	}
}

func TestPoll_TokenRefused(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		headers   map[string]string
		body      string
		want      carriers.RemoteError
		temporary bool
	}{
		{name: "bad credentials, FedEx's shape", status: 401,
			body: `{"transactionId":"x","errors":[{"code":"NOT.AUTHORIZED.ERROR","message":"The given client credentials were not valid."}]}`,
			want: carriers.RemoteError{Status: 401}},
		{name: "bad credentials, OAuth's shape", status: 401,
			body: `{"error":"invalid_client","error_description":"Client authentication failed"}`,
			want: carriers.RemoteError{Status: 401, Code: "invalid_client", Message: "Client authentication failed"}},
		{name: "token endpoint rate-limited", status: 429, headers: map[string]string{"Retry-After": "60"},
			body: `{"errors":[{"code":"TOO.MANY.REQUESTS"}]}`,
			want: carriers.RemoteError{Status: 429, RetryAfter: time.Minute}, temporary: true},
		{name: "token endpoint down", status: 503, body: `<html>down</html>`,
			want: carriers.RemoteError{Status: 503}, temporary: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, f := pollServer(t, serve(200, nil, readTestdata(t, "track_delivered_mixed_offsets.json")))
			f.token = serve(tt.status, tt.headers, []byte(tt.body))
			_, err := a.Poll(context.Background(), testNumber)
			var re *carriers.RemoteError
			if !errors.As(err, &re) {
				t.Fatalf("Poll = %v, want a RemoteError", err)
			}
			if re.Status != tt.want.Status || re.Code != tt.want.Code || re.Message != tt.want.Message || re.Temporary() != tt.temporary {
				t.Errorf("RemoteError{Status %d, Code %q, Message %q, Temporary %v}, want %+v temporary %v",
					re.Status, re.Code, re.Message, re.Temporary(), tt.want, tt.temporary)
			}
			if tt.want.RetryAfter != 0 && re.RetryAfter <= 0 {
				t.Errorf("RetryAfter = %v, want about %v", re.RetryAfter, tt.want.RetryAfter)
			}
			if _, tr := f.calls(); tr != 0 {
				t.Errorf("%d track requests without a token", tr)
			}
		})
	}
}

func TestPoll_RemoteErrors(t *testing.T) {
	tooMany := []byte(`{"transactionId":"x","errors":[{"code":"TOO.MANY.REQUESTS.ERROR","message":"We have received too many requests in a short duration."}]}`)
	const tooManyMsg = "We have received too many requests in a short duration."
	tests := []struct {
		name      string
		number    string
		status    int
		headers   map[string]string
		body      []byte
		want      carriers.RemoteError
		temporary bool
		notFound  bool
		errHas    string
	}{
		{name: "400 no tracking number", status: 400, body: readTestdata(t, "error_400_empty.json"),
			want: carriers.RemoteError{Status: 400, Code: "TRACKING.TRACKINGNUMBER.EMPTY", Message: "Please provide tracking number."}},
		{name: "403 forbidden", status: 403, body: readTestdata(t, "spec_error_403.json"),
			want: carriers.RemoteError{Status: 403, Code: "FORBIDDEN.ERROR", Message: "We could not authorize your credentials. Please check your permissions and try again."}},
		{name: "404", status: 404, body: readTestdata(t, "spec_error_404.json"),
			want: carriers.RemoteError{Status: 404, Code: "NOT.FOUND.ERROR", Message: "The resource you requested is no longer available. Please modify your request and try again."}},
		{name: "500", status: 500, body: readTestdata(t, "spec_error_500.json"), temporary: true,
			want: carriers.RemoteError{Status: 500, Code: "INTERNAL.SERVER.ERROR", Message: "We encountered an unexpected error and are working to resolve the issue. We apologize for any inconvenience. Please check back at a later time."}},
		{name: "503 with Retry-After", status: 503, headers: map[string]string{"Retry-After": "5"}, body: readTestdata(t, "spec_error_503.json"), temporary: true,
			want: carriers.RemoteError{Status: 503, Code: "SERVICE.UNAVAILABLE.ERROR", RetryAfter: 5 * time.Second,
				Message: "The service is currently unavailable and we are working to resolve the issue. We apologize for any inconvenience. Please check back at a later time."}},
		{name: "502 from a proxy", status: 502, body: []byte("<html>bad gateway</html>"), temporary: true,
			want: carriers.RemoteError{Status: 502}},
		{name: "two errors", status: 400, body: []byte(`{"errors":[{"code":"A","message":"first"},{"code":"B","message":"second"}]}`),
			want: carriers.RemoteError{Status: 400, Code: "A", Message: "first (and 1 more)"}},
		{name: "429 with Retry-After seconds", status: 429, headers: map[string]string{"Retry-After": "30"}, body: tooMany, temporary: true,
			want: carriers.RemoteError{Status: 429, Code: "TOO.MANY.REQUESTS.ERROR", Message: tooManyMsg, RetryAfter: 30 * time.Second}},
		{name: "429 with Retry-After date", status: 429, headers: map[string]string{"Retry-After": testNow.Add(2 * time.Minute).Format(http.TimeFormat)},
			body: tooMany, temporary: true,
			want: carriers.RemoteError{Status: 429, Code: "TOO.MANY.REQUESTS.ERROR", Message: tooManyMsg, RetryAfter: 2 * time.Minute}},
		{name: "429 with a Retry-After in the past", status: 429, headers: map[string]string{"Retry-After": testNow.Add(-time.Hour).Format(http.TimeFormat)},
			body: tooMany, temporary: true,
			want: carriers.RemoteError{Status: 429, Code: "TOO.MANY.REQUESTS.ERROR", Message: tooManyMsg}},
		{name: "429 with an unreadable Retry-After", status: 429, headers: map[string]string{"Retry-After": "soon"}, body: tooMany, temporary: true,
			want: carriers.RemoteError{Status: 429, Code: "TOO.MANY.REQUESTS.ERROR", Message: tooManyMsg}},
		{name: "429 asking for a year", status: 429, headers: map[string]string{"Retry-After": "31536000"}, body: tooMany, temporary: true,
			want: carriers.RemoteError{Status: 429, Code: "TOO.MANY.REQUESTS.ERROR", Message: tooManyMsg, RetryAfter: 24 * time.Hour}},
		{name: "429 without a body", status: 429, temporary: true, want: carriers.RemoteError{Status: 429}},

		{name: "200 with a malformed body", status: 200, body: []byte(`{"output":{"completeTrackResults":[`),
			want: carriers.RemoteError{Status: 200}, errHas: "malformed answer"},
		{name: "200 with an HTML body", status: 200, body: []byte(`<html>maintenance</html>`),
			want: carriers.RemoteError{Status: 200}, errHas: "malformed answer"},
		{name: "200 without results", status: 200, body: []byte(`{"transactionId":"x","output":{}}`),
			want: carriers.RemoteError{Status: 200}, errHas: `no "output.completeTrackResults"`},
		{name: "an error inside a 200", status: 200, body: readTestdata(t, "error_400_empty.json"),
			want:   carriers.RemoteError{Status: 200, Code: "TRACKING.TRACKINGNUMBER.EMPTY", Message: "Please provide tracking number."},
			errHas: "inside an HTTP 200 answer"},
		// The multi-number answer: our number is the one FedEx does not know.
		{name: "not found inside a 200", number: "39936862321", status: 200, body: readTestdata(t, "track_picked_up_and_errors.json"),
			want: carriers.RemoteError{Status: 200, Code: "TRACKING.TRACKINGNUMBER.NOTFOUND",
				Message: "Tracking number cannot be found. Please correct the tracking number and try again."},
			notFound: true, errHas: "FedEx's error for 39936862321"},
		{name: "our number left out", number: "111111111111", status: 200, body: readTestdata(t, "track_picked_up_and_errors.json"),
			want: carriers.RemoteError{Status: 200}, notFound: true, errHas: "no result for 111111111111 among 2"},
		{name: "no results at all", status: 200, body: []byte(`{"output":{"completeTrackResults":[]}}`),
			want: carriers.RemoteError{Status: 200}, notFound: true, errHas: "no result for 738488882438 among 0"},
		{name: "answer too large", status: 200, body: bytes.Repeat([]byte(" "), MaxAnswerBytes+1),
			want: carriers.RemoteError{Status: 200}, errHas: "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, _ := pollServer(t, serve(tt.status, tt.headers, tt.body))
			number := tt.number
			if number == "" {
				number = testNumber
			}
			body, err := a.Poll(context.Background(), number)
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
			if errors.Is(err, ErrNoTracking) != tt.notFound {
				t.Errorf("errors.Is(%v, ErrNoTracking) = %v, want %v", err, !tt.notFound, tt.notFound)
			}
			if tt.errHas != "" && !strings.Contains(err.Error(), tt.errHas) {
				t.Errorf("error %q does not say %q", err, tt.errHas)
			}
		})
	}
}

func TestPoll_OurNumberIsTracked(t *testing.T) {
	// The multi-number answer holds a not-found number beside ours; ours
	// is tracked, even with the error FedEx's example puts beside its
	// scans, and whether FedEx names it in the complete result or in the
	// result's own trackingNumberInfo.
	fixture := readTestdata(t, "track_picked_up_and_errors.json")
	for _, number := range []string{"123456789012", "128667043726"} {
		a, _ := pollServer(t, serve(200, nil, fixture))
		body, err := a.Poll(context.Background(), number)
		if err != nil || !bytes.Equal(body, fixture) {
			t.Errorf("Poll(%s) = %d bytes, %v", number, len(body), err)
		}
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

func TestPoll_TimeoutFetchingTheToken(t *testing.T) {
	release := make(chan struct{})
	a, f := pollServer(t, serve(200, nil, readTestdata(t, "track_delivered_mixed_offsets.json")))
	f.token = func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}
	defer close(release)
	a.cfg.Timeout = 50 * time.Millisecond
	_, err := a.Poll(context.Background(), testNumber)
	var re *carriers.RemoteError
	if !errors.As(err, &re) || re.Status != 0 || !re.Temporary() || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Poll = %v, want a temporary RemoteError with no status, wrapping context.DeadlineExceeded", err)
	}
}

func TestPoll_CallerCancels(t *testing.T) {
	a, _ := pollServer(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
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
	a, f := pollServer(t, serve(200, nil, nil))
	if _, err := a.Poll(context.Background(), " - "); err == nil {
		t.Error("Poll of no number = nil error")
	}
	for _, cfg := range []Config{{ClientID: testClientID}, {ClientSecret: testClientSecret}, {}} {
		cfg.BaseURL = a.cfg.BaseURL
		if _, err := New(cfg).Poll(context.Background(), testNumber); err == nil || !strings.Contains(err.Error(), "credentials") {
			t.Errorf("Poll with %+v = %v, want a refusal naming the credentials", cfg, err)
		}
	}
	if tok, tr := f.calls(); tok != 0 || tr != 0 {
		t.Errorf("%d token and %d track requests sent for polls that could not be made", tok, tr)
	}
}

func TestPoll_NoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		fixture := readTestdata(t, "track_delivered_mixed_offsets.json")
		f := &fakeFedEx{t: t, valid: map[string]bool{}}
		f.track = func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			switch {
			case bytes.Contains(body, []byte(`"111111111111"`)):
				<-r.Context().Done()
			case bytes.Contains(body, []byte(`"222222222222"`)):
				serve(500, nil, []byte("oops"))(w, r)
			case bytes.Contains(body, []byte(`"333333333333"`)):
				f.revoke()
				serve(401, nil, readTestdata(t, "spec_error_401.json"))(w, r)
			default:
				serve(200, nil, fixture)(w, r)
			}
		}
		srv := httptest.NewServer(f)
		defer srv.Close()
		tr := &http.Transport{}
		defer tr.CloseIdleConnections()
		a := New(Config{ClientID: testClientID, ClientSecret: testClientSecret, BaseURL: srv.URL,
			Timeout: 50 * time.Millisecond, HTTPClient: &http.Client{Transport: tr}})
		for range 10 {
			a.Poll(context.Background(), testNumber)
			a.Poll(context.Background(), "222222222222")
			a.Poll(context.Background(), "333333333333")
			a.Poll(context.Background(), "111111111111")
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
		"TRACKD_FEDEX_CLIENT_ID":      " l7xx-id ",
		"TRACKD_FEDEX_CLIENT_SECRET":  "secret\n",
		"TRACKD_FEDEX_BASE_URL":       "https://apis-sandbox.fedex.com/",
		"TRACKD_FEDEX_WEBHOOK_SECRET": "\ttoken ",
	}
	cfg := ConfigFromEnv(func(k string) string { return env[k] })
	if cfg.ClientID != "l7xx-id" || cfg.ClientSecret != "secret" || cfg.BaseURL != "https://apis-sandbox.fedex.com/" || cfg.WebhookSecret != "token" {
		t.Errorf("ConfigFromEnv = %+v", cfg)
	}
	a := New(cfg)
	if a.cfg.BaseURL != "https://apis-sandbox.fedex.com" || a.cfg.Timeout != DefaultTimeout || a.cfg.HTTPClient == nil || !a.tokens.Configured() {
		t.Errorf("New(%+v) configured %+v", cfg, a.cfg)
	}
	if d := New(ConfigFromEnv(func(string) string { return "" })); d.cfg.BaseURL != DefaultBaseURL || d.tokens.Configured() {
		t.Errorf("default BaseURL = %q, want %q, and no credentials", d.cfg.BaseURL, DefaultBaseURL)
	}
	if a.Slug() != "fedex" || a.Name() != "FedEx" {
		t.Errorf("Slug, Name = %q, %q", a.Slug(), a.Name())
	}
	if got := a.Detect("7384 8888 2438"); got != Detect("738488882438") || got < 0.9 {
		t.Errorf("Detect = %v", got)
	}
	r := carriers.NewRegistry(a)
	if us, err := r.Decode("fedex"+carriers.PollSuffix, readTestdata(t, "track_delivered_mixed_offsets.json")); err != nil || len(us) != 1 {
		t.Errorf("Registry.Decode(poll) = %d updates, %v", len(us), err)
	}
}
