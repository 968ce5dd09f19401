package web

import "github.com/gofiber/fiber/v2"

// liveRoutes serves the live updates of a tracking page: GET /t/{token}/ws
// (WebSocket) and GET /t/{token}/events (Server-Sent Events).
func (s *Server) liveRoutes(r fiber.Router) {}
