package tracking

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrNotClaimed is wrapped by a carrier change refused because no order
// claims the shipment (any more): an unclaimed shipment is carrier data, not
// the merchant's, so it is not the merchant's to correct.
var ErrNotClaimed = errors.New("shipment is not claimed by an order")

// ErrClaimedElsewhere is wrapped by a carrier change refused because the
// corrected shipment already belongs to another order.
var ErrClaimedElsewhere = errors.New("shipment is claimed by another order")

// CarrierConflictError is a carrier change the shipments' state does not
// allow. Message is written for the merchant: it says what happened and
// what to do instead.
type CarrierConflictError struct {
	Err     error
	Message string
}

func (e *CarrierConflictError) Error() string { return e.Message }
func (e *CarrierConflictError) Unwrap() error { return e.Err }

// Fields the carrier change leaves on the shipment it moved away from, so a
// later request about that shipment is told where it went.
const (
	fieldMovedTo        = "moved_to"
	fieldMovedToCarrier = "moved_to_carrier"
)

// releaseLua unclaims a shipment, but only from the order that claims it:
// a concurrent claim by another order or a new PutOrder must not be undone.
// KEYS: 1 state hash. ARGV: 1 order id, 2 the shipment it moved to (empty
// for none), 3 that shipment's carrier.
const releaseLua = `
if redis.call('HGET', KEYS[1], 'order_id') ~= ARGV[1] then return 0 end
redis.call('HDEL', KEYS[1], 'order_id', 'items')
if ARGV[2] ~= '' then
  redis.call('HSET', KEYS[1], 'moved_to', ARGV[2], 'moved_to_carrier', ARGV[3])
end
return 1`

// maxOrderRetries bounds the optimistic retries of one order update. Only
// writers of the same order compete, so contention past a few is a bug.
const maxOrderRetries = 16

// ChangeCarrier corrects the carrier of an order's shipment: the order's
// claim moves to the shipment of newCarrier and the same tracking number
// (its id is derived from both, so it is another shipment), which gets the
// old shipment's history through the normal apply path, merged with any
// events the new carrier already sent. The old shipment is released from
// the order and kept, unclaimed, until its retention ends. It returns the
// new shipment's id; the same carrier returns shipmentID unchanged.
//
// The steps, in this order: claim the new shipment, copy the history and
// forward the changes it makes, move the claim in the order document, and
// release the old shipment. The order document is written after the new
// shipment is complete, so every reader of the order sees either the old
// shipment or the new one with its whole history, never one without it; and
// the old shipment is released last, so until the very end it still names
// its order and retrying the same request on the old id finds the way back
// and redoes what is left (every step is idempotent: the claim is a plain
// write, copied events are de-duplicated, the outbox survives until
// forwarded, and the order update and the release are conditional).
//
// The order document is updated with WATCH/MULTI, not a Lua script: it is
// Go-encoded JSON (cjson would turn its empty arrays into objects), and the
// rare conflict, a PutOrder or another carrier change of the same order in
// between, is retried on the fresh document. Of two concurrent changes of
// one shipment to different carriers exactly one moves the claim; the other
// finds neither shipment in the order, unclaims the shipment it claimed,
// and fails with ErrNotClaimed. The history it copied stays there as
// unclaimed carrier data.
func (s *Store) ChangeCarrier(ctx context.Context, shipmentID, newCarrier string, now time.Time) (string, error) {
	return s.changeCarrier(ctx, shipmentID, newCarrier, now, nil)
}

