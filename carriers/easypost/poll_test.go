package easypost

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trackd/trackd/carriers"
)

const testAPIKey = "EZTKtest0123456789"

var testNow = time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)

// Error bodies in the shape EasyPost documents for its errors
// (docs.easypost.com/docs/errors: {"error": {"code", "message", "errors"}}),
// written for these tests; the 422 is karrio's recorded EasyPost answer.
const (
	body401 = `{"error":{"code":"APIKEY.INACTIVE","message":"This API key is no longer active. Please use a different API key or reactivate this key.","errors":[]}}`
	body404 = `{"error":{"code":"NOT_FOUND","message":"The requested resource could not be found.","errors":[]}}`
	body429 = `{"error":{"code":"RATE_LIMITED","message":"You have exceeded the rate limit. Please slow down your requests.","errors":[]}}`
	body503 = `{"error":{"code":"SERVICE.UNAVAILABLE","message":["The service is temporarily unavailable.","Please retry."],"errors":[]}}`
	body502 = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
)

// bodyTracker is a transport that records the response bodies it hands out,
// so a test can check that Poll closes every one (an unclosed body holds
// its connection for good).
type bodyTracker struct {
	base   http.RoundTripper
	mu     sync.Mutex
	bodies []*trackedBody
}

type trackedBody struct {
	io.ReadCloser
	closed atomic.Bool
}

func (b *trackedBody) Close() error {
	b.closed.Store(true)
	return b.ReadCloser.Close()
}

func (t *bodyTracker) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if resp != nil {
		tb := &trackedBody{ReadCloser: resp.Body}
		resp.Body = tb
		t.mu.Lock()
		t.bodies = append(t.bodies, tb)
		t.mu.Unlock()
	}
	return resp, err
}

// newPollAdapter serves handler locally and returns an adapter polling it.
func newPollAdapter(t *testing.T, handler http.HandlerFunc, timeout time.Duration) *Adapter {
	t.Helper()
	srv := httptest.NewServer(handler)
	tr := &bodyTracker{base: srv.Client().Transport}
	t.Cleanup(func() {
		srv.Close()
		tr.mu.Lock()
		defer tr.mu.Unlock()
		for i, b := range tr.bodies {
			if !b.closed.Load() {
				t.Errorf("response body %d was never closed", i)
			}
		}
	})
	a := New(Config{APIKey: testAPIKey, BaseURL: srv.URL + "/", HTTPClient: &http.Client{Transport: tr}, Timeout: timeout})
	a.now = func() time.Time { return testNow }
	return a
}

// checkAuth fails the request unless it carries the API key as EasyPost
// expects it: the Basic username, no password.
func checkAuth(t *testing.T, w http.ResponseWriter, r *http.Request) bool {
	user, pass, ok := r.BasicAuth()
	if !ok || user != testAPIKey || pass != "" {
		t.Errorf("Basic auth = %q, %q, %v; want the API key as username, no password", user, pass, ok)
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, body401)
		return false
	}
	return true
}

