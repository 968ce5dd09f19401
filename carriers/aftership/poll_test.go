package aftership

import (
	"bytes"
	"context"
	"errors"
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

const testAPIKey = "asat_test_key"

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

// pollServer is a local AfterShip answering with handler, and an adapter
// pointed at it; the test fails if a response body is left open.
func pollServer(t *testing.T, handler http.HandlerFunc) (*Adapter, *httptest.Server) {
	t.Helper()
	srv := httptest.NewServer(handler)
	counter := &bodyCounter{base: &http.Transport{}}
	t.Cleanup(func() {
		if n := counter.open.Load(); n != 0 {
			t.Errorf("%d response bodies left open", n)
		}
		counter.base.CloseIdleConnections()
		srv.Close()
	})
	a := New(Config{
		APIKey: testAPIKey, BaseURL: srv.URL + "/v4/", Timeout: 5 * time.Second,
		HTTPClient: &http.Client{Transport: counter},
	})
	a.now = func() time.Time { return testNow }
	return a, srv
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

func TestPoll_OneTrackingByCourierAndNumber(t *testing.T) {
	fixture := readTestdata(t, "v4_get_tracking_delivered_fedex.json")
	var got *http.Request
	a, _ := pollServer(t, func(w http.ResponseWriter, r *http.Request) {
		got = r.Clone(context.Background())
		serve(200, nil, fixture)(w, r)
	})
	body, err := a.Poll(context.Background(), "FedEx/111111111111")
	if err != nil {
		t.Fatalf("Poll = %v", err)
	}
	if got.Method != http.MethodGet || got.URL.Path != "/v4/trackings/fedex/111111111111" || got.URL.RawQuery != "" {
		t.Errorf("request %s %s, want GET /v4/trackings/fedex/111111111111", got.Method, got.URL)
	}
	if k := got.Header.Get("as-api-key"); k != testAPIKey {
		t.Errorf("as-api-key = %q, want %q", k, testAPIKey)
	}
	if !bytes.Equal(body, fixture) {
		t.Error("Poll did not return the answer as received")
	}
	us, err := a.ParsePoll(body)
	if err != nil || len(us) != 1 || us[0].Carrier != "fedex" || us[0].TrackingNumber != "111111111111" {
		t.Errorf("ParsePoll(Poll answer) = %+v, %v", us, err)
	}
}

func TestPoll_ByNumberSearchesTheList(t *testing.T) {
	fixture := readTestdata(t, "v4_list_trackings_mixed_statuses.json")
	var got *http.Request
	a, _ := pollServer(t, func(w http.ResponseWriter, r *http.Request) {
		got = r.Clone(context.Background())
		serve(200, nil, fixture)(w, r)
	})
	body, err := a.Poll(context.Background(), " 2222222222222 ")
	if err != nil {
		t.Fatalf("Poll = %v", err)
	}
	q := got.URL.Query()
	if got.URL.Path != "/v4/trackings" || q.Get("keyword") != "2222222222222" || q.Get("limit") != "200" ||
		q.Get("created_at_min") != "2026-08-27T15:00:00Z" {
		t.Errorf("request %s, want /v4/trackings?keyword=2222222222222 over the last 90 days", got.URL)
	}
	if got.Header.Get("as-api-key") != testAPIKey {
		t.Errorf("as-api-key = %q", got.Header.Get("as-api-key"))
	}
	us, err := a.ParsePoll(body)
	if err != nil || len(us) != 3 {
		t.Fatalf("ParsePoll(Poll answer) = %d updates, %v", len(us), err)
	}
}

func TestPoll_NumberArgument(t *testing.T) {
	tests := []struct {
		in, path, keyword string
	}{
		{"fedex/111111111111", "/v4/trackings/fedex/111111111111", ""},
		{"DHL-Global-Mail/GM 123", "/v4/trackings/dhl-global-mail/GM%20123", ""},
		{"postnl-3s/3SKAAG5995399", "/v4/trackings/postnl-3s/3SKAAG5995399", ""},
		{"1Z999AA10123456784", "/v4/trackings", "1Z999AA10123456784"},
		{"1Z 999/AA", "/v4/trackings", "1Z 999/AA"},
		{"/123", "/v4/trackings", "/123"},
		{"a_b/123", "/v4/trackings", "a_b/123"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var got *http.Request
			a, _ := pollServer(t, func(w http.ResponseWriter, r *http.Request) {
				got = r.Clone(context.Background())
				serve(404, nil, []byte(`{"meta":{"code":4004,"message":"Tracking does not exist.","type":"NotFound"},"data":{}}`))(w, r)
			})
			a.Poll(context.Background(), tt.in)
			if got == nil {
				t.Fatal("no request")
			}
			if got.URL.EscapedPath() != tt.path || got.URL.Query().Get("keyword") != tt.keyword {
				t.Errorf("request %s, want path %s keyword %q", got.URL, tt.path, tt.keyword)
			}
		})
	}
}

func TestPoll_NumberNotInTheList(t *testing.T) {
	a, _ := pollServer(t, serve(200, nil, readTestdata(t, "v4_list_trackings_mixed_statuses.json")))
	_, err := a.Poll(context.Background(), "9999")
	var re *carriers.RemoteError
	if !errors.As(err, &re) || !errors.Is(err, ErrNotTracked) || re.Temporary() {
		t.Fatalf("Poll = %v, want a permanent RemoteError wrapping ErrNotTracked", err)
	}
	_, err = a.Poll(context.Background(), "9999")
	if err == nil || !strings.Contains(err.Error(), `none of the 3 trackings found for "9999"`) {
		t.Errorf("Poll = %v", err)
	}
}

func TestPoll_RemoteErrors(t *testing.T) {
	notFound := []byte(`{"meta":{"code":4004,"message":"Tracking does not exist.","type":"NotFound"},"data":{}}`)
	tooMany := []byte(`{"meta":{"code":429,"message":"You have exceeded the API call rate limit.","type":"TooManyRequests"},"data":{}}`)
	tests := []struct {
		name      string
		number    string
		status    int
		headers   map[string]string
		body      []byte
		want      carriers.RemoteError
		temporary bool
		errHas    string
	}{
		{name: "401 invalid key", status: 401, body: readTestdata(t, "v4_error.json"),
			want: carriers.RemoteError{Status: 401, Code: "401", Message: "Invalid API Key."}},
		{name: "404 no such tracking", status: 404, body: notFound,
			want: carriers.RemoteError{Status: 404, Code: "4004", Message: "Tracking does not exist."}},
		{name: "429 with Retry-After seconds", status: 429, headers: map[string]string{"Retry-After": "30"}, body: tooMany,
			want:      carriers.RemoteError{Status: 429, Code: "429", Message: "You have exceeded the API call rate limit.", RetryAfter: 30 * time.Second},
			temporary: true},
		{name: "429 with Retry-After date", status: 429,
			headers: map[string]string{"Retry-After": testNow.Add(2 * time.Minute).Format(http.TimeFormat)}, body: tooMany,
			want:      carriers.RemoteError{Status: 429, Code: "429", Message: "You have exceeded the API call rate limit.", RetryAfter: 2 * time.Minute},
			temporary: true},
		{name: "429 with only the rate-limit reset", status: 429,
			headers: map[string]string{"X-RateLimit-Reset": "1795618845", "X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "0"}, body: tooMany,
			want:      carriers.RemoteError{Status: 429, Code: "429", Message: "You have exceeded the API call rate limit.", RetryAfter: 45 * time.Second},
			temporary: true},
		{name: "429 with a Retry-After in the past", status: 429,
			headers: map[string]string{"Retry-After": testNow.Add(-time.Hour).Format(http.TimeFormat)}, body: tooMany,
			want:      carriers.RemoteError{Status: 429, Code: "429", Message: "You have exceeded the API call rate limit."},
			temporary: true},
		{name: "429 with an unreadable Retry-After", status: 429, headers: map[string]string{"Retry-After": "soon"}, body: tooMany,
			want:      carriers.RemoteError{Status: 429, Code: "429", Message: "You have exceeded the API call rate limit."},
			temporary: true},
		{name: "429 asking for a year", status: 429, headers: map[string]string{"Retry-After": "31536000"}, body: tooMany,
			want:      carriers.RemoteError{Status: 429, Code: "429", Message: "You have exceeded the API call rate limit.", RetryAfter: 24 * time.Hour},
			temporary: true},
		{name: "500 from a proxy", status: 500, body: []byte("<html>oops</html>"),
			want: carriers.RemoteError{Status: 500}, temporary: true},
		{name: "503 with Retry-After", status: 503, headers: map[string]string{"Retry-After": "5"},
			body: []byte(`{"meta":{"code":503,"message":"Service unavailable","type":"ServiceUnavailable"}}`),
			want: carriers.RemoteError{Status: 503, Code: "503", Message: "Service unavailable", RetryAfter: 5 * time.Second}, temporary: true},
		{name: "503 ignores the rate-limit reset", status: 503, headers: map[string]string{"X-RateLimit-Reset": "1795618845"}, body: nil,
			want: carriers.RemoteError{Status: 503}, temporary: true},
		{name: "200 with a malformed body", status: 200, body: []byte(`{"meta":{"code":200},"data":{"tracking":`),
			want: carriers.RemoteError{Status: 200}, errHas: "malformed answer"},
		{name: "200 with an HTML body", status: 200, body: []byte(`<html>maintenance</html>`),
			want: carriers.RemoteError{Status: 200}, errHas: "malformed answer"},
		{name: "200 without the tracking", status: 200, body: []byte(`{"meta":{"code":200},"data":{}}`),
			want: carriers.RemoteError{Status: 200}, errHas: `no "data.tracking"`},
		{name: "list without trackings", number: "123", status: 200, body: []byte(`{"meta":{"code":200},"data":{}}`),
			want: carriers.RemoteError{Status: 200}, errHas: `no "data.trackings"`},
		{name: "error inside a 200", status: 200, body: notFound,
			want: carriers.RemoteError{Status: 200, Code: "4004", Message: "Tracking does not exist."}, errHas: "inside an HTTP 200 answer"},
		{name: "401 inside a 200", status: 200, body: readTestdata(t, "v4_error.json"),
			want: carriers.RemoteError{Status: 401, Code: "401", Message: "Invalid API Key."}, errHas: "inside an HTTP 200 answer"},
		{name: "429 inside a 200 is still temporary", status: 200, headers: map[string]string{"X-RateLimit-Reset": "1795618810"}, body: tooMany,
			want:      carriers.RemoteError{Status: 429, Code: "429", Message: "You have exceeded the API call rate limit.", RetryAfter: 10 * time.Second},
			temporary: true, errHas: "inside an HTTP 200 answer"},
		{name: "answer too large", status: 200, body: bytes.Repeat([]byte(" "), MaxAnswerBytes+1),
			want: carriers.RemoteError{Status: 200}, errHas: "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, _ := pollServer(t, serve(tt.status, tt.headers, tt.body))
			number := tt.number
			if number == "" {
				number = "fedex/111111111111"
			}
			body, err := a.Poll(context.Background(), number)
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
	a, _ := pollServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release)
	a.cfg.Timeout = 50 * time.Millisecond
	start := time.Now()
	_, err := a.Poll(context.Background(), "fedex/111111111111")
	var re *carriers.RemoteError
	if !errors.As(err, &re) || re.Status != 0 || !re.Temporary() || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Poll = %v, want a temporary RemoteError with no status, wrapping context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("Poll took %v; Config.Timeout was not applied", d)
	}
}

func TestPoll_CallerCancels(t *testing.T) {
	a, _ := pollServer(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := a.Poll(ctx, "fedex/111111111111")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Poll = %v, want context.Canceled", err)
	}
}

func TestPoll_NoServer(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	a := New(Config{APIKey: testAPIKey, BaseURL: srv.URL})
	_, err := a.Poll(context.Background(), "fedex/1")
	var re *carriers.RemoteError
	if !errors.As(err, &re) || re.Status != 0 || !re.Temporary() {
		t.Fatalf("Poll = %v, want a temporary RemoteError with no status", err)
	}
}

func TestPoll_Refusals(t *testing.T) {
	requests := 0
	a, _ := pollServer(t, func(w http.ResponseWriter, r *http.Request) { requests++ })
	if _, err := a.Poll(context.Background(), "  "); err == nil {
		t.Error("Poll of no number = nil error")
	}
	if _, err := a.Poll(context.Background(), "fedex/ "); err == nil {
		t.Error("Poll of a courier without a number = nil error")
	}
	a.cfg.APIKey = ""
	if _, err := a.Poll(context.Background(), "fedex/1"); err == nil || !strings.Contains(err.Error(), "API key") {
		t.Errorf("Poll without an API key = %v", err)
	}
	if requests != 0 {
		t.Errorf("%d requests sent for polls that could not be made", requests)
	}
}

func TestPoll_NoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		fixture := readTestdata(t, "v4_get_tracking_delivered_fedex.json")
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Query().Get("keyword") {
			case "slow":
				<-r.Context().Done()
			case "500":
				serve(500, nil, []byte("oops"))(w, r)
			default:
				serve(200, nil, fixture)(w, r)
			}
		}))
		defer srv.Close()
		tr := &http.Transport{}
		defer tr.CloseIdleConnections()
		a := New(Config{APIKey: testAPIKey, BaseURL: srv.URL, Timeout: 50 * time.Millisecond, HTTPClient: &http.Client{Transport: tr}})
		for range 20 {
			a.Poll(context.Background(), "fedex/111111111111")
			a.Poll(context.Background(), "500")
			a.Poll(context.Background(), "slow")
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
		"TRACKD_AFTERSHIP_WEBHOOK_SECRET": "whsec\n",
		"TRACKD_AFTERSHIP_API_KEY":        " asat_key ",
		"TRACKD_AFTERSHIP_BASE_URL":       "http://127.0.0.1:9/v4/",
	}
	cfg := ConfigFromEnv(func(k string) string { return env[k] })
	if cfg.WebhookSecret != "whsec" || cfg.APIKey != "asat_key" || cfg.BaseURL != "http://127.0.0.1:9/v4/" {
		t.Errorf("ConfigFromEnv = %+v", cfg)
	}
	a := New(cfg)
	if a.cfg.BaseURL != "http://127.0.0.1:9/v4" || a.cfg.Timeout != DefaultTimeout || a.client == nil {
		t.Errorf("New(%+v) configured %+v", cfg, a.cfg)
	}
	if d := New(ConfigFromEnv(func(string) string { return "" })); d.cfg.BaseURL != DefaultBaseURL {
		t.Errorf("default BaseURL = %q, want %q", d.cfg.BaseURL, DefaultBaseURL)
	}
	if a.Slug() != "aftership" || a.Name() != "AfterShip" {
		t.Errorf("Slug, Name = %q, %q", a.Slug(), a.Name())
	}
}
