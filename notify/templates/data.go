package templates

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/trackd/trackd/notify"
	pages "github.com/trackd/trackd/templates"
)

// Data is what a template can read, as the variables documented in the
// package comment. Text fields ending in Text are in the message's
// language: Localized fills them.
type Data struct {
	Store          StoreInfo
	Order          Order
	Customer       Customer
	Shipment       Shipment
	UnsubscribeURL string
}

// StoreInfo is the retailer sending the message.
type StoreInfo struct {
	Name         string
	URL          string
	SupportEmail string
}

// Order is the shopper's order.
type Order struct {
	Number      string
	Items       []Item
	TrackingURL string
	// ShipmentCount is how many packages the order ships in.
	ShipmentCount int
}

// Item is a line of the order.
type Item struct {
	Name     string
	SKU      string
	Quantity int
}

// Customer is the shopper.
type Customer struct {
	FirstName string
}

// Shipment is the package the message is about; for order-level triggers
// (arriving_soon, all_delivered) the one that moved last.
type Shipment struct {
	Carrier        string // slug: "ups"
	CarrierName    string // "UPS"
	TrackingNumber string
	Status         string // tracking status: "in_transit"
	StatusText     string // the status in the message's language
	// EstimatedDelivery is the carrier's estimate, a date (2026-11-27) or
	// an RFC 3339 instant; empty when there is none.
	EstimatedDelivery     string
	EstimatedDeliveryText string // "Friday, 27 November"
	Delayed               bool
	LatestEvent           Event
	TrackingURL           string
}

// Event is a carrier scan.
type Event struct {
	Message  string
	Location string // "Louisville, KY, US"
	Time     string // in the message's language; Localized writes it from At
	// At is when the scan happened, in the scan's own time zone; it is not
	// a template variable.
	At time.Time
}

// Localized returns d with its texts written in locale: the status, the
// estimated delivery date and the latest scan's time, each only where d
// does not already have one.
func (d Data) Localized(locale string) Data {
	lang := pages.Lang(baseLocale(locale))
	s := &d.Shipment
	if s.StatusText == "" && s.Status != "" {
		s.StatusText = StatusText(locale, s.Status)
	}
	if s.EstimatedDeliveryText == "" && s.EstimatedDelivery != "" {
		s.EstimatedDeliveryText = DateText(locale, s.EstimatedDelivery)
	}
	if s.LatestEvent.Time == "" && !s.LatestEvent.At.IsZero() {
		s.LatestEvent.Time = pages.FormatDateTime(lang, s.LatestEvent.At)
	}
	return d
}

// StatusText is a tracking status in locale, in the tracking page's words
// ("Out for delivery", "En reparto").
func StatusText(locale, status string) string {
	key := "status." + status
	if t := pages.Lang(baseLocale(locale)).T(key); t != key {
		return t
	}
	return strings.ReplaceAll(status, "_", " ")
}

