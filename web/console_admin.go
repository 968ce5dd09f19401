package web

import "github.com/gofiber/fiber/v2"

// ConsoleAdmin is what the console's admin pages need.
type ConsoleAdmin struct{}

// consoleAdminRoutes registers the console's admin pages.
func (s *Server) consoleAdminRoutes(con fiber.Router) {}
