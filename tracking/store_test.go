package tracking

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// randomUpdates makes a shuffled feed for one shipment with duplicates,
// same-instant events and estimated-delivery changes.
func randomUpdates(t *testing.T, rng *rand.Rand, n int) []Update {
	base := time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)
	statuses := Statuses()
	var us []Update
	for i := range n {
		at := base.Add(time.Duration(rng.IntN(72)) * time.Hour)
		zone := time.FixedZone("", (rng.IntN(25)-12)*3600)
		e := Event{Status: statuses[rng.IntN(len(statuses))], CarrierStatus: fmt.Sprint(i % 7),
			Message: fmt.Sprintf("scan %d", i), OccurredAt: at, OccurredAtLocal: at.In(zone),
			Location: Location{City: "Louisville", Country: "US"}}
		if rng.IntN(2) == 0 {
			e.ID = fmt.Sprintf("ev-%d", i)
		}
		u := Update{Carrier: "ups", TrackingNumber: "1Z999AA10123456784", Events: []Event{e},
			ReceivedAt: base.Add(time.Duration(i) * time.Minute)}
		if rng.IntN(3) == 0 {
			u.EstimatedDelivery = base.AddDate(0, 0, 3+rng.IntN(4)).Format(time.DateOnly)
		}
		us = append(us, u)
		if rng.IntN(5) == 0 {
			us = append(us, u) // a carrier re-sending the same message
		}
	}
	rng.Shuffle(len(us), func(i, j int) { us[i], us[j] = us[j], us[i] })
	return us
}

func TestStore_ApplyMatchesTheMergeRules(t *testing.T) {
	for _, b := range backends {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			s := newTestStore(t, b.Client(t))
			for seed := range uint64(20) {
				rng := rand.New(rand.NewPCG(seed, 7))
				us := randomUpdates(t, rng, 30)
				for i := range us {
					us[i].TrackingNumber = fmt.Sprintf("1Z%016d", seed)
				}
				var want Log
				for _, u := range us {
					wr := want.Apply(u)
					got, err := s.Apply(ctx, u)
					if err != nil {
						t.Fatal(err)
					}
					if got.Result != wr {
						t.Fatalf("seed %d: apply result = %+v, want %+v", seed, got.Result, wr)
					}
				}
				sh, err := s.Shipment(ctx, ShipmentID("ups", us[0].TrackingNumber), true)
				if err != nil {
					t.Fatal(err)
				}
				compareShipment(t, sh, &want)
			}
		})
	}
}

func compareShipment(t *testing.T, sh *Shipment, want *Log) {
	t.Helper()
	if sh.Status != want.Status {
		t.Errorf("%s: status = %s, want %s", sh.ID, sh.Status, want.Status)
	}
	if (sh.EstimatedDelivery == nil) != (want.ETA == nil) || (want.ETA != nil && *sh.EstimatedDelivery != *want.ETA) {
		t.Errorf("%s: eta = %+v, want %+v", sh.ID, sh.EstimatedDelivery, want.ETA)
	}
	wh := want.History()
	if sh.EventCount != len(wh) || len(sh.Events) != len(wh) {
		t.Fatalf("%s: %d events (count %d), want %d", sh.ID, len(sh.Events), sh.EventCount, len(wh))
	}
	for i := range wh {
		g, w := sh.Events[i], wh[i]
		if g.Key() != w.Key() || !g.OccurredAtLocal.Equal(w.OccurredAtLocal) ||
			g.OccurredAtLocal.Format(time.RFC3339) != w.OccurredAtLocal.Format(time.RFC3339) {
			t.Fatalf("%s: event %d = %s at %s, want %s at %s", sh.ID, i, g.Key(), g.OccurredAtLocal, w.Key(), w.OccurredAtLocal)
		}
	}
	if want.StatusEvent != nil && (sh.StatusEvent == nil || sh.StatusEvent.Key() != want.StatusEvent.Key()) {
		t.Errorf("%s: status event = %+v, want %s", sh.ID, sh.StatusEvent, want.StatusEvent.Key())
	}
}

