package web

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/trackd/trackd/notify"
	"github.com/trackd/trackd/notify/templates"
	"github.com/trackd/trackd/tracking"
)

// TemplateStore is the template store as the console's API uses it
// (templates.Store).
type TemplateStore interface {
	Get(ctx context.Context, trigger notify.Trigger, channel notify.Channel, locale string) (templates.Template, error)
	Version(ctx context.Context, trigger notify.Trigger, channel notify.Channel, locale string, n int) (templates.Template, error)
	Versions(ctx context.Context, trigger notify.Trigger, channel notify.Channel, locale string) ([]templates.Template, error)
	Put(ctx context.Context, trigger notify.Trigger, channel notify.Channel, locale string, parts templates.Parts, author string) (int, []templates.Problem, []templates.Problem, error)
	Restore(ctx context.Context, trigger notify.Trigger, channel notify.Channel, locale string, n int, author string) (int, error)
}

// TemplateRenderer checks and renders templates (templates.Engine).
type TemplateRenderer interface {
	ValidatePartial(channel notify.Channel, parts templates.Parts) (errs, warnings []templates.Problem)
	RenderContext(ctx context.Context, channel notify.Channel, parts templates.Parts, d templates.Data) (templates.Rendered, error)
}

// TestSender sends one rendered message to an email address or an E.164
// phone number, returning the provider's message id. A recipient the
// provider refuses as invalid is an error wrapping ErrInvalidRecipient (or
// with a method InvalidRecipient() bool answering true).
type TestSender func(ctx context.Context, channel notify.Channel, to string, rendered templates.Rendered) (providerID string, err error)

// ErrInvalidRecipient is an address or phone number a TestSender cannot
// send to: test-send answers 400.
var ErrInvalidRecipient = errors.New("invalid recipient")

// DefaultTemplateBodyLimit caps a template request: three parts of the
// largest size a template may have (64 KiB), with room for JSON escaping.
const DefaultTemplateBodyLimit = 256 << 10

// TemplateAPI is what the template handlers need.
type TemplateAPI struct {
	Store  TemplateStore
	Engine TemplateRenderer
	// Send sends test messages; nil makes test-send answer 501.
	Send TestSender
	// Author names who saves or restores (the API key's name).
	Author func(c *fiber.Ctx) string
	// BodyLimit caps a request body; 0 is DefaultTemplateBodyLimit.
	BodyLimit int
}

// templateView is a template as the API shows it: subject, html and text
// for email, body for SMS.
type templateView struct {
	Trigger      notify.Trigger `json:"trigger"`
	Channel      notify.Channel `json:"channel"`
	Locale       string         `json:"locale"`
	Version      int            `json:"version"`
	Custom       bool           `json:"custom"`
	Subject      *string        `json:"subject,omitempty"`
	HTML         *string        `json:"html,omitempty"`
	Text         *string        `json:"text,omitempty"`
	Body         *string        `json:"body,omitempty"`
	SavedAt      *time.Time     `json:"saved_at"`
	SavedBy      string         `json:"saved_by"`
	RestoredFrom int            `json:"restored_from,omitempty"`
}

func viewOf(t templates.Template) templateView {
	v := templateView{
		Trigger: t.Trigger, Channel: t.Channel, Locale: t.Locale, Version: t.Version, Custom: t.Custom,
		SavedBy: t.SavedBy, RestoredFrom: t.RestoredFrom,
	}
	if t.Channel == notify.SMS {
		v.Body = &t.Parts.Body
	} else {
		v.Subject, v.HTML, v.Text = &t.Parts.Subject, &t.Parts.HTML, &t.Parts.Text
	}
	if !t.SavedAt.IsZero() {
		at := t.SavedAt
		v.SavedAt = &at
	}
	return v
}

// savedView is a template just saved, with what validation warned about.
type savedView struct {
	templateView
	Warnings []templates.Problem `json:"warnings"`
}

// invalidView is the 422 answer: why a template cannot be saved or shown.
type invalidView struct {
	Errors   []templates.Problem `json:"errors"`
	Warnings []templates.Problem `json:"warnings"`
}

func invalid(c *fiber.Ctx, errs, warnings []templates.Problem) error {
	return c.Status(fiber.StatusUnprocessableEntity).JSON(invalidView{nonNil(errs), nonNil(warnings)})
}

