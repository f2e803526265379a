package imapserver_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// A well-formed mailbox name that is not valid modified UTF-7 is a name
// that does not exist: NO, not BAD (BAD is for syntax errors, RFC 3501
// §7.1.3); LIST matches nothing (Dovecot answers the same).
func TestInvalidModifiedUTF7NameIsNotBad(t *testing.T) {
	h := newHarness(t)
	h.deliver("INBOX", msg1)
	c := h.login()
	c.run(`
C: a1 SELECT "!#$&'+,-."
S: a1 NO [NONEXISTENT] No such mailbox (invalid mailbox name)
C: a2 EXAMINE "&Jjo"
S: a2 NO [NONEXISTENT] No such mailbox (invalid mailbox name)
C: a3 STATUS "!#$&'+,-." (MESSAGES)
S: a3 NO [NONEXISTENT] No such mailbox (invalid mailbox name)
C: a4 LIST "" "!#$&'+,-."
S: a4 OK LIST completed
C: a5 LIST "!#$&'+,-." *
S: a5 OK LIST completed
C: a6 LIST "" ("!#$&'+,-." INBOX)
S: * LIST (\HasNoChildren) "/" "INBOX"
S: a6 OK LIST completed
C: a7 LSUB "" "&AGE-*"
S: a7 OK LSUB completed
C: a8 CREATE "!#$&'+,-."
S: a8 NO [CANNOT] Invalid mailbox name
C: a9 DELETE "!#$&'+,-."
S: a9 NO [NONEXISTENT] No such mailbox (invalid mailbox name)
C: b1 RENAME "!#$&'+,-." x
S: b1 NO [NONEXISTENT] No such mailbox (invalid mailbox name)
C: b2 RENAME Archive "&Jjo"
S: b2 NO [CANNOT] Invalid mailbox name
C: b3 SUBSCRIBE "&Jjo"
S: b3 NO [CANNOT] Invalid mailbox name
C: b4 UNSUBSCRIBE "&Jjo"
S: b4 NO [NONEXISTENT] No such mailbox (invalid mailbox name)
C: b5 APPEND "!#$&'+,-." {1+}
C: x
S: b5 NO [NONEXISTENT] No such mailbox (invalid mailbox name)
C: b6 SELECT "tab&AAk-"
S: b6 NO [NONEXISTENT] No such mailbox (invalid mailbox name)
C: b7 SELECT INBOX
S~ .*
S~ .*
S~ .*
S~ .*
S~ .*
S~ .*
S~ .*
S~ .*
S: b7 OK [READ-WRITE] SELECT completed
C: b8 COPY 1 "!#$&'+,-."
S: b8 NO [NONEXISTENT] No such mailbox (invalid mailbox name)
C: b9 MOVE 1 "&Jjo"
S: b9 NO [NONEXISTENT] No such mailbox (invalid mailbox name)
`)
	// In UTF-8 mode a name that is not UTF-8 is the same case.
	c.send("c1 ENABLE UTF8=ACCEPT")
	c.expect("* ENABLED UTF8=ACCEPT")
	c.expect("c1 OK ENABLE completed")
	c.send("c2 STATUS {2+}\r\n\xc3x (MESSAGES)")
	c.expect("c2 NO [NONEXISTENT] No such mailbox (invalid mailbox name)")
}

// selectCondstore selects INBOX with (CONDSTORE) and skips the untagged
// responses.
func (c *tconn) selectCondstore(tag string) {
	c.t.Helper()
	c.collect(tag, "SELECT INBOX (CONDSTORE)")
}