func TestStore_UnclaimedEventsBelongToTheOrderThatClaimsThemLater(t *testing.T) {
	for _, b := range backends {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			s := newTestStore(t, b.Client(t))
			a := ev(t, "a", StatusInfoReceived, "2026-11-24T08:00:00-05:00")
			c := ev(t, "c", StatusInTransit, "2026-11-24T18:00:00-05:00")
			if _, err := s.Apply(ctx, upd("2026-11-27", a, c)); err != nil {
				t.Fatal(err)
			}
			o, created, err := s.PutOrder(ctx, OrderInput{
				Number:   "R-1001",
				Customer: Customer{Email: "ada@example.com"},
				Items:    []Item{{SKU: "MUG", Quantity: 2}},
				Shipments: []ShipmentInput{{Carrier: "UPS", TrackingNumber: "1Z999AA10123456784",
					Items: []ItemRef{{SKU: "MUG", Quantity: 2}}}},
			}, time.Now())
			if err != nil || !created {
				t.Fatalf("PutOrder: created=%v err=%v", created, err)
			}
			sh, err := s.Shipment(ctx, o.Shipments[0].ID, true)
			if err != nil {
				t.Fatal(err)
			}
			if sh.OrderID != o.ID || sh.Status != StatusInTransit || len(sh.Events) != 2 || len(sh.Items) != 1 {
				t.Errorf("claimed shipment = order %q status %s, %d events, items %v; want the whole history under %s",
					sh.OrderID, sh.Status, len(sh.Events), sh.Items, o.ID)
			}
			// Registering the same order again is the same order.
			again, created, err := s.PutOrder(ctx, OrderInput{Number: "R-1001", Customer: Customer{Email: "ada@example.com"},
				Items: []Item{{SKU: "MUG", Quantity: 2}}}, time.Now())
			if err != nil || created || again.ID != o.ID || again.Token != o.Token {
				t.Errorf("second PutOrder = %s/%v/%v, want %s, not created", again.ID, created, err, o.ID)
			}
			byToken, err := s.OrderByToken(ctx, o.Token)
			if err != nil || byToken.ID != o.ID {
				t.Errorf("OrderByToken = %s, %v", byToken.ID, err)
			}
		})
	}
}

func TestStore_ChangesAreForwardedOnceFromTheOutbox(t *testing.T) {
	for _, b := range backends {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			c := b.Client(t)
			s := newTestStore(t, c)
			a := ev(t, "a", StatusInTransit, "2026-11-24T08:00:00Z")
			r, err := s.Apply(ctx, upd("2026-11-27", a))
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Outbox) != 1 {
				t.Fatalf("outbox = %+v, want one change", r.Outbox)
			}
			ch, err := r.Outbox[0].Change()
			if err != nil || ch.ID != r.Outbox[0].ID || ch.From != StatusPending || ch.To != StatusInTransit || ch.ETALatest != "2026-11-27" || !ch.ETAChanged {
				t.Fatalf("change = %+v (%v), want pending to in_transit with the estimate", ch, err)
			}
			// The processor crashed before forwarding: the repeat finds the
			// change still in the outbox.
			r2, err := s.Apply(ctx, upd("2026-11-27", a))
			if err != nil {
				t.Fatal(err)
			}
			if len(r2.Outbox) != 1 || r2.Outbox[0].ID != r.Outbox[0].ID {
				t.Fatalf("outbox after redelivery = %+v, want the same change %s", r2.Outbox, r.Outbox[0].ID)
			}
			if err := s.ForwardChanges(ctx, r2.Outbox); err != nil {
				t.Fatal(err)
			}
			r3, err := s.Apply(ctx, upd("2026-11-27", a))
			if err != nil {
				t.Fatal(err)
			}
			if len(r3.Outbox) != 0 {
				t.Errorf("outbox after forwarding = %+v, want empty", r3.Outbox)
			}
			n, err := c.XLen(ctx, s.ChangesKey(s.ShardOf(r.ShipmentID))).Result()
			if err != nil || n != 1 {
				t.Errorf("change stream length = %d (%v), want 1", n, err)
			}
		})
	}
}

