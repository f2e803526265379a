package imapserver

import (
	"github.com/letterbox/letterbox/internal/imap"
	"github.com/letterbox/letterbox/internal/thread"
)

// cmdThread: THREAD and UID THREAD (RFC 5256 §3) with ORDEREDSUBJECT and
// REFERENCES. The search criteria go through SEARCH's evaluation; the
// algorithms are internal/thread's.
func (s *session) cmdThread(cmd *imap.Command) (string, error) {
	a := cmd.Args.(*imap.ThreadArgs)
	if a.Algorithm != "ORDEREDSUBJECT" && a.Algorithm != "REFERENCES" {
		return "", errBad("Unknown thread algorithm")
	}
	r, err := s.searchMatches(a.Charset, a.Key)
	if err != nil {
		return "", err
	}
	refs := a.Algorithm == "REFERENCES"
	msgs, err := s.sortMessages(r, refs)
	if err != nil {
		return "", err
	}
	in := make([]thread.Message, len(msgs))
	for i := range msgs {
		m := &msgs[i]
		num := uint32(m.seq)
		if cmd.UID {
			num = uint32(m.uid)
		}
		tm := thread.Message{Num: num, UID: uint32(m.uid), Date: m.sentDate(),
			Subject: m.f.rawSubject, HasSubject: m.f.rawSubject != "", MessageID: m.f.messageID}
		if refs {
			tm.Refs = m.refs
			if len(tm.Refs) == 0 && m.f.inReplyTo != "" {
				tm.Refs = []string{m.f.inReplyTo}
			}
		}
		in[i] = tm
	}
	var threads []*thread.Node
	if refs {
		threads = thread.References(in)
	} else {
		threads = thread.OrderedSubject(in)
	}
	w := s.c.w
	w.StartUntagged()
	w.Raw("THREAD")
	if len(threads) > 0 {
		w.SP()
		w.Raw(thread.Format(threads))
	}
	w.CRLF()
	return "", nil
}
