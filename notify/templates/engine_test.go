package templates

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trackd/trackd/notify"
)

const evil = `<script>alert(1)</script>`

// evilData is sample data whose carrier- and shopper-supplied texts are
// all markup.
func evilData() Data {
	d := SampleData("en", "in_transit", false, false)
	d.Shipment.LatestEvent.Message = evil
	d.Shipment.LatestEvent.Location = `"><img src=x onerror=alert(2)>`
	d.Customer.FirstName = `<b>Mallory</b>`
	d.Order.Items[0].Name = `<iframe src="//evil">`
	return d
}

func renderEmail(t *testing.T, e *Engine, html string, d Data) Rendered {
	t.Helper()
	r, err := e.Render(notify.Email, Parts{Subject: "s", HTML: html, Text: "t"}, d)
	if err != nil {
		t.Fatalf("render %q: %v", html, err)
	}
	return r
}

func TestRender_HTMLEscapesEveryOutput(t *testing.T) {
	e := NewEngine(DefaultLimits())
	msg := "{{ shipment.latest_event.message"
	tests := []struct {
		name, html, want string
	}{
		{"plain", msg + " }}", "&lt;script&gt;alert(1)&lt;/script&gt;"},
		{"through a filter", msg + " | upcase }}", "&lt;SCRIPT&gt;ALERT(1)&lt;/SCRIPT&gt;"},
		{"escape does not escape twice", msg + " | escape }}", "&lt;script&gt;alert(1)&lt;/script&gt;"},
		{"escape_once", msg + " | escape_once }}", "&lt;script&gt;alert(1)&lt;/script&gt;"},
		{"escape then more filters", msg + " | escape | append: '' }}", "&amp;lt;script&amp;gt;"},
		{"default", `{{ nothing | default: shipment.latest_event.message }}`, "&lt;script&gt;"},
		{"assigned", `{% assign m = shipment.latest_event.message %}{{ m }}`, "&lt;script&gt;"},
		{"assigned through filters", `{% assign m = shipment.latest_event.message | strip | prepend: "<b>" %}{{ m }}`, "&lt;b&gt;&lt;script&gt;"},
		{"captured, markup kept", `{% capture m %}<b>{{ shipment.latest_event.message }}</b>{% endcapture %}{{ m }}`, "<b>&lt;script&gt;alert(1)&lt;/script&gt;</b>"},
		{"newline_to_br", msg + " | newline_to_br }}", "&lt;script&gt;"},
		{"in an attribute", `<a title="{{ shipment.latest_event.location }}">`, `<a title="&#34;&gt;&lt;img src=x onerror=alert(2)&gt;">`},
		{"in a loop", `{% for i in order.items %}{{ i.name }}{% endfor %}`, "&lt;iframe src=&#34;//evil&#34;&gt;"},
		{"split and joined", msg + ` | split: "" | join: "" }}`, "&lt;script&gt;"},
		{"url_encode", msg + " | url_encode }}", "%3Cscript%3E"},
		{"trimmed tags", "{{- shipment.latest_event.message -}}", "&lt;script&gt;"},
		{"raw stays the template's", `{% raw %}<i>{{ x }}</i>{% endraw %}`, "<i>{{ x }}</i>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := renderEmail(t, e, tt.html, evilData())
			if !strings.Contains(r.HTML, tt.want) {
				t.Errorf("html %q, want it to contain %q", r.HTML, tt.want)
			}
			for _, bad := range []string{"<script", "<img", "<iframe", "<b>Mallory"} {
				if strings.Contains(r.HTML, bad) {
					t.Errorf("html %q contains %q", r.HTML, bad)
				}
			}
		})
	}
}

func TestRender_TextAndSubjectAreNotEscaped(t *testing.T) {
	e := NewEngine(DefaultLimits())
	r, err := e.Render(notify.Email, Parts{
		Subject: "{{ shipment.latest_event.message }} & co",
		HTML:    "x",
		Text:    "{{ shipment.latest_event.message }} & co",
	}, evilData())
	if err != nil {
		t.Fatal(err)
	}
	if want := evil + " & co"; r.Subject != want || r.Text != want {
		t.Errorf("subject %q, text %q, want both %q", r.Subject, r.Text, want)
	}
}

