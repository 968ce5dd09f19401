package dhl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/trackd/trackd/carriers"
	"github.com/trackd/trackd/tracking"
)

// MaxAnswerBytes bounds a poll answer. DHL pages shipments by five, each
// with tens of events: well under 100 kB.
const MaxAnswerBytes = 8 << 20

// maxRetryAfter caps the wait DHL (or its gateway) may ask for. DHL's
// daily quota resets at midnight GMT, so a day is the longest wait that
// makes sense.
const maxRetryAfter = 24 * time.Hour

// ErrNotFound is wrapped by Poll's error when DHL knows no shipment with
// the number: its 404 "No result found", or an answer listing none. DHL
// takes 10 to 30 minutes to show a new shipment and purges most after 90
// days, so a number can be unknown at either end of its life.
var ErrNotFound = errors.New("DHL has no shipment with this number")

// Poll implements carriers.Poller: GET {BaseURL}/shipments with the
// tracking number, language=en (statuses.go reads the English texts) and
// the configured service, requesterCountryCode and originCountryCode,
// authenticated by the DHL-API-Key header. The answer is returned whole,
// as received, for ParsePoll.
//
// Only the first page is asked for: DHL pages by five shipments, a number
// rarely matches more than two, and every further page costs a call of a
// small daily quota. The possibleAdditionalShipmentsUrl DHL may add (the
// same number at other DHL businesses) is not followed, for the same
// reason; Config.Service names the business to ask instead.
//
// Every refusal is a *carriers.RemoteError: no answer (Status 0, a
// timeout included), a non-2xx status with DHL's problem detail as Code
// (its title) and Message (its detail), wrapping ErrNotFound for a 404;
// a 2xx answer that is no tracking answer, or one with no shipment
// (wrapping ErrNotFound).
func (a *Adapter) Poll(ctx context.Context, trackingNumber string) ([]byte, error) {
	if a.cfg.APIKey == "" {
		return nil, errors.New("dhl: no API key configured (TRACKD_DHL_API_KEY)")
	}
	number := tracking.NormalizeTrackingNumber(trackingNumber)
	if number == "" {
		return nil, errors.New("dhl: no tracking number to poll")
	}
	q := url.Values{}
	q.Set("trackingNumber", number)
	q.Set("language", "en")
	for name, v := range map[string]string{
		"service":              a.cfg.Service,
		"requesterCountryCode": a.cfg.RequesterCountryCode,
		"originCountryCode":    a.cfg.OriginCountryCode,
	} {
		if v != "" {
			q.Set(name, v)
		}
	}

	ctx, cancel := context.WithTimeout(ctx, a.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.cfg.BaseURL+"/shipments?"+q.Encode(), nil)
	if err != nil {
		return nil, fmt.Errorf("dhl: poll request: %w", err)
	}
	req.Header.Set("DHL-API-Key", a.cfg.APIKey)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "trackd")

	resp, err := a.client.Do(req)
	if err != nil {
		return nil, &carriers.RemoteError{Err: err}
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
		var p problem
		if json.Unmarshal(body, &p) == nil {
			re.Code, re.Message = p.code(), p.message()
		}
		if resp.StatusCode == http.StatusNotFound {
			re.Err = ErrNotFound
		}
		return nil, re
	}
	var ans struct {
		Shipments *[]json.RawMessage `json:"shipments"`
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		return nil, &carriers.RemoteError{Status: resp.StatusCode, Err: fmt.Errorf("malformed answer: %w", jsonError(err))}
	}
	switch {
	case ans.Shipments == nil:
		return nil, &carriers.RemoteError{Status: resp.StatusCode, Err: errors.New(`malformed answer: no "shipments"`)}
	case len(*ans.Shipments) == 0:
		return nil, &carriers.RemoteError{Status: resp.StatusCode, Err: fmt.Errorf("%w: the answer lists no shipment", ErrNotFound)}
	}
	return body, nil
}
