package shippo

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trackd/trackd/carriers"
)

const testAPIKey = "shippo_test_0123456789abcdef"

// reply is one canned answer of the local Shippo.
type reply struct {
	status      int
	contentType string
	header      map[string]string
	body        []byte
}

// fakeShippo serves canned answers by request path and records requests.
type fakeShippo struct {
	*httptest.Server
	mu       sync.Mutex
	replies  map[string]reply
	requests []*http.Request
	newConns atomic.Int32
}

func newFakeShippo(t *testing.T, replies map[string]reply) *fakeShippo {
	t.Helper()
	f := &fakeShippo{replies: replies}
	f.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.requests = append(f.requests, r.Clone(context.Background()))
		rep, ok := f.replies[r.URL.EscapedPath()]
		f.mu.Unlock()
		if !ok {
			http.Error(w, "no canned reply for "+r.URL.EscapedPath(), http.StatusTeapot)
			return
		}
		if rep.contentType != "" {
			w.Header().Set("Content-Type", rep.contentType)
		}
		for k, v := range rep.header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(rep.status)
		_, _ = w.Write(rep.body)
	}))
	f.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			f.newConns.Add(1)
		}
	}
	f.Start()
	t.Cleanup(f.Close)
	return f
}

func (f *fakeShippo) lastRequest(t *testing.T) *http.Request {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.requests) == 0 {
		t.Fatal("no request reached the server")
	}
	return f.requests[len(f.requests)-1]
}

func (f *fakeShippo) requestCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.requests)
}

func (f *fakeShippo) adapter() *Adapter {
	return New(Config{APIKey: testAPIKey, BaseURL: f.URL, HTTPClient: f.Client(), Timeout: 5 * time.Second})
}

func TestPoll_OK(t *testing.T) {
	track := readTestdata(t, "track_get_delivered_usps.json")
	f := newFakeShippo(t, map[string]reply{
		"/tracks/usps/9205590164917337534322": {status: 200, contentType: "application/json", body: track},
	})
	a := f.adapter()
	body, err := a.Poll(context.Background(), "usps/9205590164917337534322")
	if err != nil {
		t.Fatalf("Poll: %v", err)
	}
	if !bytes.Equal(body, track) {
		t.Error("Poll did not return Shippo's body as it came")
	}
	r := f.lastRequest(t)
	if r.Method != http.MethodGet {
		t.Errorf("method = %s", r.Method)
	}
	if got := r.Header.Get("Authorization"); got != "ShippoToken "+testAPIKey {
		t.Errorf("Authorization = %q", got)
	}
	if got := r.Header.Get("Accept"); got != "application/json" {
		t.Errorf("Accept = %q", got)
	}
	us, err := a.ParsePoll(body)
	if err != nil || len(us) != 1 || us[0].Carrier != "usps" {
		t.Errorf("ParsePoll(Poll()) = %+v, %v", us, err)
	}
}

func TestPoll_Paths(t *testing.T) {
	ok := reply{status: 200, contentType: "application/json", body: []byte(`{"carrier":"x"}`)}
	f := newFakeShippo(t, map[string]reply{
		"/tracks/dhl_express/1234567890":      ok,
		"/tracks/ups/1Z999AA10123456784":      ok,
		"/tracks/shippo/SHIPPO_TRANSIT":       ok,
		"/tracks/usps/92%2F05%20590":          ok,
		"/tracks/dhl_ecommerce/GM60511234500": ok,
	})
	for in, want := range map[string]string{
		"dhl/1234567890":              "/tracks/dhl_express/1234567890",
		" UPS / 1Z999AA10123456784 ":  "/tracks/ups/1Z999AA10123456784",
		"shippo/SHIPPO_TRANSIT":       "/tracks/shippo/SHIPPO_TRANSIT",
		"usps/92/05 590":              "/tracks/usps/92%2F05%20590",
		"dhl_ecommerce/GM60511234500": "/tracks/dhl_ecommerce/GM60511234500",
	} {
		if _, err := f.adapter().Poll(context.Background(), in); err != nil {
			t.Errorf("Poll(%q): %v", in, err)
			continue
		}
		if got := f.lastRequest(t).URL.EscapedPath(); got != want {
			t.Errorf("Poll(%q) requested %s, want %s", in, got, want)
		}
	}
}

func TestPoll_BadArgumentsMakeNoRequest(t *testing.T) {
	f := newFakeShippo(t, nil)
	for _, in := range []string{"", "9205590164917337534322", "usps/", "/9205590164917337534322", "us ps/1", "../x/1",
		"usps?x=1/2", "usps/" + strings.Repeat("9", 65)} {
		_, err := f.adapter().Poll(context.Background(), in)
		if err == nil {
			t.Errorf("Poll(%q) = nil error", in)
			continue
		}
		var re *carriers.RemoteError
		if errors.As(err, &re) {
			t.Errorf("Poll(%q) = RemoteError %v, want a plain error", in, err)
		}
	}
	noKey := New(Config{BaseURL: f.URL, HTTPClient: f.Client()})
	if _, err := noKey.Poll(context.Background(), "usps/1"); err == nil {
		t.Error("Poll without an API key = nil error")
	}
	if n := f.requestCount(); n != 0 {
		t.Errorf("%d requests reached Shippo", n)
	}
}

