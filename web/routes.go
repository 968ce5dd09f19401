package web

import (
	"net/http"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/gofiber/fiber/v2/middleware/compress"
	"github.com/gofiber/fiber/v2/middleware/filesystem"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/trackd/trackd/static"
)

// routes lists every route trackd serves.
func (s *Server) routes(app *fiber.App) {
	app.Get("/healthz", s.healthz)
	app.Get("/readyz", s.readyz)
	app.Get("/metrics", adaptor.HTTPHandler(promhttp.HandlerFor(s.deps.Registry, promhttp.HandlerOpts{})))

	app.Post("/webhooks/generic", s.genericWebhook)
	app.Post("/webhooks/:slug", s.carrierWebhook)
	app.Post("/webhooks/:slug/token", s.webhookToken)

	// Pages and assets are compressed; webhooks and the API are small and
	// answered before this middleware would matter.
	app.Use("/static", compress.New(), filesystem.New(filesystem.Config{Root: http.FS(static.Files), MaxAge: 3600}))
	s.liveRoutes(app)
	s.trackingPageRoutes(app)
	s.lookupRoutes(app)

	api := app.Group("/api/v1")
	api.Get("/openapi.json", s.openAPI)
	api.Post("/orders", s.requireKey(ScopeWrite), s.idempotent, s.putOrder)
	api.Get("/orders/:id", s.requireKey(ScopeRead), s.getOrder)
	s.orderEditRoutes(api)
	api.Get("/shipments/:id", s.requireKey(ScopeRead), s.getShipment)
	api.Get("/shipments/:id/events", s.requireKey(ScopeRead), s.shipmentEvents)
	api.Get("/notification-rules", s.requireKey(ScopeAdmin), s.getRules)
	api.Put("/notification-rules", s.requireKey(ScopeAdmin), s.putRules)
	api.Post("/sandbox/shipments/:id/advance", s.requireKey(ScopeWrite), SandboxAdvance(SandboxDeps{
		Enabled: s.cfg.Sandbox, Store: s.deps.Store, BodyLimit: s.cfg.APIBodyLimit, Log: s.deps.Log, Now: s.deps.Now}))
	if s.deps.Webhooks != nil {
		wh, admin := *s.deps.Webhooks, s.requireKey(ScopeAdmin)
		api.Post("/webhook-subscriptions", admin, WebhookSubscriptionCreate(wh))
		api.Get("/webhook-subscriptions", admin, WebhookSubscriptionList(wh))
		api.Get("/webhook-subscriptions/:id", admin, WebhookSubscriptionGet(wh))
		api.Patch("/webhook-subscriptions/:id", admin, WebhookSubscriptionPatch(wh))
		api.Delete("/webhook-subscriptions/:id", admin, WebhookSubscriptionDelete(wh))
		api.Get("/webhook-subscriptions/:id/deliveries", admin, WebhookSubscriptionDeliveries(wh))
		api.Post("/webhook-subscriptions/:id/replay", admin, WebhookSubscriptionReplay(wh))
	}
	s.notifyRoutes(app, api)
	s.consoleRoutes(app)
	api.Patch("/shipments/:id", s.requireKey(ScopeWrite), s.patchShipment)
	api.Get("/carriers", s.requireKey(ScopeRead), s.listCarriers)
	api.Post("/carriers/detect", s.requireKey(ScopeRead), s.detectCarrier)
	api.Use(func(c *fiber.Ctx) error { return httpError(fiber.StatusNotFound, "no such API route") })

	app.Use(func(c *fiber.Ctx) error { return httpError(fiber.StatusNotFound, "not found") })
}
