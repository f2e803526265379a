package imapserver_test

import "testing"

func TestMailboxCommands(t *testing.T) {
	h := newHarness(t)
	c := h.login()
	c.run(`
C: a1 CREATE Projects/2024/
S~ a1 OK \[MAILBOXID \(F\d+\)\] CREATE completed
C: a2 CREATE Projects
S: a2 NO [ALREADYEXISTS] Mailbox already exists
C: a3 CREATE inbox
S: a3 NO [ALREADYEXISTS] INBOX always exists
C: a4 CREATE "a/../b"
S: a4 NO [CANNOT] Invalid mailbox name
C: a5 LIST "" %
S: * LIST (\HasNoChildren) "/" "INBOX"
S: * LIST (\HasNoChildren \Archive) "/" "Archive"
S: * LIST (\HasNoChildren \Drafts) "/" "Drafts"
S: * LIST (\HasNoChildren \Junk) "/" "Junk"
S: * LIST (\HasChildren) "/" "Projects"
S: * LIST (\HasNoChildren \Sent) "/" "Sent"
S: * LIST (\HasNoChildren \Trash) "/" "Trash"
S: a5 OK LIST completed
C: a6 LIST "" ""
S: * LIST (\Noselect) "/" ""
S: a6 OK LIST completed
C: a7 LIST Projects/ *
S: * LIST (\HasNoChildren) "/" "Projects/2024"
S: a7 OK LIST completed
C: a8 DELETE Projects
S: a8 NO [INUSE] Mailbox has inferior hierarchical names
C: a9 RENAME Projects/2024 Projects/2025
S: a9 OK RENAME completed
C: a10 LIST "" "proj*"
S: a10 OK LIST completed
C: a11 LIST "" "Proj*"
S: * LIST (\HasChildren) "/" "Projects"
S: * LIST (\HasNoChildren) "/" "Projects/2025"
S: a11 OK LIST completed
C: a12 DELETE Projects/2025
S: a12 OK DELETE completed
C: a13 DELETE Projects/2025
S: a13 NO [NONEXISTENT] No such mailbox
C: a14 DELETE INBOX
S: a14 NO [CANNOT] INBOX cannot be deleted
C: a15 RENAME Nope Other
S: a15 NO [NONEXISTENT] No such mailbox
C: a16 SUBSCRIBE Projects
S: a16 OK SUBSCRIBE completed
C: a17 LSUB "" "P*"
S: * LSUB () "/" "Projects"
S: a17 OK LSUB completed
C: a18 UNSUBSCRIBE Projects
S: a18 OK UNSUBSCRIBE completed
C: a19 LSUB "" "P*"
S: a19 OK LSUB completed
C: a20 SELECT Nope
S: a20 NO [NONEXISTENT] No such mailbox
`)
}

func TestRenameInbox(t *testing.T) {
	h := newHarness(t)
	h.deliver("INBOX", msg1)
	c := h.login()
	c.run(`
C: a1 RENAME INBOX Old
S: a1 OK RENAME completed
C: a2 STATUS INBOX (MESSAGES)
S: * STATUS "INBOX" (MESSAGES 0)
S: a2 OK STATUS completed
C: a3 STATUS Old (MESSAGES)
S: * STATUS "Old" (MESSAGES 1)
S: a3 OK STATUS completed
`)
}

func TestStatus(t *testing.T) {
	h := newHarness(t)
	h.deliver("INBOX", msg1)
	h.deliver("INBOX", msg1, `\Seen`, `\Deleted`)
	c := h.login()
	c.run(`
C: a1 STATUS INBOX (MESSAGES RECENT UIDNEXT UNSEEN DELETED SIZE)
S: * STATUS "INBOX" (MESSAGES 2 RECENT 2 UIDNEXT 3 UNSEEN 1 DELETED 1 SIZE 338)
S: a1 OK STATUS completed
C: a2 STATUS INBOX (UIDVALIDITY HIGHESTMODSEQ)
S~ \* STATUS "INBOX" \(UIDVALIDITY \d+ HIGHESTMODSEQ \d+\)
S: a2 OK STATUS completed
C: a3 STATUS Nope (MESSAGES)
S: a3 NO [NONEXISTENT] No such mailbox
C: a4 STATUS INBOX (BOGUS)
S~ a4 BAD .*
`)
}

