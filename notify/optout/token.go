package optout

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/trackd/trackd/notify"
)

// An unsubscribe token is unpadded base64url of
//
//	version (1 byte, 1) | channel (1 byte: 1 email, 2 SMS) |
//	recipient hash (32 bytes) | order id (the rest) | MAC (32 bytes)
//
// where MAC is HMAC-SHA256 under the signing key of tokenContext and all
// that precedes it. The recipient is there only as its hash, so the link
// (which lands in browser histories, proxies' logs and mail scanners) does
// not give the address away. Tokens do not expire: the link in an email
// from years ago must still unsubscribe.
const (
	tokenVersion = 1
	macLen       = sha256.Size
	headerLen    = 2 + sha256.Size
	// MaxTokenLen bounds what Verify decodes. A token with a 28-character
	// order id is 126 characters; this leaves room for long order ids and
	// refuses anything else before any work.
	MaxTokenLen = 512
)

// tokenContext separates these MACs from any other use of the same key.
var tokenContext = []byte("trackd unsubscribe token\x00")

var channelCodes = map[notify.Channel]byte{notify.Email: 1, notify.SMS: 2}

// ErrInvalidToken is returned by Verify for a token that is malformed or
// not signed by any of the keys.
var ErrInvalidToken = errors.New("optout: invalid unsubscribe token")

// Claims are what a valid token says: unsubscribe the recipient with this
// hash from this channel; the link came with a message about this order.
type Claims struct {
	Channel       notify.Channel
	RecipientHash string // as Hasher.Hash writes it
	OrderID       string
}

// Signer makes and checks unsubscribe tokens.
type Signer struct {
	hasher Hasher
	keys   [][]byte
}

// NewSigner returns a signer hashing recipients with h (the Store's, so
// that the hash in a token is the one opt-outs are kept under) and signing
// with keys[0]. Every key verifies: to rotate, put the new key first and
// keep the old ones after it for as long as links signed with them should
// work (for unsubscribe links, that is for ever, unless a key leaked).
// Keys are at least 32 bytes.
func NewSigner(h Hasher, keys ...[]byte) (*Signer, error) {
	if len(h.key) == 0 {
		return nil, errors.New("optout: a Hasher from NewHasher is required")
	}
	if len(keys) == 0 {
		return nil, errors.New("optout: at least one signing key is required")
	}
	s := &Signer{hasher: h}
	for i, k := range keys {
		if len(k) < 32 {
			return nil, fmt.Errorf("optout: signing key %d is shorter than 32 bytes", i)
		}
		s.keys = append(s.keys, append([]byte(nil), k...))
	}
	return s, nil
}

func mac(key, payload []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(tokenContext)
	m.Write(payload)
	return m.Sum(nil)
}

// Token returns the unsubscribe token for recipient on ch, about the order
// orderID: URL-safe, signed with the first key. ch must be notify.Email or
// notify.SMS; any other is a programming error and panics.
func (s *Signer) Token(ch notify.Channel, recipient, orderID string) string {
	code, ok := channelCodes[ch]
	if !ok {
		panic("optout: token for unknown channel " + string(ch))
	}
	payload := make([]byte, 0, headerLen+len(orderID)+macLen)
	payload = append(payload, tokenVersion, code)
	payload = append(payload, s.hasher.sum(ch, Normalize(ch, recipient))...)
	payload = append(payload, orderID...)
	payload = append(payload, mac(s.keys[0], payload)...)
	return base64.RawURLEncoding.EncodeToString(payload)
}

// Verify checks token against every key, in constant time for each, and
// returns its claims.
func (s *Signer) Verify(token string) (Claims, error) {
	if len(token) > MaxTokenLen {
		return Claims{}, ErrInvalidToken
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil || len(raw) < headerLen+macLen || raw[0] != tokenVersion {
		return Claims{}, ErrInvalidToken
	}
	payload, sum := raw[:len(raw)-macLen], raw[len(raw)-macLen:]
	ok := false
	for _, k := range s.keys {
		// Every key is tried, so the time does not say which one matched.
		if hmac.Equal(mac(k, payload), sum) {
			ok = true
		}
	}
	if !ok {
		return Claims{}, ErrInvalidToken
	}
	var ch notify.Channel
	for c, code := range channelCodes {
		if code == payload[1] {
			ch = c
		}
	}
	if ch == "" {
		return Claims{}, ErrInvalidToken
	}
	return Claims{
		Channel:       ch,
		RecipientHash: hex.EncodeToString(payload[2:headerLen]),
		OrderID:       string(payload[headerLen:]),
	}, nil
}

// URL returns the unsubscribe page's address for token under publicURL
// (trackd's public base URL): publicURL/u/<token>, with ?lang=<locale>
// when locale is set, so the page speaks the message's language.
func URL(publicURL, token, locale string) string {
	u := strings.TrimRight(publicURL, "/") + "/u/" + token
	if locale != "" {
		u += "?lang=" + url.QueryEscape(locale)
	}
	return u
}
