package salesforce

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/trackd/trackd/carriers"
	"github.com/trackd/trackd/carriers/oauth"
	"github.com/trackd/trackd/tracking"
)

// maxBody caps what is read of any Salesforce answer: a query page of 2,000
// records or 200 SaveResults is far below it.
const maxBody = 8 << 20

// Query chunks: a GET's URL has to stay well under the limits of proxies
// and of Salesforce (16,384 bytes of URI), whatever the numbers look like.
const (
	queryNumbers = 100
	queryChars   = 8000
)

// Client calls the Salesforce REST API of one org with a client-credentials
// token.
type Client struct {
	base    string // instance URL
	version string
	tokens  *oauth.Client
	now     func() time.Time
}

// NewClient returns a client for cfg's org. hc sends the token and API
// requests (nil: a client with cfg.HTTPTimeout).
func NewClient(cfg Config, hc *http.Client) *Client {
	if hc == nil {
		hc = &http.Client{Timeout: cfg.HTTPTimeout}
	}
	base := strings.TrimRight(cfg.InstanceURL, "/")
	return &Client{
		base:    base,
		version: cfg.apiVersion(),
		// Salesforce's documented client-credentials request carries
		// client_id and client_secret in the form; the answer has no
		// expires_in (the session policy decides), so the token is kept
		// until the API answers 401 INVALID_SESSION_ID and oauth fetches a
		// fresh one for a single retry.
		tokens: oauth.New(oauth.Config{
			TokenURL: base + "/services/oauth2/token", ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
			AuthStyle: oauth.AuthInParams, HTTPClient: hc,
		}),
		now: time.Now,
	}
}

// APIError is one entry of Salesforce's error answer, or of a record's
// errors in a SaveResult.
type APIError struct {
	// StatusCode is the record-level code (SaveResult errors);
	// ErrorCode the request-level one. Code returns whichever is set.
	StatusCode string   `json:"statusCode,omitempty"`
	ErrorCode  string   `json:"errorCode,omitempty"`
	Message    string   `json:"message"`
	Fields     []string `json:"fields,omitempty"`
}

// Code is the error's code.
func (e APIError) Code() string {
	if e.StatusCode != "" {
		return e.StatusCode
	}
	return e.ErrorCode
}

func (e APIError) String() string {
	s := e.Code()
	if e.Message != "" {
		s += ": " + e.Message
	}
	if len(e.Fields) > 0 {
		s += " (" + strings.Join(e.Fields, ", ") + ")"
	}
	return s
}

// RequestError is a request Salesforce did not carry out as a whole: no
// answer, or an HTTP error status.
type RequestError struct {
	// Status is the HTTP status, 0 when there was no answer.
	Status     int
	Code       string
	Message    string
	RetryAfter time.Duration
	Err        error
}

