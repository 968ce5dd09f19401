package tracking

// Order-level truth: what the order as a whole has come to, derived from
// its shipments' states, and whether its shipments account for its items.
// Nothing here is stored: like `delayed`, it is derived when read, so it
// can never disagree with the shipments it comes from.

// OrderStatus is where an order as a whole stands, from its outbound
// shipments (returns have their own ReturnStatus).
type OrderStatus string

// The order statuses, in the precedence DeriveOrderStatus applies them.
const (
	// OrderCancelled: the OMS cancelled the order before anything of it
	// was with a carrier. It wins over everything: nothing will come.
	OrderCancelled OrderStatus = "cancelled"
	// OrderException: an outbound shipment left the normal path (exception,
	// returning, returned to the seller, or tracking expired undelivered).
	// It wins over every other status: someone has to act.
	OrderException OrderStatus = "exception"
	// OrderPending: nothing is with a carrier yet. Every outbound shipment
	// is pending or has only a label (info_received), or there is none.
	OrderPending OrderStatus = "pending"
	// OrderDelivered: every outbound shipment is delivered and no item is
	// left unshipped.
	OrderDelivered OrderStatus = "delivered"
	// OrderPartiallyDelivered: at least one outbound shipment is delivered,
	// but not everything (another is still on its way or not yet with a
	// carrier, or items are unshipped).
	OrderPartiallyDelivered OrderStatus = "partially_delivered"
	// OrderPartiallyShipped: something is moving, nothing is delivered, and
	// some of the order is not yet with a carrier: an outbound shipment
	// still pending or label-only, or items no shipment carries.
	OrderPartiallyShipped OrderStatus = "partially_shipped"
	// OrderInTransit: everything is with a carrier and nothing is delivered yet.
	OrderInTransit OrderStatus = "in_transit"
)

// OrderStatuses lists the order statuses in progress order.
func OrderStatuses() []OrderStatus {
	return []OrderStatus{OrderPending, OrderPartiallyShipped, OrderInTransit, OrderPartiallyDelivered, OrderDelivered, OrderException, OrderCancelled}
}

// ReturnStatus is where an order's returns stand, from its return shipments.
type ReturnStatus string

// The return statuses. A return shipment's "delivered" is the seller
// receiving it; its "returning" or "returned" is the parcel going back to
// the shopper, which is a problem like an exception.
const (
	ReturnNone              ReturnStatus = "none"               // the order has no return shipments
	ReturnRequested         ReturnStatus = "requested"          // registered, nothing with a carrier yet
	ReturnInTransit         ReturnStatus = "in_transit"         // on its way to the seller, none received
	ReturnPartiallyReceived ReturnStatus = "partially_received" // some return shipments received, not all
	ReturnReceived          ReturnStatus = "received"           // every return shipment received
	ReturnException         ReturnStatus = "exception"          // a return shipment left the normal path
)

// stage is a shipment status as the order's derivation counts it.
type stage int

const (
	stageWaiting   stage = iota // pending, info_received: not yet with a carrier
	stageMoving                 // in_transit, out_for_delivery, failed_attempt, available_for_pickup
	stageDelivered              // delivered
	stageTrouble                // exception, returning, returned, expired
)

// stageOf groups statuses as the shopper's page colours them (statusTone in
// templates): a failed attempt or a parcel at a pickup point is still on the
// normal path (the carrier tries again, the parcel waits), the "bad" ones
// are not.
func stageOf(s Status) stage {
	switch s {
	case StatusInTransit, StatusOutForDelivery, StatusFailedAttempt, StatusAvailableForPickup:
		return stageMoving
	case StatusDelivered:
		return stageDelivered
	case StatusException, StatusReturning, StatusReturned, StatusExpired:
		return stageTrouble
	}
	return stageWaiting
}

// stageCounts counts an order's shipments of one direction by stage. A
// shipment with no stored state (not seen yet, or past its retention) counts
// as waiting, as the shopper's page shows it.
func stageCounts(o Order, shipments map[string]*Shipment, dir Direction) (counts [4]int, total int) {
	for _, c := range o.Shipments {
		if directionOf(c) != dir {
			continue
		}
		total++
		st := StatusPending
		if sh := shipments[c.ID]; sh != nil {
			st = sh.Status
		}
		counts[stageOf(st)]++
	}
	return counts, total
}

// directionOf reads a claim's direction; an unset one is outbound, as
// OrderInput.Validate defaults it.
func directionOf(c ShipmentClaim) Direction {
	if c.Direction == Return {
		return Return
	}
	return Outbound
}

