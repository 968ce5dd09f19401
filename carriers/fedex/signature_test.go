package fedex

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/trackd/trackd/carriers"
)

const testSecret = "fedex-security-token-0123"

// request is a webhook request carrying headers h and body.
func request(body []byte, h map[string]string) carriers.WebhookRequest {
	hdr := http.Header{}
	for k, v := range h {
		hdr.Set(k, v)
	}
	return carriers.WebhookRequest{Body: body, Header: hdr.Get, Query: func(string) string { return "" }, Now: testNow}
}

// referenceSignature is FedEx's documented computation (a Java Mac
// "HmacSHA256" initialised with the security token's bytes, over the
// payload's bytes, Base64-encoded), written out here rather than through
// Sign, so the test does not only check the package against itself.
func referenceSignature(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func referenceHex(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

func TestVerifyWebhook_Signatures(t *testing.T) {
	body := readTestdata(t, "webhook_delivered_duplicate.json")
	tampered := bytes.Replace(body, []byte(`"DL"`), []byte(`"DE"`), 1)
	if bytes.Equal(tampered, body) {
		t.Fatal("fixture changed: nothing tampered")
	}
	good := referenceSignature(testSecret, body)
	tests := []struct {
		name   string
		secret string
		header map[string]string
		body   []byte
		ok     bool
	}{
		{"valid", testSecret, map[string]string{SignatureHeader: good}, body, true},
		{"valid, header in canonical case", testSecret, map[string]string{"Fdx-Signature": good}, body, true},
		{"valid, surrounding spaces", testSecret, map[string]string{SignatureHeader: " " + good + "\t"}, body, true},
		{"valid, Base64 without padding", testSecret, map[string]string{SignatureHeader: strings.TrimRight(good, "=")}, body, true},
		{"valid, hex", testSecret, map[string]string{SignatureHeader: referenceHex(testSecret, body)}, body, true},
		{"valid, upper-case hex", testSecret, map[string]string{SignatureHeader: strings.ToUpper(referenceHex(testSecret, body))}, body, true},
		{"valid for an empty body", testSecret, map[string]string{SignatureHeader: referenceSignature(testSecret, nil)}, nil, true},
		{"valid, a non-ASCII token as UTF-8", "sécret", map[string]string{SignatureHeader: referenceSignature("sécret", body)}, body, true},
		{"wrong secret", testSecret, map[string]string{SignatureHeader: referenceSignature("another token", body)}, body, false},
		{"wrong secret, hex", testSecret, map[string]string{SignatureHeader: referenceHex("another token", body)}, body, false},
		{"tampered body", testSecret, map[string]string{SignatureHeader: good}, tampered, false},
		{"a byte appended", testSecret, map[string]string{SignatureHeader: good}, append(bytes.Clone(body), '\n'), false},
		{"missing header", testSecret, nil, body, false},
		{"empty header", testSecret, map[string]string{SignatureHeader: ""}, body, false},
		{"no secret configured", "", map[string]string{SignatureHeader: referenceSignature("", body)}, body, false},
		{"not Base64", testSecret, map[string]string{SignatureHeader: "not base64!"}, body, false},
		{"truncated", testSecret, map[string]string{SignatureHeader: good[:len(good)-4]}, body, false},
		{"SHA-1 sized", testSecret, map[string]string{SignatureHeader: base64.StdEncoding.EncodeToString(make([]byte, 20))}, body, false},
		{"plain SHA-256 of token and body, no HMAC", testSecret, map[string]string{SignatureHeader: plainHash(testSecret, body)}, body, false},
		{"another FedEx platform's header", testSecret, map[string]string{"X-Fdx-Sc-Signature": good}, body, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := New(Config{WebhookSecret: tt.secret})
			err := a.VerifyWebhook(request(tt.body, tt.header))
			switch {
			case tt.ok && err != nil:
				t.Fatalf("VerifyWebhook = %v, want nil", err)
			case !tt.ok && err == nil:
				t.Fatal("VerifyWebhook = nil, want a refusal")
			case !tt.ok && !errors.Is(err, carriers.ErrUnauthenticated):
				t.Fatalf("VerifyWebhook error %v does not wrap carriers.ErrUnauthenticated", err)
			}
		})
	}
}

// plainHash is what a careless reading of FedEx's "SHA256(security token
// + payload)" would compute.
func plainHash(secret string, body []byte) string {
	sum := sha256.Sum256(append([]byte(secret), body...))
	return base64.StdEncoding.EncodeToString(sum[:])
}

func TestVerifyWebhook_NoHeaderFunc(t *testing.T) {
	err := New(Config{WebhookSecret: testSecret}).VerifyWebhook(carriers.WebhookRequest{Body: []byte("{}")})
	if !errors.Is(err, carriers.ErrUnauthenticated) {
		t.Fatalf("VerifyWebhook without headers = %v, want a refusal", err)
	}
}

func TestVerifyWebhook_ThenParse(t *testing.T) {
	// What the server does: verify the request, then (in the processors)
	// parse the same bytes.
	body := readTestdata(t, "webhook_delivered_mixed_offsets.json")
	a := New(ConfigFromEnv(func(k string) string {
		return map[string]string{"TRACKD_FEDEX_WEBHOOK_SECRET": testSecret}[k]
	}))
	if err := a.VerifyWebhook(request(body, map[string]string{SignatureHeader: SignatureOf(testSecret, body)})); err != nil {
		t.Fatal(err)
	}
	us, err := a.ParseWebhook(body)
	if err != nil || len(us) != 1 || len(us[0].Events) != 17 {
		t.Fatalf("ParseWebhook = %d updates, %v", len(us), err)
	}
}

func TestSignatureOf_Vector(t *testing.T) {
	// FedEx publishes no signed sample. HMAC-SHA256 test case 2 of RFC 4231
	// (key "Jefe"), Base64-encoded, is an outside vector, so a change to
	// what is signed is caught.
	got := SignatureOf("Jefe", []byte("what do ya want for nothing?"))
	if want := "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM="; got != want {
		t.Errorf("SignatureOf = %s, want %s", got, want)
	}
	if got != referenceSignature("Jefe", []byte("what do ya want for nothing?")) {
		t.Error("SignatureOf disagrees with the reference computation")
	}
	if h := hex.EncodeToString(Sign("Jefe", []byte("what do ya want for nothing?"))); h != "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" {
		t.Errorf("Sign = %s", h)
	}
}
