package tracking

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func putTestOrder(t *testing.T, s *Store, number string, shipments ...ShipmentInput) Order {
	t.Helper()
	o, _, err := s.PutOrder(context.Background(), OrderInput{Number: number,
		Customer: Customer{Email: "ada@example.com", Phone: "+14155550100"},
		Items:    []Item{{SKU: "MUG", Quantity: 2}, {SKU: "TEA", Quantity: 1}}, Shipments: shipments},
		time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func str(s string) *string { return &s }

func TestStore_PatchContact(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, realRedis.Client(t))
	o := putTestOrder(t, s, "P-1")
	yes := true
	now := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	got, changed, err := s.PatchContact(ctx, o.ID, ContactPatch{Email: str(" grace@example.com "), Phone: str(""),
		TimeZone: str("Europe/Berlin"), NotifySMS: &yes}, now)
	if err != nil || !changed {
		t.Fatalf("patch: changed=%v err=%v", changed, err)
	}
	want := Customer{Email: "grace@example.com", TimeZone: "Europe/Berlin"}
	if got.Customer != want || got.Notify != (NotifyPrefs{Email: true, SMS: true}) || !got.UpdatedAt.Equal(now) {
		t.Errorf("patched = %+v %+v at %v; want %+v, both channels, at %v", got.Customer, got.Notify, got.UpdatedAt, want, now)
	}
	stored, err := s.Order(ctx, o.ID)
	if err != nil || stored.Customer != want || stored.Token != o.Token || len(stored.Items) != 2 {
		t.Errorf("stored = %+v, %v; want the patch and the rest kept", stored, err)
	}
	// The same patch again changes nothing.
	if _, changed, err := s.PatchContact(ctx, o.ID, ContactPatch{Email: str("grace@example.com")}, now.Add(time.Hour)); err != nil || changed {
		t.Errorf("repeat: changed=%v err=%v", changed, err)
	}
	for _, tt := range []struct {
		p     ContactPatch
		field string
	}{
		{ContactPatch{Email: str("not an address")}, "customer.email"},
		{ContactPatch{TimeZone: str("Mars/Olympus")}, "customer.time_zone"},
		{ContactPatch{Name: str(strings.Repeat("x", 300))}, "customer.name"},
	} {
		var fe *FieldError
		if _, _, err := s.PatchContact(ctx, o.ID, tt.p, now); !errors.As(err, &fe) || fe.Field != tt.field {
			t.Errorf("%+v: %v, want a %s error", tt.p, err, tt.field)
		}
	}
	if _, _, err := s.PatchContact(ctx, "o_missing", ContactPatch{Name: str("x")}, now); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing order: %v", err)
	}
}

func TestStore_CancelOrder(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, realRedis.Client(t))
	now := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)

	// A label only: cancellable.
	o := putTestOrder(t, s, "C-1", ShipmentInput{Carrier: "ups", TrackingNumber: "1ZCANCEL0001"})
	if _, err := s.Apply(ctx, Update{Carrier: "ups", TrackingNumber: "1ZCANCEL0001", ReceivedAt: now,
		Events: []Event{{ID: "l", Status: StatusInfoReceived, OccurredAt: now, OccurredAtLocal: now}}}); err != nil {
		t.Fatal(err)
	}
	got, changed, err := s.CancelOrder(ctx, o.ID, "shopper asked", now)
	if err != nil || !changed || got.CancelledAt == nil || !got.CancelledAt.Equal(now) || got.CancelReason != "shopper asked" {
		t.Fatalf("cancel: %+v changed=%v err=%v", got, changed, err)
	}
	if st := DeriveOrderStatus(got, nil); st != OrderCancelled {
		t.Errorf("status %s, want cancelled", st)
	}
	again, changed, err := s.CancelOrder(ctx, o.ID, "again", now.Add(time.Hour))
	if err != nil || changed || !again.CancelledAt.Equal(now) || again.CancelReason != "shopper asked" {
		t.Errorf("second cancel: %+v changed=%v err=%v; want the first cancellation kept", again, changed, err)
	}
	// A cancelled order takes returns, not new outbound shipments.
	var ce *ConflictError
	if _, _, err := s.AddShipment(ctx, o.ID, ShipmentInput{Carrier: "ups", TrackingNumber: "1ZCANCEL0009"}, now); !errors.As(err, &ce) {
		t.Errorf("outbound shipment on a cancelled order: %v, want a conflict", err)
	}
	// Registering the order again keeps it cancelled.
	put, _, err := s.PutOrder(ctx, OrderInput{Number: "C-1"}, now)
	if err != nil || put.CancelledAt == nil {
		t.Errorf("PutOrder after cancel: cancelled_at %v, %v; want kept", put.CancelledAt, err)
	}

	// In transit: refused, saying which parcel and what to do.
	moving := putTestOrder(t, s, "C-2", ShipmentInput{Carrier: "ups", TrackingNumber: "1ZCANCEL0002"})
	if _, err := s.Apply(ctx, Update{Carrier: "ups", TrackingNumber: "1ZCANCEL0002", ReceivedAt: now,
		Events: []Event{{ID: "t", Status: StatusInTransit, OccurredAt: now, OccurredAtLocal: now}}}); err != nil {
		t.Fatal(err)
	}
	_, _, err = s.CancelOrder(ctx, moving.ID, "", now)
	if !errors.As(err, &ce) || !strings.Contains(ce.Message, "1ZCANCEL0002") || !strings.Contains(ce.Message, "return") {
		t.Errorf("cancel in transit: %v, want a conflict naming the parcel and returns", err)
	}
	var fe *FieldError
	if _, _, err := s.CancelOrder(ctx, moving.ID, strings.Repeat("é", MaxCancelReason+1), now); !errors.As(err, &fe) || fe.Field != "reason" {
		t.Errorf("long reason: %v", err)
	}
}

