package tracking

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

const recarrierNumber = "1Z999AA10123456784"

var recarrierNow = time.Date(2026, 11, 25, 16, 0, 0, 0, time.UTC)

// recarrierFixture is an order whose first shipment was registered under
// the wrong carrier (UPS) and has a history there: three scans, one
// without a carrier id, one with the carrier's raw payload, and a delivery
// promise that moved.
type recarrierFixture struct {
	s       *Store
	order   Order
	oldID   string
	before  *Shipment // the UPS shipment, with events, before the change
	fedexID string
}

func newRecarrierFixture(t *testing.T, s *Store) recarrierFixture {
	t.Helper()
	ctx := context.Background()
	o, _, err := s.PutOrder(ctx, OrderInput{
		Number:   "R-2001",
		Customer: Customer{Email: "ada@example.com"},
		Items:    []Item{{SKU: "MUG", Name: "Mug", Quantity: 2}, {SKU: "PLATE", Quantity: 1}},
		Shipments: []ShipmentInput{
			{Carrier: "ups", TrackingNumber: recarrierNumber, Items: []ItemRef{{SKU: "MUG", Quantity: 2}}},
			{Carrier: "usps", TrackingNumber: "9400111206206406260787", Direction: Return, Items: []ItemRef{{SKU: "PLATE", Quantity: 1}}},
		},
	}, recarrierNow.Add(-48*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	a := ev(t, "a", StatusInfoReceived, "2026-11-24T08:00:00-05:00")
	a.Raw = json.RawMessage(`{"code":"MP"}`)
	b := ev(t, "", StatusInTransit, "2026-11-24T20:00:00-05:00")
	c := ev(t, "c", StatusOutForDelivery, "2026-11-25T07:00:00-05:00")
	for _, u := range []Update{upd("2026-11-26", a), upd("2026-11-27", b, c)} {
		if _, err := s.Apply(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	before, err := s.Shipment(ctx, o.Shipments[0].ID, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(before.Events) != 3 || before.Status != StatusOutForDelivery ||
		before.EstimatedDelivery == nil || *before.EstimatedDelivery != (ETA{First: "2026-11-26", Latest: "2026-11-27"}) {
		t.Fatalf("fixture shipment = %+v, want three events, out for delivery, a promise that moved", before)
	}
	return recarrierFixture{s: s, order: o, oldID: o.Shipments[0].ID, before: before, fedexID: ShipmentID("fedex", recarrierNumber)}
}

// withoutCursors returns events as they are apart from where they are stored.
func withoutCursors(es []Event) []Event {
	out := make([]Event, len(es))
	for i, e := range es {
		e.Cursor = ""
		out[i] = e
	}
	return out
}

// checkMoved checks the state a completed correction to FedEx leaves.
func (f recarrierFixture) checkMoved(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	s := f.s
	o, err := s.Order(ctx, f.order.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantClaims := []ShipmentClaim{
		{ID: f.fedexID, Carrier: "fedex", TrackingNumber: recarrierNumber, Direction: Outbound, Items: []ItemRef{{SKU: "MUG", Quantity: 2}}},
		f.order.Shipments[1],
	}
	if !reflect.DeepEqual(o.Shipments, wantClaims) {
		t.Errorf("order claims = %+v, want %+v", o.Shipments, wantClaims)
	}
	if o.Token != f.order.Token || o.Number != f.order.Number || !reflect.DeepEqual(o.Items, f.order.Items) {
		t.Errorf("order = %+v, want the same order apart from its claims", o)
	}

	sh, err := s.Shipment(ctx, f.fedexID, true)
	if err != nil {
		t.Fatal(err)
	}
	if sh.Carrier != "fedex" || sh.TrackingNumber != recarrierNumber || sh.OrderID != f.order.ID ||
		sh.Direction != Outbound || !reflect.DeepEqual(sh.Items, wantClaims[0].Items) {
		t.Errorf("new shipment = %+v, want FedEx %s claimed by %s with the same items", sh, recarrierNumber, f.order.ID)
	}
	if sh.Status != f.before.Status || sh.EventCount != len(f.before.Events) ||
		!reflect.DeepEqual(withoutCursors(sh.Events), withoutCursors(f.before.Events)) {
		t.Errorf("new shipment: %s with %d events %+v, want %s with %+v", sh.Status, sh.EventCount, sh.Events, f.before.Status, f.before.Events)
	}
	if sh.EstimatedDelivery == nil || *sh.EstimatedDelivery != *f.before.EstimatedDelivery {
		t.Errorf("new shipment's estimate = %+v, want %+v", sh.EstimatedDelivery, f.before.EstimatedDelivery)
	}

	old, err := s.Shipment(ctx, f.oldID, true)
	if err != nil {
		t.Fatalf("old shipment: %v; want it kept until its retention ends", err)
	}
	if old.OrderID != "" || len(old.Items) != 0 || len(old.Events) != len(f.before.Events) {
		t.Errorf("old shipment = order %q, items %v, %d events; want released, with its events", old.OrderID, old.Items, len(old.Events))
	}

	// The copy is forwarded like any change, naming the order: once, or
	// more than once under the same id, which consumers de-duplicate by.
	var changes []Change
	seen := map[string]bool{}
	msgs, err := s.rdb.XRange(ctx, s.ChangesKey(s.ShardOf(f.fedexID)), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		var c Change
		if err := json.Unmarshal([]byte(m.Values["change"].(string)), &c); err != nil {
			t.Fatal(err)
		}
		if c.ShipmentID == f.fedexID && !seen[c.ID] {
			seen[c.ID] = true
			changes = append(changes, c)
		}
	}
	if len(changes) != 1 || changes[0].OrderID != f.order.ID || changes[0].To != f.before.Status ||
		changes[0].Carrier != "fedex" || changes[0].ETALatest != "2026-11-27" {
		t.Errorf("changes of the new shipment = %+v, want one, to %s, for order %s", changes, f.before.Status, f.order.ID)
	}
}

func TestStore_ChangeCarrierMovesTheClaimAndKeepsTheHistory(t *testing.T) {
	for _, b := range backends {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			f := newRecarrierFixture(t, newTestStore(t, b.Client(t)))
			id, err := f.s.ChangeCarrier(ctx, f.oldID, " FedEx ", recarrierNow)
			if err != nil || id != f.fedexID {
				t.Fatalf("ChangeCarrier = %q, %v; want %s", id, err, f.fedexID)
			}
			f.checkMoved(t)

			// The same carrier again, on the new id: nothing to do.
			if id, err := f.s.ChangeCarrier(ctx, f.fedexID, "fedex", recarrierNow); err != nil || id != f.fedexID {
				t.Errorf("ChangeCarrier to the same carrier = %q, %v; want %s unchanged", id, err, f.fedexID)
			}
			f.checkMoved(t)

			// The old id is no longer the order's: refused, saying where it went.
			for _, carrier := range []string{"fedex", "dhl"} {
				_, err := f.s.ChangeCarrier(ctx, f.oldID, carrier, recarrierNow)
				var ce *CarrierConflictError
				if !errors.Is(err, ErrNotClaimed) || !errors.As(err, &ce) || !strings.Contains(ce.Message, f.fedexID) {
					t.Errorf("ChangeCarrier of the old id to %s = %v; want ErrNotClaimed naming %s", carrier, err, f.fedexID)
				}
			}
			f.checkMoved(t)
		})
	}
}

// TestStore_ChangeCarrierMergesWhatTheNewCarrierSentUnclaimed: FedEx had
// already reported on the number, unclaimed; its events are kept, one of
// them the same scan as UPS's, stored once.
func TestStore_ChangeCarrierMergesWhatTheNewCarrierSentUnclaimed(t *testing.T) {
	for _, b := range backends {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			f := newRecarrierFixture(t, newTestStore(t, b.Client(t)))
			same := f.before.Events[2]
			same.Cursor = ""
			delivered := ev(t, "fx-9", StatusDelivered, "2026-11-25T13:00:00-05:00")
			u := Update{Carrier: "fedex", TrackingNumber: recarrierNumber, Events: []Event{same, delivered}, ReceivedAt: recarrierNow}
			if _, err := f.s.Apply(ctx, u); err != nil {
				t.Fatal(err)
			}
			if _, err := f.s.ChangeCarrier(ctx, f.oldID, "fedex", recarrierNow); err != nil {
				t.Fatal(err)
			}
			sh, err := f.s.Shipment(ctx, f.fedexID, true)
			if err != nil {
				t.Fatal(err)
			}
			want := append(withoutCursors(f.before.Events), delivered)
			if sh.Status != StatusDelivered || sh.OrderID != f.order.ID || !reflect.DeepEqual(withoutCursors(sh.Events), want) {
				t.Errorf("merged shipment: %s for %q, events %+v; want delivered, for %s, events %+v", sh.Status, sh.OrderID, sh.Events, f.order.ID, want)
			}
		})
	}
}

// TestStore_ChangeCarrierRetriedAfterACrashConverges stops the change after
// each step, as a crash would, and retries it as the merchant would: the
// same request on the old id.
func TestStore_ChangeCarrierRetriedAfterACrashConverges(t *testing.T) {
	errCrash := errors.New("crash")
	for _, b := range backends {
		for _, at := range []string{"claimed", "applied", "forwarded", "ordered"} {
			t.Run(b.Name+"/after "+at, func(t *testing.T) {
				ctx := context.Background()
				f := newRecarrierFixture(t, newTestStore(t, b.Client(t)))
				_, err := f.s.changeCarrier(ctx, f.oldID, "fedex", recarrierNow, func(step string) error {
					if step == at {
						return errCrash
					}
					return nil
				})
				if !errors.Is(err, errCrash) {
					t.Fatalf("crashed change = %v, want the crash", err)
				}
				if o, err := f.s.Order(ctx, f.order.ID); err != nil || len(o.Shipments) != 2 {
					t.Fatalf("order after the crash = %+v, %v", o, err)
				} else if id := o.Shipments[0].ID; id != f.oldID && id != f.fedexID {
					t.Fatalf("order after the crash lists %s, want the old or the new shipment", id)
				}
				id, err := f.s.ChangeCarrier(ctx, f.oldID, "fedex", recarrierNow)
				if err != nil || id != f.fedexID {
					t.Fatalf("retry = %q, %v; want %s", id, err, f.fedexID)
				}
				f.checkMoved(t)
			})
		}
	}
}

// TestStore_ConcurrentChangesOfOneShipmentLeaveOneClaim: the same change
// sent many times at once converges, and of changes to different carriers
// exactly one wins; the order document lists one shipment either way.
func TestStore_ConcurrentChangesOfOneShipmentLeaveOneClaim(t *testing.T) {
	for _, b := range backends {
		for _, tc := range []struct {
			name     string
			carriers []string
		}{
			{"same carrier", []string{"fedex", "fedex", "fedex", "fedex", "fedex", "fedex"}},
			{"different carriers", []string{"fedex", "dhl", "fedex", "dhl", "usps", "fedex"}},
		} {
			t.Run(b.Name+"/"+tc.name, func(t *testing.T) {
				ctx := context.Background()
				f := newRecarrierFixture(t, newTestStore(t, b.Client(t)))
				ids := make([]string, len(tc.carriers))
				errs := make([]error, len(tc.carriers))
				var wg sync.WaitGroup
				for i, c := range tc.carriers {
					wg.Go(func() { ids[i], errs[i] = f.s.ChangeCarrier(ctx, f.oldID, c, recarrierNow) })
				}
				wg.Wait()
				winner := ""
				for i, err := range errs {
					switch {
					case err == nil && (winner == "" || winner == ids[i]):
						winner = ids[i]
					case err == nil:
						t.Errorf("two changes won: to %s and to %s", winner, ids[i])
					case !errors.Is(err, ErrNotClaimed):
						t.Errorf("change to %s = %v, want success or ErrNotClaimed", tc.carriers[i], err)
					}
				}
				if winner == "" {
					t.Fatalf("no change won: %v", errs)
				}
				o, err := f.s.Order(ctx, f.order.ID)
				if err != nil {
					t.Fatal(err)
				}
				if len(o.Shipments) != 2 || o.Shipments[0].ID != winner || !reflect.DeepEqual(o.Shipments[1], f.order.Shipments[1]) {
					t.Errorf("order claims = %+v, want %s then the return", o.Shipments, winner)
				}
				for _, c := range []string{"ups", "fedex", "dhl", "usps"} {
					id := ShipmentID(c, recarrierNumber)
					owner, _ := f.s.rdb.HGet(ctx, f.s.StateKey(id), "order_id").Result()
					if want := map[bool]string{true: f.order.ID}[id == winner]; owner != want {
						t.Errorf("%s shipment %s is claimed by %q, want %q", c, id, owner, want)
					}
				}
				if winner == f.fedexID {
					f.checkMoved(t)
				}
			})
		}
	}
}

func TestStore_ChangeCarrierRefusals(t *testing.T) {
	for _, b := range backends {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			s := newTestStore(t, b.Client(t))
			f := newRecarrierFixture(t, s)

			if _, err := s.ChangeCarrier(ctx, "s_nosuch", "fedex", recarrierNow); !errors.Is(err, ErrNotFound) {
				t.Errorf("unknown shipment: %v, want ErrNotFound", err)
			}
			var fe *FieldError
			if _, err := s.ChangeCarrier(ctx, f.oldID, "  ", recarrierNow); !errors.As(err, &fe) || fe.Field != "carrier" {
				t.Errorf("no carrier: %v, want a FieldError on carrier", err)
			}

			// Carrier data no order claims is not the merchant's to correct.
			r, err := s.Apply(ctx, Update{Carrier: "dhl", TrackingNumber: "3318810025", ReceivedAt: recarrierNow,
				Events: []Event{ev(t, "d1", StatusInTransit, "2026-11-24T08:00:00Z")}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.ChangeCarrier(ctx, r.ShipmentID, "ups", recarrierNow); !errors.Is(err, ErrNotClaimed) {
				t.Errorf("unclaimed shipment: %v, want ErrNotClaimed", err)
			}

			// The corrected shipment already belongs to another order.
			other, _, err := s.PutOrder(ctx, OrderInput{Number: "R-2002", Shipments: []ShipmentInput{
				{Carrier: "fedex", TrackingNumber: recarrierNumber}}}, recarrierNow)
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.ChangeCarrier(ctx, f.oldID, "fedex", recarrierNow)
			if !errors.Is(err, ErrClaimedElsewhere) || !strings.Contains(err.Error(), other.ID) {
				t.Errorf("shipment of another order: %v, want ErrClaimedElsewhere naming %s", err, other.ID)
			}

			// The OMS registered the order again without the shipment: it
			// still names the order (PutOrder does not unclaim), but the order
			// no longer lists it.
			if _, _, err := s.PutOrder(ctx, OrderInput{Number: "R-2001", Items: f.order.Items}, recarrierNow); err != nil {
				t.Fatal(err)
			}
			if _, err := s.ChangeCarrier(ctx, f.oldID, "dhl", recarrierNow); !errors.Is(err, ErrNotClaimed) {
				t.Errorf("shipment the order no longer lists: %v, want ErrNotClaimed", err)
			}
			if id := ShipmentID("dhl", recarrierNumber); s.rdb.Exists(ctx, s.StateKey(id)).Val() != 0 {
				t.Errorf("a refused change created shipment %s", id)
			}
		})
	}
}
