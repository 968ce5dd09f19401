package ups

import (
	"testing"

	"github.com/trackd/trackd/carriers/carriertest"
)

func TestDetect_Vectors(t *testing.T) {
	v := carriertest.LoadVectors(t, "ups.json")
	carriertest.CheckVectors(t, Detect, v, carriertest.Want{Carrier: "UPS", Valid: 12, Invalid: 8})
}

// TestDetect_CheckDigitFailures changes the last digit of every valid
// number: the format still matches, so the score is low but not 0.
func TestDetect_CheckDigitFailures(t *testing.T) {
	carriertest.CheckDigitFailures(t, Detect, carriertest.LoadVectors(t, "ups.json"), carriertest.LastDigit)
}

func TestDetect_Formats(t *testing.T) {
	tests := []struct {
		name, number string
		want         float64
	}{
		{"UPS's own documentation example", "1Z 999 AA1 0123456784", confident1Z},
		{"lower case and dashes", "1z-999-aa1-0123456784", confident1Z},
		{"letters in the check digit's place", "1Z999AA101234567AB", failed1Z},
		{"1Z one character short", "1Z999AA1012345678", 0},
		{"1Z one character long", "1Z999AA101234567840", 0},
		{"punctuation inside", "1Z999AA1.123456784", 0},
		{"zeros: a placeholder", "1Z0000000000000000", failed1Z},
		{"waybill", "K1506235620", confidentWaybill},
		{"waybill of zeros", "K0000000000", failedWaybill},
		{"waybill with another service letter", "B1506235620", 0},
		{"FedEx Express", "986578788855", 0},
		{"USPS S10", "RB123456785US", 0},
		{"DHL Express", "3318810025", 0},
		{"empty", "", 0},
		{"spaces only", "   ", 0},
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
	carriertest.AddSeeds(f, "ups.json")
	f.Add("1z-999-aa1-0123456784")
	f.Add("1Z\u00e9")
	f.Fuzz(func(t *testing.T, n string) {
		carriertest.CheckAnyInput(t, Detect, n)
	})
}
