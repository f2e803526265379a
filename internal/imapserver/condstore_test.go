package imapserver_test

import (
	"fmt"
	"regexp"
	"strconv"
	"testing"
)

var modseqRE = regexp.MustCompile(`MODSEQ \((\d+)\)`)

func modseqOf(t *testing.T, line string) uint64 {
	t.Helper()
	m := modseqRE.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("no MODSEQ in %q", line)
	}
	n, _ := strconv.ParseUint(m[1], 10, 64)
	return n
}

func TestCondstore(t *testing.T) {
	h := newHarness(t)
	h.deliver("INBOX", msg1)
	h.deliver("INBOX", msg1)
	c := h.login()
	c.send("a1 SELECT INBOX (CONDSTORE)")
	var highest uint64
	for {
		l := c.readLine()
		if _, err := fmt.Sscanf(l, "* OK [HIGHESTMODSEQ %d]", &highest); err == nil {
			continue
		}
		if l == "a1 OK [READ-WRITE] SELECT completed" {
			break
		}
	}
	if highest == 0 {
		t.Fatal("no HIGHESTMODSEQ")
	}
	lines := c.collect("a2", "FETCH 1:2 (MODSEQ)")
	m2 := modseqOf(t, lines[1])
	c.send("a3 STORE 1 +FLAGS (\\Seen)")
	l := c.expect(`~\* 1 FETCH \(FLAGS \(\\Seen \\Recent\) UID 1 MODSEQ \(\d+\)\)`)
	c.expect("a3 OK STORE completed")
	m1b := modseqOf(t, l)
	if m1b <= highest {
		t.Fatalf("MODSEQ did not grow: %d <= %d", m1b, highest)
	}
	// UNCHANGEDSINCE below the message's MODSEQ fails (RFC 7162 §3.1.3).
	c.run(fmt.Sprintf(`
C: a4 STORE 1,2 (UNCHANGEDSINCE %d) +FLAGS.SILENT (\Flagged)
S~ \* 2 FETCH \(UID 2 MODSEQ \(\d+\)\)
S: a4 OK [MODIFIED 1] STORE completed
`, m2))
}

func TestQresync(t *testing.T) {
	h := newHarness(t)
	for i := 0; i < 4; i++ {
		h.deliver("INBOX", msg1)
	}
	c := h.login()
	c.run(`
C: a1 ENABLE QRESYNC
S: * ENABLED QRESYNC
S: a1 OK ENABLE completed
`)
	c.send("a2 STATUS INBOX (UIDVALIDITY HIGHESTMODSEQ)")
	var validity, highest uint64
	if _, err := fmt.Sscanf(c.readLine(), `* STATUS "INBOX" (UIDVALIDITY %d HIGHESTMODSEQ %d)`, &validity, &highest); err != nil {
		t.Fatal(err)
	}
	c.expect("a2 OK STATUS completed")
	c.selectInbox("a3")
	c.run(`
C: a4 STORE 2 +FLAGS.SILENT (\Deleted)
S~ \* 2 FETCH \(UID 2 MODSEQ \(\d+\)\)
S: a4 OK STORE completed
C: a5 EXPUNGE
S: * VANISHED 2
S~ a5 OK \[HIGHESTMODSEQ \d+\] EXPUNGE completed
C: a6 STORE 2 +FLAGS.SILENT (\Flagged)
S~ \* 2 FETCH \(UID 3 MODSEQ \(\d+\)\)
S: a6 OK STORE completed
C: a7 UNSELECT
S: a7 OK UNSELECT completed
`)
	c.run(fmt.Sprintf(`
C: a8 SELECT INBOX (QRESYNC (%d %d))
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted
S: * 3 EXISTS
S: * 0 RECENT
S: * OK [UNSEEN 1] First unseen
S: * OK [UIDVALIDITY %d] UIDs valid
S: * OK [UIDNEXT 5] Predicted next UID
S~ \* OK \[HIGHESTMODSEQ \d+\] Highest
S: * VANISHED (EARLIER) 2
S~ \* 2 FETCH \(UID 3 FLAGS \(\\Flagged\) MODSEQ \(\d+\)\)
S: a8 OK [READ-WRITE] SELECT completed
C: a9 UID FETCH 1:* FLAGS (CHANGEDSINCE %d VANISHED)
S: * VANISHED (EARLIER) 2
S~ \* 2 FETCH \(UID 3 FLAGS \(\\Flagged\) MODSEQ \(\d+\)\)
S: a9 OK UID FETCH completed
C: a10 FETCH 1:* FLAGS (CHANGEDSINCE %d VANISHED)
S~ a10 BAD .*
C: a11 SEARCH MODSEQ %d
S~ \* SEARCH 2 \(MODSEQ \d+\)
S: a11 OK SEARCH completed
`, validity, highest, validity, highest, highest, highest+1))
}
