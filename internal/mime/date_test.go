package mime

import (
	"testing"
	"time"
)

// TestParseDateObsoleteZones checks the RFC 5322 §4.3 zones (as Dovecot
// reads them) whatever the host's time zone is.
func TestParseDateObsoleteZones(t *testing.T) {
	for _, loc := range []string{"UTC", "America/New_York", "Europe/Berlin"} {
		l, err := time.LoadLocation(loc)
		if err != nil {
			t.Skip(err)
		}
		saved := time.Local
		time.Local = l
		for _, tc := range []struct {
			in   string
			want string // UTC, "" for an error
		}{
			{"Sat, 4 Mar 2023 10:00:00 EST", "2023-03-04T15:00:00Z"},
			{"Sat, 4 Mar 2023 10:00:00 edt", "2023-03-04T14:00:00Z"},
			{"4 Mar 2023 10:00:00 CST", "2023-03-04T16:00:00Z"},
			{"4 Mar 2023 10:00:00 CDT", "2023-03-04T15:00:00Z"},
			{"4 Mar 2023 10:00:00 MST", "2023-03-04T17:00:00Z"},
			{"4 Mar 2023 10:00:00 MDT", "2023-03-04T16:00:00Z"},
			{"4 Mar 2023 10:00:00 PST", "2023-03-04T18:00:00Z"},
			{"04 Mar 2023 10:00:00 PDT (Pacific)", "2023-03-04T17:00:00Z"},
			{"Sat, 04 Mar 2023 10:00:00 Z", "2023-03-04T10:00:00Z"},
			{"Sat, 04 Mar 2023 10:00:00 A", "2023-03-04T10:00:00Z"},
			{"Sat, 04 Mar 2023 10:00:00 UT", "2023-03-04T10:00:00Z"},
			{"4 Mar 2023 10:00 GMT", "2023-03-04T10:00:00Z"},
			{"Sat, 04 Mar 2023 10:00:00 CET", "2023-03-04T10:00:00Z"},
			{"Sat, 04 Mar 2023 10:00:00 +0100 (CET)", "2023-03-04T09:00:00Z"},
			{"Sat, 04 Mar 2023 10:00:00 +0100 (CET) (x)", "2023-03-04T09:00:00Z"},
			{"Sat, 4 Mar 23 10:00:00 EST", "2023-03-04T15:00:00Z"},
			{"Fri, 31 Dec 1965 23:59:59 +0000", "1965-12-31T23:59:59Z"},
			{"garbage", ""},
			{"Sat, 04 Mar 2023 10:00:00 Europe", ""},
		} {
			got, err := ParseDate(tc.in)
			switch {
			case tc.want == "" && err == nil:
				t.Errorf("%s: %q parsed as %v", loc, tc.in, got)
			case tc.want != "" && err != nil:
				t.Errorf("%s: %q: %v", loc, tc.in, err)
			case tc.want != "" && got.UTC().Format(time.RFC3339) != tc.want:
				t.Errorf("%s: %q = %v, want %s", loc, tc.in, got.UTC(), tc.want)
			}
		}
		time.Local = saved
	}
}
