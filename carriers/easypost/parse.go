package easypost

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/trackd/trackd/tracking"
)

// Limits on what one event keeps, so that a careless payload cannot make one
// message cost unbounded storage: a carrier's scan text is a line or two.
const (
	maxTextLength           = 2048
	maxCarrierLength        = 32
	maxTrackingNumberLength = 64
)

// eventBody is an EasyPost Event, as webhooks deliver it. Its result is
// decoded only for the event types trackd reads.
type eventBody struct {
	Object      string          `json:"object"`
	Description string          `json:"description"`
	Result      json.RawMessage `json:"result"`
}

// tracker is the part of EasyPost's Tracker object that trackd reads.
type tracker struct {
	Object          string         `json:"object"`
	TrackingCode    string         `json:"tracking_code"`
	Status          string         `json:"status"`
	StatusDetail    string         `json:"status_detail"`
	Carrier         string         `json:"carrier"`
	EstDeliveryDate string         `json:"est_delivery_date"`
	CarrierDetail   *carrierDetail `json:"carrier_detail"`
	// TrackingDetails are decoded one by one, so that each event keeps its
	// own JSON and an error names the detail it is about.
	TrackingDetails []json.RawMessage `json:"tracking_details"`
}

type carrierDetail struct {
	EstDeliveryDateLocal string `json:"est_delivery_date_local"`
}

// detail is one TrackingDetail: one scan.
type detail struct {
	Message          string   `json:"message"`
	Description      string   `json:"description"`
	Status           string   `json:"status"`
	StatusDetail     string   `json:"status_detail"`
	Datetime         string   `json:"datetime"`
	TrackingLocation location `json:"tracking_location"`
}

type location struct {
	City    string `json:"city"`
	State   string `json:"state"`
	Zip     string `json:"zip"`
	Country string `json:"country"`
}

// pollBody is what Poll appends: a Tracker (GET /v2/trackers/{id}, POST
// /v2/trackers), or a list of them (GET /v2/trackers), or an error object
// that came with a 2xx.
type pollBody struct {
	tracker
	Trackers []json.RawMessage `json:"trackers"`
	Error    *apiError         `json:"error"`
}

// ParseWebhook implements carriers.Adapter. A tracker.created or
// tracker.updated Event gives one update, with an event for each of the
// Tracker's tracking_details; any other Event type gives none and no error
// (see the package documentation). Every error is a *tracking.FieldError
// naming the field at fault, e.g. "result.tracking_details[2].status".
func (*Adapter) ParseWebhook(body []byte) ([]tracking.Update, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, fe("body", "is empty")
	}
	var ev eventBody
	if err := json.Unmarshal(body, &ev); err != nil {
		return nil, jsonError("", err)
	}
	switch {
	case ev.Object != "" && ev.Object != "Event":
		return nil, fe("object", fmt.Sprintf("is %q; an EasyPost webhook is an Event", clip(ev.Object)))
	case ev.Description == "":
		return nil, fe("description", "is required: it names the Event's type")
	case ev.Description != "tracker.created" && ev.Description != "tracker.updated":
		// Not about tracking: accepted, nothing to apply.
		return nil, nil
	case len(ev.Result) == 0 || string(ev.Result) == "null":
		return nil, fe("result", "is required: a "+ev.Description+" Event carries the Tracker")
	}
	var t tracker
	if err := json.Unmarshal(ev.Result, &t); err != nil {
		return nil, jsonError("result", err)
	}
	u, err := t.update("result")
	if err != nil {
		return nil, err
	}
	return []tracking.Update{u}, nil
}

// ParsePoll implements carriers.Poller: a Tracker, as GET /v2/trackers/{id}
// and POST /v2/trackers answer, gives one update; a tracker list (GET
// /v2/trackers) gives one per tracker. Errors are *tracking.FieldError, as
// for ParseWebhook.
func (*Adapter) ParsePoll(body []byte) ([]tracking.Update, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, fe("body", "is empty")
	}
	var p pollBody
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, jsonError("", err)
	}
	if p.Error != nil {
		code, msg := p.Error.text()
		return nil, fe("error", fmt.Sprintf("EasyPost answered an error: %s %s", code, msg))
	}
	if p.Trackers == nil {
		u, err := p.tracker.update("")
		if err != nil {
			return nil, err
		}
		return []tracking.Update{u}, nil
	}
	us := make([]tracking.Update, 0, len(p.Trackers))
	for i, raw := range p.Trackers {
		path := fmt.Sprintf("trackers[%d]", i)
		var t tracker
		if err := json.Unmarshal(raw, &t); err != nil {
			return nil, jsonError(path, err)
		}
		u, err := t.update(path)
		if err != nil {
			return nil, err
		}
		us = append(us, u)
	}
	return us, nil
}

