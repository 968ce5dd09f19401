package web

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/trackd/trackd/tracking"
	"github.com/trackd/trackd/tracking/redistest"
)

func TestHub_SlowClientIsCutAndOthersKeepTheirEvents(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	cfg := tracking.DefaultStoreConfig()
	cfg.Prefix = redistest.Prefix(t)
	store, err := tracking.NewStore(rdb, cfg)
	if err != nil {
		t.Fatal(err)
	}
	hcfg := DefaultHubConfig()
	hcfg.QueueSize = 3
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	hub := NewHub(hcfg, rdb, store, store, prometheus.NewRegistry(), log)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go hub.Run(ctx)

	id := tracking.ShipmentID("ups", "1ZSLOW")
	slow, err := hub.connect(ctx, "test", []string{id})
	if err != nil {
		t.Fatal(err)
	}
	defer slow.disconnect()
	fast, err := hub.connect(ctx, "test", []string{id})
	if err != nil {
		t.Fatal(err)
	}
	defer fast.disconnect()
	for _, c := range []*liveClient{slow, fast} {
		if err := c.attach(ctx, map[string]string{id: "0-0"}, false); err != nil {
			t.Fatal(err)
		}
	}

	// The fast client reads as events come; the slow one reads nothing.
	got := make(chan string, 100)
	go func() {
		for {
			select {
			case m := <-fast.send:
				got <- m.cursor
			case <-fast.done:
				close(got)
				return
			}
		}
	}()
	base := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	var cursors []string
	for i := range 10 {
		at := base.Add(time.Duration(i) * time.Minute)
		r, err := store.Apply(ctx, tracking.Update{Carrier: "ups", TrackingNumber: "1ZSLOW", ReceivedAt: at,
			Events: []tracking.Event{{ID: string(rune('a' + i)), Status: tracking.StatusInTransit, OccurredAt: at, OccurredAtLocal: at}}})
		if err != nil {
			t.Fatal(err)
		}
		cursors = append(cursors, r.Cursors...)
		hub.kick(id) // what the processor's notification does
		// Each event is awaited by the fast client before the next.
		select {
		case c := <-got:
			if c != r.Cursors[0] {
				t.Fatalf("fast client got %s, want %s", c, r.Cursors[0])
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("fast client did not get event %d", i)
		}
	}
	select {
	case <-slow.done:
		if slow.code != closeTryAgainLater {
			t.Errorf("slow client closed with %d, want %d", slow.code, closeTryAgainLater)
		}
	default:
		t.Error("a client that read nothing with a queue of 3 was not cut after 10 events")
	}
	if len(cursors) != 10 {
		t.Fatalf("applied %d events", len(cursors))
	}
}

func TestHub_SubscriptionsAreSharedAndReleased(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	cfg := tracking.DefaultStoreConfig()
	cfg.Prefix = redistest.Prefix(t)
	store, _ := tracking.NewStore(rdb, cfg)
	hub := NewHub(DefaultHubConfig(), rdb, store, store, prometheus.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx := context.Background()
	id := tracking.ShipmentID("ups", "1ZREF")
	var clients []*liveClient
	for range 5 {
		c, err := hub.connect(ctx, "test", []string{id})
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
	}
	channel := store.LiveChannel(id)
	subscribers := func() int64 {
		n, err := rdb.PubSubNumSub(ctx, channel).Result()
		if err != nil {
			t.Fatal(err)
		}
		return n[channel]
	}
	hubWaitUntil(t, "one subscription for five clients", func() bool { return subscribers() == 1 })
	for _, c := range clients {
		c.disconnect()
	}
	hubWaitUntil(t, "the subscription to be released", func() bool { return subscribers() == 0 })
	hub.mu.Lock()
	n := len(hub.watches)
	hub.mu.Unlock()
	if n != 0 {
		t.Errorf("%d watches left after every client left", n)
	}
}

func hubWaitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestHub_ALostNotificationIsCaughtByTheResync(t *testing.T) {
	srv := redistest.Start(t)
	rdb := srv.Client(t)
	cfg := tracking.DefaultStoreConfig()
	cfg.Prefix = redistest.Prefix(t)
	store, _ := tracking.NewStore(rdb, cfg)
	hcfg := DefaultHubConfig()
	hcfg.Resync = 100 * time.Millisecond
	hub := NewHub(hcfg, rdb, store, store, prometheus.NewRegistry(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go hub.Run(ctx)
	id := tracking.ShipmentID("ups", "1ZLOST")
	c, err := hub.connect(ctx, "test", []string{id})
	if err != nil {
		t.Fatal(err)
	}
	defer c.disconnect()
	if err := c.attach(ctx, map[string]string{id: "0-0"}, false); err != nil {
		t.Fatal(err)
	}
	// Applied without any notification, as if pub/sub had dropped it.
	at := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	r, err := store.Apply(ctx, tracking.Update{Carrier: "ups", TrackingNumber: "1ZLOST", ReceivedAt: at,
		Events: []tracking.Event{{ID: "a", Status: tracking.StatusInTransit, OccurredAt: at, OccurredAtLocal: at}}})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-c.send:
		if m.cursor != r.Cursors[0] {
			t.Errorf("got %s, want %s", m.cursor, r.Cursors[0])
		}
	case <-time.After(10 * time.Second):
		t.Fatal("an event without a notification never reached the client")
	}
}