func TestPoll_RemoteErrors(t *testing.T) {
	now := time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)
	f := newFakeShippo(t, map[string]reply{
		"/tracks/example_of_invalid_carrier/1": {status: 400, contentType: "application/json",
			body: readTestdata(t, "track_get_error_invalid_carrier_400.json")},
		"/tracks/usps/fieldmap": {status: 400, contentType: "application/json",
			body: readTestdata(t, "track_create_error_invalid_carrier_400.json")},
		"/tracks/usps/EXAMPLE_OF_INVALID_TRACKING_NUMBER": {status: 404, contentType: "text/html",
			body: readTestdata(t, "track_get_not_found_404.html")},
		"/tracks/usps/jsonnotfound": {status: 404, contentType: "application/json", body: []byte(`{"detail":"Not found."}`)},
		"/tracks/usps/badkey":       {status: 401, contentType: "application/json", body: []byte(`{"detail":"Invalid token."}`)},
		"/tracks/usps/ratelimited": {status: 429, contentType: "application/json",
			header: map[string]string{"Retry-After": "120"}, body: []byte(`{"detail":"Request was throttled. Expected available in 120 seconds."}`)},
		"/tracks/usps/ratelimiteddate": {status: 429,
			header: map[string]string{"Retry-After": now.Add(90 * time.Second).Format(http.TimeFormat)}},
		"/tracks/usps/unavailable": {status: 503, header: map[string]string{"Retry-After": "30"}},
		"/tracks/usps/servererror": {status: 500, contentType: "text/plain", body: []byte("Internal Server Error\n")},
		"/tracks/usps/badgateway": {status: 502, contentType: "text/html",
			body: []byte("<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>")},
		"/tracks/usps/allerrors": {status: 400, contentType: "application/json",
			body: []byte(`{"__all__":["Tracking number is invalid."],"tracking_number":["Too long.","Bad."]}`)},
	})
	tests := []struct {
		number     string
		status     int
		message    string
		retryAfter time.Duration
		temporary  bool
	}{
		{"EXAMPLE_OF_INVALID_CARRIER/1", 400, "Carrier with name 'EXAMPLE_OF_INVALID_CARRIER' is not supported.", 0, false},
		{"usps/fieldmap", 400, "carrier: Invalid value specified for provider 'EXAMPLE_OF_INVALID_CARRIER'", 0, false},
		{"usps/EXAMPLE_OF_INVALID_TRACKING_NUMBER", 404,
			"Not Found The requested URL /v1/tracks/usps/EXAMPLE_OF_INVALID_TRACKING_NUMBER was not found on this server.", 0, false},
		{"usps/jsonnotfound", 404, "Not found.", 0, false},
		{"usps/badkey", 401, "Invalid token.", 0, false},
		{"usps/ratelimited", 429, "Request was throttled. Expected available in 120 seconds.", 2 * time.Minute, true},
		{"usps/ratelimiteddate", 429, "Too Many Requests", 90 * time.Second, true},
		{"usps/unavailable", 503, "Service Unavailable", 30 * time.Second, true},
		{"usps/servererror", 500, "Internal Server Error", 0, true},
		{"usps/badgateway", 502, "502 Bad Gateway 502 Bad Gateway", 0, true},
		{"usps/allerrors", 400, "Tracking number is invalid.; tracking_number: Too long., Bad.", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.number, func(t *testing.T) {
			a := f.adapter()
			a.now = func() time.Time { return now }
			body, err := a.Poll(context.Background(), tc.number) // carrier tokens are sent lower-cased
			if body != nil {
				t.Errorf("Poll returned a body with an error answer: %q", body)
			}
			var re *carriers.RemoteError
			if !errors.As(err, &re) {
				t.Fatalf("Poll error = %v (%T), want *carriers.RemoteError", err, err)
			}
			if re.Status != tc.status || re.Message != tc.message || re.RetryAfter != tc.retryAfter {
				t.Errorf("RemoteError = {Status %d, Message %q, RetryAfter %v}, want {%d, %q, %v}",
					re.Status, re.Message, re.RetryAfter, tc.status, tc.message, tc.retryAfter)
			}
			if re.Temporary() != tc.temporary {
				t.Errorf("Temporary() = %v, want %v", re.Temporary(), tc.temporary)
			}
		})
	}
}

