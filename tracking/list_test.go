package tracking

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// listAll pages through a shipment listing to its end.
func listAll(t *testing.T, s *Store, q ListQuery, match func(*Shipment) bool) (ids []string, pages int) {
	t.Helper()
	for {
		got, next, err := s.ListShipments(context.Background(), q, match)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) > q.Limit {
			t.Fatalf("page of %d, limit %d", len(got), q.Limit)
		}
		for _, sh := range got {
			ids = append(ids, sh.ID)
		}
		pages++
		if next == "" {
			return ids, pages
		}
		if pages > 10_000 {
			t.Fatal("the listing does not end")
		}
		q.Cursor = next
	}
}

func numbered(i int, at time.Time, st Status) Update {
	return Update{Carrier: "ups", TrackingNumber: fmt.Sprintf("1ZLIST%06d", i), ReceivedAt: at,
		Events: []Event{{ID: "e", Status: st, OccurredAt: at, OccurredAtLocal: at}}}
}

func TestStore_ListShipmentsWalksEveryShardInOrder(t *testing.T) {
	for _, b := range backends {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			s := newTestStore(t, b.Client(t))
			base := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
			// 300 shipments over 30 instants, ten sharing each: ties must
			// neither repeat nor drop a shipment at a page boundary.
			var us []Update
			want := map[string]int64{}
			for i := range 300 {
				at := base.Add(time.Duration(i/10) * time.Minute)
				st := StatusInTransit
				if i%3 == 0 {
					st = StatusDelivered
				}
				us = append(us, numbered(i, at, st))
				want[ShipmentID("ups", fmt.Sprintf("1ZLIST%06d", i))] = at.UnixMilli()
			}
			if _, _, err := s.ApplyBatch(ctx, us); err != nil {
				t.Fatal(err)
			}
			for _, limit := range []int{1, 7, 10, 200} {
				ids, _ := listAll(t, s, ListQuery{Limit: limit}, func(*Shipment) bool { return true })
				if len(ids) != 300 {
					t.Fatalf("limit %d: %d shipments listed, want 300", limit, len(ids))
				}
				seen := map[string]bool{}
				var last int64
				for _, id := range ids {
					if seen[id] {
						t.Fatalf("limit %d: %s listed twice", limit, id)
					}
					seen[id] = true
					if want[id] < last {
						t.Fatalf("limit %d: %s (updated %d) after one updated %d", limit, id, want[id], last)
					}
					last = want[id]
				}
			}
			// A filter keeps the order and finds exactly its matches.
			ids, _ := listAll(t, s, ListQuery{Limit: 9}, func(sh *Shipment) bool { return sh.Status == StatusDelivered })
			if len(ids) != 100 {
				t.Errorf("delivered: %d listed, want 100", len(ids))
			}
			// Since keeps what was updated at or after it.
			ids, _ = listAll(t, s, ListQuery{Limit: 50, Since: base.Add(25 * time.Minute)}, func(*Shipment) bool { return true })
			if len(ids) != 50 {
				t.Errorf("since minute 25: %d listed, want 50", len(ids))
			}
		})
	}
}

func TestStore_ListShipmentsSeesARecordUpdatedWhilePaging(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, realRedis.Client(t))
	base := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	var us []Update
	for i := range 20 {
		us = append(us, numbered(i, base.Add(time.Duration(i)*time.Second), StatusInTransit))
	}
	if _, _, err := s.ApplyBatch(ctx, us); err != nil {
		t.Fatal(err)
	}
	all := func(*Shipment) bool { return true }
	page, next, err := s.ListShipments(ctx, ListQuery{Limit: 10}, all)
	if err != nil || len(page) != 10 || next == "" {
		t.Fatalf("first page: %d, %q, %v", len(page), next, err)
	}
	// The first shipment listed gets a new scan: it must come again, after
	// the rest, so a sync that pages on sees its new state.
	first := page[0]
	late := numbered(0, base.Add(time.Hour), StatusOutForDelivery)
	late.Events[0].ID = "e2"
	if _, err := s.Apply(ctx, late); err != nil {
		t.Fatal(err)
	}
	q := ListQuery{Limit: 100, Cursor: next}
	page, next, err = s.ListShipments(ctx, q, all)
	if err != nil || next != "" || len(page) != 11 {
		t.Fatalf("second page: %d, %q, %v; want the other 10 and the updated one", len(page), next, err)
	}
	if last := page[len(page)-1]; last.ID != first.ID || last.Status != StatusOutForDelivery {
		t.Errorf("last listed %s (%s), want %s out for delivery", last.ID, last.Status, first.ID)
	}
}

func TestStore_ListingStopsAtItsBudgetAndGoesOn(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, realRedis.Client(t))
	base := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	n := ListBudget + ListBudget/2
	var us []Update
	for i := range n {
		st := StatusInTransit
		if i == n-1 {
			st = StatusException
		}
		us = append(us, numbered(i, base.Add(time.Duration(i)*time.Millisecond), st))
	}
	for i := 0; i < len(us); i += 500 {
		if _, _, err := s.ApplyBatch(ctx, us[i:min(i+500, len(us))]); err != nil {
			t.Fatal(err)
		}
	}
	exception := func(sh *Shipment) bool { return sh.Status == StatusException }
	page, next, err := s.ListShipments(ctx, ListQuery{Limit: 10}, exception)
	if err != nil || len(page) != 0 || next == "" {
		t.Fatalf("first page: %d found, cursor %q, %v; want none found within the budget and a cursor", len(page), next, err)
	}
	page, next, err = s.ListShipments(ctx, ListQuery{Limit: 10, Cursor: next}, exception)
	if err != nil || len(page) != 1 || next != "" {
		t.Fatalf("second page: %d found, cursor %q, %v; want the one exception and the end", len(page), next, err)
	}
}

