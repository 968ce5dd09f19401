package generic

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

// testNow is the fixed "now" every test in this package runs at.
var testNow = time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)

var (
	testSecret    = []byte("whsec_test_current")
	testOldSecret = []byte("whsec_test_previous")
)

// hexA and hexB are two well-formed v1 values (32 bytes, hex-encoded).
var (
	hexA = strings.Repeat("ab", 32)
	hexB = strings.Repeat("cd", 32)
)

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad test hex %q: %v", s, err)
	}
	return b
}

// v1Of returns the hex v1 value Sign produces for secret, t and body.
func v1Of(secret []byte, t time.Time, body []byte) string {
	h := Sign(secret, t, body)
	_, v, _ := strings.Cut(h, ",v1=")
	return v
}

func TestParseSignature_Valid(t *testing.T) {
	tests := []struct {
		name   string
		header string
		ts     int64
		v1     []string
	}{
		{"single v1", "t=1795618800,v1=" + hexA, 1795618800, []string{hexA}},
		{"two v1 while rotating", "t=1795618800,v1=" + hexA + ",v1=" + hexB, 1795618800, []string{hexA, hexB}},
		{"v1 before t", "v1=" + hexA + ",t=1795618800", 1795618800, []string{hexA}},
		{"unknown scheme ignored", "t=1795618800,v0=deadbeef,v1=" + hexA, 1795618800, []string{hexA}},
		{"unknown scheme with non-hex value ignored", "t=1795618800,v1=" + hexA + ",v2=not hex at all", 1795618800, []string{hexA}},
		{"whitespace around elements", "  t=1795618800 ,\tv1=" + hexA + " , v1=" + hexB + "\t", 1795618800, []string{hexA, hexB}},
		{"upper-case hex", "t=1795618800,v1=" + strings.ToUpper(hexA), 1795618800, []string{hexA}},
		{"timestamp 1", "t=1,v1=" + hexA, 1, []string{hexA}},
		{"as Sign writes it", Sign(testSecret, testNow, []byte("{}")), testNow.Unix(), []string{v1Of(testSecret, testNow, []byte("{}"))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sig, err := ParseSignature(tt.header)
			if err != nil {
				t.Fatalf("ParseSignature(%q) = %v", tt.header, err)
			}
			if sig.Timestamp != tt.ts {
				t.Errorf("Timestamp = %d, want %d", sig.Timestamp, tt.ts)
			}
			if len(sig.V1) != len(tt.v1) {
				t.Fatalf("len(V1) = %d, want %d", len(sig.V1), len(tt.v1))
			}
			for i, want := range tt.v1 {
				if !bytes.Equal(sig.V1[i], mustHex(t, want)) {
					t.Errorf("V1[%d] = %x, want %s", i, sig.V1[i], want)
				}
			}
		})
	}
}

func TestParseSignature_Invalid(t *testing.T) {
	tests := []struct {
		name   string
		header string
	}{
		{"missing header", ""},
		{"blank header", "   \t "},
		{"no t", "v1=" + hexA},
		{"no v1", "t=1795618800"},
		{"only unknown scheme besides t", "t=1795618800,v0=" + hexA},
		{"t not a number", "t=yesterday,v1=" + hexA},
		{"t is a decimal", "t=1795618800.5,v1=" + hexA},
		{"t empty", "t=,v1=" + hexA},
		{"t zero", "t=0,v1=" + hexA},
		{"t negative", "t=-1795618800,v1=" + hexA},
		{"t overflows int64", "t=99999999999999999999,v1=" + hexA},
		{"t duplicated", "t=1795618800,t=1795618800,v1=" + hexA},
		{"t duplicated with different values", "t=1795618800,v1=" + hexA + ",t=1795618801"},
		{"v1 not hex", "t=1795618800,v1=" + strings.Repeat("zz", 32)},
		{"v1 empty", "t=1795618800,v1="},
		{"v1 odd length", "t=1795618800,v1=" + hexA + "a"},
		{"v1 too short", "t=1795618800,v1=" + hexA[:62]},
		{"v1 too long", "t=1795618800,v1=" + hexA + "00"},
		{"v1 is SHA-1 sized", "t=1795618800,v1=" + strings.Repeat("ab", 20)},
		{"one bad v1 among good ones", "t=1795618800,v1=" + hexA + ",v1=nothex"},
		{"element without =", "t=1795618800,v1=" + hexA + ",junk"},
		{"trailing comma", "t=1795618800,v1=" + hexA + ","},
		{"semicolon separated", "t=1795618800;v1=" + hexA},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sig, err := ParseSignature(tt.header)
			if err == nil {
				t.Fatalf("ParseSignature(%q) = %+v, want an error", tt.header, sig)
			}
			if !errors.Is(err, ErrSignature) {
				t.Errorf("error %v does not wrap ErrSignature", err)
			}
		})
	}
}

