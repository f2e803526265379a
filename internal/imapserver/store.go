package imapserver

import (
	"cmp"
	"slices"
	"strings"

	"github.com/letterbox/letterbox/internal/imap"
	"github.com/letterbox/letterbox/internal/store"
)

// cmdStore: STORE and UID STORE (RFC 3501 §6.4.6, §6.4.8) with .SILENT and
// UNCHANGEDSINCE (RFC 7162 §3.1.3: MODIFIED response code, MODSEQ in the
// FETCH responses). The store applies +FLAGS/-FLAGS atomically per message,
// so concurrent sessions never lose each other's changes.
func (s *session) cmdStore(cmd *imap.Command) (string, error) {
	a := cmd.Args.(*imap.StoreArgs)
	v := s.sel
	if v.readOnly && s.selRights()&(store.RightSeen|store.RightWrite|store.RightDeleteMessage) != 0 {
		return "", errNo("READ-ONLY", "Mailbox is read-only")
	}
	// A shared mailbox selected read-only because no flag may be changed
	// in it: STORE goes on and changes nothing (RFC 4314 §4 filters the
	// flags; Dovecot answers OK).
	uids, err := s.resolve(a.Seq, cmd.UID)
	if err != nil {
		return "", err
	}
	flags, err := clientFlags(a.Flags)
	if err != nil {
		return "", err
	}
	if a.HasUnchangedSince {
		s.enableCondstore()
	}
	op := store.FlagsReplace
	switch a.Op {
	case imap.StoreAdd:
		op = store.FlagsAdd
	case imap.StoreRemove:
		op = store.FlagsRemove
	}
	var res store.StoreResult
	oneWrite := false // res is one StoreFlags call's (its Before holds)
	switch {
	case len(uids) == 0:
	case a.HasUnchangedSince && a.UnchangedSince == 0:
		// Every message has a MODSEQ above 0: all fail the test.
		res.Modified = uids
	case !s.selRights().Has(store.RightSeen | store.RightWrite | store.RightDeleteMessage):
		// A shared mailbox where some flags are not this user's to
		// change: those are silently left alone (RFC 4314 §4).
		res, err = s.storePermitted(uids, op, flags, store.ModSeq(a.UnchangedSince))
		if err != nil {
			return "", err
		}
		op = store.FlagsReplace // report each message's own result
		flags = nil
	default:
		res, err = v.mbox.StoreFlags(s.ctx, uids, op, flags, store.ModSeq(a.UnchangedSince))
		if err != nil {
			return "", err
		}
		oneWrite = true
	}
	w := s.c.w
	// With .SILENT, CONDSTORE still wants the new MODSEQ (RFC 7162 §3.1.3
	// example 3).
	report := func(u store.FlagUpdate) {
		seq := v.seqOf(u.UID)
		if seq == 0 {
			return
		}
		// What the client believes the flags now are: what it was told,
		// with its own change applied. When another session's change is
		// in the result too, .SILENT must not hide it (RFC 3501 §6.4.6
		// silences the echo of the client's own change only).
		// (A pending flag change means the cached flags were never told.)
		told := store.ApplyFlags(v.flagsOf(u.UID), op, flags)
		if flags == nil && op == store.FlagsReplace {
			told = u.Flags // storePermitted: each message got its own FLAGS
		}
		wasTold := !v.pendingFlags[u.UID]
		v.setFlags(u.UID, u.Flags, u.ModSeq)
		silent := a.Silent && wasTold && sameFlags(told, u.Flags)
		if silent && !s.condstore {
			return
		}
		uidIsNumber := s.startFetch(seq, u.UID)
		if !silent {
			w.Raw("FLAGS ")
			w.Flags(s.flagsForClient(u.Flags, v.recent[u.UID]))
		}
		if !uidIsNumber {
			if !silent {
				w.SP()
			}
			w.Raw("UID ")
			w.Number(uint64(u.UID))
		}
		if s.condstore {
			if !silent || !uidIsNumber {
				w.SP()
			}
			w.Raw("MODSEQ (")
			w.Number(uint64(v.modseqOf(u.UID)))
			w.CloseList()
		}
		w.CloseList()
		w.CRLF()
	}
	// Report the messages whose flags changed, in sequence order
	// (RFC 3501 §6.4.6); like Dovecot, messages already as asked are not
	// reported. Their cached flags are refreshed all the same.
	// A message already as asked may still differ from what this client
	// was told (another session changed it): then it is reported at the
	// end of the command like any other change, never cached silently.
	for _, u := range res.Unchanged {
		if !sameFlags(v.flagsOf(u.UID), u.Flags) {
			v.setFlags(u.UID, u.Flags, 0)
			if v.seqOf(u.UID) > 0 {
				v.pendingFlags[u.UID] = true
			}
		}
	}
	for _, u := range res.Updated {
		s.announceKeywords(u.Flags)
		report(u)
	}
	// The view had every change up to Before and now has this STORE's:
	// it is up to date without a Changes read of what it just wrote
	// (which, for STORE 1:* on a big mailbox, is most of the command's
	// cost once the change log is outrun). A change by another session
	// after ours still moves HIGHESTMODSEQ past this and is read as usual.
	if n := len(res.Updated); oneWrite && n > 0 && res.Before == v.lastModSeq && res.Updated[n-1].ModSeq > v.lastModSeq {
		v.lastModSeq = res.Updated[n-1].ModSeq
	}
	if len(res.Modified) > 0 {
		nums := make([]uint32, 0, len(res.Modified))
		for _, u := range res.Modified {
			if cmd.UID {
				nums = append(nums, uint32(u))
			} else if seq := v.seqOf(u); seq > 0 {
				nums = append(nums, uint32(seq))
			}
		}
		return "MODIFIED " + imap.SeqSetFromNumbers(nums).String(), nil
	}
	return "", nil
}

