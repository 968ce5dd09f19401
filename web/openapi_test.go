package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/trackd/trackd/carriers"
	"github.com/trackd/trackd/carriers/generic"
	"github.com/trackd/trackd/notify"
	"github.com/trackd/trackd/notify/optout"
	"github.com/trackd/trackd/notify/templates"
	"github.com/trackd/trackd/outbound"
	"github.com/trackd/trackd/tracking"
	"github.com/trackd/trackd/tracking/redistest"
)

// The contract test: openapi.json against the routes web.New registers
// and against what the handlers answer.

const (
	oaRead  = "oa-read-key-0123456789"
	oaWrite = "oa-write-key-0123456789"
	oaAdmin = "oa-admin-key-0123456789"
	// oaNumber is a FedEx Express number (its check digit holds).
	oaNumber = "986578788855"
)

var oaNow = time.Date(2026, 11, 25, 16, 0, 0, 0, time.UTC)

// oaDoc is openapi.json, decoded with numbers kept as json.Number.
func oaDoc(t *testing.T) map[string]any {
	t.Helper()
	var doc map[string]any
	d := json.NewDecoder(bytes.NewReader(openAPIDoc))
	d.UseNumber()
	if err := d.Decode(&doc); err != nil {
		t.Fatalf("openapi.json is not JSON: %v", err)
	}
	return doc
}

var oaMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// oaOperations lists the documented operations as "METHOD /path/{param}".
func oaOperations(doc map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	paths, _ := doc["paths"].(map[string]any)
	for p, item := range paths {
		im, _ := item.(map[string]any)
		for _, m := range oaMethods {
			if op, ok := im[m].(map[string]any); ok {
				out[strings.ToUpper(m)+" "+p] = op
			}
		}
	}
	return out
}

var fiberParam = regexp.MustCompile(`:([A-Za-z0-9_]+)\??`)

// oaAppRoutes lists the app's /api/v1 routes as "METHOD /path/{param}",
// without HEAD (Fiber adds one per GET) and middleware (Use) entries.
func oaAppRoutes(app *fiber.App) map[string]bool {
	out := map[string]bool{}
	for _, r := range app.GetRoutes(true) {
		if r.Method == fiber.MethodHead || !strings.HasPrefix(r.Path, "/api/v1/") || strings.Contains(r.Path, "*") {
			continue
		}
		out[r.Method+" "+fiberParam.ReplaceAllString(r.Path, "{$1}")] = true
	}
	return out
}

// oaEnv is trackd with every optional API part on, on a real redis-server,
// with a processor applying what the ingest stream takes.
type oaEnv struct {
	app *fiber.App
	doc map[string]any
}

type oaSMSLog struct{}

func (oaSMSLog) UpdateByProviderID(context.Context, string, string, string) error { return nil }

