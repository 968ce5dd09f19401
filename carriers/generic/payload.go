package generic

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/trackd/trackd/carriers"
	"github.com/trackd/trackd/tracking"
)

// Limits on one message, so a signed but careless sender cannot make one
// request cost unbounded work.
const (
	MaxEvents     = 500
	maxTextLength = 2048
)

// Message is the generic format's body, for senders as for Parse.
type Message struct {
	Carrier           string         `json:"carrier"`
	TrackingNumber    string         `json:"tracking_number"`
	EstimatedDelivery string         `json:"estimated_delivery,omitempty"`
	Events            []MessageEvent `json:"events"`
}

// MessageEvent is one event of a Message.
type MessageEvent struct {
	ID            string            `json:"id,omitempty"`
	Status        string            `json:"status"`
	CarrierStatus string            `json:"carrier_status,omitempty"`
	Message       string            `json:"message,omitempty"`
	OccurredAt    string            `json:"occurred_at"`
	Location      tracking.Location `json:"location,omitzero"`
}

// Parse validates a generic message and returns its update. Every error is
// a *tracking.FieldError naming what is wrong. When now is not zero, events
// more than a day in the future are refused: a wrong clock on the sender's
// side would otherwise pin the shipment's status for good.
func Parse(body []byte, now time.Time) (tracking.Update, error) {
	var p Message
	if len(bytes.TrimSpace(body)) == 0 {
		return tracking.Update{}, fe("body", "is empty")
	}
	// Unmarshal, not a Decoder: it refuses anything after the document,
	// and it is several times faster on the one-document bodies webhooks are.
	if err := json.Unmarshal(body, &p); err != nil {
		return tracking.Update{}, jsonError(err)
	}
	u := tracking.Update{
		Carrier:           tracking.NormalizeCarrier(p.Carrier),
		TrackingNumber:    tracking.NormalizeTrackingNumber(p.TrackingNumber),
		EstimatedDelivery: strings.TrimSpace(p.EstimatedDelivery),
	}
	switch {
	case u.Carrier == "":
		return u, fe("carrier", "is required")
	case len(u.Carrier) > 32:
		return u, fe("carrier", "is longer than 32 characters")
	case u.TrackingNumber == "":
		return u, fe("tracking_number", "is required")
	case len(u.TrackingNumber) > 64:
		return u, fe("tracking_number", "is longer than 64 characters")
	case len(p.Events) == 0 && u.EstimatedDelivery == "":
		return u, fe("events", "at least one event, or an estimated_delivery, is required")
	case len(p.Events) > MaxEvents:
		return u, fe("events", fmt.Sprintf("has %d events; at most %d per message", len(p.Events), MaxEvents))
	}
	if u.EstimatedDelivery != "" {
		if err := tracking.ParseETA(u.EstimatedDelivery); err != nil {
			return u, fe("estimated_delivery", err.Error())
		}
	}
	u.Events = make([]tracking.Event, 0, len(p.Events))
	for i, in := range p.Events {
		e, err := in.normalize(now)
		if err != nil {
			var f *tracking.FieldError
			if errors.As(err, &f) {
				f.Field = fmt.Sprintf("events[%d].%s", i, f.Field)
			}
			return u, err
		}
		u.Events = append(u.Events, e)
	}
	return u, nil
}

func (in MessageEvent) normalize(now time.Time) (tracking.Event, error) {
	st, err := tracking.ParseStatus(in.Status)
	if in.Status == "" {
		return tracking.Event{}, fe("status", "is required")
	}
	if err != nil {
		return tracking.Event{}, fe("status", err.Error())
	}
	if in.OccurredAt == "" {
		return tracking.Event{}, fe("occurred_at", "is required")
	}
	t, err := time.Parse(time.RFC3339, in.OccurredAt)
	if err != nil {
		return tracking.Event{}, fe("occurred_at", fmt.Sprintf("%q is not an RFC 3339 time with an offset", in.OccurredAt))
	}
	if t.Year() < 2000 {
		return tracking.Event{}, fe("occurred_at", fmt.Sprintf("%q is before 2000", in.OccurredAt))
	}
	if !now.IsZero() && t.After(now.Add(24*time.Hour)) {
		return tracking.Event{}, fe("occurred_at", fmt.Sprintf("%q is more than a day in the future", in.OccurredAt))
	}
	for _, f := range [...]struct{ name, v string }{{"id", in.ID}, {"carrier_status", in.CarrierStatus},
		{"message", in.Message}, {"location.city", in.Location.City}, {"location.region", in.Location.Region},
		{"location.postal_code", in.Location.PostalCode}, {"location.country", in.Location.Country}} {
		if len(f.v) > maxTextLength {
			return tracking.Event{}, fe(f.name, fmt.Sprintf("is longer than %d bytes", maxTextLength))
		}
	}
	return tracking.Event{
		ID:              in.ID,
		Status:          st,
		CarrierStatus:   in.CarrierStatus,
		Message:         in.Message,
		OccurredAt:      t.UTC(),
		OccurredAtLocal: t,
		Location:        in.Location,
	}, nil
}

func fe(field, msg string) *tracking.FieldError {
	return &tracking.FieldError{Field: field, Message: msg}
}

func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fe("body", fmt.Sprintf("malformed JSON at byte %d: %v", syn.Offset, err))
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "body"
		}
		return fe(field, fmt.Sprintf("must be %s, not %s", typeName(typ.Type.Kind().String()), typ.Value))
	default:
		return fe("body", "malformed JSON: "+err.Error())
	}
}

func typeName(k string) string {
	switch k {
	case "struct", "map":
		return "an object"
	case "slice":
		return "an array"
	}
	return "a " + k
}

// Adapter is the generic format as a carriers.Adapter: the processors
// decode it through the registry like any carrier's. The edge validates it
// before accepting it (web), so a message that fails here (a format change
// between versions, say) is dead-lettered with the reason.
type Adapter struct {
	Verifier Verifier
}

// Slug implements carriers.Adapter.
func (Adapter) Slug() string { return "generic" }

// Routes implements carriers.Route: each message names its carrier.
func (Adapter) Routes() string { return "any carrier its messages name" }

// Name implements carriers.Adapter.
func (Adapter) Name() string { return "trackd generic format" }

// VerifyWebhook implements carriers.Adapter.
func (a Adapter) VerifyWebhook(r carriers.WebhookRequest) error {
	if err := a.Verifier.Verify(r.Header(SignatureHeader), r.Body, r.Now); err != nil {
		return fmt.Errorf("%w: %w", carriers.ErrUnauthenticated, err)
	}
	return nil
}

// ParseWebhook implements carriers.Adapter.
func (Adapter) ParseWebhook(body []byte) ([]tracking.Update, error) {
	u, err := Parse(body, time.Time{})
	if err != nil {
		return nil, err
	}
	return []tracking.Update{u}, nil
}
