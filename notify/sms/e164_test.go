package sms

import (
	"errors"
	"strings"
	"testing"
)

func TestE164_ValidNumbers(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"US, typed", "+1 (415) 555-0123", "+14155550123"},
		{"US, dots", "+1.415.555.0123", "+14155550123"},
		{"US, compact", "+14155550123", "+14155550123"},
		{"UK mobile", "+44 7700 900123", "+447700900123"},
		{"UK with trunk zero in parentheses", "+44 (0)20 7946 0958", "+442079460958"},
		{"Germany", "+49 30 901820", "+4930901820"},
		{"France mobile", "+33 6 12 34 56 78", "+33612345678"},
		{"Spain", "+34 612-345-678", "+34612345678"},
		{"Brazil mobile", "+55 (11) 91234-5678", "+5511912345678"},
		{"India", "+91 98765 43210", "+919876543210"},
		{"Japan", "+81-90-1234-5678", "+819012345678"},
		{"Australia", "+61 412 345 678", "+61412345678"},
		{"surrounding and non-breaking spaces", "\t+49\u00a0151 2345 6789 ", "+4915123456789"},
		{"Luxembourg, short", "+352 462 112", "+352462112"},
		{"8 digits, the fewest accepted", "+49 30 9018", "+49309018"},
		{"longest: 15 digits", "+123456789012345", "+123456789012345"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := E164(tt.in)
			if err != nil || got != tt.want {
				t.Errorf("E164(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestE164_InvalidNumbers(t *testing.T) {
	tests := []struct {
		name, in, errHas string
	}{
		{"empty", "", "empty"},
		{"blank", "   ", "empty"},
		{"US national", "(415) 555-0123", "must start with +"},
		{"UK national", "07700 900123", "must start with +"},
		{"international prefix 00 instead of +", "0049 30 901820", "must start with +"},
		{"country code 0", "+0 415 555 0123", "do not start with 0"},
		{"trunk zero kept", "+044 20 7946 0958", "do not start with 0"},
		{"letters", "+1 800 FLOWERS", "unexpected character 'F'"},
		{"extension", "+1 415 555 0123 x12", "unexpected character 'x'"},
		{"two pluses", "++14155550123", "unexpected character '+'"},
		{"plus inside", "+1 415+555 0123", "unexpected character '+'"},
		{"slash", "+49 30/901820", "unexpected character '/'"},
		{"non-ASCII digits", "+٩٧١٥٠١٢٣٤٥٦٧", "unexpected character"},
		{"plus alone", "+", "fewer than 8 digits"},
		{"too short", "+49 301", "fewer than 8 digits"},
		{"16 digits", "+1234567890123456", "more than 15 digits"},
		{"pasted paragraph", "+1 " + strings.Repeat(" ", 80) + "4155550123", "too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := E164(tt.in)
			if !errors.Is(err, ErrInvalidNumber) || !strings.Contains(err.Error(), tt.errHas) {
				t.Errorf("E164(%q) = %q, %v; want an ErrInvalidNumber saying %q", tt.in, got, err, tt.errHas)
			}
			if err != nil && len(tt.in) > 6 && strings.Contains(err.Error(), strings.TrimSpace(tt.in)) {
				t.Errorf("error %q repeats the number", err)
			}
		})
	}
}

func FuzzE164(f *testing.F) {
	for _, s := range []string{"+1 (415) 555-0123", "+44 (0)20 7946 0958", "0049 30 901820", "+", "+(0)(0)", "+1\u00a0x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := E164(in)
		if err != nil {
			if !errors.Is(err, ErrInvalidNumber) || got != "" {
				t.Fatalf("E164(%q) = %q, %v", in, got, err)
			}
			return
		}
		if len(got) < 9 || len(got) > 16 || got[0] != '+' || got[1] == '0' {
			t.Fatalf("E164(%q) = %q, not E.164", in, got)
		}
		for _, c := range got[1:] {
			if c < '0' || c > '9' {
				t.Fatalf("E164(%q) = %q, not E.164", in, got)
			}
		}
		if again, err := E164(got); err != nil || again != got {
			t.Fatalf("E164(%q) = %q, %v; not idempotent", got, again, err)
		}
	})
}
