// Package carriers holds trackd's carrier and aggregator adapters, one
// sub-package each, and the registry that routes webhooks and ingest
// entries to them.
package carriers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/trackd/trackd/tracking"
)

// Adapter is one carrier's or aggregator's integration. Sources that offer
// more implement Poller and Detector too.
type Adapter interface {
	// Slug names the adapter in URLs, configuration and ingest entries: "ups".
	Slug() string
	// Name is how people write it: "UPS".
	Name() string
	// VerifyWebhook authenticates a webhook request the way the source
	// specifies. Every error wraps ErrUnauthenticated; nothing is stored for
	// a request that fails.
	VerifyWebhook(r WebhookRequest) error
	// ParseWebhook turns a verified webhook body into updates. It runs in
	// the processors, not in the request: an error means the payload can
	// never be applied as it is, and it goes to the dead letters with the
	// error as its reason. An aggregator's update names the carrier that
	// moves the parcel (Update.Carrier "ups"), never the aggregator.
	ParseWebhook(body []byte) ([]tracking.Update, error)
}

// Poller is an adapter that can be asked about one tracking number. The
// raw answer is appended to the ingest stream like a webhook, under the
// source "<slug>/poll", and parsed by ParsePoll in the processors.
type Poller interface {
	Poll(ctx context.Context, trackingNumber string) ([]byte, error)
	ParsePoll(body []byte) ([]tracking.Update, error)
}

// Route is implemented by adapters that carry other carriers' data:
// aggregators, and trackd's generic format. Their slug names a way in,
// never the carrier of a shipment.
type Route interface {
	// Routes says what the adapter carries: "every carrier", for the
	// listing of adapters.
	Routes() string
}

// Detector scores how likely a tracking number is the carrier's own, from
// 0 (not its format) to 1 (its format, and the check digit holds).
type Detector interface {
	Detect(trackingNumber string) float64
}

// WebhookRequest is what an adapter may look at to authenticate a webhook.
type WebhookRequest struct {
	Body   []byte
	Header func(name string) string
	Query  func(name string) string
	Now    time.Time
}

// ErrUnauthenticated is wrapped by every webhook verification failure.
var ErrUnauthenticated = errors.New("webhook not authenticated")

// PollSuffix marks ingest entries that hold a poll answer, not a webhook.
const PollSuffix = "/poll"

// Registry holds the configured adapters.
type Registry struct {
	adapters map[string]Adapter
}

// NewRegistry returns a registry of adapters.
func NewRegistry(adapters ...Adapter) *Registry {
	r := &Registry{adapters: map[string]Adapter{}}
	for _, a := range adapters {
		r.adapters[a.Slug()] = a
	}
	return r
}

// Adapter returns the adapter named slug.
func (r *Registry) Adapter(slug string) (Adapter, bool) {
	a, ok := r.adapters[slug]
	return a, ok
}

// Adapters lists the adapters by slug.
func (r *Registry) Adapters() []Adapter {
	out := make([]Adapter, 0, len(r.adapters))
	for _, a := range r.adapters {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Slug() < out[j].Slug() })
	return out
}

// Decode implements tracking.Decoder: src is an adapter's slug (a
// webhook) or its slug with PollSuffix (a poll answer).
func (r *Registry) Decode(src string, body []byte) ([]tracking.Update, error) {
	slug, poll := strings.CutSuffix(src, PollSuffix)
	a, ok := r.adapters[slug]
	if !ok {
		return nil, fmt.Errorf("no adapter for source %q", src)
	}
	if !poll {
		return a.ParseWebhook(body)
	}
	p, ok := a.(Poller)
	if !ok {
		return nil, fmt.Errorf("adapter %q does not poll", slug)
	}
	return p.ParsePoll(body)
}

// RemoteError is a carrier API's refusal, kept whole so the poll scheduler
// can back off as the carrier asks.
type RemoteError struct {
	// Status is the HTTP status; 0 when the request never got an answer.
	Status int
	// RetryAfter is the carrier's Retry-After, when it sent one.
	RetryAfter time.Duration
	// Code and Message are the carrier's own, when its body says them.
	Code, Message string
	Err           error
}

func (e *RemoteError) Error() string {
	msg := fmt.Sprintf("carrier answered %d", e.Status)
	if e.Status == 0 {
		msg = "carrier did not answer"
	}
	if e.Code != "" || e.Message != "" {
		msg += fmt.Sprintf(" (%s %s)", e.Code, e.Message)
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *RemoteError) Unwrap() error { return e.Err }

// Temporary reports whether trying again later may succeed: no answer,
// rate limiting, or a server error.
func (e *RemoteError) Temporary() bool {
	return e.Status == 0 || e.Status == 429 || e.Status >= 500
}

// RetryAfter reads a Retry-After header, delay seconds or an HTTP date, as
// a wait from now of at most limit. Zero when it says nothing usable: no
// header, a date past, a number too large to hold.
func RetryAfter(h string, now time.Time, limit time.Duration) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	var d time.Duration
	if s, err := strconv.ParseInt(h, 10, 64); err == nil {
		if s <= 0 {
			return 0
		}
		d = time.Duration(min(s, int64(limit/time.Second))) * time.Second
	} else if t, err := http.ParseTime(h); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), limit)
}

// ReadAnswer reads a carrier API's answer, at most limit bytes. A body cut
// off in transit is no answer (Status 0: worth trying again); a larger one
// is refused with its status.
func ReadAnswer(resp *http.Response, limit int) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(limit)+1))
	if err != nil {
		return nil, &RemoteError{Err: fmt.Errorf("reading the HTTP %d answer: %w", resp.StatusCode, err)}
	}
	if len(body) > limit {
		return nil, &RemoteError{Status: resp.StatusCode, Err: fmt.Errorf("answer is larger than %d bytes", limit)}
	}
	return body, nil
}
