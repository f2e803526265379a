package imapserver_test

import (
	"fmt"
	"testing"
)

// TestSelectFromSharedSnapshot: a SELECT after another session's starts
// from the server's shared snapshot of the mailbox and brings it up to
// date with what changed since (flags, a keyword, a delivery, an
// expunge); a session still viewing the snapshot is not changed by
// another's STORE until it is told (copy-on-write), and then hears every
// change.
func TestSelectFromSharedSnapshot(t *testing.T) {
	h := newHarness(t)
	msg := func(i int) string {
		return fmt.Sprintf("From: a@example.com\r\nSubject: m%d\r\n\r\nbody %d\r\n", i, i)
	}
	h.deliver("INBOX", msg(1), `\Seen`)
	h.deliver("INBOX", msg(2))
	h.deliver("INBOX", msg(3))

	a := h.login()
	a.run(`
C: a1 SELECT INBOX
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted
S: * 3 EXISTS
S: * 3 RECENT
S: * OK [UNSEEN 2] First unseen
S~ \* OK \[UIDVALIDITY \d+\] UIDs valid
S: * OK [UIDNEXT 4] Predicted next UID
S~ \* OK \[HIGHESTMODSEQ \d+\] Highest
S: a1 OK [READ-WRITE] SELECT completed`)
	// b starts from a's snapshot: same answer (no \Recent left to claim).
	b := h.login()
	b.run(`
C: b1 SELECT INBOX
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted
S: * 3 EXISTS
S: * 0 RECENT
S: * OK [UNSEEN 2] First unseen
S~ \* OK \[UIDVALIDITY \d+\] UIDs valid
S: * OK [UIDNEXT 4] Predicted next UID
S~ \* OK \[HIGHESTMODSEQ \d+\] Highest
S: b1 OK [READ-WRITE] SELECT completed`)
	a.run(`
C: a2 STORE 2 +FLAGS.SILENT ($Work \Seen)
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft $Work)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft $Work \*)] Flags permitted
S: a2 OK STORE completed
C: a3 STORE 1 -FLAGS.SILENT (\Seen)
S: a3 OK STORE completed
C: a4 STORE 3 +FLAGS.SILENT (\Deleted)
S: a4 OK STORE completed
C: a5 EXPUNGE
S: * 3 EXPUNGE
S: a5 OK EXPUNGE completed`)
	h.deliver("INBOX", msg(4))
	h.deliver("INBOX", msg(5), `\Seen`)

	// c starts from the snapshot a or b left and folds in the changes.
	for i, c := range []*tconn{h.login(), h.login()} {
		c.run(fmt.Sprintf(`
C: c%d SELECT INBOX
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft $Work)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft $Work \*)] Flags permitted
S: * 4 EXISTS
S~ \* [02] RECENT
S: * OK [UNSEEN 1] First unseen
S~ \* OK \[UIDVALIDITY \d+\] UIDs valid
S: * OK [UIDNEXT 6] Predicted next UID
S~ \* OK \[HIGHESTMODSEQ \d+\] Highest
S: c%d OK [READ-WRITE] SELECT completed
C: f%d FETCH 1:* (UID FLAGS)
S~ \* 1 FETCH \(UID 1 FLAGS \(\)\)
S~ \* 2 FETCH \(UID 2 FLAGS \(\$Work \\Seen\)\)
S~ \* 3 FETCH \(UID 4 FLAGS \((\\Recent)?\)\)
S~ \* 4 FETCH \(UID 5 FLAGS \(\\Seen( \\Recent)?\)\)
S: f%d OK FETCH completed`, i, i, i, i))
	}

	// b still has the snapshot from before a's changes (a's STOREs
	// copied it rather than change it under b): it has not been told of
	// any, and now hears each.
	b.run(`
C: b2 NOOP
S: * 3 EXPUNGE
S: * 4 EXISTS
S: * 0 RECENT
S: * 1 FETCH (UID 1 FLAGS ())
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft $Work)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft $Work \*)] Flags permitted
S: * 2 FETCH (UID 2 FLAGS ($Work \Seen))
S: b2 OK NOOP completed
C: b3 FETCH 1:* (UID FLAGS)
S: * 1 FETCH (UID 1 FLAGS ())
S: * 2 FETCH (UID 2 FLAGS ($Work \Seen))
S: * 3 FETCH (UID 4 FLAGS ())
S: * 4 FETCH (UID 5 FLAGS (\Seen))
S: b3 OK FETCH completed`)
}
