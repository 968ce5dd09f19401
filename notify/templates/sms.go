package templates

import (
	"strings"
	"unicode/utf16"
)

// gsm7Basic is the GSM 03.38 default alphabet (escape excluded); each
// character is one septet.
const gsm7Basic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"

// gsm7Extension characters are sent as escape plus one: two septets.
const gsm7Extension = "\f^{}\\[~]|€"

// SMS segment sizes: a single message, and each part of a concatenated one
// (its user data header takes the rest).
const (
	gsm7Single, gsm7Part = 160, 153
	ucs2Single, ucs2Part = 70, 67
)

// SMSSegments says how body travels as SMS: its encoding ("GSM-7" when
// every character is in the GSM alphabet, else "UCS-2"), its length in
// that encoding's units (septets, extension characters counting two; or
// UTF-16 code units) and how many segments it is billed as. A character
// is never split across segments, as phones do.
func SMSSegments(body string) (encoding string, chars, segments int) {
	units := make([]int, 0, len(body))
	gsm := true
	for _, r := range body {
		n := gsm7Septets(r)
		if n == 0 {
			gsm = false
			break
		}
		units = append(units, n)
	}
	single, part := gsm7Single, gsm7Part
	encoding = "GSM-7"
	if !gsm {
		encoding, single, part = "UCS-2", ucs2Single, ucs2Part
		units = units[:0]
		for _, r := range body {
			units = append(units, utf16.RuneLen(r))
		}
	}
	for _, u := range units {
		chars += u
	}
	switch {
	case chars == 0:
		return encoding, 0, 0
	case chars <= single:
		return encoding, chars, 1
	}
	used := part // the first segment is opened below
	segments = 0
	for _, u := range units {
		if used+u > part {
			segments++
			used = 0
		}
		used += u
	}
	return encoding, chars, segments
}

// gsm7Septets is how many septets r takes in GSM-7: 1, 2 (extension
// table), or 0 when it has none.
func gsm7Septets(r rune) int {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == ' ':
		return 1
	case strings.ContainsRune(gsm7Basic, r):
		return 1
	case strings.ContainsRune(gsm7Extension, r):
		return 2
	}
	return 0
}
