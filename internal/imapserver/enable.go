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
				s.condstore = true
				enabled = append(enabled, "CONDSTORE")
			}
		case "QRESYNC":
			if !s.qresync {
				s.qresync = true
				s.condstore = true
				enabled = append(enabled, "QRESYNC")
			}
		case "IMAP4REV2":
			if !s.rev2 {
				s.rev2 = true
				s.c.setUTF8()
				enabled = append(enabled, "IMAP4rev2")
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
