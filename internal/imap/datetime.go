package imap

import (
	"errors"
	"time"
)

// ErrBadDate is returned for a malformed date or date-time.
var ErrBadDate = errors.New("imap: invalid date")

var monthNames = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// FormatDateTime renders t as an IMAP date-time without quotes:
// "02-Jan-2006 15:04:05 -0700" (RFC 3501 §9, date-day-fixed with a leading
// space for one-digit days).
func FormatDateTime(t time.Time) string {
	return t.Format("_2-Jan-2006 15:04:05 -0700")
}

// ParseDateTime parses an IMAP date-time without its quotes (RFC 3501 §9):
// date-day-fixed "-" date-month "-" date-year SP time SP zone. A one-digit
// day without the leading space is accepted too.
func ParseDateTime(s string) (time.Time, error) {
	// Month names are case-insensitive in IMAP; time.Parse wants "Jan".
	b := []byte(s)
	if i := indexByte(b, '-'); i >= 0 && i+4 <= len(b) {
		if m := monthNumber(s[i+1 : i+4]); m != 0 {
			copy(b[i+1:], monthNames[m-1])
		}
	}
	for _, layout := range []string{"_2-Jan-2006 15:04:05 -0700", "2-Jan-2006 15:04:05 -0700"} {
		if t, err := time.Parse(layout, string(b)); err == nil {
			return t, nil
		}
	}
	return time.Time{}, ErrBadDate
}

// ParseDate parses an IMAP date (RFC 3501 §9 date-text: date-day "-"
// date-month "-" date-year) as midnight UTC. Month names are
// case-insensitive.
func ParseDate(s string) (time.Time, error) {
	day, rest := 0, s
	n := 0
	for n < len(rest) && n < 2 && rest[n] >= '0' && rest[n] <= '9' {
		day = day*10 + int(rest[n]-'0')
		n++
	}
	if n == 0 || len(rest) != n+1+3+1+4 || rest[n] != '-' || rest[n+4] != '-' {
		return time.Time{}, ErrBadDate
	}
	month := monthNumber(rest[n+1 : n+4])
	year := 0
	for _, c := range []byte(rest[n+5:]) {
		if c < '0' || c > '9' {
			return time.Time{}, ErrBadDate
		}
		year = year*10 + int(c-'0')
	}
	if month == 0 || day < 1 || day > daysIn(time.Month(month), year) {
		return time.Time{}, ErrBadDate
	}
	return time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC), nil
}

func monthNumber(s string) int {
	for i, m := range monthNames {
		if len(s) == 3 && (s[0]|0x20) == (m[0]|0x20) && (s[1]|0x20) == m[1] && (s[2]|0x20) == m[2] {
			return i + 1
		}
	}
	return 0
}

func daysIn(m time.Month, year int) int {
	return time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func indexByte(b []byte, c byte) int {
	for i := range b {
		if b[i] == c {
			return i
		}
	}
	return -1
}
