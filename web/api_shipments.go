package web

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/trackd/trackd/carriers"
	"github.com/trackd/trackd/tracking"
)

// shipmentPatch is the body of PATCH /api/v1/shipments/{id}.
type shipmentPatch struct {
	Carrier string `json:"carrier"`
}

// patchedShipment is what PATCH /api/v1/shipments/{id} answers: the
// shipment as GET /api/v1/shipments/{id} shows it, under its id now, and
// the id the request named. They are equal when nothing changed.
type patchedShipment struct {
	*tracking.Shipment
	PreviousID string `json:"previous_id"`
}

// patchShipment corrects an order's shipment's carrier. The shipment id is
// derived from the carrier, so the answer is another shipment: the order's
// claim, and the history, move to it (tracking.Store.ChangeCarrier).
func (s *Server) patchShipment(c *fiber.Ctx) error {
	if len(c.Body()) > s.cfg.APIBodyLimit {
		return httpError(fiber.StatusRequestEntityTooLarge, "request body too large")
	}
	var in shipmentPatch
	if err := decodeJSON(c.Body(), &in); err != nil {
		return err
	}
	carrier := tracking.NormalizeCarrier(in.Carrier)
	if carrier == "" {
		return &tracking.FieldError{Field: "carrier", Message: "is required"}
	}
	// Copied: the parameter aliases Fiber's buffer, and ends up in messages.
	id := strings.Clone(c.Params("id"))
	ctx := c.UserContext()
	sh, err := s.deps.Store.Shipment(ctx, id, false)
	if err != nil {
		return storeError(err)
	}
	newID := id
	// The shipment's own carrier is never refused, known or not: asking
	// for it again changes nothing.
	if carrier != sh.Carrier {
		if !s.knownCarrier(carrier) {
			return &tracking.FieldError{Field: "carrier",
				Message: fmt.Sprintf("%q is not a carrier trackd knows; GET /api/v1/carriers lists them", carrier)}
		}
		newID, err = s.deps.Store.ChangeCarrier(ctx, id, carrier, s.deps.Now())
		var conflict *tracking.CarrierConflictError
		switch {
		case errors.As(err, &conflict):
			return &Error{Status: fiber.StatusConflict, Message: conflict.Message, Err: err}
		case err != nil:
			return storeError(err)
		}
	}
	if newID != id {
		if err := s.followShipments(ctx, sh.Carrier, carrier, sh.TrackingNumber, newID); err != nil {
			return err
		}
	}
	out, err := s.deps.Store.Shipment(ctx, newID, true)
	if err != nil {
		return storeError(err)
	}
	out.DeriveDelayed(s.deps.Now(), s.cfg.NoScanAfter)
	return c.JSON(patchedShipment{Shipment: out, PreviousID: id})
}

// knownCarrier reports whether slug can be a shipment's carrier: one
// whose numbers trackd recognises, or a configured adapter that is a
// carrier. An aggregator's or the generic format's slug is a way in, not a
// carrier: a shipment under it would never get an update.
func (s *Server) knownCarrier(slug string) bool {
	if _, ok := s.detectors()[slug]; ok {
		return true
	}
	for _, a := range s.adapters() {
		if _, route := a.(carriers.Route); a.Slug() == slug && !route {
			return true
		}
	}
	return false
}

// followShipments moves polling and delay watching to the corrected
// shipment. The correction itself is done; a failure here answers 503,
// and the retried PATCH (a no-op for the store) comes back here.
func (s *Server) followShipments(ctx context.Context, oldCarrier, carrier, number, id string) error {
	if s.deps.Polls != nil {
		err := s.deps.Polls.Unschedule(ctx, oldCarrier, number)
		if err == nil {
			err = s.deps.Polls.Schedule(ctx, carrier, number, s.deps.Now())
		}
		if err != nil {
			return &Error{Status: fiber.StatusServiceUnavailable, RetryAfter: 5,
				Message: "the carrier is corrected but its polling could not be moved; send the request again", Err: err}
		}
	}
	if s.deps.Delays != nil {
		if err := s.deps.Delays.Watch(ctx, []string{id}); err != nil {
			return &Error{Status: fiber.StatusServiceUnavailable, RetryAfter: 5,
				Message: "the carrier is corrected but its delay watch could not be moved; send the request again", Err: err}
		}
	}
	return nil
}
