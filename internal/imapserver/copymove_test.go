package imapserver_test

import "testing"

func TestUIDPlus(t *testing.T) {
	h := newHarness(t)
	h.deliver("INBOX", msg1)
	h.deliver("INBOX", msg1)
	c := h.login()
	c.send("a0 STATUS Archive (UIDVALIDITY)")
	line := c.expect(`~\* STATUS "Archive" \(UIDVALIDITY \d+\)`)
	v := line[len(`* STATUS "Archive" (UIDVALIDITY `) : len(line)-1]
	c.expect("a0 OK STATUS completed")
	c.selectInbox("a1")
	c.run(`
C: a2 COPY 1:2 Archive
S: a2 OK [COPYUID ` + v + ` 1:2 1:2] COPY completed
C: a3 UID COPY 2 Archive
S: a3 OK [COPYUID ` + v + ` 2 3] UID COPY completed
C: a4 COPY 1 Nowhere
S: a4 NO [TRYCREATE] No such mailbox
C: a5 APPEND Archive (\Seen) {5}
S: + Ready
C: hello
S: a5 OK [APPENDUID ` + v + ` 4] APPEND completed
C: a6 APPEND Nowhere {5}
S: + Ready
C: hello
S: a6 NO [TRYCREATE] No such mailbox
C: a7 STORE 1 +FLAGS.SILENT (\Deleted)
S: a7 OK STORE completed
C: a8 UID EXPUNGE 2
S: a8 OK UID EXPUNGE completed
C: a9 UID EXPUNGE 1
S: * 1 EXPUNGE
S: a9 OK UID EXPUNGE completed
`)
}

func TestMove(t *testing.T) {
	h := newHarness(t)
	h.deliver("INBOX", msg1)
	h.deliver("INBOX", msg1)
	h.deliver("INBOX", msg1)
	c := h.login()
	c.selectInbox("a0")
	c.run(`
C: a1 MOVE 1:2 Trash
S~ \* OK \[COPYUID \d+ 1:2 1:2\] Moved
S: * 2 EXPUNGE
S: * 1 EXPUNGE
S: a1 OK MOVE completed
C: a2 UID MOVE 3 Trash
S~ \* OK \[COPYUID \d+ 3 3\] Moved
S: * 1 EXPUNGE
S: a2 OK UID MOVE completed
C: a3 MOVE 1 Trash
S: a3 BAD Invalid message sequence number
C: a4 STATUS Trash (MESSAGES)
S: * STATUS "Trash" (MESSAGES 3)
S: a4 OK STATUS completed
`)
}

func TestCopyIntoSelectedMailbox(t *testing.T) {
	h := newHarness(t)
	h.deliver("INBOX", msg1)
	c := h.login()
	c.selectInbox("a0")
	c.run(`
C: a1 COPY 1 INBOX
S: * 2 EXISTS
S: * 2 RECENT
S~ a1 OK \[COPYUID \d+ 1 2\] COPY completed
C: a2 APPEND INBOX {5+}
C: hello
S: * 3 EXISTS
S: * 3 RECENT
S~ a2 OK \[APPENDUID \d+ 3\] APPEND completed
`)
}
