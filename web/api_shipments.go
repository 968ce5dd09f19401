package web

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/trackd/trackd/tracking"
)

// carrierChanger is the store's carrier correction. It is asked for by
// type, not added to Store, so the stores tests stand in with need not
// implement it.
type carrierChanger interface {
	ChangeCarrier(ctx context.Context, shipmentID, carrier string, now time.Time) (string, error)
}

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
		changer, ok := s.deps.Store.(carrierChanger)
		if !ok {
			return httpError(fiber.StatusNotImplemented, "this server's store cannot change a shipment's carrier")
		}
		newID, err = changer.ChangeCarrier(ctx, id, carrier, s.deps.Now())
		var conflict *tracking.CarrierConflictError
		switch {
		case errors.As(err, &conflict):
			return &Error{Status: fiber.StatusConflict, Message: conflict.Message, Err: err}
		case err != nil:
			return storeError(err)
		}
	}
	out, err := s.deps.Store.Shipment(ctx, newID, true)
	if err != nil {
		return storeError(err)
	}
	out.DeriveDelayed(s.deps.Now(), s.cfg.NoScanAfter)
	return c.JSON(patchedShipment{Shipment: out, PreviousID: id})
}

// knownCarrier reports whether GET /api/v1/carriers lists slug: a
// configured adapter, or a carrier whose numbers trackd recognises.
func (s *Server) knownCarrier(slug string) bool {
	if _, ok := s.detectors()[slug]; ok {
		return true
	}
	for _, a := range s.adapters() {
		if a.Slug() == slug {
			return true
		}
	}
	return false
}