func TestRender_SubjectIsOneHeaderSafeLine(t *testing.T) {
	e := NewEngine(DefaultLimits())
	d := SampleData("en", "in_transit", false, false)
	d.Customer.FirstName = "Eve\r\nBcc: victim@example.com\n\tX-Other: 1\x00"
	r, err := e.Render(notify.Email, Parts{Subject: "Hi {{ customer.first_name }}\n  your order\r\n", HTML: "x", Text: "x"}, d)
	if err != nil {
		t.Fatal(err)
	}
	if want := "Hi Eve Bcc: victim@example.com X-Other: 1 your order"; r.Subject != want {
		t.Errorf("subject %q, want %q", r.Subject, want)
	}
}

func TestRender_SMSCountsSegments(t *testing.T) {
	e := NewEngine(DefaultLimits())
	tests := []struct {
		name, body, encoding string
		chars, segments      int
	}{
		{"GSM-7", "Your order {{ order.number }} has shipped.", "GSM-7", 32, 1},
		{"UCS-2 from the data", "Hola {{ customer.first_name }}", "UCS-2", 10, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := SampleData("en", "in_transit", false, false)
			d.Customer.FirstName = "Lucía"
			r, err := e.Render(notify.SMS, Parts{Body: tt.body}, d)
			if err != nil {
				t.Fatal(err)
			}
			if r.Encoding != tt.encoding || r.Characters != tt.chars || r.Segments != tt.segments {
				t.Errorf("%q: %s %d chars %d segments, want %s %d %d", r.Body, r.Encoding, r.Characters, r.Segments, tt.encoding, tt.chars, tt.segments)
			}
		})
	}
}

func TestRender_TidiesText(t *testing.T) {
	e := NewEngine(DefaultLimits())
	r, err := e.Render(notify.SMS, Parts{Body: "\n{% if true %}\n  Hello   \n{% endif %}\n\n\n\nBye\n"}, Data{})
	if err != nil {
		t.Fatal(err)
	}
	if want := "Hello\n\nBye"; r.Body != want {
		t.Errorf("body %q, want %q", r.Body, want)
	}
}

// problemsOf renders and returns the problems, failing unless it failed.
func problemsOf(t *testing.T, e *Engine, ctx context.Context, ch notify.Channel, p Parts) []Problem {
	t.Helper()
	_, err := e.RenderContext(ctx, ch, p, SampleData("en", "in_transit", false, false))
	var re *RenderError
	if !errors.As(err, &re) {
		t.Fatalf("render: error %v, want a *RenderError", err)
	}
	return re.Problems
}

func TestRender_LimitsStopRunawayTemplates(t *testing.T) {
	lim := DefaultLimits()
	e := NewEngine(lim)
	big := strings.Repeat("x", 1000)
	tests := []struct {
		name, body, want string
	}{
		{"a huge loop", `{% for i in (1..100000000) %}{% endfor %}`, "loops more than 10000 times"},
		{"nested loops", `{% for i in (1..1000) %}{% for j in (1..1000) %}{% endfor %}{% endfor %}`, "loops more than 10000 times"},
		{"a loop of assignments", `{% for i in (1..100000000) %}{% assign x = i %}{% endfor %}`, "loops more than 10000 times"},
		{"too much output", `{% for i in (1..1000) %}` + big + `{% endfor %}`, "larger than 262144 bytes"},
		{"doubling appends", `{% assign s = "xx" %}{% for i in (1..64) %}{% assign s = s | append: s %}{% endfor %}`, "larger than 262144 bytes"},
		{"doubling captures", `{% assign s = "xx" %}{% for i in (1..64) %}{% capture s %}{{ s }}{{ s }}{% endcapture %}{% endfor %}`, "larger than 262144 bytes"},
		{"doubling arrays", `{% assign a = "a,b" | split: "," %}{% for i in (1..64) %}{% assign a = a | concat: a %}{% endfor %}`, "more than 1000 items"},
		{"a huge range in a filter", `{{ (1..100000000) | join: "," }}`, "more than 1000 items"},
		{"a huge range reversed", `{{ (1..100000000) | reverse | first }}`, "more than 1000 items"},
		{"a multiplying replace", `{% assign s = "` + big + `" %}{{ s | replace: "", s }}`, "larger than 262144 bytes"},
		{"a multiplying join", `{% assign s = "` + big + `" %}{% assign a = s | split: "" %}{{ a | join: s }}`, "join: the result is larger than 262144 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			ps := problemsOf(t, e, context.Background(), notify.SMS, Parts{Body: tt.body})
			if tt.want != "" && !strings.Contains(ps[0].Message, tt.want) {
				t.Errorf("problems %v, want %q", ps, tt.want)
			}
			if d := time.Since(start); d > 10*lim.RenderTimeout {
				t.Errorf("took %s", d)
			}
		})
	}
}

