package imapserver_test

import (
	"testing"
)

// TestSearchUpdate: SEARCH and SORT RETURN (UPDATE) keep their results
// live (RFC 5267 §4): a peer's STORE and APPEND come as ADDTO after the
// FETCH and EXISTS, its EXPUNGE as REMOVEFROM before the EXPUNGE
// responses (numbered as the client still numbers them), SEARCH with
// context position 0 as Dovecot sends it, SORT with positions in the
// sorted result (CONTEXT=SORT); CANCELUPDATE ends them. The SEARCH lines
// are what Dovecot 2.3 sent for the same steps.
func TestSearchUpdate(t *testing.T) {
	h := newHarness(t)
	a := h.login()
	appendFixture(a)
	b := h.login()
	b.selectInbox("s")
	a.run(`
C: u1 SEARCH RETURN (UPDATE) DELETED
S: * ESEARCH (TAG "u1")
S: u1 OK SEARCH completed
C: u2 UID SEARCH RETURN (UPDATE COUNT) SUBJECT topic
S: * ESEARCH (TAG "u2") UID COUNT 4
S: u2 OK UID SEARCH completed
C: u3 SORT RETURN (UPDATE) (DATE) UTF-8 DELETED
S: * ESEARCH (TAG "u3")
S: u3 OK SORT completed
C: u4 SEARCH RETURN (CONTEXT MIN) FLAGGED
S: * ESEARCH (TAG "u4")
S: u4 OK SEARCH completed
C: u5 UID SORT RETURN (UPDATE ALL) (REVERSE SUBJECT) UTF-8 SUBJECT zzz
S: * ESEARCH (TAG "u5") UID ALL 12,15
S: u5 OK UID SORT completed
C: u6 SEARCH RETURN (UPDATE) FLAGGED
S: * ESEARCH (TAG "u6")
S: u6 OK SEARCH completed
C: u7 SEARCH RETURN (UPDATE) SEEN
S: * ESEARCH (TAG "u7")
S: u7 OK SEARCH completed
C: u1 SEARCH RETURN (UPDATE) ALL
S: u1 BAD Duplicate search update tag
`)
	b.run(`
C: b1 STORE 2:3 +FLAGS.SILENT (\Deleted)
S: b1 OK STORE completed
C: b2 APPEND INBOX {29+}
C: Subject: topic
C: 
C: new message
S: * 24 EXISTS
S~ \* \d+ RECENT
S~ b2 OK .*
C: b3 APPEND INBOX {26+}
C: Subject: Re: zzz
C: 
C: reply
S: * 25 EXISTS
S~ \* \d+ RECENT
S~ b3 OK .*
`)
	a.run(`
C: n1 NOOP
S: * 25 EXISTS
S~ \* \d+ RECENT
S: * 2 FETCH (UID 2 FLAGS (\Deleted \Recent))
S: * 3 FETCH (UID 3 FLAGS (\Deleted \Recent))
S: * ESEARCH (TAG "u1") ADDTO (0 2:3)
S: * ESEARCH (TAG "u2") UID ADDTO (0 24)
S: * ESEARCH (TAG "u3") ADDTO (1 2:3)
S: * ESEARCH (TAG "u5") UID ADDTO (3 25)
S: n1 OK NOOP completed
`)
	b.run(`
C: b4 EXPUNGE
S: * 3 EXPUNGE
S: * 2 EXPUNGE
S: b4 OK EXPUNGE completed
`)
	a.run(`
C: n2 NOOP
S: * ESEARCH (TAG "u1") REMOVEFROM (0 2:3)
S: * ESEARCH (TAG "u3") REMOVEFROM (2 3 1 2)
S: * 3 EXPUNGE
S: * 2 EXPUNGE
S: n2 OK NOOP completed
C: x1 CANCELUPDATE "u1"
S: x1 OK CANCELUPDATE completed
C: x2 CANCELUPDATE "nope"
S: x2 NO Unknown tag
C: x3 CANCELUPDATE "u2" "u5"
S: x3 OK CANCELUPDATE completed
# The session's own STORE changes a live result too.
C: s1 STORE 1 +FLAGS.SILENT (\Flagged \Seen)
S: * ESEARCH (TAG "u6") ADDTO (0 1)
S: * ESEARCH (TAG "u7") ADDTO (0 1)
S: s1 OK STORE completed
C: s2 STORE 1 -FLAGS.SILENT (\Flagged)
S: * ESEARCH (TAG "u6") REMOVEFROM (0 1)
S: s2 OK STORE completed
C: x4 CANCELUPDATE "u6" "u7"
S: x4 OK CANCELUPDATE completed
C: s3 STORE 1 +FLAGS.SILENT (\Flagged)
S: s3 OK STORE completed
`)
	b.run(`
C: b5 STORE 1 +FLAGS.SILENT (\Deleted)
S~ \* 1 FETCH \(FLAGS .*
S: b5 OK STORE completed
`)
	a.run(`
C: n3 NOOP
S: * 1 FETCH (UID 1 FLAGS (\Deleted \Flagged \Seen \Recent))
S: * ESEARCH (TAG "u3") ADDTO (1 1)
S: n3 OK NOOP completed
# A new SELECT ends every live result.
C: s4 SELECT INBOX
S~ .*
`)
}
