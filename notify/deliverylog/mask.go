package deliverylog

import (
	"strings"
	"unicode/utf8"

	"github.com/trackd/trackd/notify"
	"github.com/trackd/trackd/notify/optout"
)

// Mask hides most of a recipient, keeping enough for a person reading the
// log to tell two apart: an email keeps the first character of its local
// part and its domain ("j***@example.com"); a phone number keeps its first
// digit and its last four ("+1******4567"). Anything else is "***".
func Mask(ch notify.Channel, recipient string) string {
	s := optout.Normalize(ch, recipient)
	if s == "" {
		return ""
	}
	switch ch {
	case notify.Email:
		at := strings.LastIndexByte(s, '@')
		if at <= 0 || at == len(s)-1 {
			return "***"
		}
		_, n := utf8.DecodeRuneInString(s)
		return s[:n] + "***" + s[at:]
	case notify.SMS:
		digits := strings.TrimPrefix(s, "+")
		for i := 0; i < len(digits); i++ {
			if digits[i] < '0' || digits[i] > '9' {
				return "***"
			}
		}
		// Short numbers would be given away by their first and last four
		// digits; they keep only the last two.
		if len(digits) < 8 {
			if len(digits) < 4 {
				return "***"
			}
			return "+" + strings.Repeat("*", len(digits)-2) + digits[len(digits)-2:]
		}
		return "+" + digits[:1] + strings.Repeat("*", len(digits)-5) + digits[len(digits)-4:]
	}
	return "***"
}