func TestRender_TemplateSizeLimit(t *testing.T) {
	e := NewEngine(DefaultLimits())
	ps := problemsOf(t, e, context.Background(), notify.SMS, Parts{Body: strings.Repeat("x", 64<<10+1)})
	if want := (Problem{Part: "body", Message: "is larger than 65536 bytes"}); len(ps) != 1 || ps[0] != want {
		t.Errorf("problems %v, want %v", ps, want)
	}
}

func TestRender_StopsAtTheDeadlineOrWhenCancelled(t *testing.T) {
	lim := DefaultLimits()
	lim.RenderTimeout = time.Nanosecond // gone before the first iteration
	loop := Parts{Body: `{% for i in (1..5) %}x{% endfor %}`}
	ps := problemsOf(t, NewEngine(lim), context.Background(), notify.SMS, loop)
	if !strings.Contains(ps[0].Message, "took longer than 1ns") {
		t.Errorf("problems %v, want the time limit", ps)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ps = problemsOf(t, NewEngine(DefaultLimits()), ctx, notify.SMS, loop)
	if !strings.Contains(ps[0].Message, "cancelled") {
		t.Errorf("problems %v, want cancelled", ps)
	}
}

func TestRender_ErrorsSayWhereAndWhat(t *testing.T) {
	e := NewEngine(DefaultLimits())
	tests := []struct {
		name string
		p    Parts
		want []Problem
	}{
		{"an unclosed block", Parts{Subject: "ok", HTML: "<p>\n{% if shipment.delayed %}\nlate", Text: "ok"},
			[]Problem{{"html", 2, `unterminated "if" block`}}},
		{"a bad expression", Parts{Subject: "ok", HTML: "ok", Text: "a\nb\n{{ order.number | }}"},
			[]Problem{{"text", 3, `syntax error in "order.number |"`}}},
		{"an unknown filter", Parts{Subject: "{{ order.number | shout }}", HTML: "ok", Text: "ok"},
			[]Problem{{"subject", 1, `undefined filter "shout"`}}},
		{"a failing filter", Parts{Subject: "ok", HTML: "\n{{ 1 | divided_by: 0 }}", Text: "ok"},
			[]Problem{{"html", 2, `filter divided_by: division by zero`}}},
		{"an unknown tag", Parts{Subject: "ok", HTML: "ok", Text: `{% include "/etc/passwd" %}`},
			[]Problem{{"text", 1, `undefined tag "include"`}}},
		{"break outside a loop", Parts{Subject: "{% break %}", HTML: "ok", Text: "ok"},
			[]Problem{{"subject", 1, "break outside a for loop"}}},
		{"several parts", Parts{Subject: "{% if %}", HTML: "{{ }}", Text: "ok"},
			[]Problem{{"subject", 1, `unterminated "if" block`}, {"html", 1, `syntax error in " "`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := problemsOf(t, e, context.Background(), notify.Email, tt.p)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("problems %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRender_Loops(t *testing.T) {
	e := NewEngine(DefaultLimits())
	tests := []struct{ body, want string }{
		{`{% for i in order.items %}{{ forloop.index }}/{{ forloop.length }} {{ i.sku }}{% unless forloop.last %}, {% endunless %}{% endfor %}`,
			"1/3 SW-MER-M-NAVY, 2/3 SH-TRL-42, 3/3 SK-COT-3P"},
		{`{% for i in order.items limit: 2 reversed %}{{ i.sku }} {% endfor %}`, "SH-TRL-42 SW-MER-M-NAVY"},
		{`{% for i in order.items offset: 1 %}{{ i.sku }} {% endfor %}`, "SH-TRL-42 SK-COT-3P"},
		{`{% for i in (1..5) %}{% if i == 2 %}{% continue %}{% endif %}{% if i == 4 %}{% break %}{% endif %}{{ i }}{% endfor %}`, "13"},
		{`{% for i in (5..1) %}{{ i }}{% else %}empty{% endfor %}`, "empty"},
		{`{% for i in nothing %}{{ i }}{% else %}none{% endfor %}`, "none"},
		{`{% for i in (1..2) %}{% for j in (1..2) %}{{ i }}{{ j }} {% endfor %}{% endfor %}{{ i }}`, "11 12 21 22"},
		{`{% case shipment.status %}{% when "delivered" %}d{% when "x", "in_transit" %}t{% else %}e{% endcase %}`, "t"},
	}
	for _, tt := range tests {
		r, err := e.Render(notify.SMS, Parts{Body: tt.body}, SampleData("en", "in_transit", false, false))
		if err != nil {
			t.Errorf("%s: %v", tt.body, err)
			continue
		}
		if r.Body != tt.want {
			t.Errorf("%s\n got %q\nwant %q", tt.body, r.Body, tt.want)
		}
	}
}

func TestRender_EmptyValuesAreFalse(t *testing.T) {
	e := NewEngine(DefaultLimits())
	d := SampleData("en", "in_transit", false, false)
	d.Shipment.EstimatedDelivery, d.Shipment.EstimatedDeliveryText = "", ""
	r, err := e.Render(notify.SMS, Parts{Body: `{% if shipment.estimated_delivery_text %}on {{ shipment.estimated_delivery_text }}{% else %}soon{% endif %}`}, d)
	if err != nil {
		t.Fatal(err)
	}
	if r.Body != "soon" {
		t.Errorf("body %q, want soon", r.Body)
	}
}

func TestRender_ConcurrentUseIsSafe(t *testing.T) {
	e := NewEngine(DefaultLimits())
	defaults, err := LoadDefaults()
	if err != nil {
		t.Fatal(err)
	}
	p, _ := defaults.Get(notify.Shipped, notify.Email, "en")
	var wg sync.WaitGroup
	results := make([]Rendered, 8)
	errs := make([]error, 8)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = e.Render(notify.Email, p, SampleData("en", "info_received", false, false))
		}()
	}
	wg.Wait()
	for i := range results {
		if errs[i] != nil || results[i] != results[0] {
			t.Fatalf("render %d: %v, or a different result", i, errs[i])
		}
	}
}

func TestRender_UnknownChannel(t *testing.T) {
	if _, err := NewEngine(DefaultLimits()).Render("fax", Parts{Body: "x"}, Data{}); err == nil {
		t.Fatal("rendered for channel fax")
	}
}

func TestRender_EmptyAndOverflowingRanges(t *testing.T) {
	e := NewEngine(DefaultLimits())
	r, err := e.Render(notify.SMS, Parts{Body: `[{{ (5..1) | join: "," }}][{% for i in (0..9223372036854775807) %}x{% endfor %}][{{ (1..3) | join: "," }}]`}, Data{})
	if err != nil {
		t.Fatal(err)
	}
	if want := "[][][1,2,3]"; r.Body != want {
		t.Errorf("body %q, want %q", r.Body, want)
	}
}
