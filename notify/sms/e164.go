package sms

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ErrInvalidNumber is the error of a phone number that is not E.164; a
// message to it can never be sent, so Permanent reports true.
var ErrInvalidNumber = errors.New("not an E.164 phone number")

// maxNumberInput bounds the typed form of a number, separators included,
// so a pasted paragraph is refused before being walked.
const maxNumberInput = 64

// E164 returns number in E.164 form: "+", a country code not starting
// with 0, and 8 to 15 digits in all. It strips the spaces, dashes, dots and
// parentheses people type, and the "(0)" of "+44 (0)20 ...", whose trunk
// zero is not dialled from abroad. Anything else (letters, a missing "+",
// a national number) is refused rather than guessed at: a number guessed
// wrong texts a stranger. The error never repeats the number, which is
// personal data.
func E164(number string) (string, error) {
	s := strings.TrimSpace(number)
	switch {
	case s == "":
		return "", fmt.Errorf("%w: empty", ErrInvalidNumber)
	case len(s) > maxNumberInput:
		return "", fmt.Errorf("%w: too long", ErrInvalidNumber)
	case s[0] != '+':
		return "", fmt.Errorf("%w: must start with + and the country code", ErrInvalidNumber)
	}
	var b strings.Builder
	b.Grow(16)
	b.WriteByte('+')
	digits := 0
	for i := 1; i < len(s); {
		if digits > 0 && strings.HasPrefix(s[i:], "(0)") {
			i += 3
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r >= '0' && r <= '9':
			if digits == 0 && r == '0' {
				return "", fmt.Errorf("%w: country codes do not start with 0", ErrInvalidNumber)
			}
			digits++
			if digits > 15 {
				return "", fmt.Errorf("%w: more than 15 digits", ErrInvalidNumber)
			}
			b.WriteRune(r)
		case r == '-' || r == '.' || r == '(' || r == ')' || unicode.IsSpace(r):
		default:
			return "", fmt.Errorf("%w: unexpected character %q", ErrInvalidNumber, r)
		}
	}
	if digits < 8 {
		return "", fmt.Errorf("%w: fewer than 8 digits", ErrInvalidNumber)
	}
	return b.String(), nil
}
