package dhl

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

const testAPIKey = "dhl-consumer-key"

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

// pollServer is a local DHL answering with handler, and an adapter pointed
// at it (under /track, as the real one); the test fails if a response body
// is left open.
func pollServer(t *testing.T, handler http.HandlerFunc) *Adapter {
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
		APIKey: testAPIKey, BaseURL: srv.URL + "/track/", Timeout: 5 * time.Second,
		HTTPClient: &http.Client{Transport: counter},
	})
	a.now = func() time.Time { return testNow }
	return a
}

// serve answers every request with status, headers and body, as DHL
// does: problem details as application/problem+json.
func serve(status int, headers map[string]string, body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ct := "application/json"
		if status >= 400 {
			ct = "application/problem+json"
		}
		w.Header().Set("Content-Type", ct)
		for k, v := range headers {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		w.Write(body)
	}
}

func TestPoll_Request(t *testing.T) {
	fixture := readTestdata(t, "handmade_express_delivered.json")
	var got *http.Request
	a := pollServer(t, func(w http.ResponseWriter, r *http.Request) {
		got = r.Clone(context.Background())
		serve(200, map[string]string{"Content-Language": "en"}, fixture)(w, r)
	})
	body, err := a.Poll(context.Background(), " 3318 8100-25 ")
	if err != nil {
		t.Fatalf("Poll = %v", err)
	}
	q := got.URL.Query()
	if got.Method != http.MethodGet || got.URL.Path != "/track/shipments" || q.Get("trackingNumber") != "3318810025" ||
		q.Get("language") != "en" || len(q) != 2 {
		t.Errorf("request %s %s, want GET /track/shipments?trackingNumber=3318810025&language=en", got.Method, got.URL)
	}
	if k := got.Header.Get("DHL-API-Key"); k != testAPIKey {
		t.Errorf("DHL-API-Key = %q, want %q", k, testAPIKey)
	}
	if acc := got.Header.Get("Accept"); acc != "application/json" {
		t.Errorf("Accept = %q", acc)
	}
	if !bytes.Equal(body, fixture) {
		t.Error("Poll did not return the answer as received")
	}
	us, err := a.ParsePoll(body)
	if err != nil || len(us) != 1 || us[0].TrackingNumber != "3318810025" {
		t.Errorf("ParsePoll(Poll answer) = %+v, %v", us, err)
	}
}

func TestPoll_Options(t *testing.T) {
	var got *http.Request
	a := pollServer(t, func(w http.ResponseWriter, r *http.Request) {
		got = r.Clone(context.Background())
		serve(200, nil, readTestdata(t, "handmade_parcel_de_pickup.json"))(w, r)
	})
	a.cfg = New(Config{APIKey: testAPIKey, BaseURL: a.cfg.BaseURL, Service: " Parcel-DE ", RequesterCountryCode: "de",
		OriginCountryCode: "nl", HTTPClient: a.client}).cfg
	if _, err := a.Poll(context.Background(), "00340434161094015902"); err != nil {
		t.Fatalf("Poll = %v", err)
	}
	q := got.URL.Query()
	if q.Get("service") != "parcel-de" || q.Get("requesterCountryCode") != "DE" || q.Get("originCountryCode") != "NL" ||
		q.Get("trackingNumber") != "00340434161094015902" || q.Get("language") != "en" {
		t.Errorf("request %s, want service, requesterCountryCode and originCountryCode set", got.URL)
	}
}

