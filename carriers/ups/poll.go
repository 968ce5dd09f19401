package ups

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/trackd/trackd/carriers"
	"github.com/trackd/trackd/tracking"
)

// MaxAnswerBytes bounds a poll answer. A package with a hundred activities
// is tens of kilobytes; a delivery signature or photo, which Poll does not
// ask for, would be more.
const MaxAnswerBytes = 4 << 20

// maxRetryAfter caps the wait UPS (or a proxy before it) may ask for: a
// longer one is more likely a mistake than a plan.
const maxRetryAfter = 24 * time.Hour

// TransactionSource is the transactionSrc header of every request: it
// names the calling application to UPS.
const TransactionSource = "trackd"

// ErrNotFound is wrapped by Poll's error when UPS has no tracking
// information for the number (TW0001 "Tracking Information Not Found", a
// 404 with UPS's error body, or an answer without packages): a label not
// yet scanned, a mistyped number, or one older than UPS's 120 days.
var ErrNotFound = errors.New("UPS has no tracking information for this number")

// Poll implements carriers.Poller: GET
// {BaseURL}/api/track/v1/details/{number}?locale=en_US&returnSignature=false
// with a Bearer token, a fresh transId and transactionSrc. The answer is
// returned as received, for ParsePoll.
//
// Every refusal is a *carriers.RemoteError: no answer (Status 0, a
// timeout included), a token UPS would not issue, a non-2xx status with
// UPS's response.errors code and message, an answer that is not a Track
// API answer, or one whose shipments hold no package (UPS says "not found"
// that way, with an HTTP 200 and a warning; ErrNotFound, not temporary).
func (a *Adapter) Poll(ctx context.Context, trackingNumber string) ([]byte, error) {
	number := tracking.NormalizeTrackingNumber(trackingNumber)
	switch {
	case !a.tokens.Configured():
		return nil, errors.New("ups: no client id and secret configured (TRACKD_UPS_CLIENT_ID, TRACKD_UPS_CLIENT_SECRET)")
	case number == "":
		return nil, errors.New("ups: no tracking number to poll")
	case len(number) > maxTrackingNumber:
		return nil, fmt.Errorf("ups: %q is too long to be a UPS tracking number", number)
	}
	u := a.cfg.BaseURL + "/api/track/v1/details/" + url.PathEscape(number) + "?locale=en_US&returnSignature=false"

	ctx, cancel := context.WithTimeout(ctx, a.cfg.Timeout)
	defer cancel()
	resp, err := a.tokens.Do(ctx, func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		// A fresh transId for the retry after a 401 too: it names one
		// request in UPS's logs.
		req.Header.Set("transId", rand.Text())
		req.Header.Set("transactionSrc", TransactionSource)
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
	if err := checkAnswer(resp, body, a.now()); err != nil {
		return nil, err
	}
	return body, nil
}

// checkAnswer returns the *carriers.RemoteError an answer amounts to, or
// nil for an answer ParsePoll can use.
func checkAnswer(resp *http.Response, body []byte, now time.Time) error {
	var ans trackAnswer
	jerr := json.Unmarshal(body, &ans)
	var first apiMessage
	if jerr == nil && ans.Response != nil && len(ans.Response.Errors) > 0 {
		first = ans.Response.Errors[0]
	}
	code, msg := first.Code.Trim(), first.Message.Trim()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		re := &carriers.RemoteError{
			Status: resp.StatusCode, Code: code, Message: msg,
			RetryAfter: carriers.RetryAfter(resp.Header.Get("Retry-After"), now, maxRetryAfter),
		}
		if code == "TW0001" || resp.StatusCode == http.StatusNotFound && code != "" {
			re.Err = ErrNotFound
		}
		return re
	}
	switch {
	case jerr != nil:
		return &carriers.RemoteError{Status: resp.StatusCode, Err: fmt.Errorf("malformed answer: %w", jsonError(jerr))}
	case code != "" || msg != "":
		re := &carriers.RemoteError{Status: resp.StatusCode, Code: code, Message: msg,
			Err: fmt.Errorf("error inside an HTTP %d answer", resp.StatusCode)}
		if code == "TW0001" {
			re.Err = fmt.Errorf("%w (inside an HTTP %d answer)", ErrNotFound, resp.StatusCode)
		}
		return re
	case ans.TrackResponse == nil:
		return &carriers.RemoteError{Status: resp.StatusCode, Err: errors.New(`malformed answer: no "trackResponse"`)}
	}
	var warning apiMessage
	for _, sh := range ans.TrackResponse.Shipment {
		if len(sh.Package) > 0 {
			return nil
		}
		if len(sh.Warnings) > 0 && warning.Code == "" && warning.Message == "" {
			warning = sh.Warnings[0]
		}
	}
	return &carriers.RemoteError{
		Status: resp.StatusCode, Code: warning.Code.Trim(), Message: warning.Message.Trim(),
		Err: fmt.Errorf("%w: the answer holds no package", ErrNotFound),
	}
}
