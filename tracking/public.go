package tracking

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// PublicOrder is what a shopper holding the order's tracking link may see:
// the order number, its items and its shipments. No contact details, no
// address, nothing of any other order. The tracking page, its JSON and the
// live snapshot all show exactly this.
type PublicOrder struct {
	Number    string           `json:"number"`
	Locale    string           `json:"locale,omitempty"`
	Items     []PublicItem     `json:"items"`
	Unshipped []PublicItem     `json:"unshipped"`
	Shipments []PublicShipment `json:"shipments"`
	// Order-level truth (ordertruth.go), derived from the same states the
	// shipments show: where the order as a whole stands, its returns, and
	// what its shipments fail to account for.
	Status       OrderStatus  `json:"status"`
	ReturnStatus ReturnStatus `json:"return_status"`
	Fulfillment  Fulfillment  `json:"fulfillment"`
}

// PublicItem is an order line, or the part of one a shipment carries.
type PublicItem struct {
	SKU      string `json:"sku"`
	Name     string `json:"name"`
	Quantity int    `json:"quantity"`
}

// PublicShipment is one package of the order and where it is.
type PublicShipment struct {
	ID                string       `json:"id"`
	Carrier           string       `json:"carrier"`
	TrackingNumber    string       `json:"tracking_number"`
	Direction         Direction    `json:"direction"`
	Items             []PublicItem `json:"items"`
	Status            Status       `json:"status"`
	Delayed           bool         `json:"delayed"`
	EstimatedDelivery *ETA         `json:"estimated_delivery"`
	// UpdatedAt is when trackd last heard anything new about it.
	UpdatedAt time.Time `json:"updated_at"`
	// LastCheckedAt and NextCheckAt say when the carrier was last asked and
	// will be next; nil for a shipment that is not polled.
	LastCheckedAt *time.Time `json:"last_checked_at"`
	NextCheckAt   *time.Time `json:"next_check_at"`
	// Cursor is the position of the newest event: where a live client resumes.
	Cursor string `json:"cursor"`
	// Events are newest first, as a timeline shows them; Raw is dropped.
	Events []Event `json:"events"`
}

// NewPublicOrder builds the shopper's view of o from its shipments' states
// (with history), in the order's shipment order. Items of the order that no
// outbound shipment carries (or not in full) are listed as unshipped.
func NewPublicOrder(o Order, shipments map[string]*Shipment) PublicOrder {
	names := map[string]string{}
	for _, it := range o.Items {
		names[it.SKU] = it.Name
	}
	shipped := map[string]int{}
	v := PublicOrder{Number: o.Number, Locale: o.Customer.Locale, Items: []PublicItem{}, Unshipped: []PublicItem{}, Shipments: []PublicShipment{}}
	for _, it := range o.Items {
		v.Items = append(v.Items, PublicItem(it))
	}
	for _, c := range o.Shipments {
		ps := PublicShipment{ID: c.ID, Carrier: c.Carrier, TrackingNumber: c.TrackingNumber, Direction: c.Direction,
			Items: []PublicItem{}, Status: StatusPending, Events: []Event{}}
		for _, it := range c.Items {
			ps.Items = append(ps.Items, PublicItem{SKU: it.SKU, Name: names[it.SKU], Quantity: it.Quantity})
			if c.Direction != Return {
				shipped[it.SKU] += it.Quantity
			}
		}
		if sh := shipments[c.ID]; sh != nil {
			ps.Status, ps.Delayed, ps.EstimatedDelivery = sh.Status, sh.Delayed, sh.EstimatedDelivery
			ps.UpdatedAt, ps.Cursor = sh.UpdatedAt, sh.Cursor
			ps.LastCheckedAt, ps.NextCheckAt = sh.LastCheckedAt, sh.NextCheckAt
			for _, e := range slices.Backward(sh.Events) {
				e.Raw = nil
				ps.Events = append(ps.Events, e)
				// The state and the history are two reads; the cursor must
				// cover every event shown, or a live client would get one twice.
				if CompareCursors(e.Cursor, ps.Cursor) > 0 {
					ps.Cursor = e.Cursor
				}
			}
		}
		v.Shipments = append(v.Shipments, ps)
	}
	for _, it := range o.Items {
		if left := it.Quantity - shipped[it.SKU]; left > 0 {
			v.Unshipped = append(v.Unshipped, PublicItem{SKU: it.SKU, Name: it.Name, Quantity: left})
		}
	}
	// Order-level truth (ordertruth.go).
	v.Status, v.ReturnStatus = DeriveOrderStatus(o, shipments), DeriveReturnStatus(o, shipments)
	v.Fulfillment = CheckFulfillment(o)
	return v
}

// CompareCursors orders two stream ids ("<ms>-<seq>"); an empty or
// malformed id sorts first.
func CompareCursors(a, b string) int {
	am, as := splitCursor(a)
	bm, bs := splitCursor(b)
	if c := cmp.Compare(am, bm); c != 0 {
		return c
	}
	return cmp.Compare(as, bs)
}

func splitCursor(c string) (uint64, uint64) {
	ms, seq, _ := strings.Cut(c, "-")
	m, err1 := strconv.ParseUint(ms, 10, 64)
	s, err2 := strconv.ParseUint(seq, 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0
	}
	return m, s
}

// LiveEvent is the message a live client gets for each new event
// (DESIGN.md, "Live messages").
type LiveEvent struct {
	Type              string `json:"type"` // "event"
	ShipmentID        string `json:"shipment_id"`
	TrackingNumber    string `json:"tracking_number"`
	Cursor            string `json:"cursor"`
	Status            Status `json:"status"`
	Delayed           bool   `json:"delayed"`
	EstimatedDelivery *ETA   `json:"estimated_delivery"`
	Event             Event  `json:"event"`
}
