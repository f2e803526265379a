package imap

import (
	"testing"
	"time"
)

func TestDates(t *testing.T) {
	zone := time.FixedZone("", -8*3600)
	dt := map[string]time.Time{
		"17-Jul-1996 02:44:25 -0700": time.Date(1996, 7, 17, 2, 44, 25, 0, time.FixedZone("", -7*3600)),
		" 7-Feb-1994 21:52:25 -0800": time.Date(1994, 2, 7, 21, 52, 25, 0, zone),
		"7-feb-1994 21:52:25 -0800":  time.Date(1994, 2, 7, 21, 52, 25, 0, zone),
	}
	for in, want := range dt {
		got, err := ParseDateTime(in)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseDateTime(%q) = %v, %v", in, got, err)
		}
	}
	if s := FormatDateTime(time.Date(1994, 2, 7, 21, 52, 25, 0, zone)); s != " 7-Feb-1994 21:52:25 -0800" {
		t.Errorf("FormatDateTime = %q", s)
	}
	for _, in := range []string{"", "7-Feb-1994", "32-Feb-1994 21:52:25 -0800", "7-Foo-1994 21:52:25 -0800", "7-Feb-1994 21:52:25"} {
		if _, err := ParseDateTime(in); err == nil {
			t.Errorf("ParseDateTime(%q) accepted", in)
		}
	}
	d := map[string]time.Time{
		"1-Feb-1994":  time.Date(1994, 2, 1, 0, 0, 0, 0, time.UTC),
		"01-FEB-1994": time.Date(1994, 2, 1, 0, 0, 0, 0, time.UTC),
		"29-Feb-2024": time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC),
	}
	for in, want := range d {
		got, err := ParseDate(in)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseDate(%q) = %v, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "29-Feb-2023", "0-Feb-1994", "1-Feb-94", "123-Feb-1994", "1 Feb 1994", "1-Feb-1994x"} {
		if _, err := ParseDate(in); err == nil {
			t.Errorf("ParseDate(%q) accepted", in)
		}
	}
}
