// Package carriertest holds what the carrier packages' Detect tests share:
// the tracking_number_data test vectors each package keeps in
// testdata/tracking_numbers (see its testdata/SOURCES.md), the checks run
// over them, and the edits that make a valid number fail its check digit.
package carriertest

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/trackd/trackd/tracking"
)

// Vectors are the test numbers of a tracking_number_data courier file, by
// format.
type Vectors struct {
	// File is the file's name, as LoadVectors was given it.
	File    string   `json:"-"`
	Formats []Format `json:"tracking_numbers"`
}

// Format is one format of a courier file: its name and ID, whether it has
// a check digit, and its valid and invalid test numbers.
type Format struct {
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
}

// HasCheckDigit reports whether the format has a check digit.
func (f Format) HasCheckDigit() bool { return f.Validation.Checksum != nil }

// LoadVectors reads the courier file testdata/tracking_numbers/name of the
// package under test.
func LoadVectors(t testing.TB, name string) Vectors {
	t.Helper()
	b, err := os.ReadFile("testdata/tracking_numbers/" + name)
	if err != nil {
		t.Fatal(err)
	}
	v := Vectors{File: name}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
}

// Want is what CheckVectors expects of a courier file.
type Want struct {
	// Carrier names the carrier in the failure for a format without a
	// check digit: "every UPS format".
	Carrier string
	// Valid and Invalid are how many numbers of each kind the file holds;
	// reading fewer fails the test.
	Valid, Invalid int
	// Unchecked allows formats without a check digit: their valid numbers
	// must score something, but less than 0.9. Without it such a format
	// stops the test.
	Unchecked bool
}

// CheckVectors fails t unless detect scores every valid number of a format
// with a check digit at least 0.9, and every invalid number less than 0.5.
func CheckVectors(t *testing.T, detect func(string) float64, v Vectors, want Want) {
	t.Helper()
	valid, invalid := 0, 0
	for _, f := range v.Formats {
		checked := f.HasCheckDigit()
		if !checked && !want.Unchecked {
			t.Fatalf("format %q has no check digit; this table expects every %s format to have one", f.Name, want.Carrier)
		}
		for _, n := range f.TestNumbers.Valid {
			valid++
			got := detect(n)
			switch {
			case checked && got < 0.9:
				t.Errorf("%s: Detect(%q) = %v, want ≥ 0.9", f.Name, n, got)
			case !checked && (got <= 0 || got >= 0.9):
				t.Errorf("%s: Detect(%q) = %v, want a score in (0, 0.9): the format has no check digit", f.Name, n, got)
			}
		}
		for _, n := range f.TestNumbers.Invalid {
			invalid++
			if got := detect(n); got >= 0.5 {
				t.Errorf("%s: Detect(%q) = %v for an invalid number, want < 0.5", f.Name, n, got)
			}
		}
	}
	if valid < want.Valid || invalid < want.Invalid {
		t.Errorf("read %d valid and %d invalid numbers, want the %d and %d of %s", valid, invalid, want.Valid, want.Invalid, v.File)
	}
}

// A Change makes n, a valid number of format f, fail its check digit.
type Change func(f Format, n string) string

// CheckDigitFailures changes, by change, every valid number of every format
// with a check digit, and fails t unless detect scores the result low but
// not 0, in (0, 0.2]: the format still matches.
func CheckDigitFailures(t *testing.T, detect func(string) float64, v Vectors, change Change) {
	t.Helper()
	for _, f := range v.Formats {
		if !f.HasCheckDigit() {
			continue
		}
		for _, n := range f.TestNumbers.Valid {
			bad := change(f, n)
			if got := detect(bad); got <= 0 || got > 0.2 {
				t.Errorf("%s: Detect(%q) = %v, want a low score in (0, 0.2]", f.Name, bad, got)
			}
		}
	}
}

// LastDigit is the Change for formats whose check digit is their last
// digit: it returns n, trimmed of spaces around it, with its last digit
// replaced by the next one.
func LastDigit(_ Format, n string) string {
	n = strings.TrimSpace(n)
	return nextDigit(n, strings.LastIndexAny(n, "0123456789"))
}

// ChangeDigit returns n, normalized, with the digit fromEnd places from its
// end (1 is the last) replaced by the next one.
func ChangeDigit(n string, fromEnd int) string {
	n = tracking.NormalizeTrackingNumber(n)
	return nextDigit(n, len(n)-fromEnd)
}

// nextDigit returns n with its digit at i replaced by the next one, 9 by 0.
func nextDigit(n string, i int) string {
	return n[:i] + string('0'+(n[i]-'0'+1)%10) + n[i+1:]
}

// AddSeeds adds every test number, valid and invalid, of the courier files
// to f's seed corpus, file by file and format by format.
func AddSeeds(f *testing.F, files ...string) {
	f.Helper()
	for _, file := range files {
		for _, tf := range LoadVectors(f, file).Formats {
			for _, n := range append(tf.TestNumbers.Valid, tf.TestNumbers.Invalid...) {
				f.Add(n)
			}
		}
	}
}

// CheckAnyInput fails t unless detect scores n, whatever it is, within
// 0..1, and the same with spaces and dashes around it: what a fuzz target
// asks of every input.
func CheckAnyInput(t *testing.T, detect func(string) float64, n string) {
	t.Helper()
	got := detect(n)
	if !(got >= 0 && got <= 1) {
		t.Fatalf("Detect(%q) = %v, outside 0..1", n, got)
	}
	if again := detect(" -" + n + "\t"); again != got {
		t.Fatalf("Detect(%q) = %v but %v with spaces and dashes around it", n, got, again)
	}
}
