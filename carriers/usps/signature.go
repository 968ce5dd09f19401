package usps

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/trackd/trackd/carriers"
)

// SignatureHeader carries the notification's signature; LegacySignatureHeader
// is the name USPS used before and still describes as a deprecated alias.
const (
	SignatureHeader       = "X-HMAC"
	LegacySignatureHeader = "hmac-header"
)

// VerifyWebhook implements carriers.Adapter: the X-HMAC header (or
// hmac-header) must be the base64 HMAC-SHA256, under the webhook secret, of
// the envelope's timestamp followed by its payload, compared in constant
// time (see the package documentation).
func (a *Adapter) VerifyWebhook(r carriers.WebhookRequest) error {
	if err := verify(a.cfg.WebhookSecret, signatureOf(r), r.Body); err != nil {
		return fmt.Errorf("%w: usps: %w", carriers.ErrUnauthenticated, err)
	}
	return nil
}

func signatureOf(r carriers.WebhookRequest) string {
	if r.Header == nil {
		return ""
	}
	if s := strings.TrimSpace(r.Header(SignatureHeader)); s != "" {
		return s
	}
	return strings.TrimSpace(r.Header(LegacySignatureHeader))
}

// signed is what of the envelope the signature covers. Pointers tell a
// missing field from an empty one.
type signed struct {
	Timestamp *string `json:"timestamp"`
	Payload   *string `json:"payload"`
}

func verify(secret, sig string, body []byte) error {
	if secret == "" {
		return errors.New("no USPS webhook secret configured (TRACKD_USPS_WEBHOOK_SECRET)")
	}
	if sig == "" {
		return fmt.Errorf("missing %s header (a subscription made without a secret is not signed)", SignatureHeader)
	}
	got, err := base64.StdEncoding.DecodeString(sig)
	if err != nil || len(got) != sha256.Size {
		return fmt.Errorf("%s is not a base64 HMAC-SHA256", SignatureHeader)
	}
	var s signed
	if err := json.Unmarshal(body, &s); err != nil || s.Timestamp == nil || s.Payload == nil {
		return errors.New("the body is not a notification with a string timestamp and payload to check the signature over")
	}
	if !hmac.Equal(got, Sign(secret, *s.Timestamp, *s.Payload)) {
		return fmt.Errorf("%s does not match the timestamp and payload", SignatureHeader)
	}
	return nil
}

// Sign returns the raw HMAC-SHA256 under secret of timestamp followed by
// payload; its base64 is what USPS sends in SignatureHeader.
func Sign(secret, timestamp, payload string) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(timestamp))
	m.Write([]byte(payload))
	return m.Sum(nil)
}

// SignatureOf returns the SignatureHeader value for a notification body
// under secret, or "" when the body has no string timestamp and payload.
// Tests and tools sign with it.
func SignatureOf(secret string, body []byte) string {
	var s signed
	if json.Unmarshal(body, &s) != nil || s.Timestamp == nil || s.Payload == nil {
		return ""
	}
	return base64.StdEncoding.EncodeToString(Sign(secret, *s.Timestamp, *s.Payload))
}
