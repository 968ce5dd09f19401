package notifier

import (
	"context"

	"github.com/trackd/trackd/notify/deliverylog"
	"github.com/trackd/trackd/notify/email"
	"github.com/trackd/trackd/notify/sms"
)

// EmailSender sends Outgoing email over SMTP.
type EmailSender struct{ *email.Sender }

// Send implements Sender.
func (s EmailSender) Send(ctx context.Context, m Outgoing) (string, error) {
	return s.Sender.Send(ctx, email.Message{
		To: m.To, Subject: m.Subject, HTML: m.HTML, Text: m.Text, UnsubscribeURL: m.UnsubscribeURL,
		Headers: map[string]string{"X-Trackd-Notification": m.ID},
	})
}

// Permanent implements Sender.
func (EmailSender) Permanent(err error) bool { return email.Permanent(err) }

// SMSSender sends Outgoing SMS through Twilio.
type SMSSender struct{ *sms.Sender }

// Send implements Sender.
func (s SMSSender) Send(ctx context.Context, m Outgoing) (string, error) {
	return s.Sender.Send(ctx, m.To, m.Body)
}

// Permanent implements Sender.
func (SMSSender) Permanent(err error) bool { return sms.Permanent(err) }

// Log records attempts in the delivery log.
type Log struct{ *deliverylog.Log }

// Record implements DeliveryLog.
func (l Log) Record(ctx context.Context, a Attempt) error {
	_, err := l.Log.Record(ctx, deliverylog.Attempt{
		At: a.At, OrderID: a.OrderID, OrderNumber: a.OrderNumber, ShipmentID: a.ShipmentID,
		Trigger: a.Trigger, Channel: a.Channel, Recipient: a.Recipient, Locale: a.Locale,
		TemplateVersion: a.TemplateVersion, Result: a.Result, ProviderID: a.ProviderID, Error: a.Error, Attempt: a.Attempt,
	})
	return err
}
