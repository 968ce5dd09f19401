package aftership

import (
	"errors"
	"sort"
	"testing"

	"github.com/trackd/trackd/tracking"
)

// documentedTags are the nine tags of AfterShip's "Delivery Statuses"
// page, with the status trackd gives each.
var documentedTags = map[string]tracking.Status{
	"Pending":            tracking.StatusPending,
	"InfoReceived":       tracking.StatusInfoReceived,
	"InTransit":          tracking.StatusInTransit,
	"OutForDelivery":     tracking.StatusOutForDelivery,
	"AttemptFail":        tracking.StatusFailedAttempt,
	"AvailableForPickup": tracking.StatusAvailableForPickup,
	"Delivered":          tracking.StatusDelivered,
	"Exception":          tracking.StatusException,
	"Expired":            tracking.StatusExpired,
}

// documentedSubtags are the subtags of AfterShip's "Delivery Sub-statuses"
// page (2026-07) and its help-centre list of the sub-statuses added on
// 2026-03-27, plus OutForDelivery_002 of the older lists, each with the
// status trackd must give it. It is written out here, apart from the
// table, so that a change to either is a reviewed decision.
var documentedSubtags = map[string]tracking.Status{
	"Pending_001": tracking.StatusPending,
	"Pending_002": tracking.StatusPending,
	"Pending_003": tracking.StatusPending,
	"Pending_004": tracking.StatusPending,
	"Pending_005": tracking.StatusPending,
	"Pending_006": tracking.StatusPending,

	"InfoReceived_001": tracking.StatusInfoReceived,

	"InTransit_001": tracking.StatusInTransit,
	"InTransit_002": tracking.StatusInTransit,
	"InTransit_003": tracking.StatusInTransit,
	"InTransit_004": tracking.StatusInTransit,
	"InTransit_005": tracking.StatusInTransit,
	"InTransit_006": tracking.StatusInTransit,
	"InTransit_007": tracking.StatusInTransit,
	"InTransit_008": tracking.StatusInTransit,
	"InTransit_009": tracking.StatusInTransit,

	"OutForDelivery_001": tracking.StatusOutForDelivery,
	"OutForDelivery_002": tracking.StatusAvailableForPickup,
	"OutForDelivery_003": tracking.StatusOutForDelivery,
	"OutForDelivery_004": tracking.StatusOutForDelivery,

	"AttemptFail_001": tracking.StatusFailedAttempt,
	"AttemptFail_002": tracking.StatusFailedAttempt,
	"AttemptFail_003": tracking.StatusFailedAttempt,

	"AvailableForPickup_001": tracking.StatusAvailableForPickup,

	"Delivered_001": tracking.StatusDelivered,
	"Delivered_002": tracking.StatusDelivered,
	"Delivered_003": tracking.StatusDelivered,
	"Delivered_004": tracking.StatusDelivered,
	"Delivered_005": tracking.StatusDelivered,

	"Exception_001": tracking.StatusException,
	"Exception_002": tracking.StatusException,
	"Exception_003": tracking.StatusException,
	"Exception_004": tracking.StatusException,
	"Exception_005": tracking.StatusException,
	"Exception_006": tracking.StatusException,
	"Exception_007": tracking.StatusException,
	"Exception_008": tracking.StatusException,
	"Exception_009": tracking.StatusException,
	"Exception_010": tracking.StatusReturning,
	"Exception_011": tracking.StatusReturned,
	"Exception_012": tracking.StatusException,
	"Exception_013": tracking.StatusException,
	"Exception_016": tracking.StatusException,
	"Exception_017": tracking.StatusException,
	"Exception_018": tracking.StatusException,
	"Exception_019": tracking.StatusException,
	"Exception_020": tracking.StatusException,
	"Exception_021": tracking.StatusException,

	"Expired_001": tracking.StatusExpired,
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestStatusOf_DocumentedTags(t *testing.T) {
	for _, tag := range sortedKeys(documentedTags) {
		t.Run(tag, func(t *testing.T) {
			got, err := StatusOf(tag, "")
			if err != nil {
				t.Fatalf("StatusOf(%q) = %v", tag, err)
			}
			if !got.Valid() || got != documentedTags[tag] {
				t.Errorf("StatusOf(%q) = %q, want %q", tag, got, documentedTags[tag])
			}
		})
	}
}

func TestStatusOf_DocumentedSubtags(t *testing.T) {
	for _, subtag := range sortedKeys(documentedSubtags) {
		t.Run(subtag, func(t *testing.T) {
			want := documentedSubtags[subtag]
			tag := subtag[:len(subtag)-4]
			for _, in := range [][2]string{{tag, subtag}, {"", subtag}, {" " + tag + " ", subtag + "\t"}} {
				got, err := StatusOf(in[0], in[1])
				if err != nil {
					t.Fatalf("StatusOf(%q, %q) = %v", in[0], in[1], err)
				}
				if !got.Valid() || got != want {
					t.Errorf("StatusOf(%q, %q) = %q, want %q", in[0], in[1], got, want)
				}
			}
		})
	}
}

func TestStatusTables_MatchTheDocumentation(t *testing.T) {
	for _, tag := range sortedKeys(tagStatuses) {
		if _, ok := documentedTags[tag]; !ok {
			t.Errorf("tagStatuses has %q, which AfterShip does not document", tag)
		}
		if !tagStatuses[tag].Valid() {
			t.Errorf("tagStatuses[%q] = %q is not a trackd status", tag, tagStatuses[tag])
		}
	}
	if len(tagStatuses) != len(documentedTags) {
		t.Errorf("tagStatuses has %d tags, AfterShip documents %d", len(tagStatuses), len(documentedTags))
	}
	for _, subtag := range sortedKeys(subtagStatuses) {
		if _, ok := documentedSubtags[subtag]; !ok {
			t.Errorf("subtagStatuses has %q, which AfterShip does not document", subtag)
		}
		if !subtagStatuses[subtag].Valid() {
			t.Errorf("subtagStatuses[%q] = %q is not a trackd status", subtag, subtagStatuses[subtag])
		}
	}
	for _, subtag := range sortedKeys(documentedSubtags) {
		if _, ok := subtagStatuses[subtag]; !ok {
			t.Errorf("documented subtag %q is missing from subtagStatuses", subtag)
		}
		tag := subtag[:len(subtag)-4]
		if _, ok := documentedTags[tag]; !ok {
			t.Errorf("documented subtag %q belongs to no documented tag", subtag)
		}
	}
	// Every trackd status but the ones AfterShip has no notion of is reached.
	reached := map[tracking.Status]bool{}
	for _, s := range subtagStatuses {
		reached[s] = true
	}
	for _, s := range tracking.Statuses() {
		if !reached[s] {
			t.Errorf("no AfterShip subtag maps to %q", s)
		}
	}
}

func TestStatusOf_UnknownSubtagTakesItsTagStatus(t *testing.T) {
	tests := []struct {
		tag, subtag string
		want        tracking.Status
	}{
		{"Exception", "Exception_099", tracking.StatusException},
		{"InTransit", "InTransit_010", tracking.StatusInTransit},
		{"Delivered", "Delivered_006", tracking.StatusDelivered},
		{"", "AttemptFail_004", tracking.StatusFailedAttempt},
		{"AvailableForPickup", "AvailableForPickup", tracking.StatusAvailableForPickup},
	}
	for _, tt := range tests {
		t.Run(tt.subtag, func(t *testing.T) {
			got, err := StatusOf(tt.tag, tt.subtag)
			if err != nil || got != tt.want {
				t.Errorf("StatusOf(%q, %q) = %q, %v; want %q", tt.tag, tt.subtag, got, err, tt.want)
			}
		})
	}
}

func TestStatusOf_Refusals(t *testing.T) {
	tests := []struct {
		name, tag, subtag string
		unknownTag        bool
	}{
		{"nothing", "", "", false},
		{"blank", " ", "\t", false},
		{"unknown tag", "Lost", "", true},
		{"unknown tag with its subtag", "Returned", "Returned_001", true},
		{"subtag alone of an unknown tag", "", "Returned_001", true},
		{"tag in lower case", "delivered", "", true},
		{"trackd status, not an AfterShip tag", "in_transit", "", true},
		{"subtag of another tag", "Delivered", "InTransit_001", false},
		{"subtag without the tag's prefix", "Exception", "013", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := StatusOf(tt.tag, tt.subtag)
			if err == nil {
				t.Fatalf("StatusOf(%q, %q) = %q, want an error", tt.tag, tt.subtag, got)
			}
			if errors.Is(err, ErrUnknownTag) != tt.unknownTag {
				t.Errorf("StatusOf(%q, %q) error %v: wraps ErrUnknownTag = %v, want %v", tt.tag, tt.subtag, err, !tt.unknownTag, tt.unknownTag)
			}
		})
	}
}
