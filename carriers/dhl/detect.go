package dhl

import (
	"strconv"
	"strings"

	"github.com/trackd/trackd/tracking"
)

// Confidences Detect answers.
const (
	// confidentExpress: a DHL Express waybill (10 or 11 digits) whose
	// mod-7 check digit holds. Among the carriers trackd knows only DHL
	// prints numbers of these lengths; a random one passes one time in 7.
	confidentExpress = 0.9
	// pieceID: JJD or JVGL and 9 or 10 digits, DHL's piece numbers.
	// Nothing to check, but the prefix is DHL's.
	pieceID = 0.7
	// otherPieceID: J, two or three other letters, and 9 or 10 digits,
	// the same shape. Purolator prints numbers like these too.
	otherPieceID = 0.4
	// globalMail: GM and 10 to 39 letters and digits, DHL eCommerce's
	// Global Mail numbers. Nothing to check, but the prefix is DHL's.
	globalMail = 0.6
	// eCommerce: one of DHL eCommerce's other prefixes and 10 to 39
	// letters and digits. These prefixes are also postal service codes
	// and country codes, so they say less.
	eCommerce = 0.4
	// eCommerce14: 14 digits, as DHL eCommerce prints them. Nothing to
	// check and no prefix: not a confident guess.
	eCommerce14 = 0.3
	// failed: an Express waybill's shape whose check digit fails, or all
	// zeros (a placeholder, never issued).
	failed = 0.1
)

// Detect scores how likely number is a DHL tracking number: 0 when it has
// no DHL format, low when it has one but its check digit fails, at least
// 0.9 when the check digit holds; formats without a check digit score
// between, by how distinctive they are. Spaces, dashes and case do not
// matter.
//
// Formats:
//   - Express waybill: 10 (or 11) digits, the last the rest mod 7.
//   - Express piece ID: J, 2 or 3 letters (JJD, JVGL), 9 or 10 digits.
//   - eCommerce: GM, LX, RX, UV, CN, SG, TH, IN, HK or MY and 10 to 39
//     letters and digits, at least one a digit; S10-shaped numbers (2
//     letters, 9 digits, 2 letters) are left to the posts that issue them.
//   - eCommerce: 14 digits.
func Detect(number string) float64 {
	n := tracking.NormalizeTrackingNumber(number)
	switch {
	case (len(n) == 10 || len(n) == 11) && digits(n):
		serial, err := strconv.ParseUint(n[:len(n)-1], 10, 64)
		if err == nil && serial != 0 && serial%7 == uint64(n[len(n)-1]-'0') {
			return confidentExpress
		}
		return failed
	case len(n) == 14 && digits(n):
		return eCommerce14
	case isPieceID(n) && (strings.HasPrefix(n, "JJD") || strings.HasPrefix(n, "JVGL")):
		return pieceID
	case isPieceID(n):
		return otherPieceID
	case len(n) >= 12 && len(n) <= 41 && alnum(n) && strings.ContainsAny(n[2:], "0123456789") && !s10Shape(n):
		switch n[:2] {
		case "GM":
			return globalMail
		case "LX", "RX", "UV", "CN", "SG", "TH", "IN", "HK", "MY":
			return eCommerce
		}
	}
	return 0
}

// isPieceID reports whether n is J, 2 or 3 letters, and 9 or 10 digits.
func isPieceID(n string) bool {
	if len(n) < 12 || n[0] != 'J' {
		return false
	}
	i := 1
	for i < len(n) && n[i] >= 'A' && n[i] <= 'Z' {
		i++
	}
	prefix, serial := i-1, len(n)-i
	return (prefix == 2 || prefix == 3) && (serial == 9 || serial == 10) && digits(n[i:])
}

func s10Shape(n string) bool {
	return len(n) == 13 && letters(n[:2]) && digits(n[2:11]) && letters(n[11:])
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

func alnum(s string) bool {
	for i := range len(s) {
		if (s[i] < '0' || s[i] > '9') && (s[i] < 'A' || s[i] > 'Z') {
			return false
		}
	}
	return s != ""
}
