// Package demo is a simulated carrier for TRACKD_DEMO: it registers a few
// orders and moves their shipments through the statuses by posting signed
// webhooks to trackd's own /webhooks/generic, the real ingest path.
package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/trackd/trackd/carriers/generic"
	"github.com/trackd/trackd/tracking"
)

// Orders registers orders.
type Orders interface {
	PutOrder(ctx context.Context, in tracking.OrderInput, now time.Time) (tracking.Order, bool, error)
}

// Config configures the simulator.
type Config struct {
	WebhookURL string
	Secret     []byte
	PublicURL  string
	APIKey     string
	// Step is the time between two scans: short, so a newcomer sees the
	// state change within a minute of `make run`.
	Step time.Duration
}

// Simulator is the simulated carrier.
type Simulator struct {
	cfg    Config
	orders Orders
	log    *slog.Logger
	client *http.Client
}

// New returns a simulator.
func New(cfg Config, orders Orders, log *slog.Logger) *Simulator {
	if cfg.Step == 0 {
		cfg.Step = 6 * time.Second
	}
	return &Simulator{cfg: cfg, orders: orders, log: log, client: &http.Client{Timeout: 5 * time.Second}}
}

type place struct {
	city, region, postal, country string
	zone                          *time.Location
}

var (
	eastern  = time.FixedZone("EST", -5*3600)
	central  = time.FixedZone("CST", -6*3600)
	pacific  = time.FixedZone("PST", -8*3600)
	berlin   = time.FixedZone("CET", 1*3600)
	ontario  = place{"Ontario", "CA", "91761", "US", pacific}
	louisvil = place{"Louisville", "KY", "40209", "US", eastern}
	memphis  = place{"Memphis", "TN", "38118", "US", central}
	chicago  = place{"Chicago", "IL", "60607", "US", central}
	brooklyn = place{"Brooklyn", "NY", "11201", "US", eastern}
	leipzig  = place{"Leipzig", "", "04435", "DE", berlin}
	berlinPl = place{"Berlin", "", "10115", "DE", berlin}
)

type step struct {
	shipment int // index into the cycle's shipments
	status   tracking.Status
	code     string
	message  string
	where    place
	// eta, when set, is the estimated delivery in days from now.
	eta *int
}

func days(n int) *int { return &n }

// script is what happens to the demo's shipments, one step at a time.
var script = []step{
	{0, tracking.StatusInfoReceived, "MP", "Shipper created a label", ontario, days(3)},
	{1, tracking.StatusInfoReceived, "OC", "Shipment information sent to FedEx", memphis, days(2)},
	{0, tracking.StatusInTransit, "OR", "Picked up", ontario, nil},
	{2, tracking.StatusInTransit, "PU", "Shipment picked up", leipzig, days(2)},
	{1, tracking.StatusInTransit, "DP", "Departed FedEx hub", memphis, nil},
	{0, tracking.StatusInTransit, "DP", "Departed from facility", louisvil, days(4)},
	{2, tracking.StatusFailedAttempt, "CA", "Delivery attempted: recipient not home", berlinPl, nil},
	{1, tracking.StatusOutForDelivery, "OD", "On FedEx vehicle for delivery", brooklyn, nil},
	{0, tracking.StatusInTransit, "AR", "Arrived at facility", chicago, nil},
	{1, tracking.StatusDelivered, "DL", "Delivered, front door", brooklyn, nil},
	{2, tracking.StatusOutForDelivery, "WC", "Out for delivery again", berlinPl, nil},
	{0, tracking.StatusOutForDelivery, "OT", "Out for delivery", brooklyn, nil},
	{2, tracking.StatusDelivered, "OK", "Delivered to neighbour", berlinPl, nil},
	{0, tracking.StatusDelivered, "FS", "Delivered", brooklyn, nil},
}

