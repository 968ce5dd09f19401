package ups

import (
	"strings"

	"github.com/trackd/trackd/tracking"
)

// Confidences Detect answers.
const (
	// confident1Z: "1Z" and sixteen characters whose check digit holds.
	// No other carrier writes numbers like these.
	confident1Z = 0.97
	// confidentWaybill: a service letter and ten digits whose check digit
	// holds. Shorter, so a random string passes one time in ten.
	confidentWaybill = 0.9
	// failed1Z: "1Z" and sixteen characters whose check digit fails (or
	// all zeros). Most likely a mistyped UPS number, but not one to track
	// as it is.
	failed1Z = 0.2
	// failedWaybill: a waybill's shape with a failing check digit.
	failedWaybill = 0.1
)

// Detect scores how likely number is a UPS tracking number: 0 when it has
// no UPS format, low when it has one but its check digit fails, at least
// 0.9 when the check digit holds. Spaces, dashes and case do not matter.
//
// Formats: 1Z numbers (1Z, 6 shipper characters, 2 service characters,
// 7 package characters, a check digit) and waybills (A, H, J, K, T or V,
// 9 digits, a check digit).
func Detect(number string) float64 {
	n := tracking.NormalizeTrackingNumber(number)
	switch {
	case len(n) == 18 && strings.HasPrefix(n, "1Z") && alnum(n[2:]):
		if checkDigit(n[2:17]) == n[17] && issued(n[2:17]) {
			return confident1Z
		}
		return failed1Z
	case len(n) == 11 && strings.IndexByte("AHJKTV", n[0]) >= 0 && digits(n[1:]):
		if checkDigit(n[1:10]) == n[10] && issued(n[1:10]) {
			return confidentWaybill
		}
		return failedWaybill
	}
	return 0
}

// checkDigit is UPS's mod-10 check digit of s, upper-case letters and
// digits: a letter counts as (its ASCII code - 3) mod 10 (A=2, B=3, ...,
// I=0, J=1, ...), every second character from the left (the 2nd, 4th, ...)
// counts twice, and the check digit brings the sum up to a multiple of 10.
func checkDigit(s string) byte {
	sum := 0
	for i := range len(s) {
		v := int(s[i] - '0')
		if !isDigit(s[i]) {
			v = (int(s[i]) - 3) % 10
		}
		if i%2 == 1 {
			v *= 2
		}
		sum += v
	}
	return byte('0' + (10-sum%10)%10)
}

// issued reports whether serial is not all zeros: those pass the check
// but are placeholders.
func issued(serial string) bool { return strings.Trim(serial, "0") != "" }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func digits(s string) bool {
	for i := range len(s) {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

func alnum(s string) bool {
	for i := range len(s) {
		if !isDigit(s[i]) && (s[i] < 'A' || s[i] > 'Z') {
			return false
		}
	}
	return s != ""
}
