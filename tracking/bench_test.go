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
