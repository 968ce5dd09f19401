package outbound

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/trackd/trackd/tracking"
)

// EventType names what happened.
type EventType string

// The event types a subscription can ask for.
const (
	// ShipmentUpdated: any recorded change of a shipment (status, estimate,
	// delay), including the ones below.
	ShipmentUpdated EventType = "shipment.updated"
	// ShipmentDelivered: a shipment became delivered (either direction;
	// data.shipment.direction tells).
	ShipmentDelivered EventType = "shipment.delivered"
	// ShipmentException: a shipment became exception.
	ShipmentException EventType = "shipment.exception"
	// ShipmentDelayed: a shipment became delayed (its estimate passed, or
	// no scan came for too long).
	ShipmentDelayed EventType = "shipment.delayed"
	// OrderDelivered: every outbound shipment of an order is delivered.
	OrderDelivered EventType = "order.delivered"
	// ReturnReceived: a return shipment was delivered back.
	ReturnReceived EventType = "return.received"
	// NotificationFailed: an email or SMS to the shopper could not be sent.
	NotificationFailed EventType = "notification.failed"
)

// EventTypes lists every event type.
var EventTypes = []EventType{ShipmentUpdated, ShipmentDelivered, ShipmentException, ShipmentDelayed,
	OrderDelivered, ReturnReceived, NotificationFailed}

// Valid reports whether t is a known event type.
func (t EventType) Valid() bool { return slices.Contains(EventTypes, t) }

// Event is one webhook's body: {"id", "type", "created_at", "data"}.
type Event struct {
	// ID is the same on every delivery, retry and replay of the event:
	// receivers de-duplicate by it.
	ID        string          `json:"id"`
	Type      EventType       `json:"type"`
	CreatedAt time.Time       `json:"created_at"`
	Data      json.RawMessage `json:"data"`
}

// EventID derives an event id from what caused the event, so that the
// same cause always gives the same id.
func EventID(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return "evt_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(h.Sum(nil)[:16]))
}

// ShipmentState is a shipment's public state as events carry it. Status,
// estimate and delay are as of the change, not as read later.
type ShipmentState struct {
	ID             string `json:"id"`
	Carrier        string `json:"carrier"`
	TrackingNumber string `json:"tracking_number"`
	// Direction is outbound or return.
	Direction string `json:"direction"`
	Status    string `json:"status"`
	// EstimatedDelivery is the carrier's first and latest estimate (dates
	// or RFC 3339 instants); null when it gave none.
	EstimatedDelivery *tracking.ETA `json:"estimated_delivery"`
	Delayed           bool          `json:"delayed"`
	OrderID           string        `json:"order_id"`
	OrderNumber       string        `json:"order_number"`
}

// ChangeData is the change an event comes from.
type ChangeData struct {
	// ID is the change's own id (shipment id and version).
	ID string `json:"id"`
	// From and To are the statuses before and after; equal when only the
	// estimate or the delay moved.
	From         string `json:"from"`
	To           string `json:"to"`
	ETAChanged   bool   `json:"eta_changed"`
	DelayChanged bool   `json:"delay_changed"`
	// Cursor is the shipment's event stream position of the newest event
	// (GET /api/v1/shipments/{id} lists the events with theirs).
	Cursor string    `json:"cursor"`
	At     time.Time `json:"at"`
}

// ShipmentData is the data of the shipment.* events and return.received.
type ShipmentData struct {
	Shipment ShipmentState `json:"shipment"`
	Change   ChangeData    `json:"change"`
}

// OrderData is the data of order.delivered: the order's outbound
// shipments, and the change that completed it.
type OrderData struct {
	Order struct {
		ID          string          `json:"id"`
		OrderNumber string          `json:"order_number"`
		Shipments   []ShipmentState `json:"shipments"`
	} `json:"order"`
	Change ChangeData `json:"change"`
}

// NotificationFailure is the data of notification.failed.
type NotificationFailure struct {
	OrderID     string `json:"order_id"`
	OrderNumber string `json:"order_number"`
	// ShipmentID is the shipment the notification was about (for an
	// order-level trigger, the one that completed it); may be empty.
	ShipmentID string `json:"shipment_id"`
	// Trigger (delivered, exception, ...) and Channel (email, sms) say
	// which notification; Error why it failed; Attempt how many tries.
	Trigger string    `json:"trigger"`
	Channel string    `json:"channel"`
	Error   string    `json:"error"`
	Attempt int       `json:"attempt"`
	At      time.Time `json:"at"`
}

// Event returns the notification.failed event for the failure. A
// notification is sent (or fails) once per shipment or order, trigger and
// channel, so that is its id.
func (f NotificationFailure) Event() Event {
	data, _ := json.Marshal(f) // plain strings, ints and a time: cannot fail
	return Event{
		ID:   EventID(string(NotificationFailed), f.OrderID, f.ShipmentID, f.Trigger, f.Channel),
		Type: NotificationFailed, CreatedAt: f.At.UTC(), Data: data,
	}
}

