package deliverylog

import (
	"bytes"
	"encoding/csv"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/trackd/trackd/notify"
)

func TestWriteCSV_HeaderQuotingAndFormulas(t *testing.T) {
	at := time.Date(2026, 11, 25, 10, 0, 0, 123e6, time.FixedZone("EST", -5*3600))
	attempts := []Attempt{
		{ID: "1795600800000-0000000000000001", At: at, OrderID: "o_1", OrderNumber: "=HYPERLINK(\"http://evil\",\"x\")",
			ShipmentID: "s_1", Trigger: notify.Delivered, Channel: notify.SMS, Recipient: "+1******4567",
			RecipientHash: "secret-hash", Locale: "en", TemplateVersion: 2, Result: Failed, ProviderID: "@SM1",
			Error: "line one,\n\"line two\"", Attempt: 3},
		{ID: "1795600800000-0000000000000002", At: at, OrderNumber: "-2+3", Error: "\tcmd", Result: Sent,
			Channel: notify.Email, Recipient: "j***@example.com"},
	}
	var b bytes.Buffer
	if err := WriteCSV(&b, attempts); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.HasPrefix(out, strings.Join(CSVHeader, ",")+"\r\n") {
		t.Errorf("no header row first:\n%s", out)
	}
	if strings.Contains(out, "secret-hash") {
		t.Error("the recipient hash was exported")
	}
	if !strings.HasSuffix(out, "\r\n") || strings.Count(out, "\n") != strings.Count(out, "\r\n") {
		t.Errorf("want CRLF line ends only:\n%q", out)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		CSVHeader,
		{"1795600800000-0000000000000001", "2026-11-25T15:00:00.123Z", "o_1", "'=HYPERLINK(\"http://evil\",\"x\")",
			"s_1", "delivered", "sms", "'+1******4567", "en", "2", "failed", "'@SM1", "line one,\n\"line two\"", "3"},
		{"1795600800000-0000000000000002", "2026-11-25T15:00:00.123Z", "", "'-2+3", "", "", "email",
			"j***@example.com", "", "0", "sent", "", "'\tcmd", "0"},
	}
	if !reflect.DeepEqual(rows, want) {
		t.Errorf("rows\n%q\nwant\n%q", rows, want)
	}
}

func TestWriteCSV_EmptyHasHeader(t *testing.T) {
	var b bytes.Buffer
	if err := WriteCSV(&b, nil); err != nil {
		t.Fatal(err)
	}
	if b.String() != strings.Join(CSVHeader, ",")+"\r\n" {
		t.Errorf("got %q", b.String())
	}
}

func TestCSVWriter_PagesShareOneHeader(t *testing.T) {
	var b bytes.Buffer
	w := NewCSVWriter(&b)
	for range 3 {
		if err := w.Write([]Attempt{{ID: "x", Result: Sent}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.WriteRow("note", "=1+1"); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	r := csv.NewReader(strings.NewReader(b.String()))
	r.FieldsPerRecord = -1 // the note row is shorter than the others
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 5 || rows[0][0] != "id" || rows[1][0] != "x" || rows[4][1] != "'=1+1" {
		t.Errorf("rows %q", rows)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteCSV_ReportsWriteErrors(t *testing.T) {
	if err := WriteCSV(failingWriter{}, []Attempt{{ID: "x"}}); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("WriteCSV = %v, want the write error", err)
	}
}

// FuzzWriteCSV: whatever the cells hold, the export parses back to the
// same cells, defused, and no cell starts a formula.
func FuzzWriteCSV(f *testing.F) {
	for _, s := range []string{"", "=1+1", "a,b", "\"q\"", "line\nbreak", "\r\n", "@x", "é", "\x00"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, number, errText string) {
		var b bytes.Buffer
		if err := WriteCSV(&b, []Attempt{{OrderNumber: number, Error: errText}}); err != nil {
			t.Fatal(err)
		}
		r := csv.NewReader(&b)
		r.LazyQuotes = false
		rows, err := r.ReadAll()
		if err != nil {
			t.Fatalf("export does not parse: %v\n%q", err, b.String())
		}
		if len(rows) != 2 {
			t.Fatalf("%d rows, want 2: %q", len(rows), rows)
		}
		// With CRLF line ends encoding/csv writes \n in a field as \r\n and
		// drops a lone \r; it reads \r\n back as \n.
		norm := func(s string) string { return strings.ReplaceAll(csvCell(s), "\r", "") }
		if got := rows[1][3]; got != norm(number) {
			t.Errorf("order number %q came back %q", number, got)
		}
		if got := rows[1][12]; got != norm(errText) {
			t.Errorf("error %q came back %q", errText, got)
		}
		for _, cell := range rows[1] {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("cell %q starts a formula", cell)
			}
		}
	})
}