func (e *RequestError) Error() string {
	msg := fmt.Sprintf("salesforce answered %d", e.Status)
	if e.Status == 0 {
		msg = "salesforce did not answer"
	}
	if e.Code != "" || e.Message != "" {
		msg += fmt.Sprintf(" (%s %s)", e.Code, e.Message)
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *RequestError) Unwrap() error { return e.Err }

// retryAfter is the wait a failed request asks for, if any.
func retryAfter(err error) time.Duration {
	var re *RequestError
	if errors.As(err, &re) {
		return re.RetryAfter
	}
	var ce *carriers.RemoteError
	if errors.As(err, &ce) {
		return ce.RetryAfter
	}
	return 0
}

// do sends a request with the token, and turns anything but 2xx into a
// *RequestError. The body is read whole (capped).
func (c *Client) do(ctx context.Context, method, u string, body []byte) ([]byte, error) {
	resp, err := c.tokens.Do(ctx, func(ctx context.Context) (*http.Request, error) {
		var r io.Reader
		if body != nil {
			r = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, u, r)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept", "application/json")
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		return req, nil
	})
	if err != nil {
		var ce *carriers.RemoteError
		if errors.As(err, &ce) {
			// The token request failed, or no answer came.
			return nil, &RequestError{Status: ce.Status, Code: ce.Code, Message: ce.Message, RetryAfter: ce.RetryAfter, Err: ce.Err}
		}
		return nil, &RequestError{Err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, &RequestError{Status: resp.StatusCode, Err: fmt.Errorf("read answer: %w", err)}
	}
	if resp.StatusCode/100 != 2 {
		e := &RequestError{Status: resp.StatusCode,
			RetryAfter: carriers.RetryAfter(resp.Header.Get("Retry-After"), c.now(), time.Hour)}
		if ae, ok := decodeErrors(b); ok {
			e.Code, e.Message = ae.Code(), ae.Message
		} else {
			e.Message = strings.TrimSpace(string(b[:min(len(b), 200)]))
		}
		return nil, e
	}
	return b, nil
}

// decodeErrors reads Salesforce's error answer: a JSON array of
// {"message", "errorCode"}, or, from the token endpoint and some
// gateways, a single object.
func decodeErrors(b []byte) (APIError, bool) {
	var list []APIError
	if json.Unmarshal(b, &list) == nil && len(list) > 0 {
		return list[0], true
	}
	var one APIError
	if json.Unmarshal(b, &one) == nil && (one.Code() != "" || one.Message != "") {
		return one, true
	}
	return APIError{}, false
}

// QuoteSOQL returns s as a SOQL string literal, quotes included, with the
// reserved characters escaped as the SOQL reference lists them (\' \" \\
// and the control characters \n \r \t \b \f). Other control characters
// and invalid UTF-8 have no place in a tracking number and are refused
// rather than passed into a query.
func QuoteSOQL(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", errors.New("not valid UTF-8")
	}
	var b strings.Builder
	b.WriteByte('\'')
	for _, r := range s {
		switch r {
		case '\'', '"', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			if r < 0x20 || r == 0x7f {
				return "", fmt.Errorf("control character %U", r)
			}
			b.WriteRune(r)
		}
	}
	b.WriteByte('\'')
	return b.String(), nil
}

// queryResult is a page of a SOQL query's answer.
type queryResult struct {
	TotalSize      int    `json:"totalSize"`
	Done           bool   `json:"done"`
	NextRecordsURL string `json:"nextRecordsUrl"`
	Records        []struct {
		ID             string `json:"Id"`
		TrackingNumber string `json:"TrackingNumber"`
	} `json:"records"`
}

// FindShipments returns the ids of the Shipment records with each tracking
// number, by normalized tracking number (several records may carry one
// number: all of them are kept in step). Numbers with no record are
// absent. Numbers QuoteSOQL refuses are returned in refused, not queried.
//
// TrackingNumber is not an external id field on the standard object, so
// an upsert by it is not possible: the ids come from a query.
func (c *Client) FindShipments(ctx context.Context, numbers []string) (found map[string][]string, refused map[string]error, err error) {
	found, refused = map[string][]string{}, map[string]error{}
	var lits []string
	size := 0
	flush := func() error {
		if len(lits) == 0 {
			return nil
		}
		q := "SELECT Id, TrackingNumber FROM Shipment WHERE TrackingNumber IN (" + strings.Join(lits, ", ") + ")"
		lits, size = lits[:0], 0
		return c.query(ctx, q, found)
	}
	for _, n := range numbers {
		lit, err := QuoteSOQL(n)
		if err != nil {
			refused[n] = fmt.Errorf("tracking number cannot be queried: %w", err)
			continue
		}
		if len(lits) >= queryNumbers || size+len(lit) > queryChars {
			if err := flush(); err != nil {
				return nil, nil, err
			}
		}
		lits = append(lits, lit)
		size += len(lit) + 2
	}
	if err := flush(); err != nil {
		return nil, nil, err
	}
	return found, refused, nil
}

// query runs q and follows its nextRecordsUrl pages.
func (c *Client) query(ctx context.Context, q string, found map[string][]string) error {
	u := c.base + "/services/data/" + c.version + "/query?" + url.Values{"q": {q}}.Encode()
	for u != "" {
		b, err := c.do(ctx, http.MethodGet, u, nil)
		if err != nil {
			return fmt.Errorf("query shipments: %w", err)
		}
		var res queryResult
		if err := json.Unmarshal(b, &res); err != nil {
			return &RequestError{Status: http.StatusOK, Err: fmt.Errorf("decode query answer: %w", err)}
		}
		for _, r := range res.Records {
			if r.ID == "" {
				continue
			}
			n := tracking.NormalizeTrackingNumber(r.TrackingNumber)
			found[n] = append(found[n], r.ID)
		}
		u = ""
		if !res.Done && res.NextRecordsURL != "" {
			if !strings.HasPrefix(res.NextRecordsURL, "/services/data/") {
				return &RequestError{Status: http.StatusOK, Err: fmt.Errorf("unexpected nextRecordsUrl %q", res.NextRecordsURL)}
			}
			u = c.base + res.NextRecordsURL
		}
	}
	return nil
}

// Record is one Shipment update: its id and the fields to set.
type Record struct {
	ID     string
	Fields map[string]any
}

// MarshalJSON writes the record as sObject Collections take it:
// {"attributes": {"type": "Shipment"}, "id": ..., fields...}.
func (r Record) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, len(r.Fields)+2)
	for k, v := range r.Fields {
		m[k] = v
	}
	m["attributes"] = map[string]string{"type": "Shipment"}
	m["id"] = r.ID
	return json.Marshal(m)
}

// SaveResult is Salesforce's answer for one record, in request order.
type SaveResult struct {
	ID      string     `json:"id"`
	Success bool       `json:"success"`
	Errors  []APIError `json:"errors"`
}

// UpdateShipments updates up to 200 Shipment records in one sObject
// Collections request with allOrNone false: each record succeeds or fails
// on its own, and the answer says which, in request order.
func (c *Client) UpdateShipments(ctx context.Context, records []Record) ([]SaveResult, error) {
	if len(records) == 0 {
		return nil, nil
	}
	if len(records) > 200 {
		return nil, fmt.Errorf("%d records: sObject Collections take at most 200", len(records))
	}
	body, err := json.Marshal(struct {
		AllOrNone bool     `json:"allOrNone"`
		Records   []Record `json:"records"`
	}{false, records})
	if err != nil {
		return nil, fmt.Errorf("encode records: %w", err)
	}
	b, err := c.do(ctx, http.MethodPatch, c.base+"/services/data/"+c.version+"/composite/sobjects", body)
	if err != nil {
		return nil, fmt.Errorf("update %d shipments: %w", len(records), err)
	}
	var res []SaveResult
	if err := json.Unmarshal(b, &res); err != nil {
		return nil, &RequestError{Status: http.StatusOK, Err: fmt.Errorf("decode update answer: %w", err)}
	}
	if len(res) != len(records) {
		return nil, &RequestError{Status: http.StatusOK,
			Err: fmt.Errorf("update answer has %d results for %d records", len(res), len(records))}
	}
	return res, nil
}
