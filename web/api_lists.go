package web

import (
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/trackd/trackd/tracking"
)

// Listings of orders and shipments (tracking/list.go): oldest change
// first, from a cursor, so an OMS syncs with
//
//	GET /api/v1/orders?updated_since=<last sync>
//
// and follows next_cursor until it is "". A page may be short, even empty,
// with more to come: one request examines at most tracking.ListBudget
// records before it answers.

// listDefaultLimit is a page's size when the request names none.
const listDefaultLimit = 50

type ordersPage struct {
	Orders     []orderView `json:"orders"`
	NextCursor string      `json:"next_cursor"`
}

type shipmentsPage struct {
	Shipments  []*tracking.Shipment `json:"shipments"`
	NextCursor string               `json:"next_cursor"`
}

// badParam is a 400 naming the request's field at fault.
func badParam(field, msg string) error {
	return &Error{Status: fiber.StatusBadRequest, Field: field, Message: field + ": " + msg}
}

// limitParam reads ?limit=, 1 to maxLimit; def when absent.
func limitParam(c *fiber.Ctx, def, maxLimit int) (int, error) {
	v := c.Query("limit")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxLimit {
		return 0, badParam("limit", "is not a whole number from 1 to "+strconv.Itoa(maxLimit))
	}
	return n, nil
}

// listQuery reads updated_since, limit and cursor.
func listQuery(c *fiber.Ctx) (tracking.ListQuery, error) {
	q := tracking.ListQuery{Limit: listDefaultLimit, Cursor: strings.Clone(c.Query("cursor"))}
	if len(q.Cursor) > 512 {
		return q, badParam("cursor", "is not a cursor this listing returned")
	}
	var err error
	if q.Limit, err = limitParam(c, listDefaultLimit, tracking.MaxListLimit); err != nil {
		return q, err
	}
	if v := c.Query("updated_since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return q, badParam("updated_since", "is not an RFC 3339 time, like 2026-11-25T10:00:00Z")
		}
		q.Since = t
	}
	return q, nil
}

// oneOf reads a comma-separated filter whose values must be in allowed;
// nil when the parameter is absent.
func oneOf[T ~string](c *fiber.Ctx, name string, allowed []T) (map[T]bool, error) {
	v := c.Query(name)
	if v == "" {
		return nil, nil
	}
	set := map[T]bool{}
	for _, part := range strings.Split(v, ",") {
		p := T(strings.TrimSpace(strings.ToLower(part)))
		ok := false
		for _, a := range allowed {
			ok = ok || a == p
		}
		if !ok {
			names := make([]string, len(allowed))
			for i, a := range allowed {
				names[i] = string(a)
			}
			return nil, badParam(name, strconv.Quote(string(p))+" is not one of "+strings.Join(names, ", "))
		}
		set[p] = true
	}
	return set, nil
}

// boolParam reads true/false; nil when absent.
func boolParam(c *fiber.Ctx, name string) (*bool, error) {
	switch c.Query(name) {
	case "":
		return nil, nil
	case "true":
		b := true
		return &b, nil
	case "false":
		b := false
		return &b, nil
	}
	return nil, badParam(name, "must be true or false")
}

// listOrders answers GET /api/v1/orders. Filters: status (order statuses,
// comma-separated), delayed (any of its shipments is), updated_since.
func (s *Server) listOrders(c *fiber.Ctx, ed OrderEditor) error {
	q, err := listQuery(c)
	if err != nil {
		return err
	}
	statuses, err := oneOf(c, "status", tracking.OrderStatuses())
	if err != nil {
		return err
	}
	delayed, err := boolParam(c, "delayed")
	if err != nil {
		return err
	}
	now := s.deps.Now()
	recs, next, err := ed.ListOrders(c.UserContext(), q, func(r tracking.OrderRecord) bool {
		for _, sh := range r.Shipments {
			sh.DeriveDelayed(now, s.cfg.NoScanAfter)
		}
		if statuses != nil && !statuses[tracking.DeriveOrderStatus(r.Order, r.Shipments)] {
			return false
		}
		return delayed == nil || *delayed == anyDelayed(r.Shipments)
	})
	if err != nil {
		return storeError(err)
	}
	page := ordersPage{Orders: make([]orderView, 0, len(recs)), NextCursor: next}
	for _, r := range recs {
		page.Orders = append(page.Orders, s.orderViewFrom(r.Order, r.Shipments))
	}
	return c.JSON(page)
}

func anyDelayed(shipments map[string]*tracking.Shipment) bool {
	for _, sh := range shipments {
		if sh.Delayed {
			return true
		}
	}
	return false
}

// listShipments answers GET /api/v1/shipments. Filters: carrier and status
// (comma-separated), delayed, direction, updated_since. Shipments come
// without their history: GET /shipments/{id}/events has it.
func (s *Server) listShipments(c *fiber.Ctx, ed OrderEditor) error {
	q, err := listQuery(c)
	if err != nil {
		return err
	}
	statuses, err := oneOf(c, "status", tracking.Statuses())
	if err != nil {
		return err
	}
	directions, err := oneOf(c, "direction", []tracking.Direction{tracking.Outbound, tracking.Return})
	if err != nil {
		return err
	}
	delayed, err := boolParam(c, "delayed")
	if err != nil {
		return err
	}
	var carriers map[string]bool
	if v := c.Query("carrier"); v != "" {
		carriers = map[string]bool{}
		for _, p := range strings.Split(v, ",") {
			carriers[tracking.NormalizeCarrier(p)] = true
		}
	}
	now := s.deps.Now()
	list, next, err := ed.ListShipments(c.UserContext(), q, func(sh *tracking.Shipment) bool {
		sh.DeriveDelayed(now, s.cfg.NoScanAfter)
		dir := sh.Direction
		if dir == "" {
			dir = tracking.Outbound
		}
		return (carriers == nil || carriers[sh.Carrier]) && (statuses == nil || statuses[sh.Status]) &&
			(directions == nil || directions[dir]) && (delayed == nil || *delayed == sh.Delayed)
	})
	if err != nil {
		return storeError(err)
	}
	if list == nil {
		list = []*tracking.Shipment{}
	}
	return c.JSON(shipmentsPage{Shipments: list, NextCursor: next})
}
