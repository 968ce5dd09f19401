package web

import "github.com/gofiber/fiber/v2"

// trackingPageRoutes serves the shopper's tracking page: GET /t/{token}
// and GET /t/{token}.json.
func (s *Server) trackingPageRoutes(r fiber.Router) {}
