package usps

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

const testSecret = "0123456789abcdef0123456789ABCDEF" // 32 characters, as USPS asks

// request is a webhook request carrying headers h and body.
func request(body []byte, h map[string]string) carriers.WebhookRequest {
	hdr := http.Header{}
	for k, v := range h {
		hdr.Set(k, v)
	}
	return carriers.WebhookRequest{Body: body, Header: hdr.Get, Query: func(string) string { return "" }, Now: testNow}
}

// referenceSignature is the documented computation written out apart from
// Sign: base64(HMAC-SHA256(secret, timestamp + payload)), the two envelope
// fields as the JSON carries them.
func referenceSignature(t testing.TB, secret string, body []byte) string {
	t.Helper()
	env := decode(t, body)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(env["timestamp"].(string) + env["payload"].(string)))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func TestVerifyWebhook_Signatures(t *testing.T) {
	body := readTestdata(t, webhookFixture)
	good := referenceSignature(t, testSecret, body)
	edited := func(edit func(env obj)) []byte {
		env := decode(t, body)
		edit(env)
		return encode(t, env)
	}
	tamperedPayload := edited(func(env obj) {
		env["payload"] = strings.Replace(env["payload"].(string), `"eventCode":"01"`, `"eventCode":"04"`, 1)
	})
	if bytes.Equal(tamperedPayload, edited(func(obj) {})) {
		t.Fatal("the tampering changed nothing")
	}
	tests := []struct {
		name   string
		secret string
		header map[string]string
		body   []byte
		ok     bool
	}{
		{"valid", testSecret, map[string]string{SignatureHeader: good}, body, true},
		{"valid, header in lower case", testSecret, map[string]string{"x-hmac": good}, body, true},
		{"valid, deprecated header name", testSecret, map[string]string{LegacySignatureHeader: good}, body, true},
		{"valid, surrounding spaces", testSecret, map[string]string{SignatureHeader: " " + good + " "}, body, true},
		{"valid, envelope re-encoded", testSecret, map[string]string{SignatureHeader: good}, edited(func(obj) {}), true},
		// Only the timestamp and the payload are signed (see the package
		// documentation): the rest may change without breaking it.
		{"valid, unsigned field changed", testSecret, map[string]string{SignatureHeader: good},
			edited(func(env obj) { env["subscriptionId"] = "another" }), true},
		{"X-HMAC wins over the deprecated header", testSecret,
			map[string]string{SignatureHeader: good, LegacySignatureHeader: referenceSignature(t, "other", body)}, body, true},
		{"wrong secret", testSecret, map[string]string{SignatureHeader: referenceSignature(t, "another secret", body)}, body, false},
		{"tampered payload", testSecret, map[string]string{SignatureHeader: good}, tamperedPayload, false},
		{"tampered timestamp", testSecret, map[string]string{SignatureHeader: good},
			edited(func(env obj) { env["timestamp"] = "2024-11-22T19:00:13Z" }), false},
		{"whole body signed instead", testSecret, map[string]string{SignatureHeader: base64.StdEncoding.EncodeToString(hmacOf(testSecret, body))}, body, false},
		{"missing header", testSecret, nil, body, false},
		{"empty header", testSecret, map[string]string{SignatureHeader: ""}, body, false},
		{"no secret configured", "", map[string]string{SignatureHeader: referenceSignature(t, "", body)}, body, false},
		{"hex instead of base64", testSecret, map[string]string{SignatureHeader: strings.Repeat("0f", 32)}, body, false},
		{"not base64", testSecret, map[string]string{SignatureHeader: "not base64!"}, body, false},
		{"truncated", testSecret, map[string]string{SignatureHeader: good[:len(good)-4]}, body, false},
		{"body not JSON", testSecret, map[string]string{SignatureHeader: good}, []byte("timestamp=1&payload=2"), false},
		{"no timestamp", testSecret, map[string]string{SignatureHeader: good}, edited(func(env obj) { delete(env, "timestamp") }), false},
		{"no payload", testSecret, map[string]string{SignatureHeader: good}, edited(func(env obj) { delete(env, "payload") }), false},
		{"payload not a string", testSecret, map[string]string{SignatureHeader: good}, edited(func(env obj) { env["payload"] = obj{} }), false},
		{"empty body", testSecret, map[string]string{SignatureHeader: good}, nil, false},
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

// TestVerifyWebhook_BoundaryShift: the signature covers timestamp and
// payload run together, so bytes moved across the boundary still verify.
// That forges nothing: the payload must be a JSON object, and a payload
// that gained or lost bytes at its start is not one.
func TestVerifyWebhook_BoundaryShift(t *testing.T) {
	body := readTestdata(t, webhookFixture)
	good := referenceSignature(t, testSecret, body)
	for _, shift := range []func(ts, p string) (string, string){
		func(ts, p string) (string, string) { return ts[:len(ts)-1], ts[len(ts)-1:] + p },
		func(ts, p string) (string, string) { return ts + p[:1], p[1:] },
		func(ts, p string) (string, string) { return ts + p[:20], p[20:] },
	} {
		env := decode(t, body)
		env["timestamp"], env["payload"] = shift(env["timestamp"].(string), env["payload"].(string))
		shifted := encode(t, env)
		a := New(Config{WebhookSecret: testSecret})
		if err := a.VerifyWebhook(request(shifted, map[string]string{SignatureHeader: good})); err != nil {
			t.Fatalf("VerifyWebhook = %v; the signed bytes did not change", err)
		}
		if us, err := a.ParseWebhook(shifted); err == nil {
			t.Errorf("ParseWebhook of a shifted payload = %d updates, want an error", len(us))
		}
	}
}

func hmacOf(secret string, b []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(b)
	return m.Sum(nil)
}

func TestVerifyWebhook_Reasons(t *testing.T) {
	body := readTestdata(t, webhookFixture)
	tests := []struct {
		name   string
		secret string
		header map[string]string
		body   []byte
		says   string
	}{
		{"no secret", "", nil, body, "TRACKD_USPS_WEBHOOK_SECRET"},
		{"no header", testSecret, nil, body, "missing X-HMAC header"},
		{"no fields", testSecret, map[string]string{SignatureHeader: referenceSignature(t, testSecret, body)}, []byte(`{}`), "string timestamp and payload"},
		{"mismatch", testSecret, map[string]string{SignatureHeader: referenceSignature(t, "x", body)}, body, "does not match"},
	}
	for _, tt := range tests {
		err := New(Config{WebhookSecret: tt.secret}).VerifyWebhook(request(tt.body, tt.header))
		if err == nil || !strings.Contains(err.Error(), tt.says) {
			t.Errorf("%s: VerifyWebhook = %v, want it to say %q", tt.name, err, tt.says)
		}
	}
}

func TestVerifyWebhook_NoHeaderFunc(t *testing.T) {
	err := New(Config{WebhookSecret: testSecret}).VerifyWebhook(carriers.WebhookRequest{Body: readTestdata(t, webhookFixture)})
	if !errors.Is(err, carriers.ErrUnauthenticated) {
		t.Fatalf("VerifyWebhook without headers = %v, want a refusal", err)
	}
}

func TestSign_Vector(t *testing.T) {
	// HMAC-SHA256 test case 2 of RFC 4231 (key "Jefe", data "what do ya
	// want for nothing?"), the data split between timestamp and payload:
	// an outside vector, so a change to what is signed is caught.
	got := base64.StdEncoding.EncodeToString(Sign("Jefe", "what do ya ", "want for nothing?"))
	if want := "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM="; got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
	body := readTestdata(t, webhookFixture)
	if SignatureOf(testSecret, body) != referenceSignature(t, testSecret, body) {
		t.Error("SignatureOf disagrees with the reference computation")
	}
	if SignatureOf(testSecret, []byte(`{"payload":"x"}`)) != "" {
		t.Error("SignatureOf signed a body without a timestamp")
	}
}
