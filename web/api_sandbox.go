package web

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/trackd/trackd/carriers/generic"
	"github.com/trackd/trackd/tracking"
)

// The sandbox: POST /api/v1/sandbox/shipments/{id}/advance moves a shipment
// to a chosen status through the real pipeline, so an integration (the OMS,
// a webhook receiver, the notification templates) can be exercised without
// a carrier. It writes a message in trackd's generic format onto the
// ingest stream, exactly as an accepted /webhooks/generic request would:
// the processors apply it, the change stream, notifications, outbound
// webhooks and the live page all see an ordinary carrier event.
//
// Which shipments: when the sandbox is on, any stored shipment. Test orders
// use real carrier slugs with made-up numbers (the demo does), so limiting
// it to a pseudo-carrier would leave it useless for them; what keeps it
// away from real customers is that it is off unless TRACKD_SANDBOX=true,
// which belongs on development and staging deployments only, never in
// production: an advanced shipment notifies its shopper like a real scan.
// Its events say what they are: carrier_status "SANDBOX" and an event id
// starting "sandbox_", in the history and the raw payload alike.

// SandboxCarrierStatus is the carrier code of every sandbox event.
const SandboxCarrierStatus = "SANDBOX"

// defaultSandboxBodyLimit caps a request when SandboxDeps has no limit: a
// status, a message and a date need far less.
const defaultSandboxBodyLimit = 64 << 10

// SandboxStore is what the sandbox needs of the tracking store
// (*tracking.Store, and the web tier's Store, have both).
type SandboxStore interface {
	Shipment(ctx context.Context, id string, withEvents bool) (*tracking.Shipment, error)
	Append(ctx context.Context, src string, body []byte, shardKey string, at time.Time) (string, error)
}

// SandboxDeps are the sandbox's collaborators and its switch.
type SandboxDeps struct {
	// Enabled turns the endpoint on (TRACKD_SANDBOX); off, it answers 404.
	Enabled bool
	Store   SandboxStore
	// BodyLimit caps a request body; zero means 64 KiB.
	BodyLimit int
	// Log records every advance, with the API key that asked; nil logs nothing.
	Log *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// sandboxAdvance is the request body.
type sandboxAdvance struct {
	Status            string `json:"status"`
	Message           string `json:"message"`
	EstimatedDelivery string `json:"estimated_delivery"`
}

// SandboxAdvance handles POST /api/v1/sandbox/shipments/{id}/advance
// {"status", "message"?, "estimated_delivery"?}: 202 {"accepted": 1,
// "event_id", "shipment_id"} once the event is durably on the ingest
// stream (applied moments later, like any webhook). 404 when the sandbox is
// off or the shipment unknown, 400 naming the wrong field, 503 when Redis
// cannot take it. Mount it behind requireKey(ScopeWrite).
//
// The event happens now, or 1 ms after the shipment's current event when
// that one is later (a carrier's clock ahead of ours, or an advance a
// moment ago): the chosen status always becomes the current one.
func SandboxAdvance(deps SandboxDeps) fiber.Handler {
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.BodyLimit <= 0 {
		deps.BodyLimit = defaultSandboxBodyLimit
	}
	return func(c *fiber.Ctx) error {
		if !deps.Enabled {
			return httpError(fiber.StatusNotFound, "the sandbox is off; set TRACKD_SANDBOX=true")
		}
		if len(c.Body()) > deps.BodyLimit {
			return httpError(fiber.StatusRequestEntityTooLarge, "request body too large")
		}
		var in sandboxAdvance
		if err := decodeJSON(c.Body(), &in); err != nil {
			return err
		}
		if err := in.validate(); err != nil {
			return err
		}
		// Copied: the parameter aliases Fiber's buffer, and ends up in messages.
		id := strings.Clone(c.Params("id"))
		ctx := c.UserContext()
		sh, err := deps.Store.Shipment(ctx, id, false)
		switch {
		case errors.Is(err, tracking.ErrNotFound):
			return httpError(fiber.StatusNotFound, fmt.Sprintf("no shipment %q", id))
		case err != nil:
			return storeError(err)
		}
		now := deps.Now()
		msg, eventID := sandboxMessage(sh, in, now)
		body, err := json.Marshal(msg)
		if err != nil {
			return fmt.Errorf("encode sandbox message for %s: %w", id, err)
		}
		// The processors parse it without the edge's checks; parse it here
		// as the edge would, so nothing accepted is dead-lettered.
		u, err := generic.Parse(body, time.Time{})
		if err != nil {
			return &Error{Status: fiber.StatusUnprocessableEntity, Err: err,
				Message: fmt.Sprintf("shipment %s cannot be written in the generic format: %v", id, err)}
		}
		// The generic webhook's shard key: one shipment's messages stay in order.
		if _, err := deps.Store.Append(ctx, "generic", body, u.Carrier+":"+u.TrackingNumber, now); err != nil {
			msg := "cannot store the event now; retry later"
			if errors.Is(err, tracking.ErrBacklogFull) {
				msg = "too much unprocessed work; retry later"
			}
			return &Error{Status: fiber.StatusServiceUnavailable, Message: msg, RetryAfter: 5, Err: err}
		}
		if deps.Log != nil {
			deps.Log.Info("sandbox advanced a shipment", "shipment_id", id, "status", in.Status,
				"event_id", eventID, "by", keyName(c))
		}
		return c.Status(fiber.StatusAccepted).JSON(fiber.Map{"accepted": 1, "event_id": eventID, "shipment_id": id})
	}
}

func (in *sandboxAdvance) validate() error {
	in.Status = strings.TrimSpace(in.Status)
	in.EstimatedDelivery = strings.TrimSpace(in.EstimatedDelivery)
	if in.Status == "" {
		return &tracking.FieldError{Field: "status", Message: "is required"}
	}
	if _, err := tracking.ParseStatus(in.Status); err != nil {
		return &tracking.FieldError{Field: "status", Message: err.Error()}
	}
	if len(in.Message) > 2048 {
		return &tracking.FieldError{Field: "message", Message: "is longer than 2048 bytes"}
	}
	if in.EstimatedDelivery != "" {
		if err := tracking.ParseETA(in.EstimatedDelivery); err != nil {
			return &tracking.FieldError{Field: "estimated_delivery", Message: err.Error()}
		}
	}
	return nil
}

// sandboxMessage is the generic message moving sh to the requested status,
// and its event id.
func sandboxMessage(sh *tracking.Shipment, in sandboxAdvance, now time.Time) (generic.Message, string) {
	at := now.UTC().Truncate(time.Millisecond)
	if sh.StatusEvent != nil && !at.After(sh.StatusEvent.OccurredAt) {
		at = sh.StatusEvent.OccurredAt.UTC().Truncate(time.Millisecond).Add(time.Millisecond)
	}
	text := in.Message
	if text == "" {
		text = "Sandbox: moved to " + in.Status
	}
	eventID := "sandbox_" + rand.Text()
	return generic.Message{
		Carrier: sh.Carrier, TrackingNumber: sh.TrackingNumber, EstimatedDelivery: in.EstimatedDelivery,
		Events: []generic.MessageEvent{{
			ID: eventID, Status: in.Status, CarrierStatus: SandboxCarrierStatus, Message: text,
			OccurredAt: at.Format("2006-01-02T15:04:05.000Z07:00"),
		}},
	}, eventID
}