func TestPoll_MalformedAnswers(t *testing.T) {
	track := readTestdata(t, "track_get_delivered_usps.json")
	f := newFakeShippo(t, map[string]reply{
		"/tracks/usps/truncated": {status: 200, contentType: "application/json", body: track[:len(track)/2]},
		"/tracks/usps/html":      {status: 200, contentType: "text/html", body: []byte("<h1>Maintenance</h1>")},
		"/tracks/usps/empty":     {status: 200, contentType: "application/json"},
		"/tracks/usps/array":     {status: 200, contentType: "application/json", body: []byte(`[]`)},
		"/tracks/usps/huge":      {status: 200, contentType: "application/json", body: bytes.Repeat([]byte(" "), maxBodyBytes+1)},
	})
	for _, n := range []string{"truncated", "html", "empty", "array", "huge"} {
		t.Run(n, func(t *testing.T) {
			body, err := f.adapter().Poll(context.Background(), "usps/"+n)
			if err == nil {
				t.Fatalf("Poll accepted a malformed answer: %.40q", body)
			}
			if !errors.Is(err, ErrMalformedAnswer) {
				t.Errorf("error %v does not wrap ErrMalformedAnswer", err)
			}
			var re *carriers.RemoteError
			if !errors.As(err, &re) || re.Status != 200 {
				t.Errorf("error = %v, want a RemoteError with Status 200", err)
			}
		})
	}
}

func TestPoll_Timeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })

	a := New(Config{APIKey: testAPIKey, BaseURL: srv.URL, HTTPClient: srv.Client(), Timeout: 50 * time.Millisecond})
	_, err := a.Poll(context.Background(), "usps/9205590164917337534322")
	var re *carriers.RemoteError
	if !errors.As(err, &re) || re.Status != 0 || !re.Temporary() {
		t.Fatalf("Poll = %v, want a RemoteError without status", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v does not wrap context.DeadlineExceeded", err)
	}

	// The caller's own cancellation ends the request too.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	a = New(Config{APIKey: testAPIKey, BaseURL: srv.URL, HTTPClient: srv.Client()})
	if _, err := a.Poll(ctx, "usps/1"); !errors.Is(err, context.Canceled) {
		t.Errorf("Poll with a cancelled context = %v, want context.Canceled", err)
	}
}

func TestPoll_AnswerCutOff(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", "4164")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"carrier": "usps", "tracking_number": "92055`))
		// Returning with fewer bytes than promised closes the connection.
	}))
	t.Cleanup(srv.Close)
	_, err := New(Config{APIKey: testAPIKey, BaseURL: srv.URL, HTTPClient: srv.Client()}).Poll(context.Background(), "usps/1")
	var re *carriers.RemoteError
	if !errors.As(err, &re) || re.Status != 0 || !re.Temporary() {
		t.Errorf("Poll of a cut-off answer = %v, want a temporary RemoteError without status", err)
	}
}

func TestPoll_NoAnswer(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	_, err := New(Config{APIKey: testAPIKey, BaseURL: url}).Poll(context.Background(), "usps/1")
	var re *carriers.RemoteError
	if !errors.As(err, &re) || re.Status != 0 || !re.Temporary() || re.Err == nil {
		t.Errorf("Poll to a closed port = %v, want a temporary RemoteError without status", err)
	}
}

// TestPoll_ReusesTheConnection checks that every answer, error or not, is
// read to its end and closed: otherwise each poll would leave a connection
// behind, and the next one would have to dial again.
func TestPoll_ReusesTheConnection(t *testing.T) {
	f := newFakeShippo(t, map[string]reply{
		"/tracks/usps/ok":   {status: 200, contentType: "application/json", body: readTestdata(t, "track_get_delivered_usps.json")},
		"/tracks/usps/400":  {status: 400, contentType: "application/json", body: readTestdata(t, "track_create_error_invalid_carrier_400.json")},
		"/tracks/usps/404":  {status: 404, contentType: "text/html", body: readTestdata(t, "track_get_not_found_404.html")},
		"/tracks/usps/429":  {status: 429, header: map[string]string{"Retry-After": "1"}, body: bytes.Repeat([]byte("x"), 2*maxErrorBytes)},
		"/tracks/usps/500":  {status: 500, body: []byte("oops")},
		"/tracks/usps/junk": {status: 200, body: []byte("{not json")},
	})
	a := f.adapter()
	for range 3 {
		for _, n := range []string{"ok", "400", "404", "429", "500", "junk"} {
			_, _ = a.Poll(context.Background(), "usps/"+n)
		}
	}
	if n := f.newConns.Load(); n != 1 {
		t.Errorf("18 sequential polls opened %d connections, want 1", n)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)
	tests := map[string]time.Duration{
		"":                     0,
		"0":                    0,
		"-5":                   0,
		"17":                   17 * time.Second,
		" 17 ":                 17 * time.Second,
		"1e3":                  0,
		"soon":                 0,
		"99999999999999999999": 0,
		"999999999":            7 * 24 * time.Hour,
		now.Add(time.Hour).Format(http.TimeFormat):  time.Hour,
		now.Add(-time.Hour).Format(http.TimeFormat): 0,
	}
	for h, want := range tests {
		if got := retryAfter(h, now); got != want {
			t.Errorf("retryAfter(%q) = %v, want %v", h, got, want)
		}
	}
}
