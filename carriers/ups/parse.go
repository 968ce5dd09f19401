package ups

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/trackd/trackd/carriers"
	"github.com/trackd/trackd/carriers/zones"
	"github.com/trackd/trackd/tracking"
)

// MaxActivities bounds the activities of one package, so that a broken
// answer cannot make one message cost unbounded work. Real packages have
// tens; UPS keeps 120 days of them.
const MaxActivities = 1000

// maxTrackingNumber bounds a tracking number: UPS's are 7 to 34
// characters (Tracking.yaml, inquiryNumber).
const maxTrackingNumber = 64

// apiStatus is an activity's status: activityStatus of Track Alert,
// activity[].status of the Track API. The description code is
// descriptionCode in the first, statusCode in the second.
type apiStatus struct {
	Type            text `json:"type"`
	Code            text `json:"code"`
	Description     text `json:"description"`
	DescriptionCode text `json:"descriptionCode"`
	StatusCode      text `json:"statusCode"`
}

func (s *apiStatus) descriptionCode() text {
	if s.DescriptionCode != "" {
		return s.DescriptionCode
	}
	return s.StatusCode
}

// alertEvent is a Track Alert webhook body (UPSTrackAlert.yaml,
// TrackingEventRequest): one activity of one package. Only what trackd uses
// is decoded.
type alertEvent struct {
	TrackingNumber        text       `json:"trackingNumber"`
	LocalActivityDate     text       `json:"localActivityDate"`
	LocalActivityTime     text       `json:"localActivityTime"`
	GMTActivityDate       text       `json:"gmtActivityDate"`
	GMTActivityTime       text       `json:"gmtActivityTime"`
	GMTOffset             text       `json:"gmtOffset"`
	ActivityLocation      *address   `json:"activityLocation"`
	ActivityStatus        *apiStatus `json:"activityStatus"`
	ScheduledDeliveryDate text       `json:"scheduledDeliveryDate"`
	ActualDeliveryDate    text       `json:"actualDeliveryDate"`
	DeliveryPhoto         text       `json:"deliveryPhoto"`
}

// address is a place as UPS writes it: activityLocation of Track Alert,
// activity[].location.address of the Track API. Street lines are not
// decoded: trackd keeps no street address.
type address struct {
	City          text `json:"city"`
	StateProvince text `json:"stateProvince"`
	PostalCode    text `json:"postalCode"`
	CountryCode   text `json:"countryCode"`
	Country       text `json:"country"`
}

func (a *address) location() tracking.Location {
	if a == nil {
		return tracking.Location{}
	}
	country := a.CountryCode.Trim()
	if country == "" {
		country = a.Country.Trim()
	}
	return tracking.Location{
		City:       a.City.Trim(),
		Region:     a.StateProvince.Trim(),
		PostalCode: a.PostalCode.Trim(),
		Country:    strings.ToUpper(country),
	}
}

// parseWebhook parses a Track Alert post: one update for its package,
// with one event for its activity (none for a U or NA activity, whose news
// is the estimate alone), or no update when the post has neither an event
// nor an estimate. Track Alert has no other kind of post.
func parseWebhook(body []byte) ([]tracking.Update, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, errors.New("webhook body is empty")
	}
	var ev alertEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		return nil, fmt.Errorf("webhook body: %w", jsonError(err))
	}
	u := tracking.Update{
		Carrier:           Slug,
		TrackingNumber:    tracking.NormalizeTrackingNumber(ev.TrackingNumber.Trim()),
		EstimatedDelivery: firstDate(ev.ScheduledDeliveryDate, ev.ActualDeliveryDate),
	}
	switch {
	case u.TrackingNumber == "":
		return nil, errors.New(`webhook body has no "trackingNumber": not a UPS Track Alert event`)
	case len(u.TrackingNumber) > maxTrackingNumber:
		return nil, fmt.Errorf("trackingNumber is %d characters long, more than %d", len(u.TrackingNumber), maxTrackingNumber)
	}
	if ev.ActivityStatus == nil {
		return news(u), nil
	}
	s := ev.ActivityStatus
	st, ok := StatusOf(string(s.Type), string(s.Code), string(s.descriptionCode()))
	if !ok {
		return news(u), nil
	}
	loc := ev.ActivityLocation.location()
	when, err := eventTime(loc,
		field{"localActivityDate", ev.LocalActivityDate}, field{"localActivityTime", ev.LocalActivityTime},
		field{"gmtActivityDate", ev.GMTActivityDate}, field{"gmtActivityTime", ev.GMTActivityTime},
		field{"gmtOffset", ev.GMTOffset})
	if err != nil {
		return nil, err
	}
	raw, err := webhookRaw(body, ev.DeliveryPhoto != "")
	if err != nil {
		return nil, err
	}
	u.Events = []tracking.Event{newEvent(s, st, loc, when, ev.LocalActivityDate, ev.LocalActivityTime, raw)}
	return []tracking.Update{u}, nil
}

