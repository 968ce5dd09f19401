// Package optout keeps the shopper's opt-outs from notifications, for every
// order at once, and signs the unsubscribe links that set them.
//
// Recipients are kept only as a keyed hash of their normalized address or
// number (Hasher), never in the clear: an unsubscribe link carries the
// hash too, so opting out needs no address.
//
// # Redis layout
//
// Keys start with the prefix (P); each opt-out is its own key, so a Redis
// Cluster spreads them:
//
//	P{oo:<channel>:<hash>}  string  when the recipient opted out (RFC 3339)
//
// Opt-outs never expire: a shopper who said stop meant it. Opting back in
// deletes the key.
package optout

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/trackd/trackd/notify"
)

// ErrInvalidRecipient is returned for an empty address, an address without
// '@', a phone number not in E.164 form, or a malformed hash.
var ErrInvalidRecipient = errors.New("optout: invalid recipient")

// Normalize returns recipient as opt-outs know it: an email address
// trimmed and lower-cased (the local part is case-sensitive by the letter
// of RFC 5321, but no mailbox provider treats it so, and a shopper who
// types it differently once must still be opted out); a phone number
// trimmed and without the spaces, dashes, dots and brackets people write
// in it, which leaves an E.164 number as given.
func Normalize(ch notify.Channel, recipient string) string {
	s := strings.TrimSpace(recipient)
	if ch == notify.SMS {
		return strings.Map(func(r rune) rune {
			if strings.ContainsRune(" -.()\t", r) {
				return -1
			}
			return r
		}, s)
	}
	return strings.ToLower(s)
}

// validRecipient reports whether a normalized recipient can be one on ch.
func validRecipient(ch notify.Channel, s string) bool {
	switch ch {
	case notify.Email:
		at := strings.LastIndexByte(s, '@')
		return at > 0 && at < len(s)-1 && len(s) <= 254
	case notify.SMS:
		return validE164(s)
	}
	return false
}

// validE164 reports whether s is +, a non-zero digit, then at most 14
// digits more (ITU-T E.164: 15 digits at most).
func validE164(s string) bool {
	if len(s) < 3 || len(s) > 16 || s[0] != '+' || s[1] < '1' || s[1] > '9' {
		return false
	}
	for i := 2; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Hasher computes recipient hashes: HMAC-SHA256 under a secret key, so that
// someone who reads Redis cannot test guessed addresses against it (a plain
// hash of an address can be found by hashing candidates).
type Hasher struct{ key []byte }

// NewHasher returns a hasher with key, at least 32 bytes. The key must
// never change: with a new one, every opt-out kept is forgotten and every
// unsubscribe link sent stops working.
func NewHasher(key []byte) (Hasher, error) {
	if len(key) < 32 {
		return Hasher{}, errors.New("optout: the recipient hash key must be at least 32 bytes")
	}
	return Hasher{key: append([]byte(nil), key...)}, nil
}

// Hash returns the hash of recipient on ch, in lower-case hex: 64
// characters. The channel is part of it, so one hash never stands for both
// an address and a number.
func (h Hasher) Hash(ch notify.Channel, recipient string) string {
	return hex.EncodeToString(h.sum(ch, Normalize(ch, recipient)))
}

func (h Hasher) sum(ch notify.Channel, normalized string) []byte {
	if len(h.key) == 0 {
		panic("optout: Hasher used without NewHasher")
	}
	m := hmac.New(sha256.New, h.key)
	m.Write([]byte(ch))
	m.Write([]byte{0})
	m.Write([]byte(normalized))
	return m.Sum(nil)
}

// validHash reports whether s is a hash as Hash writes it.
func validHash(s string) bool {
	if len(s) != 2*sha256.Size {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !(s[i] >= '0' && s[i] <= '9' || s[i] >= 'a' && s[i] <= 'f') {
			return false
		}
	}
	return true
}

// Store keeps opt-outs in Redis.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
	hasher Hasher
	now    func() time.Time
}

// NewStore returns the opt-outs under prefix in rdb, hashed by h. now is
// the clock (nil: time.Now), for the time an opt-out is recorded with.
func NewStore(rdb redis.UniversalClient, prefix string, h Hasher, now func() time.Time) (*Store, error) {
	switch {
	case rdb == nil:
		return nil, errors.New("optout: a Redis client is required")
	case strings.ContainsAny(prefix, "{}"):
		return nil, fmt.Errorf("optout: prefix %q must not contain '{' or '}'", prefix)
	case len(h.key) == 0:
		return nil, errors.New("optout: a Hasher from NewHasher is required")
	}
	if now == nil {
		now = time.Now
	}
	return &Store{rdb: rdb, prefix: prefix, hasher: h, now: now}, nil
}

func (s *Store) key(ch notify.Channel, hash string) string {
	return s.prefix + "{oo:" + string(ch) + ":" + hash + "}"
}

// SetOptOut opts recipient out of (out=true) or back into notifications on
// ch, for every order.
func (s *Store) SetOptOut(ctx context.Context, ch notify.Channel, recipient string, out bool) error {
	if !ch.Valid() {
		return fmt.Errorf("set opt-out: unknown channel %q", ch)
	}
	n := Normalize(ch, recipient)
	if !validRecipient(ch, n) {
		return fmt.Errorf("set %s opt-out: %w", ch, ErrInvalidRecipient)
	}
	return s.set(ctx, ch, hex.EncodeToString(s.hasher.sum(ch, n)), out)
}

// SetSMSOptOut opts the E.164 number phone out of or back into text
// messages: what STOP and START do.
func (s *Store) SetSMSOptOut(ctx context.Context, phone string, out bool) error {
	return s.SetOptOut(ctx, notify.SMS, phone, out)
}

// SetOptOutHash is SetOptOut for a recipient known only by its hash, as an
// unsubscribe link carries it.
func (s *Store) SetOptOutHash(ctx context.Context, ch notify.Channel, hash string, out bool) error {
	if !ch.Valid() {
		return fmt.Errorf("set opt-out: unknown channel %q", ch)
	}
	if !validHash(hash) {
		return fmt.Errorf("set %s opt-out by hash: %w", ch, ErrInvalidRecipient)
	}
	return s.set(ctx, ch, hash, out)
}

func (s *Store) set(ctx context.Context, ch notify.Channel, hash string, out bool) error {
	var err error
	if out {
		err = s.rdb.Set(ctx, s.key(ch, hash), s.now().UTC().Format(time.RFC3339), 0).Err()
	} else {
		err = s.rdb.Del(ctx, s.key(ch, hash)).Err()
	}
	if err != nil {
		return fmt.Errorf("set %s opt-out: %w", ch, err)
	}
	return nil
}

// OptedOut reports whether recipient opted out of ch.
func (s *Store) OptedOut(ctx context.Context, ch notify.Channel, recipient string) (bool, error) {
	if !ch.Valid() {
		return false, fmt.Errorf("read opt-out: unknown channel %q", ch)
	}
	n := Normalize(ch, recipient)
	if !validRecipient(ch, n) {
		return false, fmt.Errorf("read %s opt-out: %w", ch, ErrInvalidRecipient)
	}
	c, err := s.rdb.Exists(ctx, s.key(ch, hex.EncodeToString(s.hasher.sum(ch, n)))).Result()
	if err != nil {
		return false, fmt.Errorf("read %s opt-out: %w", ch, err)
	}
	return c == 1, nil
}
