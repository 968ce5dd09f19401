package salesforce

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/trackd/trackd/tracking/redistest"
)

func TestLog_ListPagesAndFilters(t *testing.T) {
	rdb := srv.Client(t)
	l := NewLog(rdb, redistest.Prefix(t), 1000, 24*time.Hour)
	ctx := context.Background()
	for i := range 7 {
		n := numA
		if i%2 == 1 {
			n = numB
		}
		if err := l.Record(ctx, Entry{At: t0.Add(time.Duration(i) * time.Second), TrackingNumber: n, ShipmentID: "s_x",
			SalesforceID: idA, Result: ResultWritten, Attempt: i + 1}); err != nil {
			t.Fatal(err)
		}
	}
	var got []int
	cursor := ""
	for range 10 {
		page, next, err := l.List(ctx, ListOptions{Limit: 3, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page {
			got = append(got, e.Attempt)
		}
		if cursor = next; cursor == "" {
			break
		}
	}
	if fmt.Sprint(got) != "[7 6 5 4 3 2 1]" {
		t.Errorf("pages gave %v, want newest first, each once", got)
	}
	page, _, err := l.List(ctx, ListOptions{TrackingNumber: "1z999aa1-0000000002"})
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != 3 || page[0].TrackingNumber != numB || !page[0].At.Equal(t0.Add(5*time.Second)) {
		t.Errorf("filtered: %+v", page)
	}
	if _, _, err := l.List(ctx, ListOptions{Cursor: "+ OR 1"}); !errors.Is(err, ErrBadCursor) {
		t.Errorf("bad cursor: %v", err)
	}
	// Since and Until are the log's (Redis server) times.
	if page, _, _ := l.List(ctx, ListOptions{Since: time.Now().Add(time.Hour)}); len(page) != 0 {
		t.Errorf("since an hour ahead: %d entries", len(page))
	}
	if page, _, _ := l.List(ctx, ListOptions{Until: time.Now().Add(-time.Hour)}); len(page) != 0 {
		t.Errorf("until an hour ago: %d entries", len(page))
	}
	if page, _, _ := l.List(ctx, ListOptions{Since: time.Now().Add(-time.Hour), Until: time.Now().Add(time.Hour)}); len(page) != 7 {
		t.Errorf("within the hour: %d entries, want 7", len(page))
	}
}

func TestLog_IsCapped(t *testing.T) {
	rdb := srv.Client(t)
	prefix := redistest.Prefix(t)
	l := NewLog(rdb, prefix, 5, 0)
	ctx := context.Background()
	for i := range 12 {
		if err := l.Record(ctx, Entry{At: t0, TrackingNumber: numA, Result: ResultRetrying, Attempt: i + 1}); err != nil {
			t.Fatal(err)
		}
	}
	if n := rdb.XLen(ctx, prefix+"sf:log").Val(); n != 5 {
		t.Errorf("log holds %d entries, want the cap of 5", n)
	}
	page, _, _ := l.List(ctx, ListOptions{})
	if len(page) != 5 || page[0].Attempt != 12 {
		t.Errorf("kept %+v, want the newest 5", page)
	}
}
