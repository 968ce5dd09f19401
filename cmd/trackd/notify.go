package main

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"

	"github.com/redis/go-redis/v9"
	consolesettings "github.com/trackd/trackd/console/settings"
	"github.com/trackd/trackd/notify"
	"github.com/trackd/trackd/notify/deliverylog"
	"github.com/trackd/trackd/notify/email"
	"github.com/trackd/trackd/notify/notifier"
	"github.com/trackd/trackd/notify/optout"
	"github.com/trackd/trackd/notify/sms"
	"github.com/trackd/trackd/notify/templates"
	"github.com/trackd/trackd/outbound"
	"github.com/trackd/trackd/timeline"
	"github.com/trackd/trackd/tracking"
	"github.com/trackd/trackd/web"
)

// settingError is a setting found wrong while wiring, after parsing:
// trackd exits 2 naming it, as for any bad setting.
type settingError struct {
	name string
	err  error
}

func (e *settingError) Error() string { return e.name + ": " + e.err.Error() }
func (e *settingError) Unwrap() error { return e.err }

// notifications holds the notification parts every node builds: the web
// tier serves their APIs and pages, the notify role runs the notifier.
type notifications struct {
	rules     *notify.RuleStore
	engine    *templates.Engine
	templates *templates.Store
	optouts   *optout.Store
	signer    *optout.Signer
	log       *deliverylog.Log
	csrfKey   []byte
	email     *email.Sender
	sms       *sms.Sender
	smsConfig sms.Config
	composer  *notifier.TemplateComposer
	defaults  *templates.Defaults
	settings  *consolesettings.Store
}

// newNotifications builds them from cfg. Providers are optional: without
// SMTP_URL no email goes out, without Twilio no SMS, and the log says so.
func newNotifications(cfg Config, rdb redis.UniversalClient, embedded bool, log *slog.Logger) (*notifications, error) {
	env := func(k string) string { return cfg.AdapterEnv[k] }
	n := &notifications{rules: notify.NewRuleStore(rdb, cfg.KeyPrefix)}
	// The console may change the brand, quiet hours and collapse window;
	// the environment's values are the defaults.
	n.settings = consolesettings.New(rdb, consolesettings.Config{Prefix: cfg.KeyPrefix, Defaults: consolesettings.Settings{
		Brand: consolesettings.Brand{Name: cfg.Brand.Name, LogoURL: cfg.Brand.LogoURL, Color: cfg.Brand.Color,
			AccentColor: cfg.Brand.AccentColor, SupportEmail: cfg.Notify.SupportEmail},
		QuietHours: consolesettings.QuietHours{Start: cfg.Notify.QuietStart, End: cfg.Notify.QuietEnd, Off: cfg.Notify.QuietStart == cfg.Notify.QuietEnd},
		Collapse:   cfg.Notify.Collapse,
	}})

	ecfg := email.ConfigFromEnv(env)
	n.smsConfig = sms.ConfigFromEnv(env)
	n.smsConfig.StatusCallbackURL = cfg.PublicURL + "/webhooks/twilio/status"
	sending := ecfg.Configured() || n.smsConfig.Enabled()

	secret := []byte(cfg.Notify.Secret)
	if len(secret) == 0 {
		if sending && !embedded {
			return nil, &settingError{"TRACKD_NOTIFY_SECRET", errors.New("is required when SMTP_URL or Twilio is set: it keeps opt-outs and unsubscribe links valid across nodes and restarts")}
		}
		// Trying trackd out: a key for this process only, like the
		// embedded Redis's data.
		secret = make([]byte, 32)
		rand.Read(secret)
	}
	derive := func(purpose string) []byte {
		m := hmac.New(sha256.New, secret)
		m.Write([]byte("trackd " + purpose + " v1"))
		return m.Sum(nil)
	}
	hasher, err := optout.NewHasher(derive("recipient hash"))
	if err != nil {
		return nil, err
	}
	if n.optouts, err = optout.NewStore(rdb, cfg.KeyPrefix, hasher, nil); err != nil {
		return nil, err
	}
	if n.signer, err = optout.NewSigner(hasher, derive("unsubscribe link")); err != nil {
		return nil, err
	}
	n.csrfKey = derive("unsubscribe form")
	dcfg := deliverylog.DefaultConfig()
	dcfg.Prefix, dcfg.Retention, dcfg.HashKey = cfg.KeyPrefix, cfg.Notify.LogRetention, derive("delivery log")
	if n.log, err = deliverylog.New(rdb, dcfg); err != nil {
		return nil, err
	}

	n.engine = templates.NewEngine(templates.DefaultLimits())
	defaults, err := templates.LoadDefaults()
	if err != nil {
		return nil, fmt.Errorf("default templates: %w", err)
	}
	n.defaults = defaults
	n.templates = templates.NewStore(rdb, n.engine, defaults, templates.StoreConfig{Prefix: cfg.KeyPrefix})
	n.composer = &notifier.TemplateComposer{
		Templates: n.templates, Engine: n.engine, Signer: n.signer, PublicURL: cfg.PublicURL,
		Store:     templates.StoreInfo{Name: cfg.Brand.Name, URL: cfg.PublicURL, SupportEmail: cfg.Notify.SupportEmail},
		StoreInfo: func(ctx context.Context) templates.StoreInfo { return n.settings.StoreInfo(ctx, cfg.PublicURL) },
	}

	if ecfg.Configured() {
		if err := ecfg.Validate(); err != nil {
			return nil, &settingError{"SMTP_URL", err}
		}
		if n.email, err = email.New(ecfg); err != nil {
			return nil, &settingError{"SMTP_URL", err}
		}
	} else {
		log.Info("no SMTP_URL: email notifications are off")
	}
	if n.smsConfig.Enabled() {
		if n.sms, err = sms.New(n.smsConfig); err != nil {
			return nil, &settingError{"TWILIO_ACCOUNT_SID", err}
		}
	} else {
		log.Info("no Twilio account: SMS notifications are off")
	}
	return n, nil
}

