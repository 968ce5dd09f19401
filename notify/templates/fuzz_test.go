package templates

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/trackd/trackd/notify"
)

// FuzzRender: whatever the template and whatever the carrier sends,
// rendering returns (no panic), in time, within the output limits; the
// subject stays one line; and in HTML no data makes markup: a template
// without "<" (nor newline_to_br, which writes <br />) never yields one.
func FuzzRender(f *testing.F) {
	for _, s := range []struct{ tpl, msg string }{
		{"Hi {{ customer.first_name }}, {{ shipment.latest_event.message | upcase }}", "<script>alert(1)</script>"},
		{"{% for i in order.items %}{{ i.name }}{% endfor %}", "a\r\nBcc: x@example.com"},
		{"{% capture c %}{{ shipment.latest_event.message }}{% endcapture %}{{ c | slice: 0, 3 }}", "&lt;b&gt;"},
		{"{% assign s = shipment.latest_event.message %}{% for i in (1..30) %}{% assign s = s | append: s %}{% endfor %}", "xx"},
		{"{{ shipment.latest_event.message | escape_once }}{{ shipment.latest_event.message | replace: '', 'x' }}", "&amp;<"},
	} {
		f.Add(s.tpl, s.msg)
	}
	lim := DefaultLimits()
	e := NewEngine(lim)
	f.Fuzz(func(t *testing.T, tpl, msg string) {
		d := SampleData("en", "in_transit", false, false)
		d.Shipment.LatestEvent.Message, d.Shipment.LatestEvent.Location, d.Customer.FirstName = msg, msg, msg
		d.Order.Items[0].Name = msg

		start := time.Now()
		r, err := e.Render(notify.Email, Parts{Subject: tpl, HTML: tpl, Text: tpl}, d)
		sms, smsErr := e.Render(notify.SMS, Parts{Body: tpl}, d)
		// Render checks its deadline between loop iterations; what runs
		// between two checks is bounded by the template's size.
		if took := time.Since(start); took > 2*(2*lim.RenderTimeout+time.Second) {
			t.Errorf("rendering took %s", took)
		}
		var re *RenderError
		for _, err := range []error{err, smsErr} {
			if err != nil && (!errors.As(err, &re) || len(re.Problems) == 0) {
				t.Fatalf("error %v is not a *RenderError with problems", err)
			}
		}
		for _, out := range []string{r.Subject, r.HTML, r.Text, sms.Body} {
			if len(out) > lim.MaxOutputBytes {
				t.Errorf("output of %d bytes", len(out))
			}
		}
		if strings.ContainsAny(r.Subject, "\r\n") {
			t.Errorf("subject %q has a line break", r.Subject)
		}
		if err == nil && !strings.Contains(tpl, "<") && !strings.Contains(tpl, "newline_to_br") && strings.Contains(r.HTML, "<") {
			t.Errorf("html %q has markup the template %q does not", r.HTML, tpl)
		}
	})
}

// FuzzValidate: validating never panics, and every problem names a part
// and a line that exists.
func FuzzValidate(f *testing.F) {
	for _, s := range []string{
		"{{ shipment.tracking_number }}",
		"{% if shipment.delayed %}\nlate\n{% else %}{{ order.nope }}",
		"{{ x | shout: 1, 2 }}\n{% for i in (1..n) reversed limit: 2 %}{% endfor %}",
		"{% raw %}{{ x }}{% endraw %}{% comment %}{% if %}{% endcomment %}",
		"{{ 'a' | }}",
	} {
		f.Add(s)
	}
	e := NewEngine(DefaultLimits())
	f.Fuzz(func(t *testing.T, tpl string) {
		lines := strings.Count(tpl, "\n") + 1
		for _, ch := range notify.Channels {
			parts := Parts{Subject: tpl, HTML: tpl, Text: tpl}
			if ch == notify.SMS {
				parts = Parts{Body: tpl}
			}
			errs, warnings := e.Validate(ch, parts)
			for _, p := range append(errs, warnings...) {
				if p.Part == "" || p.Message == "" || p.Line < 0 || p.Line > lines {
					t.Errorf("problem %+v in a template of %d lines", p, lines)
				}
			}
		}
	})
}