func TestStore_ListingDropsExpiredRecordsAndRefusesBadInput(t *testing.T) {
	for _, b := range backends {
		t.Run(b.Name, func(t *testing.T) { testListingDrops(t, b.Client(t)) })
	}
}

func testListingDrops(t *testing.T, c redis.UniversalClient) {
	ctx := context.Background()
	s := newTestStore(t, c)
	at := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	if _, _, err := s.ApplyBatch(ctx, []Update{numbered(1, at, StatusInTransit), numbered(2, at, StatusInTransit)}); err != nil {
		t.Fatal(err)
	}
	gone := ShipmentID("ups", "1ZLIST000001")
	if err := c.Del(ctx, s.StateKey(gone)).Err(); err != nil {
		t.Fatal(err)
	}
	ids, _ := listAll(t, s, ListQuery{Limit: 10}, func(*Shipment) bool { return true })
	if len(ids) != 1 || ids[0] == gone {
		t.Errorf("listed %v, want only the shipment that still exists", ids)
	}
	if n, _ := c.ZCard(ctx, s.shipmentIndexKey(s.ShardOf(gone))).Result(); n > 1 {
		t.Errorf("the expired shipment is still indexed")
	}
	for _, q := range []ListQuery{{Limit: 0}, {Limit: MaxListLimit + 1}, {Limit: 5, Cursor: "bm90IGEgY3Vyc29y"}, {Limit: 5, Cursor: "%%"}} {
		_, _, err := s.ListShipments(ctx, q, func(*Shipment) bool { return true })
		var fe *FieldError
		if !errors.As(err, &fe) {
			t.Errorf("%+v: %v, want a field error", q, err)
		}
	}
	// An order cursor is not a shipment cursor.
	_, next, err := s.ListOrders(ctx, ListQuery{Limit: 1}, func(OrderRecord) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	if next != "" {
		if _, _, err := s.ListShipments(ctx, ListQuery{Limit: 1, Cursor: next}, func(*Shipment) bool { return true }); err == nil {
			t.Error("an order cursor was taken by the shipment listing")
		}
	}
}

func TestStore_IndexIsRestoredWhenABatchIsReplayed(t *testing.T) {
	ctx := context.Background()
	c := realRedis.Client(t)
	s := newTestStore(t, c)
	at := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	u := numbered(7, at, StatusInTransit)
	if _, err := s.Apply(ctx, u); err != nil {
		t.Fatal(err)
	}
	// As if the processor died between applying and indexing.
	id := ShipmentID(u.Carrier, u.TrackingNumber)
	if err := c.ZRem(ctx, s.shipmentIndexKey(s.ShardOf(id)), id).Err(); err != nil {
		t.Fatal(err)
	}
	r, err := s.Apply(ctx, u)
	if err != nil || r.Duplicates != 1 {
		t.Fatalf("replay: %+v, %v", r, err)
	}
	score, err := c.ZScore(ctx, s.shipmentIndexKey(s.ShardOf(id)), id).Result()
	if err != nil || int64(score) != at.UnixMilli() {
		t.Errorf("index score after replay = %v, %v; want the shipment's updated_at %d", score, err, at.UnixMilli())
	}
}

func TestStore_ListOrdersFollowsTheirShipments(t *testing.T) {
	for _, b := range backends {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			s := newTestStore(t, b.Client(t))
			t0 := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
			var orders []Order
			for i := range 5 {
				o, _, err := s.PutOrder(ctx, OrderInput{Number: fmt.Sprintf("L-%d", i),
					Shipments: []ShipmentInput{{Carrier: "ups", TrackingNumber: fmt.Sprintf("1ZLIST%06d", i)}}},
					t0.Add(time.Duration(i)*time.Minute))
				if err != nil {
					t.Fatal(err)
				}
				orders = append(orders, o)
			}
			// A scan of order 1's shipment an hour later moves the order.
			if _, err := s.Apply(ctx, numbered(1, t0.Add(time.Hour), StatusInTransit)); err != nil {
				t.Fatal(err)
			}
			recs, next, err := s.ListOrders(ctx, ListQuery{Limit: 10, Since: t0.Add(30 * time.Minute)},
				func(OrderRecord) bool { return true })
			if err != nil || next != "" {
				t.Fatal(next, err)
			}
			if len(recs) != 1 || recs[0].Order.ID != orders[1].ID {
				t.Fatalf("orders updated in the last half hour: %d, want order 1 only", len(recs))
			}
			sh := recs[0].Shipments[orders[1].Shipments[0].ID]
			if sh == nil || sh.Status != StatusInTransit {
				t.Errorf("the listed order's shipment state = %+v, want in transit", sh)
			}
			recs, _, err = s.ListOrders(ctx, ListQuery{Limit: 10}, func(r OrderRecord) bool {
				return DeriveOrderStatus(r.Order, r.Shipments) == OrderPending
			})
			if err != nil || len(recs) != 4 {
				t.Errorf("pending orders: %d, %v; want 4", len(recs), err)
			}
		})
	}
}
