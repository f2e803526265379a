package imapserver_test

import (
	"testing"
)

const msg1 = "From: Bob <bob@example.org>\r\nTo: alice@example.com\r\nSubject: Hello there\r\nDate: Mon, 02 Jan 2006 15:04:05 -0700\r\nMessage-ID: <1@example.org>\r\n\r\nHi Alice,\r\nhow are you?\r\n"

func TestSeedFlow(t *testing.T) {
	h := newHarness(t)
	h.deliver("INBOX", msg1)
	c := h.login()
	c.run(`
C: a1 SELECT INBOX
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft \*)] Flags permitted
S: * 1 EXISTS
S: * 1 RECENT
S: * OK [UNSEEN 1] First unseen
S~ \* OK \[UIDVALIDITY \d+\] UIDs valid
S: * OK [UIDNEXT 2] Predicted next UID
S~ \* OK \[HIGHESTMODSEQ \d+\] Highest
S: a1 OK [READ-WRITE] SELECT completed
C: a2 FETCH 1 (RFC822)
S: * 1 FETCH (RFC822 {169}
S: From: Bob <bob@example.org>
S: To: alice@example.com
S: Subject: Hello there
S: Date: Mon, 02 Jan 2006 15:04:05 -0700
S: Message-ID: <1@example.org>
S: 
S: Hi Alice,
S: how are you?
S:  FLAGS (\Seen \Recent))
S: a2 OK FETCH completed
C: a3 SEARCH SUBJECT "hello"
S: * SEARCH 1
S: a3 OK SEARCH completed
C: a4 CLOSE
S: a4 OK CLOSE completed
C: a5 LOGOUT
S: * BYE letterbox logging out
S: a5 OK LOGOUT completed
`)
}
