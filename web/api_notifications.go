package web

import (
	"bufio"
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/trackd/trackd/notify/deliverylog"
)

// NotificationLog is the delivery log as the console's API reads it
// (deliverylog.Log).
type NotificationLog interface {
	Query(ctx context.Context, f deliverylog.Filter) ([]deliverylog.Attempt, string, error)
}

// notificationView is one attempt as the API shows it: the recipient
// masked, and without its hash, which is the log's own search key.
type notificationView struct {
	ID              string    `json:"id"`
	At              time.Time `json:"at"`
	OrderID         string    `json:"order_id"`
	OrderNumber     string    `json:"order_number"`
	ShipmentID      string    `json:"shipment_id"`
	Trigger         string    `json:"trigger"`
	Channel         string    `json:"channel"`
	Recipient       string    `json:"recipient"`
	Locale          string    `json:"locale"`
	TemplateVersion int       `json:"template_version"`
	Result          string    `json:"result"`
	ProviderID      string    `json:"provider_id"`
	Error           string    `json:"error"`
	Attempt         int       `json:"attempt"`
}

// notificationsPage is what GET /api/v1/notifications answers.
type notificationsPage struct {
	Notifications []notificationView `json:"notifications"`
	// NextCursor is the cursor of the next page; "" after the last.
	NextCursor string `json:"next_cursor"`
}

const (
	// notificationsMaxOrder and notificationsMaxEmail are the longest order
	// number the merchant API accepts and the longest address SMTP allows.
	notificationsMaxOrder = 128
	notificationsMaxEmail = 254
	// notificationsMaxCursor is far above the log's 30-character cursors.
	notificationsMaxCursor = 64
	// notificationsCSVMaxRows caps one export: 100,000 attempts are about
	// 20 MB of CSV, more than a spreadsheet is pleasant with; narrower
	// filters (since, until) export the rest.
	notificationsCSVMaxRows = 100_000
	// notificationsCSVTimeout bounds the Redis work of one export.
	notificationsCSVTimeout = 2 * time.Minute
)

// NotificationsList serves GET /api/v1/notifications: the delivery log,
// newest first. Query parameters, all optional: order (an order number),
// email (a recipient address, matched through the log's keyed hash), since
// and until (RFC 3339; since inclusive, until exclusive), limit (1 to 500,
// default 50) and cursor (a next_cursor from the previous page). Answers
// {"notifications": [...], "next_cursor": "..."}; a bad parameter is 400
// naming it in "field". Register it behind an admin API key.
func NotificationsList(nl NotificationLog) fiber.Handler {
	return func(c *fiber.Ctx) error {
		f, err := notificationFilter(c, deliverylog.MaxLimit)
		if err != nil {
			return err
		}
		attempts, next, err := nl.Query(c.UserContext(), f)
		if err != nil {
			return notificationLogError(err)
		}
		page := notificationsPage{Notifications: make([]notificationView, len(attempts)), NextCursor: next}
		for i, a := range attempts {
			page.Notifications[i] = newNotificationView(a)
		}
		c.Set(fiber.HeaderCacheControl, "no-store")
		return c.JSON(page)
	}
}

// NotificationsCSV serves GET /api/v1/notifications.csv: the same filters
// as NotificationsList, every page of them as one CSV attachment
// (deliverylog.WriteCSV's columns), streamed page by page. limit caps the
// rows (at most 100,000, the default). When more attempts match than are
// written, or reading fails midway (the status is sent by then), the file
// ends with a row saying so, rather than looking complete. Register it
// behind an admin API key.
func NotificationsCSV(nl NotificationLog, log *slog.Logger) fiber.Handler {
	return func(c *fiber.Ctx) error {
		f, err := notificationFilter(c, notificationsCSVMaxRows)
		if err != nil {
			return err
		}
		maxRows := notificationsCSVMaxRows
		if f.Limit > 0 {
			maxRows = f.Limit
		}
		f.Limit = min(maxRows, deliverylog.MaxLimit)
		// The first page is read before answering, so that a log that
		// cannot be read gets a proper 503.
		first, next, err := nl.Query(c.UserContext(), f)
		if err != nil {
			return notificationLogError(err)
		}
		c.Set(fiber.HeaderCacheControl, "no-store")
		c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
		c.Set(fiber.HeaderContentDisposition, `attachment; filename="notifications.csv"`)
		// The stream is written after the handler returns, when c is gone:
		// it gets copies, and a context of its own.
		ctx := context.WithoutCancel(c.UserContext())
		c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
			ctx, cancel := context.WithTimeout(ctx, notificationsCSVTimeout)
			defer cancel()
			streamNotificationsCSV(ctx, w, nl, log, f, first, next, maxRows)
		})
		return nil
	}
}

