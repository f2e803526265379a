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
	if move && !s.selRights().Has(store.RightDeleteMessage|store.RightExpunge) {
		// MOVE takes the messages out: t and e (RFC 4314 §4, RFC 6851).
		return "", errNoPerm()
	}
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
	destRef, err := s.lookupBox(dest)
	if err != nil {
		return "", err
	}
	if err := destRef.need(store.RightInsert); err != nil {
		return "", err
	}
	destInfo, err := destRef.boxes.Get(s.ctx, destRef.name)
	if err != nil {
		if pe := storeError(err, !destRef.shared); pe != nil {
			return "", pe
		}
		return "", err
	}
	if len(uids) == 0 {
		return "", nil
	}
	var res store.CopyResult
	switch {
	case destRef.owner != s.selRef.owner || !destRef.rights.Has(store.RightSeen|store.RightWrite|store.RightDeleteMessage):
		// Between two accounts (one of them shared with this user), or
		// into a shared mailbox where some flags may not be set.
		res, err = s.copyAcross(uids, destRef)
		if err == nil && move {
			_, err = v.mbox.Expunge(s.ctx, res.SourceUIDs)
		}
	case move:
		res, err = v.mbox.MoveTo(s.ctx, uids, destInfo.Name)
	default:
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

// copyAcross copies messages of the selected mailbox into another
// account's mailbox: their stored content goes in again, byte for byte,
// with their internal date and the flags the destination's rights allow
// (RFC 4314 §4), all or nothing (store.BatchAppender), counted against the
// destination owner's quota.
func (s *session) copyAcross(uids []store.UID, dest mbRef) (store.CopyResult, error) {
	ba, ok := s.srv.opts.Store.(store.BatchAppender)
	if !ok {
		return store.CopyResult{}, errNo("CANNOT", "Copying between accounts is not supported by this store")
	}
	details, err := s.sel.mbox.Details(s.ctx, uids)
	if err != nil {
		return store.CopyResult{}, err
	}
	if len(details) == 0 {
		return store.CopyResult{}, nil
	}
	msgs := make([]store.BatchMessage, 0, len(details))
	src := make([]store.UID, 0, len(details))
	var blobs []store.Blob
	defer func() {
		for _, b := range blobs {
			b.Close()
		}
	}()
	for _, d := range details {
		b, err := s.srv.opts.Store.OpenBlob(s.ctx, d.BlobID)
		if err != nil {
			return store.CopyResult{}, err
		}
		blobs = append(blobs, b)
		msgs = append(msgs, store.BatchMessage{
			Body:         verbatimBody{b},
			Flags:        permittedFlags(d.Flags, dest.rights),
			InternalDate: d.InternalDate,
		})
		src = append(src, d.UID)
	}
	res, err := ba.AppendBatch(s.ctx, dest.owner, dest.name, msgs)
	if err != nil {
		return store.CopyResult{}, err
	}
	return store.CopyResult{UIDValidity: res.UIDValidity, SourceUIDs: src, DestUIDs: res.UIDs}, nil
}
