package usps

import (
	"strings"
	"testing"

	"github.com/trackd/trackd/carriers/carriertest"
)

func TestDetect_Vectors(t *testing.T) {
	v := carriertest.LoadVectors(t, "usps.json")
	carriertest.CheckVectors(t, Detect, v, carriertest.Want{Carrier: "USPS", Valid: 31, Invalid: 11})
}

// TestDetect_S10Vectors: s10.json's numbers are valid S10 numbers of
// several posts; only those issued by USPS (country US) are its own.
func TestDetect_S10Vectors(t *testing.T) {
	ours := 0
	for _, f := range carriertest.LoadVectors(t, "s10.json").Formats {
		for _, n := range f.TestNumbers.Valid {
			got := Detect(n)
			switch {
			case strings.HasSuffix(n, "US"):
				ours++
				if got < 0.9 {
					t.Errorf("Detect(%q) = %v, want ≥ 0.9", n, got)
				}
			case got != 0:
				t.Errorf("Detect(%q) = %v for another post's number, want 0", n, got)
			}
		}
		for _, n := range f.TestNumbers.Invalid {
			if got := Detect(n); got >= 0.5 {
				t.Errorf("Detect(%q) = %v for an invalid number, want < 0.5", n, got)
			}
		}
	}
	if ours == 0 {
		t.Error("s10.json has no US number: the table tested nothing of USPS's")
	}
}

// TestDetect_CheckDigitFailures changes the last digit, the check digit,
// of every valid number: the format still matches, so the score is low but
// not 0.
func TestDetect_CheckDigitFailures(t *testing.T) {
	carriertest.CheckDigitFailures(t, Detect, carriertest.LoadVectors(t, "usps.json"), carriertest.LastDigit)
	if got := Detect("RB123456786US"); got != failedS10 {
		t.Errorf("Detect(RB123456786US) = %v, want %v", got, failedS10)
	}
}

func TestDetect_Formats(t *testing.T) {
	tests := []struct {
		name, number string
		want         float64
	}{
		{"IMpb 94, 22 digits", "9400 1112 0620 6406 2607 87", confidentIMpb},
		{"behind 420 and a ZIP", "420 78745 9400111206206406260787", confidentIMpb},
		{"behind 420 and a ZIP+4", "420 787451234 9400111206206406260787", confidentIMpb},
		{"ZIP+4 before a 26-digit number", "420 787451234 92748931507708513018050063", 0},
		{"92 with a 6-digit mailer ID", "9200000000000000000000", failed},
		{"93 with a 9-digit mailer ID", "9300090000000000000004", failed},
		{"30 digits starting 92", "927489315077085130180500630000", 0},
		{"22 digits starting 96 (FedEx Ground)", "9611020987654312345672", 0},
		{"22 digits starting 90", "9000111206206406260787", 0},
		{"20 digits, printed without 91", "7196 9010 7560 0307 7385", confident20},
		{"20 zeros: a placeholder", "00000000000000000000", failed},
		{"S10 of USPS", "RB 123 456 785 US", confidentS10},
		{"S10 of USPS, lower case", "rb123456785us", confidentS10},
		{"S10, check digit 10 written 0", "EA000000080US", confidentS10},
		{"S10, check digit 11 written 5", "EA000000005US", confidentS10},
		{"S10 with the check digit 10 as is", "EA00000008XUS", 0},
		{"S10 of Royal Mail", "RB123456785GB", 0},
		{"UPS", "1Z999AA10123456784", 0},
		{"FedEx Express", "986578788855", 0},
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
	carriertest.AddSeeds(f, "usps.json", "s10.json")
	f.Fuzz(func(t *testing.T, n string) {
		carriertest.CheckAnyInput(t, Detect, n)
	})
}
