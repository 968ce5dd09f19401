package ups

import (
	"strconv"
	"strings"

	"github.com/trackd/trackd/tracking"
)

// UPS classifies every activity three ways, and both the Track API
// (activity[].status: type, code, statusCode) and Track Alert
// (activityStatus: type, code, descriptionCode) carry all three:
//
//   - the activity type, one or two letters (typeStatus), UPS's coarse
//     bucket: manifest, in progress, exception, delivered;
//   - the activity code, two characters naming the scan ("OT", "FS"),
//     thousands of them and no published list;
//   - the status description code, three digits ("021"), UPS's
//     customer-facing simplified status (descriptionStatus).
//
// The type decides, the description code refines it where it says more
// (an "I" that is out for delivery, an "X" that is a failed attempt), and
// the two-character code is read only where UPS's own examples pin down its
// meaning (outForDeliveryCodes).

// typeStatus maps every activity type UPS documents
// (Tracking-package-activity-types.html, UPSTrackAlert.yaml's
// activityStatus.type) and the older XML Tracking API's P, O and RS, which
// answers still carry, to trackd's statuses. U and NA are absent on
// purpose: see StatusOf.
var typeStatus = map[string]tracking.Status{
	// M: billing (label) information received; UPS does not have the
	// parcel yet.
	"M": tracking.StatusInfoReceived,
	// MV: the label was voided. trackd has no "cancelled": an exception
	// says that the shipment will not move as planned.
	"MV": tracking.StatusException,
	// P: picked up (XML Tracking API).
	"P": tracking.StatusInTransit,
	// I: in transit, including the steps before delivery; its out for
	// delivery activities are told apart by their codes.
	"I": tracking.StatusInTransit,
	// O: out for delivery (XML Tracking API).
	"O": tracking.StatusOutForDelivery,
	// X: something out of the ordinary; the description code says what.
	"X": tracking.StatusException,
	// D: delivered. Track Alert also files "loaded on delivery vehicle"
	// and "out for delivery" under D (UPSTrackAlert.yaml, FAQ), which
	// their description codes give away.
	"D": tracking.StatusDelivered,
	// RS: returned to shipper (XML Tracking API): on its way back.
	"RS": tracking.StatusReturning,
	// DO, DD: freight delivered to the origin or the destination container
	// freight station, a stop on the way, not the consignee.
	"DO": tracking.StatusInTransit,
	"DD": tracking.StatusInTransit,
	// W: in a warehouse (freight).
	"W": tracking.StatusInTransit,
}

// noEventTypes are the activity types that say nothing about where the
// parcel is: U (Track Alert: the scheduled delivery date or time changed,
// or a delivery photo came) and NA ("Not Available"). An event with any
// status would move the shipment's current state, backwards most of the
// time; their news, the new estimate, travels in Update.EstimatedDelivery.
var noEventTypes = map[string]bool{"U": true, "NA": true}

// descriptionRule is what a status description code says.
type descriptionRule struct {
	// text is UPS's Customer Facing Text Description, the message of an
	// event whose own description is empty.
	text   string
	status tracking.Status
	// overrides: the code says more than the activity type and wins over
	// it (out for delivery, delivered, failed attempt, ready for pickup,
	// returned, an exception needing action). Otherwise the type decides,
	// and status is used only when the type is missing or unknown.
	overrides bool
}