func TestListChildren(t *testing.T) {
	h := newHarness(t)
	c := h.login()
	c.run(`
C: a1 CREATE A/B/C
S~ a1 OK \[MAILBOXID \(F\d+\)\] CREATE completed
C: a2 LIST "" A/%
S: * LIST (\HasChildren) "/" "A/B"
S: a2 OK LIST completed
C: a3 LIST "" A*
S: * LIST (\HasChildren) "/" "A"
S: * LIST (\HasChildren) "/" "A/B"
S: * LIST (\HasNoChildren) "/" "A/B/C"
S: * LIST (\HasNoChildren \Archive) "/" "Archive"
S: a3 OK LIST completed
`)
}

func TestSpecialUse(t *testing.T) {
	h := newHarness(t)
	c := h.login()
	c.run(`
C: a1 CREATE Important (USE (\Flagged))
S~ a1 OK \[MAILBOXID \(F\d+\)\] CREATE completed
C: a2 CREATE Bad (USE (\Nonsense))
S: a2 NO [USEATTR] Unsupported special-use attribute
C: a3 LIST (SPECIAL-USE) "" *
S: * LIST (\HasNoChildren \Archive) "/" "Archive"
S: * LIST (\HasNoChildren \Drafts) "/" "Drafts"
S: * LIST (\HasNoChildren \Flagged) "/" "Important"
S: * LIST (\HasNoChildren \Junk) "/" "Junk"
S: * LIST (\HasNoChildren \Sent) "/" "Sent"
S: * LIST (\HasNoChildren \Trash) "/" "Trash"
S: a3 OK LIST completed
C: a4 LIST "" "Imp*" RETURN (SPECIAL-USE)
S: * LIST (\HasNoChildren \Flagged) "/" "Important"
S: a4 OK LIST completed
`)
}

func TestListExtended(t *testing.T) {
	h := newHarness(t)
	h.deliver("INBOX", msg1)
	c := h.login()
	c.run(`
C: a1 CREATE Lists/Go
S~ a1 OK \[MAILBOXID \(F\d+\)\] CREATE completed
C: a2 SUBSCRIBE Lists/Go
S: a2 OK SUBSCRIBE completed
C: a3 SUBSCRIBE INBOX
S: a3 OK SUBSCRIBE completed
C: a4 LIST (SUBSCRIBED) "" (INBOX L*)
S: * LIST (\HasNoChildren \Marked \Subscribed) "/" "INBOX"
S: * LIST (\HasNoChildren \Subscribed) "/" "Lists/Go"
S: a4 OK LIST completed
C: a5 LIST (SUBSCRIBED RECURSIVEMATCH) "" (INBOX L%)
S: * LIST (\HasNoChildren \Marked \Subscribed) "/" "INBOX"
S: * LIST (\HasChildren) "/" "Lists" ("CHILDINFO" ("SUBSCRIBED"))
S: a5 OK LIST completed
C: a6 LIST "" (INBOX Lists) RETURN (SUBSCRIBED CHILDREN)
S: * LIST (\HasNoChildren \Marked \Subscribed) "/" "INBOX"
S: * LIST (\HasChildren) "/" "Lists"
S: a6 OK LIST completed
C: a7 LIST "" INBOX RETURN (STATUS (MESSAGES UNSEEN))
S: * LIST (\HasNoChildren \Marked) "/" "INBOX"
S: * STATUS "INBOX" (MESSAGES 1 UNSEEN 1)
S: a7 OK LIST completed
C: a8 LIST (RECURSIVEMATCH) "" %
S~ a8 BAD .*
`)
}