// ESEARCH with a MODSEQ criterion reports the highest MODSEQ of the
// messages it returns (RFC 4731 §3.2): of the MIN message, of the MAX
// message, of both, or of all matches for ALL and COUNT.
func TestESearchModSeqOfReturnedMessages(t *testing.T) {
	h := newHarness(t)
	for i := 0; i < 3; i++ {
		h.deliver("INBOX", msg1)
	}
	c := h.login()
	c.selectCondstore("a0")
	// Message 2 gets the highest MODSEQ, then 3, then 1.
	c.collect("a1", "STORE 3 +FLAGS.SILENT (\\Answered)")
	c.collect("a2", "STORE 2 +FLAGS.SILENT (\\Flagged)")
	lines := c.collect("a3", "FETCH 1:3 (MODSEQ)")
	if len(lines) != 3 {
		t.Fatalf("FETCH MODSEQ: %q", lines)
	}
	m1, m2, m3 := modseqOf(t, lines[0]), modseqOf(t, lines[1]), modseqOf(t, lines[2])
	if !(m1 < m3 && m3 < m2) {
		t.Fatalf("unexpected MODSEQs %d %d %d", m1, m2, m3)
	}
	c.run(fmt.Sprintf(`
C: b1 SEARCH RETURN (MIN) MODSEQ 1
S: * ESEARCH (TAG "b1") MIN 1 MODSEQ %[1]d
S: b1 OK SEARCH completed
C: b2 SEARCH RETURN (MAX) MODSEQ 1
S: * ESEARCH (TAG "b2") MAX 3 MODSEQ %[3]d
S: b2 OK SEARCH completed
C: b3 UID SEARCH RETURN (MIN MAX) MODSEQ 1
S: * ESEARCH (TAG "b3") UID MIN 1 MAX 3 MODSEQ %[3]d
S: b3 OK UID SEARCH completed
C: b4 SEARCH RETURN (ALL) MODSEQ 1
S: * ESEARCH (TAG "b4") ALL 1:3 MODSEQ %[2]d
S: b4 OK SEARCH completed
C: b5 SEARCH RETURN (COUNT) MODSEQ 1
S: * ESEARCH (TAG "b5") COUNT 3 MODSEQ %[2]d
S: b5 OK SEARCH completed
C: b6 SEARCH RETURN (MIN COUNT) MODSEQ 1
S: * ESEARCH (TAG "b6") MIN 1 COUNT 3 MODSEQ %[2]d
S: b6 OK SEARCH completed
C: b7 SEARCH MODSEQ 1
S: * SEARCH 1 2 3 (MODSEQ %[2]d)
S: b7 OK SEARCH completed
C: b8 SEARCH RETURN (MIN MAX) MODSEQ %[2]d
S: * ESEARCH (TAG "b8") MIN 2 MAX 2 MODSEQ %[2]d
S: b8 OK SEARCH completed
`, m1, m2, m3))
}

// EXAMINE reports the \Recent messages without claiming them
// (RFC 3501 §6.3.2): the same count as STATUS, and SELECT still gets them.
func TestExamineReportsRecentWithoutClaiming(t *testing.T) {
	h := newHarness(t)
	h.deliver("INBOX", msg1)
	h.deliver("INBOX", msg1)
	c := h.login()
	c.run(`
C: a1 STATUS INBOX (RECENT)
S: * STATUS "INBOX" (RECENT 2)
S: a1 OK STATUS completed
C: a2 EXAMINE INBOX
S~ \* FLAGS .*
S~ \* OK \[PERMANENTFLAGS .*
S: * 2 EXISTS
S: * 2 RECENT
S~ \* OK \[UNSEEN 1\] .*
S~ \* OK \[UIDVALIDITY \d+\] .*
S~ \* OK \[UIDNEXT 3\] .*
S~ \* OK \[HIGHESTMODSEQ \d+\] .*
S: a2 OK [READ-ONLY] EXAMINE completed
C: a3 FETCH 1:2 FLAGS
S: * 1 FETCH (FLAGS (\Recent))
S: * 2 FETCH (FLAGS (\Recent))
S: a3 OK FETCH completed
C: a4 SEARCH RECENT
S: * SEARCH 1 2
S: a4 OK SEARCH completed
C: a5 STATUS INBOX (RECENT)
S: * STATUS "INBOX" (RECENT 2)
S: a5 OK STATUS completed
`)
	d := h.login()
	d.run(`
C: b1 SELECT INBOX
S~ \* FLAGS .*
S~ \* OK \[PERMANENTFLAGS .*
S: * 2 EXISTS
S: * 2 RECENT
S~ .*
S~ .*
S~ .*
S~ .*
S: b1 OK [READ-WRITE] SELECT completed
`)
	// Claimed now: a new EXAMINE sees none.
	c.run(`
C: a6 EXAMINE INBOX
S~ \* OK \[CLOSED\] .*
S~ \* FLAGS .*
S~ \* OK \[PERMANENTFLAGS .*
S: * 2 EXISTS
S: * 0 RECENT
S~ .*
S~ .*
S~ .*
S~ .*
S: a6 OK [READ-ONLY] EXAMINE completed
`)
}

