package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/trackd/trackd/carriers"
	"github.com/trackd/trackd/tracking"
)

// orderView is an order as the API shows it: with its shipments' states and
// the shopper's tracking link.
type orderView struct {
	tracking.Order
	TrackingURL string               `json:"tracking_url"`
	Shipments   []*tracking.Shipment `json:"shipments"`
	// Order-level truth (tracking/ordertruth.go), derived from the
	// shipments' states shown beside it.
	Status       tracking.OrderStatus  `json:"status"`
	ReturnStatus tracking.ReturnStatus `json:"return_status"`
	Fulfillment  tracking.Fulfillment  `json:"fulfillment"`
	// Delayed says whether any of its shipments is.
	Delayed bool `json:"delayed"`
}

// putOrder creates an order, or updates the one with the same number.
func (s *Server) putOrder(c *fiber.Ctx) error {
	if len(c.Body()) > s.cfg.APIBodyLimit {
		return httpError(fiber.StatusRequestEntityTooLarge, "request body too large")
	}
	var in tracking.OrderInput
	if err := decodeJSON(c.Body(), &in); err != nil {
		return err
	}
	for i := range in.Shipments {
		if err := s.fillCarrier(&in.Shipments[i], fmt.Sprintf("shipments[%d].carrier", i)); err != nil {
			return err
		}
	}
	o, created, err := s.deps.Store.PutOrder(c.UserContext(), in, s.deps.Now())
	if err != nil {
		return storeError(err)
	}
	if err := s.schedulePolls(c.UserContext(), o); err != nil {
		return err
	}
	v, err := s.orderView(c.UserContext(), o)
	if err != nil {
		return err
	}
	status := fiber.StatusOK
	if created {
		status = fiber.StatusCreated
		c.Location("/api/v1/orders/" + o.ID)
	}
	return c.Status(status).JSON(v)
}

// schedulePolls asks the delay watcher to watch the order's shipments and
// the poll scheduler to poll them now (those already scheduled keep their
// time). Storing the order is
// idempotent, so a failure here answers 503 and the client's retry
// schedules what this attempt did not.
func (s *Server) schedulePolls(ctx context.Context, o tracking.Order) error {
	if s.deps.Delays != nil {
		ids := make([]string, len(o.Shipments))
		for i, sh := range o.Shipments {
			ids[i] = sh.ID
		}
		if err := s.deps.Delays.Watch(ctx, ids); err != nil {
			return &Error{Status: fiber.StatusServiceUnavailable, RetryAfter: 5,
				Message: "the order is stored but its delay watch could not be set; send it again", Err: err}
		}
	}
	if s.deps.Polls == nil {
		return nil
	}
	now := s.deps.Now()
	for _, sh := range o.Shipments {
		if err := s.deps.Polls.Schedule(ctx, sh.Carrier, sh.TrackingNumber, now); err != nil {
			return &Error{Status: fiber.StatusServiceUnavailable, RetryAfter: 5,
				Message: "the order is stored but its polling could not be scheduled; send it again", Err: err}
		}
	}
	return nil
}

func (s *Server) getOrder(c *fiber.Ctx) error {
	o, err := s.deps.Store.Order(c.UserContext(), c.Params("id"))
	if err != nil {
		return storeError(err)
	}
	v, err := s.orderView(c.UserContext(), o)
	if err != nil {
		return err
	}
	return c.JSON(v)
}

func (s *Server) orderView(ctx context.Context, o tracking.Order) (orderView, error) {
	states := make(map[string]*tracking.Shipment, len(o.Shipments))
	for _, c := range o.Shipments {
		sh, err := s.deps.Store.Shipment(ctx, c.ID, false)
		if errors.Is(err, tracking.ErrNotFound) {
			continue // past its retention
		}
		if err != nil {
			return orderView{}, storeError(err)
		}
		states[c.ID] = sh
	}
	return s.orderViewFrom(o, states), nil
}

// orderViewFrom builds the view from the shipments' states (without
// history), deriving their delays and the order-level truth. Its
// updated_at is the newest of the order's and its shipments': the time the
// order listing sorts and filters by.
func (s *Server) orderViewFrom(o tracking.Order, states map[string]*tracking.Shipment) orderView {
	v := orderView{Order: o, TrackingURL: s.cfg.PublicURL + "/t/" + o.Token, Shipments: []*tracking.Shipment{}}
	now := s.deps.Now()
	for _, c := range o.Shipments {
		sh := states[c.ID]
		if sh == nil {
			continue // past its retention
		}
		sh.DeriveDelayed(now, s.cfg.NoScanAfter)
		v.Shipments = append(v.Shipments, sh)
		v.Delayed = v.Delayed || sh.Delayed
		if sh.UpdatedAt.After(v.UpdatedAt) {
			v.UpdatedAt = sh.UpdatedAt
		}
	}
	// Order-level truth.
	v.Status, v.ReturnStatus = tracking.DeriveOrderStatus(o, states), tracking.DeriveReturnStatus(o, states)
	v.Fulfillment = tracking.CheckFulfillment(o)
	return v
}

