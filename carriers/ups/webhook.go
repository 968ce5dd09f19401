package ups

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/trackd/trackd/carriers"
)

// CredentialHeader carries a Track Alert v1 subscription's credential
// (UPSTrackAlert.yaml v1: "an opaque string meant for client
// authentication. Shared in Subscription request").
const CredentialHeader = "credential"

// WebhookTokenTTL is how long a token from IssueWebhookToken lasts. UPS
// fetches a new one when it expires (expires_in), so a short life costs a
// token request an hour and bounds what a leaked token is worth.
const WebhookTokenTTL = time.Hour

// maxClockSkew is how far ahead of this node's clock another node's may
// be: a token expiring later than WebhookTokenTTL plus this from now was
// not issued by a trackd node, whatever its signature says.
const maxClockSkew = 5 * time.Minute

// maxTokenRequestBytes bounds a token request's body: a client-credentials
// form is a few dozen bytes.
const maxTokenRequestBytes = 4 << 10

// tokenVersion starts every webhook token, so that its format can change
// without old tokens being misread.
const tokenVersion = "v1."

// webhookTokenKey derives the key webhook tokens are signed with from the
// webhook secret, so that the secret itself (which UPS also sends as the
// client secret and the v1 credential) never signs anything.
func webhookTokenKey(secret string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("trackd/ups/webhook-token/v1"))
	return m.Sum(nil)
}

// mintToken returns a token that expires at exp: "v1.<unix seconds>.<MAC>",
// the MAC being base64url(HMAC-SHA256(key, "v1.<unix seconds>")). The
// token holds nothing secret; it is only unforgeable.
func mintToken(key []byte, exp time.Time) string {
	payload := tokenVersion + strconv.FormatInt(exp.Unix(), 10)
	return payload + "." + base64.RawURLEncoding.EncodeToString(tokenMAC(key, payload))
}