func TestVerifierVerify_Signatures(t *testing.T) {
	body := []byte(designExample)
	oneByteOff := bytes.Clone(body)
	oneByteOff[len(oneByteOff)/2] ^= 0x01
	ts := strconv.FormatInt(testNow.Unix(), 10)

	tests := []struct {
		name    string
		secrets [][]byte
		header  string
		body    []byte
		ok      bool
	}{
		{"correct signature", [][]byte{testSecret}, Sign(testSecret, testNow, body), body, true},
		{"body changed by one byte", [][]byte{testSecret}, Sign(testSecret, testNow, body), oneByteOff, false},
		{"body with a byte appended", [][]byte{testSecret}, Sign(testSecret, testNow, body), append(bytes.Clone(body), '\n'), false},
		{"wrong secret", [][]byte{testSecret}, Sign([]byte("someone else"), testNow, body), body, false},
		{"first of two secrets", [][]byte{testSecret, testOldSecret}, Sign(testSecret, testNow, body), body, true},
		{"second of two secrets (rotation)", [][]byte{testSecret, testOldSecret}, Sign(testOldSecret, testNow, body), body, true},
		{"sender signing with both secrets", [][]byte{testSecret},
			"t=" + ts + ",v1=" + v1Of(testOldSecret, testNow, body) + ",v1=" + v1Of(testSecret, testNow, body), body, true},
		{"signature for another timestamp", [][]byte{testSecret},
			"t=" + ts + ",v1=" + v1Of(testSecret, testNow.Add(-time.Second), body), body, false},
		{"unknown scheme carrying the right value", [][]byte{testSecret},
			"t=" + ts + ",v0=" + v1Of(testSecret, testNow, body) + ",v1=" + hexA, body, false},
		{"no secrets configured", nil, Sign(testSecret, testNow, body), body, false},
		{"malformed header", [][]byte{testSecret}, "v1=" + v1Of(testSecret, testNow, body), body, false},
		{"missing header", [][]byte{testSecret}, "", body, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verifier{Secrets: tt.secrets}.Verify(tt.header, tt.body, testNow)
			checkVerify(t, err, tt.ok)
		})
	}
}

func TestVerifierVerify_Tolerance(t *testing.T) {
	body := []byte(`{"carrier":"ups"}`)
	tests := []struct {
		name      string
		tolerance time.Duration
		signedAt  time.Time
		ok        bool
	}{
		{"now", 0, testNow, true},
		{"4m59s old", 0, testNow.Add(-4*time.Minute - 59*time.Second), true},
		{"exactly 5m old", 0, testNow.Add(-5 * time.Minute), true},
		{"5m01s old", 0, testNow.Add(-5*time.Minute - time.Second), false},
		{"a day old", 0, testNow.Add(-24 * time.Hour), false},
		{"4m59s in the future", 0, testNow.Add(4*time.Minute + 59*time.Second), true},
		{"exactly 5m in the future", 0, testNow.Add(5 * time.Minute), true},
		{"5m01s in the future", 0, testNow.Add(5*time.Minute + time.Second), false},
		{"1970", 0, time.Unix(1, 0), false},
		{"custom tolerance, inside", time.Minute, testNow.Add(-59 * time.Second), true},
		{"custom tolerance, outside", time.Minute, testNow.Add(-61 * time.Second), false},
		{"custom tolerance wider than default", time.Hour, testNow.Add(-30 * time.Minute), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Verifier{Secrets: [][]byte{testSecret}, Tolerance: tt.tolerance}
			err := v.Verify(Sign(testSecret, tt.signedAt, body), body, testNow)
			checkVerify(t, err, tt.ok)
		})
	}
}

