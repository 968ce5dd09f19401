package usps

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
	valid, invalid := 0, 0
	for _, f := range readVectors(t, "usps.json").TrackingNumbers {
		if f.Validation.Checksum == nil {
			t.Fatalf("format %q has no check digit; this table expects every USPS format to have one", f.Name)
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
	if valid < 31 || invalid < 11 {
		t.Errorf("read %d valid and %d invalid numbers, want the 31 and 11 of usps.json", valid, invalid)
	}
}

// TestDetect_S10Vectors: s10.json's numbers are valid S10 numbers of
// several posts; only those issued by USPS (country US) are its own.
func TestDetect_S10Vectors(t *testing.T) {
	ours := 0
	for _, f := range readVectors(t, "s10.json").TrackingNumbers {
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
	numbers := []string{}
	for _, f := range readVectors(t, "usps.json").TrackingNumbers {
		numbers = append(numbers, f.TestNumbers.Valid...)
	}
	for _, n := range numbers {
		bad := changeLastDigit(n)
		if got := Detect(bad); got <= 0 || got > 0.2 {
			t.Errorf("Detect(%q) = %v, want a low score in (0, 0.2]", bad, got)
		}
	}
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
	for _, file := range []string{"usps.json", "s10.json"} {
		for _, tf := range readVectors(f, file).TrackingNumbers {
			for _, n := range append(tf.TestNumbers.Valid, tf.TestNumbers.Invalid...) {
				f.Add(n)
			}
		}
	}
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
