package imapserver

import (
	"context"
	"slices"
	"sort"

	"github.com/letterbox/letterbox/internal/store"
)

// selectedView is one session's picture of its selected mailbox: the
// sequence-number ↔ UID map (RFC 3501 §2.3.1.2), the flags the client was
// last told, the \Recent messages this session claimed (RFC 3501 §2.3.2),
// the MODSEQ it has caught up to (RFC 7162 §3.1) and the changes made by
// others that are still to be announced (RFC 3501 §7.4.1, §5.2).
//
// The slices are parallel and sorted by UID: index i is sequence number i+1.
type selectedView struct {
	mbox store.Mailbox
	// pin keeps the content of messages expunged by others readable until
	// this view has announced their expunge (RFC 3501 §7.4.1 forbids
	// EXPUNGE during FETCH, STORE and SEARCH, so such a message can still
	// be fetched by sequence number). See store.Mailbox.Pin.
	pin      store.Pin
	name     string
	id       int64
	readOnly bool

	uids    []store.UID
	flags   [][]string
	modseqs []store.ModSeq

	recent map[store.UID]bool
	// announced maps the keywords the client was given in FLAGS
	// (lower-cased) to their spelling; a new one makes the session send
	// FLAGS again.
	announced  map[string]string
	lastModSeq store.ModSeq
	uidNext    store.UID
	validity   uint32

	// Pending: learned from the store but not yet told to the client.
	pendingExpunge map[store.UID]bool
	pendingNew     []store.Message
	pendingFlags   map[store.UID]bool

	// shared: uids, flags and modseqs are a mailboxSnapshot's, which
	// other views may be reading; own copies them before any change.
	shared bool
	// kw and unseen are the keywords in use and the first unseen
	// message's sequence number when the view was opened (SELECT's
	// FLAGS and UNSEEN).
	kw     []string
	unseen int
}

// advancePin lets the store collect content expunged at or below the MODSEQ
// this view has fully caught up to: nothing is pending, so every expunge up
// to lastModSeq has been told to the client.
func (v *selectedView) advancePin() {
	if v.pin != nil && len(v.pendingExpunge) == 0 {
		v.pin.Advance(v.lastModSeq)
	}
}

// release drops the view's pin.
func (v *selectedView) release() {
	if v.pin != nil {
		v.pin.Release()
		v.pin = nil
	}
}

func newSelectedView(mbox store.Mailbox, info store.MailboxInfo, msgs []store.Message, readOnly bool) *selectedView {
	v := &selectedView{
		mbox:           mbox,
		name:           info.Name,
		id:             info.ID,
		readOnly:       readOnly,
		recent:         map[store.UID]bool{},
		lastModSeq:     info.HighestModSeq,
		uidNext:        info.UIDNext,
		validity:       info.UIDValidity,
		pendingExpunge: map[store.UID]bool{},
		pendingFlags:   map[store.UID]bool{},
		uids:           make([]store.UID, len(msgs)),
		flags:          make([][]string, len(msgs)),
		modseqs:        make([]store.ModSeq, len(msgs)),
	}
	for i, m := range msgs {
		v.uids[i] = m.UID
		v.flags[i] = m.Flags
		v.modseqs[i] = m.ModSeq
		if m.ModSeq > v.lastModSeq {
			v.lastModSeq = m.ModSeq
		}
		if m.UID >= v.uidNext {
			v.uidNext = m.UID + 1
		}
	}
	return v
}

// count is the number of messages the client knows of (EXISTS).
func (v *selectedView) count() int { return len(v.uids) }

// seqOf returns the sequence number of uid, or 0 when not in the view.
func (v *selectedView) seqOf(uid store.UID) int {
	i, ok := slices.BinarySearch(v.uids, uid)
	if !ok {
		return 0
	}
	return i + 1
}

// seqNear is seqOf for a caller walking UIDs in ascending order: hint is
// the sequence number it found last, and the next UID is most often right
// after it. That saves the binary search, which over a 100,000-message
// view is 17 probes into an array larger than the CPU's fast caches.
func (v *selectedView) seqNear(uid store.UID, hint int) int {
	if hint >= 0 && hint < len(v.uids) && v.uids[hint] == uid {
		return hint + 1
	}
	return v.seqOf(uid)
}

// uidAt returns the UID at sequence number seq (1-based).
func (v *selectedView) uidAt(seq int) store.UID { return v.uids[seq-1] }

