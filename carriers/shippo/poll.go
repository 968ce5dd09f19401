package shippo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/trackd/trackd/carriers"
)

// Bounds on what a poll reads: a Track is a few kilobytes, an error page
// less; anything far larger is not an answer trackd should keep.
const (
	maxBodyBytes    = 4 << 20
	maxErrorBytes   = 64 << 10
	maxErrorMessage = 300
)

// carrierToken is what a Shippo carrier token looks like; checking it keeps
// the poll URL's path what it seems.
var carrierToken = regexp.MustCompile(`^[a-z0-9_]{1,32}$`)

// ErrMalformedAnswer is wrapped by the error of a poll answered 2xx with a
// body that is not a JSON object.
var ErrMalformedAnswer = errors.New("malformed answer")

// Poll implements carriers.Poller. trackingNumber is "<carrier>/<number>"
// (Shippo's tracking API is per carrier; see the package comment). It
// returns the raw Track for the ingest stream, or a *carriers.RemoteError:
// Status 0 when no whole answer came (refused, cut off, timed out), else
// Shippo's status, Retry-After and message; a 2xx whose body is not a JSON
// object wraps ErrMalformedAnswer. A missing API key or an argument that is
// not "<carrier>/<number>" is a plain error: asking again will not help.
func (a *Adapter) Poll(ctx context.Context, trackingNumber string) ([]byte, error) {
	carrier, number, ok := strings.Cut(strings.TrimSpace(trackingNumber), "/")
	carrier, number = shippoToken(carrier), strings.TrimSpace(number)
	switch {
	case a.cfg.APIKey == "":
		return nil, errors.New("shippo poll: no API key is configured (TRACKD_SHIPPO_API_KEY)")
	case !ok || number == "":
		return nil, fmt.Errorf("shippo poll %q: want <carrier>/<number>, e.g. usps/9205590164917337534322", trackingNumber)
	case !carrierToken.MatchString(carrier):
		return nil, fmt.Errorf("shippo poll %q: %q is not a Shippo carrier token", trackingNumber, carrier)
	case len(number) > maxNumberLen:
		return nil, fmt.Errorf("shippo poll %q: tracking number is longer than %d bytes", trackingNumber, maxNumberLen)
	}

	ctx, cancel := context.WithTimeout(ctx, a.cfg.Timeout)
	defer cancel()
	u := a.cfg.BaseURL + "/tracks/" + carrier + "/" + url.PathEscape(number)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("shippo poll %s/%s: %w", carrier, number, err)
	}
	req.Header.Set("Authorization", "ShippoToken "+a.cfg.APIKey)
	req.Header.Set("Accept", "application/json")
	resp, err := a.client.Do(req)
	if err != nil {
		return nil, &carriers.RemoteError{Err: fmt.Errorf("shippo poll %s/%s: %w", carrier, number, err)}
	}
	defer func() {
		// Drain what is left (bounded) so the connection can be reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBodyBytes))
		resp.Body.Close()
	}()

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBytes))
		re := &carriers.RemoteError{
			Status:     resp.StatusCode,
			RetryAfter: retryAfter(resp.Header.Get("Retry-After"), a.now()),
		}
		re.Code, re.Message = errorMessage(body, resp.Header.Get("Content-Type"))
		if re.Message == "" {
			re.Message = http.StatusText(resp.StatusCode)
		}
		return nil, re
	}

	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes+1))
	switch {
	case err != nil:
		// The answer never arrived whole (cut off, or the timeout struck
		// while reading it): for the scheduler, that is no answer.
		return nil, &carriers.RemoteError{Err: fmt.Errorf("shippo poll %s/%s: read answer: %w", carrier, number, err)}
	case len(body) > maxBodyBytes:
		return nil, &carriers.RemoteError{Status: resp.StatusCode, Err: fmt.Errorf("shippo poll %s/%s: %w: larger than %d bytes", carrier, number, ErrMalformedAnswer, maxBodyBytes)}
	case !isJSONObject(body):
		return nil, &carriers.RemoteError{Status: resp.StatusCode, Err: fmt.Errorf("shippo poll %s/%s: %w: not a JSON object", carrier, number, ErrMalformedAnswer)}
	}
	return body, nil
}

func isJSONObject(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 0 && b[0] == '{' && json.Valid(b)
}

// retryAfter parses a Retry-After header: seconds, or an HTTP date, for
// at most a week.
func retryAfter(h string, now time.Time) time.Duration {
	return carriers.RetryAfter(h, now, 7*24*time.Hour)
}

// errorMessage says what an error body says. Shippo's errors come as
// {"detail": "..."}, as a map of field errors ({"carrier": ["..."]}), and,
// from its web server, as an HTML page; all three are read.
func errorMessage(body []byte, contentType string) (code, msg string) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return "", ""
	}
	var v any
	if (body[0] == '{' || body[0] == '[') && json.Unmarshal(body, &v) == nil {
		if m, ok := v.(map[string]any); ok {
			if c, ok := m["code"].(string); ok {
				code = c
			}
		}
		return shorten(code), shorten(strings.Join(flatten(v), "; "))
	}
	if strings.Contains(contentType, "html") || body[0] == '<' {
		return "", shorten(stripTags(string(body)))
	}
	return "", shorten(string(body))
}

// flatten collects the messages in a decoded JSON error: "detail", "text"
// or "message" of an object when it has one, else every field as
// "field: message" (Django's "__all__" and "non_field_errors" without the
// field name), in a stable order.
func flatten(v any) []string {
	switch v := v.(type) {
	case string:
		if s := strings.TrimSpace(v); s != "" {
			return []string{s}
		}
	case float64, bool:
		return []string{fmt.Sprint(v)}
	case []any:
		var out []string
		for _, e := range v {
			out = append(out, flatten(e)...)
		}
		return out
	case map[string]any:
		for _, k := range []string{"detail", "message", "text", "messages", "error"} {
			if m := flatten(v[k]); len(m) > 0 {
				return m
			}
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			if k != "code" {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		var out []string
		for _, k := range keys {
			m := strings.Join(flatten(v[k]), ", ")
			switch {
			case m == "":
			case k == "__all__" || k == "non_field_errors":
				out = append(out, m)
			default:
				out = append(out, k+": "+m)
			}
		}
		return out
	}
	return nil
}

var tags = regexp.MustCompile(`(?s)<[^>]*>`)

// stripTags turns an HTML error page into its text.
func stripTags(s string) string {
	s = tags.ReplaceAllString(s, " ")
	return strings.Join(strings.Fields(html.UnescapeString(s)), " ")
}

// shorten cuts an error message to maxErrorMessage bytes on a rune boundary.
func shorten(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= maxErrorMessage {
		return s
	}
	return truncate(s, maxErrorMessage) + "…"
}
