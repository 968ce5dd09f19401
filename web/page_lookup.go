package web

import "github.com/gofiber/fiber/v2"

// lookupRoutes serves GET /track: find an order by number and email or
// postal code.
func (s *Server) lookupRoutes(r fiber.Router) {}
