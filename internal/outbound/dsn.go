package outbound

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"strings"
	"time"
)

// DSN actions (RFC 3464 §2.3.3) this worker reports.
const (
	dsnFailed  = "failed"
	dsnDelayed = "delayed"
)

type dsnRecipient struct {
	addr        string
	status      string // RFC 3463
	diagnostic  string // the remote reply or our error
	remote      string
	lastAttempt time.Time
	retryUntil  time.Time // delayed only
}

type dsnInput struct {
	hostname string
	to       string
	action   string
	arrival  time.Time
	date     time.Time
	rcpts    []dsnRecipient
	headers  []byte // the original message's header
	queueID  int64
}

// maxReturnedHeader bounds the original header returned in the DSN.
const maxReturnedHeader = 64 << 10

// readHeader reads a message's header section (up to the empty line).
func readHeader(r io.Reader) []byte {
	br := bufio.NewReader(io.LimitReader(r, maxReturnedHeader))
	var b bytes.Buffer
	for {
		line, err := br.ReadString('\n')
		if strings.TrimRight(line, "\r\n") == "" {
			break
		}
		b.WriteString(line)
		if err != nil {
			break
		}
	}
	return b.Bytes()
}

// buildDSN makes a delivery status notification (RFC 3464): a
// multipart/report (RFC 6522) with a human-readable part, the
// message/delivery-status part, and the original header as
// text/rfc822-headers. It is Auto-Submitted (RFC 3834) and its own
// envelope sender would be null (RFC 5321 §4.5.5); it is stored, not sent.
func buildDSN(in dsnInput) []byte {
	boundary := "dsn-" + strings.ToLower(rand.Text()[:20])
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\r\n", args...) }
	subject := "Undelivered Mail Returned to Sender"
	if in.action == dsnDelayed {
		subject = "Delayed Mail (still being retried)"
	}
	w("From: Mail Delivery System <MAILER-DAEMON@%s>", in.hostname)
	w("To: <%s>", in.to)
	w("Subject: %s", subject)
	w("Date: %s", in.date.Format(time.RFC1123Z))
	w("Message-ID: <%s@%s>", strings.ToLower(rand.Text()), in.hostname)
	w("Auto-Submitted: auto-replied")
	w("MIME-Version: 1.0")
	w("Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"%s\"", boundary)
	w("")
	w("This is a MIME-encapsulated message.")
	w("")
	w("--%s", boundary)
	w("Content-Type: text/plain; charset=utf-8")
	w("Content-Description: Notification")
	w("")
	if in.action == dsnDelayed {
		w("This is the mail system at %s.", in.hostname)
		w("")
		w("Your message could not be delivered yet to the recipients below.")
		w("It will be retried until %s; you need not send it again.", in.rcpts[0].retryUntil.UTC().Format(time.RFC1123Z))
	} else {
		w("This is the mail system at %s.", in.hostname)
		w("")
		w("Your message could not be delivered to the recipients below.")
		w("It will not be retried.")
	}
	w("")
	for _, r := range in.rcpts {
		w("<%s>: %s", r.addr, oneLine(r.diagnostic))
	}
	w("")
	w("--%s", boundary)
	w("Content-Type: message/delivery-status")
	w("Content-Description: Delivery report")
	w("")
	// Per-message fields (§2.2).
	w("Reporting-MTA: dns; %s", in.hostname)
	w("X-Letterbox-Queue-ID: %d", in.queueID)
	w("Arrival-Date: %s", in.arrival.Format(time.RFC1123Z))
	for _, r := range in.rcpts {
		// Per-recipient fields (§2.3).
		w("")
		w("Final-Recipient: rfc822; %s", r.addr)
		w("Action: %s", in.action)
		w("Status: %s", r.status)
		if r.remote != "" {
			w("Remote-MTA: dns; %s", r.remote)
		}
		if r.diagnostic != "" {
			kind := "smtp"
			if len(r.diagnostic) < 3 || r.diagnostic[0] < '2' || r.diagnostic[0] > '5' {
				kind = "x-letterbox"
			}
			w("Diagnostic-Code: %s; %s", kind, oneLine(r.diagnostic))
		}
		w("Last-Attempt-Date: %s", r.lastAttempt.Format(time.RFC1123Z))
		if in.action == dsnDelayed && !r.retryUntil.IsZero() {
			w("Will-Retry-Until: %s", r.retryUntil.Format(time.RFC1123Z))
		}
	}
	w("")
	w("--%s", boundary)
	w("Content-Type: text/rfc822-headers")
	w("Content-Description: Undelivered message headers")
	w("")
	h := strings.ReplaceAll(strings.ReplaceAll(string(in.headers), "\r\n", "\n"), "\n", "\r\n")
	b.WriteString(h)
	if !strings.HasSuffix(h, "\r\n") {
		w("")
	}
	w("")
	w("--%s--", boundary)
	return []byte(b.String())
}

// oneLine keeps a diagnostic on one header line.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > 900 {
		s = s[:900]
	}
	return s
}
