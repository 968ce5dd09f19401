package ups

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trackd/trackd/carriers"
)

func webhookAdapter(secret string) *Adapter {
	a := New(Config{WebhookSecret: secret})
	a.now = func() time.Time { return testNow }
	return a
}

func basic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))
}

// issue asks a's token endpoint for a token the way UPS does, and returns it.
func issue(t *testing.T, a *Adapter, at time.Time) string {
	t.Helper()
	r := request([]byte("grant_type=client_credentials"), map[string]string{
		"Authorization": basic(DefaultWebhookClientID, a.cfg.WebhookSecret),
		"Content-Type":  "application/x-www-form-urlencoded",
	})
	r.Now = at
	status, body := a.IssueWebhookToken(r)
	if status != http.StatusOK {
		t.Fatalf("IssueWebhookToken = %d %s", status, body)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &tok); err != nil {
		t.Fatal(err)
	}
	if tok.TokenType != "Bearer" || tok.ExpiresIn != 3600 || tok.AccessToken == "" {
		t.Fatalf("token answer %s", body)
	}
	return tok.AccessToken
}

func TestVerifyWebhook(t *testing.T) {
	body := readTestdata(t, "trackalert_webhook_v2_01_out_for_delivery.json")
	a := webhookAdapter(testSecret)
	token := issue(t, a, testNow)
	other := issue(t, webhookAdapter("another secret"), testNow)
	old := issue(t, a, testNow.Add(-WebhookTokenTTL))
	payload, mac, _ := strings.Cut(strings.TrimPrefix(token, tokenVersion), ".")
	future := mintToken(a.tokenKey, testNow.Add(WebhookTokenTTL+maxClockSkew+time.Second))

	tests := []struct {
		name    string
		headers map[string]string
		at      time.Time
		errHas  string // "" when accepted
	}{
		// v1: the subscription's credential.
		{name: "v1 credential", headers: map[string]string{"credential": testSecret}},
		{name: "v1 credential, header name in capitals", headers: map[string]string{"Credential": testSecret}},
		{name: "v1 wrong credential", headers: map[string]string{"credential": "guess"}, errHas: "not the webhook secret"},
		{name: "v1 credential of another case", headers: map[string]string{"credential": strings.ToUpper(testSecret)}, errHas: "not the webhook secret"},
		{name: "v1 credential with a suffix", headers: map[string]string{"credential": testSecret + "x"}, errHas: "not the webhook secret"},
		// v2: a token from IssueWebhookToken.
		{name: "v2 bearer token", headers: map[string]string{"Authorization": "Bearer " + token, "x-api-key": DefaultWebhookClientID}},
		{name: "v2 lower-case scheme", headers: map[string]string{"Authorization": "bearer " + token}},
		{name: "v2 token at its last second", headers: map[string]string{"Authorization": "Bearer " + token}, at: testNow.Add(WebhookTokenTTL - time.Second)},
		{name: "v2 token a node with a slow clock issued", headers: map[string]string{"Authorization": "Bearer " + future}, at: testNow.Add(2 * time.Second)},
		{name: "v2 expired token", headers: map[string]string{"Authorization": "Bearer " + token}, at: testNow.Add(WebhookTokenTTL), errHas: "expired"},
		{name: "v2 token expired an hour ago", headers: map[string]string{"Authorization": "Bearer " + old}, errHas: "expired"},
		{name: "v2 token issued under another secret", headers: map[string]string{"Authorization": "Bearer " + other}, errHas: "not issued with this webhook secret"},
		{name: "v2 token with its expiry moved", headers: map[string]string{
			"Authorization": "Bearer " + tokenVersion + strconv.FormatInt(testNow.Add(2*WebhookTokenTTL).Unix(), 10) + "." + mac,
		}, errHas: "not issued with this webhook secret"},
		{name: "v2 token expiring too late", headers: map[string]string{"Authorization": "Bearer " + future}, errHas: "later than any token"},
		{name: "v2 token with a changed MAC", headers: map[string]string{"Authorization": "Bearer " + tokenVersion + payload + "." + flip(mac)}, errHas: "not issued"},
		{name: "v2 token with a truncated MAC", headers: map[string]string{"Authorization": "Bearer " + token[:len(token)-2]}, errHas: "malformed"},
		{name: "v2 token with padding", headers: map[string]string{"Authorization": "Bearer " + token + "="}, errHas: "malformed"},
		{name: "v2 token with a leading zero", headers: map[string]string{"Authorization": "Bearer " + tokenVersion + "0" + payload + "." + mac}, errHas: "malformed"},
		{name: "v2 token of another version", headers: map[string]string{"Authorization": "Bearer v2." + payload + "." + mac}, errHas: "not a trackd UPS webhook token"},
		{name: "v2 token without MAC", headers: map[string]string{"Authorization": "Bearer " + tokenVersion + payload}, errHas: "malformed"},
		{name: "v2 token with a negative expiry", headers: map[string]string{"Authorization": "Bearer " + tokenVersion + "-1." + mac}, errHas: "malformed"},
		{name: "v2 token with a huge expiry", headers: map[string]string{"Authorization": "Bearer " + tokenVersion + "99999999999999999999." + mac}, errHas: "malformed"},
		{name: "the webhook secret is no token", headers: map[string]string{"Authorization": "Bearer " + testSecret}, errHas: "not a trackd UPS webhook token"},
		{name: "empty bearer", headers: map[string]string{"Authorization": "Bearer"}, errHas: "not a trackd UPS webhook token"},
		{name: "basic credentials are no token", headers: map[string]string{"Authorization": basic("ups", testSecret)}, errHas: "not a Bearer token"},
		// Either way suffices.
		{name: "wrong credential, valid token", headers: map[string]string{"credential": "guess", "Authorization": "Bearer " + token}},
		{name: "valid credential, expired token", headers: map[string]string{"credential": testSecret, "Authorization": "Bearer " + old}},
		{name: "both wrong", headers: map[string]string{"credential": "guess", "Authorization": "Bearer " + other}, errHas: "not the webhook secret\nbearer token was not issued"},
		{name: "no header", headers: nil, errHas: "neither a credential header nor an Authorization header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := request(body, tt.headers)
			if !tt.at.IsZero() {
				r.Now = tt.at
			}
			err := a.VerifyWebhook(r)
			switch {
			case tt.errHas == "" && err != nil:
				t.Errorf("VerifyWebhook = %v, want nil", err)
			case tt.errHas != "" && err == nil:
				t.Errorf("VerifyWebhook = nil, want an error saying %q", tt.errHas)
			case err != nil && !errors.Is(err, carriers.ErrUnauthenticated):
				t.Errorf("VerifyWebhook error %v does not wrap ErrUnauthenticated", err)
			case err != nil && !strings.Contains(err.Error(), tt.errHas):
				t.Errorf("VerifyWebhook = %v, want it to say %q", err, tt.errHas)
			}
		})
	}
}