// update normalizes the tracker found at path ("" for the top level).
func (t *tracker) update(path string) (tracking.Update, error) {
	if t.Object != "" && t.Object != "Tracker" {
		return tracking.Update{}, fe(join(path, "object"), fmt.Sprintf("is %q, not \"Tracker\"", clip(t.Object)))
	}
	u := tracking.Update{
		Carrier:        CarrierSlug(t.Carrier),
		TrackingNumber: tracking.NormalizeTrackingNumber(strings.TrimSpace(t.TrackingCode)),
	}
	switch {
	case u.TrackingNumber == "":
		return u, fe(join(path, "tracking_code"), "is required")
	case len(u.TrackingNumber) > maxTrackingNumberLength:
		return u, fe(join(path, "tracking_code"), fmt.Sprintf("is longer than %d characters", maxTrackingNumberLength))
	case u.Carrier == "":
		return u, fe(join(path, "carrier"), "is required: an update names the carrier that moves the parcel, not EasyPost")
	case len(u.Carrier) > maxCarrierLength:
		return u, fe(join(path, "carrier"), fmt.Sprintf("is longer than %d characters", maxCarrierLength))
	}
	// The tracker's own status is the newest detail's, repeated. It makes
	// no event, but an undocumented one means the table is out of date.
	if _, _, err := mapStatus(t.Status, t.StatusDetail); err != nil {
		return u, fe(join(path, "status"), err.Error())
	}
	eta, field, err := t.eta()
	if err != nil {
		return u, fe(join(path, field), err.Error())
	}
	u.EstimatedDelivery = eta

	if len(t.TrackingDetails) == 0 {
		return u, nil
	}
	u.Events = make([]tracking.Event, len(t.TrackingDetails))
	var inherit []int
	for i, raw := range t.TrackingDetails {
		e, inh, err := parseDetail(raw)
		if err != nil {
			var f *tracking.FieldError
			if errors.As(err, &f) {
				f.Field = join(fmt.Sprintf("%s[%d]", join(path, "tracking_details"), i), f.Field)
			}
			return u, err
		}
		u.Events[i] = e
		if inh {
			inherit = append(inherit, i)
		}
	}
	if len(inherit) > 0 {
		inheritStatuses(u.Events, inherit)
	}
	return u, nil
}

// inheritStatuses gives each event at the indexes in inherit the status of
// the event before it in time (ties in the order given), or pending when
// none comes before it. It depends on the details alone, so the same Tracker
// always gives the same events.
func inheritStatuses(events []tracking.Event, inherit []int) {
	order := make([]int, len(events))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		return events[order[a]].OccurredAt.Before(events[order[b]].OccurredAt)
	})
	inherits := make(map[int]bool, len(inherit))
	for _, i := range inherit {
		inherits[i] = true
	}
	prev := tracking.StatusPending
	for _, i := range order {
		if inherits[i] {
			events[i].Status = prev
		}
		prev = events[i].Status
	}
}

// parseDetail normalizes one TrackingDetail. It reports whether the event
// inherits its status from the event before it (see mapStatus).
func parseDetail(raw json.RawMessage) (tracking.Event, bool, error) {
	if string(raw) == "null" {
		return tracking.Event{}, false, fe("", "is null")
	}
	var d detail
	if err := json.Unmarshal(raw, &d); err != nil {
		return tracking.Event{}, false, detailJSONError(err)
	}
	if d.Status == "" {
		return tracking.Event{}, false, fe("status", "is required")
	}
	st, inherit, err := mapStatus(d.Status, d.StatusDetail)
	if err != nil {
		return tracking.Event{}, false, fe("status", err.Error())
	}
	if strings.TrimSpace(d.Datetime) == "" {
		return tracking.Event{}, false, fe("datetime", "is required")
	}
	at, local, offsetUnknown, err := parseTime(d.Datetime)
	if err != nil {
		return tracking.Event{}, false, fe("datetime", err.Error())
	}
	msg := d.Message
	if strings.TrimSpace(msg) == "" {
		msg = d.Description
	}
	var compact bytes.Buffer
	compact.Grow(len(raw))
	if err := json.Compact(&compact, raw); err != nil {
		return tracking.Event{}, false, detailJSONError(err)
	}
	return tracking.Event{
		Status:          st,
		CarrierStatus:   clip(carrierStatus(d.Status, d.StatusDetail)),
		Message:         clip(msg),
		OccurredAt:      at,
		OccurredAtLocal: local,
		OffsetUnknown:   offsetUnknown,
		Location: tracking.Location{
			City:       clip(d.TrackingLocation.City),
			Region:     clip(d.TrackingLocation.State),
			PostalCode: clip(d.TrackingLocation.Zip),
			Country:    clip(d.TrackingLocation.Country),
		},
		Raw: compact.Bytes(),
	}, inherit, nil
}

