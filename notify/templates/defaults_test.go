package templates

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trackd/trackd/notify"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the defaults")

func loadDefaults(t testing.TB) *Defaults {
	t.Helper()
	d, err := LoadDefaults()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestDefaults_AreCompleteValidAndSafe renders every shipped template in
// the situation it is for, and once more with hostile carrier data.
func TestDefaults_AreCompleteValidAndSafe(t *testing.T) {
	e := NewEngine(DefaultLimits())
	defaults := loadDefaults(t)
	for _, locale := range notify.Locales {
		for _, trigger := range notify.Triggers {
			for _, channel := range notify.Channels {
				t.Run(fmt.Sprintf("%s/%s/%s", locale, trigger, channel), func(t *testing.T) {
					p, ok := defaults.Get(trigger, channel, locale)
					if !ok {
						t.Fatal("no default")
					}
					if errs, warnings := e.Validate(channel, p); len(errs)+len(warnings) > 0 {
						t.Fatalf("errors %v, warnings %v", errs, warnings)
					}
					d := SampleForTrigger(locale, trigger)
					r, err := e.Render(channel, p, d)
					if err != nil {
						t.Fatal(err)
					}
					checkDefault(t, locale, channel, r, d)

					d.Shipment.LatestEvent.Message, d.Shipment.LatestEvent.Location = evil, evil
					d.Customer.FirstName, d.Order.Items[0].Name, d.Store.Name = evil, evil, evil
					r, err = e.Render(channel, p, d)
					if err != nil {
						t.Fatal(err)
					}
					if channel == notify.Email && (strings.Contains(r.HTML, "<script") || !strings.Contains(r.HTML, "&lt;script&gt;")) {
						t.Errorf("html does not escape the data:\n%s", r.HTML)
					}
				})
			}
		}
	}
}

func checkDefault(t *testing.T, locale string, channel notify.Channel, r Rendered, d Data) {
	t.Helper()
	all := r.Subject + r.HTML + r.Text + r.Body
	for _, leftover := range []string{"{{", "}}", "{%", "%}", "  ,", " .", ".."} {
		if strings.Contains(all, leftover) {
			t.Errorf("output contains %q:\n%s", leftover, all)
		}
	}
	if channel == notify.SMS {
		if !strings.Contains(r.Body, d.Shipment.TrackingURL) {
			t.Errorf("SMS %q has no tracking link", r.Body)
		}
		if r.Segments > 2 {
			t.Errorf("SMS %q is %d segments", r.Body, r.Segments)
		}
		return
	}
	if r.Subject == "" {
		t.Error("no subject")
	}
	for _, want := range []string{
		`<html lang="` + locale + `">`,
		`href="` + d.Shipment.TrackingURL + `"`,
		`href="` + d.UnsubscribeURL + `"`,
		`href="mailto:` + d.Store.SupportEmail + `"`,
		d.Order.Number,
	} {
		if !strings.Contains(r.HTML, want) {
			t.Errorf("html has no %q", want)
		}
	}
	for _, want := range []string{d.Shipment.TrackingURL, d.UnsubscribeURL, d.Store.SupportEmail, d.Order.Number} {
		if !strings.Contains(r.Text, want) {
			t.Errorf("text has no %q", want)
		}
	}
}

// TestDefaults_SMSFitTwoSegmentsEveryDay: the delivery date's weekday and
// month change the length (and "sábado" makes Spanish UCS-2).
func TestDefaults_SMSFitTwoSegmentsEveryDay(t *testing.T) {
	e := NewEngine(DefaultLimits())
	defaults := loadDefaults(t)
	for _, locale := range notify.Locales {
		for _, trigger := range notify.Triggers {
			p, _ := defaults.Get(trigger, notify.SMS, locale)
			for day := 21; day <= 27; day++ {
				d := SampleForTrigger(locale, trigger)
				d.Shipment.EstimatedDelivery = fmt.Sprintf("2026-09-%02d", day)
				d.Shipment.EstimatedDeliveryText = ""
				d = d.Localized(locale)
				r, err := e.Render(notify.SMS, p, d)
				if err != nil {
					t.Fatal(err)
				}
				if r.Segments > 2 {
					t.Errorf("%s/%s: %q is %d %s segments", locale, trigger, r.Body, r.Segments, r.Encoding)
				}
			}
		}
	}
}

// TestDefaults_WithoutOptionalData: no name, carrier, estimate or scan yet.
func TestDefaults_WithoutOptionalData(t *testing.T) {
	e := NewEngine(DefaultLimits())
	defaults := loadDefaults(t)
	for _, locale := range notify.Locales {
		for _, trigger := range notify.Triggers {
			for _, channel := range notify.Channels {
				p, _ := defaults.Get(trigger, channel, locale)
				d := SampleForTrigger(locale, trigger)
				d.Customer = Customer{}
				d.Shipment.CarrierName, d.Shipment.EstimatedDelivery, d.Shipment.EstimatedDeliveryText = "", "", ""
				d.Shipment.LatestEvent = Event{}
				r, err := e.Render(channel, p, d)
				if err != nil {
					t.Fatalf("%s/%s/%s: %v", locale, trigger, channel, err)
				}
				if all := r.Subject + r.Text + r.Body; strings.Contains(all, " ,") || strings.Contains(all, " .") || strings.Contains(all, "  ") {
					t.Errorf("%s/%s/%s reads badly without optional data:\n%s", locale, trigger, channel, all)
				}
			}
		}
	}
}

// TestDefaults_Golden keeps the rendered defaults in testdata/golden, for
// review: each locale's subjects, text parts and SMS, and one HTML email.
// go test -run TestDefaults_Golden -update rewrites them.
func TestDefaults_Golden(t *testing.T) {
	e := NewEngine(DefaultLimits())
	defaults := loadDefaults(t)
	files := map[string]string{}
	for _, locale := range notify.Locales {
		var email, sms strings.Builder
		for _, trigger := range notify.Triggers {
			d := SampleForTrigger(locale, trigger)
			p, _ := defaults.Get(trigger, notify.Email, locale)
			r, err := e.Render(notify.Email, p, d)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&email, "=== %s\nSubject: %s\n\n%s\n\n", trigger, r.Subject, r.Text)
			if trigger == notify.Shipped {
				files[locale+".shipped.html"] = r.HTML
			}
			p, _ = defaults.Get(trigger, notify.SMS, locale)
			if r, err = e.Render(notify.SMS, p, d); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&sms, "=== %s (%s, %d characters, %d segments)\n%s\n\n", trigger, r.Encoding, r.Characters, r.Segments, r.Body)
		}
		files[locale+".email.txt"] = email.String()
		files[locale+".sms.txt"] = sms.String()
	}
	for name, got := range files {
		path := filepath.Join("testdata", "golden", name)
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run with -update to create it)", err)
		}
		if got != string(want) {
			t.Errorf("%s differs from the rendered defaults (run with -update after reviewing):\n%s", path, got)
		}
	}
}

func TestLoadDefaults_SectionsAreStrict(t *testing.T) {
	if _, err := readSections("defaults/en/sms.liquid"); err != nil {
		t.Fatal(err)
	}
	if _, err := readSections("defaults/en/nope.liquid"); err == nil {
		t.Error("read a file that does not exist")
	}
}
