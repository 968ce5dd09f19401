package web

import "github.com/gofiber/fiber/v2"

// ConsoleOps is what the console's ops pages need.
type ConsoleOps struct{}

// consoleOpsRoutes registers the console's ops pages.
func (s *Server) consoleOpsRoutes(con fiber.Router) {}
