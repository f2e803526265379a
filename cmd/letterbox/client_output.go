package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/letterbox/letterbox/internal/mailclient"
)

// The --json output of the listing verbs. The schema is documented in
// docs/CLIENT.md and is stable: fields are only ever added. Times are
// RFC 3339; absent values are null, never omitted.

// messageJSON is one message of list, search and unread.
type messageJSON struct {
	ID      string   `json:"id"`
	UIDL    *string  `json:"uidl"`  // POP3 only; null over IMAP
	Flags   []string `json:"flags"` // IMAP flags; null over POP3
	Size    int64    `json:"size"`
	Date    *string  `json:"date"` // the Date field, RFC 3339; null when missing
	From    string   `json:"from"`
	Subject string   `json:"subject"`
	Path    string   `json:"path,omitempty"` // unread: the .eml file written
}

type listingJSON struct {
	Protocol string        `json:"protocol"`
	Mailbox  string        `json:"mailbox"`
	Messages []messageJSON `json:"messages"`
}

type unreadJSON struct {
	Protocol   string        `json:"protocol"`
	Mailbox    string        `json:"mailbox"`
	Downloaded int           `json:"downloaded"`
	Messages   []messageJSON `json:"messages"`
}

type mailboxJSON struct {
	Name       string   `json:"name"`
	Attributes []string `json:"attributes"`
	Messages   *int     `json:"messages"` // null when not selectable
	Unseen     *int     `json:"unseen"`
	Subscribed *bool    `json:"subscribed"` // null when the server cannot list subscriptions
}

type readJSON struct {
	ID          string           `json:"id"`
	From        string           `json:"from"`
	To          string           `json:"to"`
	Cc          string           `json:"cc"`
	ReplyTo     string           `json:"reply_to"`
	Date        *string          `json:"date"`
	Subject     string           `json:"subject"`
	MessageID   string           `json:"message_id"`
	Text        string           `json:"text"`
	TextHTML    bool             `json:"text_from_html"`
	Attachments []attachmentJSON `json:"attachments"`
}

type attachmentJSON struct {
	Index int    `json:"index"`
	Name  string `json:"name"`
	Type  string `json:"type"`
	Size  int64  `json:"size"`
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func jsonTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.Format(time.RFC3339)
	return &s
}

func mailboxName(p mailclient.Protocol, m string) string {
	if m == "" || p == mailclient.POP3 {
		return "INBOX"
	}
	return m
}

func summaryJSON(p mailclient.Protocol, s mailclient.Summary) messageJSON {
	m := messageJSON{ID: s.ID, Size: s.Size, Date: jsonTime(s.Date), From: s.From, Subject: s.Subject}
	if p == mailclient.POP3 {
		u := s.UIDL
		m.UIDL = &u
	} else {
		m.Flags = s.Flags
		if m.Flags == nil {
			m.Flags = []string{}
		}
	}
	return m
}

func summariesJSON(p mailclient.Protocol, mailbox string, sums []mailclient.Summary) listingJSON {
	out := listingJSON{Protocol: p.String(), Mailbox: mailboxName(p, mailbox), Messages: []messageJSON{}}
	for _, s := range sums {
		out.Messages = append(out.Messages, summaryJSON(p, s))
	}
	return out
}

func mailboxesJSON(boxes []mailclient.MailboxInfo, subscribed map[string]bool) map[string]any {
	out := []mailboxJSON{}
	for _, b := range boxes {
		mj := mailboxJSON{Name: b.Name, Attributes: b.Attrs}
		if subscribed != nil {
			sub := subscribed[b.Name]
			mj.Subscribed = &sub
		}
		if mj.Attributes == nil {
			mj.Attributes = []string{}
		}
		if b.Messages >= 0 {
			n, u := b.Messages, b.Unseen
			mj.Messages, mj.Unseen = &n, &u
		}
		out = append(out, mj)
	}
	return map[string]any{"mailboxes": out}
}

// subscriptions returns the subscribed mailboxes, or nil when the server
// cannot list them (POP3, or IMAP without LIST-EXTENDED): the listing then
// shows "-" rather than failing.
func subscriptions(e *env, c mailclient.Client) (map[string]bool, error) {
	f, err := mailclient.FoldersOf(c)
	if err != nil {
		return nil, nil
	}
	names, err := f.Subscribed(e.ctx)
	if errors.Is(err, mailclient.ErrMissingCapability) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m, nil
}

// showMessage prints a message as a mail reader does: the header fields a
// person reads, decoded; the text; the numbered attachments.
func showMessage(e *env, cf *clientFlags, id string, raw []byte) error {
	r := mailclient.Render(raw)
	if cf.json {
		out := readJSON{ID: id, From: r.From, To: r.To, Cc: r.Cc, ReplyTo: r.ReplyTo, Date: jsonTime(r.Date),
			Subject: r.Subject, MessageID: r.MessageID, Text: r.Text, TextHTML: r.FromHTML, Attachments: []attachmentJSON{}}
		for _, a := range r.Attachments {
			out.Attachments = append(out.Attachments, attachmentJSON{Index: a.Index, Name: a.Name, Type: a.Type, Size: a.Size})
		}
		return writeJSON(e.stdout, out)
	}
	var b strings.Builder
	field := func(name, v string) {
		if v != "" {
			fmt.Fprintf(&b, "%-8s %s\n", name+":", oneLine(v))
		}
	}
	field("From", r.From)
	field("To", r.To)
	field("Cc", r.Cc)
	field("Reply-To", r.ReplyTo)
	if !r.Date.IsZero() {
		field("Date", r.Date.Format("Mon, 2 Jan 2006 15:04:05 -0700"))
	} else {
		field("Date", r.DateText)
	}
	field("Subject", r.Subject)
	b.WriteString("\n")
	if r.FromHTML {
		b.WriteString("[HTML message shown as text]\n\n")
	}
	b.WriteString(mailclient.Terminal(r.Text))
	if len(r.Attachments) > 0 {
		b.WriteString("\nAttachments:\n")
		for _, a := range r.Attachments {
			name := a.Name
			if name == "" {
				name = "(no name)"
			}
			fmt.Fprintf(&b, "  %d. %s  (%s, %s)\n", a.Index, oneLine(name), a.Type, mailclient.HumanBytes(a.Size))
		}
		fmt.Fprintf(&b, "Save them with: letterbox client save %s --to DIR [--attachment N]\n", id)
	}
	_, err := io.WriteString(e.stdout, b.String())
	return err
}

// oneLine makes a header value safe on one terminal line.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == '\t' {
			return ' '
		}
		return r
	}, mailclient.Terminal(s))
}

// newProgress reports on stderr: redrawn in place on a terminal, plain
// lines otherwise.
func newProgress(e *env, label string) *mailclient.Progress {
	tty := false
	if f, ok := e.stderr.(*os.File); ok {
		tty = isTerminal(f)
	}
	return mailclient.NewProgress(e.stderr, tty, label)
}