func (s *Server) getShipment(c *fiber.Ctx) error {
	sh, err := s.deps.Store.Shipment(c.UserContext(), c.Params("id"), true)
	if err != nil {
		return storeError(err)
	}
	sh.DeriveDelayed(s.deps.Now(), s.cfg.NoScanAfter)
	return c.JSON(sh)
}

// shipmentEvents answers GET /api/v1/shipments/{id}/events: the history
// in time order, or with ?after=<cursor> the events stored after that
// cursor, in the order they were stored, for a client that syncs
// incrementally. The answer's cursor is where to go on from.
func (s *Server) shipmentEvents(c *fiber.Ctx) error {
	id := strings.Clone(c.Params("id"))
	after := c.Query("after")
	if after != "" && !validCursor(after) {
		return &Error{Status: fiber.StatusBadRequest, Field: "after", Message: "after: not a cursor (like 1764079331417-0)"}
	}
	sh, err := s.deps.Store.Shipment(c.UserContext(), id, after == "")
	if err != nil {
		return storeError(err)
	}
	events := sh.Events
	if after != "" {
		if events, err = s.deps.Store.EventsAfter(c.UserContext(), id, after); err != nil {
			return storeError(err)
		}
	}
	cursor := after
	for _, e := range events {
		if tracking.CompareCursors(e.Cursor, cursor) > 0 {
			cursor = e.Cursor
		}
	}
	if events == nil {
		events = []tracking.Event{}
	}
	return c.JSON(fiber.Map{"shipment_id": id, "events": events, "cursor": cursor})
}

// minDetectConfidence is how sure detection must be to pick a shipment's
// carrier for the merchant: a format match with a holding check digit.
// Below it the merchant is asked to name the carrier.
const minDetectConfidence = 0.5

// fillCarrier fills in the carrier of a shipment registered without one,
// from the tracking number's format and check digit; field names the
// carrier in the request, for the error when no carrier matches.
func (s *Server) fillCarrier(sh *tracking.ShipmentInput, field string) error {
	if strings.TrimSpace(sh.Carrier) != "" || strings.TrimSpace(sh.TrackingNumber) == "" {
		return nil
	}
	cands := carriers.Candidates(tracking.NormalizeTrackingNumber(sh.TrackingNumber), s.detectors())
	if len(cands) == 0 || cands[0].Confidence < minDetectConfidence {
		return &Error{Status: fiber.StatusBadRequest, Field: field,
			Message: fmt.Sprintf("%s: is required: %q matches no carrier's format with confidence", field, sh.TrackingNumber)}
	}
	sh.Carrier = cands[0].Carrier
	return nil
}

// storeError passes through what the client caused (not found, a bad
// field, a conflict with the order's state: 409) and turns Redis failures
// into a 503 the client can retry.
func storeError(err error) error {
	var fe *tracking.FieldError
	var ce *tracking.ConflictError
	switch {
	case errors.Is(err, tracking.ErrNotFound), errors.As(err, &fe):
		return err
	case errors.As(err, &ce):
		return &Error{Status: fiber.StatusConflict, Message: ce.Message, Err: err}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &Error{Status: fiber.StatusServiceUnavailable, Message: "timed out; retry later", RetryAfter: 1, Err: err}
	default:
		return &Error{Status: fiber.StatusServiceUnavailable, Message: "storage unavailable; retry later", RetryAfter: 5, Err: err}
	}
}

// jsonKind names what JSON a Go type takes, for a client's error message.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	case reflect.Interface:
		return "another JSON value"
	}
	return "a string" // string, and the string kinds (Status, Direction)
}

// decodeJSON decodes a request body, saying which field is wrong.
func decodeJSON(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return &Error{Status: fiber.StatusBadRequest, Message: "body: a JSON object is required", Field: "body"}
	}
	if err := json.Unmarshal(body, v); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syn):
			return &Error{Status: fiber.StatusBadRequest, Field: "body", Message: fmt.Sprintf("body: malformed JSON at byte %d: %v", syn.Offset, err)}
		case errors.As(err, &typ):
			field := typ.Field
			if field == "" {
				field = "body"
			}
			return &Error{Status: fiber.StatusBadRequest, Field: field, Message: fmt.Sprintf("%s: must be %s, not %s", field, jsonKind(typ.Type), typ.Value)}
		default:
			return &Error{Status: fiber.StatusBadRequest, Field: "body", Message: "body: " + err.Error()}
		}
	}
	return nil
}
