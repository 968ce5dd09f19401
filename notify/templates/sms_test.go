package templates

import (
	"strings"
	"testing"
)

func TestSMSSegments(t *testing.T) {
	gsm := func(n int) string { return strings.Repeat("a", n) }
	tests := []struct {
		name, body, encoding string
		chars, segments      int
	}{
		{"empty", "", "GSM-7", 0, 0},
		{"one GSM-7 segment, full", gsm(160), "GSM-7", 160, 1},
		{"two GSM-7 segments", gsm(161), "GSM-7", 161, 2},
		{"two GSM-7 segments, full", gsm(306), "GSM-7", 306, 2},
		{"three GSM-7 segments", gsm(307), "GSM-7", 307, 3},
		{"accents of the GSM alphabet", "Zustellung für Jörg: é è ñ ü ß à Ç", "GSM-7", 34, 1},
		{"extension characters count two", "€{}[]~^|\\", "GSM-7", 18, 1},
		{"an extension character fills one segment", gsm(159) + "€", "GSM-7", 161, 2},
		// 152 septets then €: it cannot straddle the segments, so it moves
		// to the second one.
		{"an extension character is not split", gsm(152) + "€" + gsm(7), "GSM-7", 161, 2},
		{"an extension character is not split, and spills", gsm(152) + "€" + gsm(152), "GSM-7", 306, 3},
		{"one character outside GSM-7 makes it UCS-2", "Lucía", "UCS-2", 5, 1},
		{"curly apostrophes are UCS-2", "it’s", "UCS-2", 4, 1},
		{"one UCS-2 segment, full", strings.Repeat("í", 70), "UCS-2", 70, 1},
		{"two UCS-2 segments", strings.Repeat("í", 71), "UCS-2", 71, 2},
		{"emoji are two UTF-16 units", "📦", "UCS-2", 2, 1},
		{"a surrogate pair is not split", strings.Repeat("í", 66) + "📦" + strings.Repeat("í", 3), "UCS-2", 71, 2},
		{"a surrogate pair is not split, and spills", strings.Repeat("í", 66) + "📦" + strings.Repeat("í", 66), "UCS-2", 134, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc, chars, segs := SMSSegments(tt.body)
			if enc != tt.encoding || chars != tt.chars || segs != tt.segments {
				t.Errorf("SMSSegments = %s, %d, %d; want %s, %d, %d", enc, chars, segs, tt.encoding, tt.chars, tt.segments)
			}
		})
	}
}