// news returns u alone, or nothing when it says nothing: no event and no
// estimate.
func news(u tracking.Update) []tracking.Update {
	if len(u.Events) == 0 && u.EstimatedDelivery == "" {
		return nil
	}
	return []tracking.Update{u}
}

// webhookRaw is the event's Raw: the body, compacted. A delivery photo (a
// base64 image, in enhanced subscriptions) is left out: it is no tracking
// data, it is large, and it shows the consignee's door.
func webhookRaw(body []byte, hasPhoto bool) (json.RawMessage, error) {
	if !hasPhoto {
		return compact(body)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		return nil, fmt.Errorf("webhook body: %w", jsonError(err))
	}
	delete(obj, "deliveryPhoto")
	return json.Marshal(obj)
}

func compact(b []byte) (json.RawMessage, error) {
	var buf bytes.Buffer
	buf.Grow(len(b))
	if err := json.Compact(&buf, b); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// trackAnswer is a Track API answer: trackResponse on success,
// response.errors on failure.
type trackAnswer struct {
	TrackResponse *struct {
		Shipment []apiShipment `json:"shipment"`
	} `json:"trackResponse"`
	Response *struct {
		Errors []apiMessage `json:"errors"`
	} `json:"response"`
}

type apiShipment struct {
	InquiryNumber text         `json:"inquiryNumber"`
	Package       []apiPackage `json:"package"`
	Warnings      []apiMessage `json:"warnings"`
}

type apiMessage struct {
	Code    text `json:"code"`
	Message text `json:"message"`
}

type apiPackage struct {
	TrackingNumber text `json:"trackingNumber"`
	// Activities are kept raw: each is decoded on its own and kept,
	// compacted, as its event's Raw.
	Activity     []json.RawMessage `json:"activity"`
	DeliveryDate []struct {
		Type text `json:"type"`
		Date text `json:"date"`
	} `json:"deliveryDate"`
}

type apiActivity struct {
	Date      text       `json:"date"`
	Time      text       `json:"time"`
	GMTDate   text       `json:"gmtDate"`
	GMTTime   text       `json:"gmtTime"`
	GMTOffset text       `json:"gmtOffset"`
	Status    *apiStatus `json:"status"`
	Location  *struct {
		Address *address `json:"address"`
	} `json:"location"`
}

// parsePoll parses a Track API answer: one update per package of every
// shipment, but for packages with neither an event nor an estimate. A
// shipment without packages (UPS's "not found" comes as a shipment with
// only warnings) gives none.
func parsePoll(body []byte) ([]tracking.Update, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, errors.New("poll answer is empty")
	}
	var ans trackAnswer
	if err := json.Unmarshal(body, &ans); err != nil {
		return nil, fmt.Errorf("poll answer: %w", jsonError(err))
	}
	if ans.Response != nil && len(ans.Response.Errors) > 0 {
		e := ans.Response.Errors[0]
		return nil, fmt.Errorf("poll answer is an error: %s %s", e.Code.Trim(), e.Message.Trim())
	}
	if ans.TrackResponse == nil {
		return nil, errors.New(`poll answer has no "trackResponse": not a UPS Track API answer`)
	}
	var us []tracking.Update
	for i, sh := range ans.TrackResponse.Shipment {
		for j := range sh.Package {
			path := fmt.Sprintf("shipment[%d].package[%d]", i, j)
			u, err := parsePackage(&sh.Package[j], sh.InquiryNumber, path)
			if err != nil {
				return nil, err
			}
			us = append(us, news(u)...)
		}
	}
	return us, nil
}

// parsePackage turns one package into an update; path names it in errors.
func parsePackage(p *apiPackage, inquiry text, path string) (tracking.Update, error) {
	number := p.TrackingNumber.Trim()
	if number == "" {
		number = inquiry.Trim()
	}
	u := tracking.Update{
		Carrier:           Slug,
		TrackingNumber:    tracking.NormalizeTrackingNumber(number),
		EstimatedDelivery: packageETA(p),
	}
	switch {
	case u.TrackingNumber == "":
		return u, fmt.Errorf("%s has no trackingNumber", path)
	case len(u.TrackingNumber) > maxTrackingNumber:
		return u, fmt.Errorf("%s.trackingNumber is %d characters long, more than %d", path, len(u.TrackingNumber), maxTrackingNumber)
	case len(p.Activity) > MaxActivities:
		return u, fmt.Errorf("%s: %d activities, more than %d", path, len(p.Activity), MaxActivities)
	}
	u.Events = make([]tracking.Event, 0, len(p.Activity))
	for i, raw := range p.Activity {
		e, ok, err := parseActivity(raw)
		if err != nil {
			return u, fmt.Errorf("%s.activity[%d]: %w", path, i, err)
		}
		if ok {
			u.Events = append(u.Events, e)
		}
	}
	return u, nil
}

