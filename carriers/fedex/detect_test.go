package fedex

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/trackd/trackd/tracking"
)

// vectors are the test numbers of a tracking_number_data courier file, by
// format (see testdata/SOURCES.md).
type vectors struct {
	TrackingNumbers []struct {
		Name       string `json:"name"`
		ID         string `json:"id"`
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

func TestDetect_Vectors(t *testing.T) {
	valid, invalid := 0, 0
	for _, f := range readVectors(t, "fedex.json").TrackingNumbers {
		if f.Validation.Checksum == nil {
			t.Fatalf("format %q has no check digit; this table expects every FedEx format to have one", f.Name)
		}
		for _, n := range f.TestNumbers.Valid {
			valid++
			if got := Detect(n); got < 0.9 {
				t.Errorf("%s: Detect(%q) = %v, want ≥ 0.9", f.Name, n, got)
			}
		}
		for _, n := range f.TestNumbers.Invalid {
			invalid++
			if got := Detect(n); got >= 0.5 {
				t.Errorf("%s: Detect(%q) = %v for an invalid number, want < 0.5", f.Name, n, got)
			}
		}
	}
	if valid < 34 || invalid < 9 {
		t.Errorf("read %d valid and %d invalid numbers, want the 34 and 9 of fedex.json", valid, invalid)
	}
}

// TestDetect_CheckDigitFailures changes the check digit of every valid
// number: the format still matches, so the score is low but not 0.
func TestDetect_CheckDigitFailures(t *testing.T) {
	// checkFromEnd is where each format keeps its check digit: last, but
	// for ASTRA, four digits before the end.
	checkFromEnd := map[string]int{"fedex_astra_32": 5}
	for _, f := range readVectors(t, "fedex.json").TrackingNumbers {
		for _, n := range f.TestNumbers.Valid {
			bad := changeDigit(n, max(1, checkFromEnd[f.ID]))
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
	for _, tf := range readVectors(f, "fedex.json").TrackingNumbers {
		for _, n := range append(tf.TestNumbers.Valid, tf.TestNumbers.Invalid...) {
			f.Add(n)
		}
	}
	f.Add("4200000000000000000000776632517510")
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

// changeDigit returns n, normalized, with the digit fromEnd places from
// its end (1 is the last) replaced by the next digit.
func changeDigit(n string, fromEnd int) string {
	n = tracking.NormalizeTrackingNumber(n)
	i := len(n) - fromEnd
	return n[:i] + string('0'+(n[i]-'0'+1)%10) + n[i+1:]
}
