package aftership

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/trackd/trackd/carriers"
	"github.com/trackd/trackd/tracking"
)

// MaxAnswerBytes bounds a poll answer. A tracking with every field and a
// hundred checkpoints is well under 100 kB; a list answer holds few.
const MaxAnswerBytes = 8 << 20

// maxRetryAfter caps the wait AfterShip (or a proxy before it) may ask
// for: a longer one is more likely a mistake than a plan, and the
// scheduler asking again after a day costs one request.
const maxRetryAfter = 24 * time.Hour

// listWindow is how far back the list search looks: AfterShip keeps a
// tracking for 90 days, and its list defaults to the last 30.
const listWindow = 90 * 24 * time.Hour

// ErrNotTracked is wrapped by Poll's error when AfterShip's answer holds no
// tracking with the number asked: AfterShip is not tracking it (it tracks
// what its user registered with it; trackd registers nothing there).
var ErrNotTracked = errors.New("no AfterShip tracking has this number")

// Poll implements carriers.Poller against the v4 Tracking API, with the
// as-api-key header. AfterShip names a tracking by courier and number, and
// trackd's shipments know AfterShip's courier only when told, so Poll
// takes either:
//
//   - "<courier>/<number>", courier being AfterShip's slug ("fedex",
//     "dhl-global-mail", "postnl-3s"): GET /trackings/<courier>/<number>,
//     that one tracking;
//   - "<number>": GET /trackings?keyword=<number>, AfterShip's search of its
//     trackings (of the last 90 days, the ones it keeps) by number, among
//     other fields. The answer is returned only when one of its trackings
//     has the number; it may hold others too, whose updates are just as
//     true for their own shipments.
//
// Either way the answer is returned whole, as received, for ParsePoll.
// (The dated API versions address a tracking by AfterShip's own id and
// have no by-courier-and-number endpoint: a BaseURL pointing at one of
// them is not supported.)
//
// Every refusal is a *carriers.RemoteError: no answer (Status 0, a
// timeout included), a non-2xx status, or AfterShip's own error inside a
// 2xx answer (meta.code outside 2xx). AfterShip's meta codes are HTTP
// statuses or four-digit codes (4004: no such tracking); an error inside a
// 2xx answer takes its meta code as Status when that is an HTTP error
// status, so that a 429 or a 503 reported that way is still Temporary.
func (a *Adapter) Poll(ctx context.Context, trackingNumber string) ([]byte, error) {
	if a.cfg.APIKey == "" {
		return nil, errors.New("aftership: no API key configured (TRACKD_AFTERSHIP_API_KEY)")
	}
	courier, number := splitCourier(trackingNumber)
	if number == "" {
		return nil, errors.New("aftership: no tracking number to poll")
	}
	var u string
	if courier != "" {
		u = a.cfg.BaseURL + "/trackings/" + url.PathEscape(courier) + "/" + url.PathEscape(number)
	} else {
		q := url.Values{}
		q.Set("keyword", number)
		q.Set("created_at_min", a.now().Add(-listWindow).UTC().Format(time.RFC3339))
		q.Set("limit", "200")
		u = a.cfg.BaseURL + "/trackings?" + q.Encode()
	}

	ctx, cancel := context.WithTimeout(ctx, a.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("aftership: poll request: %w", err)
	}
	req.Header.Set("as-api-key", a.cfg.APIKey)
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

	var ans pollAnswer
	jerr := json.Unmarshal(body, &ans)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		re := &carriers.RemoteError{Status: resp.StatusCode}
		if jerr == nil {
			re.Code, re.Message = strings.TrimSpace(string(ans.Meta.Code)), ans.Meta.message()
		}
		re.RetryAfter = retryAfter(resp.Header, resp.StatusCode, a.now())
		return nil, re
	}
	if jerr != nil {
		return nil, &carriers.RemoteError{Status: resp.StatusCode, Err: fmt.Errorf("malformed answer: %w", jsonError(jerr))}
	}
	if code, failed := ans.Meta.failed(); failed {
		status := resp.StatusCode
		if n, err := strconv.Atoi(code); err == nil && n >= 400 && n <= 599 {
			status = n
		}
		return nil, &carriers.RemoteError{
			Status: status, Code: code, Message: ans.Meta.message(),
			RetryAfter: retryAfter(resp.Header, status, a.now()),
			Err:        fmt.Errorf("error inside an HTTP %d answer", resp.StatusCode),
		}
	}
	switch {
	case courier != "" && ans.Data.Tracking == nil:
		return nil, &carriers.RemoteError{Status: resp.StatusCode, Err: errors.New(`malformed answer: no "data.tracking"`)}
	case courier == "" && ans.Data.Trackings == nil:
		return nil, &carriers.RemoteError{Status: resp.StatusCode, Err: errors.New(`malformed answer: no "data.trackings"`)}
	case courier == "" && !ans.has(number):
		return nil, &carriers.RemoteError{Status: resp.StatusCode,
			Err: fmt.Errorf("%w: none of the %d trackings found for %q", ErrNotTracked, len(*ans.Data.Trackings), number)}
	}
	return body, nil
}

// pollAnswer is what Poll reads of an answer: enough to tell an error
// and, for a list, whether the number is in it.
type pollAnswer struct {
	Meta apiMeta `json:"meta"`
	Data struct {
		Tracking  *struct{} `json:"tracking"`
		Trackings *[]struct {
			TrackingNumber text `json:"tracking_number"`
		} `json:"trackings"`
	} `json:"data"`
}

func (p *pollAnswer) has(number string) bool {
	want := tracking.NormalizeTrackingNumber(number)
	for _, t := range *p.Data.Trackings {
		if tracking.NormalizeTrackingNumber(string(t.TrackingNumber)) == want {
			return true
		}
	}
	return false
}

// splitCourier splits "<courier>/<number>" when what comes before the
// slash looks like an AfterShip courier slug (letters, digits, dashes);
// anything else is all number.
func splitCourier(s string) (courier, number string) {
	s = strings.TrimSpace(s)
	c, n, ok := strings.Cut(s, "/")
	if !ok || !isSlug(c) {
		return "", s
	}
	return strings.ToLower(c), strings.TrimSpace(n)
}

func isSlug(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// retryAfter reads how long AfterShip asks the client to wait: Retry-After
// in seconds or as an HTTP date, or, for a 429 without one, the end of the
// rate-limit window AfterShip announces in X-RateLimit-Reset (unix
// seconds). Zero when it says nothing usable; at most maxRetryAfter.
func retryAfter(h http.Header, status int, now time.Time) time.Duration {
	var d time.Duration
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		d = carriers.RetryAfter(v, now, maxRetryAfter)
	} else if status == http.StatusTooManyRequests {
		if n, err := strconv.ParseInt(strings.TrimSpace(h.Get("X-RateLimit-Reset")), 10, 64); err == nil && n > 0 {
			d = time.Unix(min(n, now.Add(maxRetryAfter).Unix()), 0).Sub(now)
		}
	}
	return min(max(d, 0), maxRetryAfter)
}
