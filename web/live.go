package web

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/fasthttp/websocket"
	fws "github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"
	"github.com/trackd/trackd/tracking"
)

// liveRoutes serves the live updates of a tracking page: GET /t/{token}/ws
// (WebSocket) and GET /t/{token}/events (Server-Sent Events). Both send a
// snapshot first (unless the client resumes from cursors), then every new
// event, as DESIGN.md "Live messages" specifies.
func (s *Server) liveRoutes(r fiber.Router) {
	r.Get("/t/:token/ws", s.liveWebSocket)
	r.Get("/t/:token/events", s.liveEvents)
}

// liveRequest is what a live request asks for, read before any upgrade so
// errors are plain HTTP answers.
type liveRequest struct {
	order   tracking.Order
	cursors map[string]string
}

func (s *Server) parseLiveRequest(c *fiber.Ctx) (liveRequest, error) {
	if s.deps.Hub == nil {
		return liveRequest{}, httpError(fiber.StatusServiceUnavailable, "live updates are not running on this node")
	}
	o, err := s.deps.Store.OrderByToken(c.UserContext(), c.Params("token"))
	if err != nil {
		return liveRequest{}, storeError(err)
	}
	req := liveRequest{order: o, cursors: map[string]string{}}
	ids := map[string]bool{}
	for _, sh := range o.Shipments {
		ids[sh.ID] = true
	}
	var given []string
	for _, v := range c.Context().QueryArgs().PeekMulti("cursor") {
		given = append(given, string(v))
	}
	if last := c.Get("Last-Event-ID"); last != "" {
		given = append(given, last)
	}
	for _, v := range given {
		id, cursor, ok := strings.Cut(v, ":")
		if !ok || !validCursor(cursor) {
			return liveRequest{}, &Error{Status: fiber.StatusBadRequest, Field: "cursor",
				Message: fmt.Sprintf("cursor %q is not <shipment_id>:<cursor>", v)}
		}
		if !ids[id] {
			continue // a shipment since removed from the order: nothing to resume
		}
		if tracking.CompareCursors(cursor, req.cursors[id]) > 0 {
			req.cursors[id] = cursor
		}
	}
	return req, nil
}

func validCursor(c string) bool {
	ms, seq, ok := strings.Cut(c, "-")
	return ok && ms != "" && seq != "" && len(c) <= 41 &&
		strings.Trim(ms, "0123456789") == "" && strings.Trim(seq, "0123456789") == ""
}

// start registers the connection with the hub and queues what comes
// first: the snapshot when the client has no cursors, else nothing, then
// everything after the client's position.
func (s *Server) startLive(ctx context.Context, transport string, req liveRequest) (*liveClient, error) {
	ids := make([]string, 0, len(req.order.Shipments))
	for _, sh := range req.order.Shipments {
		ids = append(ids, sh.ID)
	}
	cl, err := s.deps.Hub.connect(ctx, transport, ids)
	if err != nil {
		return nil, err
	}
	cursors := req.cursors
	resumed := len(cursors) > 0
	if !resumed {
		snap, err := s.snapshot(ctx, req.order)
		if err != nil {
			cl.disconnect()
			return nil, err
		}
		b, err := json.Marshal(snap)
		if err != nil {
			cl.disconnect()
			return nil, err
		}
		cl.queue(b)
		for _, sh := range snap.Shipments {
			cursors[sh.ID] = sh.Cursor
		}
	}
	if err := cl.attach(ctx, cursors, resumed); err != nil {
		cl.disconnect()
		return nil, err
	}
	return cl, nil
}