func TestStore_RetentionFollowsTheStatus(t *testing.T) {
	for _, b := range backends {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			c := b.Client(t)
			s := newTestStore(t, c)
			s.cfg.RetainFinished, s.cfg.RetainIdle = time.Hour, 48*time.Hour
			r, err := s.Apply(ctx, upd("", ev(t, "a", StatusInTransit, "2026-11-24T08:00:00Z")))
			if err != nil {
				t.Fatal(err)
			}
			keys := s.shipmentKeys(r.ShipmentID)
			if ttl := c.TTL(ctx, keys[0]).Val(); ttl <= time.Hour || ttl > 48*time.Hour {
				t.Errorf("in transit: ttl = %s, want the idle retention", ttl)
			}
			if _, err := s.Apply(ctx, upd("", ev(t, "b", StatusDelivered, "2026-11-25T08:00:00Z"))); err != nil {
				t.Fatal(err)
			}
			for _, k := range keys[:3] {
				if ttl := c.TTL(ctx, k).Val(); ttl <= 0 || ttl > time.Hour {
					t.Errorf("delivered: %s ttl = %s, want at most the finished retention", k, ttl)
				}
			}
		})
	}
}

func TestStore_EventsAfterACursor(t *testing.T) {
	for _, b := range backends {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			s := newTestStore(t, b.Client(t))
			var cursors []string
			for i, st := range []Status{StatusInfoReceived, StatusInTransit, StatusOutForDelivery} {
				r, err := s.Apply(ctx, upd("", ev(t, fmt.Sprint(i), st, fmt.Sprintf("2026-11-24T0%d:00:00Z", i))))
				if err != nil {
					t.Fatal(err)
				}
				cursors = append(cursors, r.Cursors...)
			}
			id := ShipmentID("ups", "1Z999AA10123456784")
			got, err := s.EventsAfter(ctx, id, cursors[0])
			if err != nil {
				t.Fatal(err)
			}
			var gotCursors []string
			for _, e := range got {
				gotCursors = append(gotCursors, e.Cursor)
			}
			if !slices.Equal(gotCursors, cursors[1:]) {
				t.Errorf("events after %s = %v, want %v", cursors[0], gotCursors, cursors[1:])
			}
		})
	}
}

func TestOrderInput_Validate(t *testing.T) {
	tests := []struct {
		name  string
		in    OrderInput
		field string
	}{
		{"no number", OrderInput{}, "order_number"},
		{"bad email", OrderInput{Number: "1", Customer: Customer{Email: "nope"}}, "customer.email"},
		{"item without sku", OrderInput{Number: "1", Items: []Item{{Quantity: 1}}}, "items[0].sku"},
		{"shipment without carrier", OrderInput{Number: "1", Shipments: []ShipmentInput{{TrackingNumber: "1"}}}, "shipments[0].carrier"},
		{"shipment of an unknown item", OrderInput{Number: "1", Shipments: []ShipmentInput{{Carrier: "ups", TrackingNumber: "1",
			Items: []ItemRef{{SKU: "X", Quantity: 1}}}}}, "shipments[0].items[0].sku"},
		{"bad direction", OrderInput{Number: "1", Shipments: []ShipmentInput{{Carrier: "ups", TrackingNumber: "1", Direction: "sideways"}}}, "shipments[0].direction"},
		{"the same number twice", OrderInput{Number: "1", Shipments: []ShipmentInput{{Carrier: "ups", TrackingNumber: "1"}, {Carrier: "UPS", TrackingNumber: "1"}}}, "shipments[1].tracking_number"},
		{"valid", OrderInput{Number: "1", Items: []Item{{SKU: "A", Quantity: 1}},
			Shipments: []ShipmentInput{{Carrier: "ups", TrackingNumber: "1", Items: []ItemRef{{SKU: "A", Quantity: 1}}}}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.in.Validate()
			var field string
			if fe, ok := err.(*FieldError); ok {
				field = fe.Field
			} else if err != nil {
				t.Fatalf("error %v is not a FieldError", err)
			}
			if field != tt.field {
				t.Errorf("invalid field = %q (%v), want %q", field, err, tt.field)
			}
		})
	}
}

