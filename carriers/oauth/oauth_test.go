package oauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trackd/trackd/carriers"
)

// tokenServer issues tok-1, tok-2, ... valid for expiresIn seconds, to the
// client "id" with secret "secret" in the form, and counts the requests.
type tokenServer struct {
	*httptest.Server
	issued    atomic.Int64
	expiresIn int
	status    int // when set, every token request fails with it
	header    http.Header
}

func newTokenServer(t *testing.T, expiresIn int) *tokenServer {
	ts := &tokenServer{expiresIn: expiresIn}
	ts.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ts.header = r.Header.Clone()
		w.Header().Set("Content-Type", "application/json")
		if ts.status != 0 {
			w.Header().Set("Retry-After", "30")
			w.WriteHeader(ts.status)
			fmt.Fprint(w, `{"error":"invalid_client","error_description":"Client authentication failed."}`)
			return
		}
		if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" {
			http.Error(w, `{"error":"unsupported_grant_type"}`, 400)
			return
		}
		id, secret, ok := r.BasicAuth()
		if !ok {
			id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
		}
		if id != "id" || secret != "secret" {
			w.WriteHeader(401)
			fmt.Fprint(w, `{"error":"invalid_client","error_description":"Client authentication failed."}`)
			return
		}
		n := ts.issued.Add(1)
		fmt.Fprintf(w, `{"access_token":"tok-%d","token_type":"Bearer","expires_in":%d}`, n, ts.expiresIn)
	}))
	t.Cleanup(ts.Close)
	return ts
}

func TestTokenIsFetchedOnceAndReused(t *testing.T) {
	for _, style := range []AuthStyle{AuthInHeader, AuthInParams} {
		ts := newTokenServer(t, 3600)
		c := New(Config{TokenURL: ts.URL, ClientID: "id", ClientSecret: "secret", AuthStyle: style,
			Header: http.Header{"X-Merchant-Id": {"A1B2C3"}}})
		for range 3 {
			tok, err := c.Token(context.Background())
			if err != nil || tok != "tok-1" {
				t.Fatalf("style %d: Token = %q, %v; want tok-1", style, tok, err)
			}
		}
		if n := ts.issued.Load(); n != 1 {
			t.Errorf("style %d: %d tokens issued, want 1", style, n)
		}
		if got := ts.header.Get("X-Merchant-Id"); got != "A1B2C3" {
			t.Errorf("style %d: token request X-Merchant-Id = %q", style, got)
		}
	}
}

func TestTokenIsRefetchedBeforeItExpires(t *testing.T) {
	ts := newTokenServer(t, 600)
	c := New(Config{TokenURL: ts.URL, ClientID: "id", ClientSecret: "secret", AuthStyle: AuthInParams})
	now := time.Now()
	c.now = func() time.Time { return now }
	if tok, _ := c.Token(context.Background()); tok != "tok-1" {
		t.Fatalf("first token %q", tok)
	}
	now = now.Add(600*time.Second - expiryMargin + time.Second)
	if tok, _ := c.Token(context.Background()); tok != "tok-2" {
		t.Fatalf("token near expiry = %q, want a fresh tok-2", tok)
	}
}

func TestConcurrentCallersShareOneFetch(t *testing.T) {
	ts := newTokenServer(t, 3600)
	c := New(Config{TokenURL: ts.URL, ClientID: "id", ClientSecret: "secret", AuthStyle: AuthInParams})
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if _, err := c.Token(context.Background()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := ts.issued.Load(); n != 1 {
		t.Errorf("%d tokens issued for 20 concurrent callers, want 1", n)
	}
}

func TestDoRefreshesOn401(t *testing.T) {
	ts := newTokenServer(t, 3600)
	var calls atomic.Int64
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		// The API has revoked tok-1 early.
		if r.Header.Get("Authorization") != "Bearer tok-2" {
			w.WriteHeader(401)
			fmt.Fprint(w, `{"response":{"errors":[{"code":"250002","message":"Invalid Authentication Information."}]}}`)
			return
		}
		fmt.Fprint(w, `{"ok":true}`)
	}))
	defer api.Close()
	c := New(Config{TokenURL: ts.URL, ClientID: "id", ClientSecret: "secret", AuthStyle: AuthInHeader})
	get := func(ctx context.Context) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodGet, api.URL, nil)
	}
	resp, err := c.Do(context.Background(), get)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || calls.Load() != 2 || ts.issued.Load() != 2 {
		t.Fatalf("status %d after %d API calls and %d tokens; want 200 after 2 and 2", resp.StatusCode, calls.Load(), ts.issued.Load())
	}
	// The fresh token is kept.
	resp, err = c.Do(context.Background(), get)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || ts.issued.Load() != 2 {
		t.Errorf("second request: status %d, %d tokens issued; want 200 and still 2", resp.StatusCode, ts.issued.Load())
	}
}

func TestDoGivesUpAfterOneRefresh(t *testing.T) {
	ts := newTokenServer(t, 3600)
	var calls atomic.Int64
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(401)
	}))
	defer api.Close()
	c := New(Config{TokenURL: ts.URL, ClientID: "id", ClientSecret: "secret", AuthStyle: AuthInParams})
	resp, err := c.Do(context.Background(), func(ctx context.Context) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodGet, api.URL, nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || calls.Load() != 2 {
		t.Errorf("status %d after %d calls; want the second 401 returned after 2", resp.StatusCode, calls.Load())
	}
}

func TestTokenErrorsAreRemoteErrors(t *testing.T) {
	tests := []struct {
		name       string
		secret     string
		status     int
		wantStatus int
		wantCode   string
		temporary  bool
		retryAfter time.Duration
	}{
		{name: "wrong secret", secret: "nope", wantStatus: 401, wantCode: "invalid_client"},
		{name: "rate limited", secret: "secret", status: 429, wantStatus: 429, wantCode: "invalid_client", temporary: true, retryAfter: 30 * time.Second},
		{name: "server error", secret: "secret", status: 503, wantStatus: 503, wantCode: "invalid_client", temporary: true, retryAfter: 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTokenServer(t, 3600)
			ts.status = tt.status
			c := New(Config{TokenURL: ts.URL, ClientID: "id", ClientSecret: tt.secret, AuthStyle: AuthInParams})
			_, err := c.Token(context.Background())
			var re *carriers.RemoteError
			if !errors.As(err, &re) {
				t.Fatalf("err = %v, want a RemoteError", err)
			}
			if re.Status != tt.wantStatus || re.Code != tt.wantCode || re.Temporary() != tt.temporary || re.RetryAfter != tt.retryAfter {
				t.Errorf("got status %d code %q temporary %v retry after %v", re.Status, re.Code, re.Temporary(), re.RetryAfter)
			}
		})
	}
}

func TestUnreachableTokenEndpointIsTemporary(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	c := New(Config{TokenURL: url, ClientID: "id", ClientSecret: "secret"})
	_, err := c.Token(context.Background())
	var re *carriers.RemoteError
	if !errors.As(err, &re) || !re.Temporary() {
		t.Fatalf("err = %v, want a temporary RemoteError", err)
	}
}

func TestNoCredentials(t *testing.T) {
	c := New(Config{TokenURL: "http://127.0.0.1:1/token"})
	if c.Configured() {
		t.Fatal("Configured with no credentials")
	}
	if _, err := c.Token(context.Background()); err == nil {
		t.Fatal("Token without credentials succeeded")
	}
}
