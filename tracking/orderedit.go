package tracking

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Edits of a stored order by the OMS: contact and opt-ins, cancelling, and
// adding shipments. Each reads the order, changes it and writes it back
// under WATCH, so concurrent edits of one order are never lost, and an
// edit racing a PutOrder is redone on the order PutOrder wrote (PutOrder
// itself replaces the order whole: it is the OMS's full account of it).
// The order is one key, so this works on a Redis Cluster too.

// ConflictError is an edit the order's state does not allow. Message says
// what is wrong and what to do instead.
type ConflictError struct {
	Err     error // a sentinel to test for, or nil
	Message string
}

func (e *ConflictError) Error() string { return e.Message }
func (e *ConflictError) Unwrap() error { return e.Err }

// editOrder applies edit to order id and stores the result, retrying on a
// concurrent write. edit returns false when it changed nothing, and the
// order is then not written. claims are shipment claims to record before
// the order (see PutOrder: a reader that finds the order finds its
// shipments claimed).
func (s *Store) editOrder(ctx context.Context, id string, now time.Time, edit func(o *Order) (changed bool, claims []ShipmentClaim, err error)) (Order, bool, error) {
	if !strings.HasPrefix(id, "o_") {
		return Order{}, false, fmt.Errorf("order %q: %w", id, ErrNotFound)
	}
	key := s.orderKey(id)
	var out Order
	var changed bool
	txf := func(tx *redis.Tx) error {
		m, err := tx.HMGet(ctx, key, "doc", "token").Result()
		if err != nil {
			return fmt.Errorf("read order %s: %w", id, err)
		}
		doc, _ := m[0].(string)
		if doc == "" {
			return fmt.Errorf("order %s: %w", id, ErrNotFound)
		}
		var o Order
		if err := json.Unmarshal([]byte(doc), &o); err != nil {
			return fmt.Errorf("decode order %s: %w", id, err)
		}
		o.Token, _ = m[1].(string)
		ch, claims, err := edit(&o)
		if err != nil {
			return err
		}
		out, changed = o, ch
		if !ch {
			return nil
		}
		for _, c := range claims {
			if err := s.claimFor(ctx, id, c, now); err != nil {
				return err
			}
		}
		o.UpdatedAt = now.UTC()
		out = o
		enc, err := json.Marshal(o)
		if err != nil {
			return fmt.Errorf("encode order %s: %w", id, err)
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.HSet(ctx, key, "doc", enc)
			return nil
		})
		return err
	}
	for range maxOrderRetries {
		err := s.rdb.Watch(ctx, txf, key)
		if errors.Is(err, redis.TxFailedErr) {
			continue
		}
		if err != nil {
			return Order{}, false, err
		}
		if changed {
			if err := s.index(ctx, []indexEntry{{Order: id, At: now.UnixMilli()}}); err != nil {
				return Order{}, false, err
			}
		}
		return out, changed, nil
	}
	return Order{}, false, fmt.Errorf("edit order %s: still contended after %d tries: %w", id, maxOrderRetries, redis.TxFailedErr)
}

// ContactPatch changes an order's contact details and opt-ins, as a JSON
// merge patch (RFC 7396) would: a nil field is left alone, a pointer to ""
// clears a customer field.
type ContactPatch struct {
	Name, Email, Phone, PostalCode, Locale, TimeZone *string
	NotifyEmail, NotifySMS                           *bool
}

// Empty reports whether the patch changes nothing.
func (p ContactPatch) Empty() bool { return p == ContactPatch{} }

// PatchContact applies p to order id. It returns the order and whether
// anything changed.
func (s *Store) PatchContact(ctx context.Context, id string, p ContactPatch, now time.Time) (Order, bool, error) {
	return s.editOrder(ctx, id, now, func(o *Order) (bool, []ShipmentClaim, error) {
		c, n := o.Customer, o.Notify
		for _, f := range []struct {
			dst *string
			src *string
		}{{&c.Name, p.Name}, {&c.Email, p.Email}, {&c.Phone, p.Phone}, {&c.PostalCode, p.PostalCode},
			{&c.Locale, p.Locale}, {&c.TimeZone, p.TimeZone}} {
			if f.src != nil {
				*f.dst = strings.TrimSpace(*f.src)
			}
		}
		if p.NotifyEmail != nil {
			n.Email = *p.NotifyEmail
		}
		if p.NotifySMS != nil {
			n.SMS = *p.NotifySMS
		}
		if err := c.Validate(); err != nil {
			return false, nil, err
		}
		if c == o.Customer && n == o.Notify {
			return false, nil, nil
		}
		o.Customer, o.Notify = c, n
		return true, nil, nil
	})
}

// MaxCancelReason bounds a cancellation's reason.
const MaxCancelReason = 500

