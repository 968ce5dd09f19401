package web

import (
	_ "embed"

	"github.com/gofiber/fiber/v2"
)

// openAPIDoc is the OpenAPI 3.1 description of the /api/v1 routes.
// openapi_test.go holds it to the routes and the answers, both ways.
//
//go:embed openapi.json
var openAPIDoc []byte

// openAPI answers GET /api/v1/openapi.json: the API's OpenAPI document.
// It needs no API key: it says nothing a client could not learn by trying.
func (s *Server) openAPI(c *fiber.Ctx) error { return serveOpenAPI(c) }

// OpenAPIHandler serves the OpenAPI document, for mounting outside a Server.
func OpenAPIHandler() fiber.Handler { return serveOpenAPI }

func serveOpenAPI(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	c.Set(fiber.HeaderCacheControl, "public, max-age=300")
	return c.Send(openAPIDoc)
}
