// FedEx tracking numbers are recognised by Detect, which needs no
// credentials and no configuration. (The package is documented in
// fedex.go.)

package fedex

import (
	"strings"

	"github.com/trackd/trackd/tracking"
)

// Confidences Detect answers.
const (
	// confident: an all-digit FedEx format whose check digit holds. Any
	// digits of the right length pass one time in ten, but among the
	// carriers trackd knows only FedEx prints numbers of these lengths.
	confident = 0.9
	// confidentPrefixed: a "96" Ground barcode whose check digit holds; the
	// prefix narrows it further.
	confidentPrefixed = 0.95
	// sharedWithUSPS: a 34-digit Express barcode starting 420, whose check
	// digit holds. USPS's routing barcode (420, a ZIP+4, a 22-digit IMpb
	// number) has the same length and prefix, so the number is as likely
	// USPS's: FedEx claims no more than half of it.
	sharedWithUSPS = 0.5
	// failed: the format matches but the check digit does not, or the
	// serial is all zeros.
	failed = 0.1
)

// Detect scores how likely number is a FedEx tracking number: 0 when it
// has no FedEx format, low when it has one but its check digit fails, at
// least 0.9 when the check digit holds (0.5 where USPS shares the format).
// Spaces, dashes and case do not matter.
//
// Formats, all digits:
//   - 12: Express; check digit mod 11 over the first 11 (see express).
//   - 15: Ground; check digit mod 10 over the first 14 (see ground).
//   - 18: Ground SSCC-18; mod 10 over digits 3-17 (see ground).
//   - 22: Ground "96": 96, 2 carrier digits, 3 service digits, 14 serial
//     digits, a check digit mod 10 over the serial (see ground).
//   - 32: legacy ASTRA barcode, starting with 3; digits 17-28 are an
//     Express number with its check digit.
//   - 34: Express barcode (first digit 0-8) and Ground GSN barcode
//     (starting 96); digits 21-34 are an Express number with its check
//     digit (the two leading serial digits weigh in, see express).
func Detect(number string) float64 {
	n := tracking.NormalizeTrackingNumber(number)
	if !digits(n) {
		return 0
	}
	switch {
	case len(n) == 12:
		return score(n[:11], n[11], express, confident)
	case len(n) == 15:
		return score(n[:14], n[14], ground, confident)
	case len(n) == 18:
		return score(n[2:17], n[17], ground, confident)
	case len(n) == 22 && strings.HasPrefix(n, "96"):
		return score(n[7:21], n[21], ground, confidentPrefixed)
	case len(n) == 32 && n[0] == '3':
		return score(n[16:27], n[27], express, confident)
	case len(n) == 34 && strings.HasPrefix(n, "96"):
		return score(n[20:33], n[33], express, confidentPrefixed)
	case len(n) == 34 && strings.HasPrefix(n, "420"):
		return score(n[20:33], n[33], express, sharedWithUSPS)
	case len(n) == 34 && n[0] != '9':
		return score(n[20:33], n[33], express, confident)
	}
	return 0
}

// score is confidence when check is serial's check digit by checkDigit,
// failed otherwise. A serial of zeros passes every check but is a
// placeholder, never issued.
func score(serial string, check byte, checkDigit func(string) byte, confidence float64) float64 {
	if checkDigit(serial) == check && strings.Trim(serial, "0") != "" {
		return confidence
	}
	return failed
}

// express is FedEx Express's check digit of serial digits: weighted 1, 3,
// 7, 1, 3, 7, ... from the right, the sum taken mod 11, then mod 10.
func express(serial string) byte {
	weights := [3]int{1, 3, 7}
	sum := 0
	for i := range len(serial) {
		sum += int(serial[len(serial)-1-i]-'0') * weights[i%3]
	}
	return byte('0' + sum%11%10)
}

// ground is the mod-10 check digit FedEx Ground shares with GS1: digits
// weighted 3, 1, 3, 1, ... from the right; the check digit brings the sum
// up to a multiple of 10.
func ground(serial string) byte {
	sum := 0
	for i := range len(serial) {
		d := int(serial[len(serial)-1-i] - '0')
		if i%2 == 0 {
			d *= 3
		}
		sum += d
	}
	return byte('0' + (10-sum%10)%10)
}

func digits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
