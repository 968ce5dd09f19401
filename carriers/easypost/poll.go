package easypost

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/trackd/trackd/carriers"
)

// maxAnswer bounds a poll answer. A Tracker with a long international
// history is tens of kilobytes; anything near this is not a Tracker.
const maxAnswer = 4 << 20

// maxRetryAfter caps the wait a Retry-After can ask for, so a garbled value
// cannot park a shipment's polling for years.
const maxRetryAfter = 24 * time.Hour

// TrackerIDPrefix starts every EasyPost tracker id.
const TrackerIDPrefix = "trk_"

// Poll implements carriers.Poller. id is a tracker id ("trk_..."), fetched
// with GET /v2/trackers/{id}; anything else is taken as a tracking number
// and sent as POST /v2/trackers, which creates the tracker or returns the
// one EasyPost already has (see the package documentation). The answer, a
// Tracker, is returned as received, for ParsePoll.
//
// A refusal (any status but 2xx) is a *carriers.RemoteError with EasyPost's
// error code and message and the Retry-After it sent; no answer at all (a
// timeout, a refused connection) is one with Status 0; a 2xx whose body is
// not a JSON object is one with that status and the reason.
func (a *Adapter) Poll(ctx context.Context, id string) ([]byte, error) {
	id = strings.TrimSpace(id)
	if id == "" {
		return nil, errors.New("easypost poll: no tracker id or tracking number")
	}
	if a.cfg.APIKey == "" {
		return nil, errors.New("easypost poll: no API key is configured (TRACKD_EASYPOST_API_KEY)")
	}
	ctx, cancel := context.WithTimeout(ctx, a.cfg.Timeout)
	defer cancel()

	req, err := a.request(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("easypost poll %s: %w", id, err)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return nil, &carriers.RemoteError{Err: fmt.Errorf("easypost poll %s: %w", id, err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		// Cut off mid-answer: as good as no answer, and worth retrying.
		return nil, &carriers.RemoteError{Err: fmt.Errorf("easypost poll %s: reading the answer (HTTP %d): %w", id, resp.StatusCode, err)}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := &carriers.RemoteError{Status: resp.StatusCode, RetryAfter: retryAfter(resp.Header.Get("Retry-After"), a.now())}
		var eb struct {
			Error *apiError `json:"error"`
		}
		if json.Unmarshal(body, &eb) == nil && eb.Error != nil {
			e.Code, e.Message = eb.Error.text()
		}
		return nil, e
	}
	switch {
	case len(body) > maxAnswer:
		return nil, &carriers.RemoteError{Status: resp.StatusCode, Err: fmt.Errorf("easypost poll %s: answer larger than %d bytes", id, maxAnswer)}
	case !isJSONObject(body):
		return nil, &carriers.RemoteError{Status: resp.StatusCode, Err: fmt.Errorf("easypost poll %s: the answer is not a JSON object", id)}
	}
	return body, nil
}

// request builds the poll request for id.
func (a *Adapter) request(ctx context.Context, id string) (*http.Request, error) {
	var req *http.Request
	var err error
	if strings.HasPrefix(id, TrackerIDPrefix) {
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, a.cfg.BaseURL+"/v2/trackers/"+url.PathEscape(id), nil)
	} else {
		var b []byte
		b, err = json.Marshal(createTracker{Tracker: createTrackerParams{TrackingCode: id}})
		if err != nil {
			return nil, err
		}
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, a.cfg.BaseURL+"/v2/trackers", bytes.NewReader(b))
		if req != nil {
			req.Header.Set("Content-Type", "application/json")
		}
	}
	if err != nil {
		return nil, err
	}
	// EasyPost authenticates with the API key as the Basic username and no
	// password.
	req.SetBasicAuth(a.cfg.APIKey, "")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "trackd")
	return req, nil
}

type createTracker struct {
	Tracker createTrackerParams `json:"tracker"`
}

type createTrackerParams struct {
	TrackingCode string `json:"tracking_code"`
}

// apiError is EasyPost's error object ({"error": {...}}). Its message is a
// string, but EasyPost's own client libraries also accept a list or an
// object of messages, so it is decoded as any JSON.
type apiError struct {
	Code    string          `json:"code"`
	Message json.RawMessage `json:"message"`
}

// text returns the error's code and message, the message flattened and
// shortened for a log line.
func (e *apiError) text() (code, msg string) {
	var v any
	if len(e.Message) > 0 && json.Unmarshal(e.Message, &v) == nil {
		msg = strings.Join(flatten(v, nil), ", ")
	}
	return shorten(e.Code), shorten(msg)
}

// flatten collects the strings (and other scalars) in v, objects' values in
// key order.
func flatten(v any, out []string) []string {
	switch v := v.(type) {
	case nil:
	case string:
		if s := strings.TrimSpace(v); s != "" {
			out = append(out, s)
		}
	case []any:
		for _, x := range v {
			out = flatten(x, out)
		}
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			out = flatten(v[k], out)
		}
	default:
		out = append(out, fmt.Sprint(v))
	}
	return out
}

// shorten keeps an error text readable in a log line.
func shorten(s string) string {
	const limit = 300
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= limit {
		return s
	}
	for i := limit; i > 0; i-- {
		if utf8.RuneStart(s[i]) {
			return s[:i] + "…"
		}
	}
	return "…"
}

// retryAfter reads a Retry-After header: delay seconds or an HTTP date.
func retryAfter(h string, now time.Time) time.Duration {
	return carriers.RetryAfter(h, now, maxRetryAfter)
}

func isJSONObject(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 0 && b[0] == '{' && json.Valid(b)
}
