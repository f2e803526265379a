package imapserver

import (
	"unsafe"

	"github.com/letterbox/letterbox/internal/store"
)

// fetchFromView answers a FETCH of UID, FLAGS and MODSEQ only (RFC 3501
// §6.4.5, RFC 7162 §3.1.4-5) from the selected view: synchronising
// clients ask "UID FETCH 1:* (UID FLAGS)" every time they open a
// mailbox, and this costs no store query. The view was brought up to date
// when the command started (session.refreshView).
//
// It is fetchOne without what view-only items never need (blob,
// structure, implicit \Seen), one UID lookup per message instead of three,
// and the keywords of a flag list announced once per distinct list (the
// store interns lists, so 10,000 messages share a handful).
func (s *session) fetchFromView(uids []store.UID, plan fetchPlan, changedSince uint64) error {
	v := s.sel
	w := s.c.w
	type list struct {
		p *string
		n int
	}
	var announced map[list]bool
	seq := 0
	for _, u := range uids {
		if seq = v.seqNear(u, seq); seq == 0 {
			continue
		}
		flags, modseq := v.flags[seq-1], v.modseqs[seq-1]
		if changedSince > 0 && uint64(modseq) <= changedSince {
			continue
		}
		if plan.hasFlags {
			// The client now knows these flags: no unsolicited FETCH
			// for them. Keywords another session created are in FLAGS
			// before a FETCH shows them (RFC 3501 §7.2.6).
			if len(v.pendingFlags) > 0 {
				delete(v.pendingFlags, u)
			}
			if len(flags) > 0 {
				key := list{unsafe.SliceData(flags), len(flags)}
				if !announced[key] {
					if announced == nil {
						announced = make(map[list]bool)
					}
					announced[key] = true
					s.announceKeywords(flags)
				}
			}
		}
		s.c.writeDeadline()
		s.startFetch(seq, u)
		for i, it := range plan.items {
			if i > 0 {
				w.SP()
			}
			switch it.Name {
			case "UID":
				w.Raw("UID ")
				w.Number(uint64(u))
			case "FLAGS":
				w.Raw("FLAGS ")
				recent := len(v.recent) > 0 && v.isRecent(u)
				w.Flags(s.flagsForClient(flags, recent))
			case "MODSEQ":
				w.Raw("MODSEQ (")
				w.Number(uint64(modseq))
				w.CloseList()
			}
		}
		w.CloseList()
		w.CRLF()
		if err := w.Err(); err != nil {
			return err
		}
	}
	return nil
}
