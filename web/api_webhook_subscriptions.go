package web

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/trackd/trackd/outbound"
	"github.com/trackd/trackd/tracking"
)

// WebhookSubscriptions is outbound webhooks as the API uses them
// (outbound.Service).
type WebhookSubscriptions interface {
	Create(ctx context.Context, url string, events []string) (outbound.Subscription, error)
	List(ctx context.Context) ([]outbound.Subscription, error)
	Get(ctx context.Context, id string) (outbound.Subscription, error)
	Update(ctx context.Context, id string, p outbound.Patch) (outbound.Subscription, error)
	Delete(ctx context.Context, id string) error
	Deliveries(ctx context.Context, id string, limit int, cursor string) ([]outbound.Attempt, string, error)
	Replay(ctx context.Context, id string, from, to time.Time) (int, error)
}

// WebhookSubscriptionAPI serves /api/v1/webhook-subscriptions. Register
// its handlers behind an admin API key: a subscription sends order data
// wherever its URL says.
type WebhookSubscriptionAPI struct {
	Subs WebhookSubscriptions
	// BodyLimit caps a request body; 0 is DefaultWebhookSubscriptionBodyLimit.
	BodyLimit int
}

// DefaultWebhookSubscriptionBodyLimit is far above any real request: a URL
// and a handful of event types.
const DefaultWebhookSubscriptionBodyLimit = 64 << 10

// webhookDeliveriesLimit is a page of the delivery log when no limit is asked.
const webhookDeliveriesLimit = 50

// webhookSubscriptionView is a subscription as the API shows it. Secret
// is only in the answer to its creation.
type webhookSubscriptionView struct {
	ID                  string               `json:"id"`
	URL                 string               `json:"url"`
	Events              []outbound.EventType `json:"events"`
	Secret              string               `json:"secret,omitempty"`
	Status              string               `json:"status"`
	DisabledReason      *string              `json:"disabled_reason"`
	DisabledAt          *time.Time           `json:"disabled_at"`
	ConsecutiveFailures int                  `json:"consecutive_failures"`
	CreatedAt           time.Time            `json:"created_at"`
	UpdatedAt           time.Time            `json:"updated_at"`
}

func newWebhookSubscriptionView(s outbound.Subscription) webhookSubscriptionView {
	v := webhookSubscriptionView{ID: s.ID, URL: s.URL, Events: s.Events, Secret: s.Secret, Status: string(s.Status),
		ConsecutiveFailures: s.ConsecutiveFailures, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt}
	if v.Events == nil {
		v.Events = []outbound.EventType{}
	}
	if s.Status == outbound.Disabled {
		reason, at := s.DisabledReason, s.DisabledAt
		v.DisabledReason, v.DisabledAt = &reason, &at
	}
	return v
}

// webhookDeliveryView is an entry of a subscription's delivery log.
type webhookDeliveryView struct {
	ID            string     `json:"id"`
	At            time.Time  `json:"at"`
	EventID       string     `json:"event_id"`
	Type          string     `json:"type"`
	Attempt       int        `json:"attempt"`
	Result        string     `json:"result"`
	StatusCode    int        `json:"status_code"`
	Error         string     `json:"error"`
	DurationMS    int64      `json:"duration_ms"`
	NextAttemptAt *time.Time `json:"next_attempt_at"`
	Replay        bool       `json:"replay"`
}

func (a WebhookSubscriptionAPI) body(c *fiber.Ctx, v any) error {
	limit := a.BodyLimit
	if limit <= 0 {
		limit = DefaultWebhookSubscriptionBodyLimit
	}
	if len(c.Body()) > limit {
		return httpError(fiber.StatusRequestEntityTooLarge, "request body too large")
	}
	return decodeJSON(c.Body(), v)
}

// webhookSubsError maps the service's errors: field errors go as they are
// (400 naming the field), the rest by kind.
func webhookSubsError(err error) error {
	var fe *tracking.FieldError
	switch {
	case errors.As(err, &fe):
		return err
	case errors.Is(err, tracking.ErrNotFound):
		return httpError(fiber.StatusNotFound, "no such webhook subscription")
	case errors.Is(err, outbound.ErrDisabled):
		return httpError(fiber.StatusConflict, `the subscription is disabled: re-enable it with PATCH {"status": "active"}, then replay`)
	default:
		return &Error{Status: fiber.StatusServiceUnavailable, Message: "cannot reach the webhook subscriptions now; retry later",
			RetryAfter: 5, Err: err}
	}
}

// WebhookSubscriptionCreate serves POST /api/v1/webhook-subscriptions
// {"url", "events"}: 201 with the subscription and its "secret", which is
// never shown again. 400 names the field at fault: an unknown event type,
// a URL that is not https or whose host is in a private network.
func WebhookSubscriptionCreate(a WebhookSubscriptionAPI) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var in struct {
			URL    string   `json:"url"`
			Events []string `json:"events"`
		}
		if err := a.body(c, &in); err != nil {
			return err
		}
		sub, err := a.Subs.Create(c.UserContext(), in.URL, in.Events)
		if err != nil {
			return webhookSubsError(err)
		}
		c.Set(fiber.HeaderCacheControl, "no-store")
		c.Set(fiber.HeaderLocation, "/api/v1/webhook-subscriptions/"+sub.ID)
		return c.Status(fiber.StatusCreated).JSON(newWebhookSubscriptionView(sub))
	}
}

