package web

import (
	"errors"
	"net/url"

	"github.com/gofiber/fiber/v2"
	"github.com/trackd/trackd/notify/deliverylog"
	"github.com/trackd/trackd/templates"
)

// deliveriesPage serves GET /console/deliveries: the delivery log, newest
// first, searched by order number or email (the notifications API's
// filters), with the same search as CSV.
func (s *Server) deliveriesPage(c *fiber.Ctx) error {
	const title = "Delivery log"
	ops := s.deps.Console.Ops
	if ops.Log == nil {
		return s.notSetUp(c, title, "deliveries")
	}
	p := templates.DeliveriesProps{Console: s.consoleProps(c, title, "deliveries")}
	f, err := notificationFilter(c, deliverylog.MaxLimit)
	p.OrderNumber, p.Email = f.OrderNumber, f.Email
	search := url.Values{}
	if f.OrderNumber != "" {
		search.Set("order", f.OrderNumber)
	}
	if f.Email != "" {
		search.Set("email", f.Email)
	}
	p.Searched = len(search) > 0
	p.CSV = "/console/deliveries.csv"
	if len(search) > 0 {
		p.CSV += "?" + search.Encode()
	}
	if err != nil {
		var he *Error
		if errors.As(err, &he) {
			p.Error = he.Message
		}
		c.Status(fiber.StatusBadRequest)
		return s.consolePage(c, templates.Deliveries(p))
	}
	attempts, next, err := ops.Log.Query(c.UserContext(), f)
	switch {
	case errors.Is(err, deliverylog.ErrInvalidCursor):
		c.Status(fiber.StatusBadRequest)
		p.Error = "This page link is not one the console made; start from the first page."
	case err != nil:
		s.deps.Log.Warn("delivery log", "err", err)
		c.Status(fiber.StatusServiceUnavailable)
		p.Error = "The delivery log cannot be read now; reload in a moment."
	}
	for _, a := range attempts {
		v := templates.DeliveryView{At: opsTime(a.At), OrderNumber: a.OrderNumber, Trigger: string(a.Trigger),
			Channel: string(a.Channel), Recipient: a.Recipient, Result: a.Result, ProviderID: a.ProviderID,
			Error: a.Error, TemplateVersion: a.TemplateVersion, Attempt: a.Attempt}
		switch a.Result {
		case deliverylog.Sent, deliverylog.Delivered:
			v.Tone = "ok"
		case deliverylog.Failed, deliverylog.Undelivered:
			v.Tone = "bad"
		}
		p.Attempts = append(p.Attempts, v)
	}
	if next != "" {
		q := url.Values{"cursor": {next}}
		for k, v := range search {
			q[k] = v
		}
		p.Next = "/console/deliveries?" + q.Encode()
	}
	return s.consolePage(c, templates.Deliveries(p))
}

// deliveriesCSV serves GET /console/deliveries.csv: the notifications
// API's export (NotificationsCSV), for a signed-in user.
func (s *Server) deliveriesCSV() fiber.Handler {
	ops := s.deps.Console.Ops
	if ops.Log == nil {
		return func(c *fiber.Ctx) error { return s.notSetUp(c, "Delivery log", "deliveries") }
	}
	return NotificationsCSV(ops.Log, s.deps.Log)
}
