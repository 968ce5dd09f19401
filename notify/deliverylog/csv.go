package deliverylog

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"time"
)

// CSVHeader names the columns WriteCSV writes.
var CSVHeader = []string{"id", "at", "order_id", "order_number", "shipment_id", "trigger", "channel",
	"recipient", "locale", "template_version", "result", "provider_id", "error", "attempt"}

// CSVWriter writes attempts as CSV (RFC 4180: CRLF line ends, fields quoted
// when they need it), a header row first. Cells that a spreadsheet would
// run as a formula are defused (see csvCell). The recipient hash is not
// written.
type CSVWriter struct {
	w      *csv.Writer
	header bool
}

// NewCSVWriter returns a writer to w; call Write for each page of
// attempts, then Flush.
func NewCSVWriter(w io.Writer) *CSVWriter {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	return &CSVWriter{w: cw}
}

// Write writes attempts, after the header row on the first call.
func (c *CSVWriter) Write(attempts []Attempt) error {
	if !c.header {
		c.header = true
		if err := c.w.Write(CSVHeader); err != nil {
			return fmt.Errorf("write csv: %w", err)
		}
	}
	row := make([]string, len(CSVHeader))
	for _, a := range attempts {
		row = append(row[:0],
			a.ID, a.At.UTC().Format(time.RFC3339Nano), a.OrderID, a.OrderNumber, a.ShipmentID,
			string(a.Trigger), string(a.Channel), a.Recipient, a.Locale, strconv.Itoa(a.TemplateVersion),
			a.Result, a.ProviderID, a.Error, strconv.Itoa(a.Attempt))
		for i := range row {
			row[i] = csvCell(row[i])
		}
		if err := c.w.Write(row); err != nil {
			return fmt.Errorf("write csv: %w", err)
		}
	}
	return nil
}

// WriteRow writes one free-form row (a note such as "truncated"), defused
// like the others, after the header if none was written yet.
func (c *CSVWriter) WriteRow(cells ...string) error {
	if err := c.Write(nil); err != nil {
		return err
	}
	row := make([]string, len(cells))
	for i, s := range cells {
		row[i] = csvCell(s)
	}
	if err := c.w.Write(row); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}

// Flush writes what is buffered and returns the first write error.
func (c *CSVWriter) Flush() error {
	c.w.Flush()
	if err := c.w.Error(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}

// WriteCSV writes attempts to w as CSV with a header row.
func WriteCSV(w io.Writer, attempts []Attempt) error {
	cw := NewCSVWriter(w)
	if err := cw.Write(attempts); err != nil {
		return err
	}
	return cw.Flush()
}

// csvCell defuses CSV formula injection as OWASP advises: a cell that
// starts with =, +, -, @, tab or carriage return is run as a formula by
// spreadsheets, so it gets a leading single quote and reads as text.
// Error messages and order numbers come from carriers, providers and the
// OMS, and the export is opened in a spreadsheet.
func csvCell(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}
