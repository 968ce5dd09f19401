package templates

import (
	"fmt"
	"strings"
	"testing"

	"github.com/trackd/trackd/notify"
)

func email(html string) Parts {
	return Parts{Subject: "Order {{ order.number }}", HTML: html, Text: "ok"}
}

func TestValidate(t *testing.T) {
	e := NewEngine(DefaultLimits())
	tests := []struct {
		name           string
		channel        notify.Channel
		parts          Parts
		errs, warnings []Problem
	}{
		{"a good email", notify.Email, email("<p>{{ customer.first_name }}</p>"), nil, nil},
		{"a good SMS", notify.SMS, Parts{Body: "{{ store.name }}: {{ shipment.tracking_url }}"}, nil, nil},
		{"email parts are required", notify.Email, Parts{Subject: " ", HTML: "x"},
			[]Problem{{"subject", 0, "is required"}, {"text", 0, "is required"}}, nil},
		{"the body is required", notify.SMS, Parts{}, []Problem{{"body", 0, "is required"}}, nil},
		{"email has no body", notify.Email, Parts{Subject: "s", HTML: "h", Text: "t", Body: "b"},
			[]Problem{{"body", 0, "email templates have no body part"}}, nil},
		{"SMS has no subject", notify.SMS, Parts{Subject: "s", Body: "b"},
			[]Problem{{"subject", 0, "sms templates have no subject part"}}, nil},
		{"a syntax error, with its line", notify.Email, email("<p>\n<b>\n{% if shipment.delayed %}late"),
			[]Problem{{"html", 3, `unterminated "if" block`}}, nil},
		{"an unknown filter, with its line", notify.Email, email("\n{{ order.number | shout }}"),
			[]Problem{{"html", 2, `unknown filter "shout"`}}, nil},
		{"an unknown filter in a branch not taken", notify.SMS, Parts{Body: "{% if false %}\n{{ x | default: 'a' | shout: 1 }}{% endif %}"},
			[]Problem{{"body", 2, `unknown filter "shout"`}}, []Problem{{"body", 2, "unknown variable x"}}},
		{"a filter failing with sample data", notify.SMS, Parts{Body: "{{ order.items.size | divided_by: 0 }}"},
			[]Problem{{"body", 1, "filter divided_by: division by zero"}}, nil},
		{"a runaway loop", notify.SMS, Parts{Body: "{% for i in (1..99999999) %}{% endfor %}"},
			[]Problem{{"body", 1, "the template loops more than 10000 times"}}, nil},
		{"unknown variables are warnings", notify.Email, email("{{ shipment.trackingnumber }}\n{% if custmer.first_name %}{% endif %}\n{{ order.items.first.colour }}"),
			nil, []Problem{{"html", 1, "unknown variable shipment.trackingnumber"}, {"html", 2, "unknown variable custmer"}, {"html", 3, "unknown variable order.items.first.colour"}}},
		{"a variable below a value", notify.SMS, Parts{Body: "{{ order.number.digits }}"},
			nil, []Problem{{"body", 1, "unknown variable order.number.digits"}}},
		{"an unknown variable as a filter argument", notify.SMS, Parts{Body: "{{ order.number | append: shipment.eta }}"},
			nil, []Problem{{"body", 1, "unknown variable shipment.eta"}}},
		{"loop variables have their element's fields", notify.SMS, Parts{Body: "{% for it in order.items reversed %}{{ it.name }} {{ it.sku | size }} {{ forloop.index }}{{ it.price }}{% endfor %}"},
			nil, []Problem{{"body", 1, "unknown variable it.price"}}},
		{"assigned and captured variables are known", notify.SMS, Parts{Body: "{{ first }} {{ label }} {{ n.anything }} {{ ev.message }} {{ ev.nope }}{% assign first = order.items | first %}{% capture label %}x{% endcapture %}{% assign n = 3 | plus: 1 %}{% assign ev = shipment.latest_event %}{{ first.sku }}"},
			nil, []Problem{{"body", 1, "unknown variable ev.nope"}}},
		{"indexes, sizes and strings are not variables", notify.SMS, Parts{Body: `{{ order.items[0].name }} {{ order.items.size }} {{ order["number"] }} {{ "shipment.foo" }} {% if x == empty or y != blank %}{% endif %}`},
			nil, []Problem{{"body", 1, "unknown variable x"}, {"body", 1, "unknown variable y"}}},
		{"raw and comment are not read", notify.SMS, Parts{Body: "{% raw %}{{ nope }}{% endraw %}{% comment %}{{ nope2 | shout }}{% endcomment %}ok"}, nil, nil},
		{"a long SMS warns", notify.SMS, Parts{Body: strings.Repeat("Your package is coming. ", 20)},
			nil, []Problem{{"body", 0, "with sample data the message is 479 GSM-7 characters, 4 SMS segments; each segment is billed"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs, warnings := e.Validate(tt.channel, tt.parts)
			if fmt.Sprint(errs) != fmt.Sprint(tt.errs) {
				t.Errorf("errors %v\n                want %v", errs, tt.errs)
			}
			if fmt.Sprint(warnings) != fmt.Sprint(tt.warnings) {
				t.Errorf("warnings %v\n                  want %v", warnings, tt.warnings)
			}
		})
	}
}

func TestValidatePartial_AllowsMissingParts(t *testing.T) {
	e := NewEngine(DefaultLimits())
	errs, _ := e.ValidatePartial(notify.Email, Parts{Subject: "Order {{ order.number }}"})
	if len(errs) != 0 {
		t.Errorf("errors %v, want none", errs)
	}
	errs, _ = e.ValidatePartial(notify.Email, Parts{Subject: "{% if %}"})
	if len(errs) != 1 {
		t.Errorf("errors %v, want the syntax error", errs)
	}
}

func TestVariables_AreTheDocumentedOnes(t *testing.T) {
	want := []string{
		"customer.first_name",
		"order.items", "order.items[].name", "order.items[].quantity", "order.items[].sku",
		"order.number", "order.shipment_count", "order.tracking_url",
		"shipment.carrier", "shipment.carrier_name", "shipment.delayed",
		"shipment.estimated_delivery", "shipment.estimated_delivery_text",
		"shipment.latest_event.location", "shipment.latest_event.message", "shipment.latest_event.time",
		"shipment.status", "shipment.status_text", "shipment.tracking_number", "shipment.tracking_url",
		"store.name", "store.support_email", "store.url",
		"unsubscribe_url",
	}
	if got := Variables(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Variables() =\n%v\nwant\n%v", got, want)
	}
}
