package tracking

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/trackd/trackd/tracking/redistest"
)

// TestStore_OrdersAndListingsOnARedisCluster runs the OMS side on a real
// three-node Redis Cluster: every script touches one slot, pipelines span
// nodes, and order edits WATCH one key, so orders, applies, listings,
// edits and a carrier correction must behave as on one server.
func TestStore_OrdersAndListingsOnARedisCluster(t *testing.T) {
	ctx := context.Background()
	cl := redistest.StartCluster(t, 3)
	s := newTestStore(t, cl.Client(t))
	t0 := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)

	// Orders of two shipments each, spread over every node.
	var orders []Order
	for i := range 30 {
		o, created, err := s.PutOrder(ctx, OrderInput{Number: fmt.Sprintf("CL-%d", i),
			Items: []Item{{SKU: "A", Quantity: 1}, {SKU: "B", Quantity: 1}},
			Shipments: []ShipmentInput{
				{Carrier: "ups", TrackingNumber: fmt.Sprintf("1ZCL%04dA", i), Items: []ItemRef{{SKU: "A", Quantity: 1}}},
				{Carrier: "ups", TrackingNumber: fmt.Sprintf("1ZCL%04dB", i), Items: []ItemRef{{SKU: "B", Quantity: 1}}},
			}}, t0.Add(time.Duration(i)*time.Second))
		if err != nil || !created {
			t.Fatalf("order %d: created=%v %v", i, created, err)
		}
		orders = append(orders, o)
	}
	// Half the orders get one package delivered, an hour later.
	var us []Update
	for i := 0; i < 30; i += 2 {
		at := t0.Add(time.Hour + time.Duration(i)*time.Second)
		us = append(us, Update{Carrier: "ups", TrackingNumber: fmt.Sprintf("1ZCL%04dA", i), ReceivedAt: at,
			Events: []Event{{ID: "d", Status: StatusDelivered, OccurredAt: at, OccurredAtLocal: at}}})
	}
	if _, errs, err := s.ApplyBatch(ctx, us); err != nil || errors.Join(errs...) != nil {
		t.Fatalf("apply: %v %v", err, errors.Join(errs...))
	}

	// The data is spread: every node holds some of it.
	for _, n := range cl.Nodes {
		c := redis.NewClient(&redis.Options{Addr: n.Addr})
		keys, err := c.DBSize(ctx).Result()
		c.Close()
		if err != nil || keys == 0 {
			t.Fatalf("node %s holds %d keys, %v; want a share", n.Addr, keys, err)
		}
	}

	all := func(OrderRecord) bool { return true }
	var listed []string
	q := ListQuery{Limit: 7}
	for {
		recs, next, err := s.ListOrders(ctx, q, all)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			listed = append(listed, r.Order.ID)
		}
		if next == "" {
			break
		}
		q.Cursor = next
	}
	if len(listed) != 30 {
		t.Fatalf("%d orders listed over the cluster, want 30", len(listed))
	}
	partial, _, err := s.ListOrders(ctx, ListQuery{Limit: 100, Since: t0.Add(30 * time.Minute)}, func(r OrderRecord) bool {
		return DeriveOrderStatus(r.Order, r.Shipments) == OrderPartiallyDelivered
	})
	if err != nil || len(partial) != 15 {
		t.Fatalf("partially delivered since the deliveries: %d, %v; want 15", len(partial), err)
	}
	delivered, _, err := s.ListShipments(ctx, ListQuery{Limit: 100}, func(sh *Shipment) bool { return sh.Status == StatusDelivered })
	if err != nil || len(delivered) != 15 {
		t.Fatalf("delivered shipments: %d, %v; want 15", len(delivered), err)
	}

	// Concurrent edits of one order, under WATCH on a cluster node.
	o := orders[1]
	var wg sync.WaitGroup
	errc := make(chan error, 8)
	for i := range 6 {
		wg.Go(func() {
			_, _, err := s.AddShipment(ctx, o.ID, ShipmentInput{Carrier: "ups", TrackingNumber: fmt.Sprintf("1ZCLRET%02d", i),
				Direction: Return, Items: []ItemRef{{SKU: "A", Quantity: 1}}}, t0)
			errc <- err
		})
	}
	wg.Go(func() {
		_, _, err := s.PatchContact(ctx, o.ID, ContactPatch{Email: str("grace@example.com")}, t0)
		errc <- err
	})
	wg.Wait()
	close(errc)
	var fe *FieldError
	refused := 0
	for err := range errc {
		switch {
		case errors.As(err, &fe) && fe.Field == "items[0].quantity":
			refused++ // only one return of the one A ordered fits
		case err != nil:
			t.Fatal(err)
		}
	}
	got, err := s.Order(ctx, o.ID)
	if err != nil || len(got.Shipments) != 3 || refused != 5 || got.Customer.Email != "grace@example.com" {
		t.Errorf("after concurrent edits: %d shipments, %d refused, email %q, %v; want 3, 5 and the patch", len(got.Shipments), refused, got.Customer.Email, err)
	}

	// A tracking number stays with its order; cancelling an order whose
	// parcels have not moved works; a carrier correction moves the claim.
	if _, _, err := s.PutOrder(ctx, OrderInput{Number: "CL-X", Shipments: []ShipmentInput{{Carrier: "ups", TrackingNumber: "1ZCL0000A"}}}, t0); !errors.Is(err, ErrClaimedElsewhere) {
		t.Errorf("another order's number: %v, want refused", err)
	}
	if _, _, err := s.CancelOrder(ctx, orders[3].ID, "", t0); err != nil {
		t.Errorf("cancel: %v", err)
	}
	newID, err := s.ChangeCarrier(ctx, orders[5].Shipments[0].ID, "fedex", t0)
	if err != nil {
		t.Fatal(err)
	}
	moved, err := s.Order(ctx, orders[5].ID)
	if err != nil || moved.Shipments[0].ID != newID {
		t.Errorf("after the carrier change the order lists %v, %v; want %s first", moved.Shipments, err, newID)
	}
}
