package web

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/trackd/trackd/notify"
	"github.com/trackd/trackd/notify/deliverylog"
	"github.com/trackd/trackd/tracking/redistest"
)

var nlNow = time.Date(2026, 11, 25, 16, 0, 0, 0, time.UTC)

// fakeNotificationLog pages through attempts (newest first) by index,
// records the filters it was asked, and fails with fail from call failAt on
// (1-based; 0 never).
type fakeNotificationLog struct {
	mu       sync.Mutex
	attempts []deliverylog.Attempt
	filters  []deliverylog.Filter
	fail     error
	failAt   int
}

func (l *fakeNotificationLog) Query(_ context.Context, f deliverylog.Filter) ([]deliverylog.Attempt, string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.filters = append(l.filters, f)
	if l.fail != nil && len(l.filters) >= l.failAt {
		return nil, "", l.fail
	}
	start := 0
	if f.Cursor != "" {
		if _, err := fmt.Sscanf(f.Cursor, "at-%d", &start); err != nil {
			return nil, "", deliverylog.ErrInvalidCursor
		}
	}
	limit := f.Limit
	if limit == 0 {
		limit = deliverylog.DefaultLimit
	}
	end := min(start+limit, len(l.attempts))
	next := ""
	if end < len(l.attempts) {
		next = fmt.Sprintf("at-%d", end)
	}
	return l.attempts[start:end], next, nil
}

func (l *fakeNotificationLog) asked() []deliverylog.Filter {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]deliverylog.Filter(nil), l.filters...)
}

func fakeAttempts(n int) []deliverylog.Attempt {
	out := make([]deliverylog.Attempt, n)
	for i := range out {
		out[i] = deliverylog.Attempt{ID: fmt.Sprintf("id-%04d", i), At: nlNow.Add(-time.Duration(i) * time.Minute),
			OrderID: "o_1", OrderNumber: "A-1001", ShipmentID: "s_1", Trigger: notify.Delivered, Channel: notify.Email,
			Recipient: "j***@example.com", RecipientHash: "secret-recipient-hash", Locale: "en", TemplateVersion: 2,
			Result: deliverylog.Sent, ProviderID: "<msg@mx>", Attempt: 1}
	}
	return out
}

func newNotificationsApp(nl NotificationLog) *fiber.App {
	log := slog.New(slog.DiscardHandler)
	app := fiber.New(fiber.Config{ErrorHandler: errorHandler(log)})
	app.Get("/api/v1/notifications", NotificationsList(nl))
	app.Get("/api/v1/notifications.csv", NotificationsCSV(nl, log))
	return app
}

func nlGet(t *testing.T, app *fiber.App, target string) (*http.Response, string) {
	t.Helper()
	resp, err := app.Test(httptest.NewRequest(http.MethodGet, target, nil), -1)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestNotificationsList_AnswersAPage(t *testing.T) {
	nl := &fakeNotificationLog{attempts: fakeAttempts(3)}
	app := newNotificationsApp(nl)
	q := url.Values{"order": {" A-1001 "}, "email": {"Jane@Example.com"}, "since": {"2026-11-01T00:00:00+01:00"},
		"until": {"2026-11-30T00:00:00Z"}, "limit": {"2"}}
	resp, body := nlGet(t, app, "/api/v1/notifications?"+q.Encode())
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q", resp.Header.Get("Cache-Control"))
	}
	if strings.Contains(body, "secret-recipient-hash") || strings.Contains(body, "hash") {
		t.Errorf("the recipient hash is in the answer: %s", body)
	}
	var page struct {
		Notifications []map[string]any `json:"notifications"`
		NextCursor    string           `json:"next_cursor"`
	}
	if err := json.Unmarshal([]byte(body), &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Notifications) != 2 || page.NextCursor != "at-2" {
		t.Fatalf("page %s", body)
	}
	first := page.Notifications[0]
	for k, want := range map[string]any{"id": "id-0000", "at": "2026-11-25T16:00:00Z", "order_id": "o_1", "order_number": "A-1001",
		"shipment_id": "s_1", "trigger": "delivered", "channel": "email", "recipient": "j***@example.com", "locale": "en",
		"template_version": 2.0, "result": "sent", "provider_id": "<msg@mx>", "error": "", "attempt": 1.0} {
		if first[k] != want {
			t.Errorf("%s = %#v, want %#v", k, first[k], want)
		}
	}
	if len(first) != 14 {
		t.Errorf("fields %v", first)
	}
	want := deliverylog.Filter{OrderNumber: "A-1001", Email: "Jane@Example.com",
		Since: time.Date(2026, 10, 31, 23, 0, 0, 0, time.UTC), Until: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC), Limit: 2}
	got := nl.asked()
	if len(got) != 1 || got[0].OrderNumber != want.OrderNumber || got[0].Email != want.Email || !got[0].Since.Equal(want.Since) ||
		!got[0].Until.Equal(want.Until) || got[0].Limit != want.Limit || got[0].Cursor != "" {
		t.Errorf("asked %+v, want %+v", got, want)
	}

	// The next page, by its cursor; the last page has no cursor.
	_, body = nlGet(t, app, "/api/v1/notifications?limit=2&cursor=at-2")
	if err := json.Unmarshal([]byte(body), &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Notifications) != 1 || page.Notifications[0]["id"] != "id-0002" || page.NextCursor != "" {
		t.Errorf("last page %s", body)
	}
}