func nonNil(ps []templates.Problem) []templates.Problem {
	if ps == nil {
		return []templates.Problem{}
	}
	return ps
}

// keyError is an unknown trigger, channel or locale as an HTTP error
// naming it, and what exists.
func keyError(status int, err error) *Error {
	field := "locale"
	switch {
	case errors.Is(err, templates.ErrUnknownTrigger):
		field = "trigger"
	case errors.Is(err, templates.ErrUnknownChannel):
		field = "channel"
	}
	return &Error{Status: status, Message: err.Error(), Field: field}
}

// templateKey reads the template named by the path.
func templateKey(c *fiber.Ctx) (notify.Trigger, notify.Channel, string, error) {
	trigger := notify.Trigger(strings.Clone(c.Params("trigger")))
	channel := notify.Channel(strings.Clone(c.Params("channel")))
	locale := strings.Clone(c.Params("locale"))
	if err := templates.CheckKey(trigger, channel, locale); err != nil {
		return "", "", "", keyError(fiber.StatusNotFound, err)
	}
	return trigger, channel, locale, nil
}

// storeFailure maps a template store error to its answer.
func storeFailure(err error) error {
	switch {
	case errors.Is(err, templates.ErrUnknownVersion):
		return httpError(fiber.StatusNotFound, "unknown version")
	case errors.Is(err, templates.ErrUnknownTrigger), errors.Is(err, templates.ErrUnknownChannel), errors.Is(err, templates.ErrUnknownLocale):
		return keyError(fiber.StatusNotFound, err)
	}
	return &Error{Status: fiber.StatusServiceUnavailable, RetryAfter: 5, Message: "cannot reach the template store now; retry later", Err: err}
}

func (api TemplateAPI) checkBody(c *fiber.Ctx) error {
	limit := api.BodyLimit
	if limit <= 0 {
		limit = DefaultTemplateBodyLimit
	}
	if len(c.Body()) > limit {
		return httpError(fiber.StatusRequestEntityTooLarge, "request body too large")
	}
	return nil
}

func (api TemplateAPI) author(c *fiber.Ctx) string {
	if api.Author == nil {
		return ""
	}
	return strings.Clone(api.Author(c))
}

// TemplateGet serves GET /api/v1/templates/{trigger}/{channel}/{locale}:
// the current template (marketing's latest version, or the shipped
// default as version 0 with "custom": false). An unknown trigger, channel
// or locale is 404 naming it. Register it behind an admin API key.
func TemplateGet(api TemplateAPI) fiber.Handler {
	return func(c *fiber.Ctx) error {
		trigger, channel, locale, err := templateKey(c)
		if err != nil {
			return err
		}
		t, err := api.Store.Get(c.UserContext(), trigger, channel, locale)
		if err != nil {
			return storeFailure(err)
		}
		return c.JSON(viewOf(t))
	}
}

// TemplatePut serves PUT /api/v1/templates/{trigger}/{channel}/{locale}
// with {"subject", "html", "text"} (email) or {"body"} (SMS): saves it as
// the next version and answers it, with "warnings" (unknown variables).
// A template that does not validate is 422 {"errors": [{"part", "line",
// "message"}], "warnings": [...]}, and nothing is saved.
func TemplatePut(api TemplateAPI) fiber.Handler {
	return func(c *fiber.Ctx) error {
		trigger, channel, locale, err := templateKey(c)
		if err != nil {
			return err
		}
		if err := api.checkBody(c); err != nil {
			return err
		}
		var parts templates.Parts
		if err := decodeJSON(c.Body(), &parts); err != nil {
			return err
		}
		ctx := c.UserContext()
		n, errs, warnings, err := api.Store.Put(ctx, trigger, channel, locale, parts, api.author(c))
		switch {
		case errors.Is(err, templates.ErrInvalidTemplate):
			return invalid(c, errs, warnings)
		case err != nil:
			return storeFailure(err)
		}
		t, err := api.Store.Version(ctx, trigger, channel, locale, n)
		if err != nil {
			return storeFailure(err)
		}
		return c.JSON(savedView{viewOf(t), nonNil(warnings)})
	}
}

