package ups

import (
	"fmt"
	"html"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/trackd/trackd/tracking"
)

// documentedTable reads a two-column table of UPS's developer portal
// (testdata/*.html) as code → text.
func documentedTable(t *testing.T, file string) map[string]string {
	t.Helper()
	cells := regexp.MustCompile(`(?s)<td>(.*?)</td`).FindAllStringSubmatch(string(readTestdata(t, file)), -1)
	if len(cells) == 0 || len(cells)%2 != 0 {
		t.Fatalf("%s: %d cells, not a two-column table", file, len(cells))
	}
	out := map[string]string{}
	for i := 0; i < len(cells); i += 2 {
		out[strings.TrimSpace(cells[i][1])] = html.UnescapeString(strings.TrimSpace(cells[i+1][1]))
	}
	return out
}

func TestDescriptionTable_IsUPSsTable(t *testing.T) {
	doc := documentedTable(t, "Tracking-status-description-codes.html")
	if len(doc) != 160 {
		t.Fatalf("the documentation lists %d codes, this test expects 160", len(doc))
	}
	for code, text := range doc {
		n, err := strconv.Atoi(code)
		if err != nil {
			t.Fatalf("documented code %q is not a number", code)
		}
		r, ok := descriptionStatus[n]
		switch {
		case !ok:
			t.Errorf("code %d (%q) is not in descriptionStatus", n, text)
		case r.text != text:
			t.Errorf("code %d: text %q, UPS writes %q", n, r.text, text)
		case !r.status.Valid():
			t.Errorf("code %d: status %q is not a trackd status", n, r.status)
		}
	}
	for n := range descriptionStatus {
		if _, ok := doc[strconv.Itoa(n)]; !ok {
			t.Errorf("descriptionStatus has code %d, which UPS does not document", n)
		}
	}
}

func TestTypeTable_CoversUPSsTypes(t *testing.T) {
	doc := documentedTable(t, "Tracking-package-activity-types.html")
	// The documentation's list, and the XML Tracking API's types answers
	// still carry.
	want := []string{"D", "I", "M", "MV", "X", "DO", "DD", "W", "NA", "U", "P", "O", "RS"}
	for code := range doc {
		if !slices.Contains(want, code) {
			t.Errorf("UPS documents type %q (%s), which this test does not know", code, doc[code])
		}
	}
	for _, typ := range want {
		_, mapped := typeStatus[typ]
		if mapped == noEventTypes[typ] {
			t.Errorf("type %q: in typeStatus %v, in noEventTypes %v; want exactly one", typ, mapped, noEventTypes[typ])
		}
	}
	if len(typeStatus)+len(noEventTypes) != len(want) {
		t.Errorf("typeStatus and noEventTypes hold %d types, want %d", len(typeStatus)+len(noEventTypes), len(want))
	}
}

func TestStatusOf_Types(t *testing.T) {
	tests := []struct {
		typ  string
		want tracking.Status
		ok   bool
	}{
		{"M", tracking.StatusInfoReceived, true},
		{"MV", tracking.StatusException, true},
		{"P", tracking.StatusInTransit, true},
		{"I", tracking.StatusInTransit, true},
		{"O", tracking.StatusOutForDelivery, true},
		{"X", tracking.StatusException, true},
		{"D", tracking.StatusDelivered, true},
		{"RS", tracking.StatusReturning, true},
		{"DO", tracking.StatusInTransit, true},
		{"DD", tracking.StatusInTransit, true},
		{"W", tracking.StatusInTransit, true},
		{"U", "", false},
		{"NA", "", false},
		{" d ", tracking.StatusDelivered, true},
		{"mv", tracking.StatusException, true},
		{"ZZ", fallbackStatus, true},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			got, ok := StatusOf(tt.typ, "", "")
			if got != tt.want || ok != tt.ok {
				t.Errorf("StatusOf(%q) = %q, %v; want %q, %v", tt.typ, got, ok, tt.want, tt.ok)
			}
		})
	}
}