func TestOrderInput_ValidateNamesEveryWrongField(t *testing.T) {
	in := OrderInput{Customer: Customer{Email: "nope", TimeZone: "Mars/Olympus"},
		Items: []Item{{SKU: "A", Quantity: 0}, {SKU: "B", Quantity: 1}},
		Shipments: []ShipmentInput{
			{TrackingNumber: "1"},
			{Carrier: "ups", TrackingNumber: "2", Direction: Return, Items: []ItemRef{{SKU: "B", Quantity: 2}, {SKU: "Z", Quantity: 1}}},
		}}
	var fes FieldErrors
	if err := in.Validate(); !errors.As(err, &fes) {
		t.Fatalf("%v: not a list of field errors", err)
	}
	var got []string
	for _, fe := range fes {
		got = append(got, fe.Field)
	}
	want := []string{"order_number", "customer.email", "customer.time_zone", "items[0].quantity",
		"shipments[0].carrier", "shipments[1].items[0].quantity", "shipments[1].items[1].sku"}
	if !slices.Equal(got, want) {
		t.Errorf("fields %v, want %v", got, want)
	}
	var first *FieldError
	if !errors.As(fes, &first) || first.Field != "order_number" {
		t.Errorf("errors.As finds %v, want the first", first)
	}
}

func TestStore_AppendBatchesConcurrentCallersAndRefusesWhenFull(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := realRedis.Client(t)
	s := newTestStore(t, c)
	s.cfg.Shards, s.cfg.IngestBacklog = 1, 500
	done := make(chan struct{})
	go func() { s.RunAppender(ctx, 2); close(done) }()

	ids := make(chan string, 400)
	errs := make(chan error, 400)
	for i := range 400 {
		go func() {
			id, err := s.Append(ctx, "test", []byte(fmt.Sprint(i)), "", time.Now())
			ids <- id
			errs <- err
		}()
	}
	seen := map[string]bool{}
	for range 400 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		seen[<-ids] = true
	}
	if n := c.XLen(ctx, s.IngestKey(0)).Val(); len(seen) != 400 || n != 400 {
		t.Fatalf("%d distinct ids, %d entries; want 400 of each", len(seen), n)
	}

	for i := range 100 {
		if _, err := s.Append(ctx, "test", []byte(fmt.Sprint(i)), "", time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	watchCtx, stopWatch := context.WithCancel(ctx)
	go s.WatchBacklog(watchCtx, time.Millisecond)
	waitFor(t, "the backlog to be seen as full", func() (bool, error) {
		_, err := s.Append(ctx, "test", []byte("x"), "", time.Now())
		return errors.Is(err, ErrBacklogFull), nil
	})
	stopWatch()

	// After the appender stops, appends still work, one round trip each.
	cancel()
	<-done
	s.backlogFull.Store(false)
	if _, err := s.Append(context.Background(), "test", []byte("late"), "", time.Now()); err != nil {
		t.Fatal(err)
	}
}

// A late message whose events are all known already can still carry an
// earlier promise: the first estimate moves, as the merge rules say, and
// nothing is reported as changed.
func TestStore_ALateEarlierPromiseMovesOnlyTheFirstEstimate(t *testing.T) {
	for _, b := range backends {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			s := newTestStore(t, b.Client(t))
			early := ev(t, "early", StatusInTransit, "2026-11-24T08:00:00-05:00")
			later := ev(t, "later", StatusInTransit, "2026-11-24T18:00:00-05:00")
			steps := []Update{upd("", early), upd("2026-11-28", later), upd("2026-11-27", early)}
			var log Log
			var last ApplyResult
			for _, u := range steps {
				log.Apply(u)
				r, err := s.Apply(ctx, u)
				if err != nil {
					t.Fatal(err)
				}
				last = r
				if err := s.ForwardChanges(ctx, r.Outbox); err != nil {
					t.Fatal(err)
				}
			}
			sh, err := s.Shipment(ctx, last.ShipmentID, false)
			if err != nil {
				t.Fatal(err)
			}
			if sh.EstimatedDelivery == nil || *sh.EstimatedDelivery != *log.ETA || log.ETA.First != "2026-11-27" {
				t.Errorf("stored estimate %+v, merge rules say %+v (first 2026-11-27, latest 2026-11-28)", sh.EstimatedDelivery, log.ETA)
			}
			if last.ETAChanged || len(last.Outbox) != 0 {
				t.Errorf("the late promise reported a change: %+v", last.Result)
			}
		})
	}
}
