package carriers

import (
	"math"
	"reflect"
	"testing"
)

func TestCandidates_BestFirstTiesBySlugOnlyClaims(t *testing.T) {
	fixed := func(c float64) Detector { return DetectorFunc(func(string) float64 { return c }) }
	tests := []struct {
		name      string
		detectors map[string]Detector
		want      []Candidate
	}{
		{"none", nil, []Candidate{}},
		{"nobody claims it", map[string]Detector{"ups": fixed(0), "dhl": fixed(0)}, []Candidate{}},
		{"best first", map[string]Detector{"usps": fixed(0.5), "fedex": fixed(0.95), "dhl": fixed(0.1)},
			[]Candidate{{"fedex", 0.95}, {"usps", 0.5}, {"dhl", 0.1}}},
		{"ties by slug", map[string]Detector{"usps": fixed(0.9), "fedex": fixed(0.9), "dhl": fixed(0.9)},
			[]Candidate{{"dhl", 0.9}, {"fedex", 0.9}, {"usps", 0.9}}},
		{"out of range and NaN", map[string]Detector{"a": fixed(1.5), "b": fixed(-1), "c": fixed(math.NaN()), "d": nil},
			[]Candidate{{"a", 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Candidates("1Z999AA10123456784", tt.detectors)
			if got == nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Candidates = %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestCandidates_PassesTheNumberAsGiven(t *testing.T) {
	var seen string
	Candidates("1z 999", map[string]Detector{"ups": DetectorFunc(func(n string) float64 { seen = n; return 0 })})
	if seen != "1z 999" {
		t.Errorf("detector saw %q, want the number as given: each detector normalizes for itself", seen)
	}
}
