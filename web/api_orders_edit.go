package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/trackd/trackd/tracking"
)

// OrderEditor is what the API needs of the store to list and edit orders
// beyond registering them (tracking.Store has it all). A store without it
// (a test's fake) has no such routes.
type OrderEditor interface {
	ListOrders(ctx context.Context, q tracking.ListQuery, match func(tracking.OrderRecord) bool) ([]tracking.OrderRecord, string, error)
	ListShipments(ctx context.Context, q tracking.ListQuery, match func(*tracking.Shipment) bool) ([]*tracking.Shipment, string, error)
	PatchContact(ctx context.Context, id string, p tracking.ContactPatch, now time.Time) (tracking.Order, bool, error)
	CancelOrder(ctx context.Context, id, reason string, now time.Time) (tracking.Order, bool, error)
	AddShipment(ctx context.Context, id string, in tracking.ShipmentInput, now time.Time) (tracking.Order, bool, error)
}

func (s *Server) orderEditRoutes(api fiber.Router) {
	ed, ok := s.deps.Store.(OrderEditor)
	if !ok {
		return
	}
	read, write := s.requireKey(ScopeRead), s.requireKey(ScopeWrite)
	api.Get("/orders", read, func(c *fiber.Ctx) error { return s.listOrders(c, ed) })
	api.Patch("/orders/:id", write, func(c *fiber.Ctx) error { return s.patchOrder(c, ed) })
	api.Post("/orders/:id/cancel", write, s.idempotent, func(c *fiber.Ctx) error { return s.cancelOrder(c, ed) })
	api.Post("/orders/:id/shipments", write, s.idempotent, func(c *fiber.Ctx) error { return s.addShipment(c, ed) })
	api.Get("/shipments", read, func(c *fiber.Ctx) error { return s.listShipments(c, ed) })
}

// patchOrder answers PATCH /api/v1/orders/{id}: the shopper's contact
// details and opt-ins, as a JSON merge patch (RFC 7396): members left out
// are kept, a customer member set to null is cleared. Nothing else of an
// order changes this way: items and shipments come with POST /orders
// (the whole order) or POST /orders/{id}/shipments.
func (s *Server) patchOrder(c *fiber.Ctx, ed OrderEditor) error {
	if len(c.Body()) > s.cfg.APIBodyLimit {
		return httpError(fiber.StatusRequestEntityTooLarge, "request body too large")
	}
	p, err := decodeContactPatch(c.Body())
	if err != nil {
		return err
	}
	o, _, err := ed.PatchContact(c.UserContext(), strings.Clone(c.Params("id")), p, s.deps.Now())
	if err != nil {
		return storeError(err)
	}
	return s.answerOrder(c, fiber.StatusOK, o)
}

// decodeContactPatch reads a PATCH body, naming the member at fault.
func decodeContactPatch(body []byte) (tracking.ContactPatch, error) {
	var p tracking.ContactPatch
	var top map[string]json.RawMessage
	if err := decodeJSON(body, &top); err != nil {
		return p, err
	}
	if top == nil {
		return p, &Error{Status: fiber.StatusBadRequest, Field: "body", Message: "body: a JSON object is required"}
	}
	for k, raw := range top {
		switch k {
		case "customer":
			var m map[string]json.RawMessage
			if err := json.Unmarshal(raw, &m); err != nil || m == nil {
				return p, badParam("customer", "must be an object")
			}
			dst := map[string]**string{"name": &p.Name, "email": &p.Email, "phone": &p.Phone,
				"postal_code": &p.PostalCode, "locale": &p.Locale, "time_zone": &p.TimeZone}
			for f, v := range m {
				d, ok := dst[f]
				if !ok {
					return p, badParam("customer."+f, "is not a contact field (name, email, phone, postal_code, locale, time_zone)")
				}
				var str *string
				if err := json.Unmarshal(v, &str); err != nil {
					return p, badParam("customer."+f, "must be a string, or null to clear it")
				}
				if str == nil {
					str = new(string)
				}
				*d = str
			}
		case "notify":
			var m map[string]json.RawMessage
			if err := json.Unmarshal(raw, &m); err != nil || m == nil {
				return p, badParam("notify", "must be an object")
			}
			dst := map[string]**bool{"email": &p.NotifyEmail, "sms": &p.NotifySMS}
			for f, v := range m {
				d, ok := dst[f]
				if !ok {
					return p, badParam("notify."+f, "is not a channel (email, sms)")
				}
				var b bool
				if bytes.Equal(bytes.TrimSpace(v), []byte("null")) || json.Unmarshal(v, &b) != nil {
					return p, badParam("notify."+f, "must be true or false")
				}
				*d = &b
			}
		case "":
			return p, badParam("body", `"" is not a member name`)
		default:
			return p, badParam(k, "cannot be changed here: PATCH takes customer and notify; send the whole order to POST /api/v1/orders, or a shipment to POST /api/v1/orders/{id}/shipments")
		}
	}
	if p.Empty() {
		return p, badParam("body", "changes nothing: give customer or notify members")
	}
	return p, nil
}

