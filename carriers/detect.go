package carriers

import (
	"math"
	"sort"
)

// Candidate is a carrier a tracking number may belong to, with how sure
// its detector is: 0 (not its format) to 1.
type Candidate struct {
	Carrier    string  `json:"carrier"`
	Confidence float64 `json:"confidence"`
}

// DetectorFunc lets a plain function, such as ups.Detect, be a Detector.
type DetectorFunc func(trackingNumber string) float64

// Detect calls f.
func (f DetectorFunc) Detect(trackingNumber string) float64 { return f(trackingNumber) }

// Candidates asks every detector, keyed by carrier slug, about number and
// returns the carriers that claim it at all (confidence above 0), best
// first, ties by slug. Confidences are clamped to 0..1; a detector that
// answers NaN claims nothing. The result is never nil, so it encodes as [].
func Candidates(number string, detectors map[string]Detector) []Candidate {
	out := make([]Candidate, 0, len(detectors))
	for slug, d := range detectors {
		if d == nil {
			continue
		}
		c := d.Detect(number)
		if math.IsNaN(c) || c <= 0 {
			continue
		}
		out = append(out, Candidate{Carrier: slug, Confidence: min(c, 1)})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Confidence != out[j].Confidence {
			return out[i].Confidence > out[j].Confidence
		}
		return out[i].Carrier < out[j].Carrier
	})
	return out
}