// descriptionStatus maps every code of UPS's Status/Description Codes
// table (Tracking-status-description-codes.html), by value: the answers
// zero-pad them to three digits ("021"), the table does not ("21").
var descriptionStatus = map[int]descriptionRule{
	0:  {"Status Not Available", tracking.StatusInTransit, false},
	3:  {"Shipment Ready for UPS", tracking.StatusInfoReceived, false},
	5:  {"On the Way", tracking.StatusInTransit, false},
	6:  {"Out for Delivery", tracking.StatusOutForDelivery, true},
	7:  {"Shipment Information Voided", tracking.StatusException, true},
	10: {"On the Way", tracking.StatusInTransit, false},
	11: {"Delivered", tracking.StatusDelivered, true},
	12: {"Clearance in Progress", tracking.StatusInTransit, false},
	13: {"Exception", tracking.StatusException, true},
	14: {"Clearance Completed", tracking.StatusInTransit, true},
	16: {"In Warehouse", tracking.StatusInTransit, false},
	17: {"Held for Customer Pickup", tracking.StatusAvailableForPickup, true},
	// Requests and changes of plan: the type says where the parcel is.
	18: {"Delivery Change Requested: Hold for Pickup", tracking.StatusInTransit, false},
	19: {"Held for Future Delivery", tracking.StatusInTransit, false},
	20: {"Held for Future Delivery Requested", tracking.StatusInTransit, false},
	21: {"Out for Delivery", tracking.StatusOutForDelivery, true},
	22: {"First Attempt Made", tracking.StatusFailedAttempt, true},
	23: {"Second Delivery Attempted", tracking.StatusFailedAttempt, true},
	24: {"Final Attempt Made", tracking.StatusFailedAttempt, true},
	25: {"On the Way", tracking.StatusInTransit, false},
	26: {"Delivered by Local Post Office", tracking.StatusDelivered, true},
	27: {"Delivery Address Change Requested", tracking.StatusInTransit, false},
	28: {"Delivery Address Changed", tracking.StatusInTransit, false},
	29: {"Exception: Action Required", tracking.StatusException, true},
	30: {"Local Post Office Exception", tracking.StatusException, true},
	// Weather and emergencies delay a parcel that is otherwise fine and
	// moving; nobody can act on it, and trackd's own delay flag tells a
	// late shipment from its estimate.
	32: {"Adverse Weather May Cause Delay", tracking.StatusInTransit, true},
	33: {"Return to Sender Requested", tracking.StatusInTransit, false},
	34: {"Returned to Sender", tracking.StatusReturned, true},
	35: {"Returning to Sender", tracking.StatusReturning, true},
	36: {"Returning to Sender: In Transit", tracking.StatusReturning, true},
	37: {"Out for Delivery", tracking.StatusOutForDelivery, true},
	38: {"Picked Up by UPS", tracking.StatusInTransit, true},
	39: {"On the Way", tracking.StatusInTransit, false},
	40: {"Ready for Customer Pickup", tracking.StatusAvailableForPickup, true},
	41: {"Service Upgrade Requested", tracking.StatusInTransit, false},
	42: {"Service Upgraded", tracking.StatusInTransit, false},
	43: {"Voided Pickup", tracking.StatusInfoReceived, false},
	44: {"On the Way to UPS", tracking.StatusInTransit, false},
	45: {"On the Way to UPS", tracking.StatusInTransit, false},
	// A bare "Delay" is whatever its type says: an X is an exception.
	46: {"Delay", tracking.StatusInTransit, false},
	47: {"On the Way", tracking.StatusInTransit, false},
	48: {"Delay", tracking.StatusInTransit, false},
	49: {"Delay: Action Required", tracking.StatusException, true},
	50: {"Address Information Required", tracking.StatusException, true},
	51: {"Delay: Emergency Situation or Severe Weather", tracking.StatusInTransit, true},
	52: {"Delay: Severe Weather", tracking.StatusInTransit, true},
	53: {"Delay: Severe Weather", tracking.StatusInTransit, true},
	54: {"Delivery Change Requested", tracking.StatusInTransit, false},
	55: {"Rescheduled Delivery", tracking.StatusInTransit, false},
	56: {"Service Upgrade Requested", tracking.StatusInTransit, false},
	57: {"On the Way to a Local UPS Access Point™", tracking.StatusInTransit, true},
	58: {"Clearance Information Required", tracking.StatusException, true},
	59: {"Damage Reported", tracking.StatusException, true},
	60: {"Delivery Attempted", tracking.StatusFailedAttempt, true},
	61: {"Delivery Attempted: Adult Signature Required", tracking.StatusFailedAttempt, true},
	62: {"Delivery Attempted: Funds Required", tracking.StatusFailedAttempt, true},
	63: {"Delivery Change Completed", tracking.StatusInTransit, false},
	// Refused by the receiver: it goes back, but is not on its way yet.
	64: {"Delivery Refused", tracking.StatusException, true},
	65: {"Pickup Attempted", tracking.StatusInfoReceived, false},
	66: {"Post Office Delivery Attempted", tracking.StatusFailedAttempt, true},
	67: {"Returned to Sender by Post Office", tracking.StatusReturned, true},
	68: {"Sent to Lost and Found", tracking.StatusException, true},
	69: {"Unable to Deliver", tracking.StatusFailedAttempt, true},
	70: {"Package not at UPS Access Point™ yet", tracking.StatusInTransit, false},
	71: {"Preparing for Delivery", tracking.StatusInTransit, false},
	// Loaded on the vehicle that delivers it, the same morning.
	72: {"Loaded on Delivery Vehicle", tracking.StatusOutForDelivery, true},
	73: {"In Transit to UPS Delivery Partner", tracking.StatusInTransit, false},
	74: {"UPS Delivery Partner has Shipment", tracking.StatusInTransit, false},
	75: {"Scheduled for Delivery", tracking.StatusInTransit, false},
	76: {"UPS Delivery Partner Exception", tracking.StatusException, true},
	77: {"Scheduled for Pickup Today", tracking.StatusInfoReceived, false},
	78: {"Your Driver is Arriving Soon!", tracking.StatusOutForDelivery, true},
	79: {"Order Processed: In Transit to UPS", tracking.StatusInfoReceived, false},
	80: {"Order Processed: Ready for UPS", tracking.StatusInfoReceived, false},
	81: {"Returned - Damage Reported", tracking.StatusReturned, true},
	82: {"Delivery Instructions Received", tracking.StatusInTransit, false},
	83: {"Held", tracking.StatusException, false},
	84: {"Cleared", tracking.StatusInTransit, true},
	85: {"Held for COD Payment", tracking.StatusException, false},
	86: {"Delay", tracking.StatusInTransit, false},
	87: {"On the Way", tracking.StatusInTransit, false},
	88: {"Test", tracking.StatusInTransit, false},
	89: {"Out for Delivery", tracking.StatusOutForDelivery, true},
	90: {"Delay", tracking.StatusInTransit, false},
	91: {"Out for Delivery", tracking.StatusOutForDelivery, true},
	92: {"Customs Clearance in Progress", tracking.StatusInTransit, false},
	93: {"Premier Recovery In Progress", tracking.StatusException, true},
	94: {"Premier Recovery Completed", tracking.StatusInTransit, true},
	// 95-122: requests and confirmations of delivery changes (UPS My
	// Choice and the like), made while the parcel is wherever its type
	// says.
	95:  {"Additional Attempt Requested", tracking.StatusInTransit, false},
	96:  {"Address Change Confirmed", tracking.StatusInTransit, false},
	97:  {"Address Change Requested", tracking.StatusInTransit, false},
	98:  {"Deliver to Original Address Requested", tracking.StatusInTransit, false},
	99:  {"Deliver to Original Address Confirmed", tracking.StatusInTransit, false},
	100: {"Hold at UPS Access Point™ Confirmed", tracking.StatusInTransit, false},
	101: {"Hold at UPS Access Point™ Requested", tracking.StatusInTransit, false},
	102: {"Hold for Courier Requested", tracking.StatusInTransit, false},
	103: {"Hold for Courier Confirmed", tracking.StatusInTransit, false},
	104: {"Hold for Instructions Confirmed", tracking.StatusInTransit, false},
	105: {"Hold for Instructions Requested", tracking.StatusInTransit, false},
	106: {"Hold for Pickup Confirmed", tracking.StatusInTransit, false},
	107: {"Hold for Pickup Requested", tracking.StatusInTransit, false},
	108: {"Hold for Pickup Today Confirmed", tracking.StatusInTransit, false},
	109: {"Hold for Pickup Today Requested", tracking.StatusInTransit, false},
	110: {"Refrigeration Confirmed", tracking.StatusInTransit, false},
	111: {"Refrigeration Requested", tracking.StatusInTransit, false},
	112: {"Re-Ice Confirmed", tracking.StatusInTransit, false},
	113: {"Re-Ice Requested", tracking.StatusInTransit, false},
	114: {"Request Canceled", tracking.StatusInTransit, false},
	115: {"Reschedule Delivery Confirmed", tracking.StatusInTransit, false},
	116: {"Reschedule Delivery Requested", tracking.StatusInTransit, false},
	117: {"Return by Saturday Confirmed", tracking.StatusInTransit, false},
	118: {"Return to Sender Confirmed", tracking.StatusReturning, false},
	119: {"Return to Sender Requested", tracking.StatusInTransit, false},
	120: {"Saturday Delivery Confirmed", tracking.StatusInTransit, false},
	121: {"Saturday Delivery Requested", tracking.StatusInTransit, false},
	122: {"Upgrade Confirmed", tracking.StatusInTransit, false},
	123: {"Pending Release From Non-UPS Broker", tracking.StatusInTransit, false},
	124: {"Clearance Information Needed", tracking.StatusException, true},
	125: {"Clearance Information Needed", tracking.StatusException, true},
	126: {"Pending Government Agency Release", tracking.StatusInTransit, false},
	127: {"Investigation Closed", tracking.StatusInTransit, false},
	128: {"Investigation Canceled", tracking.StatusInTransit, false},
	// A trace is opened for a parcel UPS cannot find.
	129: {"Investigation Opened", tracking.StatusException, true},
	130: {"Claim in Progress", tracking.StatusException, true},
	131: {"Final Pickup Attempted", tracking.StatusInfoReceived, false},
	132: {"Airport Security Delay", tracking.StatusInTransit, true},
	133: {"Return Label Left With Customer", tracking.StatusInfoReceived, false},
	134: {"Cleared Import Customs", tracking.StatusInTransit, true},
	135: {"Second Pickup Attempted", tracking.StatusInfoReceived, false},
	136: {"Delivery Rescheduled for Saturday", tracking.StatusInTransit, false},
	137: {"Transferred to UPS Delivery Partner", tracking.StatusInTransit, false},
	138: {"Awaiting Scheduled Departure", tracking.StatusInTransit, false},
	// The driver could not get in: someone has to act.
	139: {"Security Access Required", tracking.StatusException, true},
	140: {"Claim Paid - Claim Payment Has Been Processed.", tracking.StatusException, true},
	141: {"Incomplete Documentation Received", tracking.StatusException, true},
	142: {"Claim Voided", tracking.StatusInTransit, false},
	// UPS's part is done: the agent is the consignee's.
	143: {"Delivered to Agent", tracking.StatusDelivered, true},
	144: {"Delivered to Post Office for Pickup", tracking.StatusAvailableForPickup, true},
	145: {"Delivery Attempted", tracking.StatusFailedAttempt, true},
	146: {"Out for Delivery", tracking.StatusOutForDelivery, true},
	147: {"Seized by Law Enforcement, No Longer in UPS possession", tracking.StatusException, true},
	148: {"Package Information Unavailable", tracking.StatusInTransit, false},
	149: {"Prohibited Contents, Package Destroyed No Longer in UPS possession", tracking.StatusException, true},
	153: {"Updated Delivery Time", tracking.StatusInTransit, false},
	154: {"Updated Delivery Date", tracking.StatusInTransit, false},
	155: {"Delivery Photo", tracking.StatusDelivered, false},
	156: {"Commercial Inside Release", tracking.StatusDelivered, false},
	157: {"Shipment Ready for UPS", tracking.StatusInfoReceived, false},
	158: {"On the Way", tracking.StatusInTransit, false},
	159: {"On the Way", tracking.StatusInTransit, false},
	160: {"We Have Your Package", tracking.StatusInTransit, true},
	161: {"Delivered to UPS Access Point", tracking.StatusAvailableForPickup, true},
	162: {"Out for Delivery", tracking.StatusOutForDelivery, true},
	163: {"Package Information Unavailable", tracking.StatusInTransit, false},
	164: {"On the Way", tracking.StatusInTransit, false},
	165: {"On the Way", tracking.StatusInTransit, false},
	166: {"Shipment Ready for Roadie", tracking.StatusInfoReceived, false},
	167: {"Dropped off at UPS Store by Customer", tracking.StatusInTransit, true},
	168: {"Dropped off at Retail Location by Customer", tracking.StatusInTransit, true},
	169: {"Dropped off at a UPS Access Point by Customer", tracking.StatusInTransit, true},
}

