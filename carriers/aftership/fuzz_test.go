package aftership

import (
	"bytes"
	"encoding/base64"
	"errors"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/trackd/trackd/carriers"
	"github.com/trackd/trackd/tracking"
)

// The fixtures in testdata/ are the seeds, with the inputs in
// testdata/fuzz/<target>/ (Go's corpus format): hand-made edge cases, and
// whatever the fuzzer has found and kept.

// addFiles adds every testdata file matching pattern as a seed.
func addFiles(f *testing.F, pattern string) {
	f.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed files %s: %v", pattern, err)
	}
	for _, file := range files {
		f.Add(readTestdata(f, filepath.Base(file)))
	}
}

func FuzzParseWebhook(f *testing.F) {
	addFiles(f, "webhook_*.json")
	f.Add([]byte(`{"event":"tracking_update","msg":{"slug":"ups","tracking_number":"1Z","tag":"InTransit","checkpoints":[{"tag":"InTransit","subtag":"InTransit_001","checkpoint_time":"2026-11-25T10:00:00"}]}}`))
	f.Add([]byte(`{"event":"tracking_update","msg":{"slug":"dhl-global-mail","tracking_number":123,"tag":"Exception","subtag":"Exception_011","updated_at":"2026-11-25T10:00:00+00:00","checkpoints":[]}}`))
	f.Add([]byte(`{"event":"tracking_update","msg":{"slug":"x","tracking_number":"1","checkpoints":[null]}}`))
	f.Add([]byte(`{"event":"edd_revise","msg":{"slug":"usps","tracking_number":"9400","expected_delivery":"2026-11-27T10:00:00","checkpoints":[{"tag":"Bogus","checkpoint_time":"2026-11-25"}]}}`))
	f.Add([]byte(`{"event":"tracking_update","msg":[]}`))
	f.Add([]byte(`{"event":1}`))
	f.Add([]byte(`null`))
	f.Add([]byte(``))
	a := New(Config{})
	f.Fuzz(func(t *testing.T, body []byte) {
		us, err := a.ParseWebhook(body)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an error without a reason")
			}
			if us != nil {
				t.Fatalf("ParseWebhook returned updates with its error %v", err)
			}
			return
		}
		if len(us) != 1 {
			t.Fatalf("ParseWebhook returned %d updates, want 1", len(us))
		}
		checkUpdate(t, us[0])
		checkDeterministic(t, us, func() ([]tracking.Update, error) { return a.ParseWebhook(bytes.Clone(body)) })
	})
}

func FuzzParsePoll(f *testing.F) {
	addFiles(f, "v4_*.json")
	f.Add([]byte(`{"meta":{"code":200},"data":{"trackings":[]}}`))
	f.Add([]byte(`{"meta":{"code":200},"data":{"tracking":{"slug":"fedex","tracking_number":"1","tag":"Delivered","checkpoints":[{"subtag":"Delivered_005","checkpoint_time":"2026-11-25 10:00:00","zip":94107,"country_region":"usa"}]}}}`))
	f.Add([]byte(`{"meta":{"code":"201"},"data":{"trackings":[{"slug":"ups","tracking_number":"1Z","tag":"Expired","last_updated_at":"2026-11-25T10:00:00Z"}]}}`))
	f.Add([]byte(`{"meta":{"code":429},"data":{}}`))
	f.Add([]byte(`{"data":{"tracking":null}}`))
	f.Add([]byte(`<html></html>`))
	a := New(Config{})
	f.Fuzz(func(t *testing.T, body []byte) {
		us, err := a.ParsePoll(body)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an error without a reason")
			}
			if us != nil {
				t.Fatalf("ParsePoll returned updates with its error %v", err)
			}
			return
		}
		for _, u := range us {
			checkUpdate(t, u)
		}
		checkDeterministic(t, us, func() ([]tracking.Update, error) { return a.ParsePoll(bytes.Clone(body)) })
	})
}

// checkDeterministic parses again and wants the same events, key for key:
// a redelivered payload must be recognized as the same events.
func checkDeterministic(t *testing.T, us []tracking.Update, again func() ([]tracking.Update, error)) {
	t.Helper()
	us2, err := again()
	if err != nil || len(us2) != len(us) {
		t.Fatalf("second parse = %d updates, %v; first gave %d", len(us2), err, len(us))
	}
	for i := range us {
		if !reflect.DeepEqual(keys(us[i]), keys(us2[i])) || us[i].EstimatedDelivery != us2[i].EstimatedDelivery {
			t.Fatalf("update %d differs between two parses of the same body", i)
		}
	}
}

func keys(u tracking.Update) []string {
	out := make([]string, len(u.Events))
	for i, e := range u.Events {
		out[i] = e.Key()
	}
	return out
}

func FuzzVerifyWebhook(f *testing.F) {
	body := readTestdata(f, "webhook_tracking_update_in_transit_postnl.json")
	f.Add(SignatureOf(testSecret, body), body)
	f.Add(SignatureOf("other", body), body)
	f.Add(SignatureOf(testSecret, nil), []byte{})
	f.Add(" "+SignatureOf(testSecret, []byte("x"))+"\t", []byte("x"))
	f.Add("not base64", []byte("{}"))
	f.Add("", []byte("{}"))
	a := New(Config{WebhookSecret: testSecret})
	f.Fuzz(func(t *testing.T, sig string, body []byte) {
		err := a.VerifyWebhook(request(body, map[string]string{SignatureHeader: sig}))
		if err != nil {
			if !errors.Is(err, carriers.ErrUnauthenticated) {
				t.Fatalf("VerifyWebhook error %v does not wrap ErrUnauthenticated", err)
			}
		} else {
			// Accepted: the header must hold the body's HMAC.
			got, derr := base64.StdEncoding.DecodeString(string(bytes.TrimSpace([]byte(sig))))
			if derr != nil || !bytes.Equal(got, Sign(testSecret, body)) {
				t.Fatalf("VerifyWebhook accepted %q for body %q", sig, body)
			}
		}
		// Whatever the body, its own signature verifies, and only for it.
		good := SignatureOf(testSecret, body)
		if err := a.VerifyWebhook(request(body, map[string]string{SignatureHeader: good})); err != nil {
			t.Fatalf("VerifyWebhook(SignatureOf(%q)) = %v", body, err)
		}
		if err := a.VerifyWebhook(request(append(bytes.Clone(body), 0), map[string]string{SignatureHeader: good})); err == nil {
			t.Fatalf("VerifyWebhook accepted the signature of %q for another body", body)
		}
	})
}