// The first CONDSTORE enabling command issued in the selected state gets
// "* OK [HIGHESTMODSEQ n]" before its other responses (RFC 7162 §3.1);
// later ones do not.
func TestFirstCondstoreEnablingCommandSendsHighestModSeq(t *testing.T) {
	h := newHarness(t)
	h.deliver("INBOX", msg1)
	h.deliver("INBOX", msg1)
	for _, tc := range []struct{ cmd, next string }{
		{"FETCH 1 (MODSEQ)", `\* 1 FETCH \(MODSEQ \(\d+\)\)`},
		{"UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1)", `\* 1 FETCH \(UID 1 FLAGS \(.*\) MODSEQ \(\d+\)\)`},
		{"SEARCH MODSEQ 1", `\* SEARCH 1 2 \(MODSEQ \d+\)`},
		{"STORE 1 (UNCHANGEDSINCE 1000) +FLAGS (\\Seen)", `\* 1 FETCH \(FLAGS \(\\Seen.*\) UID 1 MODSEQ \(\d+\)\)`},
		{"STATUS Sent (HIGHESTMODSEQ)", `\* STATUS "Sent" \(HIGHESTMODSEQ \d+\)`},
		{"ENABLE CONDSTORE", `\* ENABLED CONDSTORE`},
	} {
		t.Run(tc.cmd, func(t *testing.T) {
			c := h.login()
			// Nothing is selected: no HIGHESTMODSEQ to report yet.
			c.run(`
C: a0 STATUS INBOX (MESSAGES)
S: * STATUS "INBOX" (MESSAGES 2)
S: a0 OK STATUS completed
`)
			c.collect("a1", "EXAMINE INBOX")
			if strings.HasPrefix(tc.cmd, "STORE") {
				c.collect("a1", "SELECT INBOX")
			}
			lines := c.collect("a2", tc.cmd)
			if len(lines) < 2 || !regexp.MustCompile(`^\* OK \[HIGHESTMODSEQ \d+\] .*$`).MatchString(lines[0]) ||
				!regexp.MustCompile(`^`+tc.next+`$`).MatchString(lines[1]) {
				t.Fatalf("%s:\n  %q\nwant * OK [HIGHESTMODSEQ n] first, then %s", tc.cmd, lines, tc.next)
			}
			for _, l := range c.collect("a3", "FETCH 1 (MODSEQ)") {
				if strings.Contains(l, "HIGHESTMODSEQ") {
					t.Fatalf("HIGHESTMODSEQ sent again: %q", l)
				}
			}
		})
	}
	// Enabled before anything is selected: SELECT reports HIGHESTMODSEQ, and
	// no enabling command repeats it.
	c := h.login()
	c.collect("b1", "ENABLE CONDSTORE")
	c.collect("b2", "SELECT INBOX")
	if lines := c.collect("b3", "FETCH 2 (MODSEQ)"); len(lines) != 1 {
		t.Fatalf("FETCH MODSEQ after ENABLE CONDSTORE and SELECT: %q", lines)
	}
}

// A keyword another session stored for the first time reaches this session
// in FLAGS and PERMANENTFLAGS before any FETCH response shows it
// (RFC 3501 §7.2.6), whether FLAGS comes from the session's view or from
// the store, explicitly or after a non-PEEK body fetch set \Seen.
func TestNewKeywordAnnouncedBeforeFetchShowsIt(t *testing.T) {
	const (
		flagsLine = `* FLAGS (\Answered \Flagged \Deleted \Seen \Draft $Fresh)`
		permLine  = `* OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft $Fresh \*)] Flags permitted`
	)
	for _, tc := range []struct {
		name, fetch string
		want        string // the FETCH line, after FLAGS and PERMANENTFLAGS
	}{
		{"view", "FETCH 1 (FLAGS)", `* 1 FETCH (FLAGS ($Fresh \Recent))`},
		{"view UID", "UID FETCH 1 (FLAGS)", `* 1 FETCH (UID 1 FLAGS ($Fresh \Recent))`},
		{"store", "FETCH 1 (FLAGS RFC822.SIZE)", `~\* 1 FETCH \(FLAGS \(\$Fresh \\Recent\) RFC822.SIZE \d+\)`},
		{"implicit", "FETCH 1 (BODY[HEADER.FIELDS (SUBJECT)])", `~\* 1 FETCH \(BODY\[HEADER.FIELDS \(SUBJECT\)\] \{\d+\}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.deliver("INBOX", msg1)
			a := h.login()
			a.selectInbox("a0")
			b := h.login()
			b.collect("b0", "SELECT INBOX")
			b.collect("b1", "STORE 1 +FLAGS.SILENT ($Fresh)")
			a.send("a1 " + tc.fetch)
			a.expect(flagsLine)
			a.expect(permLine)
			a.expect(tc.want)
		})
	}
}
