package ups

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

func TestDetect_Vectors(t *testing.T) {
	v := readVectors(t, "ups.json")
	valid, invalid := 0, 0
	for _, f := range v.TrackingNumbers {
		if f.Validation.Checksum == nil {
			t.Fatalf("format %q has no check digit; this table expects every UPS format to have one", f.Name)
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
	if valid < 12 || invalid < 8 {
		t.Errorf("read %d valid and %d invalid numbers, want the 12 and 8 of ups.json", valid, invalid)
	}
}

// TestDetect_CheckDigitFailures changes the last digit of every valid
// number: the format still matches, so the score is low but not 0.
func TestDetect_CheckDigitFailures(t *testing.T) {
	for _, f := range readVectors(t, "ups.json").TrackingNumbers {
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
	for _, tf := range readVectors(f, "ups.json").TrackingNumbers {
		for _, n := range append(tf.TestNumbers.Valid, tf.TestNumbers.Invalid...) {
			f.Add(n)
		}
	}
	f.Add("1z-999-aa1-0123456784")
	f.Add("1Z\u00e9")
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
