package mbox

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestRoundTrip: mboxrd quoting makes any body survive, ">From " lines
// included, and the flags ride in Status/X-Status/X-Keywords.
func TestRoundTrip(t *testing.T) {
	date := time.Date(2022, 11, 24, 18, 22, 48, 0, time.UTC)
	msgs := []Message{
		{Date: date, Flags: []string{`\Seen`, `\Flagged`, "Work"}, Body: []byte("Subject: one\r\n\r\nFrom here\r\n>From there\r\n>>From everywhere\r\n")},
		{Date: date.Add(time.Hour), Body: []byte("Subject: two\r\n\r\nno flags\r\n\r\n")},
		{Date: date.Add(2 * time.Hour), Flags: []string{`\Answered`, `\Deleted`, `\Draft`}, Body: []byte("Subject: three\r\n\r\nlast\r\n")},
	}
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for _, m := range msgs {
		if err := w.Write(m.Date, m.Flags, m.Body); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "\n>From here\n>>From there\n>>>From everywhere\n") {
		t.Fatalf("not mboxrd-quoted:\n%s", buf.String())
	}
	r := NewReader(&buf)
	for i, want := range msgs {
		got, err := r.Next()
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if !bytes.Equal(got.Body, want.Body) {
			t.Errorf("message %d body\n%q\nwant\n%q", i, got.Body, want.Body)
		}
		if !got.Date.Equal(want.Date) {
			t.Errorf("message %d date %v want %v", i, got.Date, want.Date)
		}
		g, w := slices.Clone(got.Flags), slices.Clone(want.Flags)
		slices.Sort(g)
		slices.Sort(w)
		if !slices.Equal(g, w) {
			t.Errorf("message %d flags %v want %v", i, g, w)
		}
	}
	if _, err := r.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("after the last message: %v", err)
	}
}

func TestNotMbox(t *testing.T) {
	_, err := NewReader(strings.NewReader("Subject: x\n\nbody\n")).Next()
	if err == nil || !strings.Contains(err.Error(), "not an mbox") {
		t.Fatalf("Next on a plain message = %v", err)
	}
	if _, err := NewReader(strings.NewReader("")).Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("empty file: %v", err)
	}
}
