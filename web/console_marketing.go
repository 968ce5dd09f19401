package web

import "github.com/gofiber/fiber/v2"

// ConsoleMarketing is what the console's marketing pages need.
type ConsoleMarketing struct{}

// consoleMarketingRoutes registers the console's marketing pages.
func (s *Server) consoleMarketingRoutes(con fiber.Router) {}