// flip changes the first character of a base64url string to another.
func flip(s string) string {
	c := byte('A')
	if s[0] == 'A' {
		c = 'B'
	}
	return string(c) + s[1:]
}

func TestVerifyWebhook_NoSecretRefusesEverything(t *testing.T) {
	a := webhookAdapter("")
	tok := mintToken(webhookTokenKey(""), testNow.Add(time.Minute))
	for _, h := range []map[string]string{
		{"credential": ""}, {"credential": "x"}, {"Authorization": "Bearer " + tok}, nil,
	} {
		err := a.VerifyWebhook(request([]byte("{}"), h))
		if !errors.Is(err, carriers.ErrUnauthenticated) || !strings.Contains(err.Error(), "TRACKD_UPS_WEBHOOK_SECRET") {
			t.Errorf("VerifyWebhook(%v) = %v", h, err)
		}
	}
	if status, body := a.IssueWebhookToken(request([]byte("grant_type=client_credentials"), map[string]string{
		"Authorization": basic("ups", ""),
	})); status != 401 || !strings.Contains(string(body), "invalid_client") {
		t.Errorf("IssueWebhookToken without a secret = %d %s", status, body)
	}
}

// Every trackd node verifies the tokens another node issued, and a new
// secret revokes them all.
func TestWebhookToken_SharedByNodesAndRevokedByRotation(t *testing.T) {
	token := issue(t, webhookAdapter(testSecret), testNow)
	r := request(nil, map[string]string{"Authorization": "Bearer " + token})
	if err := webhookAdapter(testSecret).VerifyWebhook(r); err != nil {
		t.Errorf("another node: %v", err)
	}
	if err := webhookAdapter(testSecret + "-rotated").VerifyWebhook(r); err == nil {
		t.Error("a node with the rotated secret accepted the old token")
	}
	// Issued at another time, another token.
	if token == issue(t, webhookAdapter(testSecret), testNow.Add(time.Second)) {
		t.Error("two tokens a second apart are the same")
	}
}

