package tracking

import (
	"encoding/json"
	"reflect"
	"testing"
)

// truthOrder is an order of three mugs and a T-shirt with the given shipments.
func truthOrder(claims ...ShipmentClaim) Order {
	return Order{Number: "T-1", Items: []Item{{SKU: "MUG", Name: "Mug", Quantity: 3}, {SKU: "TEE", Name: "T-shirt", Quantity: 1}},
		Shipments: claims}
}

func out(id string, items ...ItemRef) ShipmentClaim {
	return ShipmentClaim{ID: id, Carrier: "ups", TrackingNumber: id, Direction: Outbound, Items: items}
}

func ret(id string, items ...ItemRef) ShipmentClaim {
	return ShipmentClaim{ID: id, Carrier: "usps", TrackingNumber: id, Direction: Return, Items: items}
}

func ref(sku string, n int) ItemRef { return ItemRef{SKU: sku, Quantity: n} }

func states(kv ...any) map[string]*Shipment {
	m := map[string]*Shipment{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = &Shipment{ID: kv[i].(string), Status: kv[i+1].(Status)}
	}
	return m
}

func TestDeriveOrderStatus_Table(t *testing.T) {
	full := []ShipmentClaim{out("a", ref("MUG", 3)), out("b", ref("TEE", 1))}
	tests := []struct {
		name       string
		order      Order
		states     map[string]*Shipment
		want       OrderStatus
		wantReturn ReturnStatus
	}{
		{"no shipments", truthOrder(), nil, OrderPending, ReturnNone},
		{"registered, no state yet", truthOrder(full...), nil, OrderPending, ReturnNone},
		{"labels only", truthOrder(full...), states("a", StatusInfoReceived, "b", StatusPending), OrderPending, ReturnNone},
		{"split, both moving", truthOrder(full...), states("a", StatusInTransit, "b", StatusOutForDelivery), OrderInTransit, ReturnNone},
		{"failed attempt and pickup are still moving", truthOrder(full...),
			states("a", StatusFailedAttempt, "b", StatusAvailableForPickup), OrderInTransit, ReturnNone},
		{"split, one still label-only", truthOrder(full...), states("a", StatusInTransit, "b", StatusInfoReceived), OrderPartiallyShipped, ReturnNone},
		{"partial: items in no shipment", truthOrder(out("a", ref("MUG", 2))), states("a", StatusInTransit), OrderPartiallyShipped, ReturnNone},
		{"partial: the one package delivered, items left", truthOrder(out("a", ref("MUG", 3))), states("a", StatusDelivered),
			OrderPartiallyDelivered, ReturnNone},
		{"split, one delivered, one moving", truthOrder(full...), states("a", StatusDelivered, "b", StatusInTransit), OrderPartiallyDelivered, ReturnNone},
		{"split, one delivered, one not with a carrier", truthOrder(full...), states("a", StatusDelivered), OrderPartiallyDelivered, ReturnNone},
		{"all delivered", truthOrder(full...), states("a", StatusDelivered, "b", StatusDelivered), OrderDelivered, ReturnNone},
		{"over-shipped and all delivered", truthOrder(out("a", ref("MUG", 4)), out("b", ref("TEE", 1))),
			states("a", StatusDelivered, "b", StatusDelivered), OrderDelivered, ReturnNone},
		{"empty shipment: items unknown, judged by shipments", truthOrder(out("a")), states("a", StatusDelivered), OrderDelivered, ReturnNone},
		{"empty shipment beside a listed one", truthOrder(out("a", ref("MUG", 1)), out("b")),
			states("a", StatusInTransit, "b", StatusInTransit), OrderInTransit, ReturnNone},
		{"exception wins over delivered", truthOrder(full...), states("a", StatusDelivered, "b", StatusException), OrderException, ReturnNone},
		{"outbound returned to sender", truthOrder(full...), states("a", StatusReturned, "b", StatusDelivered), OrderException, ReturnNone},
		{"outbound returning", truthOrder(full...), states("a", StatusReturning, "b", StatusPending), OrderException, ReturnNone},
		{"expired undelivered", truthOrder(full...), states("a", StatusExpired, "b", StatusDelivered), OrderException, ReturnNone},
		{"returned order stays delivered, return registered", truthOrder(append(full, ret("r", ref("TEE", 1)))...),
			states("a", StatusDelivered, "b", StatusDelivered, "r", StatusPending), OrderDelivered, ReturnRequested},
		{"return on its way", truthOrder(append(full, ret("r", ref("TEE", 1)))...),
			states("a", StatusDelivered, "b", StatusDelivered, "r", StatusInTransit), OrderDelivered, ReturnInTransit},
		{"return received", truthOrder(append(full, ret("r", ref("TEE", 1)))...),
			states("a", StatusDelivered, "b", StatusDelivered, "r", StatusDelivered), OrderDelivered, ReturnReceived},
		{"one of two returns received", truthOrder(append(full, ret("r", ref("TEE", 1)), ret("q", ref("MUG", 1)))...),
			states("a", StatusDelivered, "b", StatusDelivered, "r", StatusDelivered, "q", StatusInTransit), OrderDelivered, ReturnPartiallyReceived},
		{"return sent back to the shopper", truthOrder(append(full, ret("r", ref("TEE", 1)))...),
			states("a", StatusDelivered, "b", StatusDelivered, "r", StatusReturned), OrderDelivered, ReturnException},
		{"a return does not ship anything", truthOrder(out("a", ref("MUG", 3)), ret("r", ref("TEE", 1))),
			states("a", StatusDelivered, "r", StatusDelivered), OrderPartiallyDelivered, ReturnReceived},
		{"a return's exception is not the order's", truthOrder(append(full, ret("r"))...),
			states("a", StatusInTransit, "b", StatusInTransit, "r", StatusException), OrderInTransit, ReturnException},
		{"direction unset counts as outbound", truthOrder(ShipmentClaim{ID: "a", Items: []ItemRef{ref("MUG", 3), ref("TEE", 1)}}),
			states("a", StatusDelivered), OrderDelivered, ReturnNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DeriveOrderStatus(tt.order, tt.states); got != tt.want {
				t.Errorf("DeriveOrderStatus = %q, want %q", got, tt.want)
			}
			if got := DeriveReturnStatus(tt.order, tt.states); got != tt.wantReturn {
				t.Errorf("DeriveReturnStatus = %q, want %q", got, tt.wantReturn)
			}
		})
	}
}

