package fedex

import (
	"strings"

	"github.com/trackd/trackd/tracking"
)

// FedEx classifies each scan twice: eventType, the scan's own code from
// FedEx's "Tracking Status Codes" table (testdata/Tracking-Status-Codes.html,
// as FedEx's developer portal publishes it), and derivedStatusCode, FedEx's
// coarser reading of it, from the same vocabulary plus a few codes of its
// own (IN, RL). The eventType is the precise one (an out-for-delivery scan
// is OD with derivedStatusCode IT, a ready-for-pickup scan HP with IT), so
// it decides; the derived code decides only for an eventType this table
// does not know; a scan neither table knows is taken as in transit, the
// state of a parcel FedEx is scanning, with its codes kept on the event.

// scanStatuses maps every code of FedEx's table. The table has two columns
// and three sections: movement codes, regulatory codes and possession
// codes. Where a code appears twice (CA, RC, EA, SP), the movement meaning
// is the one an eventType has.
var scanStatuses = map[string]tracking.Status{
	// Before FedEx has the parcel: the shipper has a label, or FedEx is
	// on its way to collect.
	"OC": tracking.StatusInfoReceived, // Order Created (label created)
	"AP": tracking.StatusInfoReceived, // At Pickup
	"EP": tracking.StatusInfoReceived, // Enroute to Pickup
	"DS": tracking.StatusInfoReceived, // Vehicle Dispatched (to collect)
	"DR": tracking.StatusInfoReceived, // Vehicle furnished but not used: nothing was collected
	// Return labels are sent before the parcel moves.
	"RP": tracking.StatusInfoReceived, // Return label link emailed to return sender
	"RG": tracking.StatusInfoReceived, // Return label link expiring soon

	// In FedEx's hands and moving.
	"PU": tracking.StatusInTransit, // Picked Up
	"PX": tracking.StatusInTransit, // Picked up (see Details)
	"AA": tracking.StatusInTransit, // At Airport
	"AC": tracking.StatusInTransit, // At Canada Post facility
	"AF": tracking.StatusInTransit, // At local FedEx Facility
	"AO": tracking.StatusInTransit, // Shipment arriving On-time
	"AR": tracking.StatusInTransit, // Arrived at FedEx location
	"AX": tracking.StatusInTransit, // At USPS facility
	"CH": tracking.StatusInTransit, // Location Changed
	"DP": tracking.StatusInTransit, // Departed
	"EA": tracking.StatusInTransit, // Enroute to Airport; Export Approved
	"EO": tracking.StatusInTransit, // Enroute to Origin Airport
	// Enroute to Delivery: for a direct-drive (Custom Critical) load this
	// can last days, so it is not yet "out for delivery".
	"ED": tracking.StatusInTransit,
	"FD": tracking.StatusInTransit, // At FedEx Destination
	"IT": tracking.StatusInTransit, // In Transit
	"IX": tracking.StatusInTransit, // In transit (see Details)
	"LO": tracking.StatusInTransit, // Left Origin
	"OF": tracking.StatusInTransit, // At FedEx origin facility
	"OW": tracking.StatusInTransit, // On the way (the table writes "Ow")
	"OX": tracking.StatusInTransit, // Shipment information sent to USPS, for the last mile
	"PF": tracking.StatusInTransit, // Plane in Flight
	"PL": tracking.StatusInTransit, // Plane Landed
	"PM": tracking.StatusInTransit, // In Progress
	"SF": tracking.StatusInTransit, // At Sort Facility
	"SP": tracking.StatusInTransit, // Split Status: pieces of one shipment moving apart
	"TR": tracking.StatusInTransit, // Transfer
	// Custom delivery options (CDO) the recipient requested, changed or
	// cancelled change the plan, not where the parcel is.
	"RR": tracking.StatusInTransit, // CDO requested
	"RM": tracking.StatusInTransit, // CDO Modified
	"RC": tracking.StatusInTransit, // CDO Cancelled (also possession: Recipient)
	// Regulatory.
	"CC": tracking.StatusInTransit, // Cleared Customs
	"CP": tracking.StatusInTransit, // Clearance in Progress
	// Possession codes: who holds the parcel. SH is the shipper, before
	// FedEx has it; the others are on the way.
	"SH": tracking.StatusInfoReceived, // Shipper
	"CU": tracking.StatusInTransit,    // Customs
	"BR": tracking.StatusInTransit,    // Broker
	"TP": tracking.StatusInTransit,    // Transfer Partner

	"OD": tracking.StatusOutForDelivery, // Out for Delivery
	"AD": tracking.StatusOutForDelivery, // At Delivery: at the door, not yet handed over

	"HL": tracking.StatusAvailableForPickup, // Hold at Location
	"HP": tracking.StatusAvailableForPickup, // Ready for Recipient Pickup

	"DL": tracking.StatusDelivered, // Delivered

	// Delivery Exception: a failed attempt or a problem, by its reason;
	// see deliveryException. This is the status of a reason it does not
	// know.
	"DE": tracking.StatusException,
	"SE": tracking.StatusException, // Shipment Exception
	"CA": tracking.StatusException, // Shipment Cancelled (also possession: Carrier)
	"LP": tracking.StatusException, // Return label link cancelled by shipment originator
	// Delays: FedEx reports them as a problem with the schedule, as trackd's
	// other sources do; the next movement scan puts the shipment back in
	// transit.
	"DD": tracking.StatusException, // Delivery Delay
	"DY": tracking.StatusException, // Delay
	"PD": tracking.StatusException, // Pickup Delay
	"CD": tracking.StatusException, // Clearance Delay

	"RS": tracking.StatusReturning, // Return to Shipper

	// Return label link expired: the return it was for will not happen.
	"RD": tracking.StatusExpired,
}