func TestPoll_RemoteErrors(t *testing.T) {
	unauthorized := []byte(`{"status":401,"title":"Unauthorized","detail":"Unauthorized for given resource."}`)
	tooMany := []byte(`{"status":429,"title":"Too many requests","detail":"Too many requests."}`)
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
		{name: "401 invalid key", status: 401, body: unauthorized,
			want: carriers.RemoteError{Status: 401, Code: "Unauthorized", Message: "Unauthorized for given resource."}},
		{name: "401 from a gateway", status: 401, body: []byte(`{"message":"Invalid API Key"}`),
			want: carriers.RemoteError{Status: 401, Message: "Invalid API Key"}},
		{name: "404 no shipment", status: 404, body: readTestdata(t, "tracking_error_response.json"),
			want:     carriers.RemoteError{Status: 404, Code: "No result found", Message: "No shipment with given tracking number found."},
			notFound: true},
		{name: "429 with Retry-After seconds", status: 429, headers: map[string]string{"Retry-After": "5"}, body: tooMany,
			want:      carriers.RemoteError{Status: 429, Code: "Too many requests", Message: "Too many requests.", RetryAfter: 5 * time.Second},
			temporary: true},
		{name: "429 with Retry-After date", status: 429,
			headers: map[string]string{"Retry-After": testNow.Add(9 * time.Hour).Format(http.TimeFormat)}, body: tooMany,
			want:      carriers.RemoteError{Status: 429, Code: "Too many requests", Message: "Too many requests.", RetryAfter: 9 * time.Hour},
			temporary: true},
		{name: "429 without Retry-After", status: 429, body: tooMany,
			want:      carriers.RemoteError{Status: 429, Code: "Too many requests", Message: "Too many requests."},
			temporary: true},
		{name: "429 with an unreadable Retry-After", status: 429, headers: map[string]string{"Retry-After": "tomorrow"}, body: tooMany,
			want:      carriers.RemoteError{Status: 429, Code: "Too many requests", Message: "Too many requests."},
			temporary: true},
		{name: "429 asking for a year", status: 429, headers: map[string]string{"Retry-After": "31536000"}, body: tooMany,
			want:      carriers.RemoteError{Status: 429, Code: "Too many requests", Message: "Too many requests.", RetryAfter: 24 * time.Hour},
			temporary: true},
		{name: "500 problem", status: 500, body: []byte(`{"status":500,"title":"Internal Server Error","detail":"Backend unavailable"}`),
			want: carriers.RemoteError{Status: 500, Code: "Internal Server Error", Message: "Backend unavailable"}, temporary: true},
		{name: "502 HTML from a proxy", status: 502, body: []byte("<html>Bad Gateway</html>"),
			want: carriers.RemoteError{Status: 502}, temporary: true},
		{name: "503 with Retry-After and no body", status: 503, headers: map[string]string{"Retry-After": "120"},
			want: carriers.RemoteError{Status: 503, RetryAfter: 2 * time.Minute}, temporary: true},
		{name: "400 problem", status: 400, body: []byte(`{"status":400,"title":"Bad request","detail":"Invalid value of parameter 'service'."}`),
			want: carriers.RemoteError{Status: 400, Code: "Bad request", Message: "Invalid value of parameter 'service'."}},
		{name: "200 with a malformed body", status: 200, body: []byte(`{"shipments":[{"id":`),
			want: carriers.RemoteError{Status: 200}, errHas: "malformed answer"},
		{name: "200 with an HTML body", status: 200, body: []byte(`<html>maintenance</html>`),
			want: carriers.RemoteError{Status: 200}, errHas: "malformed answer"},
		{name: "200 with a problem body", status: 200, body: readTestdata(t, "tracking_error_response.json"),
			want: carriers.RemoteError{Status: 200}, errHas: `no "shipments"`},
		{name: "200 without shipments", status: 200, body: []byte(`{}`),
			want: carriers.RemoteError{Status: 200}, errHas: `no "shipments"`},
		{name: "200 with no shipment", status: 200, body: []byte(`{"shipments":[]}`),
			want: carriers.RemoteError{Status: 200}, notFound: true, errHas: "lists no shipment"},
		{name: "answer too large", status: 200, body: bytes.Repeat([]byte(" "), MaxAnswerBytes+1),
			want: carriers.RemoteError{Status: 200}, errHas: "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := pollServer(t, serve(tt.status, tt.headers, tt.body))
			body, err := a.Poll(context.Background(), "3318810025")
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
			if errors.Is(err, ErrNotFound) != tt.notFound {
				t.Errorf("errors.Is(%v, ErrNotFound) = %v, want %v", err, !tt.notFound, tt.notFound)
			}
			if tt.errHas != "" && !strings.Contains(err.Error(), tt.errHas) {
				t.Errorf("error %q does not say %q", err, tt.errHas)
			}
		})
	}
}

func TestPoll_Timeout(t *testing.T) {
	release := make(chan struct{})
	a := pollServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release)
	a.cfg.Timeout = 50 * time.Millisecond
	start := time.Now()
	_, err := a.Poll(context.Background(), "3318810025")
	var re *carriers.RemoteError
	if !errors.As(err, &re) || re.Status != 0 || !re.Temporary() || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Poll = %v, want a temporary RemoteError with no status, wrapping context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("Poll took %v; Config.Timeout was not applied", d)
	}
}