func newOAEnv(t *testing.T) *oaEnv {
	t.Helper()
	rdb := redistest.Start(t).Client(t)
	prefix := redistest.Prefix(t)
	scfg := tracking.DefaultStoreConfig()
	scfg.Prefix = prefix
	store, err := tracking.NewStore(rdb, scfg)
	if err != nil {
		t.Fatal(err)
	}
	keys := NewKeyStore(rdb, prefix)
	for secret, scope := range map[string]string{oaRead: ScopeRead, oaWrite: ScopeWrite, oaAdmin: ScopeAdmin} {
		if err := keys.Put(context.Background(), secret, APIKey{Name: scope, Scope: scope}); err != nil {
			t.Fatal(err)
		}
	}
	log := slog.New(slog.DiscardHandler)
	adapters := carriers.NewRegistry(generic.Adapter{Verifier: generic.Verifier{Secrets: [][]byte{shpSecret}}})

	ocfg := outbound.DefaultConfig("test")
	ocfg.Prefix, ocfg.Shards, ocfg.AllowPrivate = prefix, scfg.Shards, true
	hooks, err := outbound.New(rdb, store, ocfg, log)
	if err != nil {
		t.Fatal(err)
	}
	hasher, err := optout.NewHasher(bytes.Repeat([]byte("h"), 32))
	if err != nil {
		t.Fatal(err)
	}
	optOuts, err := optout.NewStore(rdb, prefix, hasher, nil)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := optout.NewSigner(hasher, bytes.Repeat([]byte("s"), 32))
	if err != nil {
		t.Fatal(err)
	}
	defaults, err := templates.LoadDefaults()
	if err != nil {
		t.Fatal(err)
	}
	engine := templates.NewEngine(templates.DefaultLimits())
	tpls := templates.NewStore(rdb, engine, defaults, templates.StoreConfig{Prefix: prefix})

	cfg := DefaultConfig()
	cfg.KeyPrefix, cfg.GenericSecrets, cfg.Sandbox = prefix, [][]byte{shpSecret}, true
	app, err := New(cfg, Deps{
		Store: store, Keys: keys, Redis: rdb, Adapters: adapters,
		Rules: notify.NewRuleStore(rdb, prefix),
		Notify: &NotifyDeps{
			Log: &fakeNotificationLog{attempts: fakeAttempts(3)}, Tokens: signer, OptOuts: optOuts,
			CSRFKey: bytes.Repeat([]byte("c"), 32), SMSLog: oaSMSLog{},
			Templates: &TemplateAPI{Store: tpls, Engine: engine},
		},
		Webhooks: &WebhookSubscriptionAPI{Subs: hooks},
		Ready:    func(context.Context) error { return nil },
		Registry: prometheus.NewRegistry(), Log: log,
		Now: func() time.Time { return oaNow },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	proc := tracking.NewProcessor(store, adapters, tracking.DefaultProcessorConfig("test"), log, nil)
	done := make(chan struct{})
	go func() { defer close(done); proc.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return &oaEnv{app: app, doc: oaDoc(t)}
}

// TestOpenAPIDocument checks the document itself: version, security
// scheme, every $ref resolving, every path parameter declared, every
// operation answering something.
func TestOpenAPIDocument(t *testing.T) {
	doc := oaDoc(t)
	if doc["openapi"] != "3.1.0" {
		t.Errorf("openapi = %v, want 3.1.0", doc["openapi"])
	}
	if info, _ := doc["info"].(map[string]any); info["title"] == nil || info["version"] == nil {
		t.Errorf("info %v: want title and version", info)
	}
	if servers, _ := doc["servers"].([]any); len(servers) != 1 || servers[0].(map[string]any)["url"] != "/" {
		t.Errorf("servers = %v, want [{url: /}]", doc["servers"])
	}
	bearer, _ := oaGet(doc, "components", "securitySchemes", "bearer").(map[string]any)
	if bearer["type"] != "http" || bearer["scheme"] != "bearer" {
		t.Errorf("components.securitySchemes.bearer = %v, want {type: http, scheme: bearer}", bearer)
	}
	for _, name := range []string{"Error", "Order", "Shipment", "Event"} {
		if oaGet(doc, "components", "schemas", name) == nil {
			t.Errorf("components.schemas.%s is missing", name)
		}
	}

	// Every $ref resolves.
	var walk func(at string, v any)
	refs := 0
	walk = func(at string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if r, ok := v["$ref"].(string); ok {
				refs++
				if _, err := oaResolve(doc, r); err != nil {
					t.Errorf("%s: %v", at, err)
				}
			}
			for k, x := range v {
				walk(at+"/"+k, x)
			}
		case []any:
			for i, x := range v {
				walk(at+"/"+strconv.Itoa(i), x)
			}
		}
	}
	walk("#", doc)
	if refs == 0 {
		t.Error("no $ref at all: the walk is broken")
	}

	tmplParam := regexp.MustCompile(`\{([^}]+)\}`)
	paths, _ := doc["paths"].(map[string]any)
	for p, item := range paths {
		im := item.(map[string]any)
		ops := 0
		for _, m := range oaMethods {
			op, ok := im[m].(map[string]any)
			if !ok {
				continue
			}
			ops++
			where := strings.ToUpper(m) + " " + p
			declared := map[string]bool{}
			for _, list := range []any{im["parameters"], op["parameters"]} {
				ps, _ := list.([]any)
				for _, x := range ps {
					pm, _ := x.(map[string]any)
					if r, ok := pm["$ref"].(string); ok {
						rv, _ := oaResolve(doc, r)
						pm, _ = rv.(map[string]any)
					}
					if pm["in"] == "path" {
						if pm["required"] != true {
							t.Errorf("%s: path parameter %v is not required: true", where, pm["name"])
						}
						declared[fmt.Sprint(pm["name"])] = true
					}
				}
			}
			used := map[string]bool{}
			for _, sm := range tmplParam.FindAllStringSubmatch(p, -1) {
				used[sm[1]] = true
				if !declared[sm[1]] {
					t.Errorf("%s: path parameter {%s} is not declared", where, sm[1])
				}
			}
			for name := range declared {
				if !used[name] {
					t.Errorf("%s: declares path parameter %q the path lacks", where, name)
				}
			}
			rs, _ := op["responses"].(map[string]any)
			if len(rs) == 0 {
				t.Errorf("%s: no responses", where)
			}
			for code := range rs {
				if _, err := strconv.Atoi(code); err != nil && code != "default" {
					t.Errorf("%s: response %q is not a status code", where, code)
				}
			}
			if op["operationId"] == nil {
				t.Errorf("%s: no operationId", where)
			}
			// Every operation but the document itself needs a key, and
			// says which scope.
			sec, hasSec := op["security"].([]any)
			switch {
			case p == "/api/v1/openapi.json":
				if !hasSec || len(sec) != 0 {
					t.Errorf("%s: want security: [] (no key)", where)
				}
			case !hasSec || len(sec) != 1 || sec[0].(map[string]any)["bearer"] == nil:
				t.Errorf("%s: security = %v, want [{bearer: []}]", where, op["security"])
			case !regexp.MustCompile("`(read|write|admin)` scope").MatchString(fmt.Sprint(op["description"])):
				t.Errorf("%s: the description names no scope", where)
			default:
				if rs["401"] == nil {
					t.Errorf("%s: needs a key but documents no 401", where)
				}
			}
		}
		if ops == 0 {
			t.Errorf("%s: no operations", p)
		}
	}
}

// TestOpenAPIRoutes holds the document to the routes, both ways.
func TestOpenAPIRoutes(t *testing.T) {
	e := newOAEnv(t)
	routes := oaAppRoutes(e.app)
	ops := oaOperations(e.doc)
	if len(routes) < 20 {
		t.Fatalf("only %d API routes: %v; are the optional parts on?", len(routes), routes)
	}
	const self = "GET /api/v1/openapi.json"
	for r := range routes {
		if ops[r] == nil {
			t.Errorf("route %s is not in openapi.json", r)
		}
	}
	var documented []string
	for op := range ops {
		documented = append(documented, op)
	}
	sort.Strings(documented)
	for _, op := range documented {
		switch {
		case routes[op]:
		case op == self:
			// Until routes.go registers it, TestOpenAPIServe covers it.
			t.Logf("%s is documented but not registered by routes.go yet", op)
		default:
			t.Errorf("openapi.json documents %s, which is no route", op)
		}
	}
}

// TestOpenAPIServe fetches the document as a client would.
func TestOpenAPIServe(t *testing.T) {
	apps := map[string]fiber.Handler{"OpenAPIHandler": OpenAPIHandler(), "Server.openAPI": (&Server{}).openAPI}
	for name, h := range apps {
		app := fiber.New(fiber.Config{ErrorHandler: errorHandler(slog.New(slog.DiscardHandler))})
		app.Get("/api/v1/openapi.json", h)
		resp, err := app.Test(httptest.NewRequest(http.MethodGet, "/api/v1/openapi.json", nil), -1)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Errorf("%s: %d %s, want 200 application/json", name, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if !bytes.Equal(b, openAPIDoc) {
			t.Errorf("%s: the body is not openapi.json", name)
		}
	}
	// When routes.go registers it, it must need no key.
	e := newOAEnv(t)
	if oaAppRoutes(e.app)["GET /api/v1/openapi.json"] {
		resp, err := e.app.Test(httptest.NewRequest(http.MethodGet, "/api/v1/openapi.json", nil), -1)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET /api/v1/openapi.json without a key: %d, want 200", resp.StatusCode)
		}
	}
}

// check sends a request and holds the answer to the document: the status
// must be documented for the operation (op: "METHOD /path/{param}") and a
// JSON body must match its schema. It returns the decoded body.
func (e *oaEnv) check(t *testing.T, op, path, key, body string, want int) map[string]any {
	t.Helper()
	method, _, _ := strings.Cut(op, " ")
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := e.app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, raw, want)
	}
	spec := oaOperations(e.doc)[op]
	if spec == nil {
		t.Fatalf("%s is not documented", op)
	}
	r, _ := oaGet(spec, "responses", strconv.Itoa(want)).(map[string]any)
	if r == nil {
		t.Fatalf("%s: status %d is not documented", op, want)
	}
	if ref, ok := r["$ref"].(string); ok {
		rv, err := oaResolve(e.doc, ref)
		if err != nil {
			t.Fatal(err)
		}
		r = rv.(map[string]any)
	}
	content, _ := r["content"].(map[string]any)
	if len(content) == 0 {
		if len(raw) != 0 {
			t.Errorf("%s %d: documented without a body, answered %q", op, want, raw)
		}
		return nil
	}
	mediaType := "application/json"
	if oaGet(content, "application/problem+json") != nil {
		mediaType = "application/problem+json"
	}
	schema := oaGet(content, mediaType, "schema")
	if schema == nil {
		t.Fatalf("%s %d: no %s schema", op, want, mediaType)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, mediaType) {
		t.Errorf("%s %d: Content-Type %q, want %s", op, want, ct, mediaType)
	}
	var v any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		t.Fatalf("%s %d: not JSON: %v: %s", op, want, err, raw)
	}
	for _, problem := range oaValidate(e.doc, schema, v, "$") {
		t.Errorf("%s %d: %s\n\tbody: %.600s", op, want, problem, raw)
	}
	m, _ := v.(map[string]any)
	return m
}