// The description codes by what they say, written out again here from
// UPS's table so that a slip in descriptionStatus cannot hide. overriding
// codes win over the activity type; the others give way to it.
var (
	overriding = map[tracking.Status][]int{
		tracking.StatusOutForDelivery:     {6, 21, 37, 72, 78, 89, 91, 146, 162},
		tracking.StatusDelivered:          {11, 26, 143},
		tracking.StatusFailedAttempt:      {22, 23, 24, 60, 61, 62, 66, 69, 145},
		tracking.StatusAvailableForPickup: {17, 40, 144, 161},
		tracking.StatusReturned:           {34, 67, 81},
		tracking.StatusReturning:          {35, 36},
		tracking.StatusException: {7, 13, 29, 30, 49, 50, 58, 59, 64, 68, 76, 93, 124, 125, 129, 130,
			139, 140, 141, 147, 149},
		tracking.StatusInTransit: {14, 32, 38, 51, 52, 53, 57, 84, 94, 132, 134, 160, 167, 168, 169},
	}
	deferring = map[tracking.Status][]int{
		tracking.StatusInfoReceived: {3, 43, 65, 77, 79, 80, 131, 133, 135, 157, 166},
		tracking.StatusInTransit: {0, 5, 10, 12, 16, 18, 19, 20, 25, 27, 28, 33, 39, 41, 42, 44, 45, 46, 47,
			48, 54, 55, 56, 63, 70, 71, 73, 74, 75, 82, 86, 87, 88, 90, 92, 95, 96, 97, 98, 99, 100, 101,
			102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114, 115, 116, 117, 119, 120, 121,
			122, 123, 126, 127, 128, 136, 137, 138, 142, 148, 153, 154, 158, 159, 163, 164, 165},
		tracking.StatusException: {83, 85},
		tracking.StatusReturning: {118},
		tracking.StatusDelivered: {155, 156},
	}
)

func TestStatusOf_EveryDocumentedDescriptionCode(t *testing.T) {
	seen := map[int]bool{}
	check := func(groups map[tracking.Status][]int, overrides bool) {
		for st, codes := range groups {
			for _, n := range codes {
				if seen[n] {
					t.Errorf("code %d is listed twice in this test", n)
				}
				seen[n] = true
				padded := fmt.Sprintf("%03d", n)
				t.Run(padded, func(t *testing.T) {
					// Alone, and with a type that is unknown: the code's own status.
					for _, typ := range []string{"", "ZZ"} {
						if got, ok := StatusOf(typ, "", padded); got != st || !ok {
							t.Errorf("StatusOf(%q, %q) = %q, %v; want %q", typ, padded, got, ok, st)
						}
					}
					// Unpadded, as the documentation writes it.
					if got, _ := StatusOf("", "", strconv.Itoa(n)); got != st {
						t.Errorf("StatusOf(%q) = %q; want %q", strconv.Itoa(n), got, st)
					}
					// Beside I, X and D: its own status if it overrides,
					// the type's otherwise.
					for _, typ := range []string{"I", "X", "D"} {
						want := typeStatus[typ]
						if overrides {
							want = st
						}
						if got, ok := StatusOf(typ, "", padded); got != want || !ok {
							t.Errorf("StatusOf(%q, %q) = %q, %v; want %q", typ, padded, got, ok, want)
						}
					}
					// Manifest types stand whatever the code; U and NA give
					// no event.
					if got, _ := StatusOf("M", "", padded); got != tracking.StatusInfoReceived {
						t.Errorf("StatusOf(M, %q) = %q", padded, got)
					}
					if got, _ := StatusOf("MV", "", padded); got != tracking.StatusException {
						t.Errorf("StatusOf(MV, %q) = %q", padded, got)
					}
					for _, typ := range []string{"U", "NA"} {
						if got, ok := StatusOf(typ, "", padded); ok {
							t.Errorf("StatusOf(%q, %q) = %q, want no event", typ, padded, got)
						}
					}
				})
			}
		}
	}
	check(overriding, true)
	check(deferring, false)
	if len(seen) != len(descriptionStatus) {
		t.Errorf("this test lists %d codes, descriptionStatus %d", len(seen), len(descriptionStatus))
	}
}