// storePermitted is STORE on a mailbox where the user may change only some
// flags (RFC 4314 §4: \Seen needs s, \Deleted t, the others w): the
// others are dropped from +FLAGS and -FLAGS, and FLAGS keeps each
// message's current value of every flag it may not change, so messages
// are grouped by the flags they end with.
func (s *session) storePermitted(uids []store.UID, op store.FlagOp, flags []string, unchangedSince store.ModSeq) (store.StoreResult, error) {
	v := s.sel
	rights := s.selRights()
	allowed := permittedFlags(flags, rights)
	if op != store.FlagsReplace {
		if len(allowed) == 0 {
			return store.StoreResult{}, nil
		}
		return v.mbox.StoreFlags(s.ctx, uids, op, allowed, unchangedSince)
	}
	type group struct {
		flags []string
		uids  []store.UID
	}
	var groups []*group
	byKey := map[string]*group{}
	for _, u := range uids {
		target := append([]string{}, allowed...)
		for _, f := range v.flagsOf(u) {
			if !flagAllowed(f, rights) {
				target = append(target, f)
			}
		}
		slices.Sort(target)
		target = slices.Compact(target)
		key := strings.Join(target, " ")
		g := byKey[key]
		if g == nil {
			g = &group{flags: target}
			byKey[key] = g
			groups = append(groups, g)
		}
		g.uids = append(g.uids, u)
	}
	var all store.StoreResult
	for _, g := range groups {
		res, err := v.mbox.StoreFlags(s.ctx, g.uids, store.FlagsReplace, g.flags, unchangedSince)
		if err != nil {
			return all, err
		}
		all.Updated = append(all.Updated, res.Updated...)
		all.Unchanged = append(all.Unchanged, res.Unchanged...)
		all.Modified = append(all.Modified, res.Modified...)
	}
	slices.SortFunc(all.Updated, func(a, b store.FlagUpdate) int { return cmp.Compare(a.UID, b.UID) })
	slices.Sort(all.Modified)
	return all, nil
}
