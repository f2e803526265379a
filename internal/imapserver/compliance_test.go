package imapserver_test

import (
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
