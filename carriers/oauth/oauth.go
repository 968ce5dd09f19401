// Package oauth holds the OAuth 2.0 client-credentials tokens the carrier
// APIs (UPS, FedEx, USPS) ask for: fetched when first needed, shared by
// every poll until shortly before they expire, and dropped when the API
// answers 401 so that the next request fetches a fresh one.
//
// The token request itself is golang.org/x/oauth2/clientcredentials; this
// package adds what it leaves out: a cache that takes the caller's context
// for each fetch, a refresh on 401, and errors the poll scheduler can read
// (carriers.RemoteError).
package oauth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/trackd/trackd/carriers"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// expiryMargin is how long before its stated expiry a token is no longer
// used: a request sent with a token about to expire may reach the carrier
// after it has.
const expiryMargin = time.Minute

// AuthStyle is how the client authenticates to the token endpoint.
type AuthStyle = oauth2.AuthStyle

// The styles the carriers use: UPS takes HTTP Basic, FedEx and USPS take
// client_id and client_secret in the form.
const (
	AuthInHeader = oauth2.AuthStyleInHeader
	AuthInParams = oauth2.AuthStyleInParams
)

// Config names the token endpoint and the client's credentials.
type Config struct {
	TokenURL     string
	ClientID     string
	ClientSecret string
	Scopes       []string
	AuthStyle    AuthStyle
	// Params are extra form fields of the token request.
	Params url.Values
	// Header is added to the token request (UPS: x-merchant-id).
	Header http.Header
	// HTTPClient sends token and API requests; nil means a new client over
	// http.DefaultTransport.
	HTTPClient *http.Client
}

// Client hands out the cached token and sends API requests with it.
type Client struct {
	cc     clientcredentials.Config
	http   *http.Client
	tokens *http.Client // http, with Header added to every token request
	now    func() time.Time

	mu    sync.Mutex
	token *oauth2.Token
}

// New returns a client for cfg.
func New(cfg Config) *Client {
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	tokens := hc
	if len(cfg.Header) > 0 {
		base := hc.Transport
		if base == nil {
			base = http.DefaultTransport
		}
		tokens = &http.Client{Transport: headerTransport{base: base, header: cfg.Header}, Timeout: hc.Timeout}
	}
	return &Client{
		cc: clientcredentials.Config{
			ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, TokenURL: cfg.TokenURL,
			Scopes: cfg.Scopes, EndpointParams: cfg.Params, AuthStyle: cfg.AuthStyle,
		},
		http: hc, tokens: tokens, now: time.Now,
	}
}

// Configured reports whether there are credentials to ask for a token with.
func (c *Client) Configured() bool { return c.cc.ClientID != "" && c.cc.ClientSecret != "" }

// Token returns the cached access token, fetching a new one when there is
// none or it is about to expire. Concurrent callers share one fetch.
func (c *Client) Token(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t := c.token; t != nil && (t.Expiry.IsZero() || c.now().Add(expiryMargin).Before(t.Expiry)) {
		return t.AccessToken, nil
	}
	if !c.Configured() {
		return "", errors.New("no OAuth client id and secret configured")
	}
	t, err := c.cc.Token(context.WithValue(ctx, oauth2.HTTPClient, c.tokens))
	if err != nil {
		return "", tokenError(err)
	}
	c.token = t
	return t.AccessToken, nil
}

// Invalidate drops the cached token if it is still stale, the one the API
// refused; a token another request has fetched since stays.
func (c *Client) Invalidate(stale string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != nil && c.token.AccessToken == stale {
		c.token = nil
	}
}

// Do sends the request newRequest builds, with the token as a Bearer
// Authorization. When the API answers 401 the token is dropped and the
// request is built and sent once more with a fresh one: tokens are revoked
// or expire early, and the carrier says so with 401. The second answer is
// returned whatever it is. An error is a *carriers.RemoteError.
func (c *Client) Do(ctx context.Context, newRequest func(ctx context.Context) (*http.Request, error)) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		token, err := c.Token(ctx)
		if err != nil {
			return nil, err
		}
		req, err := newRequest(ctx)
		if err != nil {
			return nil, fmt.Errorf("build request: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := c.http.Do(req)
		if err != nil {
			return nil, &carriers.RemoteError{Err: err}
		}
		if resp.StatusCode != http.StatusUnauthorized || attempt > 0 {
			return resp, nil
		}
		// Drain so the connection can carry the retry.
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		c.Invalidate(token)
	}
}

// tokenError turns a failed token request into a RemoteError, keeping the
// endpoint's status and its OAuth error code (invalid_client, ...).
func tokenError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		out := &carriers.RemoteError{Code: re.ErrorCode, Message: re.ErrorDescription, Err: fmt.Errorf("token request: %w", err)}
		if re.Response != nil {
			out.Status = re.Response.StatusCode
			out.RetryAfter = carriers.RetryAfter(re.Response.Header.Get("Retry-After"), time.Now(), 24*time.Hour)
		}
		return out
	}
	return &carriers.RemoteError{Err: fmt.Errorf("token request: %w", err)}
}

type headerTransport struct {
	base   http.RoundTripper
	header http.Header
}

func (t headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, vs := range t.header {
		for _, v := range vs {
			r.Header.Add(k, v)
		}
	}
	return t.base.RoundTrip(r)
}