// WebhookSubscriptionList serves GET /api/v1/webhook-subscriptions:
// {"webhook_subscriptions": [...]}, oldest first, without secrets.
func WebhookSubscriptionList(a WebhookSubscriptionAPI) fiber.Handler {
	return func(c *fiber.Ctx) error {
		subs, err := a.Subs.List(c.UserContext())
		if err != nil {
			return webhookSubsError(err)
		}
		out := make([]webhookSubscriptionView, len(subs))
		for i, s := range subs {
			out[i] = newWebhookSubscriptionView(s)
		}
		return c.JSON(fiber.Map{"webhook_subscriptions": out})
	}
}

// WebhookSubscriptionGet serves GET /api/v1/webhook-subscriptions/{id}.
func WebhookSubscriptionGet(a WebhookSubscriptionAPI) fiber.Handler {
	return func(c *fiber.Ctx) error {
		sub, err := a.Subs.Get(c.UserContext(), strings.Clone(c.Params("id")))
		if err != nil {
			return webhookSubsError(err)
		}
		return c.JSON(newWebhookSubscriptionView(sub))
	}
}

// WebhookSubscriptionPatch serves PATCH /api/v1/webhook-subscriptions/{id}
// {"url"?, "events"?, "status"?}: "status": "active" re-enables a disabled
// subscription (its failure count starts over), "disabled" pauses it.
func WebhookSubscriptionPatch(a WebhookSubscriptionAPI) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var in struct {
			URL    *string   `json:"url"`
			Events *[]string `json:"events"`
			Status *string   `json:"status"`
		}
		if err := a.body(c, &in); err != nil {
			return err
		}
		if in.URL == nil && in.Events == nil && in.Status == nil {
			return &Error{Status: fiber.StatusBadRequest, Field: "body", Message: "body: nothing to change; give url, events or status"}
		}
		sub, err := a.Subs.Update(c.UserContext(), strings.Clone(c.Params("id")),
			outbound.Patch{URL: in.URL, Events: in.Events, Status: in.Status})
		if err != nil {
			return webhookSubsError(err)
		}
		return c.JSON(newWebhookSubscriptionView(sub))
	}
}

// WebhookSubscriptionDelete serves DELETE /api/v1/webhook-subscriptions/{id}: 204.
func WebhookSubscriptionDelete(a WebhookSubscriptionAPI) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := a.Subs.Delete(c.UserContext(), strings.Clone(c.Params("id"))); err != nil {
			return webhookSubsError(err)
		}
		return c.SendStatus(fiber.StatusNoContent)
	}
}

// WebhookSubscriptionDeliveries serves GET
// /api/v1/webhook-subscriptions/{id}/deliveries?limit=&cursor=: the
// delivery log, newest first, {"deliveries": [...], "next_cursor": "..."}
// ("" after the last page). limit is 1 to 500, 50 when not given.
func WebhookSubscriptionDeliveries(a WebhookSubscriptionAPI) fiber.Handler {
	return func(c *fiber.Ctx) error {
		limit := webhookDeliveriesLimit
		if q := c.Query("limit"); q != "" {
			n, err := strconv.Atoi(q)
			if err != nil {
				return &tracking.FieldError{Field: "limit", Message: "must be a number between 1 and " + strconv.Itoa(outbound.MaxDeliveries)}
			}
			limit = n
		}
		attempts, next, err := a.Subs.Deliveries(c.UserContext(), strings.Clone(c.Params("id")), limit, strings.Clone(c.Query("cursor")))
		if err != nil {
			return webhookSubsError(err)
		}
		out := make([]webhookDeliveryView, len(attempts))
		for i, at := range attempts {
			out[i] = webhookDeliveryView{ID: at.ID, At: at.At, EventID: at.EventID, Type: string(at.Type), Attempt: at.Attempt,
				Result: at.Result, StatusCode: at.StatusCode, Error: at.Error, DurationMS: at.DurationMS,
				NextAttemptAt: at.NextAttemptAt, Replay: at.Replay}
		}
		c.Set(fiber.HeaderCacheControl, "no-store")
		return c.JSON(fiber.Map{"deliveries": out, "next_cursor": next})
	}
}

// WebhookSubscriptionReplay serves POST
// /api/v1/webhook-subscriptions/{id}/replay {"from", "to"} (RFC 3339): the
// subscription's events created in that range are delivered again, with
// their ids; 202 {"events": n}. 409 when the subscription is disabled.
func WebhookSubscriptionReplay(a WebhookSubscriptionAPI) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var in struct {
			From string `json:"from"`
			To   string `json:"to"`
		}
		if err := a.body(c, &in); err != nil {
			return err
		}
		from, err := replayTime("from", in.From)
		if err != nil {
			return err
		}
		to, err := replayTime("to", in.To)
		if err != nil {
			return err
		}
		n, err := a.Subs.Replay(c.UserContext(), strings.Clone(c.Params("id")), from, to)
		if err != nil {
			return webhookSubsError(err)
		}
		return c.Status(fiber.StatusAccepted).JSON(fiber.Map{"events": n})
	}
}

func replayTime(field, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, &tracking.FieldError{Field: field, Message: "is required (RFC 3339, e.g. 2026-11-25T10:00:00Z)"}
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, &tracking.FieldError{Field: field, Message: "is not an RFC 3339 time like 2026-11-25T10:00:00Z"}
	}
	return t, nil
}