// Run seeds orders and plays the script, again and again, until ctx ends.
func (s *Simulator) Run(ctx context.Context) {
	for cycle := 1; ctx.Err() == nil; cycle++ {
		ships, err := s.seed(ctx, cycle)
		if err != nil {
			s.log.Error("seed demo orders", "err", err)
			return
		}
		for _, st := range script {
			if !sleep(ctx, s.cfg.Step) {
				return
			}
			sh := ships[st.shipment]
			if err := s.post(ctx, sh, st); err != nil {
				s.log.Warn("demo webhook", "tracking_number", sh.TrackingNumber, "err", err)
			}
		}
		sleep(ctx, 5*s.cfg.Step)
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// seed registers the cycle's orders: one simple, one split across two
// carriers with an item not yet shipped.
func (s *Simulator) seed(ctx context.Context, cycle int) ([]tracking.ShipmentInput, error) {
	run := time.Now().Unix() % 100000
	num := func(prefix string, i int) string { return fmt.Sprintf("%s%05d%03d%d", prefix, run, cycle, i) }
	ships := []tracking.ShipmentInput{
		{Carrier: "ups", TrackingNumber: num("1ZDEMO", 0), Items: []tracking.ItemRef{{SKU: "MUG-BLUE", Quantity: 2}}},
		{Carrier: "fedex", TrackingNumber: num("7700", 1), Items: []tracking.ItemRef{{SKU: "TEE-M", Quantity: 1}}},
		{Carrier: "dhl", TrackingNumber: num("JD", 2), Items: []tracking.ItemRef{{SKU: "BOOK-DE", Quantity: 1}}},
	}
	orders := []tracking.OrderInput{
		{Number: fmt.Sprintf("DEMO-%d-1001", cycle), Customer: tracking.Customer{Name: "Ada Lovelace", Email: "ada@example.com", Locale: "en-US"},
			Items:     []tracking.Item{{SKU: "MUG-BLUE", Name: "Blue mug", Quantity: 2}},
			Shipments: ships[:1]},
		{Number: fmt.Sprintf("DEMO-%d-1002", cycle), Customer: tracking.Customer{Name: "Grace Hopper", Email: "grace@example.com", Locale: "en-US"},
			Items: []tracking.Item{{SKU: "TEE-M", Name: "T-shirt, M", Quantity: 1}, {SKU: "BOOK-DE", Name: "Book", Quantity: 1},
				{SKU: "POSTER", Name: "Poster", Quantity: 1}},
			Shipments: ships[1:]},
	}
	for _, in := range orders {
		o, _, err := s.orders.PutOrder(ctx, in, time.Now())
		if err != nil {
			return nil, err
		}
		s.log.Info("demo order: watch it move", "order_number", o.Number, "tracking_url", s.cfg.PublicURL+"/t/"+o.Token,
			"api", fmt.Sprintf("curl -H 'Authorization: Bearer %s' %s/api/v1/orders/%s", s.cfg.APIKey, s.cfg.PublicURL, o.ID))
	}
	return ships, nil
}

func (s *Simulator) post(ctx context.Context, sh tracking.ShipmentInput, st step) error {
	now := time.Now().In(st.where.zone)
	m := generic.Message{Carrier: sh.Carrier, TrackingNumber: sh.TrackingNumber, Events: []generic.MessageEvent{{
		ID: fmt.Sprintf("%s-%d", sh.TrackingNumber, now.UnixNano()), Status: string(st.status), CarrierStatus: st.code,
		Message: st.message, OccurredAt: now.Format(time.RFC3339),
		Location: tracking.Location{City: st.where.city, Region: st.where.region, PostalCode: st.where.postal, Country: st.where.country},
	}}}
	if st.eta != nil {
		m.EstimatedDelivery = now.AddDate(0, 0, *st.eta).Format(time.DateOnly)
	}
	body, err := json.Marshal(m)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.WebhookURL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(generic.SignatureHeader, generic.Sign(s.cfg.Secret, time.Now(), body))
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("webhook answered %s", resp.Status)
	}
	s.log.Debug("demo scan", "tracking_number", sh.TrackingNumber, "status", st.status)
	return nil
}
