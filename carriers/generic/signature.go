// Package generic is trackd's own webhook format: a signed JSON document
// any system can post to /webhooks/generic (DESIGN.md, "/webhooks/generic").
// Its signature scheme is also the one trackd signs its outbound webhooks with.
package generic

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader is the header carrying the signature.
const SignatureHeader = "Trackd-Signature"

// DefaultTolerance is how far a signature's timestamp may be from now.
// It bounds how long a captured request can be replayed.
const DefaultTolerance = 5 * time.Minute

// Sign returns the Trackd-Signature header value for body at time t.
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Signature is a parsed Trackd-Signature header.
type Signature struct {
	Timestamp int64
	// timestamp is t as sent: the signed text is "<t>.<body>", byte for byte.
	timestamp string
	// V1 holds every v1 value: a sender rotating its secret signs with both.
	V1 [][]byte
}

// ErrSignature is wrapped by every signature failure.
var ErrSignature = errors.New("invalid signature")

// ParseSignature parses "t=<unix seconds>,v1=<hex>[,v1=<hex>...]". Unknown
// schemes are ignored so a sender can add one before receivers know it.
func ParseSignature(h string) (Signature, error) {
	var sig Signature
	if strings.TrimSpace(h) == "" {
		return sig, fmt.Errorf("%w: missing %s header", ErrSignature, SignatureHeader)
	}
	seenT := false
	for part := range strings.SplitSeq(h, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return sig, fmt.Errorf("%w: %s element %q is not key=value", ErrSignature, SignatureHeader, part)
		}
		switch k {
		case "t":
			ts, err := strconv.ParseInt(v, 10, 64)
			if err != nil || ts <= 0 {
				return sig, fmt.Errorf("%w: timestamp %q is not unix seconds", ErrSignature, v)
			}
			if seenT {
				return sig, fmt.Errorf("%w: more than one timestamp", ErrSignature)
			}
			sig.Timestamp, sig.timestamp, seenT = ts, v, true
		case "v1":
			b, err := hex.DecodeString(v)
			if err != nil || len(b) != sha256.Size {
				return sig, fmt.Errorf("%w: v1 is not a hex HMAC-SHA256", ErrSignature)
			}
			sig.V1 = append(sig.V1, b)
		}
	}
	switch {
	case !seenT:
		return sig, fmt.Errorf("%w: no timestamp (t=) in %s", ErrSignature, SignatureHeader)
	case len(sig.V1) == 0:
		return sig, fmt.Errorf("%w: no v1 signature in %s", ErrSignature, SignatureHeader)
	}
	return sig, nil
}

// Verifier checks signatures against one or more secrets (several while a
// secret is being rotated).
type Verifier struct {
	Secrets   [][]byte
	Tolerance time.Duration
}

// Verify checks header against body at time now.
func (v Verifier) Verify(header string, body []byte, now time.Time) error {
	sig, err := ParseSignature(header)
	if err != nil {
		return err
	}
	tol := v.Tolerance
	if tol == 0 {
		tol = DefaultTolerance
	}
	if d := now.Sub(time.Unix(sig.Timestamp, 0)); d > tol || d < -tol {
		return fmt.Errorf("%w: timestamp is %s from now, outside the %s tolerance", ErrSignature, d.Round(time.Second), tol)
	}
	ts := sig.timestamp
	for _, secret := range v.Secrets {
		want := mac(secret, ts, body)
		for _, got := range sig.V1 {
			if hmac.Equal(want, got) {
				return nil
			}
		}
	}
	return fmt.Errorf("%w: no v1 signature matches the body", ErrSignature)
}
