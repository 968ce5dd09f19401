package aftership

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/trackd/trackd/carriers"
)

const testSecret = "as-webhook-secret-current"

// request is a webhook request carrying headers h and body.
func request(body []byte, h map[string]string) carriers.WebhookRequest {
	hdr := http.Header{}
	for k, v := range h {
		hdr.Set(k, v)
	}
	return carriers.WebhookRequest{Body: body, Header: hdr.Get, Query: func(string) string { return "" }, Now: testNow}
}

// referenceSignature is AfterShip's documented computation, written out
// here rather than through Sign, so the test does not only check the
// package against itself.
func referenceSignature(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func TestVerifyWebhook_Signatures(t *testing.T) {
	body := readTestdata(t, "webhook_tracking_update_delivered_fedex.json")
	tampered := bytes.Replace(body, []byte(`"Delivered"`), []byte(`"Exception"`), 1)
	good := referenceSignature(testSecret, body)
	tests := []struct {
		name   string
		secret string
		header map[string]string
		body   []byte
		ok     bool
	}{
		{"valid", testSecret, map[string]string{SignatureHeader: good}, body, true},
		{"valid, header in canonical case", testSecret, map[string]string{"Aftership-Hmac-Sha256": good}, body, true},
		{"valid, surrounding spaces", testSecret, map[string]string{SignatureHeader: " " + good + " "}, body, true},
		{"valid for an empty body", testSecret, map[string]string{SignatureHeader: referenceSignature(testSecret, nil)}, nil, true},
		{"wrong secret", testSecret, map[string]string{SignatureHeader: referenceSignature("another secret", body)}, body, false},
		{"tampered body", testSecret, map[string]string{SignatureHeader: good}, tampered, false},
		{"a byte appended", testSecret, map[string]string{SignatureHeader: good}, append(bytes.Clone(body), '\n'), false},
		{"missing header", testSecret, nil, body, false},
		{"empty header", testSecret, map[string]string{SignatureHeader: ""}, body, false},
		{"no secret configured", "", map[string]string{SignatureHeader: referenceSignature("", body)}, body, false},
		{"hex instead of base64", testSecret, map[string]string{SignatureHeader: "4f3c" + strings.Repeat("0", 60)}, body, false},
		{"not base64", testSecret, map[string]string{SignatureHeader: "not base64!"}, body, false},
		{"truncated", testSecret, map[string]string{SignatureHeader: good[:len(good)-4]}, body, false},
		{"SHA-1 sized", testSecret, map[string]string{SignatureHeader: base64.StdEncoding.EncodeToString(make([]byte, 20))}, body, false},
		{"Returns' header instead", testSecret, map[string]string{"as-signature-hmac-sha256": good}, body, false},
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

func TestVerifyWebhook_NoHeaderFunc(t *testing.T) {
	err := New(Config{WebhookSecret: testSecret}).VerifyWebhook(carriers.WebhookRequest{Body: []byte("{}")})
	if !errors.Is(err, carriers.ErrUnauthenticated) {
		t.Fatalf("VerifyWebhook without headers = %v, want a refusal", err)
	}
}

func TestSignatureOf_Vector(t *testing.T) {
	// HMAC-SHA256 test case 2 of RFC 4231 (key "Jefe"), base64-encoded:
	// an outside vector, so a change to what is signed is caught.
	got := SignatureOf("Jefe", []byte("what do ya want for nothing?"))
	if want := "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM="; got != want {
		t.Errorf("SignatureOf = %s, want %s", got, want)
	}
	if got != referenceSignature("Jefe", []byte("what do ya want for nothing?")) {
		t.Error("SignatureOf disagrees with the reference computation")
	}
}