// TestOpenAPIAnswers holds representative answers to their schemas.
func TestOpenAPIAnswers(t *testing.T) {
	e := newOAEnv(t)
	order := fmt.Sprintf(`{"order_number": "OA-1", "customer": {"name": "Ada", "email": "ada@example.com", "locale": "en"},
		"items": [{"sku": "MUG", "name": "Mug", "quantity": 2}, {"sku": "TEE", "quantity": 1}],
		"shipments": [{"tracking_number": %q, "items": [{"sku": "MUG", "quantity": 2}]}]}`, oaNumber)

	// Orders.
	o := e.check(t, "POST /api/v1/orders", "/api/v1/orders", oaWrite, order, 201)
	e.check(t, "POST /api/v1/orders", "/api/v1/orders", oaWrite, order, 200)
	e.check(t, "POST /api/v1/orders", "/api/v1/orders", oaWrite, `{"order_number": ""}`, 400)
	e.check(t, "POST /api/v1/orders", "/api/v1/orders", oaWrite, `{"order_number": 5}`, 400)
	e.check(t, "POST /api/v1/orders", "/api/v1/orders", oaRead, order, 403)
	e.check(t, "POST /api/v1/orders", "/api/v1/orders", "", order, 401)
	e.check(t, "POST /api/v1/orders", "/api/v1/orders", "no-such-key-0123456789", order, 401)
	id, _ := o["id"].(string)
	e.check(t, "GET /api/v1/orders/{id}", "/api/v1/orders/"+id, oaRead, "", 200)
	e.check(t, "GET /api/v1/orders/{id}", "/api/v1/orders/o_nope", oaRead, "", 404)

	// Shipments: advance one through the sandbox, so that it has a history.
	sh := tracking.ShipmentID("fedex", oaNumber)
	e.check(t, "POST /api/v1/sandbox/shipments/{id}/advance", "/api/v1/sandbox/shipments/"+sh+"/advance", oaWrite,
		`{"status": "in_transit", "message": "Departed", "estimated_delivery": "2026-11-28"}`, 202)
	e.check(t, "POST /api/v1/sandbox/shipments/{id}/advance", "/api/v1/sandbox/shipments/"+sh+"/advance", oaWrite, `{"status": "teleported"}`, 400)
	e.check(t, "POST /api/v1/sandbox/shipments/{id}/advance", "/api/v1/sandbox/shipments/s_nope/advance", oaWrite, `{"status": "in_transit"}`, 404)
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := e.check(t, "GET /api/v1/shipments/{id}", "/api/v1/shipments/"+sh, oaRead, "", 200)
		if n, _ := got["event_count"].(json.Number).Int64(); n > 0 {
			if evs, _ := got["events"].([]any); len(evs) == 0 {
				t.Errorf("shipment with %d events lists none", n)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the sandbox event was not applied within 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.check(t, "GET /api/v1/orders/{id}", "/api/v1/orders/"+id, oaRead, "", 200)
	e.check(t, "GET /api/v1/shipments/{id}", "/api/v1/shipments/s_nope", oaRead, "", 404)
	e.check(t, "PATCH /api/v1/shipments/{id}", "/api/v1/shipments/"+sh, oaWrite, `{"carrier": "fedex"}`, 200)
	e.check(t, "PATCH /api/v1/shipments/{id}", "/api/v1/shipments/"+sh, oaWrite, `{}`, 400)
	e.check(t, "PATCH /api/v1/shipments/{id}", "/api/v1/shipments/"+sh, oaWrite, `{"carrier": "pigeon"}`, 400)

	// Listings and order edits.
	op := "/api/v1/orders/" + id
	e.check(t, "GET /api/v1/orders", "/api/v1/orders?limit=10&status=in_transit,partially_shipped", oaRead, "", 200)
	e.check(t, "GET /api/v1/orders", "/api/v1/orders?delayed=maybe", oaRead, "", 400)
	e.check(t, "GET /api/v1/orders", "/api/v1/orders?cursor=nope", oaRead, "", 400)
	e.check(t, "GET /api/v1/shipments", "/api/v1/shipments?carrier=fedex&direction=outbound&updated_since=2026-11-01T00:00:00Z", oaRead, "", 200)
	e.check(t, "GET /api/v1/shipments", "/api/v1/shipments?status=teleported", oaRead, "", 400)
	e.check(t, "PATCH /api/v1/orders/{id}", op, oaWrite, `{"customer": {"phone": null, "time_zone": "Europe/Berlin"}, "notify": {"sms": true}}`, 200)
	e.check(t, "PATCH /api/v1/orders/{id}", op, oaWrite, `{"items": []}`, 400)
	e.check(t, "PATCH /api/v1/orders/{id}", "/api/v1/orders/o_nope", oaWrite, `{"notify": {"sms": true}}`, 404)
	e.check(t, "POST /api/v1/orders/{id}/shipments", op+"/shipments", oaWrite,
		`{"carrier": "ups", "tracking_number": "1Z999AA10123456784", "direction": "return", "items": [{"sku": "MUG", "quantity": 1}]}`, 201)
	e.check(t, "POST /api/v1/orders/{id}/shipments", op+"/shipments", oaWrite,
		`{"carrier": "ups", "tracking_number": "1Z999AA10123456784", "direction": "return", "items": [{"sku": "MUG", "quantity": 2}]}`, 200)
	e.check(t, "POST /api/v1/orders/{id}/shipments", op+"/shipments", oaWrite,
		`{"carrier": "ups", "tracking_number": "1Z999AA10123456784", "direction": "return", "items": [{"sku": "MUG", "quantity": 3}]}`, 400)
	e.check(t, "POST /api/v1/orders/{id}/shipments", "/api/v1/orders/o_nope/shipments", oaWrite, `{"carrier": "ups", "tracking_number": "1Z999AA10123456784"}`, 404)
	e.check(t, "POST /api/v1/orders/{id}/cancel", op+"/cancel", oaWrite, `{"reason": "too late"}`, 409)
	other := e.check(t, "POST /api/v1/orders", "/api/v1/orders", oaWrite, `{"order_number": "OA-2"}`, 201)
	otherID, _ := other["id"].(string)
	e.check(t, "POST /api/v1/orders/{id}/shipments", "/api/v1/orders/"+otherID+"/shipments", oaWrite,
		`{"carrier": "ups", "tracking_number": "1Z999AA10123456784"}`, 409)
	e.check(t, "POST /api/v1/orders", "/api/v1/orders", oaWrite,
		`{"order_number": "OA-2", "shipments": [{"carrier": "ups", "tracking_number": "1Z999AA10123456784"}]}`, 409)
	c := e.check(t, "POST /api/v1/orders/{id}/cancel", "/api/v1/orders/"+otherID+"/cancel", oaWrite, `{"reason": "shopper asked"}`, 200)
	if c["status"] != "cancelled" || c["cancelled_at"] == nil {
		t.Errorf("cancelled order: status %v, cancelled_at %v", c["status"], c["cancelled_at"])
	}
	e.check(t, "POST /api/v1/orders/{id}/cancel", "/api/v1/orders/o_nope/cancel", oaWrite, "", 404)

	// Carriers.
	e.check(t, "GET /api/v1/carriers", "/api/v1/carriers", oaRead, "", 200)
	d := e.check(t, "POST /api/v1/carriers/detect", "/api/v1/carriers/detect", oaRead, fmt.Sprintf(`{"tracking_number": %q}`, oaNumber), 200)
	if c, _ := d["candidates"].([]any); len(c) == 0 {
		t.Errorf("detect %s: no candidates", oaNumber)
	}
	e.check(t, "POST /api/v1/carriers/detect", "/api/v1/carriers/detect", oaRead, `{"tracking_number": ""}`, 400)
	e.check(t, "POST /api/v1/carriers/detect", "/api/v1/carriers/detect", oaRead, ``, 400)

	// Notification rules, log and templates.
	e.check(t, "GET /api/v1/notification-rules", "/api/v1/notification-rules", oaAdmin, "", 200)
	e.check(t, "GET /api/v1/notification-rules", "/api/v1/notification-rules", oaWrite, "", 403)
	e.check(t, "PUT /api/v1/notification-rules", "/api/v1/notification-rules", oaAdmin, `{"in_transit": {"email": true}}`, 200)
	e.check(t, "PUT /api/v1/notification-rules", "/api/v1/notification-rules", oaAdmin, `{"teleported": {"email": true}}`, 400)
	e.check(t, "GET /api/v1/notifications", "/api/v1/notifications?limit=2", oaAdmin, "", 200)
	e.check(t, "GET /api/v1/notifications", "/api/v1/notifications?limit=0", oaAdmin, "", 400)
	tpl := "/api/v1/templates/shipped/email/en"
	e.check(t, "GET /api/v1/templates/{trigger}/{channel}/{locale}", tpl, oaAdmin, "", 200)
	e.check(t, "GET /api/v1/templates/{trigger}/{channel}/{locale}", "/api/v1/templates/shipped/pigeon/en", oaAdmin, "", 404)
	e.check(t, "PUT /api/v1/templates/{trigger}/{channel}/{locale}", "/api/v1/templates/shipped/sms/en", oaAdmin,
		`{"body": "Order {{ order.number }} shipped"}`, 200)
	e.check(t, "PUT /api/v1/templates/{trigger}/{channel}/{locale}", "/api/v1/templates/shipped/sms/en", oaAdmin, `{"body": "{% if %}"}`, 422)
	e.check(t, "GET /api/v1/templates/{trigger}/{channel}/{locale}", "/api/v1/templates/shipped/sms/en", oaAdmin, "", 200)
	e.check(t, "GET /api/v1/templates/{trigger}/{channel}/{locale}/versions", "/api/v1/templates/shipped/sms/en/versions", oaAdmin, "", 200)
	e.check(t, "POST /api/v1/templates/{trigger}/{channel}/{locale}/versions/{n}/restore", "/api/v1/templates/shipped/sms/en/versions/1/restore", oaAdmin, "", 200)
	e.check(t, "POST /api/v1/templates/{trigger}/{channel}/{locale}/versions/{n}/restore", "/api/v1/templates/shipped/sms/en/versions/99/restore", oaAdmin, "", 404)
	e.check(t, "POST /api/v1/templates/preview", "/api/v1/templates/preview", oaAdmin,
		`{"channel": "email", "subject": "Hi", "html": "<p>Hi</p>", "text": "Hi"}`, 200)
	e.check(t, "POST /api/v1/templates/preview", "/api/v1/templates/preview", oaAdmin,
		`{"channel": "sms", "body": "Your order is on its way", "sample": {"status": "delivered"}}`, 200)
	e.check(t, "POST /api/v1/templates/test-send", "/api/v1/templates/test-send", oaAdmin,
		`{"trigger": "shipped", "channel": "email", "locale": "en", "to": "ada@example.com"}`, 501)

	// Webhook subscriptions.
	sub := e.check(t, "POST /api/v1/webhook-subscriptions", "/api/v1/webhook-subscriptions", oaAdmin,
		`{"url": "https://hooks.example.com/trackd", "events": ["shipment.updated"]}`, 201)
	e.check(t, "POST /api/v1/webhook-subscriptions", "/api/v1/webhook-subscriptions", oaAdmin, `{"url": "https://hooks.example.com/x", "events": ["nope"]}`, 400)
	subID, _ := sub["id"].(string)
	sp := "/api/v1/webhook-subscriptions/" + subID
	e.check(t, "GET /api/v1/webhook-subscriptions", "/api/v1/webhook-subscriptions", oaAdmin, "", 200)
	e.check(t, "GET /api/v1/webhook-subscriptions/{id}", sp, oaAdmin, "", 200)
	e.check(t, "GET /api/v1/webhook-subscriptions/{id}", "/api/v1/webhook-subscriptions/nope", oaAdmin, "", 404)
	e.check(t, "PATCH /api/v1/webhook-subscriptions/{id}", sp, oaAdmin, `{"status": "disabled"}`, 200)
	e.check(t, "POST /api/v1/webhook-subscriptions/{id}/replay", sp+"/replay", oaAdmin,
		`{"from": "2026-11-25T00:00:00Z", "to": "2026-11-26T00:00:00Z"}`, 409)
	e.check(t, "PATCH /api/v1/webhook-subscriptions/{id}", sp, oaAdmin, `{"status": "active"}`, 200)
	e.check(t, "POST /api/v1/webhook-subscriptions/{id}/replay", sp+"/replay", oaAdmin,
		`{"from": "2026-11-25T00:00:00Z", "to": "2026-11-26T00:00:00Z"}`, 202)
	e.check(t, "GET /api/v1/webhook-subscriptions/{id}/deliveries", sp+"/deliveries", oaAdmin, "", 200)
	e.check(t, "DELETE /api/v1/webhook-subscriptions/{id}", sp, oaAdmin, "", 204)
}

// TestOpenAPIValidator checks the validator itself, lest a broken one pass
// everything.
func TestOpenAPIValidator(t *testing.T) {
	doc := oaDoc(t)
	schema := map[string]any{"$ref": "#/components/schemas/Error"}
	for _, tt := range []struct {
		body string
		ok   bool
	}{
		{`{"type": "about:blank", "title": "Not Found", "status": 404, "detail": "x", "error": "x"}`, true},
		{`{"type": "about:blank", "title": "Bad Request", "status": 400, "detail": "x", "error": "x", "field": "f",
			"errors": [{"field": "f", "detail": "x"}]}`, true},
		{`{"error": "x"}`, false},
		{`{"type": "about:blank", "title": "Not Found", "status": 404, "detail": "x", "error": 1}`, false},
		{`{"type": "about:blank", "title": "Not Found", "status": 404, "detail": "x", "error": "x", "extra": true}`, false},
		{`[]`, false},
	} {
		var v any
		d := json.NewDecoder(strings.NewReader(tt.body))
		d.UseNumber()
		if err := d.Decode(&v); err != nil {
			t.Fatal(err)
		}
		if got := oaValidate(doc, schema, v, "$"); (len(got) == 0) != tt.ok {
			t.Errorf("%s: problems %v, want ok=%v", tt.body, got, tt.ok)
		}
	}
	num := func(s string) any { return json.Number(s) }
	for _, tt := range []struct {
		schema map[string]any
		v      any
		ok     bool
	}{
		{map[string]any{"type": []any{"string", "null"}}, nil, true},
		{map[string]any{"type": []any{"string", "null"}}, num("1"), false},
		{map[string]any{"type": "integer"}, num("1.5"), false},
		{map[string]any{"type": "number"}, num("1.5"), true},
		{map[string]any{"enum": []any{"a", "b"}}, "c", false},
		{map[string]any{"const": num("1")}, num("1"), true},
		{map[string]any{"type": "array", "items": map[string]any{"type": "string"}}, []any{"a", num("2")}, false},
		{map[string]any{"anyOf": []any{map[string]any{"type": "null"}, map[string]any{"type": "string"}}}, "x", true},
		{map[string]any{"oneOf": []any{map[string]any{"type": "number"}, map[string]any{"type": "integer"}}}, num("2"), false},
		{map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "boolean"}}, map[string]any{"a": "no"}, false},
		{map[string]any{"$ref": "#/components/schemas/Direction"}, "sideways", false},
	} {
		if got := oaValidate(doc, tt.schema, tt.v, "$"); (len(got) == 0) != tt.ok {
			t.Errorf("%v against %v: problems %v, want ok=%v", tt.v, tt.schema, got, tt.ok)
		}
	}
}

