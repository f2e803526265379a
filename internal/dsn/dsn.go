// Package dsn formats delivery status notifications (RFC 3464): the
// multipart/report (RFC 6522) that tells a sender what became of a message
// for some of its recipients. The outbound worker makes failed, delayed
// and relayed notices; submission makes delivered ones (RFC 3461 §5.2.3).
// Notices are stored in the sender's INBOX, not sent.
package dsn

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"strings"
	"time"
)

// Actions (RFC 3464 §2.3.3).
const (
	Failed  = "failed"
	Delayed = "delayed"
	// Relayed: handed to a server that sends no DSN of its own
	// (RFC 3461 §5.2.2), told to a sender who asked NOTIFY=SUCCESS.
	Relayed = "relayed"
	// Delivered: stored in the recipient's mailbox (RFC 3461 §5.2.3).
	Delivered = "delivered"
)

// Recipient is one recipient a notice reports on.
type Recipient struct {
	Addr        string
	Status      string // RFC 3463
	Diagnostic  string // the remote reply or our error
	Remote      string // the remote MTA, "" when none
	LastAttempt time.Time
	RetryUntil  time.Time // Delayed only
	ORcpt       string    // the ORCPT parameter, "type;address" (RFC 3461 §4.2)
}

// Report is one notice.
type Report struct {
	Hostname string // ours: Reporting-MTA and the From address's domain
	To       string // the sender told
	Action   string
	Arrival  time.Time
	Date     time.Time
	Rcpts    []Recipient
	Headers  []byte // the original message's header
	Full     []byte // or the whole message (RET=FULL), when not nil
	QueueID  int64  // the queue ID, 0 when none
	EnvID    string // the ENVID parameter (RFC 3461 §4.4)
}

// MaxReturnedHeader bounds the original header returned in a notice;
// MaxReturnedFull the whole message returned for RET=FULL (larger ones
// get their header).
const (
	MaxReturnedHeader = 64 << 10
	MaxReturnedFull   = 10 << 20
)

// ReadHeader reads a message's header section (up to the empty line).
func ReadHeader(r io.Reader) []byte {
	br := bufio.NewReader(io.LimitReader(r, MaxReturnedHeader))
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

// Build makes a delivery status notification (RFC 3464): a
// multipart/report (RFC 6522) with a human-readable part, the
// message/delivery-status part, and the original header as
// text/rfc822-headers (or the message as message/rfc822). It is
// Auto-Submitted (RFC 3834) and its own envelope sender would be null
// (RFC 5321 §4.5.5); it is stored, not sent.
func Build(in Report) []byte {
	boundary := "dsn-" + strings.ToLower(rand.Text()[:20])
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\r\n", args...) }
	subject := "Undelivered Mail Returned to Sender"
	switch in.Action {
	case Delayed:
		subject = "Delayed Mail (still being retried)"
	case Relayed:
		subject = "Successful Mail Relay Report"
	case Delivered:
		subject = "Successful Mail Delivery Report"
	}
	w("From: Mail Delivery System <MAILER-DAEMON@%s>", in.Hostname)
	w("To: <%s>", in.To)
	w("Subject: %s", subject)
	w("Date: %s", in.Date.Format(time.RFC1123Z))
	w("Message-ID: <%s@%s>", strings.ToLower(rand.Text()), in.Hostname)
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
	switch in.Action {
	case Delayed:
		w("This is the mail system at %s.", in.Hostname)
		w("")
		w("Your message could not be delivered yet to the recipients below.")
		w("It will be retried until %s; you need not send it again.", in.Rcpts[0].RetryUntil.UTC().Format(time.RFC1123Z))
	case Relayed:
		w("This is the mail system at %s.", in.Hostname)
		w("")
		w("Your message was handed to the recipients' mail server below, as you")
		w("asked to be told. That server does not send delivery notifications, so")
		w("this is the last report you will get about it.")
	case Delivered:
		w("This is the mail system at %s.", in.Hostname)
		w("")
		w("Your message was delivered to the mailboxes of the recipients below,")
		w("as you asked to be told.")
	default:
		w("This is the mail system at %s.", in.Hostname)
		w("")
		w("Your message could not be delivered to the recipients below.")
		w("It will not be retried.")
	}
	w("")
	for _, r := range in.Rcpts {
		w("<%s>: %s", r.Addr, oneLine(r.Diagnostic))
	}
	w("")
	w("--%s", boundary)
	w("Content-Type: message/delivery-status")
	w("Content-Description: Delivery report")
	w("")
	// Per-message fields (§2.2).
	if in.EnvID != "" {
		w("Original-Envelope-Id: %s", oneLine(in.EnvID))
	}
	w("Reporting-MTA: dns; %s", in.Hostname)
	if in.QueueID != 0 {
		w("X-Letterbox-Queue-ID: %d", in.QueueID)
	}
	w("Arrival-Date: %s", in.Arrival.Format(time.RFC1123Z))
	for _, r := range in.Rcpts {
		// Per-recipient fields (§2.3).
		w("")
		if typ, addr, ok := strings.Cut(r.ORcpt, ";"); ok {
			w("Original-Recipient: %s; %s", typ, oneLine(addr))
		}
		w("Final-Recipient: rfc822; %s", r.Addr)
		w("Action: %s", in.Action)
		w("Status: %s", r.Status)
		if r.Remote != "" {
			w("Remote-MTA: dns; %s", r.Remote)
		}
		if r.Diagnostic != "" {
			kind := "smtp"
			if len(r.Diagnostic) < 3 || r.Diagnostic[0] < '2' || r.Diagnostic[0] > '5' {
				kind = "x-letterbox"
			}
			w("Diagnostic-Code: %s; %s", kind, oneLine(r.Diagnostic))
		}
		if !r.LastAttempt.IsZero() {
			w("Last-Attempt-Date: %s", r.LastAttempt.Format(time.RFC1123Z))
		}
		if in.Action == Delayed && !r.RetryUntil.IsZero() {
			w("Will-Retry-Until: %s", r.RetryUntil.Format(time.RFC1123Z))
		}
	}
	w("")
	w("--%s", boundary)
	returned := in.Headers
	if in.Full != nil {
		// RFC 3462 §2: the returned message as message/rfc822.
		w("Content-Type: message/rfc822")
		w("Content-Description: Undelivered message")
		returned = in.Full
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
