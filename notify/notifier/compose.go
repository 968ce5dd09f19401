package notifier

import (
	"context"
	"fmt"
	"strings"

	"github.com/trackd/trackd/carriers"
	"github.com/trackd/trackd/notify"
	"github.com/trackd/trackd/notify/optout"
	"github.com/trackd/trackd/notify/templates"
	"github.com/trackd/trackd/tracking"
)

// TemplateComposer renders jobs with marketing's templates.
type TemplateComposer struct {
	Templates *templates.Store
	Engine    *templates.Engine
	// Signer signs the unsubscribe links; PublicURL is where shoppers
	// reach trackd.
	Signer    *optout.Signer
	PublicURL string
	// Store is the shop as the templates name it.
	Store templates.StoreInfo
	// StoreInfo, when set, names the shop for each message instead of
	// Store: the console can change the brand at any time.
	StoreInfo func(ctx context.Context) templates.StoreInfo
}

// Compose implements Composer.
func (c *TemplateComposer) Compose(ctx context.Context, job Job, o tracking.Order, sh *tracking.Shipment, to string) (Outgoing, error) {
	locale := o.Customer.Locale
	if locale == "" {
		locale = notify.DefaultLocale
	}
	tpl, err := c.Templates.Resolve(ctx, job.Trigger, job.Channel, locale)
	if err != nil {
		return Outgoing{}, fmt.Errorf("template %s/%s/%s: %w", job.Trigger, job.Channel, locale, err)
	}
	d := c.data(o, sh, tpl.Locale)
	if c.StoreInfo != nil {
		d.Store = c.StoreInfo(ctx)
	}
	var unsubscribe string
	if c.Signer != nil {
		unsubscribe = optout.URL(c.PublicURL, c.Signer.Token(job.Channel, to, o.ID), tpl.Locale)
		d.UnsubscribeURL = unsubscribe
	}
	r, err := c.Engine.RenderContext(ctx, job.Channel, tpl.Parts, d.Localized(tpl.Locale))
	if err != nil {
		return Outgoing{}, err
	}
	return Outgoing{
		Channel: job.Channel, To: to, Subject: r.Subject, HTML: r.HTML, Text: r.Text, Body: r.Body,
		UnsubscribeURL: unsubscribe, Locale: tpl.Locale, TemplateVersion: tpl.Version,
	}, nil
}

// data is what the templates see of an order and its shipment.
func (c *TemplateComposer) data(o tracking.Order, sh *tracking.Shipment, locale string) templates.Data {
	trackingURL := strings.TrimRight(c.PublicURL, "/") + "/t/" + o.Token
	d := templates.Data{
		Store:    c.Store,
		Order:    templates.Order{Number: o.Number, TrackingURL: trackingURL, ShipmentCount: len(o.Shipments)},
		Customer: templates.Customer{FirstName: firstName(o.Customer.Name)},
	}
	for _, it := range o.Items {
		d.Order.Items = append(d.Order.Items, templates.Item{Name: it.Name, SKU: it.SKU, Quantity: it.Quantity})
	}
	if sh != nil {
		s := templates.Shipment{
			Carrier: sh.Carrier, CarrierName: carriers.DisplayName(sh.Carrier), TrackingNumber: sh.TrackingNumber,
			Status: string(sh.Status), Delayed: sh.Delayed, TrackingURL: trackingURL,
		}
		if sh.EstimatedDelivery != nil {
			s.EstimatedDelivery = sh.EstimatedDelivery.Latest
		}
		if e := sh.StatusEvent; e != nil {
			s.LatestEvent = templates.Event{Message: e.Message, Location: place(e.Location), At: e.OccurredAtLocal}
		}
		d.Shipment = s
	}
	return d
}

func firstName(name string) string {
	f := strings.Fields(name)
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

func place(l tracking.Location) string {
	var parts []string
	for _, p := range []string{l.City, l.Region, l.Country} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, ", ")
}
