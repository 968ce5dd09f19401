package carriers

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/trackd/trackd/tracking"
)

type fake struct{ slug string }

func (f fake) Slug() string                     { return f.slug }
func (f fake) Name() string                     { return strings.ToUpper(f.slug) }
func (fake) VerifyWebhook(WebhookRequest) error { return nil }
func (f fake) ParseWebhook([]byte) ([]tracking.Update, error) {
	return []tracking.Update{{Carrier: "ups", TrackingNumber: f.slug + "-webhook"}}, nil
}

type fakePoller struct{ fake }

func (fakePoller) Poll(context.Context, string) ([]byte, error) { return nil, nil }
func (f fakePoller) ParsePoll([]byte) ([]tracking.Update, error) {
	return []tracking.Update{{Carrier: "ups", TrackingNumber: f.slug + "-poll"}}, nil
}

func TestRegistry_DecodeRoutesWebhooksAndPollAnswers(t *testing.T) {
	r := NewRegistry(fake{"hooks"}, fakePoller{fake{"both"}})
	tests := []struct {
		src, want, errHas string
	}{
		{"hooks", "hooks-webhook", ""},
		{"both", "both-webhook", ""},
		{"both/poll", "both-poll", ""},
		{"hooks/poll", "", "does not poll"},
		{"nosuch", "", "no adapter"},
	}
	for _, tt := range tests {
		us, err := r.Decode(tt.src, nil)
		switch {
		case tt.errHas != "":
			if err == nil || !strings.Contains(err.Error(), tt.errHas) {
				t.Errorf("Decode(%q) error = %v, want %q", tt.src, err, tt.errHas)
			}
		case err != nil || len(us) != 1 || us[0].TrackingNumber != tt.want:
			t.Errorf("Decode(%q) = %v, %v; want %s", tt.src, us, err, tt.want)
		}
	}
	if got := r.Adapters(); len(got) != 2 || got[0].Slug() != "both" {
		t.Errorf("Adapters() = %v, want both then hooks", got)
	}
}

func TestRemoteError_Temporary(t *testing.T) {
	for status, want := range map[int]bool{0: true, 429: true, 500: true, 503: true, 400: false, 401: false, 404: false} {
		if got := (&RemoteError{Status: status}).Temporary(); got != want {
			t.Errorf("status %d: Temporary() = %v, want %v", status, got, want)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)
	tests := []struct {
		h    string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"-5", 0},
		{" 120 ", 2 * time.Minute},
		{"999999999", time.Hour},
		{"99999999999999999999", 0},
		{now.Add(30 * time.Minute).Format(http.TimeFormat), 30 * time.Minute},
		{now.Add(3 * time.Hour).Format(http.TimeFormat), time.Hour},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{"soon", 0},
	}
	for _, tt := range tests {
		if got := RetryAfter(tt.h, now, time.Hour); got != tt.want {
			t.Errorf("RetryAfter(%q) = %v, want %v", tt.h, got, tt.want)
		}
	}
}