func TestIssueWebhookToken(t *testing.T) {
	form := "application/x-www-form-urlencoded"
	tests := []struct {
		name    string
		body    string
		headers map[string]string
		cfg     Config
		status  int
		errCode string
	}{
		{name: "HTTP Basic, as UPS sends it", body: "grant_type=client_credentials",
			headers: map[string]string{"Authorization": basic("ups", testSecret), "Content-Type": form}, status: 200},
		{name: "content type with a charset", body: "grant_type=client_credentials",
			headers: map[string]string{"Authorization": basic("ups", testSecret), "Content-Type": form + "; charset=UTF-8"}, status: 200},
		{name: "no content type", body: "grant_type=client_credentials",
			headers: map[string]string{"Authorization": basic("ups", testSecret)}, status: 200},
		{name: "a scope is ignored", body: "grant_type=client_credentials&scope=read",
			headers: map[string]string{"Authorization": basic("ups", testSecret)}, status: 200},
		{name: "credentials in the form", body: "grant_type=client_credentials&client_id=ups&client_secret=" + url.QueryEscape(testSecret),
			headers: map[string]string{"Content-Type": form}, status: 200},
		{name: "Basic with client_id in the form too", body: "grant_type=client_credentials&client_id=ups",
			headers: map[string]string{"Authorization": basic("ups", testSecret)}, status: 200},
		{name: "Basic credentials form-encoded first (RFC 6749 2.3.1)", body: "grant_type=client_credentials",
			cfg:     Config{WebhookClientID: "trackd:ups", WebhookSecret: "s3cr/t+%"},
			headers: map[string]string{"Authorization": basic(url.QueryEscape("trackd:ups"), url.QueryEscape("s3cr/t+%"))}, status: 200},
		{name: "Basic credentials not form-encoded, as many clients send them", body: "grant_type=client_credentials",
			cfg:     Config{WebhookSecret: "a+b/c%2"},
			headers: map[string]string{"Authorization": basic("ups", "a+b/c%2")}, status: 200},
		{name: "a secret that differs once decoded", body: "grant_type=client_credentials",
			cfg:     Config{WebhookSecret: "a b"},
			headers: map[string]string{"Authorization": basic("ups", "a+b")}, status: 200},
		{name: "another client id", body: "grant_type=client_credentials", cfg: Config{WebhookClientID: "trackd-prod", WebhookSecret: testSecret},
			headers: map[string]string{"Authorization": basic("trackd-prod", testSecret)}, status: 200},

		{name: "wrong secret", body: "grant_type=client_credentials",
			headers: map[string]string{"Authorization": basic("ups", "guess")}, status: 401, errCode: "invalid_client"},
		{name: "wrong client id", body: "grant_type=client_credentials",
			headers: map[string]string{"Authorization": basic("UPS", testSecret)}, status: 401, errCode: "invalid_client"},
		{name: "wrong secret in the form", body: "grant_type=client_credentials&client_id=ups&client_secret=guess",
			status: 401, errCode: "invalid_client"},
		{name: "no client authentication", body: "grant_type=client_credentials", status: 401, errCode: "invalid_client"},
		{name: "only a client id", body: "grant_type=client_credentials&client_id=ups", status: 401, errCode: "invalid_client"},
		{name: "a bearer token is no client authentication", body: "grant_type=client_credentials",
			headers: map[string]string{"Authorization": "Bearer " + testSecret}, status: 401, errCode: "invalid_client"},
		{name: "Basic that is not base64", body: "grant_type=client_credentials",
			headers: map[string]string{"Authorization": "Basic ???"}, status: 401, errCode: "invalid_client"},
		{name: "Basic without a colon", body: "grant_type=client_credentials",
			headers: map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("ups"))}, status: 401, errCode: "invalid_client"},
		{name: "Basic with a bad escape", body: "grant_type=client_credentials",
			headers: map[string]string{"Authorization": basic("ups", "%zz")}, status: 401, errCode: "invalid_client"},

		{name: "wrong credentials and no grant: the client first", body: "",
			headers: map[string]string{"Authorization": basic("ups", "guess")}, status: 401, errCode: "invalid_client"},
		{name: "no grant_type", body: "",
			headers: map[string]string{"Authorization": basic("ups", testSecret)}, status: 400, errCode: "invalid_request"},
		{name: "an empty grant_type is none", body: "grant_type=",
			headers: map[string]string{"Authorization": basic("ups", testSecret)}, status: 400, errCode: "invalid_request"},
		{name: "another grant", body: "grant_type=password&username=a&password=b",
			headers: map[string]string{"Authorization": basic("ups", testSecret)}, status: 400, errCode: "unsupported_grant_type"},
		{name: "grant_type repeated", body: "grant_type=client_credentials&grant_type=client_credentials",
			headers: map[string]string{"Authorization": basic("ups", testSecret)}, status: 400, errCode: "invalid_request"},
		{name: "two authentication methods", body: "grant_type=client_credentials&client_id=ups&client_secret=" + url.QueryEscape(testSecret),
			headers: map[string]string{"Authorization": basic("ups", testSecret)}, status: 400, errCode: "invalid_request"},
		{name: "client_id other than the Basic user", body: "grant_type=client_credentials&client_id=other",
			headers: map[string]string{"Authorization": basic("ups", testSecret)}, status: 400, errCode: "invalid_request"},
		{name: "a JSON body", body: `{"grant_type":"client_credentials"}`,
			headers: map[string]string{"Authorization": basic("ups", testSecret), "Content-Type": "application/json"}, status: 400, errCode: "invalid_request"},
		{name: "a broken content type", body: "grant_type=client_credentials",
			headers: map[string]string{"Authorization": basic("ups", testSecret), "Content-Type": ";;"}, status: 400, errCode: "invalid_request"},
		{name: "a body that is no form", body: "grant_type=%zz",
			headers: map[string]string{"Authorization": basic("ups", testSecret)}, status: 400, errCode: "invalid_request"},
		{name: "a body too large", body: "grant_type=client_credentials&pad=" + strings.Repeat("a", maxTokenRequestBytes),
			headers: map[string]string{"Authorization": basic("ups", testSecret)}, status: 400, errCode: "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			if cfg.WebhookSecret == "" {
				cfg.WebhookSecret = testSecret
			}
			a := New(cfg)
			status, body := a.IssueWebhookToken(request([]byte(tt.body), tt.headers))
			if status != tt.status {
				t.Fatalf("status %d %s, want %d", status, body, tt.status)
			}
			var ans map[string]any
			if err := json.Unmarshal(body, &ans); err != nil {
				t.Fatalf("answer %q is not JSON: %v", body, err)
			}
			if tt.status != 200 {
				if ans["error"] != tt.errCode || ans["access_token"] != nil {
					t.Errorf("answer %s, want error %q", body, tt.errCode)
				}
				return
			}
			if ans["token_type"] != "Bearer" || ans["expires_in"] != 3600.0 || len(ans) != 3 {
				t.Errorf("answer %s", body)
			}
			tok, _ := ans["access_token"].(string)
			if err := a.VerifyWebhook(request(nil, map[string]string{"Authorization": "Bearer " + tok})); err != nil {
				t.Errorf("the token issued does not verify: %v", err)
			}
		})
	}
}

func TestWebhookTokenHeaders(t *testing.T) {
	h := WebhookTokenHeaders(200)
	if h.Get("Cache-Control") != "no-store" || h.Get("Pragma") != "no-cache" || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
		t.Errorf("200 headers %v", h)
	}
	if h.Get("WWW-Authenticate") != "" {
		t.Error("a 200 with a challenge")
	}
	if !strings.HasPrefix(WebhookTokenHeaders(401).Get("WWW-Authenticate"), "Basic ") {
		t.Error("a 401 without a Basic challenge")
	}
}