func TestStore_AddShipment(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, realRedis.Client(t))
	now := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	o := putTestOrder(t, s, "A-1", ShipmentInput{Carrier: "ups", TrackingNumber: "1ZADD0001", Items: []ItemRef{{SKU: "MUG", Quantity: 2}}})

	got, added, err := s.AddShipment(ctx, o.ID, ShipmentInput{Carrier: "FedEx", TrackingNumber: "7946 1234 5678",
		Items: []ItemRef{{SKU: "TEA", Quantity: 1}}}, now)
	if err != nil || !added || len(got.Shipments) != 2 {
		t.Fatalf("add: added=%v err=%v shipments=%d", added, err, len(got.Shipments))
	}
	sc := got.Shipments[1]
	if sc.Carrier != "fedex" || sc.TrackingNumber != "794612345678" || sc.Direction != Outbound {
		t.Errorf("claim = %+v", sc)
	}
	sh, err := s.Shipment(ctx, sc.ID, false)
	if err != nil || sh.OrderID != o.ID {
		t.Errorf("the new shipment is claimed by %q, %v; want %s", sh.OrderID, err, o.ID)
	}
	if f := CheckFulfillment(got); !f.OK() {
		t.Errorf("fulfillment %+v, want everything shipped", f)
	}
	// The same again: nothing new.
	if _, added, err := s.AddShipment(ctx, o.ID, ShipmentInput{Carrier: "fedex", TrackingNumber: "794612345678",
		Items: []ItemRef{{SKU: "TEA", Quantity: 1}}}, now); err != nil || added {
		t.Errorf("repeat: added=%v err=%v", added, err)
	}

	// A return linked to the order's items.
	got, added, err = s.AddShipment(ctx, o.ID, ShipmentInput{Carrier: "ups", TrackingNumber: "1ZRETURN01", Direction: Return,
		Items: []ItemRef{{SKU: "MUG", Quantity: 1}}}, now)
	if err != nil || !added || got.Shipments[2].Direction != Return {
		t.Fatalf("return: added=%v err=%v", added, err)
	}
	if st := DeriveReturnStatus(got, nil); st != ReturnRequested {
		t.Errorf("return status %s, want requested", st)
	}

	var fe *FieldError
	for _, tt := range []struct {
		in    ShipmentInput
		field string
	}{
		{ShipmentInput{Carrier: "ups", TrackingNumber: "1ZRETURN02", Direction: Return, Items: []ItemRef{{SKU: "MUG", Quantity: 2}}}, "items[0].quantity"},
		{ShipmentInput{Carrier: "ups", TrackingNumber: "1ZADD0003", Items: []ItemRef{{SKU: "HAT", Quantity: 1}}}, "items[0].sku"},
		{ShipmentInput{Carrier: "ups", TrackingNumber: "1ZADD0003", Direction: "sideways"}, "direction"},
		{ShipmentInput{Carrier: "ups"}, "tracking_number"},
	} {
		if _, _, err := s.AddShipment(ctx, o.ID, tt.in, now); !errors.As(err, &fe) || fe.Field != tt.field {
			t.Errorf("%+v: %v, want a %s error", tt.in, err, tt.field)
		}
	}

	// Another order's tracking number is refused.
	other := putTestOrder(t, s, "A-2")
	var ce *ConflictError
	if _, _, err := s.AddShipment(ctx, other.ID, ShipmentInput{Carrier: "ups", TrackingNumber: "1ZADD0001"}, now); !errors.As(err, &ce) {
		t.Errorf("another order's shipment: %v, want a conflict", err)
	}
}