// notifier returns the engine for the notify role.
func (n *notifications) notifier(cfg Config, rdb redis.UniversalClient, store *tracking.Store, consumer string,
	stats *timeline.Recorder, hooks *outbound.Service, log *slog.Logger) *notifier.Notifier {
	senders := map[notify.Channel]notifier.Sender{}
	if n.email != nil {
		senders[notify.Email] = notifier.EmailSender{Sender: n.email}
	}
	if n.sms != nil {
		senders[notify.SMS] = notifier.SMSSender{Sender: n.sms}
	}
	ncfg := notifier.DefaultConfig(consumer)
	ncfg.Prefix, ncfg.Shards = cfg.KeyPrefix, cfg.Shards
	ncfg.Collapse, ncfg.QuietStart, ncfg.QuietEnd = cfg.Notify.Collapse, cfg.Notify.QuietStart, cfg.Notify.QuietEnd
	if cfg.Notify.Zone != nil {
		ncfg.Zone = cfg.Notify.Zone
	}
	ncfg.Timing = n.settings
	return notifier.New(rdb, store, n.rules, n.composer, senders, n.optouts, countingLog{failurePublisher{notifier.Log{Log: n.log}, hooks, log}, stats}, ncfg, log)
}

// countingLog counts each attempt for the console's dashboard, then logs it.
type countingLog struct {
	notifier.DeliveryLog
	stats *timeline.Recorder
}

func (l countingLog) Record(ctx context.Context, a notifier.Attempt) error {
	l.stats.Notification(string(a.Channel), a.Result, a.At)
	return l.DeliveryLog.Record(ctx, a)
}

// testSend sends a rendered template to an address or number, for the
// console's "send a test".
func (n *notifications) testSend(ctx context.Context, ch notify.Channel, to string, r templates.Rendered) (string, error) {
	var id string
	var err error
	switch {
	case ch == notify.Email && n.email != nil:
		id, err = n.email.Send(ctx, email.Message{To: to, Subject: r.Subject, HTML: r.HTML, Text: r.Text})
	case ch == notify.SMS && n.sms != nil:
		id, err = n.sms.Send(ctx, to, r.Body)
		if errors.Is(err, sms.ErrInvalidNumber) {
			err = fmt.Errorf("%w: %w", web.ErrInvalidRecipient, err)
		}
	default:
		err = fmt.Errorf("no %s provider is configured", ch)
	}
	return id, err
}

func (n *notifications) close() {
	if n.email != nil {
		n.email.Close()
	}
	if n.sms != nil {
		n.sms.Close()
	}
}

// failurePublisher sends notification.failed to the webhook subscribers
// when a notification is recorded as failed.
type failurePublisher struct {
	notifier.DeliveryLog
	hooks *outbound.Service
	log   *slog.Logger
}

func (p failurePublisher) Record(ctx context.Context, a notifier.Attempt) error {
	err := p.DeliveryLog.Record(ctx, a)
	if a.Result == "failed" {
		f := outbound.NotificationFailure{OrderID: a.OrderID, OrderNumber: a.OrderNumber, ShipmentID: a.ShipmentID,
			Trigger: string(a.Trigger), Channel: string(a.Channel), Error: a.Error, Attempt: a.Attempt, At: a.At}
		if perr := p.hooks.Publish(ctx, f.Event()); perr != nil {
			p.log.Warn("publish notification.failed", "order", a.OrderNumber, "err", perr)
		}
	}
	return err
}
