package optout

import (
	"errors"
	"strings"
	"testing"

	"github.com/trackd/trackd/notify"
)

var (
	keyA = []byte("signing-key-A-0123456789abcdef-0123")
	keyB = []byte("signing-key-B-0123456789abcdef-0123")
)

func newSigner(t testing.TB, keys ...[]byte) *Signer {
	t.Helper()
	h, err := NewHasher(hashKey)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSigner(h, keys...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSigner_RoundTrip(t *testing.T) {
	s := newSigner(t, keyA)
	h, _ := NewHasher(hashKey)
	for _, tc := range []struct {
		ch        notify.Channel
		recipient string
		order     string
	}{
		{notify.Email, "Jane@Example.com", "o_ABCDEFGHJKMNPQRSTVWXYZ2345"},
		{notify.SMS, "+15551234567", "o_2"},
		{notify.Email, "x@y.z", ""},
	} {
		tok := s.Token(tc.ch, tc.recipient, tc.order)
		if strings.ContainsAny(tok, "+/=%?&#") || len(tok) > MaxTokenLen {
			t.Errorf("token %q is not URL-safe or too long", tok)
		}
		if strings.Contains(strings.ToLower(tok), "jane") {
			t.Errorf("token %q carries the address", tok)
		}
		c, err := s.Verify(tok)
		if err != nil {
			t.Fatalf("Verify(%q): %v", tok, err)
		}
		want := Claims{Channel: tc.ch, RecipientHash: h.Hash(tc.ch, tc.recipient), OrderID: tc.order}
		if c != want {
			t.Errorf("claims %+v, want %+v", c, want)
		}
	}
}

func TestSigner_KeyRotation(t *testing.T) {
	old := newSigner(t, keyA)
	rotated := newSigner(t, keyB, keyA)
	retired := newSigner(t, keyB)
	oldTok := old.Token(notify.Email, "jane@example.com", "o_1")
	if _, err := rotated.Verify(oldTok); err != nil {
		t.Errorf("a token of the old key fails during rotation: %v", err)
	}
	if _, err := retired.Verify(oldTok); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("a retired key's token verified: %v", err)
	}
	newTok := rotated.Token(notify.Email, "jane@example.com", "o_1")
	if newTok == oldTok {
		t.Error("the rotated signer signs with the old key")
	}
	if _, err := retired.Verify(newTok); err != nil {
		t.Errorf("the new key's token fails: %v", err)
	}
}

func TestSigner_RefusesTampering(t *testing.T) {
	s := newSigner(t, keyA)
	tok := s.Token(notify.Email, "jane@example.com", "o_1")
	other := s.Token(notify.Email, "john@example.com", "o_1")
	flip := func(i int) string {
		b := []byte(tok)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	for name, bad := range map[string]string{
		"empty":             "",
		"first char":        flip(0),
		"channel":           flip(2),
		"hash":              flip(10),
		"last char":         flip(len(tok) - 1),
		"truncated":         tok[:len(tok)-4],
		"extended":          tok + "AAAA",
		"padded":            tok + "=",
		"not base64":        tok[:20] + "!" + tok[21:],
		"spliced":           tok[:40] + other[40:],
		"too long":          strings.Repeat("A", MaxTokenLen+1),
		"other signer":      newSigner(t, keyB).Token(notify.Email, "jane@example.com", "o_1"),
		"just a mac length": strings.Repeat("A", 43),
	} {
		if _, err := s.Verify(bad); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: Verify = %v, want ErrInvalidToken", name, err)
		}
	}
}

func TestNewSigner_RefusesWeakKeys(t *testing.T) {
	h, _ := NewHasher(hashKey)
	if _, err := NewSigner(h); err == nil {
		t.Error("no keys accepted")
	}
	if _, err := NewSigner(h, keyA, []byte("short")); err == nil {
		t.Error("a short key accepted")
	}
	if _, err := NewSigner(Hasher{}, keyA); err == nil {
		t.Error("a zero Hasher accepted")
	}
}

func TestSigner_TokenPanicsOnUnknownChannel(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	newSigner(t, keyA).Token("fax", "x", "o_1")
}

func TestURL(t *testing.T) {
	for _, tc := range []struct{ base, tok, locale, want string }{
		{"https://track.example.com/", "abc", "", "https://track.example.com/u/abc"},
		{"https://track.example.com", "abc", "fr", "https://track.example.com/u/abc?lang=fr"},
		{"http://localhost:8080", "abc", "pt BR&x", "http://localhost:8080/u/abc?lang=pt+BR%26x"},
	} {
		if got := URL(tc.base, tc.tok, tc.locale); got != tc.want {
			t.Errorf("URL(%q, %q, %q) = %q, want %q", tc.base, tc.tok, tc.locale, got, tc.want)
		}
	}
}

// FuzzVerify: Verify never panics, and accepts only what the signer made.
func FuzzVerify(f *testing.F) {
	s := newSigner(f, keyA, keyB)
	good := s.Token(notify.SMS, "+15551234567", "o_1")
	for _, seed := range []string{good, "", "AQ", good[:len(good)-1], strings.Repeat("_", 200)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := s.Verify(tok)
		if err != nil {
			if !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("error %v is not ErrInvalidToken", err)
			}
			return
		}
		if tok != good {
			t.Fatalf("forged token %q verified as %+v", tok, c)
		}
	})
}