func TestCheckFulfillment_Table(t *testing.T) {
	none := []ItemQty{}
	tests := []struct {
		name  string
		order Order
		want  Fulfillment
	}{
		{"exact split", truthOrder(out("a", ref("MUG", 2)), out("b", ref("MUG", 1), ref("TEE", 1))),
			Fulfillment{Unshipped: none, OverShipped: none, EmptyShipments: []string{}}},
		{"nothing shipped", truthOrder(),
			Fulfillment{Unshipped: []ItemQty{{"MUG", "Mug", 3}, {"TEE", "T-shirt", 1}}, OverShipped: none, EmptyShipments: []string{}}},
		{"partial", truthOrder(out("a", ref("MUG", 2))),
			Fulfillment{Unshipped: []ItemQty{{"MUG", "Mug", 1}, {"TEE", "T-shirt", 1}}, OverShipped: none, EmptyShipments: []string{}}},
		{"over-shipped across packages", truthOrder(out("a", ref("MUG", 2), ref("TEE", 1)), out("b", ref("MUG", 3))),
			Fulfillment{Unshipped: none, OverShipped: []ItemQty{{"MUG", "Mug", 2}}, EmptyShipments: []string{}}},
		{"shipped a SKU the order lacks", truthOrder(out("a", ref("MUG", 3), ref("TEE", 1), ref("CAP", 2))),
			Fulfillment{Unshipped: none, OverShipped: []ItemQty{{SKU: "CAP", Quantity: 2}}, EmptyShipments: []string{}}},
		{"returns ship nothing and make up for nothing", truthOrder(out("a", ref("MUG", 3)), ret("r", ref("TEE", 1), ref("MUG", 3))),
			Fulfillment{Unshipped: []ItemQty{{"TEE", "T-shirt", 1}}, OverShipped: none, EmptyShipments: []string{}}},
		{"an empty return is not an empty shipment", truthOrder(out("a", ref("MUG", 3), ref("TEE", 1)), ret("r")),
			Fulfillment{Unshipped: none, OverShipped: none, EmptyShipments: []string{}}},
		{"empty shipment", truthOrder(out("a", ref("MUG", 3)), out("b")),
			Fulfillment{Unshipped: []ItemQty{{"TEE", "T-shirt", 1}}, OverShipped: none, EmptyShipments: []string{"b"}}},
		{"order without items: no shipment is empty", Order{Shipments: []ShipmentClaim{out("a")}},
			Fulfillment{Unshipped: none, OverShipped: none, EmptyShipments: []string{}}},
		{"a SKU on two order lines", Order{Items: []Item{{SKU: "MUG", Quantity: 1}, {SKU: "MUG", Name: "Mug", Quantity: 2}},
			Shipments: []ShipmentClaim{out("a", ref("MUG", 1))}},
			Fulfillment{Unshipped: []ItemQty{{"MUG", "Mug", 2}}, OverShipped: none, EmptyShipments: []string{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := CheckFulfillment(tt.order)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("CheckFulfillment = %+v, want %+v", got, tt.want)
			}
			if got.OK() != (len(tt.want.Unshipped)+len(tt.want.OverShipped)+len(tt.want.EmptyShipments) == 0) {
				t.Errorf("OK() = %v for %+v", got.OK(), got)
			}
		})
	}
}

func TestCheckFulfillment_JSONListsNeverNull(t *testing.T) {
	b, err := json.Marshal(CheckFulfillment(Order{}))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"unshipped":[],"over_shipped":[],"empty_shipments":[]}`; string(b) != want {
		t.Errorf("JSON %s, want %s", b, want)
	}
}

func TestNewPublicOrder_CarriesOrderTruth(t *testing.T) {
	o := truthOrder(out("a", ref("MUG", 3)), out("b"), ret("r", ref("MUG", 1)))
	v := NewPublicOrder(o, states("a", StatusDelivered, "b", StatusInTransit, "r", StatusInTransit))
	if v.Status != OrderPartiallyDelivered || v.ReturnStatus != ReturnInTransit {
		t.Errorf("status %q, returns %q; want partially_delivered, in_transit", v.Status, v.ReturnStatus)
	}
	if !reflect.DeepEqual(v.Fulfillment, CheckFulfillment(o)) {
		t.Errorf("fulfillment %+v, want %+v", v.Fulfillment, CheckFulfillment(o))
	}
}
