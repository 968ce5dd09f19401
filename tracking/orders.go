package tracking

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// FieldError says which field of an input is wrong and why.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

func fieldErr(field, format string, a ...any) error {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, a...)}
}

// FieldErrors are every wrong field of one input, in the input's order.
// errors.As finds the first as a *FieldError.
type FieldErrors []*FieldError

func (es FieldErrors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

func (es FieldErrors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

func (es *FieldErrors) add(field, format string, a ...any) {
	*es = append(*es, &FieldError{Field: field, Message: fmt.Sprintf(format, a...)})
}

// addAll adds the field errors in err (nil adds nothing).
func (es *FieldErrors) addAll(err error) {
	var many FieldErrors
	var one *FieldError
	switch {
	case errors.As(err, &many):
		*es = append(*es, many...)
	case errors.As(err, &one):
		*es = append(*es, one)
	}
}

// Err is nil without errors, the FieldError when there is one, and the
// list when there are more.
func (es FieldErrors) Err() error {
	switch len(es) {
	case 0:
		return nil
	case 1:
		return es[0]
	}
	return es
}

// OrderInput is an order as the OMS registers it.
type OrderInput struct {
	Number    string          `json:"order_number"`
	Customer  Customer        `json:"customer"`
	Notify    *NotifyInput    `json:"notify"`
	Items     []Item          `json:"items"`
	Shipments []ShipmentInput `json:"shipments"`
}

// ShipmentInput is a shipment the OMS attaches to an order.
type ShipmentInput struct {
	Carrier        string    `json:"carrier"`
	TrackingNumber string    `json:"tracking_number"`
	Direction      Direction `json:"direction"`
	Items          []ItemRef `json:"items"`
}

// Validate checks an order input, naming every wrong field: a FieldError
// for one, FieldErrors for several.
func (in *OrderInput) Validate() error {
	var errs FieldErrors
	in.Number = strings.TrimSpace(in.Number)
	switch {
	case in.Number == "":
		errs.add("order_number", "is required")
	case len(in.Number) > 128:
		errs.add("order_number", "is longer than 128 characters")
	}
	errs.addAll(in.Customer.Validate())
	ordered, known := map[string]int{}, map[string]bool{}
	for i, it := range in.Items {
		switch {
		case it.SKU == "":
			errs.add(fmt.Sprintf("items[%d].sku", i), "is required")
		case it.Quantity < 1:
			errs.add(fmt.Sprintf("items[%d].quantity", i), "must be at least 1")
		}
		ordered[it.SKU] += max(it.Quantity, 0)
		known[it.SKU] = true
	}
	returned := map[string]int{}
	seen := map[string]bool{}
	for i := range in.Shipments {
		sh := &in.Shipments[i]
		f := fmt.Sprintf("shipments[%d]", i)
		sh.Carrier = NormalizeCarrier(sh.Carrier)
		if sh.Direction == "" {
			sh.Direction = Outbound
		}
		if sh.Carrier == "" {
			errs.add(f+".carrier", "is required")
		}
		switch {
		case NormalizeTrackingNumber(sh.TrackingNumber) == "":
			errs.add(f+".tracking_number", "is required")
		case len(sh.TrackingNumber) > 64:
			errs.add(f+".tracking_number", "is longer than 64 characters")
		case sh.Carrier != "":
			id := ShipmentID(sh.Carrier, sh.TrackingNumber)
			if seen[id] {
				errs.add(f+".tracking_number", "%s %s is listed twice", sh.Carrier, sh.TrackingNumber)
			}
			seen[id] = true
		}
		if !sh.Direction.Valid() {
			errs.add(f+".direction", "%q is not outbound or return", sh.Direction)
		}
		for j, it := range sh.Items {
			switch {
			case !known[it.SKU]:
				errs.add(fmt.Sprintf("%s.items[%d].sku", f, j), "%q is not an item of the order", it.SKU)
				continue
			case it.Quantity < 1:
				errs.add(fmt.Sprintf("%s.items[%d].quantity", f, j), "must be at least 1")
				continue
			}
			// A return takes back what was ordered, never more: more is a
			// mistake in the return's items (outbound over-shipping is
			// reported by CheckFulfillment instead: it happens).
			if sh.Direction == Return {
				if returned[it.SKU] += it.Quantity; returned[it.SKU] > ordered[it.SKU] {
					errs.add(fmt.Sprintf("%s.items[%d].quantity", f, j),
						"returns take back %d of %q in all, more than the %d ordered", returned[it.SKU], it.SKU, ordered[it.SKU])
				}
			}
		}
	}
	return errs.Err()
}

// Validate checks the contact details, naming every wrong field.
func (c Customer) Validate() error {
	var errs FieldErrors
	if e := c.Email; e != "" {
		if _, err := mail.ParseAddress(e); err != nil {
			errs.add("customer.email", "%q is not an email address", e)
		}
	}
	if z := c.TimeZone; z != "" {
		if _, err := time.LoadLocation(z); err != nil || z == "Local" {
			errs.add("customer.time_zone", "%q is not an IANA time zone like Europe/Berlin", z)
		}
	}
	for _, f := range []struct{ name, v string }{{"name", c.Name}, {"email", c.Email}, {"phone", c.Phone},
		{"postal_code", c.PostalCode}, {"locale", c.Locale}, {"time_zone", c.TimeZone}} {
		if len(f.v) > 256 {
			errs.add("customer."+f.name, "is longer than 256 characters")
		}
	}
	return errs.Err()
}

func (s *Store) orderKey(id string) string { return s.cfg.Prefix + "{" + id + "}" }

func (s *Store) orderNumberKey(number string) string {
	sum := sha256.Sum256([]byte(number))
	return s.cfg.Prefix + "{on:" + hex.EncodeToString(sum[:16]) + "}"
}

func (s *Store) tokenKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return s.cfg.Prefix + "{t:" + hex.EncodeToString(sum[:16]) + "}"
}

func randomID(prefix string, n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return prefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)), nil
}

