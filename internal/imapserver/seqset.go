package imapserver

import (
	"slices"

	"github.com/letterbox/letterbox/internal/imap"
	"github.com/letterbox/letterbox/internal/store"
)

// resolveSeqs turns a message sequence set into UIDs of the view
// (RFC 3501 §6.4.5, §9 seq-number: "*" is the number of messages). A number
// beyond the last message is an error (RFC 9051 §9 "seq-number" must be
// valid); "$" is the saved search result (RFC 5182 §2.1).
func (s *session) resolveSeqs(set imap.SeqSet) ([]store.UID, error) {
	v := s.sel
	if set.Dollar {
		return s.savedUIDs(), nil
	}
	n := uint32(v.count())
	if n == 0 && set.Dynamic() {
		// "1:*" in an empty mailbox selects nothing; clients send it
		// routinely, so it is not an error.
		return nil, nil
	}
	for _, r := range set.Ranges {
		if r.Start > n || r.Stop > n {
			return nil, errBad("Invalid message sequence number")
		}
	}
	seqs := set.Expand(n)
	out := make([]store.UID, len(seqs))
	for i, q := range seqs {
		out[i] = v.uidAt(int(q))
	}
	return out, nil
}

// resolveUIDs turns a UID set into the UIDs of the view it covers, "*"
// being the largest UID in the view (RFC 3501 §6.4.8). Cost follows the
// view size, not the numbers the client sent.
func (s *session) resolveUIDs(set imap.SeqSet) ([]store.UID, error) {
	v := s.sel
	if set.Dollar {
		return s.savedUIDs(), nil
	}
	maxUID := uint32(v.maxUID())
	var out []store.UID
	for _, r := range set.Ranges {
		lo, hi := r.Start, r.Stop
		if lo == 0 {
			lo = maxUID
		}
		if hi == 0 {
			hi = maxUID
		}
		if lo > hi {
			lo, hi = hi, lo
		}
		if hi == 0 {
			continue
		}
		i, _ := slices.BinarySearch(v.uids, store.UID(lo))
		for ; i < len(v.uids) && uint32(v.uids[i]) <= hi; i++ {
			out = append(out, v.uids[i])
		}
	}
	if len(set.Ranges) > 1 {
		slices.Sort(out)
		out = slices.Compact(out)
	}
	return out, nil
}

// resolve picks resolveUIDs or resolveSeqs.
func (s *session) resolve(set imap.SeqSet, uid bool) ([]store.UID, error) {
	if uid {
		return s.resolveUIDs(set)
	}
	return s.resolveSeqs(set)
}

// savedUIDs is the SEARCHRES result restricted to messages still in the
// view (RFC 5182 §2.1: expunged messages drop out of "$").
func (s *session) savedUIDs() []store.UID {
	var out []store.UID
	for _, u := range s.saved {
		if s.sel.seqOf(u) > 0 {
			out = append(out, u)
		}
	}
	return out
}
