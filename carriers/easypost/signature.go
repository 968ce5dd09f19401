package easypost

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/trackd/trackd/carriers"
)

// SignatureHeader is the header EasyPost signs webhooks in.
const SignatureHeader = "X-Hmac-Signature"

// signaturePrefix names the scheme in SignatureHeader's value.
const signaturePrefix = "hmac-sha256-hex="

// VerifyWebhook implements carriers.Adapter: X-Hmac-Signature must be
// "hmac-sha256-hex=" and the hex HMAC-SHA256 of the raw body, keyed with the
// NFKD-normalized webhook secret. The MACs are compared in constant time.
// The hex digits may be in either case (EasyPost sends lower case).
// Every error wraps carriers.ErrUnauthenticated and says what is wrong
// without saying what was expected.
func (a *Adapter) VerifyWebhook(r carriers.WebhookRequest) error {
	if len(a.key) == 0 {
		return fmt.Errorf("%w: no EasyPost webhook secret is configured (TRACKD_EASYPOST_WEBHOOK_SECRET)", carriers.ErrUnauthenticated)
	}
	h := ""
	if r.Header != nil {
		h = strings.TrimSpace(r.Header(SignatureHeader))
	}
	if h == "" {
		return fmt.Errorf("%w: no %s header", carriers.ErrUnauthenticated, SignatureHeader)
	}
	digits, ok := strings.CutPrefix(h, signaturePrefix)
	if !ok {
		return fmt.Errorf("%w: %s does not start with %q", carriers.ErrUnauthenticated, SignatureHeader, signaturePrefix)
	}
	got, err := hex.DecodeString(digits)
	if err != nil || len(got) != sha256.Size {
		return fmt.Errorf("%w: %s is not a hex HMAC-SHA256", carriers.ErrUnauthenticated, SignatureHeader)
	}
	if !hmac.Equal(got, mac(a.key, r.Body)) {
		return fmt.Errorf("%w: %s does not match the body (another secret, or a changed body)", carriers.ErrUnauthenticated, SignatureHeader)
	}
	return nil
}

// Sign returns the X-Hmac-Signature value EasyPost sends with body when the
// webhook's secret is secret. It is for tests and tools that post to trackd
// the way EasyPost does.
func Sign(secret string, body []byte) string {
	return signaturePrefix + hex.EncodeToString(mac(hmacKey(secret), body))
}

func mac(key, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return m.Sum(nil)
}
