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
	// dsnRelayed: delivered to a server that sends no DSN of its own
	// (RFC 3461 §5.2.2), reported to a sender who asked NOTIFY=SUCCESS.
	dsnRelayed = "relayed"
)

type dsnRecipient struct {
	addr        string
	status      string // RFC 3463
	diagnostic  string // the remote reply or our error
	remote      string
	lastAttempt time.Time
	retryUntil  time.Time // delayed only
	orcpt       string    // the ORCPT parameter, "type;address" (RFC 3461 §4.2)
}

type dsnInput struct {
	hostname string
	to       string
	action   string
	arrival  time.Time
	date     time.Time
	rcpts    []dsnRecipient
	headers  []byte // the original message's header
	full     []byte // or the whole message (RET=FULL), when not nil
	queueID  int64
	envID    string // the ENVID parameter (RFC 3461 §4.4)
}

// maxReturnedHeader bounds the original header returned in the DSN;
// maxReturnedFull the whole message returned for RET=FULL (larger ones
// get their header).
const (
	maxReturnedHeader = 64 << 10
	maxReturnedFull   = 10 << 20
)

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
	switch in.action {
	case dsnDelayed:
		subject = "Delayed Mail (still being retried)"
	case dsnRelayed:
		subject = "Successful Mail Relay Report"
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
	switch in.action {
	case dsnDelayed:
		w("This is the mail system at %s.", in.hostname)
		w("")
		w("Your message could not be delivered yet to the recipients below.")
		w("It will be retried until %s; you need not send it again.", in.rcpts[0].retryUntil.UTC().Format(time.RFC1123Z))
	case dsnRelayed:
		w("This is the mail system at %s.", in.hostname)
		w("")
		w("Your message was handed to the recipients' mail server below, as you")
		w("asked to be told. That server does not send delivery notifications, so")
		w("this is the last report you will get about it.")
	default:
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
	if in.envID != "" {
		w("Original-Envelope-Id: %s", oneLine(in.envID))
	}
	w("Reporting-MTA: dns; %s", in.hostname)
	w("X-Letterbox-Queue-ID: %d", in.queueID)
	w("Arrival-Date: %s", in.arrival.Format(time.RFC1123Z))
	for _, r := range in.rcpts {
		// Per-recipient fields (§2.3).
		w("")
		if typ, addr, ok := strings.Cut(r.orcpt, ";"); ok {
			w("Original-Recipient: %s; %s", typ, oneLine(addr))
		}
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
	returned := in.headers
	if in.full != nil {
		// RFC 3462 §2: the returned message as message/rfc822.
		w("Content-Type: message/rfc822")
		w("Content-Description: Undelivered message")
		returned = in.full
	} else {
		w("Content-Type: text/rfc822-headers")
		w("Content-Description: Message headers")
	}
	w("")
	h := strings.ReplaceAll(strings.ReplaceAll(string(returned), "\r\n", "\n"), "\n", "\r\n")
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
