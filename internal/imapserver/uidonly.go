package imapserver

import (
	"github.com/letterbox/letterbox/internal/imap"
	"github.com/letterbox/letterbox/internal/store"
)

// UIDONLY (RFC 9586): after ENABLE UIDONLY the session neither takes nor
// gives message sequence numbers.
//   - A command that names messages by sequence number (FETCH, STORE,
//     SEARCH, SORT, THREAD, COPY, MOVE, REPLACE without UID), a sequence
//     set among the keys of UID SEARCH, SORT or THREAD, and the sequence
//     match data of SELECT/EXAMINE (QRESYNC) get BAD [UIDREQUIRED] (§3).
//     "$" (SEARCHRES) is a set of UIDs and stays valid.
//   - Every FETCH response, solicited or not, is "* uid UIDFETCH (...)"
//     (§3.3): the number is the UID, so UID is not added to what the
//     client asked for.
//   - Expunges are told as VANISHED (§3.2), with or without QRESYNC; EXISTS
//     keeps counting the messages.
// CONDSTORE and QRESYNC work as before: MODSEQ is in UIDFETCH where it
// would be in FETCH, and QRESYNC's SELECT still sends VANISHED (EARLIER)
// and UIDFETCH for the changes.

// seqCommands are the commands whose non-UID form takes sequence numbers.
var seqCommands = map[string]bool{
	"FETCH": true, "STORE": true, "SEARCH": true, "SORT": true, "THREAD": true,
	"COPY": true, "MOVE": true, "REPLACE": true,
}

// uidOnlyRefusal returns the BAD [UIDREQUIRED] answer for a command that
// uses sequence numbers while UIDONLY is on, nil otherwise.
func (s *session) uidOnlyRefusal(cmd *imap.Command) error {
	if !s.uidonly {
		return nil
	}
	bad := errBadCode("UIDREQUIRED", "Message sequence numbers are not allowed after ENABLE UIDONLY")
	if !cmd.UID && seqCommands[cmd.Name] {
		return bad
	}
	var key *imap.SearchKey
	switch a := cmd.Args.(type) {
	case *imap.SearchArgs:
		key = a.Key
	case *imap.SortArgs:
		key = a.Search.Key
	case *imap.ThreadArgs:
		key = a.Key
	case *imap.SelectArgs:
		if a.QResync != nil && a.QResync.SeqMatch != nil {
			return bad
		}
	}
	if key != nil && hasSeqKey(key) {
		return bad
	}
	return nil
}

// hasSeqKey reports whether a search key names messages by sequence
// number (a sequence set that is not "$").
func hasSeqKey(k *imap.SearchKey) bool {
	if k.Name == imap.SearchSeqSet && !k.Seq.Dollar {
		return true
	}
	for i := range k.Children {
		if hasSeqKey(&k.Children[i]) {
			return true
		}
	}
	return false
}

// reportVanished says whether expunges are told as VANISHED (QRESYNC,
// RFC 7162 §3.2.10; UIDONLY, RFC 9586 §3.2) rather than EXPUNGE.
func (s *session) reportVanished() bool { return s.qresync || s.uidonly }

// startFetch begins one FETCH response for the message with sequence
// number seq and UID uid: "* seq FETCH (", or "* uid UIDFETCH (" under
// UIDONLY (RFC 9586 §3.3). It reports whether the UID is already the
// response's number.
func (s *session) startFetch(seq int, uid store.UID) (uidIsNumber bool) {
	w := s.c.w
	w.StartUntagged()
	if s.uidonly {
		w.Number(uint64(uid))
		w.Raw(" UIDFETCH (")
		return true
	}
	w.Number(uint64(seq))
	w.Raw(" FETCH (")
	return false
}

// errBadCode is a BAD answer with a response code.
func errBadCode(code, text string) error { return &protoError{status: "BAD", code: code, text: text} }
