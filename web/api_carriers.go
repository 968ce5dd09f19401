package web

import "github.com/gofiber/fiber/v2"

// listCarriers answers GET /api/v1/carriers: the adapters and what each supports.
func (s *Server) listCarriers(c *fiber.Ctx) error {
	return httpError(fiber.StatusNotImplemented, "not yet")
}

// detectCarrier answers POST /api/v1/carriers/detect.
func (s *Server) detectCarrier(c *fiber.Ctx) error {
	return httpError(fiber.StatusNotImplemented, "not yet")
}