// newToken returns a tracking-page token: 128 random bits.
func newToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// PutOrder creates the order, or replaces the one with the same order
// number, and claims its shipments. created says which. It is idempotent:
// the same input twice is the same order with the same id and token, and a
// retry after a failure half-way completes the work.
func (s *Store) PutOrder(ctx context.Context, in OrderInput, now time.Time) (Order, bool, error) {
	if err := in.Validate(); err != nil {
		return Order{}, false, err
	}
	newID, err := randomID("o_", 10)
	if err != nil {
		return Order{}, false, fmt.Errorf("order id: %w", err)
	}
	numKey := s.orderNumberKey(in.Number)
	reserved, err := s.rdb.SetNX(ctx, numKey, newID, 0).Result()
	if err != nil {
		return Order{}, false, fmt.Errorf("reserve order number %q: %w", in.Number, err)
	}
	id, err := s.rdb.Get(ctx, numKey).Result()
	if err != nil {
		return Order{}, false, fmt.Errorf("read order number %q: %w", in.Number, err)
	}
	o, err := s.Order(ctx, id)
	if errors.Is(err, ErrNotFound) && !reserved {
		// Another request reserved the number and is writing the order
		// now: wait for it, so that one request creates the order (one
		// 201, one tracking link) and the others update it. If it never
		// appears (that request died between the two writes), this one
		// creates it.
		for wait := 10 * time.Millisecond; wait <= 640*time.Millisecond && errors.Is(err, ErrNotFound); wait *= 2 {
			select {
			case <-ctx.Done():
				return Order{}, false, fmt.Errorf("wait for order %q: %w", in.Number, ctx.Err())
			case <-time.After(wait):
			}
			o, err = s.Order(ctx, id)
		}
	}
	created := errors.Is(err, ErrNotFound)
	switch {
	case created:
		o = Order{ID: id, CreatedAt: now.UTC()}
		if o.Token, err = newToken(); err != nil {
			return Order{}, false, fmt.Errorf("order token: %w", err)
		}
	case err != nil:
		return Order{}, false, err
	}
	prev := o.Shipments
	o.Number, o.Customer, o.Items, o.UpdatedAt = in.Number, in.Customer, in.Items, now.UTC()
	o.Notify = in.Notify.Prefs()
	if o.Items == nil {
		o.Items = []Item{}
	}
	o.Shipments = make([]ShipmentClaim, 0, len(in.Shipments))
	for _, sh := range in.Shipments {
		items := sh.Items
		if items == nil {
			items = []ItemRef{}
		}
		o.Shipments = append(o.Shipments, ShipmentClaim{
			ID: ShipmentID(sh.Carrier, sh.TrackingNumber), Carrier: sh.Carrier,
			TrackingNumber: NormalizeTrackingNumber(sh.TrackingNumber), Direction: sh.Direction, Items: items,
		})
	}
	doc, err := json.Marshal(o)
	if err != nil {
		return Order{}, false, fmt.Errorf("encode order %s: %w", id, err)
	}
	if err := s.checkClaims(ctx, o.ID, o.Shipments); err != nil {
		return Order{}, false, err
	}
	// Shipments the order no longer lists are released first, so their
	// changes stop reaching its shopper; before the record, so a retry
	// after a crash still sees them in the old record and releases them.
	// Then claims, then the order record, then the token: a reader that
	// finds the order by its token always finds its shipments claimed.
	for _, c := range prev {
		if !slices.ContainsFunc(o.Shipments, func(n ShipmentClaim) bool { return n.ID == c.ID }) {
			if err := s.release(ctx, c.ID, o.ID, "", ""); err != nil {
				return Order{}, false, err
			}
		}
	}
	for _, c := range o.Shipments {
		if err := s.claimFor(ctx, o.ID, c, now); err != nil {
			return Order{}, false, err
		}
	}
	if err := s.rdb.HSet(ctx, s.orderKey(id), "doc", doc, "token", o.Token).Err(); err != nil {
		return Order{}, false, fmt.Errorf("store order %s: %w", id, err)
	}
	if err := s.rdb.Set(ctx, s.tokenKey(o.Token), id, 0).Err(); err != nil {
		return Order{}, false, fmt.Errorf("store token of order %s: %w", id, err)
	}
	if err := s.index(ctx, []indexEntry{{Order: id, At: now.UnixMilli()}}); err != nil {
		return Order{}, false, err
	}
	return o, created, nil
}

