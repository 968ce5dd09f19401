package dhl

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// vectors are the test numbers of a tracking_number_data courier file, by
// format (see testdata/SOURCES.md).
type vectors struct {
	TrackingNumbers []struct {
		Name       string `json:"name"`
		Validation struct {
			Checksum *struct {
				Name string `json:"name"`
			} `json:"checksum"`
		} `json:"validation"`
		TestNumbers struct {
			Valid   []string `json:"valid"`
			Invalid []string `json:"invalid"`
		} `json:"test_numbers"`
	} `json:"tracking_numbers"`
}

func readVectors(t testing.TB, name string) vectors {
	t.Helper()
	b, err := os.ReadFile("testdata/tracking_numbers/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
}

// TestDetect_Vectors: numbers of a format with a check digit score at
// least 0.9; those of a format without one (piece IDs, eCommerce) score
// something, but less: there is nothing to be sure of.
func TestDetect_Vectors(t *testing.T) {
	valid, invalid := 0, 0
	for _, f := range readVectors(t, "dhl.json").TrackingNumbers {
		checked := f.Validation.Checksum != nil
		for _, n := range f.TestNumbers.Valid {
			valid++
			got := Detect(n)
			switch {
			case checked && got < 0.9:
				t.Errorf("%s: Detect(%q) = %v, want ≥ 0.9", f.Name, n, got)
			case !checked && (got <= 0 || got >= 0.9):
				t.Errorf("%s: Detect(%q) = %v, want a score in (0, 0.9): the format has no check digit", f.Name, n, got)
			}
		}
		for _, n := range f.TestNumbers.Invalid {
			invalid++
			if got := Detect(n); got >= 0.5 {
				t.Errorf("%s: Detect(%q) = %v for an invalid number, want < 0.5", f.Name, n, got)
			}
		}
	}
	if valid < 16 || invalid < 16 {
		t.Errorf("read %d valid and %d invalid numbers, want the 16 and 16 of dhl.json", valid, invalid)
	}
}

// TestDetect_CheckDigitFailures changes the last digit of every valid
// Express waybill: the format still matches, so the score is low but not 0.
func TestDetect_CheckDigitFailures(t *testing.T) {
	for _, f := range readVectors(t, "dhl.json").TrackingNumbers {
		if f.Validation.Checksum == nil {
			continue
		}
		for _, n := range f.TestNumbers.Valid {
			bad := changeLastDigit(n)
			if got := Detect(bad); got <= 0 || got > 0.2 {
				t.Errorf("%s: Detect(%q) = %v, want a low score in (0, 0.2]", f.Name, bad, got)
			}
		}
	}
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
	for _, tf := range readVectors(f, "dhl.json").TrackingNumbers {
		for _, n := range append(tf.TestNumbers.Valid, tf.TestNumbers.Invalid...) {
			f.Add(n)
		}
	}
	f.Add("JJ0")
	f.Fuzz(func(t *testing.T, n string) {
		got := Detect(n)
		if !(got >= 0 && got <= 1) {
			t.Fatalf("Detect(%q) = %v, outside 0..1", n, got)
		}
		if again := Detect(" -" + n + "\t"); again != got {
			t.Fatalf("Detect(%q) = %v but %v with spaces and dashes around it", n, got, again)
		}
	})
}

// changeLastDigit returns n with its last digit replaced by the next one.
func changeLastDigit(n string) string {
	n = strings.TrimSpace(n)
	i := strings.LastIndexAny(n, "0123456789")
	return n[:i] + string('0'+(n[i]-'0'+1)%10) + n[i+1:]
}
