package usps

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/trackd/trackd/carriers"
	"github.com/trackd/trackd/tracking"
)

// MaxAnswerBytes bounds a poll answer. TrackingDetails with the spec's
// maximum of 99 events is well under 100 kB.
const MaxAnswerBytes = 4 << 20

// maxRetryAfter caps the wait USPS (or a proxy before it) may ask for: a
// longer one is more likely a mistake than a plan.
const maxRetryAfter = 24 * time.Hour

// Poll implements carriers.Poller: GET
// /tracking/v3/tracking/{number}?expand=DETAIL with the OAuth token as a
// Bearer Authorization (fetched, cached and refreshed on 401 by
// carriers/oauth). The answer is returned whole, as received, for ParsePoll.
//
// Every refusal is a *carriers.RemoteError: no answer (Status 0, a timeout
// included), the token endpoint's refusal (invalid_client and its status),
// a non-2xx status with USPS's error code and message (404 for a number
// USPS does not know, which is not temporary), or a 2xx that is not
// tracking details.
func (a *Adapter) Poll(ctx context.Context, trackingNumber string) ([]byte, error) {
	number := tracking.NormalizeTrackingNumber(trackingNumber)
	if number == "" {
		return nil, errors.New("usps: no tracking number to poll")
	}
	if !a.oauth.Configured() {
		return nil, errors.New("usps: no OAuth client configured (TRACKD_USPS_CLIENT_ID, TRACKD_USPS_CLIENT_SECRET)")
	}
	u := a.cfg.BaseURL + "/tracking/v3/tracking/" + url.PathEscape(number) + "?expand=DETAIL"

	ctx, cancel := context.WithTimeout(ctx, a.cfg.Timeout)
	defer cancel()
	resp, err := a.oauth.Do(ctx, func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", "trackd")
		return req, nil
	})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := carriers.ReadAnswer(resp, MaxAnswerBytes)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		re := &carriers.RemoteError{
			Status:     resp.StatusCode,
			RetryAfter: carriers.RetryAfter(resp.Header.Get("Retry-After"), a.now(), maxRetryAfter),
		}
		re.Code, re.Message = errorText(body)
		return nil, re
	}

	var probe struct {
		TrackingNumber text            `json:"trackingNumber"`
		Error          json.RawMessage `json:"error"`
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' || json.Unmarshal(trimmed, &probe) != nil {
		return nil, &carriers.RemoteError{Status: resp.StatusCode, Err: errors.New("usps poll: malformed answer: not a JSON object")}
	}
	if probe.TrackingNumber.String() == "" {
		if len(probe.Error) > 0 && string(probe.Error) != "null" {
			code, msg := errorText(body)
			return nil, &carriers.RemoteError{Status: resp.StatusCode, Code: code, Message: msg,
				Err: fmt.Errorf("usps poll: error inside an HTTP %d answer", resp.StatusCode)}
		}
		return nil, &carriers.RemoteError{Status: resp.StatusCode, Err: errors.New(`usps poll: malformed answer: no "trackingNumber"`)}
	}
	return body, nil
}

// apiError is USPS's error body: {"apiVersion", "error": {"code",
// "message", "errors": [{"status", "code", "title", "detail", "source"}]}}.
// The OAuth endpoints answer RFC 6749's {"error": "invalid_client",
// "error_description": ...} instead, so error is decoded as either.
type apiError struct {
	Error            json.RawMessage `json:"error"`
	ErrorDescription text            `json:"error_description"`
}

type errorObject struct {
	Code    text `json:"code"`
	Message text `json:"message"`
	Errors  []struct {
		Code   text `json:"code"`
		Title  text `json:"title"`
		Detail text `json:"detail"`
	} `json:"errors"`
}

// errorText returns the code and message of an error body, shortened for a
// log line; both are empty when the body says nothing readable (an HTML
// page from a proxy).
func errorText(body []byte) (code, msg string) {
	var e apiError
	if json.Unmarshal(body, &e) != nil || len(e.Error) == 0 {
		return "", ""
	}
	var s string
	if json.Unmarshal(e.Error, &s) == nil {
		return shorten(s), shorten(e.ErrorDescription.String())
	}
	var o errorObject
	if json.Unmarshal(e.Error, &o) != nil {
		return "", ""
	}
	code = o.Code.String()
	parts := []string{o.Message.String()}
	for _, sub := range o.Errors {
		if code == "" {
			code = sub.Code.String()
		}
		p := sub.Detail.String()
		if t := sub.Title.String(); t != "" && t != p {
			if p == "" {
				p = t
			} else {
				p = t + ": " + p
			}
		}
		parts = append(parts, p)
	}
	return shorten(code), shorten(joinDistinct(parts))
}

// joinDistinct joins the non-empty parts not said already, with "; ".
func joinDistinct(parts []string) string {
	var out []string
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		dup := false
		for _, q := range out {
			dup = dup || q == p
		}
		if !dup {
			out = append(out, p)
		}
	}
	return strings.Join(out, "; ")
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