func TestPoll_GetsTrackerByID(t *testing.T) {
	want := fixture(t, retrieveTracker)
	a := newPollAdapter(t, func(w http.ResponseWriter, r *http.Request) {
		if !checkAuth(t, w, r) {
			return
		}
		if r.Method != http.MethodGet || r.URL.Path != "/v2/trackers/trk_9135862729734d96ad2f9ed0f0565a27" {
			t.Errorf("request %s %s, want GET /v2/trackers/trk_9135862729734d96ad2f9ed0f0565a27", r.Method, r.URL.Path)
		}
		if acc := r.Header.Get("Accept"); acc != "application/json" {
			t.Errorf("Accept = %q", acc)
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Write(want)
	}, 0)
	got, err := a.Poll(context.Background(), " trk_9135862729734d96ad2f9ed0f0565a27 ")
	if err != nil {
		t.Fatalf("Poll = %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("Poll returned %q, want the answer as received", got)
	}
	us, err := a.ParsePoll(got)
	if err != nil || len(us) != 1 || us[0].Carrier != "usps" || len(us[0].Events) != 2 {
		t.Errorf("ParsePoll(Poll()) = %+v, %v; want one usps update with 2 events", us, err)
	}
}

func TestPoll_CreatesTrackerForATrackingNumber(t *testing.T) {
	want := fixture(t, createTrackerFixture)
	a := newPollAdapter(t, func(w http.ResponseWriter, r *http.Request) {
		if !checkAuth(t, w, r) {
			return
		}
		body, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.URL.Path != "/v2/trackers" {
			t.Errorf("request %s %s, want POST /v2/trackers", r.Method, r.URL.Path)
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type = %q", ct)
		}
		if string(body) != `{"tracker":{"tracking_code":"EZ1000000001"}}` {
			t.Errorf("request body = %s", body)
		}
		w.WriteHeader(http.StatusCreated)
		w.Write(want)
	}, 0)
	got, err := a.Poll(context.Background(), "EZ1000000001")
	if err != nil {
		t.Fatalf("Poll = %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("Poll returned %q, want the answer as received", got)
	}
}

func TestPoll_EscapesTheID(t *testing.T) {
	a := newPollAdapter(t, func(w http.ResponseWriter, r *http.Request) {
		if got := r.URL.EscapedPath(); got != "/v2/trackers/trk_a%2F..%2Fb%3Fx=1" {
			t.Errorf("path = %q, want the id escaped as one segment", got)
		}
		w.Write(fixture(t, retrieveTracker))
	}, 0)
	if _, err := a.Poll(context.Background(), "trk_a/../b?x=1"); err != nil {
		t.Fatal(err)
	}
}

func TestPoll_Refusals(t *testing.T) {
	tests := []struct {
		name       string
		id         string
		status     int
		header     map[string]string
		body       string
		code, msg  string
		retryAfter time.Duration
		temporary  bool
	}{
		{"401 bad API key", "trk_1", 401, nil, body401, "APIKEY.INACTIVE", "This API key is no longer active", 0, false},
		{"404 no such tracker", "trk_1", 404, nil, body404, "NOT_FOUND", "The requested resource could not be found.", 0, false},
		{"422 test-mode number (karrio's recorded answer)", "1Z999AA10123456784", 422, nil, "",
			"TRACKER.CREATE.ERROR", "In test mode, only test tracking numbers are valid.", 0, false},
		{"429 with Retry-After seconds", "trk_1", 429, map[string]string{"Retry-After": "7"}, body429,
			"RATE_LIMITED", "You have exceeded the rate limit", 7 * time.Second, true},
		{"429 with Retry-After date", "trk_1", 429, map[string]string{"Retry-After": testNow.Add(90 * time.Second).Format(http.TimeFormat)}, body429,
			"RATE_LIMITED", "", 90 * time.Second, true},
		{"429 without Retry-After", "trk_1", 429, nil, body429, "RATE_LIMITED", "", 0, true},
		{"500 without a body", "trk_1", 500, nil, "", "", "", 0, true},
		{"502 HTML from a proxy", "trk_1", 502, map[string]string{"Content-Type": "text/html"}, body502, "", "", 0, true},
		{"503 with a list of messages", "trk_1", 503, map[string]string{"Retry-After": "30"}, body503,
			"SERVICE.UNAVAILABLE", "The service is temporarily unavailable., Please retry.", 30 * time.Second, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := tt.body
			if body == "" && tt.status == 422 {
				body = string(fixture(t, karrioErrorReply))
			}
			a := newPollAdapter(t, func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
				io.WriteString(w, body)
			}, 0)
			got, err := a.Poll(context.Background(), tt.id)
			if got != nil {
				t.Errorf("Poll returned a body with an error status: %q", got)
			}
			var re *carriers.RemoteError
			if !errors.As(err, &re) {
				t.Fatalf("Poll error = %v (%T), want a *carriers.RemoteError", err, err)
			}
			if re.Status != tt.status || re.Code != tt.code || !strings.HasPrefix(re.Message, tt.msg) {
				t.Errorf("RemoteError = %d %q %q; want %d %q %q...", re.Status, re.Code, re.Message, tt.status, tt.code, tt.msg)
			}
			if re.RetryAfter != tt.retryAfter {
				t.Errorf("RetryAfter = %v, want %v", re.RetryAfter, tt.retryAfter)
			}
			if re.Temporary() != tt.temporary {
				t.Errorf("Temporary() = %v, want %v", re.Temporary(), tt.temporary)
			}
		})
	}
}

func TestPoll_BadAnswers(t *testing.T) {
	tests := []struct {
		name string
		body string
		has  string
	}{
		{"malformed JSON", `{"id":"trk_1","status":`, "not a JSON object"},
		{"HTML", "<html>maintenance</html>", "not a JSON object"},
		{"a JSON array", `[{"id":"trk_1"}]`, "not a JSON object"},
		{"empty", "", "not a JSON object"},
		{"too large", `{"x":"` + strings.Repeat("a", maxAnswer) + `"}`, "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newPollAdapter(t, func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, tt.body)
			}, 0)
			got, err := a.Poll(context.Background(), "trk_1")
			var re *carriers.RemoteError
			if !errors.As(err, &re) {
				t.Fatalf("Poll = %q, %v; want a *carriers.RemoteError", got, err)
			}
			if re.Status != 200 || re.Err == nil || !strings.Contains(err.Error(), tt.has) {
				t.Errorf("RemoteError = %v (status %d); want status 200 and %q", err, re.Status, tt.has)
			}
		})
	}
}