// outForDeliveryCodes are the activity codes UPS's own examples show
// out for delivery with (UPSTrackAlert.yaml: I/OT "Out for Delivery"),
// for answers whose description code is missing.
var outForDeliveryCodes = map[string]bool{"OT": true}

// fallbackStatus is the status of an activity whose type and description
// code are both unknown: UPS reported a scan, so the parcel is somewhere
// in its network. The raw codes are kept on the event.
const fallbackStatus = tracking.StatusInTransit

// StatusOf maps an activity's type, code and status description code to
// trackd's status. ok is false when the activity should give no event: it
// carries no status at all, or its type is U or NA (see noEventTypes).
// Unknown values never fail: they fall back to the type, the description
// code, then fallbackStatus.
func StatusOf(typ, code, descriptionCode string) (st tracking.Status, ok bool) {
	typ = strings.ToUpper(strings.TrimSpace(typ))
	code = strings.ToUpper(strings.TrimSpace(code))
	desc, descKnown := descriptionOf(descriptionCode)
	switch {
	case typ == "" && code == "" && strings.TrimSpace(descriptionCode) == "":
		return "", false
	case noEventTypes[typ]:
		return "", false
	case typ == "M" || typ == "MV":
		// Manifest activities precede everything; a description code
		// beside them cannot make the parcel move.
		return typeStatus[typ], true
	case descKnown && desc.overrides:
		return desc.status, true
	case (typ == "I" || typ == "D") && outForDeliveryCodes[code]:
		return tracking.StatusOutForDelivery, true
	}
	if st, known := typeStatus[typ]; known {
		return st, true
	}
	if descKnown {
		return desc.status, true
	}
	return fallbackStatus, true
}

// descriptionOf looks a status description code up by value, so that
// "021", "21" and a JSON number 21 are the same code.
func descriptionOf(s string) (descriptionRule, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 6 {
		return descriptionRule{}, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return descriptionRule{}, false
	}
	r, ok := descriptionStatus[n]
	return r, ok
}

// descriptionText is UPS's customer-facing text of a description code.
func descriptionText(s string) string {
	r, _ := descriptionOf(s)
	return r.text
}

// carrierStatus is the carrier code kept on an event: "type/code" ("I/OT"),
// or whichever of the two is present, or failing both the description
// code, which is then all the activity says.
func carrierStatus(typ, code, descriptionCode string) string {
	typ, code = strings.TrimSpace(typ), strings.TrimSpace(code)
	switch {
	case typ != "" && code != "":
		return typ + "/" + code
	case typ != "":
		return typ
	case code != "":
		return code
	}
	return strings.TrimSpace(descriptionCode)
}
