package sms

import "testing"

func TestKeyword_TwilioDefaults(t *testing.T) {
	tests := []struct {
		body string
		want Kind
	}{
		{"STOP", OptOut}, {"stop", OptOut}, {"Stop", OptOut}, {"  stop\n", OptOut},
		{"STOPALL", OptOut}, {"unsubscribe", OptOut}, {"Cancel", OptOut}, {"END", OptOut},
		{"quit", OptOut}, {"OPTOUT", OptOut}, {"revoke", OptOut},
		{"START", OptIn}, {"yes", OptIn}, {"Unstop", OptIn},
		{"HELP", Help}, {"info", Help}, {"\tHelp ", Help},
		// Only the keyword alone counts, as with Twilio.
		{"STOP please", None}, {"please stop", None}, {"STOP.", None}, {"stop!", None},
		{"yes please", None}, {"help me", None}, {"OPT OUT", None}, {"STOPP", None},
		{"", None}, {"   ", None}, {"Where is my parcel?", None}, {"ＳＴＯＰ", None},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			if got := Keyword(tt.body); got != tt.want {
				t.Errorf("Keyword(%q) = %v, want %v", tt.body, got, tt.want)
			}
		})
	}
}
