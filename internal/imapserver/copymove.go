package imapserver

import (
	"github.com/letterbox/letterbox/internal/imap"
	"github.com/letterbox/letterbox/internal/store"
)

// cmdCopy: COPY and UID COPY (RFC 3501 §6.4.7) with COPYUID (UIDPLUS,
// RFC 4315 §3) and TRYCREATE.
func (s *session) cmdCopy(cmd *imap.Command) (string, error) {
	return s.copyOrMove(cmd, false)
}

// cmdMove: MOVE and UID MOVE (RFC 6851 §3): the COPYUID goes in an
// untagged OK before the expunges, which are sent as EXPUNGE or VANISHED
// (RFC 6851 §3.3, RFC 7162 §3.2.10).
func (s *session) cmdMove(cmd *imap.Command) (string, error) {
	return s.copyOrMove(cmd, true)
}

func (s *session) copyOrMove(cmd *imap.Command, move bool) (string, error) {
	a := cmd.Args.(*imap.CopyArgs)
	v := s.sel
	if move && v.readOnly {
		return "", errNo("READ-ONLY", "Mailbox is read-only")
	}
	uids, err := s.resolve(a.Seq, cmd.UID)
	if err != nil {
		return "", err
	}
	dest, err := existingName(a.Mailbox) // no TRYCREATE: CREATE would fail
	if err != nil {
		return "", err
	}
	destInfo, err := s.boxes.Get(s.ctx, dest)
	if err != nil {
		if pe := storeError(err, true); pe != nil {
			return "", pe
		}
		return "", err
	}
	if len(uids) == 0 {
		return "", nil
	}
	var res store.CopyResult
	if move {
		res, err = v.mbox.MoveTo(s.ctx, uids, destInfo.Name)
	} else {
		res, err = v.mbox.CopyTo(s.ctx, uids, destInfo.Name)
	}
	if err != nil {
		if pe := storeError(err, true); pe != nil {
			return "", pe
		}
		return "", err
	}
	code := ""
	if len(res.SourceUIDs) > 0 {
		code = "COPYUID " + utoa(uint64(res.UIDValidity)) + " " + uidSet(res.SourceUIDs).String() + " " + uidSet(res.DestUIDs).String()
	}
	if destInfo.ID == v.id {
		s.changed = true
	}
	if move {
		if code != "" {
			s.c.w.WriteStatus("", "OK", code, "Moved")
		}
		for _, u := range res.SourceUIDs {
			if v.seqOf(u) > 0 {
				v.pendingExpunge[u] = true
			}
		}
		return "", nil
	}
	return code, nil
}
