package tracking

import "fmt"

// Status is trackd's normalized shipment status. Every carrier's own codes
// map onto exactly one of these; the carrier's code and text are kept on the
// event beside it.
type Status string

// The normalized statuses, as DESIGN.md "Statuses" lists them.
const (
	StatusPending            Status = "pending"
	StatusInfoReceived       Status = "info_received"
	StatusInTransit          Status = "in_transit"
	StatusOutForDelivery     Status = "out_for_delivery"
	StatusFailedAttempt      Status = "failed_attempt"
	StatusAvailableForPickup Status = "available_for_pickup"
	StatusDelivered          Status = "delivered"
	StatusException          Status = "exception"
	StatusReturning          Status = "returning"
	StatusReturned           Status = "returned"
	StatusExpired            Status = "expired"
)

// statusRank orders statuses by how far along a shipment is. It only breaks
// ties between events carrying the same timestamp (carriers often stamp
// "out for delivery" and "delivered" with the same minute), so that the
// current state does not depend on the order in which events arrive.
var statusRank = map[Status]int{
	StatusPending:            0,
	StatusInfoReceived:       1,
	StatusInTransit:          2,
	StatusOutForDelivery:     3,
	StatusFailedAttempt:      4,
	StatusAvailableForPickup: 5,
	StatusException:          6,
	StatusReturning:          7,
	StatusReturned:           8,
	StatusExpired:            9,
	StatusDelivered:          10,
}

// Statuses lists every normalized status in progress order.
func Statuses() []Status {
	out := make([]Status, len(statusRank))
	for s, r := range statusRank {
		out[r] = s
	}
	return out
}

// ParseStatus returns the status named s, or an error naming the valid ones.
func ParseStatus(s string) (Status, error) {
	st := Status(s)
	if _, ok := statusRank[st]; !ok {
		return "", fmt.Errorf("unknown status %q (want one of %v)", s, Statuses())
	}
	return st, nil
}

// Valid reports whether s is one of the normalized statuses.
func (s Status) Valid() bool {
	_, ok := statusRank[s]
	return ok
}

// Rank is the status's position in progress order (see statusRank).
func (s Status) Rank() int { return statusRank[s] }

// Terminal reports whether a shipment in this status is finished: it stops
// being watched for delays and its keys start their retention countdown.
func (s Status) Terminal() bool {
	return s == StatusDelivered || s == StatusReturned || s == StatusExpired
}