var (
	weekdays = map[string][7]string{
		"en": {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"},
		"es": {"domingo", "lunes", "martes", "miércoles", "jueves", "viernes", "sábado"},
		"fr": {"dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"},
		"de": {"Sonntag", "Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag"},
	}
	months = map[string][12]string{
		"en": {"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"},
		"es": {"enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre"},
		"fr": {"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"},
		"de": {"Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"},
	}
)

// DateText writes a delivery date (2006-01-02, or an RFC 3339 instant's
// own date) with its weekday in locale: "Friday, 27 November", "viernes,
// 27 de noviembre", "vendredi 27 novembre", "Freitag, 27. November". It
// is "" when date is not one.
func DateText(locale, date string) string {
	t, ok := pages.ParseETA(date)
	if !ok {
		return ""
	}
	l := baseLocale(locale)
	wd, mon, day := weekdays[l][t.Weekday()], months[l][t.Month()-1], t.Day()
	switch l {
	case "es":
		return fmt.Sprintf("%s, %d de %s", wd, day, mon)
	case "fr":
		return fmt.Sprintf("%s %d %s", wd, day, mon)
	case "de":
		return fmt.Sprintf("%s, %d. %s", wd, day, mon)
	default:
		return fmt.Sprintf("%s, %d %s", wd, day, mon)
	}
}

// baseLocale is the shipped locale locale falls back to: itself, its
// language ("es-MX" → "es"), or notify.DefaultLocale.
func baseLocale(locale string) string {
	for _, l := range localeChain(locale) {
		if knownLocale(l) {
			return l
		}
	}
	return notify.DefaultLocale
}

// localeChain is where a locale's template is looked for, in order: the
// locale, its language, the default locale.
func localeChain(locale string) []string {
	chain := []string{}
	add := func(l string) {
		for _, c := range chain {
			if c == l {
				return
			}
		}
		chain = append(chain, l)
	}
	if locale != "" {
		add(locale)
	}
	if lang, _, ok := strings.Cut(strings.ReplaceAll(locale, "_", "-"), "-"); ok && lang != "" {
		add(strings.ToLower(lang))
	} else if locale != "" {
		add(strings.ToLower(locale))
	}
	add(notify.DefaultLocale)
	return chain
}

func knownLocale(l string) bool {
	for _, k := range notify.Locales {
		if k == l {
			return true
		}
	}
	return false
}

// bindings are d as Liquid variables. Empty strings are nil, so that
// {% if shipment.estimated_delivery %} means "if there is one", as
// marketers expect (in Liquid an empty string is true).
func (d Data) bindings() map[string]any {
	items := make([]any, len(d.Order.Items))
	for i, it := range d.Order.Items {
		items[i] = map[string]any{"name": str(it.Name), "sku": str(it.SKU), "quantity": it.Quantity}
	}
	s := d.Shipment
	return map[string]any{
		"store": map[string]any{
			"name":          str(d.Store.Name),
			"url":           str(d.Store.URL),
			"support_email": str(d.Store.SupportEmail),
		},
		"order": map[string]any{
			"number":         str(d.Order.Number),
			"items":          items,
			"tracking_url":   str(d.Order.TrackingURL),
			"shipment_count": d.Order.ShipmentCount,
		},
		"customer": map[string]any{
			"first_name": str(d.Customer.FirstName),
		},
		"shipment": map[string]any{
			"carrier":                 str(s.Carrier),
			"carrier_name":            str(s.CarrierName),
			"tracking_number":         str(s.TrackingNumber),
			"status":                  str(s.Status),
			"status_text":             str(s.StatusText),
			"estimated_delivery":      str(s.EstimatedDelivery),
			"estimated_delivery_text": str(s.EstimatedDeliveryText),
			"delayed":                 s.Delayed,
			"latest_event": map[string]any{
				"message":  str(s.LatestEvent.Message),
				"location": str(s.LatestEvent.Location),
				"time":     str(s.LatestEvent.Time),
			},
			"tracking_url": str(s.TrackingURL),
		},
		"unsubscribe_url": str(d.UnsubscribeURL),
	}
}

func str(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// shape is the form of a variable: an object's fields, an array's
// element, or a plain value.
type shape struct {
	fields map[string]*shape
	elem   *shape
	array  bool
	any    bool // a local whose form is unknown: any property may exist
}

var (
	scalarShape  = &shape{}
	anyShape     = &shape{any: true}
	forloopShape = &shape{fields: map[string]*shape{
		"first": scalarShape, "last": scalarShape, "index": scalarShape, "index0": scalarShape,
		"rindex": scalarShape, "rindex0": scalarShape, "length": scalarShape,
	}}
)

// shapeOf describes v, which must have an element in every array (sample
// data does), so the elements' fields are known.
func shapeOf(v any) *shape {
	rv := reflect.ValueOf(v)
	if !rv.IsValid() {
		return scalarShape
	}
	switch rv.Kind() {
	case reflect.Map:
		s := &shape{fields: map[string]*shape{}}
		for _, k := range rv.MapKeys() {
			s.fields[k.String()] = shapeOf(rv.MapIndex(k).Interface())
		}
		return s
	case reflect.Slice, reflect.Array:
		s := &shape{array: true, elem: scalarShape}
		if rv.Len() > 0 {
			s.elem = shapeOf(rv.Index(0).Interface())
		}
		return s
	}
	return scalarShape
}

// lookup follows path from s: the shape found, or how much of the path
// exists before the first unknown segment.
func (s *shape) lookup(path []string) (*shape, int) {
	cur := s
	for i, seg := range path {
		switch {
		case cur.any:
			return anyShape, len(path)
		case cur.array:
			switch {
			case seg == "size":
				cur = scalarShape
			case seg == "first" || seg == "last" || isIndex(seg):
				cur = cur.elem
			default:
				return nil, i
			}
		case cur.fields != nil:
			if f, ok := cur.fields[seg]; ok {
				cur = f
			} else if seg == "size" {
				cur = scalarShape
			} else {
				return nil, i
			}
		default: // a string or number: only a string's size
			if seg != "size" {
				return nil, i
			}
		}
	}
	return cur, len(path)
}

func isIndex(seg string) bool {
	if seg == "" {
		return false
	}
	for i, r := range seg {
		if !(r >= '0' && r <= '9' || r == '-' && i == 0) {
			return false
		}
	}
	return true
}

// Variables lists every documented variable path, as templates write
// them ("shipment.latest_event.message", "order.items[].name").
func Variables() []string {
	var out []string
	var walk func(prefix string, s *shape)
	walk = func(prefix string, s *shape) {
		switch {
		case s.array:
			out = append(out, prefix)
			walk(prefix+"[]", s.elem)
		case s.fields != nil:
			for k, f := range s.fields {
				p := k
				if prefix != "" {
					p = prefix + "." + k
				}
				walk(p, f)
			}
		default:
			out = append(out, prefix)
		}
	}
	walk("", shapeOf(SampleData(notify.DefaultLocale, "in_transit", false, false).bindings()))
	sort.Strings(out)
	return out
}