// changeCarrier is ChangeCarrier with a hook called after each step, by
// name; an error from it stops the change there, as a crash would.
func (s *Store) changeCarrier(ctx context.Context, shipmentID, newCarrier string, now time.Time, after func(step string) error) (string, error) {
	step := func(name string) error {
		if after == nil {
			return nil
		}
		return after(name)
	}
	carrier := NormalizeCarrier(newCarrier)
	if carrier == "" {
		return "", fieldErr("carrier", "is required")
	}
	old, err := s.recarrierState(ctx, shipmentID)
	if err != nil {
		return "", err
	}
	if old.carrier == carrier {
		return shipmentID, nil
	}
	if old.orderID == "" {
		if old.movedTo != "" {
			return "", &CarrierConflictError{Err: ErrNotClaimed, Message: fmt.Sprintf(
				"shipment %s no longer belongs to an order: its carrier was corrected to %s, and the order now tracks it as shipment %s",
				shipmentID, old.movedToCarrier, old.movedTo)}
		}
		return "", &CarrierConflictError{Err: ErrNotClaimed, Message: fmt.Sprintf(
			"shipment %s is not claimed by an order: only an order's shipment can be corrected; register the order with the right carrier instead",
			shipmentID)}
	}
	newID := ShipmentID(carrier, old.trackingNumber)
	o, err := s.Order(ctx, old.orderID)
	if errors.Is(err, ErrNotFound) {
		return "", notListed(shipmentID, old.orderID)
	}
	if err != nil {
		return "", err
	}
	target, ok := movedClaim(o.Shipments, shipmentID, newID, carrier, old.trackingNumber)
	if !ok {
		return "", notListed(shipmentID, old.orderID)
	}
	if owner, err := s.rdb.HGet(ctx, s.StateKey(newID), "order_id").Result(); err != nil && !errors.Is(err, redis.Nil) {
		return "", fmt.Errorf("read shipment %s: %w", newID, err)
	} else if owner != "" && owner != o.ID {
		return "", &CarrierConflictError{Err: ErrClaimedElsewhere, Message: fmt.Sprintf(
			"%s %s is already shipment %s of order %s; correct that order instead", carrier, old.trackingNumber, newID, owner)}
	}

	// The new shipment is claimed before anything is applied to it, so the
	// changes the copied history makes name the order, like any other.
	if err := s.claimFor(ctx, o.ID, target, now); err != nil {
		return "", err
	}
	if err := step("claimed"); err != nil {
		return "", err
	}
	if err := s.copyHistory(ctx, shipmentID, target, now, step); err != nil {
		return "", err
	}
	final, err := s.moveOrderClaim(ctx, o.ID, shipmentID, newID, carrier, old.trackingNumber, now)
	if errors.Is(err, ErrNotClaimed) {
		// Another request moved the claim first. The shipment claimed above
		// is not the order's, so it is released again; not marked as moved,
		// since nothing moved to or from it.
		if rerr := s.release(ctx, newID, o.ID, "", ""); rerr != nil {
			return "", errors.Join(err, rerr)
		}
		return "", err
	}
	if err != nil {
		return "", err
	}
	if final.Direction != target.Direction || !slices.Equal(final.Items, target.Items) {
		// The order changed while the history was copied; the shipment
		// follows what the order now says.
		if err := s.claimFor(ctx, o.ID, final, now); err != nil {
			return "", err
		}
	}
	if err := step("ordered"); err != nil {
		return "", err
	}
	if err := s.release(ctx, shipmentID, o.ID, newID, carrier); err != nil {
		return "", err
	}
	return newID, nil
}

// recarrierState is what a carrier change reads of the shipment it starts from.
type recarrierState struct {
	carrier, trackingNumber, orderID string
	movedTo, movedToCarrier          string
}

func (s *Store) recarrierState(ctx context.Context, id string) (recarrierState, error) {
	v, err := s.rdb.HMGet(ctx, s.StateKey(id), "carrier", "tracking_number", "order_id", fieldMovedTo, fieldMovedToCarrier).Result()
	if err != nil {
		return recarrierState{}, fmt.Errorf("read shipment %s: %w", id, err)
	}
	str := func(i int) string { x, _ := v[i].(string); return x }
	st := recarrierState{carrier: str(0), trackingNumber: str(1), orderID: str(2), movedTo: str(3), movedToCarrier: str(4)}
	if st.carrier == "" || st.trackingNumber == "" {
		return recarrierState{}, fmt.Errorf("shipment %s: %w", id, ErrNotFound)
	}
	return st, nil
}

func notListed(shipmentID, orderID string) error {
	return &CarrierConflictError{Err: ErrNotClaimed, Message: fmt.Sprintf(
		"shipment %s is no longer listed by order %s (the order was registered again without it, or its carrier was just changed by another request); read the order and correct the shipment it lists",
		shipmentID, orderID)}
}

// movedClaim is the claim the order will have on the new shipment: its own
// claim when it already lists that shipment, else the old claim renamed.
func movedClaim(claims []ShipmentClaim, oldID, newID, carrier, trackingNumber string) (ShipmentClaim, bool) {
	var old *ShipmentClaim
	for i := range claims {
		switch claims[i].ID {
		case newID:
			return claims[i], true
		case oldID:
			old = &claims[i]
		}
	}
	if old == nil {
		return ShipmentClaim{}, false
	}
	c := *old
	c.ID, c.Carrier, c.TrackingNumber = newID, carrier, trackingNumber
	if c.Items == nil {
		c.Items = []ItemRef{}
	}
	return c, true
}

// claimedElsewhere is the conflict of claiming a shipment another order
// has.
func claimedElsewhere(c ShipmentClaim, owner string) error {
	return &ConflictError{Err: ErrClaimedElsewhere, Message: fmt.Sprintf(
		"%s %s belongs to order %s: a tracking number belongs to one order at a time; register that order again without it first",
		c.Carrier, c.TrackingNumber, owner)}
}

// claimFor runs PutOrder's claim script: one way to claim a shipment.
func (s *Store) claimFor(ctx context.Context, orderID string, c ShipmentClaim, now time.Time) error {
	items, err := json.Marshal(c.Items)
	if err != nil {
		return fmt.Errorf("encode items of shipment %s: %w", c.ID, err)
	}
	res, err := s.claim.Run(ctx, s.rdb, []string{s.StateKey(c.ID)}, c.ID, c.Carrier, c.TrackingNumber, orderID,
		string(c.Direction), items, now.UnixMilli(), int64(s.cfg.RetainIdle/time.Second)).StringSlice()
	if err != nil {
		return fmt.Errorf("claim shipment %s for order %s: %w", c.ID, orderID, err)
	}
	if len(res) != 2 {
		return fmt.Errorf("claim shipment %s for order %s: unexpected reply %v", c.ID, orderID, res)
	}
	if res[0] == "claimed" {
		return claimedElsewhere(c, res[1])
	}
	ms, _ := strconv.ParseInt(res[1], 10, 64)
	return s.index(ctx, []indexEntry{{Shipment: c.ID, Order: orderID, At: max(ms, now.UnixMilli())}})
}

