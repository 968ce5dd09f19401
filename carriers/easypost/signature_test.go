package easypost

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/trackd/trackd/carriers"
)

// vector is EasyPost's official webhook test vector (the "webhooks" member
// of EasyPost/examples official/fixtures/client-library-fixtures.json).
type vector struct {
	Webhooks struct {
		Secret        string `json:"secret"`
		HMACSignature string `json:"hmac_signature"`
	} `json:"webhooks"`
}

func loadVector(t *testing.T) (secret, signature string, body []byte) {
	t.Helper()
	var v vector
	if err := json.Unmarshal(fixture(t, hmacVector), &v); err != nil {
		t.Fatal(err)
	}
	return v.Webhooks.Secret, v.Webhooks.HMACSignature, fixture(t, fedexWebhook)
}

// request is a webhook request with the given X-Hmac-Signature ("" for none).
func request(body []byte, signature string) carriers.WebhookRequest {
	h := http.Header{}
	if signature != "" {
		h.Set(SignatureHeader, signature)
	}
	return carriers.WebhookRequest{Body: body, Header: h.Get}
}

func TestVerifyWebhook_OfficialTestVector(t *testing.T) {
	secret, sig, body := loadVector(t)
	if secret != "sécret" || !strings.HasPrefix(sig, "hmac-sha256-hex=38f3f53c") {
		t.Fatalf("unexpected vector: secret %q, signature %q", secret, sig)
	}
	a := New(Config{WebhookSecret: secret})
	if err := a.VerifyWebhook(request(body, sig)); err != nil {
		t.Fatalf("VerifyWebhook(official vector) = %v", err)
	}
	if got := Sign(secret, body); got != sig {
		t.Errorf("Sign = %q, want the vector's %q", got, sig)
	}
	// The body file as published ends with a newline; EasyPost's clients
	// read only its first line, and the vector signs that.
	withNewline := append(bytes.Clone(body), '\n')
	if err := a.VerifyWebhook(request(withNewline, sig)); !errors.Is(err, carriers.ErrUnauthenticated) {
		t.Errorf("VerifyWebhook(body + newline) = %v, want a refusal", err)
	}
}

func TestVerifyWebhook_SecretIsNFKDNormalized(t *testing.T) {
	_, sig, body := loadVector(t)
	tests := []struct {
		name   string
		secret string
		ok     bool
	}{
		{"precomposed é (NFC)", "s\u00e9cret", true},
		{"e + combining acute (NFD)", "se\u0301cret", true},
		{"without the accent", "secret", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := New(Config{WebhookSecret: tt.secret}).VerifyWebhook(request(body, sig))
			if (err == nil) != tt.ok {
				t.Errorf("VerifyWebhook = %v, want ok=%v", err, tt.ok)
			}
		})
	}
	// NFKD, not NFD: compatibility characters fold too ("ﬁ" is "fi").
	if Sign("\ufb01x", body) != Sign("fix", body) {
		t.Error(`Sign("ﬁx") differs from Sign("fix"): the secret is not NFKD-normalized`)
	}
}

func TestVerifyWebhook_Refusals(t *testing.T) {
	const secret = "whsec-trackd-test"
	body := fixture(t, fedexWebhook)
	good := Sign(secret, body)
	digits := strings.TrimPrefix(good, signaturePrefix)
	tampered := bytes.Clone(body)
	tampered[len(tampered)/2] ^= 0x01

	tests := []struct {
		name   string
		secret string
		req    carriers.WebhookRequest
		has    string
	}{
		{"no secret configured", "", request(body, good), "no EasyPost webhook secret"},
		{"missing header", secret, request(body, ""), "no X-Hmac-Signature"},
		{"blank header", secret, request(body, "   "), "no X-Hmac-Signature"},
		{"no Header func", secret, carriers.WebhookRequest{Body: body}, "no X-Hmac-Signature"},
		{"no prefix", secret, request(body, digits), "does not start with"},
		{"another scheme", secret, request(body, "sha256="+digits), "does not start with"},
		{"prefix in capitals", secret, request(body, "HMAC-SHA256-HEX="+digits), "does not start with"},
		{"not hex", secret, request(body, signaturePrefix+strings.Repeat("zz", 32)), "not a hex HMAC-SHA256"},
		{"too short", secret, request(body, good[:len(good)-2]), "not a hex HMAC-SHA256"},
		{"too long", secret, request(body, good+"00"), "not a hex HMAC-SHA256"},
		{"odd length", secret, request(body, good+"0"), "not a hex HMAC-SHA256"},
		{"empty digits", secret, request(body, signaturePrefix), "not a hex HMAC-SHA256"},
		{"wrong secret", "another secret", request(body, good), "does not match"},
		{"tampered body", secret, request(tampered, good), "does not match"},
		{"body with a byte appended", secret, request(append(bytes.Clone(body), ' '), good), "does not match"},
		{"empty body", secret, request(nil, good), "does not match"},
		{"base64 instead of hex", secret, request(body, signaturePrefix+"OPP1PBA3E9+BYWoKGG13FBlXMj7CHV/pNj25OED1J9s="), "not a hex HMAC-SHA256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := New(Config{WebhookSecret: tt.secret}).VerifyWebhook(tt.req)
			if err == nil {
				t.Fatal("VerifyWebhook = nil, want a refusal")
			}
			if !errors.Is(err, carriers.ErrUnauthenticated) {
				t.Errorf("error %v does not wrap carriers.ErrUnauthenticated", err)
			}
			if !strings.Contains(err.Error(), tt.has) {
				t.Errorf("error %q does not say %q", err, tt.has)
			}
			if strings.Contains(err.Error(), digits) {
				t.Errorf("error %q gives away the expected signature", err)
			}
		})
	}
}

func TestVerifyWebhook_Accepts(t *testing.T) {
	const secret = "whsec-trackd-test"
	body := fixture(t, upsWebhook)
	good := Sign(secret, body)
	tests := []struct {
		name string
		req  carriers.WebhookRequest
	}{
		{"as EasyPost sends it", request(body, good)},
		{"upper-case hex", request(body, signaturePrefix+strings.ToUpper(strings.TrimPrefix(good, signaturePrefix)))},
		{"spaces around the value", request(body, " "+good+"\t")},
		{"header name in any case", carriers.WebhookRequest{Body: body, Header: func(name string) string {
			if strings.EqualFold(name, "x-hmac-signature") {
				return good
			}
			return ""
		}}},
		{"empty body, signed", request([]byte{}, Sign(secret, nil))},
	}
	a := New(Config{WebhookSecret: secret})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := a.VerifyWebhook(tt.req); err != nil {
				t.Errorf("VerifyWebhook = %v", err)
			}
		})
	}
}

func TestSign_MatchesAReferenceHMAC(t *testing.T) {
	// Computed here with crypto/hmac directly, so Sign is not only checked
	// against VerifyWebhook, which shares its code.
	m := hmac.New(sha256.New, []byte("secret"))
	m.Write([]byte(`{"a":1}`))
	want := "hmac-sha256-hex=" + hex.EncodeToString(m.Sum(nil))
	if got := Sign("secret", []byte(`{"a":1}`)); got != want {
		t.Errorf("Sign = %q, want %q", got, want)
	}
}