// parseActivity turns one activity into an event; ok is false for an
// activity that gives none (see StatusOf).
func parseActivity(raw json.RawMessage) (e tracking.Event, ok bool, err error) {
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return e, false, errors.New("is null, not an activity")
	}
	var a apiActivity
	if err := json.Unmarshal(raw, &a); err != nil {
		return e, false, jsonError(err)
	}
	if a.Status == nil {
		return e, false, nil
	}
	st, ok := StatusOf(string(a.Status.Type), string(a.Status.Code), string(a.Status.descriptionCode()))
	if !ok {
		return e, false, nil
	}
	var loc tracking.Location
	if a.Location != nil {
		loc = a.Location.Address.location()
	}
	when, err := eventTime(loc,
		field{"date", a.Date}, field{"time", a.Time},
		field{"gmtDate", a.GMTDate}, field{"gmtTime", a.GMTTime},
		field{"gmtOffset", a.GMTOffset})
	if err != nil {
		return e, false, err
	}
	c, err := compact(raw)
	if err != nil {
		return e, false, err
	}
	return newEvent(a.Status, st, loc, when, a.Date, a.Time, c), true, nil
}

// newEvent builds the event of one activity.
func newEvent(s *apiStatus, st tracking.Status, loc tracking.Location, when eventWhen, date, clock text, raw json.RawMessage) tracking.Event {
	cs := carrierStatus(string(s.Type), string(s.Code), string(s.descriptionCode()))
	msg := s.Description.Trim()
	if msg == "" {
		msg = descriptionText(string(s.descriptionCode()))
	}
	return tracking.Event{
		ID:              eventID(cs, date, clock),
		Status:          st,
		CarrierStatus:   cs,
		Message:         msg,
		OccurredAt:      when.at,
		OccurredAtLocal: when.local,
		OffsetUnknown:   when.unknown,
		Location:        loc,
		Raw:             raw,
	}
}

// eventID identifies a scan by its code and its local wall time:
// "I/OT@20240423T091519". UPS gives its activities no id, and Track Alert
// and the Track API describe the same scan in different words ("Out for
// Delivery", "Out For Delivery Today"), so trackd's content fingerprint
// would store a scan reported both ways twice; the code and the local time
// are what the two share. It is "" (fingerprinting) without a local date.
func eventID(carrierStatus string, date, clock text) string {
	d, c := date.Trim(), clock.Trim()
	if carrierStatus == "" || d == "" {
		return ""
	}
	if len(c) < 6 {
		c = strings.Repeat("0", 6-len(c)) + c
	}
	return carrierStatus + "@" + d + "T" + c
}

// packageETA is the package's estimated delivery date: the rescheduled
// date (RDD) over the scheduled one (SDD), and once delivered the delivery
// date (DEL), which is what the estimate has come to. Types Tracking.yaml
// does not list and dates that do not parse are skipped, not fatal: the
// events matter more, and the raw answer keeps them.
func packageETA(p *apiPackage) string {
	byType := map[string]text{}
	for _, d := range p.DeliveryDate {
		t := strings.ToUpper(d.Type.Trim())
		if _, seen := byType[t]; !seen && isoDate(d.Date) != "" {
			byType[t] = d.Date
		}
	}
	return firstDate(byType["RDD"], byType["SDD"], byType["DEL"])
}

// firstDate returns the first of dates (YYYYMMDD) that parses, as
// 2006-01-02, or "".
func firstDate(dates ...text) string {
	for _, d := range dates {
		if s := isoDate(d); s != "" {
			return s
		}
	}
	return ""
}

func isoDate(d text) string {
	t, err := time.Parse("20060102", d.Trim())
	if err != nil || t.Year() < 2000 {
		return ""
	}
	return t.Format(time.DateOnly)
}

// field is a named value, for error messages.
type field struct {
	name  string
	value text
}

// eventWhen is when an activity happened, as tracking.Event holds it.
type eventWhen struct {
	at, local time.Time
	unknown   bool
}