func TestUTF8MailboxNames(t *testing.T) {
	h := newHarness(t)
	c := h.login()
	c.run(`
C: a1 CREATE "Entw&APw-rfe"
S~ a1 OK \[MAILBOXID \(F\d+\)\] CREATE completed
C: a2 LIST "" "Entw*"
S: * LIST (\HasNoChildren) "/" "Entw&APw-rfe"
S: a2 OK LIST completed
C: a3 ENABLE IMAP4rev2
S: * ENABLED IMAP4rev2
S: a3 OK ENABLE completed
C: a4 LIST "" "Entw*"
S: * LIST (\HasNoChildren) "/" "Entwürfe"
S: a4 OK LIST completed
C: a5 CREATE "Grüße"
S~ a5 OK \[MAILBOXID \(F\d+\)\] CREATE completed
C: a6 STATUS "Grüße" (MESSAGES)
S: * STATUS "Grüße" (MESSAGES 0)
S: a6 OK STATUS completed
`)
}

func TestUTF8Accept(t *testing.T) {
	h := newHarness(t)
	c := h.login()
	msg := "Subject: Grüße aus Köln\r\nFrom: Jörg <jörg@example.de>\r\n\r\nHallo\r\n"
	c.send("a1 APPEND INBOX UTF8 (~{" + itoa(len(msg)) + "+}\r\n" + msg + ")")
	c.expect("a1 BAD APPEND UTF8 needs ENABLE UTF8=ACCEPT")
	c.run(`
C: a2 ENABLE UTF8=ACCEPT
S: * ENABLED UTF8=ACCEPT
S: a2 OK ENABLE completed
C: a3 CREATE "Entwürfe"
S~ a3 OK \[MAILBOXID \(F\d+\)\] CREATE completed
`)
	c.send("a4 APPEND Entwürfe UTF8 (~{" + itoa(len(msg)) + "+}\r\n" + msg + ")")
	c.expect(`~a4 OK \[APPENDUID \d+ 1\] APPEND completed`)
	c.run(`
C: a5 EXAMINE "Entwürfe"
S~ .*
S~ .*
S~ .*
S~ .*
S~ .*
S~ .*
S~ .*
S~ .*
S: a5 OK [READ-ONLY] EXAMINE completed
C: a6 SEARCH SUBJECT "köln"
S: * SEARCH 1
S: a6 OK SEARCH completed
C: a7 FETCH 1 ENVELOPE
S: * 1 FETCH (ENVELOPE (NIL "Grüße aus Köln" (("Jörg" NIL "jörg" "example.de")) (("Jörg" NIL "jörg" "example.de")) (("Jörg" NIL "jörg" "example.de")) NIL NIL NIL NIL NIL))
S: a7 OK FETCH completed
`)
}

func TestLsubParents(t *testing.T) {
	h := newHarness(t)
	c := h.login()
	c.run(`
C: a1 CREATE Club/News
S~ a1 OK \[MAILBOXID \(F\d+\)\] CREATE completed
C: a2 SUBSCRIBE Club/News
S: a2 OK SUBSCRIBE completed
C: a3 LSUB "" "Cl%"
S: * LSUB (\Noselect) "/" "Club"
S: a3 OK LSUB completed
C: a4 LSUB "" "Club/%"
S: * LSUB () "/" "Club/News"
S: a4 OK LSUB completed
C: a5 ENABLE IMAP4rev2
S: * ENABLED IMAP4rev2
S: a5 OK ENABLE completed
C: a6 LIST "" "Club*" RETURN (SUBSCRIBED)
S: * LIST (\HasChildren) "/" "Club"
S: * LIST (\HasNoChildren \Subscribed) "/" "Club/News"
S: a6 OK LIST completed
`)
}
