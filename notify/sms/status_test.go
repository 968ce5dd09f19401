package sms

import (
	"net/url"
	"strings"
	"testing"
)

const statusSID = "SM1f0e8ae6ade43cb3c0ce4525424e404f"

// statusForm is a status callback as Twilio posts it.
func statusForm(status, errorCode string) url.Values {
	v := url.Values{
		"AccountSid":    {testAccount},
		"ApiVersion":    {"2010-04-01"},
		"From":          {testFrom},
		"MessageSid":    {statusSID},
		"MessageStatus": {status},
		"SmsSid":        {statusSID},
		"SmsStatus":     {status},
		"To":            {testTo},
	}
	if errorCode != "" {
		v.Set("ErrorCode", errorCode)
	}
	return v
}

func TestParseStatus_TwilioCallbacks(t *testing.T) {
	legacy := url.Values{"SmsSid": {statusSID}, "SmsStatus": {"sent"}, "To": {testTo}}
	tests := []struct {
		name      string
		form      url.Values
		want      Status
		final     bool
		detailHas string
	}{
		{"queued", statusForm("queued", ""), Status{statusSID, StatusQueued, "", testTo}, false, ""},
		{"delivered", statusForm("delivered", ""), Status{statusSID, StatusDelivered, "", testTo}, true, ""},
		{"undelivered, filtered", statusForm("undelivered", "30007"), Status{statusSID, StatusUndelivered, "30007", testTo}, true, "twilio error 30007: filtered by the carrier"},
		{"failed, unlisted code", statusForm("failed", "30999"), Status{statusSID, StatusFailed, "30999", testTo}, true, "twilio error 30999"},
		{"error code 0 is no error", statusForm("delivered", "0"), Status{statusSID, StatusDelivered, "", testTo}, true, ""},
		{"a status Twilio adds later", statusForm("partially_delivered", ""), Status{statusSID, "partially_delivered", "", testTo}, false, ""},
		{"deprecated names only", legacy, Status{statusSID, StatusSent, "", testTo}, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseStatus(tt.form)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if got.Final() != tt.final {
				t.Errorf("Final = %v", got.Final())
			}
			if d := got.ErrorDetail(); (tt.detailHas == "") != (d == "") || !strings.Contains(d, tt.detailHas) {
				t.Errorf("ErrorDetail = %q, want %q", d, tt.detailHas)
			}
		})
	}
}

func TestParseStatus_Malformed(t *testing.T) {
	set := func(k, v string) url.Values {
		f := statusForm("delivered", "")
		f.Set(k, v)
		if k == "MessageSid" {
			f.Set("SmsSid", v)
		}
		return f
	}
	tests := []struct {
		name   string
		form   url.Values
		errHas string
	}{
		{"empty form", url.Values{}, "MessageSid"},
		{"short sid", set("MessageSid", "SM123"), "MessageSid"},
		{"sid with markup", set("MessageSid", "SM<script>alert(1)</script>0000000000000"), "MessageSid"},
		{"no status", url.Values{"MessageSid": {statusSID}}, "MessageStatus"},
		{"status with spaces", set("MessageStatus", "delivered; DROP"), "MessageStatus"},
		{"error code with letters", set("ErrorCode", "30007x"), "ErrorCode"},
		{"huge To", set("To", strings.Repeat("1", 100)), "To"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseStatus(tt.form)
			if err == nil || !strings.Contains(err.Error(), tt.errHas) || got != (Status{}) {
				t.Errorf("ParseStatus = %+v, %v; want an error about %s", got, err, tt.errHas)
			}
		})
	}
}

func FuzzParseStatus(f *testing.F) {
	f.Add(statusForm("undelivered", "30007").Encode())
	f.Add("SmsSid=" + statusSID + "&SmsStatus=SENT")
	f.Add("MessageSid=&MessageStatus=%ZZ")
	f.Fuzz(func(t *testing.T, form string) {
		params, err := url.ParseQuery(form)
		if err != nil {
			return
		}
		s, err := ParseStatus(params)
		if err != nil {
			return
		}
		if !sidPattern.MatchString(s.MessageSID) || !statusPattern.MatchString(s.MessageStatus) || len(s.To) > maxNumberInput {
			t.Fatalf("accepted %+v from %q", s, form)
		}
		if s.ErrorCode != "" && !errorCodePattern.MatchString(s.ErrorCode) {
			t.Fatalf("accepted error code %q", s.ErrorCode)
		}
	})
}
