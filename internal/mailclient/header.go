package mailclient

import (
	"bufio"
	"io"
	"strings"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // RFC 2047 words in any charset
	"github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
)

// summaryFromHeader fills Date, From and Subject from an RFC 5322 header
// (POP3 TOP n 0 or RETR), decoding RFC 2047 words. A broken header yields
// what could be read; a listing must not fail on one odd message.
func summaryFromHeader(r io.Reader, s *Summary) {
	th, err := textproto.ReadHeader(bufio.NewReader(r))
	if err != nil && th.Len() == 0 {
		return
	}
	h := mail.Header{Header: message.Header{Header: th}}
	if subj, err := h.Subject(); err == nil {
		s.Subject = subj
	} else {
		s.Subject = h.Get("Subject")
	}
	if from, err := h.AddressList("From"); err == nil && len(from) > 0 {
		s.From = formatAddress(from[0].Name, from[0].Address)
	} else {
		s.From = strings.TrimSpace(h.Get("From"))
	}
	if d, err := h.Date(); err == nil {
		s.Date = d
	}
}

// summaryFromEnvelope fills Date, From and Subject from an IMAP ENVELOPE
// (RFC 3501 §7.4.2), already decoded by imapclient.
func summaryFromEnvelope(env *imap.Envelope, s *Summary) {
	if env == nil {
		return
	}
	s.Subject = env.Subject
	s.Date = env.Date
	for _, a := range env.From {
		if a.IsGroupStart() || a.IsGroupEnd() {
			continue
		}
		s.From = formatAddress(a.Name, a.Addr())
		break
	}
}

// formatAddress shows "Name <addr>" or just the address.
func formatAddress(name, addr string) string {
	if name == "" {
		return addr
	}
	if addr == "" {
		return name
	}
	return name + " <" + addr + ">"
}

// containsFold reports whether s contains substr, ignoring case (the
// substring match of RFC 3501 §6.4.4 SEARCH).
func containsFold(s, substr string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(substr))
}
