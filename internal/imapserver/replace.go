package imapserver

import (
	"io"

	"github.com/letterbox/letterbox/internal/imap"
	"github.com/letterbox/letterbox/internal/store"
)

// cmdReplace: REPLACE and UID REPLACE (RFC 8508 §3). The new message is
// appended to the named mailbox exactly as APPEND would (flags, date,
// literal8, UTF8 and CATENATE data, APPENDLIMIT, quota: a failure is
// APPEND's NO, e.g. [TOOBIG], [OVERQUOTA] or [TRYCREATE], and then nothing
// is expunged, §3.3), then the message it replaces is expunged. The
// APPENDUID goes in an untagged OK before the expunge (§3.3, as MOVE sends
// COPYUID), and the client hears EXISTS (when the new message lands in the
// selected mailbox) and EXPUNGE or VANISHED in the same response, before
// the tagged OK: from the client's view the replacement is one step.
//
// A sequence number beyond the mailbox is BAD, as for every command
// (resolveSeqs); a UID the mailbox does not hold is NO [NONEXISTENT]
// (RFC 5530 §3) with nothing appended. After EXAMINE the command is
// refused with NO [READ-ONLY] (§3.3: the expunge could not be done).
func (s *session) cmdReplace(cmd *imap.Command) (string, error) {
	a := cmd.Args.(*imap.ReplaceArgs)
	v := s.sel
	if v.readOnly {
		return "", errNo("READ-ONLY", "Mailbox is read-only")
	}
	if !s.selRights().Has(store.RightDeleteMessage | store.RightExpunge) {
		// The old message goes away: t and e, as for MOVE (RFC 4314 §4).
		return "", errNoPerm()
	}
	uids, err := s.resolve(a.Seq, cmd.UID)
	if err != nil {
		return "", err
	}
	if len(uids) != 1 || v.pendingExpunge[uids[0]] {
		return "", errNo("NONEXISTENT", "No such message to replace")
	}
	old := uids[0]
	ref, info, err := s.appendTarget(a.Mailbox)
	if err != nil {
		return "", err
	}
	var opened []io.Closer
	defer func() {
		for _, c := range opened {
			c.Close()
		}
	}()
	msg, err := s.appendMessage(a.Message, &opened)
	if err != nil {
		return "", err
	}
	msg.Flags = permittedFlags(msg.Flags, ref.rights) // RFC 4314 §4
	validity, newUIDs, err := s.appendOne(ref.owner, info.Name, msg)
	if err != nil {
		if pe := storeError(err, true); pe != nil {
			return "", pe
		}
		return "", err
	}
	s.c.w.WriteStatus("", "OK", "APPENDUID "+utoa(uint64(validity))+" "+uidSetText(newUIDs), "Replacement Message ready")
	if info.ID == v.id {
		s.changed = true
	}
	gone, err := v.mbox.Expunge(s.ctx, []store.UID{old})
	if err != nil {
		return "", err
	}
	for _, u := range gone {
		if v.seqOf(u) > 0 {
			v.pendingExpunge[u] = true
		}
	}
	return "", nil
}
