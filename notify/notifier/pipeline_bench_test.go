package notifier

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/trackd/trackd/notify"
	"github.com/trackd/trackd/notify/deliverylog"
	"github.com/trackd/trackd/notify/email"
	"github.com/trackd/trackd/notify/email/smtptest"
	"github.com/trackd/trackd/notify/optout"
	"github.com/trackd/trackd/notify/templates"
	"github.com/trackd/trackd/tracking"
	"github.com/trackd/trackd/tracking/redistest"
)

// BenchmarkPipeline_Email is the whole email path on one node: changes
// already in the change stream, read by the notifier's consumer group,
// rendered from the default templates, sent over reused SMTP connections
// to an in-process server, each recorded in the delivery log. It reports
// emails per second from the first read to the last message accepted.
//
//	go test -run '^$' -bench Pipeline -benchtime 3000x ./notify/notifier/
func BenchmarkPipeline_Email(b *testing.B) {
	ctx := context.Background()
	rdb := srv.Client(b)
	prefix := redistest.Prefix(b)
	scfg := tracking.DefaultStoreConfig()
	scfg.Prefix = prefix
	store, err := tracking.NewStore(rdb, scfg)
	if err != nil {
		b.Fatal(err)
	}
	smtp := smtptest.Start(b, smtptest.Options{DiscardData: true})
	sender, err := email.New(email.Config{URL: smtp.URL(), From: "shop@example.com", PoolSize: 8})
	if err != nil {
		b.Fatal(err)
	}
	defer sender.Close()
	key := make([]byte, 32)
	hasher, _ := optout.NewHasher(key)
	optouts, _ := optout.NewStore(rdb, prefix, hasher, nil)
	signer, _ := optout.NewSigner(hasher, key)
	dcfg := deliverylog.DefaultConfig()
	dcfg.Prefix, dcfg.HashKey = prefix, key
	dlog, err := deliverylog.New(rdb, dcfg)
	if err != nil {
		b.Fatal(err)
	}
	engine := templates.NewEngine(templates.DefaultLimits())
	defaults, err := templates.LoadDefaults()
	if err != nil {
		b.Fatal(err)
	}
	composer := &TemplateComposer{Templates: templates.NewStore(rdb, engine, defaults, templates.StoreConfig{Prefix: prefix}),
		Engine: engine, Signer: signer, PublicURL: "https://track.example.com", Store: templates.StoreInfo{Name: "Acme"}}
	cfg := DefaultConfig("bench")
	cfg.Prefix, cfg.Shards, cfg.Collapse, cfg.QuietStart, cfg.QuietEnd = prefix, scfg.Shards, 0, 0, 0
	cfg.Idle = 10 * time.Millisecond
	n := New(rdb, store, notify.NewRuleStore(rdb, prefix), composer, map[notify.Channel]Sender{notify.Email: EmailSender{sender}},
		optouts, Log{dlog}, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))

	// The changes: each order's shipment goes out for delivery.
	now := time.Now()
	for i := range b.N {
		number := fmt.Sprintf("1ZBENCH%06d", i)
		in := tracking.OrderInput{Number: fmt.Sprintf("B-%d", i),
			Customer:  tracking.Customer{Name: "Ana García", Email: fmt.Sprintf("ana%d@example.com", i), Locale: "es"},
			Items:     []tracking.Item{{SKU: "MUG", Name: "Taza", Quantity: 1}},
			Shipments: []tracking.ShipmentInput{{Carrier: "ups", TrackingNumber: number}}}
		if _, _, err := store.PutOrder(ctx, in, now); err != nil {
			b.Fatal(err)
		}
		r, err := store.Apply(ctx, tracking.Update{Carrier: "ups", TrackingNumber: number, ReceivedAt: now, Events: []tracking.Event{{
			Status: tracking.StatusOutForDelivery, Message: "Out for delivery", OccurredAt: now, OccurredAtLocal: now,
			Location: tracking.Location{City: "Madrid", Country: "ES"}}}})
		if err != nil {
			b.Fatal(err)
		}
		if err := store.ForwardChanges(ctx, r.Outbox); err != nil {
			b.Fatal(err)
		}
	}

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	b.ResetTimer()
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- n.Run(runCtx) }()
	smtp.Wait(b, b.N)
	elapsed := time.Since(start)
	b.StopTimer()
	stop()
	<-done
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "emails/s")
}