// parseTime reads a detail's datetime. EasyPost sends UTC ("Z"), or the
// scan's local time with its offset when it knows the place's zone. A time
// without an offset is read as UTC and marked: it may be off by the place's
// offset, which trackd cannot tell from an EasyPost location.
func parseTime(s string) (at, local time.Time, offsetUnknown bool, err error) {
	s = strings.TrimSpace(s)
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		if t, err = time.ParseInLocation("2006-01-02T15:04:05", s, time.UTC); err != nil {
			return time.Time{}, time.Time{}, false, fmt.Errorf("%q is not an RFC 3339 time", clip(s))
		}
		offsetUnknown = true
	}
	if t.Year() < 2000 {
		return time.Time{}, time.Time{}, false, fmt.Errorf("%q is before 2000", s)
	}
	return t.UTC(), t, offsetUnknown, nil
}

// eta returns the estimated delivery and, on error, the field at fault.
// carrier_detail.est_delivery_date_local is the carrier's own date where the
// parcel goes, so it is preferred. est_delivery_date is an instant, and at
// midnight (as EasyPost writes the dates carriers give, "2024-08-05T00:00:00Z")
// it means that day, not the evening before in America: it is kept as the
// date, so trackd does not call the parcel late a day early.
func (t *tracker) eta() (string, string, error) {
	if t.CarrierDetail != nil {
		if s := strings.TrimSpace(t.CarrierDetail.EstDeliveryDateLocal); s != "" {
			if _, err := time.Parse(time.DateOnly, s); err != nil {
				return "", "carrier_detail.est_delivery_date_local", fmt.Errorf("%q is not a date (2006-01-02)", clip(s))
			}
			return s, "", nil
		}
	}
	s := strings.TrimSpace(t.EstDeliveryDate)
	if s == "" {
		return "", "", nil
	}
	at, err := time.Parse(time.RFC3339, s)
	if err != nil {
		if _, derr := time.Parse(time.DateOnly, s); derr == nil {
			return s, "", nil
		}
		return "", "est_delivery_date", fmt.Errorf("%q is neither an RFC 3339 time nor a date", clip(s))
	}
	if at.Hour() == 0 && at.Minute() == 0 && at.Second() == 0 && at.Nanosecond() == 0 {
		return at.Format(time.DateOnly), "", nil
	}
	return at.UTC().Format(time.RFC3339), "", nil
}

func fe(field, msg string) *tracking.FieldError {
	return &tracking.FieldError{Field: field, Message: msg}
}

// join appends a field name to a path: join("result", "status") is
// "result.status"; either may be empty.
func join(path, field string) string {
	switch {
	case path == "":
		return field
	case field == "":
		return path
	}
	return path + "." + field
}

// jsonError turns a decoding error of the value at path into a FieldError;
// at path "" (the whole body) the field is "body".
func jsonError(path string, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fe(orBody(path), fmt.Sprintf("malformed JSON at byte %d: %v", syn.Offset, err))
	case errors.As(err, &typ):
		return fe(orBody(join(path, typ.Field)), fmt.Sprintf("must be %s, not %s", typeName(typ.Type.Kind().String()), typ.Value))
	default:
		return fe(orBody(path), "malformed JSON: "+err.Error())
	}
}

// detailJSONError is jsonError for a tracking detail, whose fields are
// named relative to the detail ("" is the detail itself).
func detailJSONError(err error) error {
	e := jsonError("", err)
	var f *tracking.FieldError
	if errors.As(e, &f) && f.Field == "body" {
		f.Field = ""
	}
	return e
}

func orBody(field string) string {
	if field == "" {
		return "body"
	}
	return field
}

func typeName(k string) string {
	switch k {
	case "struct", "map":
		return "an object"
	case "slice":
		return "an array"
	}
	return "a " + k
}

// clip trims s and cuts it to maxTextLength bytes, on a rune boundary.
func clip(s string) string {
	s = strings.TrimSpace(s)
	if len(s) <= maxTextLength {
		return s
	}
	cut := maxTextLength
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}
