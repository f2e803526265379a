package imapserver_test

import (
	"testing"
)

func searchFixture(t *testing.T) *tconn {
	h := newHarness(t)
	h.deliver("INBOX", msg1, `\Seen`)
	h.deliver("INBOX", multipartMsg, `\Flagged`)
	h.deliver("INBOX", "From: carol@example.net\r\nTo: dave@example.com\r\nCc: eve@example.com\r\nSubject: Meeting notes\r\nDate: Tue, 10 Mar 2020 09:00:00 +0000\r\nX-Tag: blue\r\n\r\nThe budget is approved.\r\n", `$Work`)
	c := h.login()
	c.selectInbox("s0")
	return c
}

func TestSearchKeys(t *testing.T) {
	c := searchFixture(t)
	c.run(`
C: a1 SEARCH SUBJECT hello
S: * SEARCH 1
S: a1 OK SEARCH completed
C: a2 SEARCH SUBJECT "grüße"
S: * SEARCH 2
S: a2 OK SEARCH completed
C: a3 SEARCH CHARSET UTF-8 BODY "PLAIN BODY"
S: * SEARCH 2
S: a3 OK SEARCH completed
C: a4 SEARCH TEXT budget
S: * SEARCH 3
S: a4 OK SEARCH completed
C: a5 SEARCH OR FLAGGED SEEN
S: * SEARCH 1 2
S: a5 OK SEARCH completed
C: a6 SEARCH NOT (OR FLAGGED SEEN)
S: * SEARCH 3
S: a6 OK SEARCH completed
C: a7 SEARCH KEYWORD $Work UNKEYWORD $Other
S: * SEARCH 3
S: a7 OK SEARCH completed
C: a8 SEARCH FROM carol CC eve TO dave
S: * SEARCH 3
S: a8 OK SEARCH completed
C: a9 SEARCH HEADER X-Tag blue
S: * SEARCH 3
S: a9 OK SEARCH completed
C: a10 SEARCH HEADER X-Tag ""
S: * SEARCH 3
S: a10 OK SEARCH completed
C: a11 SEARCH SENTBEFORE 1-Jan-2010
S: * SEARCH 1
S: a11 OK SEARCH completed
C: a12 SEARCH SENTON 10-Mar-2020
S: * SEARCH 3
S: a12 OK SEARCH completed
C: a13 SEARCH SENTSINCE 1-Jan-2010 SINCE 1-Jan-2000
S: * SEARCH 3
S: a13 OK SEARCH completed
C: a14 SEARCH LARGER 200 SMALLER 1000
S: * SEARCH 2
S: a14 OK SEARCH completed
C: a15 SEARCH 2:* UNSEEN
S: * SEARCH 2 3
S: a15 OK SEARCH completed
C: a16 UID SEARCH UID 2:3 NEW
S: * SEARCH 2 3
S: a16 OK UID SEARCH completed
C: a17 SEARCH CHARSET X-BOGUS SUBJECT x
S~ a17 NO \[BADCHARSET \(UTF-8 US-ASCII ISO-8859-1 .* BIG5\)\] Unknown charset
C: a18 SEARCH BEFORE 1-Jan-2000
S: * SEARCH
S: a18 OK SEARCH completed
C: a19 SEARCH ALL DELETED
S: * SEARCH
S: a19 OK SEARCH completed
C: a20 SEARCH RECENT ANSWERED
S: * SEARCH
S: a20 OK SEARCH completed
C: a21 SEARCH OLD
S: * SEARCH
S: a21 OK SEARCH completed
C: a22 SEARCH UNDELETED UNANSWERED UNDRAFT UNFLAGGED DRAFT
S: * SEARCH
S: a22 OK SEARCH completed
C: a23 SEARCH BCC nobody ON 1-Jan-2000
S: * SEARCH
S: a23 OK SEARCH completed
C: a24 SEARCH FROB
S~ a24 BAD .*
`)
}

func TestESearch(t *testing.T) {
	c := searchFixture(t)
	c.run(`
C: a1 SEARCH RETURN (MIN MAX COUNT) ALL
S: * ESEARCH (TAG "a1") MIN 1 MAX 3 COUNT 3
S: a1 OK SEARCH completed
C: a2 UID SEARCH RETURN () UNSEEN
S: * ESEARCH (TAG "a2") UID ALL 2:3
S: a2 OK UID SEARCH completed
C: a3 SEARCH RETURN (ALL COUNT) DELETED
S: * ESEARCH (TAG "a3") COUNT 0
S: a3 OK SEARCH completed
`)
}

func TestSearchRes(t *testing.T) {
	c := searchFixture(t)
	c.run(`
C: a1 SEARCH RETURN (SAVE) UNSEEN
S: a1 OK SEARCH completed
C: a2 FETCH $ (UID)
S: * 2 FETCH (UID 2)
S: * 3 FETCH (UID 3)
S: a2 OK FETCH completed
C: a3 SEARCH $ FLAGGED
S: * SEARCH 2
S: a3 OK SEARCH completed
C: a4 UID SEARCH RETURN (SAVE MIN) UNSEEN
S: * ESEARCH (TAG "a4") UID MIN 2
S: a4 OK UID SEARCH completed
C: a5 UID FETCH $ (FLAGS)
S: * 2 FETCH (UID 2 FLAGS (\Flagged \Recent))
S: a5 OK UID FETCH completed
C: a6 SEARCH RETURN (SAVE) CHARSET BOGUS ALL
S~ a6 NO \[BADCHARSET \(UTF-8 US-ASCII ISO-8859-1 .* BIG5\)\] Unknown charset
C: a7 FETCH $ (UID)
S: a7 OK FETCH completed
`)
}

func TestEnableIMAP4rev2(t *testing.T) {
	c := searchFixture(t)
	c.run(`
C: a1 ENABLE IMAP4rev2
S: * ENABLED IMAP4rev2
S: a1 OK ENABLE completed
C: a2 SEARCH UNSEEN
S: * ESEARCH (TAG "a2") ALL 2:3
S: a2 OK SEARCH completed
C: a3 FETCH 2 FLAGS
S: * 2 FETCH (FLAGS (\Flagged))
S: a3 OK FETCH completed
C: a4 SELECT INBOX
S: * OK [CLOSED] Previous mailbox closed
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft $Work)
S: * OK [PERMANENTFLAGS (\Answered \Flagged \Deleted \Seen \Draft $Work \*)] Flags permitted
S: * 3 EXISTS
S~ \* OK \[UIDVALIDITY \d+\] UIDs valid
S: * OK [UIDNEXT 4] Predicted next UID
S~ \* OK \[HIGHESTMODSEQ \d+\] Highest
S: * LIST () "/" "INBOX"
S: a4 OK [READ-WRITE] SELECT completed
C: a5 SEARCH RETURN (COUNT) ALL
S: * ESEARCH (TAG "a5") COUNT 3
S: a5 OK SEARCH completed
`)
}