func TestNotificationsList_EmptyIsAnEmptyList(t *testing.T) {
	_, body := nlGet(t, newNotificationsApp(&fakeNotificationLog{}), "/api/v1/notifications")
	if body != `{"notifications":[],"next_cursor":""}` {
		t.Errorf("body %s", body)
	}
}

func TestNotifications_BadFiltersName(t *testing.T) {
	nl := &fakeNotificationLog{attempts: fakeAttempts(1)}
	app := newNotificationsApp(nl)
	list, export := "/api/v1/notifications", "/api/v1/notifications.csv"
	both := []string{list, export}
	for _, tc := range []struct {
		name, query, field string
		paths              []string
	}{
		{"order too long", "order=" + strings.Repeat("9", 129), "order", both},
		{"email without @", "email=not-an-address", "email", both},
		{"email without domain", "email=jane@", "email", both},
		{"since in words", "since=yesterday", "since", both},
		{"since a date only", "since=2026-11-25", "since", both},
		{"until without zone", "until=2026-11-25T10:00:00", "until", both},
		{"until not after since", "since=2026-11-25T10:00:00Z&until=2026-11-25T10:00:00Z", "until", both},
		{"limit zero", "limit=0", "limit", both},
		{"limit in words", "limit=ten", "limit", both},
		{"limit over a page", "limit=501", "limit", []string{list}}, // the export takes more
		{"limit over an export", "limit=100001", "limit", []string{export}},
		{"cursor too long", "cursor=" + strings.Repeat("c", 65), "cursor", both},
		{"cursor the log refuses", "cursor=not-ours", "cursor", both},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, path := range tc.paths {
				resp, body := nlGet(t, app, path+"?"+tc.query)
				var e struct{ Error, Field string }
				if err := json.Unmarshal([]byte(body), &e); err != nil || resp.StatusCode != http.StatusBadRequest || e.Field != tc.field {
					t.Errorf("%s: %d %s, want 400 naming %s", path, resp.StatusCode, body, tc.field)
				}
			}
		})
	}
}

func TestNotifications_LogDownIs503(t *testing.T) {
	nl := &fakeNotificationLog{fail: errors.New("connection refused"), failAt: 1}
	app := newNotificationsApp(nl)
	for _, path := range []string{"/api/v1/notifications", "/api/v1/notifications.csv"} {
		resp, body := nlGet(t, app, path)
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, `"error"`) {
			t.Errorf("%s: %d %s, want a JSON 503 with Retry-After", path, resp.StatusCode, body)
		}
	}
}

func readCSV(t *testing.T, body string) [][]string {
	t.Helper()
	r := csv.NewReader(strings.NewReader(body))
	r.FieldsPerRecord = -1 // a closing note row is shorter
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatalf("not CSV: %v\n%s", err, body)
	}
	return rows
}