// copyHistory applies the old shipment's events and delivery estimate to
// the new one as an update from the new carrier, and forwards the changes
// that makes. Applying again finds every event already there, and the
// outbox still holding whatever a crash left unforwarded.
func (s *Store) copyHistory(ctx context.Context, oldID string, to ShipmentClaim, now time.Time, step func(string) error) error {
	sh, err := s.Shipment(ctx, oldID, true)
	if err != nil {
		return err
	}
	u := Update{Carrier: to.Carrier, TrackingNumber: to.TrackingNumber, Events: sh.Events, ReceivedAt: now}
	if sh.EstimatedDelivery != nil {
		u.EstimatedDelivery = sh.EstimatedDelivery.Latest
	}
	res, err := s.Apply(ctx, u)
	if err != nil {
		return err
	}
	if err := step("applied"); err != nil {
		return err
	}
	if err := s.ForwardChanges(ctx, res.Outbox); err != nil {
		return err
	}
	if sh.EstimatedDelivery != nil {
		if err := s.keepFirstPromise(ctx, oldID, to.ID); err != nil {
			return err
		}
	}
	return step("forwarded")
}

// keepFirstPromiseLua gives a shipment another's first delivery promise
// when that one is older by the merge rule's ordering key (etaKey).
// KEYS: 1 state hash. ARGV: 1 the promise, 2 its key.
const keepFirstPromiseLua = `
local k = redis.call('HGET', KEYS[1], 'eta_first_key')
if not k or ARGV[2] >= k then return 0 end
redis.call('HSET', KEYS[1], 'eta_first', ARGV[1], 'eta_first_key', ARGV[2])
return 1`

// keepFirstPromise carries the old shipment's first promise over, so the
// page still shows how the estimate moved. It is not sent through Apply:
// an update carrying only an older promise and known events changes
// nothing there, and one with the events it came with would replay the
// old status changes to the change stream one by one. No change is
// recorded for it, as Apply records none when only the first promise moves.
func (s *Store) keepFirstPromise(ctx context.Context, fromID, toID string) error {
	v, err := s.rdb.HMGet(ctx, s.StateKey(fromID), "eta_first", "eta_first_key").Result()
	if err != nil {
		return fmt.Errorf("read shipment %s: %w", fromID, err)
	}
	first, _ := v[0].(string)
	key, _ := v[1].(string)
	if first == "" || key == "" {
		return nil
	}
	if err := redis.NewScript(keepFirstPromiseLua).Run(ctx, s.rdb, []string{s.StateKey(toID)}, first, key).Err(); err != nil {
		return fmt.Errorf("keep the first promise on shipment %s: %w", toID, err)
	}
	return nil
}

// moveOrderClaim replaces the order's claim on oldID by one on newID, in
// place, so the order lists its shipments in the same order. It returns
// the claim on newID as the order has it; an order that lists neither
// shipment fails with ErrNotClaimed.
func (s *Store) moveOrderClaim(ctx context.Context, orderID, oldID, newID, carrier, trackingNumber string, now time.Time) (ShipmentClaim, error) {
	var final ShipmentClaim
	_, _, err := s.editOrder(ctx, orderID, now, func(o *Order) (bool, []ShipmentClaim, error) {
		c, ok := movedClaim(o.Shipments, oldID, newID, carrier, trackingNumber)
		if !ok {
			return false, nil, notListed(oldID, orderID)
		}
		final = c
		if !slices.ContainsFunc(o.Shipments, func(c ShipmentClaim) bool { return c.ID == oldID }) {
			return false, nil, nil // moved already, by this request before a crash or by a concurrent one
		}
		claims := make([]ShipmentClaim, 0, len(o.Shipments))
		placed := false
		for _, sc := range o.Shipments {
			if sc.ID == oldID || sc.ID == newID {
				if !placed {
					claims, placed = append(claims, c), true
				}
				continue
			}
			claims = append(claims, sc)
		}
		// The new shipment is claimed already (claimFor, the first step).
		o.Shipments = claims
		return true, nil, nil
	})
	switch {
	case errors.Is(err, ErrNotFound):
		return ShipmentClaim{}, notListed(oldID, orderID)
	case err != nil:
		return ShipmentClaim{}, fmt.Errorf("move claim on %s to %s in order %s: %w", oldID, newID, orderID, err)
	}
	return final, nil
}

// release unclaims shipment id from orderID, noting where it moved.
func (s *Store) release(ctx context.Context, id, orderID, movedTo, movedToCarrier string) error {
	if err := redis.NewScript(releaseLua).Run(ctx, s.rdb, []string{s.StateKey(id)}, orderID, movedTo, movedToCarrier).Err(); err != nil {
		return fmt.Errorf("release shipment %s from order %s: %w", id, orderID, err)
	}
	return nil
}