// eventTime resolves an activity's time (see the package comment, Times).
// The GMT time, when given, is the instant. The local time's offset is
// then gmtOffset, or the local time's difference from the GMT time when
// that is a real offset, or the zone of the place; failing all three the
// instant is shown in UTC: it is exact, only its local offset is not
// known. Without a GMT time, the local wall time is read in gmtOffset or
// in the place's zone, and failing both as UTC, marked unknown.
func eventTime(loc tracking.Location, date, clock, gmtDate, gmtClock, offset field) (eventWhen, error) {
	var wall time.Time
	hasWall := date.value.Trim() != ""
	if hasWall {
		var err error
		if wall, err = parseWall(date, clock); err != nil {
			return eventWhen{}, err
		}
	}
	off, hasOffset := parseOffset(offset.value.Trim())
	if gmtDate.value.Trim() != "" && gmtClock.value.Trim() != "" {
		at, err := parseWall(gmtDate, gmtClock)
		if err != nil {
			return eventWhen{}, err
		}
		switch {
		case hasOffset:
			return eventWhen{at: at, local: at.In(time.FixedZone("", off))}, nil
		case hasWall && plausibleOffset(wall.Sub(at)):
			return eventWhen{at: at, local: at.In(time.FixedZone("", int(wall.Sub(at)/time.Second)))}, nil
		}
		if z, ok := zones.Lookup(loc.Country, loc.Region); ok {
			return eventWhen{at: at, local: at.In(z)}, nil
		}
		return eventWhen{at: at, local: at}, nil
	}
	switch {
	case !hasWall:
		return eventWhen{}, fmt.Errorf("no %s: the activity has no date", date.name)
	case hasOffset:
		local := time.Date(wall.Year(), wall.Month(), wall.Day(), wall.Hour(), wall.Minute(), wall.Second(), 0, time.FixedZone("", off))
		return eventWhen{at: local.UTC(), local: local}, nil
	}
	at, local, unknown := zones.Place(wall, loc)
	return eventWhen{at: at, local: local, unknown: unknown}, nil
}

// parseWall reads a YYYYMMDD date and an HHMMSS time as wall-clock fields
// in UTC. The time may have lost its leading zeros ("74700", Tracking.yaml's
// own gmtTime example) and is left-padded; a missing time is midnight.
func parseWall(date, clock field) (time.Time, error) {
	d, c := date.value.Trim(), clock.value.Trim()
	if len(d) != 8 || !digits(d) {
		return time.Time{}, fmt.Errorf("%s %q is not a YYYYMMDD date", date.name, d)
	}
	if len(c) > 6 || (c != "" && !digits(c)) {
		return time.Time{}, fmt.Errorf("%s %q is not an HHMMSS time", clock.name, c)
	}
	c = strings.Repeat("0", 6-len(c)) + c
	t, err := time.ParseInLocation("20060102150405", d+c, time.UTC)
	switch {
	case err != nil:
		return time.Time{}, fmt.Errorf("%s %q %s %q is not a valid time", date.name, d, clock.name, c)
	case t.Year() < 2000:
		return time.Time{}, fmt.Errorf("%s %q is before 2000", date.name, d)
	}
	return t, nil
}

// parseOffset reads a UTC offset as UPS writes it: "-05:00" (Track API),
// "-04.00" (Track Alert's (-/+)HH.MM), or "-0500", in seconds.
func parseOffset(s string) (int, bool) {
	if len(s) < 2 || (s[0] != '+' && s[0] != '-') {
		return 0, false
	}
	sign, rest := 1, s[1:]
	if s[0] == '-' {
		sign = -1
	}
	h, m, sep := rest, "", false
	if i := strings.IndexAny(rest, ":."); i >= 0 {
		h, m, sep = rest[:i], rest[i+1:], true
	} else if len(rest) == 4 {
		h, m = rest[:2], rest[2:]
	}
	if h == "" || len(h) > 2 || !digits(h) || (sep || m != "") && (len(m) != 2 || !digits(m)) {
		return 0, false
	}
	hh := int(h[0] - '0')
	if len(h) == 2 {
		hh = hh*10 + int(h[1]-'0')
	}
	mm := 0
	if m != "" {
		mm = int(m[0]-'0')*10 + int(m[1]-'0')
	}
	off := hh*3600 + mm*60
	if mm >= 60 || off > 14*3600 {
		return 0, false
	}
	return sign * off, true
}

// plausibleOffset reports whether d, a local time's difference from GMT,
// is an offset some zone has: at most 14 hours, in quarter hours. UPS's
// own examples are not always consistent, and an implausible difference
// says nothing about the zone.
func plausibleOffset(d time.Duration) bool {
	return d >= -14*time.Hour && d <= 14*time.Hour && d%(15*time.Minute) == 0
}

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
		f := typ.Field
		if f == "" {
			f = "value"
		}
		return fmt.Errorf("%s: want %s, not %s", f, kindName(typ.Type.Kind().String()), article(typ.Value))
	}
	return err
}

// kindName names a Go kind the way JSON would.
func kindName(k string) string {
	switch k {
	case "struct", "map", "ptr":
		return "an object"
	case "slice", "array":
		return "an array"
	case "string":
		return "a string"
	case "bool":
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