func (s *Server) liveWebSocket(c *fiber.Ctx) error {
	if !fws.IsWebSocketUpgrade(c) {
		return httpError(fiber.StatusUpgradeRequired, "this endpoint speaks WebSocket; use /events for Server-Sent Events")
	}
	if !s.sameOrigin(c) {
		return httpError(fiber.StatusForbidden, "cross-origin WebSocket refused")
	}
	req, err := s.parseLiveRequest(c)
	if err != nil {
		return err
	}
	hub := s.deps.Hub
	return fws.New(func(conn *fws.Conn) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		cl, err := s.startLive(ctx, "websocket", req)
		cancel()
		if err != nil {
			code := closeInternalError
			if errors.Is(err, errHubClosed) {
				code = closeGoingAway
			}
			s.deps.Log.Debug("live connection refused", "err", err)
			conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, ""), time.Now().Add(time.Second))
			return
		}
		defer cl.disconnect()
		serveWebSocket(conn, cl, hub.cfg)
	}, fws.Config{
		HandshakeTimeout: 10 * time.Second,
		Origins:          []string{"*"}, // checked by sameOrigin
	})(c)
}

// sameOrigin refuses WebSockets opened by other sites' pages (browsers send
// cookies and credentials along, and no CORS applies to WebSockets). A
// browser's Origin must be the public URL or the host it asked; clients
// that are not browsers send no Origin.
func (s *Server) sameOrigin(c *fiber.Ctx) bool {
	origin := c.Get(fiber.HeaderOrigin)
	if origin == "" || origin == s.cfg.PublicURL {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && u.Host == c.Hostname()
}

// serveWebSocket pumps queued messages to the socket and reads only to
// notice pongs and closes.
func serveWebSocket(conn *fws.Conn, cl *liveClient, cfg HubConfig) {
	conn.SetReadLimit(4096)
	conn.SetReadDeadline(time.Now().Add(cfg.IdleTimeout))
	conn.SetPongHandler(func(string) error {
		return conn.SetReadDeadline(time.Now().Add(cfg.IdleTimeout))
	})
	go func() {
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				cl.close(closeGoingAway, "")
				return
			}
			conn.SetReadDeadline(time.Now().Add(cfg.IdleTimeout))
		}
	}()
	ping := time.NewTicker(cfg.PingEvery)
	defer ping.Stop()
	for {
		select {
		case m := <-cl.send:
			conn.SetWriteDeadline(time.Now().Add(cfg.WriteTimeout))
			if err := conn.WriteMessage(websocket.TextMessage, m.data); err != nil {
				return
			}
		case <-ping.C:
			if err := conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(cfg.WriteTimeout)); err != nil {
				return
			}
		case <-cl.done:
			if cl.reason != "" || cl.code == closeGoingAway {
				conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(cl.code, cl.reason),
					time.Now().Add(time.Second))
			}
			return
		}
	}
}

func (s *Server) liveEvents(c *fiber.Ctx) error {
	req, err := s.parseLiveRequest(c)
	if err != nil {
		return err
	}
	cl, err := s.startLive(c.UserContext(), "sse", req)
	if errors.Is(err, errHubClosed) {
		return &Error{Status: fiber.StatusServiceUnavailable, Message: err.Error(), RetryAfter: 1, Err: err}
	}
	if err != nil {
		return err
	}
	cfg := s.deps.Hub.cfg
	c.Set(fiber.HeaderContentType, "text/event-stream")
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set("X-Accel-Buffering", "no") // nginx would buffer the stream otherwise
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		defer cl.disconnect()
		// Reconnect after a second unless told otherwise; the page's script
		// does its own backoff.
		fmt.Fprint(w, "retry: 1000\n\n")
		if w.Flush() != nil {
			return
		}
		ping := time.NewTicker(cfg.PingEvery)
		defer ping.Stop()
		for {
			select {
			case m := <-cl.send:
				if m.id != "" {
					fmt.Fprintf(w, "id: %s\n", m.id)
				}
				fmt.Fprintf(w, "data: %s\n\n", m.data)
			case <-ping.C:
				fmt.Fprint(w, ": ping\n\n")
			case <-cl.done:
				fmt.Fprintf(w, "event: close\ndata: {\"code\":%d}\n\n", cl.code)
				w.Flush()
				return
			}
			if w.Flush() != nil {
				return
			}
		}
	})
	return nil
}
