package dhl

import (
	"testing"

	"github.com/trackd/trackd/carriers/carriertest"
)

// TestDetect_Vectors: numbers of a format with a check digit score at
// least 0.9; those of a format without one (piece IDs, eCommerce) score
// something, but less: there is nothing to be sure of.
func TestDetect_Vectors(t *testing.T) {
	v := carriertest.LoadVectors(t, "dhl.json")
	carriertest.CheckVectors(t, Detect, v, carriertest.Want{Carrier: "DHL", Valid: 16, Invalid: 16, Unchecked: true})
}

// TestDetect_CheckDigitFailures changes the last digit of every valid
// Express waybill: the format still matches, so the score is low but not 0.
func TestDetect_CheckDigitFailures(t *testing.T) {
	carriertest.CheckDigitFailures(t, Detect, carriertest.LoadVectors(t, "dhl.json"), carriertest.LastDigit)
}

func TestDetect_Formats(t *testing.T) {
	tests := []struct {
		name, number string
		want         float64
	}{
		{"Express, 10 digits", "3318 8100 25", confidentExpress},
		{"Express, 11 digits", "73891051146", confidentExpress},
		{"Express, check digit 7 or more", "3318810027", failed},
		{"zeros: a placeholder", "0000000000", failed},
		{"9 digits", "331881002", 0},
		{"12 digits", "331881002500", 0},
		{"piece ID JJD", "jjd0099999999", pieceID},
		{"piece ID JVGL", "JVGL0999999990", pieceID},
		{"another J prefix, as Purolator's", "JFV247545960", otherPieceID},
		{"piece ID with 4 letters", "JJDDD0099999999", 0},
		{"piece ID with 11 digits", "JJD00999999999", 0},
		{"Global Mail", "GM2951173225174494", globalMail},
		{"Global Mail without a digit", "GMABCDEFGHIJKL", 0},
		{"Global Mail too short", "GM123456789", 0},
		{"other eCommerce prefix", "HK1234567890AB", eCommerce},
		{"S10 number, left to the posts", "LX123456785DE", 0},
		{"eCommerce 14 digits", "60120172242323", eCommerce14},
		{"UPS", "1Z999AA10123456784", 0},
		{"FedEx Express", "986578788855", 0},
		{"USPS", "9400111206206406260787", 0},
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
	carriertest.AddSeeds(f, "dhl.json")
	f.Add("JJ0")
	f.Fuzz(func(t *testing.T, n string) {
		carriertest.CheckAnyInput(t, Detect, n)
	})
}