// maxUID is the highest UID in the view, 0 when empty.
func (v *selectedView) maxUID() store.UID {
	if len(v.uids) == 0 {
		return 0
	}
	return v.uids[len(v.uids)-1]
}

// flagsOf returns the cached flags of uid.
func (v *selectedView) flagsOf(uid store.UID) []string {
	if i := v.seqOf(uid); i > 0 {
		return v.flags[i-1]
	}
	return nil
}

// isRecent reports whether uid is \Recent for this session.
func (v *selectedView) isRecent(uid store.UID) bool { return v.recent[uid] }

// recentCount counts \Recent messages in the view: the claimed UIDs are
// usually far fewer than the messages.
func (v *selectedView) recentCount() int {
	n := 0
	for u, r := range v.recent {
		if r && v.seqOf(u) > 0 {
			n++
		}
	}
	return n
}

// setFlags records what the client was told about uid's flags (after STORE
// or an untagged FETCH FLAGS) so that the change feed does not repeat it.
func (v *selectedView) setFlags(uid store.UID, flags []string, modseq store.ModSeq) {
	if i := v.seqOf(uid); i > 0 {
		v.own()
		v.flags[i-1] = flags
		if modseq > 0 {
			v.modseqs[i-1] = modseq
		}
		delete(v.pendingFlags, uid)
	}
}

// modseqOf returns the cached MODSEQ of uid.
func (v *selectedView) modseqOf(uid store.UID) store.ModSeq {
	if i := v.seqOf(uid); i > 0 {
		return v.modseqs[i-1]
	}
	return 0
}

// claimRecent asks the store for the \Recent messages; the store hands each
// to exactly one session (RFC 3501 §2.3.2).
func (v *selectedView) claimRecent(ctx context.Context) error {
	if v.readOnly {
		// EXAMINE does not change \Recent state (RFC 3501 §6.3.2): new
		// messages nobody has claimed are shown \Recent without claiming
		// them (as Dovecot does; the snapshot's are marked by peekRecent).
		if len(v.pendingNew) == 0 {
			return nil
		}
		from, err := v.mbox.RecentFrom(ctx)
		if err != nil {
			return err
		}
		for _, m := range v.pendingNew {
			if m.UID >= from {
				v.recent[m.UID] = true
			}
		}
		return nil
	}
	uids, err := v.mbox.ClaimRecent(ctx)
	if err != nil {
		return err
	}
	for _, u := range uids {
		v.recent[u] = true
	}
	return nil
}

// refresh asks the store what changed after lastModSeq and queues it.
func (v *selectedView) refresh(ctx context.Context) error {
	ch, err := v.mbox.Changes(ctx, v.lastModSeq)
	if err != nil {
		return err
	}
	v.apply(ch)
	if len(v.pendingNew) > 0 {
		if err := v.claimRecent(ctx); err != nil {
			return err
		}
	}
	return nil
}

// apply queues the changes reported by the store.
func (v *selectedView) apply(ch store.Changes) {
	known := map[store.UID]bool{}
	for _, m := range v.pendingNew {
		known[m.UID] = true
	}
	for _, m := range ch.Updated {
		if i := v.seqOf(m.UID); i > 0 {
			if !sameFlags(v.flags[i-1], m.Flags) {
				v.own()
				v.pendingFlags[m.UID] = true
				v.flags[i-1] = m.Flags
			}
			if m.ModSeq > v.modseqs[i-1] {
				v.own()
				v.modseqs[i-1] = m.ModSeq
			}
			continue
		}
		if m.UID <= v.maxUID() {
			// Older than what we know but absent: already expunged here.
			continue
		}
		if known[m.UID] {
			for j := range v.pendingNew {
				if v.pendingNew[j].UID == m.UID {
					v.pendingNew[j] = m
				}
			}
			continue
		}
		known[m.UID] = true
		v.pendingNew = append(v.pendingNew, m)
	}
	sort.Slice(v.pendingNew, func(i, j int) bool { return v.pendingNew[i].UID < v.pendingNew[j].UID })
	for _, u := range ch.Expunged {
		if v.seqOf(u) > 0 {
			v.pendingExpunge[u] = true
			delete(v.pendingFlags, u)
			continue
		}
		if known[u] {
			// Appended and expunged before we announced it: forget it.
			v.pendingNew = slices.DeleteFunc(v.pendingNew, func(m store.Message) bool { return m.UID == u })
		}
	}
	if ch.HighestModSeq > v.lastModSeq {
		v.lastModSeq = ch.HighestModSeq
	}
	if ch.UIDNext > v.uidNext {
		v.uidNext = ch.UIDNext
	}
}