func TestNotificationsCSV_StreamsEveryPage(t *testing.T) {
	nl := &fakeNotificationLog{attempts: fakeAttempts(1203)}
	resp, body := nlGet(t, newNotificationsApp(nl), "/api/v1/notifications.csv?order=A-1001")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	for h, want := range map[string]string{
		"Content-Type":        "text/csv; charset=utf-8",
		"Content-Disposition": `attachment; filename="notifications.csv"`,
		"Cache-Control":       "no-store",
	} {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("%s %q, want %q", h, got, want)
		}
	}
	rows := readCSV(t, body)
	if len(rows) != 1204 || strings.Join(rows[0], ",") != strings.Join(deliverylog.CSVHeader, ",") {
		t.Fatalf("%d rows, header %v; want a header and 1203 attempts", len(rows), rows[0])
	}
	for i, row := range rows[1:] {
		if row[0] != fmt.Sprintf("id-%04d", i) {
			t.Fatalf("row %d is %s", i+1, row[0])
		}
	}
	if strings.Contains(body, "secret-recipient-hash") {
		t.Error("the recipient hash was exported")
	}
	asked := nl.asked()
	if len(asked) != 3 || asked[0].Limit != deliverylog.MaxLimit || asked[2].Cursor != "at-1000" || asked[2].OrderNumber != "A-1001" {
		t.Errorf("pages asked %+v", asked)
	}
}

func TestNotificationsCSV_LimitCapsAndSaysSo(t *testing.T) {
	nl := &fakeNotificationLog{attempts: fakeAttempts(12)}
	_, body := nlGet(t, newNotificationsApp(nl), "/api/v1/notifications.csv?limit=5")
	rows := readCSV(t, body)
	if len(rows) != 7 || rows[5][0] != "id-0004" || rows[6][0] != "truncated" {
		t.Errorf("rows %q, want a header, 5 attempts and a truncated note", rows)
	}
	_, body = nlGet(t, newNotificationsApp(nl), "/api/v1/notifications.csv?limit=12")
	if rows := readCSV(t, body); len(rows) != 13 || rows[12][0] != "id-0011" {
		t.Errorf("an export of exactly everything: %q", rows)
	}
}

func TestNotificationsCSV_FailureMidwayEndsWithANote(t *testing.T) {
	nl := &fakeNotificationLog{attempts: fakeAttempts(700), fail: errors.New("connection reset"), failAt: 2}
	resp, body := nlGet(t, newNotificationsApp(nl), "/api/v1/notifications.csv")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	rows := readCSV(t, body)
	if len(rows) != 502 || rows[501][0] != "error" || !strings.Contains(rows[501][1], "incomplete after 500 rows") {
		t.Errorf("%d rows, last %q; want 500 attempts and an error note", len(rows), rows[len(rows)-1])
	}
}

// TestNotifications_OverTheRealLog runs the API over deliverylog on a real
// redis-server: email search through the keyed hash, pages, the export.
func TestNotifications_OverTheRealLog(t *testing.T) {
	rdb := redistest.Start(t).Client(t)
	cfg := deliverylog.DefaultConfig()
	cfg.Prefix, cfg.HashKey, cfg.Now = redistest.Prefix(t), []byte("notifications-test-key-0123456789ab"), func() time.Time { return nlNow }
	dl, err := deliverylog.New(rdb, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 7 {
		to := "jane@example.com"
		if i%2 == 1 {
			to = "john@example.com"
		}
		_, err := dl.Record(ctx, deliverylog.Attempt{At: nlNow.Add(-time.Duration(i) * time.Hour), OrderID: "o_1", OrderNumber: "=A-1",
			Trigger: notify.InTransit, Channel: notify.Email, Recipient: to, Result: deliverylog.Sent, Attempt: 1})
		if err != nil {
			t.Fatal(err)
		}
	}
	app := newNotificationsApp(dl)

	var ids []string
	cursor := ""
	for range 5 {
		_, body := nlGet(t, app, "/api/v1/notifications?limit=2&email=JANE@example.com&cursor="+url.QueryEscape(cursor))
		var page struct {
			Notifications []struct{ ID, Recipient string } `json:"notifications"`
			NextCursor    string                           `json:"next_cursor"`
		}
		if err := json.Unmarshal([]byte(body), &page); err != nil {
			t.Fatal(err)
		}
		for _, n := range page.Notifications {
			if n.Recipient != "j***@example.com" {
				t.Errorf("recipient %q", n.Recipient)
			}
			ids = append(ids, n.ID)
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if len(ids) != 4 {
		t.Errorf("jane's attempts: %v, want 4", ids)
	}

	_, body := nlGet(t, app, "/api/v1/notifications.csv?order="+url.QueryEscape("=A-1"))
	rows := readCSV(t, body)
	if len(rows) != 8 || rows[1][3] != "'=A-1" {
		t.Errorf("export %q", rows)
	}
}
