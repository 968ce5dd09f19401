package web

import (
	"sort"

	"github.com/gofiber/fiber/v2"
	"github.com/trackd/trackd/carriers"
	"github.com/trackd/trackd/carriers/dhl"
	"github.com/trackd/trackd/carriers/fedex"
	"github.com/trackd/trackd/carriers/ups"
	"github.com/trackd/trackd/carriers/usps"
	"github.com/trackd/trackd/tracking"
)

// carrierView is a carrier as GET /api/v1/carriers shows it: what trackd
// can do with it here.
type carrierView struct {
	Slug string `json:"slug"`
	Name string `json:"name"`
	// Webhook: a configured adapter takes its webhooks at /webhooks/{slug}.
	Webhook bool `json:"webhook"`
	// Polling: its adapter can ask about a tracking number.
	Polling bool `json:"polling"`
	// Detection: POST /api/v1/carriers/detect recognises its numbers.
	Detection bool `json:"detection"`
}

// builtinDetectors recognise the big carriers' tracking numbers. They need
// no credentials, so they answer whether or not an adapter is configured.
func builtinDetectors() map[string]carriers.Detector {
	return map[string]carriers.Detector{
		"dhl":   carriers.DetectorFunc(dhl.Detect),
		"fedex": carriers.DetectorFunc(fedex.Detect),
		"ups":   carriers.DetectorFunc(ups.Detect),
		"usps":  carriers.DetectorFunc(usps.Detect),
	}
}

// adapters returns the configured adapters; none when there are none.
func (s *Server) adapters() []carriers.Adapter {
	if s.deps.Adapters == nil {
		return nil
	}
	return s.deps.Adapters.Adapters()
}

// detectors are the built-in detectors, with a configured adapter that
// detects its own numbers answering in place of its slug's built-in one.
func (s *Server) detectors() map[string]carriers.Detector {
	ds := builtinDetectors()
	for _, a := range s.adapters() {
		if d, ok := a.(carriers.Detector); ok {
			ds[a.Slug()] = d
		}
	}
	return ds
}

// listCarriers answers GET /api/v1/carriers: the configured adapters and
// the carriers detected without one, by slug, with what each supports.
func (s *Server) listCarriers(c *fiber.Ctx) error {
	ds := s.detectors()
	out := []carrierView{}
	configured := map[string]bool{}
	for _, a := range s.adapters() {
		_, polls := a.(carriers.Poller)
		out = append(out, carrierView{Slug: a.Slug(), Name: a.Name(), Webhook: true, Polling: polls, Detection: ds[a.Slug()] != nil})
		configured[a.Slug()] = true
	}
	for slug := range ds {
		if !configured[slug] {
			out = append(out, carrierView{Slug: slug, Name: carriers.DisplayName(slug), Detection: true})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Slug < out[j].Slug })
	return c.JSON(struct {
		Carriers []carrierView `json:"carriers"`
	}{out})
}

// detectRequest is the body of POST /api/v1/carriers/detect.
type detectRequest struct {
	TrackingNumber string `json:"tracking_number"`
}

// detectCarrier answers POST /api/v1/carriers/detect: the carriers a
// tracking number may belong to, best first. A number that fails every
// carrier's check digit gets no confident candidate (none at 0.5 or more).
func (s *Server) detectCarrier(c *fiber.Ctx) error {
	if len(c.Body()) > s.cfg.APIBodyLimit {
		return httpError(fiber.StatusRequestEntityTooLarge, "request body too large")
	}
	var in detectRequest
	if err := decodeJSON(c.Body(), &in); err != nil {
		return err
	}
	switch {
	case tracking.NormalizeTrackingNumber(in.TrackingNumber) == "":
		return &tracking.FieldError{Field: "tracking_number", Message: "is required"}
	case len(in.TrackingNumber) > 64:
		return &tracking.FieldError{Field: "tracking_number", Message: "is longer than 64 characters"}
	}
	return c.JSON(struct {
		Candidates []carriers.Candidate `json:"candidates"`
	}{carriers.Candidates(in.TrackingNumber, s.detectors())})
}