// DeriveOrderStatus is the order's status from its outbound shipments'
// states (shipments maps shipment id to state; missing ones count as
// pending) and its item accounting. The first rule that holds wins:
//
//  0. cancelled: the OMS cancelled the order;
//  1. exception: an outbound shipment is in exception, returning, returned
//     or expired;
//  2. pending: no outbound shipment is moving or delivered (including an
//     order without outbound shipments);
//  3. delivered: every outbound shipment is delivered and no item is
//     unshipped;
//  4. partially_delivered: some outbound shipment is delivered;
//  5. partially_shipped: some outbound shipment is pending or label-only,
//     or items are unshipped;
//  6. in_transit: otherwise (everything is moving, nothing delivered).
//
// Items count as unshipped only when every outbound shipment lists what it
// carries: when one lists nothing (CheckFulfillment's EmptyShipments), it
// may carry the rest, so the status follows the shipments alone.
// Return shipments never count here (see DeriveReturnStatus): an order
// whose items came back is still delivered, with its returns received.
func DeriveOrderStatus(o Order, shipments map[string]*Shipment) OrderStatus {
	n, total := stageCounts(o, shipments, Outbound)
	f := CheckFulfillment(o)
	unshipped := len(f.Unshipped) > 0 && len(f.EmptyShipments) == 0
	switch {
	case o.CancelledAt != nil:
		return OrderCancelled
	case n[stageTrouble] > 0:
		return OrderException
	case n[stageMoving] == 0 && n[stageDelivered] == 0:
		return OrderPending
	case n[stageDelivered] == total && !unshipped:
		return OrderDelivered
	case n[stageDelivered] > 0:
		return OrderPartiallyDelivered
	case n[stageWaiting] > 0 || unshipped:
		return OrderPartiallyShipped
	}
	return OrderInTransit
}

// DeriveReturnStatus is where the order's return shipments stand: none
// without any; else exception, received, partially_received, in_transit and
// requested, the first that holds, by the same stages as DeriveOrderStatus.
func DeriveReturnStatus(o Order, shipments map[string]*Shipment) ReturnStatus {
	n, total := stageCounts(o, shipments, Return)
	switch {
	case total == 0:
		return ReturnNone
	case n[stageTrouble] > 0:
		return ReturnException
	case n[stageDelivered] == total:
		return ReturnReceived
	case n[stageDelivered] > 0:
		return ReturnPartiallyReceived
	case n[stageMoving] > 0:
		return ReturnInTransit
	}
	return ReturnRequested
}

// ItemQty is a quantity of one of an order's SKUs.
type ItemQty struct {
	SKU      string `json:"sku"`
	Name     string `json:"name,omitempty"`
	Quantity int    `json:"quantity"`
}

// Fulfillment is what the order's outbound shipments fail to account for.
// Every list is empty (not null) when all is well.
type Fulfillment struct {
	// Unshipped are items ordered but in no outbound shipment (or not in
	// full): the quantity left to ship.
	Unshipped []ItemQty `json:"unshipped"`
	// OverShipped are items outbound shipments carry more of than the order
	// has: the quantity beyond it (all of it for a SKU the order lacks).
	OverShipped []ItemQty `json:"over_shipped"`
	// EmptyShipments are the ids of outbound shipments that list no items,
	// when the order has items: what they carry is unknown.
	EmptyShipments []string `json:"empty_shipments"`
}

// OK reports whether the shipments account for the order exactly.
func (f Fulfillment) OK() bool {
	return len(f.Unshipped) == 0 && len(f.OverShipped) == 0 && len(f.EmptyShipments) == 0
}

// CheckFulfillment compares what the order's outbound shipments carry with
// what was ordered. Return shipments ship nothing: items sent back are not
// unshipped, and a return does not make up for a missing package. Lists
// follow the order's item order, then the shipments' order for SKUs the
// order lacks; an order listing a SKU twice counts both lines.
func CheckFulfillment(o Order) Fulfillment {
	f := Fulfillment{Unshipped: []ItemQty{}, OverShipped: []ItemQty{}, EmptyShipments: []string{}}
	var skus []string
	ordered, shipped, names := map[string]int{}, map[string]int{}, map[string]string{}
	note := func(sku string) {
		if _, ok := ordered[sku]; !ok {
			if _, ok := shipped[sku]; !ok {
				skus = append(skus, sku)
			}
		}
	}
	for _, it := range o.Items {
		note(it.SKU)
		ordered[it.SKU] += it.Quantity
		if names[it.SKU] == "" {
			names[it.SKU] = it.Name
		}
	}
	for _, c := range o.Shipments {
		if directionOf(c) != Outbound {
			continue
		}
		carries := 0
		for _, it := range c.Items {
			if it.Quantity <= 0 {
				continue
			}
			note(it.SKU)
			shipped[it.SKU] += it.Quantity
			carries += it.Quantity
		}
		if carries == 0 && len(o.Items) > 0 {
			f.EmptyShipments = append(f.EmptyShipments, c.ID)
		}
	}
	for _, sku := range skus {
		switch d := ordered[sku] - shipped[sku]; {
		case d > 0:
			f.Unshipped = append(f.Unshipped, ItemQty{SKU: sku, Name: names[sku], Quantity: d})
		case d < 0:
			f.OverShipped = append(f.OverShipped, ItemQty{SKU: sku, Name: names[sku], Quantity: -d})
		}
	}
	return f
}
