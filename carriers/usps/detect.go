// Package usps is trackd's USPS adapter. Its tracking numbers are
// recognised by Detect, which needs no credentials and no configuration.
package usps

import (
	"strings"

	"github.com/trackd/trackd/tracking"
)

// Confidences Detect answers.
const (
	// confidentIMpb: an IMpb number (application identifier 91 to 95 and
	// the structure Publication 199 gives it) whose check digit holds.
	confidentIMpb = 0.95
	// confident20: twenty digits whose check digit holds, read either as
	// they are or behind the 91 identifier they were printed without.
	// Nothing marks them as USPS's but their length, and two readings
	// pass one random number in five.
	confident20 = 0.9
	// confidentS10: an international S10 number issued by USPS (country
	// US) whose mod-11 check digit holds.
	confidentS10 = 0.95
	// failedS10: an S10 number of USPS's whose check digit fails. The
	// format is distinctive enough that it is likely a mistyped USPS
	// number, but not one to track as it is.
	failedS10 = 0.2
	// failed: an IMpb or 20-digit shape whose check digit fails (or 20
	// zeros, which pass but are a placeholder).
	failed = 0.1
)

// Detect scores how likely number is a USPS tracking number: 0 when it has
// no USPS format, low when it has one but its check digit fails, at least
// 0.9 when the check digit holds. Spaces, dashes and case do not matter.
//
// Formats:
//   - IMpb: 91, 92, 93, 94 or 95, a 3-digit service type, a mailer ID (9
//     digits starting with 9, or 6 starting with 0-8), a package ID, and a
//     check digit; 22, 26 or 30 digits in all (see impb).
//   - 20 digits: older Delivery and Signature Confirmation numbers.
//   - Either behind a routing prefix: 420 and a ZIP (5 digits) or ZIP+4
//     (9 digits); the check digit covers only what follows the prefix.
//   - S10 international: 2 letters, 8 digits, a check digit, and the
//     issuing country "US". S10 numbers of other countries belong to
//     other posts and score 0.
//
// IMpb and 20-digit check digits are GS1's mod 10 (see mod10).
func Detect(number string) float64 {
	n := tracking.NormalizeTrackingNumber(number)
	if s10Shape(n) {
		return s10(n)
	}
	if !digits(n) {
		return 0
	}
	best := impb(n, false)
	if strings.HasPrefix(n, "420") {
		for _, zip := range []int{5, 9} {
			if body := n[min(len(n), 3+zip):]; len(body) == 20 || len(body) == 22 || (zip == 5 && len(body) == 26) {
				best = max(best, impb(body, true))
			}
		}
	}
	return best
}

// impb scores n as a USPS number without a routing prefix; routed says a
// prefix was cut off, which rules out the bare 20-digit reading (those
// were never printed behind one).
func impb(n string, routed bool) float64 {
	switch {
	case len(n) == 20:
		// Read as printed without its 91 identifier, unless it starts
		// with 91 already; without a routing prefix, also as it is.
		legacy := n[:19]
		if !strings.HasPrefix(n, "91") {
			legacy = "91" + legacy
		}
		if mod10(legacy) == n[19] || (!routed && mod10(n[:19]) == n[19] && strings.Trim(n, "0") != "") {
			return confident20
		}
		return failed
	case len(n) == 22 && n[:2] == "91":
		return score(mod10(n[:21]) == n[21], confidentIMpb)
	case len(n) != 22 && len(n) != 26 && len(n) != 30:
		return 0
	}
	// After the identifier and the 3-digit service type, a mailer ID: 9
	// digits starting with 9, or 6 starting with 0-8. 92 comes only with
	// the first, 93 only with the second, 94 and 95 with either. The
	// package ID then makes 22 or 26 digits in all, or 30 for 94 with a
	// 9-digit mailer ID.
	ai := n[:2]
	if ai < "92" || ai > "95" || (len(n) == 30 && ai != "94") {
		return 0
	}
	long := n[5] == '9'
	switch {
	case ai == "92" && !long, ai == "93" && long, len(n) == 30 && !long:
		return failed // a mailer ID of the wrong length for its identifier
	}
	return score(mod10(n[:len(n)-1]) == n[len(n)-1], confidentIMpb)
}

// s10Shape reports whether n has the UPU S10 shape: 2 letters, 9 digits,
// 2 letters.
func s10Shape(n string) bool {
	return len(n) == 13 && letters(n[:2]) && digits(n[2:11]) && letters(n[11:])
}

// s10 scores an S10-shaped number. Its check digit: the 8 serial digits
// weighted 8, 6, 4, 2, 3, 5, 9, 7, then 11 minus the sum mod 11, with 10
// written 0 and 11 written 5.
func s10(n string) float64 {
	if n[11:] != "US" {
		return 0
	}
	weights := [8]int{8, 6, 4, 2, 3, 5, 9, 7}
	sum := 0
	for i, w := range weights {
		sum += int(n[2+i]-'0') * w
	}
	check := 11 - sum%11
	switch check {
	case 10:
		check = 0
	case 11:
		check = 5
	}
	if int(n[10]-'0') != check {
		return failedS10
	}
	return confidentS10
}

// mod10 is GS1's check digit of digits s: weighted 3, 1, 3, 1, ... from
// the right; the check digit brings the sum up to a multiple of 10.
func mod10(s string) byte {
	sum := 0
	for i := range len(s) {
		d := int(s[len(s)-1-i] - '0')
		if i%2 == 0 {
			d *= 3
		}
		sum += d
	}
	return byte('0' + (10-sum%10)%10)
}

func score(checks bool, confidence float64) float64 {
	if checks {
		return confidence
	}
	return failed
}

func digits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func letters(s string) bool {
	for i := range len(s) {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return s != ""
}