func tokenMAC(key []byte, payload string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// checkToken verifies a token from mintToken at now.
func checkToken(key []byte, token string, now time.Time) error {
	rest, ok := strings.CutPrefix(token, tokenVersion)
	if !ok {
		return errors.New("bearer token is not a trackd UPS webhook token")
	}
	exp, sig, ok := strings.Cut(rest, ".")
	if !ok || exp == "" || len(exp) > 19 {
		return errors.New("bearer token is malformed")
	}
	n, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || n <= 0 || strconv.FormatInt(n, 10) != exp {
		return errors.New("bearer token is malformed")
	}
	got, err := base64.RawURLEncoding.Strict().DecodeString(sig)
	if err != nil || len(got) != sha256.Size {
		return errors.New("bearer token is malformed")
	}
	if !hmac.Equal(got, tokenMAC(key, tokenVersion+exp)) {
		return errors.New("bearer token was not issued with this webhook secret")
	}
	expiry := time.Unix(n, 0)
	switch {
	case !now.Before(expiry):
		return fmt.Errorf("bearer token expired at %s", expiry.UTC().Format(time.RFC3339))
	case expiry.After(now.Add(WebhookTokenTTL + maxClockSkew)):
		return fmt.Errorf("bearer token expires at %s, later than any token issued now", expiry.UTC().Format(time.RFC3339))
	}
	return nil
}

// equalSecret compares in constant time, whatever the lengths: both sides
// are hashed first.
func equalSecret(got, want string) bool {
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

// VerifyWebhook implements carriers.Adapter. A Track Alert post is
// authentic when it carries either the webhook secret in the credential
// header (v1 subscriptions) or, in Authorization, a Bearer token that
// IssueWebhookToken issued under the current webhook secret and that has
// not expired (v2). The x-api-key header UPS adds in v2 (the client id of
// the token) is not checked: the token already proves what it would. UPS
// signs no body, so a replay within a token's hour, or of a v1 credential,
// is not detected; it would only repeat an event trackd stores once.
func (a *Adapter) VerifyWebhook(r carriers.WebhookRequest) error {
	if err := a.verify(r); err != nil {
		return fmt.Errorf("%w: %w", carriers.ErrUnauthenticated, err)
	}
	return nil
}

func (a *Adapter) verify(r carriers.WebhookRequest) error {
	if a.tokenKey == nil {
		return errors.New("no UPS webhook secret configured (TRACKD_UPS_WEBHOOK_SECRET)")
	}
	cred, auth := header(r, CredentialHeader), header(r, "Authorization")
	if cred == "" && auth == "" {
		return fmt.Errorf("neither a %s header nor an Authorization header", CredentialHeader)
	}
	var errs []error
	if cred != "" {
		if equalSecret(cred, a.cfg.WebhookSecret) {
			return nil
		}
		errs = append(errs, fmt.Errorf("the %s header is not the webhook secret", CredentialHeader))
	}
	if auth != "" {
		scheme, token, _ := strings.Cut(strings.TrimSpace(auth), " ")
		if !strings.EqualFold(scheme, "Bearer") {
			errs = append(errs, errors.New("the Authorization header is not a Bearer token"))
		} else {
			err := checkToken(a.tokenKey, strings.TrimSpace(token), a.nowOf(r))
			if err == nil {
				return nil
			}
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (a *Adapter) nowOf(r carriers.WebhookRequest) time.Time {
	if r.Now.IsZero() {
		return a.now()
	}
	return r.Now
}

func header(r carriers.WebhookRequest, name string) string {
	if r.Header == nil {
		return ""
	}
	return strings.TrimSpace(r.Header(name))
}

// tokenError is an RFC 6749 §5.2 error response.
type tokenError struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// tokenResponse is an RFC 6749 §5.1 access token response.
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
}

// IssueWebhookToken is the token endpoint UPS calls before posting Track
// Alert v2 webhooks: an RFC 6749 §4.4 client-credentials grant. The
// request is a POST whose body is the form
// grant_type=client_credentials, the client authenticated with HTTP Basic
// (client_secret_basic, what UPS's clientOauth2 scheme declares) or with
// client_id and client_secret in the form; the client id is
// Config.WebhookClientID and the secret Config.WebhookSecret. It answers
// 200 with {"access_token", "token_type": "Bearer", "expires_in"}, or an
// RFC 6749 §5.2 error: 400 invalid_request (a malformed or repeated
// parameter, two authentication methods, no grant_type), 400
// unsupported_grant_type, or 401 invalid_client. A requested scope is
// ignored: these tokens have none. The route serving it sends the headers
// WebhookTokenHeaders gives.
func (a *Adapter) IssueWebhookToken(r carriers.WebhookRequest) (status int, body []byte) {
	if a.tokenKey == nil {
		return tokenFailure(http.StatusUnauthorized, "invalid_client", "no UPS webhook secret is configured")
	}
	if len(r.Body) > maxTokenRequestBytes {
		return tokenFailure(http.StatusBadRequest, "invalid_request", "the request body is too large")
	}
	if ct := header(r, "Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/x-www-form-urlencoded" {
			return tokenFailure(http.StatusBadRequest, "invalid_request", "the body must be application/x-www-form-urlencoded")
		}
	}
	form, err := url.ParseQuery(string(r.Body))
	if err != nil {
		return tokenFailure(http.StatusBadRequest, "invalid_request", "the body is not a form")
	}
	for k, vs := range form {
		if len(vs) > 1 {
			return tokenFailure(http.StatusBadRequest, "invalid_request", fmt.Sprintf("parameter %q is repeated", k))
		}
	}
	candidates, status, msg := clientCredentials(header(r, "Authorization"), form)
	if status != 0 {
		return tokenFailure(status, errorCode(status), msg)
	}
	// Every candidate is compared, and both halves of each, so that the
	// time taken does not tell a right id from a wrong one.
	authenticated := false
	for _, c := range candidates {
		idOK := equalSecret(c.id, a.cfg.WebhookClientID)
		secretOK := equalSecret(c.secret, a.cfg.WebhookSecret)
		authenticated = authenticated || idOK && secretOK
	}
	if !authenticated {
		return tokenFailure(http.StatusUnauthorized, "invalid_client", "client authentication failed")
	}
	switch grant := form.Get("grant_type"); grant {
	case "":
		return tokenFailure(http.StatusBadRequest, "invalid_request", "grant_type is missing")
	case "client_credentials":
	default:
		return tokenFailure(http.StatusBadRequest, "unsupported_grant_type", "only client_credentials is supported")
	}
	now := a.nowOf(r)
	b, err := json.Marshal(tokenResponse{
		AccessToken: mintToken(a.tokenKey, now.Add(WebhookTokenTTL)),
		TokenType:   "Bearer",
		ExpiresIn:   int(WebhookTokenTTL / time.Second),
	})
	if err != nil {
		return tokenFailure(http.StatusInternalServerError, "server_error", "")
	}
	return http.StatusOK, b
}

// client is a client id and secret a token request presents.
type client struct{ id, secret string }

// clientCredentials reads the client's id and secret from HTTP Basic or
// the form (RFC 6749 §2.3.1). A non-zero status is the failure to answer.
//
// RFC 6749 has the id and the secret form-encoded before Basic encodes
// them, and many clients skip that step: a secret with a "+" or a "%"
// reads differently the two ways. Both readings are returned, and either
// may match; they are the same secret, so accepting both weakens nothing.
func clientCredentials(authorization string, form url.Values) (candidates []client, status int, msg string) {
	formID, formSecret := form.Get("client_id"), form.Get("client_secret")
	if authorization == "" {
		if formID == "" || formSecret == "" {
			return nil, http.StatusUnauthorized, "no client authentication"
		}
		return []client{{formID, formSecret}}, 0, ""
	}
	scheme, cred, _ := strings.Cut(authorization, " ")
	if !strings.EqualFold(scheme, "Basic") {
		return nil, http.StatusUnauthorized, "client authentication must be HTTP Basic"
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	if err != nil {
		return nil, http.StatusUnauthorized, "malformed HTTP Basic credentials"
	}
	id, secret, ok := strings.Cut(string(raw), ":")
	if !ok {
		return nil, http.StatusUnauthorized, "malformed HTTP Basic credentials"
	}
	candidates = []client{{id, secret}}
	uid, err1 := url.QueryUnescape(id)
	usecret, err2 := url.QueryUnescape(secret)
	if err1 == nil && err2 == nil && (uid != id || usecret != secret) {
		candidates = append(candidates, client{uid, usecret})
	}
	switch {
	case formSecret != "":
		return nil, http.StatusBadRequest, "more than one client authentication method"
	case formID != "" && formID != id && (err1 != nil || formID != uid):
		return nil, http.StatusBadRequest, "client_id differs from the HTTP Basic user"
	}
	return candidates, 0, ""
}

func errorCode(status int) string {
	if status == http.StatusUnauthorized {
		return "invalid_client"
	}
	return "invalid_request"
}

func tokenFailure(status int, code, description string) (int, []byte) {
	b, err := json.Marshal(tokenError{Error: code, Description: description})
	if err != nil {
		return http.StatusInternalServerError, []byte(`{"error":"server_error"}`)
	}
	return status, b
}

// WebhookTokenHeaders are the headers the token endpoint's answer of
// status needs: JSON, never cached (RFC 6749 §5.1), and on 401 the
// challenge RFC 6749 §5.2 requires.
func WebhookTokenHeaders(status int) http.Header {
	h := http.Header{
		"Content-Type":  {"application/json;charset=UTF-8"},
		"Cache-Control": {"no-store"},
		"Pragma":        {"no-cache"},
	}
	if status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Basic realm="trackd UPS webhooks"`)
	}
	return h
}