// Concurrent edits of one order must all land: each is read, changed and
// written under WATCH.
func TestStore_ConcurrentOrderEditsAreNotLost(t *testing.T) {
	for _, b := range backends {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			s := newTestStore(t, b.Client(t))
			o := putTestOrder(t, s, "W-1")
			now := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
			var wg sync.WaitGroup
			errs := make(chan error, 12)
			for i := range 10 {
				wg.Go(func() {
					_, _, err := s.AddShipment(ctx, o.ID, ShipmentInput{Carrier: "ups", TrackingNumber: fmt.Sprintf("1ZCONC%04d", i)}, now)
					errs <- err
				})
			}
			wg.Go(func() {
				_, _, err := s.PatchContact(ctx, o.ID, ContactPatch{Name: str("Grace")}, now)
				errs <- err
			})
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			got, err := s.Order(ctx, o.ID)
			if err != nil || len(got.Shipments) != 10 || got.Customer.Name != "Grace" {
				t.Errorf("after concurrent edits: %d shipments, name %q, %v; want 10 and Grace", len(got.Shipments), got.Customer.Name, err)
			}
		})
	}
}

func TestStore_PutOrderReleasesTheShipmentsItDrops(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, realRedis.Client(t))
	o := putTestOrder(t, s, "D-1", ShipmentInput{Carrier: "ups", TrackingNumber: "1ZDROP0001"},
		ShipmentInput{Carrier: "ups", TrackingNumber: "1ZDROP0002"})
	again, _, err := s.PutOrder(ctx, OrderInput{Number: "D-1", Shipments: []ShipmentInput{{Carrier: "ups", TrackingNumber: "1ZDROP0001"}}},
		time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC))
	if err != nil || len(again.Shipments) != 1 {
		t.Fatalf("PutOrder: %d shipments, %v", len(again.Shipments), err)
	}
	kept, err := s.Shipment(ctx, o.Shipments[0].ID, false)
	if err != nil || kept.OrderID != o.ID {
		t.Errorf("kept shipment claimed by %q, %v; want %s", kept.OrderID, err, o.ID)
	}
	dropped, err := s.Shipment(ctx, o.Shipments[1].ID, false)
	if err != nil || dropped.OrderID != "" {
		t.Errorf("dropped shipment claimed by %q, %v; want released", dropped.OrderID, err)
	}
}

func TestStore_ATrackingNumberBelongsToOneOrderAtATime(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, realRedis.Client(t))
	now := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	a := putTestOrder(t, s, "ONE-A", ShipmentInput{Carrier: "ups", TrackingNumber: "1ZONE0001"})
	b := OrderInput{Number: "ONE-B", Shipments: []ShipmentInput{{Carrier: "ups", TrackingNumber: "1ZONE0001"}}}
	_, _, err := s.PutOrder(ctx, b, now)
	var ce *ConflictError
	if !errors.As(err, &ce) || !errors.Is(err, ErrClaimedElsewhere) || !strings.Contains(ce.Message, a.ID) {
		t.Fatalf("another order's tracking number: %v, want a conflict naming %s", err, a.ID)
	}
	if sh, _ := s.Shipment(ctx, a.Shipments[0].ID, false); sh == nil || sh.OrderID != a.ID {
		t.Fatalf("the shipment changed hands after a refused claim")
	}
	// Registered again without it, A lets it go, and B may have it.
	if _, _, err := s.PutOrder(ctx, OrderInput{Number: "ONE-A"}, now); err != nil {
		t.Fatal(err)
	}
	got, _, err := s.PutOrder(ctx, b, now)
	if err != nil || len(got.Shipments) != 1 {
		t.Fatalf("after A released it: %v", err)
	}
	if sh, _ := s.Shipment(ctx, got.Shipments[0].ID, false); sh == nil || sh.OrderID != got.ID {
		t.Errorf("the shipment is not B's")
	}
}