// Order returns the order with id.
func (s *Store) Order(ctx context.Context, id string) (Order, error) {
	if !strings.HasPrefix(id, "o_") {
		return Order{}, fmt.Errorf("order %q: %w", id, ErrNotFound)
	}
	m, err := s.rdb.HGetAll(ctx, s.orderKey(id)).Result()
	if err != nil {
		return Order{}, fmt.Errorf("read order %s: %w", id, err)
	}
	if m["doc"] == "" {
		return Order{}, fmt.Errorf("order %s: %w", id, ErrNotFound)
	}
	var o Order
	if err := json.Unmarshal([]byte(m["doc"]), &o); err != nil {
		return Order{}, fmt.Errorf("decode order %s: %w", id, err)
	}
	o.Token = m["token"]
	return o, nil
}

// OrderByToken returns the order a tracking-page token belongs to.
func (s *Store) OrderByToken(ctx context.Context, token string) (Order, error) {
	id, err := s.rdb.Get(ctx, s.tokenKey(token)).Result()
	if errors.Is(err, redis.Nil) {
		return Order{}, fmt.Errorf("token: %w", ErrNotFound)
	}
	if err != nil {
		return Order{}, fmt.Errorf("read token: %w", err)
	}
	return s.Order(ctx, id)
}

// OrderByNumber returns the order with the retailer's order number.
func (s *Store) OrderByNumber(ctx context.Context, number string) (Order, error) {
	id, err := s.rdb.Get(ctx, s.orderNumberKey(strings.TrimSpace(number))).Result()
	if errors.Is(err, redis.Nil) {
		return Order{}, fmt.Errorf("order number: %w", ErrNotFound)
	}
	if err != nil {
		return Order{}, fmt.Errorf("read order number: %w", err)
	}
	return s.Order(ctx, id)
}