// oaGet walks maps by key; nil when a key is missing.
func oaGet(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// oaResolve follows a local JSON pointer ("#/components/schemas/Order").
func oaResolve(doc map[string]any, ref string) (any, error) {
	p, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, fmt.Errorf("$ref %q is not local", ref)
	}
	var v any = doc
	for _, part := range strings.Split(p, "/") {
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		m, ok := v.(map[string]any)
		if !ok || m[part] == nil {
			return nil, fmt.Errorf("$ref %q does not resolve", ref)
		}
		v = m[part]
	}
	return v, nil
}

// oaValidate checks v (decoded with UseNumber) against a JSON Schema
// subset: $ref, type (one or a list), properties, required,
// additionalProperties (false or a schema), items, enum, const, allOf,
// anyOf, oneOf. It returns the problems, each naming where.
func oaValidate(doc map[string]any, schema any, v any, at string) []string {
	s, ok := schema.(map[string]any)
	if !ok {
		return nil // true, or an empty schema
	}
	if ref, ok := s["$ref"].(string); ok {
		target, err := oaResolve(doc, ref)
		if err != nil {
			return []string{at + ": " + err.Error()}
		}
		return oaValidate(doc, target, v, at)
	}
	var problems []string
	bad := func(format string, a ...any) { problems = append(problems, at+": "+fmt.Sprintf(format, a...)) }
	if t, ok := s["type"]; ok {
		var types []string
		switch t := t.(type) {
		case string:
			types = []string{t}
		case []any:
			for _, x := range t {
				types = append(types, fmt.Sprint(x))
			}
		}
		if !slices.ContainsFunc(types, func(t string) bool { return oaIsType(v, t) }) {
			bad("%s is not of type %v", oaShort(v), types)
			return problems
		}
	}
	if enum, ok := s["enum"].([]any); ok && !slices.ContainsFunc(enum, func(x any) bool { return oaEqual(x, v) }) {
		bad("%s is not one of %v", oaShort(v), enum)
	}
	if c, ok := s["const"]; ok && !oaEqual(c, v) {
		bad("%s is not %v", oaShort(v), c)
	}
	if all, ok := s["allOf"].([]any); ok {
		for _, sub := range all {
			problems = append(problems, oaValidate(doc, sub, v, at)...)
		}
	}
	for _, kw := range []string{"anyOf", "oneOf"} {
		subs, ok := s[kw].([]any)
		if !ok {
			continue
		}
		n := 0
		var why []string
		for _, sub := range subs {
			p := oaValidate(doc, sub, v, at)
			if len(p) == 0 {
				n++
			}
			why = append(why, p...)
		}
		switch {
		case n == 0:
			bad("matches no %s alternative: %v", kw, why)
		case kw == "oneOf" && n > 1:
			bad("matches %d oneOf alternatives, want exactly 1", n)
		}
	}
	switch v := v.(type) {
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		if req, ok := s["required"].([]any); ok {
			for _, r := range req {
				if _, ok := v[fmt.Sprint(r)]; !ok {
					bad("required property %q is missing", r)
				}
			}
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if ps, ok := props[k]; ok {
				problems = append(problems, oaValidate(doc, ps, v[k], at+"."+k)...)
				continue
			}
			switch ap := s["additionalProperties"].(type) {
			case bool:
				if !ap {
					bad("property %q is not documented", k)
				}
			case map[string]any:
				problems = append(problems, oaValidate(doc, ap, v[k], at+"."+k)...)
			}
		}
	case []any:
		if items, ok := s["items"]; ok {
			for i, x := range v {
				problems = append(problems, oaValidate(doc, items, x, at+"["+strconv.Itoa(i)+"]")...)
			}
		}
	}
	return problems
}

func oaIsType(v any, t string) bool {
	switch v := v.(type) {
	case nil:
		return t == "null"
	case bool:
		return t == "boolean"
	case string:
		return t == "string"
	case json.Number:
		if t == "number" {
			return true
		}
		_, err := v.Int64()
		return t == "integer" && err == nil
	case []any:
		return t == "array"
	case map[string]any:
		return t == "object"
	}
	return false
}

func oaEqual(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

func oaShort(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 80 {
		return string(b[:80]) + "…"
	}
	return string(b)
}