// derivedStatuses maps the derivedStatusCode values that are not scan
// codes. FedEx documents derivedCode by example only ("PU, DE, DP, HL,
// OC"); the rest of its values are scan codes, read by scanStatuses.
var derivedStatuses = map[string]tracking.Status{
	// Initiated: "Shipment information sent to FedEx", a label created
	// (derived from OC).
	"IN": tracking.StatusInfoReceived,
	// Running Late: in transit behind schedule. trackd tells lateness from
	// the estimated delivery itself.
	"RL": tracking.StatusInTransit,
}

// fallbackStatus is the status of a scan neither table knows.
const fallbackStatus = tracking.StatusInTransit

// deliveryExceptionReasons maps the exceptionCode of a DE scan to what
// happened: the recipient could not be reached (a failed attempt, retried
// or redirected), or something else that stops delivery. The codes are
// the ones FedEx's documentation and published answers show (15 in the
// Track API's own example, 08 and A47 in recorded answers).
var deliveryExceptionReasons = map[string]tracking.Status{
	"08":  tracking.StatusFailedAttempt, // Customer not available or business closed
	"15":  tracking.StatusFailedAttempt, // Customer not available or business closed
	"A47": tracking.StatusFailedAttempt, // FedEx redirected your package to a nearby FedEx location (after an attempt)
}

// deliveryExceptionPhrases reads the exceptionDescription of a DE scan
// whose code is not in deliveryExceptionReasons, in order: the first
// phrase found decides. "not attempted" comes first because it contains
// "attempt" and says the opposite.
var deliveryExceptionPhrases = []struct {
	phrase string
	status tracking.Status
}{
	{"not attempted", tracking.StatusException},
	{"customer not available", tracking.StatusFailedAttempt},
	{"recipient not available", tracking.StatusFailedAttempt},
	{"business closed", tracking.StatusFailedAttempt},
	{"no one available", tracking.StatusFailedAttempt},
	{"delivery attempted", tracking.StatusFailedAttempt},
	{"attempted delivery", tracking.StatusFailedAttempt},
	{"redirected", tracking.StatusFailedAttempt},
}

// StatusOf returns trackd's status for a scan: its eventType, else its
// derivedStatusCode, else in transit. A delivery exception (DE) is read
// with its exception code and description: see deliveryException. Codes
// are matched without regard to case or surrounding space.
func StatusOf(eventType, derivedCode, exceptionCode, exceptionDescription string) tracking.Status {
	code, st, ok := lookup(eventType, derivedCode)
	if !ok {
		return fallbackStatus
	}
	if code == "DE" {
		return deliveryException(exceptionCode, exceptionDescription)
	}
	return st
}

// lookup finds the code that decides a scan's status and that status.
func lookup(eventType, derivedCode string) (string, tracking.Status, bool) {
	if c := normCode(eventType); c != "" {
		if st, ok := scanStatuses[c]; ok {
			return c, st, true
		}
	}
	c := normCode(derivedCode)
	if st, ok := derivedStatuses[c]; ok {
		return c, st, true
	}
	st, ok := scanStatuses[c]
	return c, st, ok
}

// deliveryException is the status of a DE scan: a failed attempt when its
// reason says delivery was tried and the recipient could not take it,
// otherwise an exception (a wrong address, a refusal, damage, a local
// restriction that stopped the attempt).
func deliveryException(code, description string) tracking.Status {
	if st, ok := deliveryExceptionReasons[normCode(code)]; ok {
		return st
	}
	d := strings.ToLower(description)
	for _, p := range deliveryExceptionPhrases {
		if strings.Contains(d, p.phrase) {
			return p.status
		}
	}
	return scanStatuses["DE"]
}

func normCode(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }
