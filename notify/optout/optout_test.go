package optout

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/trackd/trackd/notify"
	"github.com/trackd/trackd/tracking/redistest"
)

var (
	hashKey = []byte("hash-key-0123456789abcdef-0123456789")
	t0      = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
)

func newHasher(t *testing.T) Hasher {
	t.Helper()
	h, err := NewHasher(hashKey)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func newStore(t *testing.T) (*Store, string) {
	t.Helper()
	prefix := redistest.Prefix(t)
	s, err := NewStore(realRedis.Client(t), prefix, newHasher(t), func() time.Time { return t0 })
	if err != nil {
		t.Fatal(err)
	}
	return s, prefix
}

func optedOut(t *testing.T, s *Store, ch notify.Channel, r string) bool {
	t.Helper()
	out, err := s.OptedOut(context.Background(), ch, r)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestNormalize(t *testing.T) {
	for _, tc := range []struct {
		ch       notify.Channel
		in, want string
	}{
		{notify.Email, "  Jane.Doe@Example.COM\n", "jane.doe@example.com"},
		{notify.SMS, " +15551234567 ", "+15551234567"},
		{notify.SMS, "+1 (555) 123-45.67", "+15551234567"},
	} {
		if got := Normalize(tc.ch, tc.in); got != tc.want {
			t.Errorf("Normalize(%s, %q) = %q, want %q", tc.ch, tc.in, got, tc.want)
		}
	}
}

func TestStore_OptOutAndBackIn(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	if optedOut(t, s, notify.Email, "jane@example.com") {
		t.Fatal("opted out before anything was set")
	}
	if err := s.SetOptOut(ctx, notify.Email, " Jane@Example.com ", true); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ch   notify.Channel
		r    string
		want bool
	}{
		{notify.Email, "jane@example.com", true},
		{notify.Email, "JANE@EXAMPLE.COM", true},
		{notify.Email, "john@example.com", false},
		{notify.SMS, "+15551234567", false}, // channels are separate
	} {
		if got := optedOut(t, s, tc.ch, tc.r); got != tc.want {
			t.Errorf("OptedOut(%s, %s) = %v, want %v", tc.ch, tc.r, got, tc.want)
		}
	}
	if err := s.SetOptOut(ctx, notify.Email, "jane@example.com", false); err != nil {
		t.Fatal(err)
	}
	if optedOut(t, s, notify.Email, "jane@example.com") {
		t.Error("still opted out after opting back in")
	}
}

func TestStore_SMSOptOut(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	if err := s.SetSMSOptOut(ctx, "+15551234567", true); err != nil {
		t.Fatal(err)
	}
	if !optedOut(t, s, notify.SMS, "+1 555 123 4567") {
		t.Error("STOP did not opt the number out")
	}
	if optedOut(t, s, notify.Email, "x@example.com") {
		t.Error("an SMS opt-out touched email")
	}
	if err := s.SetSMSOptOut(ctx, "+15551234567", false); err != nil {
		t.Fatal(err)
	}
	if optedOut(t, s, notify.SMS, "+15551234567") {
		t.Error("START did not opt the number back in")
	}
}

func TestStore_OptOutByHashMatchesRecipient(t *testing.T) {
	s, _ := newStore(t)
	h := newHasher(t)
	ctx := context.Background()
	if err := s.SetOptOutHash(ctx, notify.Email, h.Hash(notify.Email, "Jane@Example.com"), true); err != nil {
		t.Fatal(err)
	}
	if !optedOut(t, s, notify.Email, "jane@example.com") {
		t.Error("opt-out by hash not seen by address")
	}
}

func TestStore_RefusesInvalidRecipients(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	for _, tc := range []struct {
		ch notify.Channel
		r  string
	}{
		{notify.Email, ""},
		{notify.Email, "not-an-address"},
		{notify.Email, "@example.com"},
		{notify.SMS, "5551234567"},
		{notify.SMS, "+05551234567"},
		{notify.SMS, "+1555123456789012"},
		{notify.SMS, "+1555CALLNOW"},
	} {
		if err := s.SetOptOut(ctx, tc.ch, tc.r, true); !errors.Is(err, ErrInvalidRecipient) {
			t.Errorf("SetOptOut(%s, %q) = %v, want ErrInvalidRecipient", tc.ch, tc.r, err)
		}
		if _, err := s.OptedOut(ctx, tc.ch, tc.r); !errors.Is(err, ErrInvalidRecipient) {
			t.Errorf("OptedOut(%s, %q) = %v, want ErrInvalidRecipient", tc.ch, tc.r, err)
		}
	}
	for _, hash := range []string{"", "xyz", strings.Repeat("A", 64), strings.Repeat("a", 63)} {
		if err := s.SetOptOutHash(ctx, notify.Email, hash, true); !errors.Is(err, ErrInvalidRecipient) {
			t.Errorf("SetOptOutHash(%q) = %v, want ErrInvalidRecipient", hash, err)
		}
	}
	if err := s.SetOptOut(ctx, "fax", "+15551234567", true); err == nil {
		t.Error("unknown channel accepted")
	}
}

// TestStore_KeepsNoAddressInClear reads back every key and value written.
func TestStore_KeepsNoAddressInClear(t *testing.T) {
	s, prefix := newStore(t)
	ctx := context.Background()
	if err := s.SetOptOut(ctx, notify.Email, "jane.doe@example.com", true); err != nil {
		t.Fatal(err)
	}
	if err := s.SetSMSOptOut(ctx, "+15551234567", true); err != nil {
		t.Fatal(err)
	}
	keys, err := s.rdb.Keys(ctx, prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 {
		t.Fatalf("keys %v, want two", keys)
	}
	for _, k := range keys {
		v := s.rdb.Get(ctx, k).Val()
		if strings.Contains(k+v, "jane") || strings.Contains(k+v, "5551234567") {
			t.Errorf("%s = %s holds the recipient", k, v)
		}
		if v != "2026-11-25T10:00:00Z" {
			t.Errorf("%s = %q, want the opt-out time", k, v)
		}
		if ttl := s.rdb.TTL(ctx, k).Val(); ttl != -1 {
			t.Errorf("%s expires in %s; opt-outs are for ever", k, ttl)
		}
	}
}

func TestHasher_KeyedAndPerChannel(t *testing.T) {
	h := newHasher(t)
	other, err := NewHasher([]byte("another-key-0123456789abcdef-01234"))
	if err != nil {
		t.Fatal(err)
	}
	a := h.Hash(notify.Email, "jane@example.com")
	if !validHash(a) {
		t.Errorf("hash %q is not 64 hex characters", a)
	}
	if a == other.Hash(notify.Email, "jane@example.com") {
		t.Error("two keys gave one hash")
	}
	if h.Hash(notify.SMS, "+15551234567") == h.Hash(notify.Email, "+15551234567") {
		t.Error("the channel is not part of the hash")
	}
	if _, err := NewHasher([]byte("short")); err == nil {
		t.Error("a short key was accepted")
	}
}

func TestNewStore_RefusesBadConfig(t *testing.T) {
	rdb := realRedis.Client(t)
	if _, err := NewStore(rdb, "a{b", newHasher(t), nil); err == nil {
		t.Error("brace in prefix accepted")
	}
	if _, err := NewStore(rdb, "p:", Hasher{}, nil); err == nil {
		t.Error("zero Hasher accepted")
	}
	if _, err := NewStore(nil, "p:", newHasher(t), nil); err == nil {
		t.Error("nil client accepted")
	}
}