// updateKind names an untagged response a flush produces.
type updateKind int

const (
	updExpunge  updateKind = iota // * n EXPUNGE
	updVanished                   // * VANISHED uid-set (RFC 7162 §3.2.10)
	updExists                     // * n EXISTS
	updRecent                     // * n RECENT
	updFlags                      // * n FETCH (FLAGS ... UID ... MODSEQ ...)
)

// update is one untagged response to send.
type update struct {
	kind   updateKind
	seq    int
	uids   []store.UID // updVanished
	uid    store.UID
	flags  []string
	modseq store.ModSeq
	recent bool
}

// hasPending reports whether a flush would say anything.
func (v *selectedView) hasPending() bool {
	return len(v.pendingExpunge) > 0 || len(v.pendingNew) > 0 || len(v.pendingFlags) > 0
}

// flush turns pending changes into untagged responses. Expunges are only
// reported when allowExpunge (RFC 3501 §7.4.1: not during FETCH, STORE,
// SEARCH); vanished selects VANISHED over EXPUNGE (RFC 7162 §3.2.10).
// withRecent adds * n RECENT after EXISTS (IMAP4rev1 only).
func (v *selectedView) flush(allowExpunge, vanished, withRecent bool) []update {
	var out []update
	if allowExpunge && len(v.pendingExpunge) > 0 {
		gone := make([]store.UID, 0, len(v.pendingExpunge))
		for u := range v.pendingExpunge {
			gone = append(gone, u)
		}
		slices.Sort(gone)
		if vanished {
			out = append(out, update{kind: updVanished, uids: gone})
		}
		// In descending order every sequence number taken from the view
		// before removal stays valid for the client, which renumbers only
		// the messages above each EXPUNGE (RFC 3501 §7.4.1).
		if !vanished {
			for i := len(gone) - 1; i >= 0; i-- {
				if seq := v.seqOf(gone[i]); seq > 0 {
					out = append(out, update{kind: updExpunge, seq: seq, uid: gone[i]})
				}
			}
		}
		v.removeAll(v.pendingExpunge)
		clear(v.pendingExpunge)
	}
	if len(v.pendingNew) > 0 {
		v.own()
		var all []string // every flag of the new messages, for keyword checks
		for _, m := range v.pendingNew {
			v.uids = append(v.uids, m.UID)
			v.flags = append(v.flags, m.Flags)
			v.modseqs = append(v.modseqs, m.ModSeq)
			all = append(all, m.Flags...)
		}
		v.pendingNew = v.pendingNew[:0]
		out = append(out, update{kind: updExists, seq: len(v.uids), flags: all})
		if withRecent {
			out = append(out, update{kind: updRecent, seq: v.recentCount()})
		}
	}
	if len(v.pendingFlags) > 0 {
		changed := make([]store.UID, 0, len(v.pendingFlags))
		for u := range v.pendingFlags {
			changed = append(changed, u)
		}
		slices.Sort(changed)
		for _, u := range changed {
			seq := v.seqOf(u)
			if seq == 0 || v.pendingExpunge[u] {
				continue
			}
			out = append(out, update{kind: updFlags, seq: seq, uid: u, flags: v.flags[seq-1], modseq: v.modseqs[seq-1], recent: v.recent[u]})
		}
		clear(v.pendingFlags)
	}
	return out
}

// removeAll drops the given UIDs from the view in one pass (after their
// EXPUNGE or VANISHED was sent).
func (v *selectedView) removeAll(gone map[store.UID]bool) {
	v.own()
	j := 0
	for i, u := range v.uids {
		if gone[u] {
			delete(v.recent, u)
			delete(v.pendingFlags, u)
			continue
		}
		v.uids[j], v.flags[j], v.modseqs[j] = u, v.flags[i], v.modseqs[i]
		j++
	}
	clear(v.uids[j:])
	clear(v.flags[j:])
	v.uids, v.flags, v.modseqs = v.uids[:j], v.flags[:j], v.modseqs[:j]
}

// sameFlags compares two flag lists ignoring order and case.
func sameFlags(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := make(map[string]int, len(a))
	for _, f := range a {
		seen[lowerASCII(f)]++
	}
	for _, f := range b {
		k := lowerASCII(f)
		if seen[k] == 0 {
			return false
		}
		seen[k]--
	}
	return true
}

func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
