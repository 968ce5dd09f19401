package fedex

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/trackd/trackd/carriers"
	"github.com/trackd/trackd/carriers/zones"
	"github.com/trackd/trackd/tracking"
)

// MaxScanEvents bounds the scan events of one track result, so that a
// signed but broken payload cannot make one message cost unbounded work.
// Real shipments have tens.
const MaxScanEvents = 1000

// apiAnswer is a Track API answer, and a webhook push, which has the same
// shape (see the package documentation). Only what trackd uses is
// decoded; everything else (alerts, which the spec types as an array and
// FedEx's own example sends as a string, outputMetaData, addresses of the
// parties) is ignored whatever its type.
type apiAnswer struct {
	Output *struct {
		CompleteTrackResults *[]completeTrackResult `json:"completeTrackResults"`
	} `json:"output"`
	// Errors is the answer of a refused request: {"transactionId",
	// "errors": [{"code", "message"}]}.
	Errors []apiError `json:"errors"`
}

// apiError is FedEx's error, of a whole request (errors[]) or of one
// tracking number (trackResults[].error).
type apiError struct {
	Code    text `json:"code"`
	Message text `json:"message"`
}

func (e *apiError) empty() bool {
	return e == nil || strings.TrimSpace(string(e.Code)) == "" && strings.TrimSpace(string(e.Message)) == ""
}

// completeTrackResult is what FedEx knows about one tracking number asked
// for: one track result per shipment that has had the number (FedEx reuses
// numbers; "in case of duplicate shipments, multiple track details will be
// populated").
type completeTrackResult struct {
	TrackingNumber text          `json:"trackingNumber"`
	TrackResults   []trackResult `json:"trackResults"`
}

type trackResult struct {
	TrackingNumberInfo struct {
		TrackingNumber text `json:"trackingNumber"`
	} `json:"trackingNumberInfo"`
	// ScanEvents are kept raw: each is decoded on its own and kept,
	// compacted, as its event's Raw.
	ScanEvents []json.RawMessage `json:"scanEvents"`
	// The estimate fields are decoded leniently (see eta): they are
	// auxiliary, and a shape FedEx changes must not cost the scans.
	DateAndTimes                json.RawMessage `json:"dateAndTimes"`
	EstimatedDeliveryTimeWindow json.RawMessage `json:"estimatedDeliveryTimeWindow"`
	LatestStatusDetail          json.RawMessage `json:"latestStatusDetail"`
	Error                       *apiError       `json:"error"`
}

// hasContent reports whether a track result says anything about a
// shipment. FedEx's own example carries an error beside a full result, so
// an error alone does not make a result void; an error and nothing else
// does.
func (r *trackResult) hasContent() bool {
	status := bytes.TrimSpace(r.LatestStatusDetail)
	return len(r.ScanEvents) > 0 || len(status) > 0 && !bytes.Equal(status, []byte("null")) && !bytes.Equal(status, []byte("{}"))
}

// void reports whether the result is only FedEx's error for the number.
func (r *trackResult) void() bool { return !r.Error.empty() && !r.hasContent() }

// number is the tracking number a result is about: the number asked for,
// as completeTrackResults[] names it, else the result's own.
func (c *completeTrackResult) number(r *trackResult) string {
	if n := tracking.NormalizeTrackingNumber(string(c.TrackingNumber)); n != "" {
		return n
	}
	return tracking.NormalizeTrackingNumber(string(r.TrackingNumberInfo.TrackingNumber))
}

type scanEvent struct {
	Date                 text `json:"date"`
	EventType            text `json:"eventType"`
	EventDescription     text `json:"eventDescription"`
	DerivedStatusCode    text `json:"derivedStatusCode"`
	DerivedStatus        text `json:"derivedStatus"`
	ExceptionCode        text `json:"exceptionCode"`
	ExceptionDescription text `json:"exceptionDescription"`
	ScanLocation         struct {
		City        text `json:"city"`
		Region      text `json:"stateOrProvinceCode"`
		PostalCode  text `json:"postalCode"`
		CountryCode text `json:"countryCode"`
	} `json:"scanLocation"`
}

