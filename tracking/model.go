package tracking

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Direction says which way a shipment travels.
type Direction string

const (
	Outbound Direction = "outbound"
	Return   Direction = "return"
)

// Valid reports whether d is a known direction.
func (d Direction) Valid() bool { return d == Outbound || d == Return }

// Location is where a carrier says an event happened. Carriers rarely give
// more than a city; a full street address is never kept.
type Location struct {
	City       string `json:"city,omitempty"`
	Region     string `json:"region,omitempty"`
	PostalCode string `json:"postal_code,omitempty"`
	Country    string `json:"country,omitempty"`
}

// Event is one normalized carrier scan.
type Event struct {
	// ID is the carrier's own event id, when it gives one.
	ID            string `json:"id,omitempty"`
	Status        Status `json:"status"`
	CarrierStatus string `json:"carrier_status,omitempty"`
	Message       string `json:"message,omitempty"`
	// OccurredAt is the instant in UTC; OccurredAtLocal is the same instant
	// in the offset the carrier reported, so pages can show the local time
	// at the scan's location.
	OccurredAt      time.Time `json:"occurred_at"`
	OccurredAtLocal time.Time `json:"occurred_at_local"`
	// OffsetUnknown marks an event whose carrier gave a local time without
	// an offset, at a place whose zone trackd could not tell: the time is
	// then read as UTC, and may be off by the place's offset.
	OffsetUnknown bool     `json:"offset_unknown,omitempty"`
	Location      Location `json:"location,omitzero"`
	// Raw is the carrier's own payload for this event, kept beside the
	// normalized form so a mapping mistake can be corrected later.
	Raw json.RawMessage `json:"raw,omitempty"`
	// Cursor is the shipment stream's entry id, set by the store.
	Cursor string `json:"cursor,omitempty"`
}

// Key identifies the event for de-duplication: the carrier's event id when
// there is one, else a fingerprint of the content that defines the scan.
func (e Event) Key() string {
	if e.ID != "" {
		return "id:" + e.ID
	}
	h := sha256.New()
	for _, part := range []string{
		string(e.Status), e.CarrierStatus, e.Message,
		e.OccurredAt.UTC().Format(time.RFC3339Nano),
		e.Location.City, e.Location.Region, e.Location.PostalCode, e.Location.Country,
	} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return "fp:" + hex.EncodeToString(h.Sum(nil)[:16])
}

// SortKey orders events: by time, then by status progress, then by key.
// It is a string so the Redis script can compare it without floating point,
// and total so the current state never depends on arrival order.
func (e Event) SortKey() string {
	return fmt.Sprintf("%016d|%02d|%s", e.OccurredAt.UnixMilli(), e.Status.Rank(), e.Key())
}

// Update is what one carrier message says about one shipment.
type Update struct {
	Carrier        string
	TrackingNumber string
	// EstimatedDelivery is a date (2006-01-02) or an RFC 3339 instant; empty
	// when the message says nothing about it.
	EstimatedDelivery string
	Events            []Event
	// ReceivedAt is when trackd accepted the message.
	ReceivedAt time.Time
}

// Validate checks what the store relies on, so a faulty adapter's output
// is dead-lettered instead of stored under a meaningless shipment.
func (u Update) Validate() error {
	switch {
	case NormalizeCarrier(u.Carrier) == "":
		return errors.New("no carrier")
	case NormalizeTrackingNumber(u.TrackingNumber) == "":
		return errors.New("no tracking number")
	}
	if u.EstimatedDelivery != "" {
		if err := ParseETA(u.EstimatedDelivery); err != nil {
			return err
		}
	}
	for i, e := range u.Events {
		switch {
		case !e.Status.Valid():
			return fmt.Errorf("event %d: unknown status %q", i, e.Status)
		case e.OccurredAt.IsZero():
			return fmt.Errorf("event %d: no time", i)
		}
	}
	return nil
}

// ShipmentID is the id of the shipment for a carrier and tracking number.
// It is derived, not allocated, so events for a number no order has claimed
// yet land on the same shipment the order will claim later.
func ShipmentID(carrier, trackingNumber string) string {
	sum := sha256.Sum256([]byte(NormalizeCarrier(carrier) + "\x00" + NormalizeTrackingNumber(trackingNumber)))
	return "s_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:15]))
}

// NormalizeCarrier lower-cases and trims a carrier slug.
func NormalizeCarrier(c string) string { return strings.ToLower(strings.TrimSpace(c)) }

