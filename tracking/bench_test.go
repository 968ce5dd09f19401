package tracking

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkStore_ApplyBatch measures applying batches of updates as the
// processors do, on the real redis-server: each update is one new event for
// one of 5,000 shipments, moving its status.
func BenchmarkStore_ApplyBatch(b *testing.B) {
	c := realRedis.Client(b)
	cfg := DefaultStoreConfig()
	cfg.Prefix = fmt.Sprintf("bench%d:", time.Now().UnixNano())
	s, err := NewStore(c, cfg)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	const batch = 256
	base := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	statuses := []Status{StatusInfoReceived, StatusInTransit, StatusOutForDelivery, StatusDelivered}
	us := make([]Update, batch)
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for b.Loop() {
		for i := range us {
			at := base.Add(time.Duration(n) * time.Second)
			us[i] = Update{Carrier: "ups", TrackingNumber: fmt.Sprintf("1ZB%06d", n%5000), ReceivedAt: at,
				Events: []Event{{ID: fmt.Sprint(n), Status: statuses[(n/5000)%4], Message: "Departed from facility",
					OccurredAt: at, OccurredAtLocal: at, Location: Location{City: "Louisville", Region: "KY", Country: "US"}}}}
			n++
		}
		res, errs, err := s.ApplyBatch(ctx, us)
		if err != nil {
			b.Fatal(err)
		}
		var changes []OutboxEntry
		for i := range res {
			if errs[i] != nil {
				b.Fatal(errs[i])
			}
			changes = append(changes, res[i].Outbox...)
		}
		if err := s.ForwardChanges(ctx, changes); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/update")
}

// BenchmarkStore_Append measures the durable append a webhook waits for.
func BenchmarkStore_Append(b *testing.B) {
	c := realRedis.Client(b)
	cfg := DefaultStoreConfig()
	cfg.Prefix = fmt.Sprintf("bench%d:", time.Now().UnixNano())
	s, err := NewStore(c, cfg)
	if err != nil {
		b.Fatal(err)
	}
	body := make([]byte, 450)
	ctx := context.Background()
	b.ReportAllocs()
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			if _, err := s.Append(ctx, "generic", body, fmt.Sprint(i), time.Now()); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkStore_ListOrders measures a listing page over 5,000 orders of
// two shipments each, on the real redis-server: a full page of 200 with
// no filter, and a filter nothing matches, which examines the whole
// per-request budget (ListBudget orders and their shipments) to answer
// an empty page.
func BenchmarkStore_ListOrders(b *testing.B) {
	c := realRedis.Client(b)
	cfg := DefaultStoreConfig()
	cfg.Prefix = fmt.Sprintf("bench%d:", time.Now().UnixNano())
	s, err := NewStore(c, cfg)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	base := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	for i := range 5000 {
		_, _, err := s.PutOrder(ctx, OrderInput{Number: fmt.Sprintf("B-%d", i), Customer: Customer{Email: "ada@example.com"},
			Items: []Item{{SKU: "A", Quantity: 1}, {SKU: "B", Quantity: 1}},
			Shipments: []ShipmentInput{
				{Carrier: "ups", TrackingNumber: fmt.Sprintf("1ZL%06d", i), Items: []ItemRef{{SKU: "A", Quantity: 1}}},
				{Carrier: "fedex", TrackingNumber: fmt.Sprintf("7%011d", i), Items: []ItemRef{{SKU: "B", Quantity: 1}}},
			}}, base.Add(time.Duration(i)*time.Second))
		if err != nil {
			b.Fatal(err)
		}
	}
	for _, bc := range []struct {
		name  string
		match func(OrderRecord) bool
		want  int
	}{
		{"page_of_200", func(OrderRecord) bool { return true }, 200},
		{"filter_matching_none", func(r OrderRecord) bool { return DeriveOrderStatus(r.Order, r.Shipments) == OrderDelivered }, 0},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				recs, next, err := s.ListOrders(ctx, ListQuery{Limit: MaxListLimit}, bc.match)
				if err != nil || len(recs) != bc.want || next == "" {
					b.Fatalf("%d orders, next %q, %v", len(recs), next, err)
				}
			}
		})
	}
}
