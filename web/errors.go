package web

import (
	"errors"
	"log/slog"
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/utils"
	"github.com/trackd/trackd/tracking"
)

// Error is an HTTP error with a message for the client. Handlers return
// them; errorHandler writes them, so every error has one shape: an RFC 9457
// problem (application/problem+json: type, title, status, detail, and
// "errors" naming the invalid field), which also carries trackd's earlier
// members, "error" (the detail) and "field", for clients written against
// them.
type Error struct {
	Status     int
	Message    string
	Field      string
	RetryAfter int // seconds, for 429 and 503
	Err        error
}

func (e *Error) Error() string { return e.Message }
func (e *Error) Unwrap() error { return e.Err }

func httpError(status int, msg string) *Error { return &Error{Status: status, Message: msg} }

// errorHandler maps errors to responses. Unexpected errors are logged here,
// once, and the client gets a generic 500.
func errorHandler(log *slog.Logger) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		var (
			he  *Error
			fes tracking.FieldErrors
			fe  *tracking.FieldError
			fbe *fiber.Error
		)
		switch {
		case errors.As(err, &he):
		case errors.As(err, &fes):
			// Every wrong field; "field" and the legacy "error" keep the first.
			body := fiber.Map{"type": "about:blank", "title": utils.StatusMessage(fiber.StatusBadRequest),
				"status": fiber.StatusBadRequest, "detail": fes.Error(), "error": fes[0].Error(), "field": fes[0].Field}
			list := make([]fiber.Map, len(fes))
			for i, e := range fes {
				list[i] = fiber.Map{"field": e.Field, "detail": e.Error()}
			}
			body["errors"] = list
			return c.Status(fiber.StatusBadRequest).JSON(body, "application/problem+json")
		case errors.As(err, &fe):
			he = &Error{Status: fiber.StatusBadRequest, Message: fe.Error(), Field: fe.Field}
		case errors.Is(err, tracking.ErrNotFound):
			he = httpError(fiber.StatusNotFound, "not found")
		case errors.As(err, &fbe):
			he = httpError(fbe.Code, fbe.Message)
			if fbe.Code == fiber.StatusRequestEntityTooLarge {
				he.Message = "request body too large"
			}
		default:
			log.Error("request failed", "method", c.Method(), "path", c.Path(), "err", err)
			he = httpError(fiber.StatusInternalServerError, "internal error")
		}
		if he.Status >= 500 && he.Err != nil {
			log.Warn("request failed", "method", c.Method(), "path", c.Path(), "status", he.Status, "err", he.Err)
		}
		if he.RetryAfter > 0 {
			c.Set(fiber.HeaderRetryAfter, strconv.Itoa(he.RetryAfter))
		}
		body := fiber.Map{"type": "about:blank", "title": utils.StatusMessage(he.Status), "status": he.Status,
			"detail": he.Message, "error": he.Message}
		if he.Field != "" {
			body["field"] = he.Field
			body["errors"] = []fiber.Map{{"field": he.Field, "detail": he.Message}}
		}
		return c.Status(he.Status).JSON(body, "application/problem+json")
	}
}