// TemplateVersions serves GET /api/v1/templates/{trigger}/{channel}/{locale}/versions:
// {"versions": [...]}, every saved version, newest first (none while the
// shipped default is in use).
func TemplateVersions(api TemplateAPI) fiber.Handler {
	return func(c *fiber.Ctx) error {
		trigger, channel, locale, err := templateKey(c)
		if err != nil {
			return err
		}
		ts, err := api.Store.Versions(c.UserContext(), trigger, channel, locale)
		if err != nil {
			return storeFailure(err)
		}
		out := struct {
			Versions []templateView `json:"versions"`
		}{make([]templateView, len(ts))}
		for i, t := range ts {
			out.Versions[i] = viewOf(t)
		}
		return c.JSON(out)
	}
}

// TemplateRestore serves POST /api/v1/templates/{trigger}/{channel}/{locale}/versions/{n}/restore:
// saves version n again as the next version and answers it. An unknown
// version is 404; one that no longer validates is 422 as for PUT.
func TemplateRestore(api TemplateAPI) fiber.Handler {
	return func(c *fiber.Ctx) error {
		trigger, channel, locale, err := templateKey(c)
		if err != nil {
			return err
		}
		n, err := strconv.Atoi(c.Params("n"))
		if err != nil || n < 1 {
			return &Error{Status: fiber.StatusNotFound, Message: fmt.Sprintf("unknown version %q: versions are whole numbers from 1", c.Params("n")), Field: "n"}
		}
		ctx := c.UserContext()
		v, err := api.Store.Restore(ctx, trigger, channel, locale, n, api.author(c))
		var ve *templates.ValidationError
		switch {
		case errors.As(err, &ve):
			return invalid(c, ve.Errors, ve.Warnings)
		case err != nil:
			return storeFailure(err)
		}
		t, err := api.Store.Version(ctx, trigger, channel, locale, v)
		if err != nil {
			return storeFailure(err)
		}
		return c.JSON(viewOf(t))
	}
}

// previewRequest is the body of POST /api/v1/templates/preview.
type previewRequest struct {
	Channel notify.Channel `json:"channel"`
	Locale  string         `json:"locale"`
	templates.Parts
	Sample struct {
		Status  string `json:"status"`
		Delayed bool   `json:"delayed"`
		Split   bool   `json:"split"`
	} `json:"sample"`
}

// previewView is a rendered preview: subject, html and text for email;
// body and its SMS size for SMS.
type previewView struct {
	Subject    *string             `json:"subject,omitempty"`
	HTML       *string             `json:"html,omitempty"`
	Text       *string             `json:"text,omitempty"`
	Body       *string             `json:"body,omitempty"`
	Encoding   string              `json:"encoding,omitempty"`
	Characters *int                `json:"characters,omitempty"`
	Segments   *int                `json:"segments,omitempty"`
	Warnings   []templates.Problem `json:"warnings"`
}

func previewOf(channel notify.Channel, r templates.Rendered, warnings []templates.Problem) previewView {
	v := previewView{Warnings: nonNil(warnings)}
	if channel == notify.SMS {
		v.Body, v.Encoding, v.Characters, v.Segments = &r.Body, r.Encoding, &r.Characters, &r.Segments
	} else {
		v.Subject, v.HTML, v.Text = &r.Subject, &r.HTML, &r.Text
	}
	return v
}

// check fills in a preview request's defaults (the default locale, a
// parcel in transit) and refuses an unknown channel, locale or status.
func (in *previewRequest) check() error {
	if in.Locale == "" {
		in.Locale = notify.DefaultLocale
	}
	if in.Sample.Status == "" {
		in.Sample.Status = string(tracking.StatusInTransit)
	}
	// Any trigger will do: a preview names no template, only its channel
	// and locale.
	if err := templates.CheckKey(notify.Shipped, in.Channel, in.Locale); err != nil {
		return keyError(fiber.StatusBadRequest, err)
	}
	if !tracking.Status(in.Sample.Status).Valid() {
		return &Error{Status: fiber.StatusBadRequest, Field: "sample.status",
			Message: fmt.Sprintf("sample.status: unknown status %q", in.Sample.Status)}
	}
	return nil
}