// parseAnswer parses a Track API answer or a webhook push (what names it
// in errors): output.completeTrackResults[].trackResults[].scanEvents[].
// It returns one update per tracking number, with the events of every
// track result of that number: FedEx splits a reused number into one
// result per shipment, and trackd knows a shipment by its number, so they
// are all that shipment's history. Results that are only FedEx's error for
// a number ("Tracking number cannot be found") give no update. A
// well-formed answer without results gives none either; an answer that
// is an error, or not a track answer at all, is an error.
func parseAnswer(body []byte, what string) ([]tracking.Update, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, fmt.Errorf("%s is empty", what)
	}
	var ans apiAnswer
	if err := json.Unmarshal(body, &ans); err != nil {
		return nil, fmt.Errorf("%s: %w", what, jsonError(err))
	}
	if ans.Output == nil {
		if len(ans.Errors) > 0 {
			e := ans.Errors[0]
			return nil, fmt.Errorf("%s is an error: %s %s", what, strings.TrimSpace(string(e.Code)), strings.TrimSpace(string(e.Message)))
		}
		return nil, fmt.Errorf(`%s has no "output": not a FedEx track answer`, what)
	}
	if ans.Output.CompleteTrackResults == nil {
		return nil, fmt.Errorf(`%s has no "output.completeTrackResults": not a FedEx track answer`, what)
	}

	type shipment struct {
		update tracking.Update
		// current is the newest scan of the result the estimate comes
		// from: a reused number's estimate is its newest shipment's, even
		// when that one has none and an older one had.
		current time.Time
	}
	var out []*shipment
	byNumber := map[string]*shipment{}
	for i, c := range *ans.Output.CompleteTrackResults {
		for j := range c.TrackResults {
			r := &c.TrackResults[j]
			field := fmt.Sprintf("output.completeTrackResults[%d].trackResults[%d]", i, j)
			if r.void() {
				continue
			}
			number := c.number(r)
			switch {
			case number == "":
				return nil, fmt.Errorf("%s: %s has no tracking number", what, field)
			case len(r.ScanEvents) > MaxScanEvents:
				return nil, fmt.Errorf("%s: %s.scanEvents: %d events, more than %d", what, field, len(r.ScanEvents), MaxScanEvents)
			}
			s, seen := byNumber[number]
			if !seen {
				s = &shipment{update: tracking.Update{Carrier: "fedex", TrackingNumber: number}}
				byNumber[number] = s
				out = append(out, s)
			}
			var newest time.Time
			for k, raw := range r.ScanEvents {
				e, err := parseScanEvent(raw)
				if err != nil {
					return nil, fmt.Errorf("%s: %s.scanEvents[%d]: %w", what, field, k, err)
				}
				if e.OccurredAt.After(newest) {
					newest = e.OccurredAt
				}
				s.update.Events = append(s.update.Events, e)
			}
			if !seen || newest.After(s.current) {
				s.update.EstimatedDelivery, s.current = eta(r), newest
			}
		}
	}
	us := make([]tracking.Update, 0, len(out))
	for _, s := range out {
		us = append(us, s.update)
	}
	return us, nil
}

// parseScanEvent turns one scan event into an event. Its error starts
// with the name of the field at fault, for parseAnswer to prefix.
func parseScanEvent(raw json.RawMessage) (tracking.Event, error) {
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return tracking.Event{}, errors.New("is null, not a scan event")
	}
	var s scanEvent
	if err := json.Unmarshal(raw, &s); err != nil {
		return tracking.Event{}, jsonError(err)
	}
	loc := tracking.Location{
		City:       trim(s.ScanLocation.City),
		Region:     trim(s.ScanLocation.Region),
		PostalCode: trim(s.ScanLocation.PostalCode),
		Country:    strings.ToUpper(trim(s.ScanLocation.CountryCode)),
	}
	at, local, unknown, err := parseTime(string(s.Date), loc)
	if err != nil {
		return tracking.Event{}, fmt.Errorf("date: %w", err)
	}
	var compact bytes.Buffer
	compact.Grow(len(raw))
	if err := json.Compact(&compact, raw); err != nil {
		return tracking.Event{}, err
	}
	return tracking.Event{
		// FedEx scans carry no id: trackd fingerprints them.
		Status:          StatusOf(string(s.EventType), string(s.DerivedStatusCode), string(s.ExceptionCode), string(s.ExceptionDescription)),
		CarrierStatus:   carrierStatus(s.EventType, s.DerivedStatusCode),
		Message:         message(&s),
		OccurredAt:      at,
		OccurredAtLocal: local,
		OffsetUnknown:   unknown,
		Location:        loc,
		Raw:             compact.Bytes(),
	}, nil
}

// carrierStatus is FedEx's own code for a scan: its eventType, and
// "/derivedStatusCode" after it when that differs ("OD/IT", "OC/IN"), so
// that both classifications stay on the event.
func carrierStatus(eventType, derived text) string {
	et, dc := trim(eventType), trim(derived)
	switch {
	case et == "":
		return dc
	case dc == "" || strings.EqualFold(et, dc):
		return et
	}
	return et + "/" + dc
}

