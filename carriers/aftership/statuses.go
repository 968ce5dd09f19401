package aftership

import (
	"errors"
	"fmt"
	"strings"

	"github.com/trackd/trackd/tracking"
)

// AfterShip classifies every checkpoint, and every tracking, with a tag
// (its "delivery status") and a subtag ("delivery sub-status", written
// <Tag>_<NNN>). The tables below map both onto trackd's statuses.
//
// Sources, read 2026: https://www.aftership.com/docs/tracking/enum/delivery-statuses
// (the nine tags), https://www.aftership.com/docs/tracking/2026-07/enum/delivery-sub-statuses
// (the subtags) and AfterShip's help-centre article "Learn About Delivery
// Sub-Status" (Exception_016 to Exception_021, in use from 2026-03-27).
// Legacy v4 and the dated API versions share the taxonomy.

// ErrUnknownTag is wrapped by the error for a tag, or a subtag's tag, that
// AfterShip does not document: such a payload goes to the dead letters
// rather than being guessed at.
var ErrUnknownTag = errors.New("unknown AfterShip tag")

// tagStatuses maps AfterShip's nine tags. A subtag AfterShip adds after
// this table was written takes its tag's status.
var tagStatuses = map[string]tracking.Status{
	"Pending":            tracking.StatusPending,            // added, nothing from the carrier yet
	"InfoReceived":       tracking.StatusInfoReceived,       // carrier has the shipper's request
	"InTransit":          tracking.StatusInTransit,          // accepted or picked up, on the way
	"OutForDelivery":     tracking.StatusOutForDelivery,     // about to be delivered
	"AttemptFail":        tracking.StatusFailedAttempt,      // attempted, not delivered; usually tried again
	"AvailableForPickup": tracking.StatusAvailableForPickup, // at a pickup point
	"Delivered":          tracking.StatusDelivered,          // delivered
	"Exception":          tracking.StatusException,          // held, undeliverable, returned, lost...
	"Expired":            tracking.StatusExpired,            // no information for 30 days; AfterShip stopped
}

// subtagStatuses maps every documented subtag. Most take their tag's
// status; the ones that do not say why.
var subtagStatuses = map[string]tracking.Status{
	// Pending: no information yet, for one reason or another (002: the
	// carrier account is not connected).
	"Pending_001": tracking.StatusPending,
	"Pending_002": tracking.StatusPending,
	"Pending_003": tracking.StatusPending,
	"Pending_004": tracking.StatusPending,
	"Pending_005": tracking.StatusPending,
	"Pending_006": tracking.StatusPending,

	"InfoReceived_001": tracking.StatusInfoReceived, // carrier received the shipper's request, about to pick up

	"InTransit_001": tracking.StatusInTransit, // on the way
	"InTransit_002": tracking.StatusInTransit, // acceptance scan
	"InTransit_003": tracking.StatusInTransit, // arrival scan at a hub or sorting centre
	"InTransit_004": tracking.StatusInTransit, // arrived at the destination country
	"InTransit_005": tracking.StatusInTransit, // customs clearance completed
	"InTransit_006": tracking.StatusInTransit, // handed over to customs
	"InTransit_007": tracking.StatusInTransit, // departure scan
	"InTransit_008": tracking.StatusInTransit, // problem resolved, moving again
	"InTransit_009": tracking.StatusInTransit, // forwarded to a different delivery address

	"OutForDelivery_001": tracking.StatusOutForDelivery, // out for delivery
	// OutForDelivery_002 was "available for pickup" before AfterShip gave
	// that its own tag (AvailableForPickup_001); old trackings still carry it.
	"OutForDelivery_002": tracking.StatusAvailableForPickup,
	"OutForDelivery_003": tracking.StatusOutForDelivery, // customer contacted before the final delivery
	"OutForDelivery_004": tracking.StatusOutForDelivery, // delivery appointment scheduled

	"AttemptFail_001": tracking.StatusFailedAttempt, // failed attempt, notice left
	"AttemptFail_002": tracking.StatusFailedAttempt, // addressee not available
	"AttemptFail_003": tracking.StatusFailedAttempt, // business closed

	"AvailableForPickup_001": tracking.StatusAvailableForPickup, // at a pickup point near the recipient

	"Delivered_001": tracking.StatusDelivered, // delivered
	"Delivered_002": tracking.StatusDelivered, // picked up by the customer
	"Delivered_003": tracking.StatusDelivered, // signed for by the customer
	"Delivered_004": tracking.StatusDelivered, // delivered, cash on delivery collected
	"Delivered_005": tracking.StatusDelivered, // delivered to a neighbour

	"Exception_001": tracking.StatusException, // shipping exception
	"Exception_002": tracking.StatusException, // customer moved
	"Exception_003": tracking.StatusException, // customer refused delivery
	"Exception_004": tracking.StatusException, // delayed: customs clearance
	"Exception_005": tracking.StatusException, // delayed: external factors
	"Exception_006": tracking.StatusException, // held for payment
	"Exception_007": tracking.StatusException, // incorrect address
	"Exception_008": tracking.StatusException, // pickup missed: not collected in time
	"Exception_009": tracking.StatusException, // rejected by the carrier
	// The two return subtags are the reason trackd has its own return
	// statuses: a parcel on its way back is not a plain exception, and
	// one back at the sender is finished.
	"Exception_010": tracking.StatusReturning, // returning to sender
	"Exception_011": tracking.StatusReturned,  // returned to sender
	"Exception_012": tracking.StatusException, // damaged
	"Exception_013": tracking.StatusException, // lost
	"Exception_016": tracking.StatusException, // delayed: processing issue in the carrier's network
	"Exception_017": tracking.StatusException, // delayed: extreme weather
	"Exception_018": tracking.StatusException, // held: incorrect or missing documents
	"Exception_019": tracking.StatusException, // delayed: late flight
	"Exception_020": tracking.StatusException, // cancelled by the sender or carrier
	"Exception_021": tracking.StatusException, // disposed of (prohibited, damaged, unclaimable)

	"Expired_001": tracking.StatusExpired, // no tracking information for 30 days
}

// StatusOf returns trackd's status for an AfterShip tag and subtag. subtag
// may be empty; tag may be empty when subtag names it ("InTransit_007").
// A subtag must belong to its tag. A subtag this table does not know, of a
// tag it knows, takes the tag's status: AfterShip adds subtags now and then
// (six in 2026) and a new kind of delay is still a delay. A tag it does not
// know is an error wrapping ErrUnknownTag.
func StatusOf(tag, subtag string) (tracking.Status, error) {
	tag, subtag = strings.TrimSpace(tag), strings.TrimSpace(subtag)
	prefix, _, _ := strings.Cut(subtag, "_")
	switch {
	case tag == "" && subtag == "":
		return "", errors.New("no tag")
	case tag == "":
		tag = prefix
	case subtag != "" && prefix != tag:
		return "", fmt.Errorf("subtag %q does not belong to tag %q", subtag, tag)
	}
	st, ok := tagStatuses[tag]
	if !ok {
		return "", fmt.Errorf("%w %q", ErrUnknownTag, tag)
	}
	if s, ok := subtagStatuses[subtag]; ok {
		return s, nil
	}
	return st, nil
}
