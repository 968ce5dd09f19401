// Package carriers holds trackd's carrier and aggregator adapters, one
// sub-package each, and the registry the processors decode through.
package carriers

import (
	"fmt"

	"github.com/trackd/trackd/tracking"
)

// Parser turns a verified raw message from one source into updates.
type Parser interface {
	Decode(body []byte) ([]tracking.Update, error)
}

// Registry maps ingest sources to their parsers.
type Registry struct {
	parsers map[string]Parser
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{parsers: map[string]Parser{}} }

// Register adds the parser for source slug.
func (r *Registry) Register(slug string, p Parser) { r.parsers[slug] = p }

// Decode implements tracking.Decoder.
func (r *Registry) Decode(src string, body []byte) ([]tracking.Update, error) {
	p, ok := r.parsers[src]
	if !ok {
		return nil, fmt.Errorf("no adapter for source %q", src)
	}
	return p.Decode(body)
}
