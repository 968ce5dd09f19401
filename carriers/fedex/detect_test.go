package fedex

import (
	"testing"

	"github.com/trackd/trackd/carriers/carriertest"
)

func TestDetect_Vectors(t *testing.T) {
	v := carriertest.LoadVectors(t, "fedex.json")
	carriertest.CheckVectors(t, Detect, v, carriertest.Want{Carrier: "FedEx", Valid: 34, Invalid: 9})
}

// TestDetect_CheckDigitFailures changes the check digit of every valid
// number: the format still matches, so the score is low but not 0.
func TestDetect_CheckDigitFailures(t *testing.T) {
	// checkFromEnd is where each format keeps its check digit: last, but
	// for ASTRA, four digits before the end.
	checkFromEnd := map[string]int{"fedex_astra_32": 5}
	carriertest.CheckDigitFailures(t, Detect, carriertest.LoadVectors(t, "fedex.json"),
		func(f carriertest.Format, n string) string {
			return carriertest.ChangeDigit(n, max(1, checkFromEnd[f.ID]))
		})
}

func TestDetect_Formats(t *testing.T) {
	tests := []struct {
		name, number string
		want         float64
	}{
		{"Express 12 with dashes", "9865-7878-8855", confident},
		{"Express 12 failing", "986578788856", failed},
		{"Express 12 zeros: a placeholder", "000000000000", failed},
		{"Ground 15 zeros", "000000000000000", failed},
		{"Ground 96", "9611020987654312345672", confidentPrefixed},
		{"22 digits not starting 96", "9411020987654312345672", 0},
		{"GSN 34", "9622001900000000000000776632517510", confidentPrefixed},
		// The same 34 digits behind a USPS routing prefix: this passes
		// FedEx's check (its last 14 digits are a valid Express number),
		// but USPS prints 420 ZIP+4 barcodes of this length too.
		{"34 digits starting 420", "4200000000000000000000776632517510", sharedWithUSPS},
		{"34 digits starting 9 but not 96", "9122001900000000000000776632517510", 0},
		{"ASTRA 32 not starting 3", "42971514560102447849175802862014", 0},
		{"13 digits", "9865787888551", 0},
		{"letters", "98657878885A", 0},
		{"UPS", "1Z999AA10123456784", 0},
		{"DHL Express", "3318810025", 0},
		{"empty", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Detect(tt.number); got != tt.want {
				t.Errorf("Detect(%q) = %v, want %v", tt.number, got, tt.want)
			}
		})
	}
}

func FuzzDetect(f *testing.F) {
	carriertest.AddSeeds(f, "fedex.json")
	f.Add("4200000000000000000000776632517510")
	f.Fuzz(func(t *testing.T, n string) {
		carriertest.CheckAnyInput(t, Detect, n)
	})
}