// TemplatePreview serves POST /api/v1/templates/preview: a template
// ({"channel", "locale", "subject", "html", "text"} or {"channel",
// "locale", "body"}) rendered with a sample order in the situation
// "sample": {"status": a tracking status (default in_transit), "delayed",
// "split" (one package of two)}. It answers the rendered {"subject",
// "html", "text"} or {"body", "encoding", "characters", "segments"}, with
// "warnings"; a template that does not render is 422 {"errors",
// "warnings"}. Parts left empty render empty.
func TemplatePreview(api TemplateAPI) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := api.checkBody(c); err != nil {
			return err
		}
		var in previewRequest
		if err := decodeJSON(c.Body(), &in); err != nil {
			return err
		}
		if err := in.check(); err != nil {
			return err
		}
		errs, warnings := api.Engine.ValidatePartial(in.Channel, in.Parts)
		if len(errs) > 0 {
			return invalid(c, errs, warnings)
		}
		d := templates.SampleData(in.Locale, in.Sample.Status, in.Sample.Delayed, in.Sample.Split)
		r, err := api.Engine.RenderContext(c.UserContext(), in.Channel, in.Parts, d)
		var re *templates.RenderError
		switch {
		case errors.As(err, &re):
			return invalid(c, re.Problems, warnings)
		case err != nil:
			return err
		}
		return c.JSON(previewOf(in.Channel, r, warnings))
	}
}

// testSendRequest is the body of POST /api/v1/templates/test-send.
type testSendRequest struct {
	Trigger notify.Trigger `json:"trigger"`
	Channel notify.Channel `json:"channel"`
	Locale  string         `json:"locale"`
	To      string         `json:"to"`
}

// maxRecipient is the longest address SMTP allows; phone numbers are far
// shorter.
const maxRecipient = 254

// TemplateTestSend serves POST /api/v1/templates/test-send with
// {"trigger", "channel", "locale", "to"}: renders the current template
// with a sample order in the trigger's situation and sends it to "to" (an
// email address, or an E.164 phone number for SMS). It answers 202
// {"provider_id"}; a bad address or number is 400; a provider that fails
// is 502 with its error.
func TemplateTestSend(api TemplateAPI) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := api.checkBody(c); err != nil {
			return err
		}
		var in testSendRequest
		if err := decodeJSON(c.Body(), &in); err != nil {
			return err
		}
		if err := templates.CheckKey(in.Trigger, in.Channel, in.Locale); err != nil {
			return keyError(fiber.StatusBadRequest, err)
		}
		to, err := recipient(in.Channel, in.To)
		if err != nil {
			return err
		}
		if api.Send == nil {
			return httpError(fiber.StatusNotImplemented, "test sends are not configured on this server")
		}
		ctx := c.UserContext()
		t, err := api.Store.Get(ctx, in.Trigger, in.Channel, in.Locale)
		if err != nil {
			return storeFailure(err)
		}
		r, err := api.Engine.RenderContext(ctx, in.Channel, t.Parts, templates.SampleForTrigger(in.Locale, in.Trigger))
		var re *templates.RenderError
		switch {
		case errors.As(err, &re):
			return invalid(c, re.Problems, nil)
		case err != nil:
			return err
		}
		id, err := api.Send(ctx, in.Channel, to, r)
		var ir interface{ InvalidRecipient() bool }
		switch {
		case errors.Is(err, ErrInvalidRecipient) || errors.As(err, &ir) && ir.InvalidRecipient():
			return &Error{Status: fiber.StatusBadRequest, Field: "to", Message: "to: " + err.Error()}
		case err != nil:
			return &Error{Status: fiber.StatusBadGateway, Message: "the " + string(in.Channel) + " provider did not take the message: " + err.Error(), Err: err}
		}
		return c.Status(fiber.StatusAccepted).JSON(fiber.Map{"provider_id": id})
	}
}

// recipient checks "to" for the channel: an email address for email
// (its address part, without a display name); for SMS a phone number, left
// for the sender to validate.
func recipient(channel notify.Channel, to string) (string, error) {
	to = strings.TrimSpace(to)
	switch {
	case to == "":
		return "", &tracking.FieldError{Field: "to", Message: "is required"}
	case len(to) > maxRecipient:
		return "", &tracking.FieldError{Field: "to", Message: fmt.Sprintf("is longer than %d characters", maxRecipient)}
	case channel == notify.SMS:
		return to, nil
	}
	addr, err := mail.ParseAddress(to)
	if err != nil {
		return "", &tracking.FieldError{Field: "to", Message: fmt.Sprintf("%q is not an email address", to)}
	}
	return addr.Address, nil
}