// shipmentTypes are the shipment-level event types a change gives.
func shipmentTypes(c tracking.Change) []EventType {
	out := []EventType{ShipmentUpdated}
	moved := c.From != c.To
	if moved && c.To == tracking.StatusDelivered {
		out = append(out, ShipmentDelivered)
		if c.Direction == string(tracking.Return) {
			out = append(out, ReturnReceived)
		}
	}
	if moved && c.To == tracking.StatusException {
		out = append(out, ShipmentException)
	}
	if c.DelayChanged && c.Delayed {
		out = append(out, ShipmentDelayed)
	}
	return out
}

// completesOrder reports whether a change may have delivered an order's
// last outbound shipment.
func completesOrder(c tracking.Change) bool {
	return c.OrderID != "" && c.From != c.To && c.To == tracking.StatusDelivered && c.Direction != string(tracking.Return)
}

func changeAt(c tracking.Change) time.Time {
	ms, err := strconv.ParseInt(c.At, 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

func changeData(c tracking.Change) ChangeData {
	return ChangeData{ID: c.ID, From: string(c.From), To: string(c.To), ETAChanged: c.ETAChanged,
		DelayChanged: c.DelayChanged, Cursor: c.Cursor, At: changeAt(c)}
}

// changeEvents are the events of one change that wanted asks for. A
// change of a shipment no order claims gives none: the merchant never
// registered it.
func (s *Service) changeEvents(ctx context.Context, c tracking.Change, wanted func(EventType) bool) ([]Event, error) {
	if c.OrderID == "" {
		return nil, nil
	}
	var types []EventType
	for _, t := range shipmentTypes(c) {
		if wanted(t) {
			types = append(types, t)
		}
	}
	orderDone := wanted(OrderDelivered) && completesOrder(c)
	if len(types) == 0 && !orderDone {
		return nil, nil
	}
	o, err := s.store.Order(ctx, c.OrderID)
	if errors.Is(err, tracking.ErrNotFound) {
		// Claimed, but the order record is not written yet or is gone:
		// the events go without the order number.
		o, orderDone = tracking.Order{ID: c.OrderID}, false
	} else if err != nil {
		return nil, fmt.Errorf("read order %s: %w", c.OrderID, err)
	}
	created := changeAt(c)
	if created.IsZero() {
		created = s.now().UTC()
	}
	state := ShipmentState{ID: c.ShipmentID, Carrier: c.Carrier, TrackingNumber: c.TrackingNumber,
		Direction: c.Direction, Status: string(c.To), Delayed: c.Delayed, OrderID: c.OrderID, OrderNumber: o.Number}
	if state.Direction == "" {
		state.Direction = string(tracking.Outbound)
	}
	if c.ETALatest != "" {
		state.EstimatedDelivery = &tracking.ETA{First: c.ETAFirst, Latest: c.ETALatest}
	}
	data, err := json.Marshal(ShipmentData{Shipment: state, Change: changeData(c)})
	if err != nil {
		return nil, fmt.Errorf("encode change %s: %w", c.ID, err)
	}
	out := make([]Event, 0, len(types)+1)
	for _, t := range types {
		out = append(out, Event{ID: EventID(c.ID, string(t)), Type: t, CreatedAt: created, Data: data})
	}
	if orderDone {
		ev, ok, err := s.orderDelivered(ctx, o, c, created)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, ev)
		}
	}
	return out, nil
}

// orderDelivered returns order.delivered if every outbound shipment of o
// is delivered. Its id is the order's and its set of shipments', not the
// change's: when the last two parcels are delivered at once, both changes
// see the order complete, and both make the one same event.
func (s *Service) orderDelivered(ctx context.Context, o tracking.Order, c tracking.Change, created time.Time) (Event, bool, error) {
	var d OrderData
	d.Order.ID, d.Order.OrderNumber, d.Change = o.ID, o.Number, changeData(c)
	ids := []string{string(OrderDelivered), o.ID}
	for _, claim := range o.Shipments {
		if claim.Direction == tracking.Return {
			continue
		}
		sh, err := s.store.Shipment(ctx, claim.ID, false)
		if errors.Is(err, tracking.ErrNotFound) {
			return Event{}, false, nil
		}
		if err != nil {
			return Event{}, false, fmt.Errorf("read shipment %s of order %s: %w", claim.ID, o.ID, err)
		}
		if sh.Status != tracking.StatusDelivered {
			return Event{}, false, nil
		}
		d.Order.Shipments = append(d.Order.Shipments, ShipmentState{
			ID: sh.ID, Carrier: sh.Carrier, TrackingNumber: sh.TrackingNumber, Direction: string(tracking.Outbound),
			Status: string(sh.Status), EstimatedDelivery: sh.EstimatedDelivery, Delayed: sh.Delayed,
			OrderID: o.ID, OrderNumber: o.Number,
		})
		ids = append(ids, sh.ID)
	}
	if len(d.Order.Shipments) == 0 {
		return Event{}, false, nil
	}
	slices.Sort(ids[2:])
	data, err := json.Marshal(d)
	if err != nil {
		return Event{}, false, fmt.Errorf("encode order %s: %w", o.ID, err)
	}
	return Event{ID: EventID(ids...), Type: OrderDelivered, CreatedAt: created, Data: data}, true, nil
}
