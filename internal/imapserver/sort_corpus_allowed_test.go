package imapserver_test

import (
	"bytes"
	"regexp"
	"strings"
	"time"

	"github.com/emersion/go-message/charset"

	"github.com/letterbox/letterbox/internal/mime"
)

// corpusDeviation is a way Dovecot's SORT, THREAD or SEARCH answers
// depart from the RFCs, which letterbox does not copy. When an answer
// differs, the comparison asks both servers again without the messages
// of the deviations that can touch that command; the difference is
// allowed only if the answers are then equal, and it is reported with
// those messages' UIDs and the deviation's reason.
type corpusDeviation struct {
	// reason names what Dovecot does and the RFC section letterbox
	// follows instead.
	reason string
	// affects reports whether the command can show the deviation.
	affects func(cmd string) bool
	// concerns reports whether a message shows it.
	concerns func(m corpusMessage) bool
}

var corpusDeviations = []corpusDeviation{
	{
		reason: "a Date before 1970: Dovecot keeps the sent date as an unsigned 32-bit count " +
			"of seconds, so it sorts after every later date; RFC 5256 §2.2 orders by the date itself",
		affects: func(cmd string) bool {
			return strings.Contains(cmd, "DATE") || strings.Contains(cmd, "THREAD") || strings.Contains(cmd, " SENT")
		},
		concerns: func(m corpusMessage) bool {
			raw := m.raw
			d, ok := firstField(raw, "Date")
			if !ok {
				return false
			}
			t, err := mime.ParseDate(d)
			return err == nil && t.Unix() < 0
		},
	},
	{
		reason: "a military time zone other than Z: Dovecot reads A-I as +0100 to +0900, K-M " +
			"as +1000 to +1200 and N-Y as -0100 to -1200 (RFC 822 had the signs the other way); " +
			"RFC 5322 §4.3 says to read them as -0000, and RFC 5256 §2.2 orders by that date",
		affects: func(cmd string) bool {
			return strings.Contains(cmd, "DATE") || strings.Contains(cmd, "THREAD") || strings.Contains(cmd, " SENT")
		},
		concerns: func(m corpusMessage) bool {
			raw := m.raw
			d, _ := firstField(raw, "Date")
			f := strings.Fields(d)
			if len(f) == 0 {
				return false
			}
			z := strings.ToUpper(f[len(f)-1])
			return len(z) == 1 && z[0] >= 'A' && z[0] <= 'Y' && z[0] != 'J'
		},
	},
	{
		reason: "8-bit text that is not valid UTF-8 (raw, or in a UTF-8 encoded word) searched " +
			"with SUBJECT, FROM, TO or CC: letterbox reads the bad bytes as Latin-1 so that " +
			"they stay searchable (mime.DecodeHeader), Dovecot replaces them with U+FFFD; " +
			"RFC 3501 §6.4.4 does not say (SORT and THREAD keys do replace them, as Dovecot)",
		affects: func(cmd string) bool {
			c := searchCriteria(cmd)
			return strings.Contains(c, "SUBJECT ") || strings.Contains(c, "FROM ") || strings.Contains(c, "TO ") || strings.Contains(c, "CC ")
		},
		concerns: func(m corpusMessage) bool {
			raw := m.raw
			for _, f := range []string{"Subject", "From", "To", "Cc"} {
				v, _ := firstField(raw, f)
				if mime.DecodeHeader(v) != mime.DecodeHeaderReplacing(v) {
					return true
				}
			}
			return false
		},
	},
	{
		reason: "an encoded word in an unknown charset: Dovecot leaves its text out of the " +
			"i;unicode-casemap folding; RFC 5256 §2.1 and §3 compare the whole base subject " +
			"folded (RFC 5051)",
		affects: func(cmd string) bool {
			return strings.Contains(cmd, "SUBJECT") || strings.Contains(cmd, "THREAD")
		},
		concerns: func(m corpusMessage) bool {
			raw := m.raw
			s, _ := firstField(raw, "Subject")
			for _, m := range encodedWordCharset.FindAllStringSubmatch(s, -1) {
				if _, err := charset.Reader(m[1], bytes.NewReader(nil)); err != nil {
					return true
				}
			}
			return false
		},
	},
	{
		reason: `an address field whose first address is "<>" (no addr-spec): Dovecot sorts ` +
			`its placeholder "MISSING_MAILBOX" as the mailbox; RFC 5256 §3 (and RFC 5957 §3.1) ` +
			`have no addr-mailbox there, so the key is empty`,
		affects: func(cmd string) bool {
			return strings.Contains(cmd, "FROM") || strings.Contains(cmd, "TO") || strings.Contains(cmd, "CC")
		},
		concerns: func(m corpusMessage) bool {
			raw := m.raw
			for _, f := range []string{"From", "To", "Cc"} {
				if v, _ := firstField(raw, f); strings.HasPrefix(strings.TrimSpace(v), "<>") {
					return true
				}
			}
			return false
		},
	},
	{
		reason: "a message with two Subject fields: Dovecot's SEARCH SUBJECT matches either; " +
			"RFC 3501 §6.4.4 searches the envelope's SUBJECT, the first field",
		affects: func(cmd string) bool { return strings.Contains(searchCriteria(cmd), "SUBJECT ") },
		concerns: func(m corpusMessage) bool {
			raw := m.raw
			_, ok := nthField(raw, "Subject", 1)
			return ok
		},
	},
	{
		reason: "an INTERNALDATE whose day in its own zone is not its day in UTC, searched " +
			"with SINCE, BEFORE or ON: letterbox takes the day as the date-time was written, " +
			"Dovecot the day in the server's zone (UTC here); RFC 3501 §6.4.4 says only " +
			"\"disregarding time and timezone\" (a choice for the lead, not a Dovecot fault)",
		affects: func(cmd string) bool {
			c := " " + searchCriteria(cmd)
			return strings.Contains(c, " SINCE ") || strings.Contains(c, " BEFORE ") || strings.Contains(c, " ON ")
		},
		concerns: func(m corpusMessage) bool {
			t, err := time.Parse("02-Jan-2006 15:04:05 -0700", m.internal)
			return err == nil && t.Day() != t.UTC().Day()
		},
	},
}

// searchCriteria is the part of a SORT or THREAD command after the
// charset.
func searchCriteria(cmd string) string {
	for _, cs := range []string{" UTF-8 ", " US-ASCII "} {
		if _, after, ok := strings.Cut(cmd, cs); ok {
			return after
		}
	}
	return ""
}

var encodedWordCharset = regexp.MustCompile(`=\?([^?*]+)(?:\*[^?]*)?\?[bBqQ]\?`)

// firstField is the unfolded value of the first header field called
// name (any case).
func firstField(raw, name string) (string, bool) { return nthField(raw, name, 0) }

// nthField is the unfolded value of the n-th (from 0) field called name.
func nthField(raw, name string, n int) (string, bool) {
	header, _, _ := strings.Cut(raw, "\r\n\r\n")
	var fields []string
	for _, line := range strings.Split(header, "\r\n") {
		if (strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t")) && len(fields) > 0 {
			fields[len(fields)-1] += line
			continue
		}
		fields = append(fields, line)
	}
	for _, f := range fields {
		k, v, ok := strings.Cut(f, ":")
		if ok && strings.EqualFold(k, name) {
			if n == 0 {
				return v, true
			}
			n--
		}
	}
	return "", false
}