func TestStatusOf_Activities(t *testing.T) {
	tests := []struct {
		name, typ, code, desc string
		want                  tracking.Status
		ok                    bool
	}{
		// UPS's own examples (the fixtures).
		{"manifest", "M", "MP", "003", tracking.StatusInfoReceived, true},
		{"origin scan", "I", "OR", "005", tracking.StatusInTransit, true},
		{"departure scan", "I", "DP", "005", tracking.StatusInTransit, true},
		{"preparing for delivery", "I", "YP", "071", tracking.StatusInTransit, true},
		{"out for delivery", "I", "OT", "021", tracking.StatusOutForDelivery, true},
		{"delivered (Track Alert)", "D", "FS", "011", tracking.StatusDelivered, true},
		{"delivered without description code", "D", "FS", "", tracking.StatusDelivered, true},
		{"delivered (Track API)", "D", "F4", "011", tracking.StatusDelivered, true},
		{"customs release filed as X", "X", "SR", "003", tracking.StatusException, true},
		// I/OT is out for delivery without its description code too.
		{"I/OT alone", "I", "OT", "", tracking.StatusOutForDelivery, true},
		{"I/OT lower case", "i", "ot", "", tracking.StatusOutForDelivery, true},
		{"D/OT", "D", "OT", "", tracking.StatusOutForDelivery, true},
		{"X/OT is still an exception", "X", "OT", "", tracking.StatusException, true},
		// Track Alert files loaded-on-vehicle and out-for-delivery under D.
		{"D loaded on vehicle", "D", "", "072", tracking.StatusOutForDelivery, true},
		{"D out for delivery", "D", "", "021", tracking.StatusOutForDelivery, true},
		{"D at an access point", "D", "", "161", tracking.StatusAvailableForPickup, true},
		// X refined.
		{"X first attempt", "X", "", "022", tracking.StatusFailedAttempt, true},
		{"X returning", "X", "", "035", tracking.StatusReturning, true},
		{"X weather", "X", "", "052", tracking.StatusInTransit, true},
		{"X bare delay", "X", "", "046", tracking.StatusException, true},
		{"I bare delay", "I", "", "046", tracking.StatusInTransit, true},
		// A description code sent as a JSON number, or not a number.
		{"numeric code", "I", "", "21", tracking.StatusOutForDelivery, true},
		{"undocumented code", "I", "", "999", tracking.StatusInTransit, true},
		{"garbage code", "X", "", "0x15", tracking.StatusException, true},
		{"negative code", "", "", "-21", fallbackStatus, true},
		// Unknown everything: a scan all the same.
		{"code only", "", "ZZ", "", fallbackStatus, true},
		{"unknown type", "Q", "ZZ", "", fallbackStatus, true},
		{"nothing at all", "", "", "", "", false},
		{"blanks", " ", " ", " ", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := StatusOf(tt.typ, tt.code, tt.desc)
			if got != tt.want || ok != tt.ok {
				t.Errorf("StatusOf(%q, %q, %q) = %q, %v; want %q, %v", tt.typ, tt.code, tt.desc, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestCarrierStatus(t *testing.T) {
	for _, tt := range []struct{ typ, code, desc, want string }{
		{"I", "OT", "021", "I/OT"}, {" D ", "", "011", "D"}, {"", "OT", "", "OT"}, {"", "", " 021 ", "021"}, {"", "", "", ""},
	} {
		if got := carrierStatus(tt.typ, tt.code, tt.desc); got != tt.want {
			t.Errorf("carrierStatus(%q, %q, %q) = %q, want %q", tt.typ, tt.code, tt.desc, got, tt.want)
		}
	}
}

func TestDescriptionText(t *testing.T) {
	for in, want := range map[string]string{"021": "Out for Delivery", "11": "Delivered", "": "", "999": "", "x": ""} {
		if got := descriptionText(in); got != want {
			t.Errorf("descriptionText(%q) = %q, want %q", in, got, want)
		}
	}
}
