package fedex

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/trackd/trackd/carriers"
	"github.com/trackd/trackd/tracking"
)

// MaxAnswerBytes bounds a poll answer. An answer with detailed scans is
// tens of kilobytes; anything near this is not a track answer.
const MaxAnswerBytes = 4 << 20

// maxRetryAfter caps the wait FedEx (or a proxy before it) may ask for: a
// longer one is more likely a mistake than a plan, and asking again after
// a day costs one request.
const maxRetryAfter = 24 * time.Hour

// trackPath is the Track API's track-by-tracking-number endpoint.
const trackPath = "/track/v1/trackingnumbers"

// ErrNoTracking is wrapped by Poll's error when the answer has nothing
// for the number asked: FedEx reported its own error for it (most often
// TRACKING.TRACKINGNUMBER.NOTFOUND), or left it out.
var ErrNoTracking = errors.New("FedEx has no tracking for the number")

// trackRequest is the body of POST /track/v1/trackingnumbers.
type trackRequest struct {
	IncludeDetailedScans bool           `json:"includeDetailedScans"`
	TrackingInfo         []trackingInfo `json:"trackingInfo"`
}

type trackingInfo struct {
	TrackingNumberInfo struct {
		TrackingNumber string `json:"trackingNumber"`
	} `json:"trackingNumberInfo"`
}

// Poll implements carriers.Poller: POST /track/v1/trackingnumbers for the
// one number, with detailed scans, a Bearer token (fetched, reused, and
// fetched again once after a 401: carriers/oauth), and the headers FedEx
// documents (Content-Type application/json, X-locale en_US). The answer is
// returned as received, for ParsePoll.
//
// Every refusal is a *carriers.RemoteError: no answer (Status 0, a timeout
// or a failed token request without an answer included), a non-2xx status
// with FedEx's error code and message ({"errors": [{"code", "message"}]})
// and its Retry-After, a 2xx that is not a track answer, and a 2xx that
// has nothing for the number. FedEx answers a number it does not know
// with HTTP 200 and an error inside its result; that is a RemoteError
// with Status 200, FedEx's code and message, wrapping ErrNoTracking: not
// temporary, as an unknown number stays unknown for a while. A result
// that carries an error beside scans (FedEx's own example does) is
// tracking, and the answer is returned.
func (a *Adapter) Poll(ctx context.Context, trackingNumber string) ([]byte, error) {
	number := tracking.NormalizeTrackingNumber(trackingNumber)
	if number == "" {
		return nil, errors.New("fedex: no tracking number to poll")
	}
	if !a.tokens.Configured() {
		return nil, errors.New("fedex: no API credentials configured (TRACKD_FEDEX_CLIENT_ID, TRACKD_FEDEX_CLIENT_SECRET)")
	}
	req := trackRequest{IncludeDetailedScans: true, TrackingInfo: make([]trackingInfo, 1)}
	req.TrackingInfo[0].TrackingNumberInfo.TrackingNumber = number
	payload, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("fedex: poll request: %w", err)
	}

	ctx, cancel := context.WithTimeout(ctx, a.cfg.Timeout)
	defer cancel()
	resp, err := a.tokens.Do(ctx, func(ctx context.Context) (*http.Request, error) {
		r, err := http.NewRequestWithContext(ctx, http.MethodPost, a.cfg.BaseURL+trackPath, bytes.NewReader(payload))
		if err != nil {
			return nil, err
		}
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("X-locale", "en_US")
		r.Header.Set("User-Agent", "trackd")
		return r, nil
	})
	if err != nil {
		// Already a *carriers.RemoteError (see oauth.Client.Do).
		return nil, err
	}
	defer resp.Body.Close()
	body, err := carriers.ReadAnswer(resp, MaxAnswerBytes)
	if err != nil {
		return nil, err
	}

	var ans apiAnswer
	jerr := json.Unmarshal(body, &ans)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		re := &carriers.RemoteError{
			Status:     resp.StatusCode,
			RetryAfter: carriers.RetryAfter(resp.Header.Get("Retry-After"), a.now(), maxRetryAfter),
		}
		if jerr == nil && len(ans.Errors) > 0 {
			re.Code, re.Message = errorText(ans.Errors)
		}
		return nil, re
	}
	switch {
	case jerr != nil:
		return nil, &carriers.RemoteError{Status: resp.StatusCode, Err: fmt.Errorf("malformed answer: %w", jsonError(jerr))}
	case ans.Output == nil && len(ans.Errors) > 0:
		code, msg := errorText(ans.Errors)
		return nil, &carriers.RemoteError{Status: resp.StatusCode, Code: code, Message: msg,
			Err: fmt.Errorf("error inside an HTTP %d answer", resp.StatusCode)}
	case ans.Output == nil || ans.Output.CompleteTrackResults == nil:
		return nil, &carriers.RemoteError{Status: resp.StatusCode, Err: errors.New(`malformed answer: no "output.completeTrackResults"`)}
	}
	if e := numberError(*ans.Output.CompleteTrackResults, number); e != nil {
		return nil, &carriers.RemoteError{Status: resp.StatusCode, Code: e.code, Message: e.message,
			Err: fmt.Errorf("%w: %s, inside an HTTP %d answer", ErrNoTracking, e.why, resp.StatusCode)}
	}
	return body, nil
}

type refusal struct{ code, message, why string }

// numberError says why an answer has nothing for number, or nil when it
// has a result for it that is more than FedEx's error.
func numberError(results []completeTrackResult, number string) *refusal {
	var first *apiError
	for i := range results {
		c := &results[i]
		for j := range c.TrackResults {
			r := &c.TrackResults[j]
			if c.number(r) != number && tracking.NormalizeTrackingNumber(string(r.TrackingNumberInfo.TrackingNumber)) != number {
				continue
			}
			if !r.void() {
				return nil
			}
			if first == nil {
				first = r.Error
			}
		}
	}
	if first == nil {
		return &refusal{why: fmt.Sprintf("no result for %s among %d", number, len(results))}
	}
	return &refusal{code: trim(first.Code), message: trim(first.Message), why: "FedEx's error for " + number}
}

// errorText is the code and message of FedEx's first error, with a count
// of the others.
func errorText(errs []apiError) (code, message string) {
	code, message = trim(errs[0].Code), trim(errs[0].Message)
	if n := len(errs) - 1; n > 0 {
		message = strings.TrimSpace(fmt.Sprintf("%s (and %d more)", message, n))
	}
	return code, message
}
