package imapserver

import (
	"strings"

	"github.com/letterbox/letterbox/internal/imap"
)

// cmdEnable: ENABLE (RFC 5161) for CONDSTORE and QRESYNC (RFC 7162 §3.2.3;
// QRESYNC implies CONDSTORE), IMAP4rev2 (RFC 9051 §6.3.1) and UTF8=ACCEPT
// (RFC 6855 §3). Unknown capabilities are ignored; "* ENABLED" lists what
// this command newly turned on.
func (s *session) cmdEnable(cmd *imap.Command) (string, error) {
	a := cmd.Args.(*imap.EnableArgs)
	var enabled []string
	for _, c := range a.Capabilities {
		switch strings.ToUpper(c) {
		case "CONDSTORE":
			if !s.condstore {
				s.enableCondstore()
				enabled = append(enabled, "CONDSTORE")
			}
		case "QRESYNC":
			if !s.qresync {
				s.qresync = true
				s.enableCondstore()
				enabled = append(enabled, "QRESYNC")
			}
		case "IMAP4REV2":
			if !s.rev2 {
				s.rev2 = true
				s.c.setUTF8()
				enabled = append(enabled, "IMAP4rev2")
			}
		case "UIDONLY":
			// RFC 9586 §3.1 (uidonly.go).
			if !s.uidonly && advertised("UIDONLY") {
				s.uidonly = true
				enabled = append(enabled, "UIDONLY")
			}
		case "UTF8=ACCEPT":
			if !s.utf8 && advertised("UTF8=ACCEPT") {
				s.utf8 = true
				s.c.setUTF8()
				enabled = append(enabled, "UTF8=ACCEPT")
			}
		}
	}
	w := s.c.w
	w.StartUntagged()
	w.Raw("ENABLED")
	for _, e := range enabled {
		w.SP()
		w.Atom(e)
	}
	w.CRLF()
	return "", nil
}

// enableCondstore turns CONDSTORE on for a CONDSTORE enabling command
// (RFC 7162 §3.1: ENABLE CONDSTORE or QRESYNC, FETCH MODSEQ or
// CHANGEDSINCE, SEARCH MODSEQ, STORE UNCHANGEDSINCE, STATUS HIGHESTMODSEQ).
// The first one issued while a mailbox is selected sends
// "* OK [HIGHESTMODSEQ n]" before its other responses (RFC 7162 §3.1, as
// Dovecot does): the client learns the value it synchronises from. SELECT
// and EXAMINE always report HIGHESTMODSEQ themselves.
func (s *session) enableCondstore() {
	if s.condstore {
		return
	}
	s.condstore = true
	if s.sel != nil {
		s.c.w.WriteStatus("", "OK", "HIGHESTMODSEQ "+utoa(uint64(s.sel.lastModSeq)), "Highest")
	}
}

// cmdID: ID (RFC 2971). The client's fields are logged; we answer with
// our name.
func (s *session) cmdID(cmd *imap.Command) (string, error) {
	if a, ok := cmd.Args.(*imap.IDArgs); ok && len(a.Fields) > 0 {
		attrs := make([]any, 0, 2*len(a.Fields))
		for _, f := range a.Fields {
			if f.Value != nil && len(attrs) < 60 {
				attrs = append(attrs, "id."+f.Key, *f.Value)
			}
		}
		s.log.Debug("imap client id", attrs...)
	}
	s.c.w.Untagged(`ID ("name" "letterbox" "vendor" "letterbox")`)
	return "", nil
}
