package carriers

import (
	"context"
	"strings"
	"testing"

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