func TestPoll_NoAnswer(t *testing.T) {
	t.Run("timeout", func(t *testing.T) {
		a := newPollAdapter(t, func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done() // never answers
		}, 50*time.Millisecond)
		_, err := a.Poll(context.Background(), "trk_1")
		var re *carriers.RemoteError
		if !errors.As(err, &re) || re.Status != 0 || !re.Temporary() {
			t.Fatalf("Poll = %v; want a temporary RemoteError with status 0", err)
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error %v does not wrap context.DeadlineExceeded", err)
		}
	})
	t.Run("caller cancelled", func(t *testing.T) {
		a := newPollAdapter(t, func(w http.ResponseWriter, r *http.Request) {
			t.Error("a cancelled poll reached the server")
		}, 0)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := a.Poll(ctx, "trk_1")
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Poll = %v, want it to wrap context.Canceled", err)
		}
	})
	t.Run("connection refused", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close()
		a := New(Config{APIKey: testAPIKey, BaseURL: url})
		_, err := a.Poll(context.Background(), "trk_1")
		var re *carriers.RemoteError
		if !errors.As(err, &re) || re.Status != 0 || !re.Temporary() {
			t.Errorf("Poll = %v; want a temporary RemoteError with status 0", err)
		}
	})
	t.Run("answer cut off", func(t *testing.T) {
		a := newPollAdapter(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "5000")
			w.Write(fixture(t, retrieveTracker)[:100])
			// The handler returns with the body short of its length: the
			// server closes the connection.
		}, 0)
		_, err := a.Poll(context.Background(), "trk_1")
		var re *carriers.RemoteError
		if !errors.As(err, &re) || re.Status != 0 || !re.Temporary() {
			t.Errorf("Poll = %v; want a temporary RemoteError with status 0", err)
		}
	})
}

func TestPoll_RefusesWithoutAskingEasyPost(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { calls.Add(1) }))
	defer srv.Close()
	tests := []struct {
		name, key, id, has string
	}{
		{"no API key", "", "trk_1", "no API key"},
		{"no id", testAPIKey, "  ", "no tracker id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(Config{APIKey: tt.key, BaseURL: srv.URL}).Poll(context.Background(), tt.id)
			if err == nil || !strings.Contains(err.Error(), tt.has) {
				t.Errorf("Poll = %v, want an error saying %q", err, tt.has)
			}
		})
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("the server was asked %d times", n)
	}
}

func TestRetryAfter_Values(t *testing.T) {
	tests := []struct {
		h    string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"-5", 0},
		{"120", 2 * time.Minute},
		{" 3 ", 3 * time.Second},
		{"99999999999999999", maxRetryAfter},
		{"99999999999999999999999", 0}, // not a number Go can hold, not a date
		{testNow.Add(time.Hour).Format(http.TimeFormat), time.Hour},
		{testNow.Add(-time.Hour).Format(http.TimeFormat), 0},
		{testNow.Add(72 * time.Hour).Format(http.TimeFormat), maxRetryAfter},
		{"soon", 0},
		{"1.5", 0},
	}
	for _, tt := range tests {
		if got := retryAfter(tt.h, testNow); got != tt.want {
			t.Errorf("retryAfter(%q) = %v, want %v", tt.h, got, tt.want)
		}
	}
}

func TestConfigFromEnv_ReadsTheVariables(t *testing.T) {
	env := map[string]string{
		"TRACKD_EASYPOST_WEBHOOK_SECRET": " sécret ",
		"TRACKD_EASYPOST_API_KEY":        "EZAK123",
		"TRACKD_EASYPOST_BASE_URL":       "http://127.0.0.1:9999/",
	}
	cfg := ConfigFromEnv(func(k string) string { return env[k] })
	if cfg.WebhookSecret != "sécret" || cfg.APIKey != "EZAK123" || cfg.BaseURL != "http://127.0.0.1:9999/" {
		t.Errorf("ConfigFromEnv = %+v", cfg)
	}
	if cfg := ConfigFromEnv(func(string) string { return "" }); cfg.BaseURL != DefaultBaseURL {
		t.Errorf("default BaseURL = %q, want %q", cfg.BaseURL, DefaultBaseURL)
	}
}

func TestNew_Defaults(t *testing.T) {
	a := New(Config{BaseURL: " https://api.easypost.com/ "})
	if a.cfg.BaseURL != "https://api.easypost.com" || a.cfg.Timeout != DefaultTimeout || a.client == nil {
		t.Errorf("New = %+v", a.cfg)
	}
	if a.Slug() != "easypost" || a.Name() != "EasyPost" {
		t.Errorf("Slug, Name = %q, %q", a.Slug(), a.Name())
	}
	if New(Config{}).cfg.BaseURL != DefaultBaseURL {
		t.Error("an empty BaseURL is not DefaultBaseURL")
	}
}