func TestVerifierVerify_FarTimestamps(t *testing.T) {
	body := []byte("{}")
	v := Verifier{Secrets: [][]byte{testSecret}}
	for _, ts := range []int64{1 << 40, 1 << 62, 1<<63 - 1} {
		t.Run(strconv.FormatInt(ts, 10), func(t *testing.T) {
			h := "t=" + strconv.FormatInt(ts, 10) + ",v1=" + v1Of(testSecret, time.Unix(ts, 0), body)
			checkVerify(t, v.Verify(h, body, testNow), false)
		})
	}
}

func checkVerify(t *testing.T, err error, ok bool) {
	t.Helper()
	switch {
	case ok && err != nil:
		t.Fatalf("Verify = %v, want nil", err)
	case !ok && err == nil:
		t.Fatal("Verify = nil, want a refusal")
	case !ok && !errors.Is(err, ErrSignature):
		t.Fatalf("Verify error %v does not wrap ErrSignature", err)
	}
}

func TestSign_RoundTrip(t *testing.T) {
	bodies := map[string][]byte{
		"empty":         {},
		"nil":           nil,
		"design":        []byte(designExample),
		"one byte":      []byte("x"),
		"binary":        {0x00, 0xff, '.', ',', '=', '\n'},
		"comma and dot": []byte("t=1,v1=00."),
		"large":         bytes.Repeat([]byte(`{"a":1}`), 10000),
	}
	v := Verifier{Secrets: [][]byte{testOldSecret, testSecret}}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			h := Sign(testSecret, testNow, body)
			sig, err := ParseSignature(h)
			if err != nil {
				t.Fatalf("ParseSignature(Sign(...)) = %v", err)
			}
			if sig.Timestamp != testNow.Unix() || len(sig.V1) != 1 {
				t.Errorf("ParseSignature(%q) = %+v, want t=%d and one v1", h, sig, testNow.Unix())
			}
			if err := v.Verify(h, body, testNow); err != nil {
				t.Errorf("Verify(Sign(body)) = %v", err)
			}
			if err := v.Verify(h, append(bytes.Clone(body), ' '), testNow); err == nil {
				t.Error("Verify accepted the signature for another body")
			}
		})
	}
}

func TestSign_Format(t *testing.T) {
	// A fixed vector, so that a change to what is signed (the "<t>.<body>"
	// string) is caught even if Sign and Verify change together.
	got := Sign([]byte("secret"), time.Unix(1795618800, 0), []byte(`{"a":1}`))
	want := "t=1795618800,v1=" + hex.EncodeToString(referenceMAC([]byte("secret"), []byte(`1795618800.{"a":1}`)))
	if got != want {
		t.Errorf("Sign = %q, want %q", got, want)
	}
	// Sub-second parts of t are dropped, not rounded.
	if a, b := Sign(testSecret, testNow, nil), Sign(testSecret, testNow.Add(999*time.Millisecond), nil); a != b {
		t.Errorf("Sign at %v = %q, at +999ms = %q; want the same", testNow, a, b)
	}
}

// referenceMAC is HMAC-SHA256 computed here rather than through mac, so the
// test does not only check the package against itself.
func referenceMAC(secret, msg []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write(msg)
	return m.Sum(nil)
}