// TestPoll_TimeoutWhileReading: the headers come, the body stalls.
func TestPoll_TimeoutWhileReading(t *testing.T) {
	a := pollServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(200)
		w.Write([]byte(`{"shipments":[`))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	a.cfg.Timeout = 50 * time.Millisecond
	_, err := a.Poll(context.Background(), "3318810025")
	var re *carriers.RemoteError
	if !errors.As(err, &re) || re.Status != 0 || !re.Temporary() {
		t.Fatalf("Poll = %v, want a temporary RemoteError with no status", err)
	}
}

func TestPoll_CallerCancels(t *testing.T) {
	a := pollServer(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := a.Poll(ctx, "3318810025")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Poll = %v, want context.Canceled", err)
	}
}

func TestPoll_NoServer(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	a := New(Config{APIKey: testAPIKey, BaseURL: srv.URL})
	_, err := a.Poll(context.Background(), "3318810025")
	var re *carriers.RemoteError
	if !errors.As(err, &re) || re.Status != 0 || !re.Temporary() {
		t.Fatalf("Poll = %v, want a temporary RemoteError with no status", err)
	}
}

func TestPoll_Refusals(t *testing.T) {
	var requests atomic.Int64
	a := pollServer(t, func(w http.ResponseWriter, r *http.Request) { requests.Add(1) })
	if _, err := a.Poll(context.Background(), " - "); err == nil {
		t.Error("Poll of no number = nil error")
	}
	a.cfg.APIKey = ""
	if _, err := a.Poll(context.Background(), "3318810025"); err == nil || !strings.Contains(err.Error(), "TRACKD_DHL_API_KEY") {
		t.Errorf("Poll without an API key = %v", err)
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("%d requests sent for polls that could not be made", n)
	}
}

func TestPoll_NoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		fixture := readTestdata(t, "handmade_express_delivered.json")
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Query().Get("trackingNumber") {
			case "SLOW":
				<-r.Context().Done()
			case "500":
				serve(500, nil, []byte("oops"))(w, r)
			case "404":
				serve(404, nil, readTestdata(t, "tracking_error_response.json"))(w, r)
			default:
				serve(200, nil, fixture)(w, r)
			}
		}))
		defer srv.Close()
		tr := &http.Transport{}
		defer tr.CloseIdleConnections()
		a := New(Config{APIKey: testAPIKey, BaseURL: srv.URL, Timeout: 50 * time.Millisecond, HTTPClient: &http.Client{Transport: tr}})
		for range 20 {
			a.Poll(context.Background(), "3318810025")
			a.Poll(context.Background(), "500")
			a.Poll(context.Background(), "404")
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
		"TRACKD_DHL_API_KEY":                " key\n",
		"TRACKD_DHL_BASE_URL":               "http://127.0.0.1:9/track/",
		"TRACKD_DHL_SERVICE":                " Express ",
		"TRACKD_DHL_REQUESTER_COUNTRY_CODE": "de",
		"TRACKD_DHL_ORIGIN_COUNTRY_CODE":    " nl",
	}
	cfg := ConfigFromEnv(func(k string) string { return env[k] })
	if cfg.APIKey != "key" || cfg.BaseURL != "http://127.0.0.1:9/track/" || cfg.Service != "Express" ||
		cfg.RequesterCountryCode != "de" || cfg.OriginCountryCode != "nl" {
		t.Errorf("ConfigFromEnv = %+v", cfg)
	}
	a := New(cfg)
	if a.cfg.BaseURL != "http://127.0.0.1:9/track" || a.cfg.Service != "express" || a.cfg.RequesterCountryCode != "DE" ||
		a.cfg.OriginCountryCode != "NL" || a.cfg.Timeout != DefaultTimeout || a.client == nil {
		t.Errorf("New(%+v) configured %+v", cfg, a.cfg)
	}
	d := New(ConfigFromEnv(func(string) string { return "" }))
	if d.cfg.BaseURL != DefaultBaseURL || DefaultBaseURL != "https://api-eu.dhl.com/track" || d.cfg.Service != "" {
		t.Errorf("defaults = %+v", d.cfg)
	}
}