// NormalizeTrackingNumber removes the spaces and dashes people and carriers
// put into tracking numbers and upper-cases the rest.
func NormalizeTrackingNumber(n string) string {
	return strings.ToUpper(strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\t' {
			return -1
		}
		return r
	}, n))
}

// Item is a line of an order.
type Item struct {
	SKU      string `json:"sku"`
	Name     string `json:"name,omitempty"`
	Quantity int    `json:"quantity"`
}

// ItemRef says how many of an order's SKU a shipment carries.
type ItemRef struct {
	SKU      string `json:"sku"`
	Quantity int    `json:"quantity"`
}

// Customer is who the order belongs to and how to reach them.
type Customer struct {
	Name       string `json:"name,omitempty"`
	Email      string `json:"email,omitempty"`
	Phone      string `json:"phone,omitempty"`
	PostalCode string `json:"postal_code,omitempty"`
	Locale     string `json:"locale,omitempty"`
	// TimeZone is the shopper's IANA zone ("Europe/Berlin"), for quiet
	// hours; empty means the notifier's default zone.
	TimeZone string `json:"time_zone,omitempty"`
}

// NotifyPrefs are the shopper's opt-ins, as the order brought them.
type NotifyPrefs struct {
	Email bool `json:"email"`
	SMS   bool `json:"sms"`
}

// NotifyInput is the order's "notify" member: absent fields take the
// defaults (email on, SMS off: SMS needs the shopper's explicit consent).
type NotifyInput struct {
	Email *bool `json:"email"`
	SMS   *bool `json:"sms"`
}

// Prefs applies the defaults.
func (n *NotifyInput) Prefs() NotifyPrefs {
	p := NotifyPrefs{Email: true}
	if n == nil {
		return p
	}
	if n.Email != nil {
		p.Email = *n.Email
	}
	if n.SMS != nil {
		p.SMS = *n.SMS
	}
	return p
}

// Order is the retailer's order as the OMS registered it.
type Order struct {
	ID        string          `json:"id"`
	Number    string          `json:"order_number"`
	Token     string          `json:"-"`
	Customer  Customer        `json:"customer"`
	Notify    NotifyPrefs     `json:"notify"`
	Items     []Item          `json:"items"`
	Shipments []ShipmentClaim `json:"shipments"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
	// CancelledAt is when the OMS cancelled the order (nil while it
	// stands), and CancelReason what it said. A cancelled order's status is
	// "cancelled", its shopper gets no more notifications and its
	// shipments are no longer polled.
	CancelledAt  *time.Time `json:"cancelled_at,omitempty"`
	CancelReason string     `json:"cancel_reason,omitempty"`
}

// ShipmentClaim is an order's statement that a carrier's tracking number
// carries some of its items.
type ShipmentClaim struct {
	ID             string    `json:"id"`
	Carrier        string    `json:"carrier"`
	TrackingNumber string    `json:"tracking_number"`
	Direction      Direction `json:"direction"`
	Items          []ItemRef `json:"items"`
}

// ETA is a shipment's estimated delivery with its history: what the carrier
// first promised and what it says now.
type ETA struct {
	First  string `json:"first"`
	Latest string `json:"latest"`
}

// Shipment is a shipment's current state and, when asked for, its history.
type Shipment struct {
	ID             string    `json:"id"`
	Carrier        string    `json:"carrier"`
	TrackingNumber string    `json:"tracking_number"`
	OrderID        string    `json:"order_id,omitempty"`
	Direction      Direction `json:"direction"`
	Items          []ItemRef `json:"items"`
	Status         Status    `json:"status"`
	// StatusEvent is the event the current status comes from: the newest.
	StatusEvent       *Event    `json:"status_event,omitempty"`
	EstimatedDelivery *ETA      `json:"estimated_delivery"`
	Delayed           bool      `json:"delayed"`
	EventCount        int       `json:"event_count"`
	Cursor            string    `json:"cursor"`
	CreatedAt         time.Time `json:"created_at"`
	UpdatedAt         time.Time `json:"updated_at"`
	// LastCheckedAt is when the poll scheduler last asked the carrier, and
	// NextCheckAt when it will ask next; both nil for a shipment that is
	// not polled (its carrier has no poller configured, or it is finished).
	LastCheckedAt *time.Time `json:"last_checked_at"`
	NextCheckAt   *time.Time `json:"next_check_at"`
	// Events is the history in time order, oldest first.
	Events []Event `json:"events,omitempty"`
}