// message is the scan's text: its description, with the exception's
// reason after it when there is one ("Delivery exception: Customer not
// available or business closed").
func message(s *scanEvent) string {
	desc, exc := trim(s.EventDescription), trim(s.ExceptionDescription)
	switch {
	case desc == "" && exc == "":
		return trim(s.DerivedStatus)
	case exc == "" || strings.EqualFold(desc, exc):
		return desc
	case desc == "":
		return exc
	}
	return desc + ": " + exc
}

// parseTime reads a scan's date. FedEx gives local time with its offset
// ("2018-02-02T12:01:00-07:00"), and the instant is exact. Some scans come
// without an offset ("2024-08-15T00:00:00", FedEx Ground pickups among
// them); those are placed in the zone of the scan's location when one zone
// covers it, else read as UTC with offsetUnknown set.
func parseTime(s string, loc tracking.Location) (at, local time.Time, offsetUnknown bool, err error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return at, local, false, errors.New("is missing")
	}
	var t time.Time
	for _, layout := range [...]string{time.RFC3339, "2006-01-02T15:04:05Z0700"} {
		if t, err = time.Parse(layout, s); err == nil {
			if t.Year() < 2000 {
				return at, local, false, fmt.Errorf("%q is before 2000", s)
			}
			return t.UTC(), t, false, nil
		}
	}
	for _, layout := range [...]string{"2006-01-02T15:04:05", time.DateOnly} {
		if t, err = time.ParseInLocation(layout, s, time.UTC); err == nil {
			break
		}
	}
	switch {
	case err != nil:
		return at, local, false, fmt.Errorf("%q is neither YYYY-MM-DDTHH:MM:SS±HH:MM nor YYYY-MM-DDTHH:MM:SS", s)
	case t.Year() < 2000:
		return at, local, false, fmt.Errorf("%q is before 2000", s)
	}
	at, local, offsetUnknown = zones.Place(t, loc)
	return at, local, offsetUnknown, nil
}

// eta returns a result's estimated delivery as a date or an RFC 3339
// instant, or "": the ESTIMATED_DELIVERY of dateAndTimes, else the end of
// estimatedDeliveryTimeWindow (the shipment is late only once that has
// passed), else its beginning. A value that is not a date is skipped
// rather than failing the update: the scans matter more, and the raw
// payload keeps it.
func eta(r *trackResult) string {
	var dates []struct {
		Type     text `json:"type"`
		DateTime text `json:"dateTime"`
	}
	if len(r.DateAndTimes) > 0 && json.Unmarshal(r.DateAndTimes, &dates) == nil {
		for _, d := range dates {
			if strings.EqualFold(trim(d.Type), "ESTIMATED_DELIVERY") {
				if s := normalizeETA(string(d.DateTime)); s != "" {
					return s
				}
			}
		}
	}
	var w struct {
		Window struct {
			Begins text `json:"begins"`
			Ends   text `json:"ends"`
		} `json:"window"`
	}
	if len(r.EstimatedDeliveryTimeWindow) > 0 && json.Unmarshal(r.EstimatedDeliveryTimeWindow, &w) == nil {
		for _, s := range [...]text{w.Window.Ends, w.Window.Begins} {
			if d := normalizeETA(string(s)); d != "" {
				return d
			}
		}
	}
	return ""
}

// normalizeETA returns s as tracking.ParseETA accepts it. FedEx writes a
// day as its midnight, with an offset or without ("2024-04-26T00:00:00-06:00",
// an offset FedEx puts on dates whatever the place): that is the date, not
// an instant at the start of it, or the shipment would count as late all
// day. Any other time without an offset is a local time in a zone not
// given: its date is what is promised.
func normalizeETA(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	if _, err := time.Parse(time.DateOnly, s); err == nil {
		return s
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0 {
			return t.Format(time.DateOnly)
		}
		return s
	}
	if t, err := time.Parse("2006-01-02T15:04:05", s); err == nil {
		return t.Format(time.DateOnly)
	}
	return ""
}

func trim(t text) string { return strings.TrimSpace(string(t)) }

// text is carriers.Text: a string field that also takes a number or null.
type text = carriers.Text

// jsonError rewords encoding/json's errors without Go type names.
func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Errorf("malformed JSON at byte %d: %v", syn.Offset, syn)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "value"
		}
		return fmt.Errorf("%s: want %s, not %s", field, kindName(typ.Type.Kind()), article(typ.Value))
	}
	return err
}

// kindName names a Go kind the way JSON would.
func kindName(k reflect.Kind) string {
	switch k {
	case reflect.Struct, reflect.Map, reflect.Pointer:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	}
	return "a number"
}

// article puts an article before encoding/json's name of a JSON value.
func article(v string) string {
	switch v {
	case "object", "array":
		return "an " + v
	case "bool":
		return "a boolean"
	case "string", "number":
		return "a " + v
	}
	return v
}