// cancelBody is the optional body of POST /api/v1/orders/{id}/cancel.
type cancelBody struct {
	Reason string `json:"reason"`
}

// cancelOrder answers POST /api/v1/orders/{id}/cancel. Cancelling again is
// a 200 with the first cancellation; an order with a parcel already with
// a carrier is a 409 (its way back is a return shipment).
func (s *Server) cancelOrder(c *fiber.Ctx, ed OrderEditor) error {
	if len(c.Body()) > s.cfg.APIBodyLimit {
		return httpError(fiber.StatusRequestEntityTooLarge, "request body too large")
	}
	var in cancelBody
	if len(bytes.TrimSpace(c.Body())) > 0 {
		if err := decodeJSON(c.Body(), &in); err != nil {
			return err
		}
	}
	ctx := c.UserContext()
	o, _, err := ed.CancelOrder(ctx, strings.Clone(c.Params("id")), in.Reason, s.deps.Now())
	if err != nil {
		return storeError(err)
	}
	// Nothing of it will move: stop asking carriers. Done on every call,
	// so a retry after a failure here finishes the job.
	if s.deps.Polls != nil {
		for _, sh := range o.Shipments {
			if sh.Direction == tracking.Return {
				continue
			}
			if err := s.deps.Polls.Unschedule(ctx, sh.Carrier, sh.TrackingNumber); err != nil {
				return &Error{Status: fiber.StatusServiceUnavailable, RetryAfter: 5,
					Message: "the order is cancelled but its polling could not be stopped; send the request again", Err: err}
			}
		}
	}
	return s.answerOrder(c, fiber.StatusOK, o)
}

// addShipment answers POST /api/v1/orders/{id}/shipments: a shipment
// (outbound, or a return with "direction": "return") added to the order,
// 201; or, for one the order has already, its direction and items
// replaced, 200. A return's items must be the order's, and returns may not
// take back more of an item than was ordered.
func (s *Server) addShipment(c *fiber.Ctx, ed OrderEditor) error {
	if len(c.Body()) > s.cfg.APIBodyLimit {
		return httpError(fiber.StatusRequestEntityTooLarge, "request body too large")
	}
	var in tracking.ShipmentInput
	if err := decodeJSON(c.Body(), &in); err != nil {
		return err
	}
	if err := s.fillCarrier(&in, "carrier"); err != nil {
		return err
	}
	if in.Carrier != "" && !s.knownCarrier(tracking.NormalizeCarrier(in.Carrier)) {
		return &tracking.FieldError{Field: "carrier",
			Message: fmt.Sprintf("%q is not a carrier trackd knows; GET /api/v1/carriers lists them", in.Carrier)}
	}
	ctx := c.UserContext()
	o, added, err := ed.AddShipment(ctx, strings.Clone(c.Params("id")), in, s.deps.Now())
	if err != nil {
		return storeError(err)
	}
	id := tracking.ShipmentID(in.Carrier, in.TrackingNumber)
	i := slices.IndexFunc(o.Shipments, func(sc tracking.ShipmentClaim) bool { return sc.ID == id })
	if i >= 0 {
		if err := s.schedulePolls(ctx, tracking.Order{Shipments: o.Shipments[i : i+1]}); err != nil {
			return err
		}
	}
	status := fiber.StatusOK
	if added {
		status = fiber.StatusCreated
		c.Location("/api/v1/shipments/" + id)
	}
	return s.answerOrder(c, status, o)
}

func (s *Server) answerOrder(c *fiber.Ctx, status int, o tracking.Order) error {
	v, err := s.orderView(c.UserContext(), o)
	if err != nil {
		return err
	}
	return c.Status(status).JSON(v)
}
