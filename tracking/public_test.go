package tracking

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestNewPublicOrder_SplitAndPartialFulfillment(t *testing.T) {
	o := Order{Number: "R-1", Customer: Customer{Name: "Ada", Email: "ada@example.com", Phone: "+15550100", PostalCode: "40209", Locale: "de-DE"},
		Items: []Item{{SKU: "MUG", Name: "Mug", Quantity: 3}, {SKU: "TEE", Name: "T-shirt", Quantity: 1}, {SKU: "CAP", Name: "Cap", Quantity: 1}},
		Shipments: []ShipmentClaim{
			{ID: "s_a", Carrier: "ups", TrackingNumber: "1ZA", Direction: Outbound, Items: []ItemRef{{SKU: "MUG", Quantity: 2}}},
			{ID: "s_b", Carrier: "fedex", TrackingNumber: "77", Direction: Outbound, Items: []ItemRef{{SKU: "TEE", Quantity: 1}}},
			{ID: "s_r", Carrier: "usps", TrackingNumber: "94", Direction: Return, Items: []ItemRef{{SKU: "TEE", Quantity: 1}}},
		}}
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	states := map[string]*Shipment{"s_a": {Status: StatusInTransit, Cursor: "2-0", Events: []Event{
		{ID: "1", Status: StatusInfoReceived, OccurredAt: at, Raw: json.RawMessage(`{"secret":1}`)},
		{ID: "2", Status: StatusInTransit, OccurredAt: at.Add(time.Hour)}}}}
	v := NewPublicOrder(o, states)

	if len(v.Unshipped) != 2 || v.Unshipped[0] != (PublicItem{"MUG", "Mug", 1}) || v.Unshipped[1] != (PublicItem{"CAP", "Cap", 1}) {
		t.Errorf("unshipped = %+v, want one mug and the cap (a return does not ship anything)", v.Unshipped)
	}
	if got := v.Shipments[0]; got.Status != StatusInTransit || len(got.Events) != 2 || got.Events[0].ID != "2" || got.Items[0].Name != "Mug" {
		t.Errorf("first shipment = %+v, want in transit with events newest first and item names", got)
	}
	if v.Shipments[1].Status != StatusPending || v.Shipments[2].Direction != Return {
		t.Errorf("shipments without state or returns = %+v", v.Shipments[1:])
	}
	b, _ := json.Marshal(v)
	for _, private := range []string{"ada@example.com", "+15550100", "40209", "Ada", "secret"} {
		if strings.Contains(string(b), private) {
			t.Errorf("the public view shows %q: %s", private, b)
		}
	}
}

func TestCompareCursors(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"1-0", "1-0", 0},
		{"1-1", "1-0", 1},
		{"9-0", "10-0", -1},
		{"1795640186037-2", "1795640186037-10", -1},
		{"", "0-0", 0},
		{"garbage", "1-0", -1},
	}
	for _, tt := range tests {
		if got := CompareCursors(tt.a, tt.b); got != tt.want {
			t.Errorf("CompareCursors(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