func streamNotificationsCSV(ctx context.Context, w *bufio.Writer, nl NotificationLog, log *slog.Logger,
	f deliverylog.Filter, page []deliverylog.Attempt, next string, maxRows int) {
	cw := deliverylog.NewCSVWriter(w)
	rows := 0
	for {
		page = page[:min(len(page), maxRows-rows)]
		if err := cw.Write(page); err != nil {
			log.Debug("notifications export: client gone", "err", err)
			return
		}
		rows += len(page)
		if err := cw.Flush(); err != nil {
			log.Debug("notifications export: client gone", "err", err)
			return
		}
		if err := w.Flush(); err != nil {
			log.Debug("notifications export: client gone", "err", err)
			return
		}
		if next == "" {
			return
		}
		if rows >= maxRows {
			note(cw, w, "truncated", "more attempts match than the "+strconv.Itoa(maxRows)+" exported; narrow the filters (since, until)")
			return
		}
		var err error
		f.Cursor, f.Limit = next, min(maxRows-rows, deliverylog.MaxLimit)
		page, next, err = nl.Query(ctx, f)
		if err != nil {
			log.Warn("notifications export cut short", "rows", rows, "err", err)
			note(cw, w, "error", "export incomplete after "+strconv.Itoa(rows)+" rows: the log could not be read; retry")
			return
		}
	}
}

// note ends an export with a row saying why it ends there.
func note(cw *deliverylog.CSVWriter, w *bufio.Writer, cells ...string) {
	if cw.WriteRow(cells...) == nil && cw.Flush() == nil {
		_ = w.Flush() // the client may be gone; nothing is left to tell it
	}
}

func newNotificationView(a deliverylog.Attempt) notificationView {
	return notificationView{
		ID: a.ID, At: a.At.UTC(), OrderID: a.OrderID, OrderNumber: a.OrderNumber, ShipmentID: a.ShipmentID,
		Trigger: string(a.Trigger), Channel: string(a.Channel), Recipient: a.Recipient, Locale: a.Locale,
		TemplateVersion: a.TemplateVersion, Result: a.Result, ProviderID: a.ProviderID, Error: a.Error,
		Attempt: a.Attempt,
	}
}

// notificationFilter reads the query parameters of the notifications API.
// Values are copied: Fiber reuses the request's buffers.
// limit may be at most maxLimit.
func notificationFilter(c *fiber.Ctx, maxLimit int) (deliverylog.Filter, error) {
	var f deliverylog.Filter
	f.OrderNumber = strings.Clone(strings.TrimSpace(c.Query("order")))
	if len(f.OrderNumber) > notificationsMaxOrder {
		return f, badParam("order", "is longer than "+strconv.Itoa(notificationsMaxOrder)+" characters")
	}
	f.Email = strings.Clone(strings.TrimSpace(c.Query("email")))
	if f.Email != "" {
		at := strings.LastIndexByte(f.Email, '@')
		if len(f.Email) > notificationsMaxEmail || at <= 0 || at == len(f.Email)-1 {
			return f, badParam("email", "is not an email address")
		}
	}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		v := c.Query(p.name)
		if v == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return f, badParam(p.name, "is not an RFC 3339 time, like 2026-11-25T10:00:00Z")
		}
		*p.dst = t
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return f, badParam("until", "must be after since")
	}
	var err error
	if f.Limit, err = limitParam(c, f.Limit, maxLimit); err != nil {
		return f, err
	}
	f.Cursor = strings.Clone(c.Query("cursor"))
	if len(f.Cursor) > notificationsMaxCursor {
		return f, badParam("cursor", "is not a cursor this API gave")
	}
	return f, nil
}

func notificationLogError(err error) error {
	if errors.Is(err, deliverylog.ErrInvalidCursor) {
		return &Error{Status: fiber.StatusBadRequest, Message: "cursor: is not a cursor this API gave", Field: "cursor"}
	}
	return storeError(err)
}