// CancelOrder cancels order id: its shopper gets no more notifications and
// its page says so. Only an order nothing of which is with a carrier yet
// can be cancelled (shipments pending or with a label only): once a parcel
// moves, the way back is a return. Cancelling a cancelled order changes
// nothing.
func (s *Store) CancelOrder(ctx context.Context, id, reason string, now time.Time) (Order, bool, error) {
	reason = strings.TrimSpace(reason)
	if len([]rune(reason)) > MaxCancelReason {
		return Order{}, false, fieldErr("reason", "is longer than %d characters", MaxCancelReason)
	}
	return s.editOrder(ctx, id, now, func(o *Order) (bool, []ShipmentClaim, error) {
		if o.CancelledAt != nil {
			return false, nil, nil
		}
		var moving []string
		for _, c := range o.Shipments {
			if directionOf(c) != Outbound {
				continue
			}
			sh, err := s.Shipment(ctx, c.ID, false)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return false, nil, err
			}
			if stageOf(sh.Status) != stageWaiting {
				moving = append(moving, fmt.Sprintf("%s %s (%s)", c.Carrier, c.TrackingNumber, sh.Status))
			}
		}
		if len(moving) > 0 {
			return false, nil, &ConflictError{Message: fmt.Sprintf(
				"order %s cannot be cancelled: %s already with the carrier; add a return shipment for what comes back",
				o.Number, strings.Join(moving, ", "))}
		}
		at := now.UTC()
		o.CancelledAt, o.CancelReason = &at, reason
		return true, nil, nil
	})
}

// AddShipment adds a shipment to order id, or replaces the order's claim
// on it (its direction and items). It returns the order and whether the
// shipment is new to it. A shipment another order claims is refused: a
// tracking number belongs to one order.
func (s *Store) AddShipment(ctx context.Context, id string, in ShipmentInput, now time.Time) (Order, bool, error) {
	var added bool
	o, _, err := s.editOrder(ctx, id, now, func(o *Order) (bool, []ShipmentClaim, error) {
		added = false
		if o.CancelledAt != nil && directionOf(ShipmentClaim{Direction: in.Direction}) == Outbound {
			return false, nil, &ConflictError{Message: fmt.Sprintf("order %s is cancelled: it takes return shipments only", o.Number)}
		}
		// Validate the shipment as part of the whole order, so item and
		// return quantities are checked against everything it has.
		whole := OrderInput{Number: o.Number, Customer: o.Customer, Items: o.Items}
		at := -1
		for i, c := range o.Shipments {
			whole.Shipments = append(whole.Shipments, ShipmentInput{Carrier: c.Carrier, TrackingNumber: c.TrackingNumber,
				Direction: c.Direction, Items: c.Items})
			if c.ID == ShipmentID(in.Carrier, in.TrackingNumber) {
				at = i
			}
		}
		if at < 0 {
			at = len(whole.Shipments)
			whole.Shipments = append(whole.Shipments, in)
		} else {
			whole.Shipments[at] = in
		}
		if err := whole.Validate(); err != nil {
			// Name the fields as the request has them: the shipment's own.
			var all, own FieldErrors
			all.addAll(err)
			prefix := fmt.Sprintf("shipments[%d].", at)
			for _, fe := range all {
				if rest, ok := strings.CutPrefix(fe.Field, prefix); ok {
					own = append(own, &FieldError{Field: rest, Message: fe.Message})
				}
			}
			if len(own) > 0 {
				return false, nil, own.Err()
			}
			return false, nil, err
		}
		sh := whole.Shipments[at]
		claim := ShipmentClaim{ID: ShipmentID(sh.Carrier, sh.TrackingNumber), Carrier: sh.Carrier,
			TrackingNumber: NormalizeTrackingNumber(sh.TrackingNumber), Direction: sh.Direction, Items: sh.Items}
		if claim.Items == nil {
			claim.Items = []ItemRef{}
		}
		if err := s.checkClaims(ctx, o.ID, []ShipmentClaim{claim}); err != nil {
			return false, nil, err
		}
		if at < len(o.Shipments) {
			if claimsEqual(o.Shipments[at], claim) {
				return false, nil, nil
			}
			o.Shipments[at] = claim
		} else {
			o.Shipments = append(o.Shipments, claim)
			added = true
		}
		return true, []ShipmentClaim{claim}, nil
	})
	return o, added, err
}

func claimsEqual(a, b ShipmentClaim) bool {
	if a.ID != b.ID || directionOf(a) != directionOf(b) || len(a.Items) != len(b.Items) {
		return false
	}
	for i := range a.Items {
		if a.Items[i] != b.Items[i] {
			return false
		}
	}
	return true
}

// checkClaims refuses claims on shipments another order has, before
// anything is written; the claim script refuses them again, atomically,
// for a claim that races this check.
func (s *Store) checkClaims(ctx context.Context, orderID string, claims []ShipmentClaim) error {
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, len(claims))
	for i, c := range claims {
		cmds[i] = pipe.HGet(ctx, s.StateKey(c.ID), "order_id")
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("read claims of %d shipments: %w", len(claims), err)
	}
	for i, c := range claims {
		if owner := cmds[i].Val(); owner != "" && owner != orderID {
			return claimedElsewhere(c, owner)
		}
	}
	return nil
}
