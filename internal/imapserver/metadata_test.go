package imapserver_test

import (
	"strings"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/imapserver"
)

// TestMetadata: SETMETADATA and GETMETADATA on a mailbox (RFC 5464 §4.2,
// §4.3): several entries at once, values as quoted strings, literals,
// LITERAL+ and literal8 with NUL, NIL to remove, case-insensitive names
// answered lower-case, NIL for what is not there, the computed
// /private/specialuse, and a mailbox that does not exist.
func TestMetadata(t *testing.T) {
	h := newHarness(t)
	c := h.login()
	c.run(`
C: a1 SETMETADATA INBOX (/private/comment "my comment" /Shared/Comment {10}
S: + Ready
C: two
C: lines)
S: a1 OK SETMETADATA completed
C: a2 GETMETADATA INBOX (/private/comment /shared/comment /private/none)
S: * METADATA "INBOX" (/private/comment "my comment" /shared/comment {10}
S: two
S: lines /private/none NIL)
S: a2 OK GETMETADATA completed
C: a3 GETMETADATA inbox /PRIVATE/Comment
S: * METADATA "INBOX" (/private/comment "my comment")
S: a3 OK GETMETADATA completed
C: a4 SETMETADATA INBOX (/private/bin ~{3+}
C: a` + "\x00" + `b /private/plus {2+}
C: xy /private/empty "")
S: a4 OK SETMETADATA completed
C: a5 GETMETADATA INBOX (/private/bin /private/plus /private/empty)
S: * METADATA "INBOX" (/private/bin ~{3}
S: a` + "\x00" + `b /private/plus "xy" /private/empty "")
S: a5 OK GETMETADATA completed
C: a6 SETMETADATA INBOX (/private/comment NIL /shared/comment NIL /private/never NIL)
S: a6 OK SETMETADATA completed
C: a7 GETMETADATA INBOX (/private/comment /shared/comment)
S: * METADATA "INBOX" (/private/comment NIL /shared/comment NIL)
S: a7 OK GETMETADATA completed
# /private/specialuse: the special-use attribute, read-only.
C: b1 GETMETADATA Sent /private/specialuse
S: * METADATA "Sent" (/private/specialuse "\\Sent")
S: b1 OK GETMETADATA completed
C: b2 GETMETADATA INBOX /private/specialuse
S: * METADATA "INBOX" (/private/specialuse NIL)
S: b2 OK GETMETADATA completed
C: b3 SETMETADATA Sent (/private/comment "x" /private/SpecialUse "\\Trash")
S: b3 NO [CANNOT] The /private/specialuse entry cannot be changed
C: b4 GETMETADATA Sent (/private/comment /private/specialuse)
S: * METADATA "Sent" (/private/comment NIL /private/specialuse "\\Sent")
S: b4 OK GETMETADATA completed
# A mailbox that does not exist.
C: c1 GETMETADATA Nope /private/comment
S: c1 NO [NONEXISTENT] No such mailbox
C: c2 SETMETADATA Nope (/private/comment "x")
S: c2 NO [NONEXISTENT] No such mailbox
C: c3 SETMETADATA "&Jjo" (/private/comment "x")
S: c3 NO [NONEXISTENT] No such mailbox (invalid mailbox name)
`)
	// Not before login.
	c2 := h.dial()
	c2.run(`
C: n1 GETMETADATA "" /shared/comment
S: n1 BAD Command not valid in this state
C: n2 SETMETADATA "" (/shared/comment "x")
S: n2 BAD Command not valid in this state
`)
}

// TestMetadataServer: the server's entries (mailbox "", METADATA-SERVER):
// /private and /shared entries of the account, /shared/comment and
// /shared/admin from the configuration, read-only.
func TestMetadataServer(t *testing.T) {
	h := newHarness(t, func(o *imapserver.Options) {
		o.Metadata.ServerAdmin = "mailto:postmaster@example.com"
	})
	c := h.login()
	c.run(`
C: a1 GETMETADATA "" (/shared/admin /shared/comment)
S: * METADATA "" (/shared/admin "mailto:postmaster@example.com" /shared/comment NIL)
S: a1 OK GETMETADATA completed
C: a2 SETMETADATA "" (/shared/comment "x")
S: a2 NO [CANNOT] The /shared/comment entry cannot be changed
C: a3 SETMETADATA "" (/shared/admin NIL)
S: a3 NO [CANNOT] The /shared/admin entry cannot be changed
C: a4 SETMETADATA "" (/private/vendor/x/theme "dark" /shared/motd "hi")
S: a4 OK SETMETADATA completed
C: a5 GETMETADATA (DEPTH infinity) "" (/private /shared)
S: * METADATA "" (/private/vendor/x/theme "dark" /shared/admin "mailto:postmaster@example.com" /shared/motd "hi")
S: a5 OK GETMETADATA completed
# Server entries are not INBOX's, and INBOX's are not the server's.
C: a6 GETMETADATA INBOX /private/vendor/x/theme
S: * METADATA "INBOX" (/private/vendor/x/theme NIL)
S: a6 OK GETMETADATA completed
C: a7 SETMETADATA INBOX (/private/specialuse NIL)
S: a7 NO [CANNOT] The /private/specialuse entry cannot be changed
C: a8 SETMETADATA "" (/private/specialuse "on the server an ordinary entry")
S: a8 OK SETMETADATA completed
`)
}

// TestMetadataDepthMaxSize: DEPTH 0/1/infinity (RFC 5464 §4.2.2) and
// MAXSIZE with [METADATA LONGENTRIES n] (§4.2.1), options before or
// after the mailbox.
func TestMetadataDepthMaxSize(t *testing.T) {
	h := newHarness(t)
	c := h.login()
	c.run(`
C: a1 SETMETADATA INBOX (/private/a "1" /private/a/b "22" /private/a/b/c "333" /private/ab "x" /shared/a/z "4444")
S: a1 OK SETMETADATA completed
C: d0 GETMETADATA (DEPTH 0) INBOX /private/a
S: * METADATA "INBOX" (/private/a "1")
S: d0 OK GETMETADATA completed
C: d1 GETMETADATA (DEPTH 1) INBOX /private/a
S: * METADATA "INBOX" (/private/a "1" /private/a/b "22")
S: d1 OK GETMETADATA completed
C: d2 GETMETADATA (DEPTH infinity) INBOX /private/a
S: * METADATA "INBOX" (/private/a "1" /private/a/b "22" /private/a/b/c "333")
S: d2 OK GETMETADATA completed
# An entry without a value is left out below DEPTH 0, its children are not.
C: d3 GETMETADATA (DEPTH 1) INBOX (/private /shared/a)
S: * METADATA "INBOX" (/private/a "1" /private/ab "x" /shared/a/z "4444")
S: d3 OK GETMETADATA completed
C: d4 GETMETADATA (DEPTH infinity) INBOX /private/nothing
S: d4 OK GETMETADATA completed
# Overlapping requests answer each entry once.
C: d5 GETMETADATA (DEPTH infinity) INBOX (/private/a/b /private/a)
S: * METADATA "INBOX" (/private/a/b "22" /private/a/b/c "333" /private/a "1")
S: d5 OK GETMETADATA completed
C: m1 GETMETADATA (MAXSIZE 2 DEPTH infinity) INBOX /private/a
S: * METADATA "INBOX" (/private/a "1" /private/a/b "22")
S: m1 OK [METADATA LONGENTRIES 3] GETMETADATA completed
C: m2 GETMETADATA INBOX (DEPTH infinity MAXSIZE 0) (/private /shared)
S: m2 OK [METADATA LONGENTRIES 4] GETMETADATA completed
C: m3 GETMETADATA (MAXSIZE 0) INBOX /private/none
S: * METADATA "INBOX" (/private/none NIL)
S: m3 OK GETMETADATA completed
`)
}

// TestMetadataSyntax: entry names that break RFC 5464 §3.2 and malformed
// options are BAD, and nothing of a bad SETMETADATA is stored.
func TestMetadataSyntax(t *testing.T) {
	h := newHarness(t)
	c := h.login()
	c.run(`
C: b1 GETMETADATA INBOX /private/a*b
S: b1 BAD Entry name can't contain '*'
C: b2 GETMETADATA INBOX "/private/a%"
S: b2 BAD Entry name can't contain '%'
C: b3 GETMETADATA INBOX /private//x
S: b3 BAD Entry name can't contain consecutive '/'
C: b4 GETMETADATA INBOX /private/x/
S: b4 BAD Entry name can't end with '/'
C: b5 GETMETADATA INBOX (/private/x /vendor/x)
S: b5 BAD Entry name must begin with /private or /shared
C: b6 GETMETADATA INBOX private/x
S: b6 BAD Entry name must begin with '/'
C: b7 GETMETADATA (DEPTH 2) INBOX /private
S: b7 BAD Invalid value for DEPTH option
C: b8 GETMETADATA (MAXSIZE x) INBOX /private
S: b8 BAD Invalid value for MAXSIZE option
C: b9 SETMETADATA INBOX (/private/ok "1" /bad "2")
S: b9 BAD Entry name must begin with /private or /shared
C: b10 SETMETADATA INBOX ()
S: b10 BAD expected entry name
C: b11 GETMETADATA INBOX /private/ok
S: * METADATA "INBOX" (/private/ok NIL)
S: b11 OK GETMETADATA completed
`)
}

// TestMetadataLimits: [METADATA MAXSIZE n] for a quoted value and for
// literals (a synchronizing one is refused before it is sent, a LITERAL+
// one after it was skipped), [METADATA TOOMANY], [OVERQUOTA] for the
// account's total; each refusal stores nothing (RFC 5464 §4.3).
func TestMetadataLimits(t *testing.T) {
	h := newHarness(t, func(o *imapserver.Options) {
		o.Metadata = imapserver.MetadataOptions{MaxValueSize: 10, MaxEntries: 3, MaxTotalSize: 100}
	})
	c := h.login()
	c.run(`
C: a1 SETMETADATA INBOX (/private/a "0123456789" /private/b "01234567890")
S: a1 NO [METADATA MAXSIZE 10] Metadata value too large
C: a2 SETMETADATA INBOX (/private/a "x" /private/b {11}
S: a2 NO [METADATA MAXSIZE 10] Metadata value too large
C: a3 SETMETADATA INBOX (/private/c {11+}
C: 01234567890)
S: a3 NO [METADATA MAXSIZE 10] Metadata value too large
C: a4 GETMETADATA (DEPTH 1) INBOX /private
S: a4 OK GETMETADATA completed
C: a5 SETMETADATA INBOX (/private/a "0123456789" /private/b ~{10}
S: + Ready
C: 0123456789)
S: a5 OK SETMETADATA completed
C: t1 SETMETADATA INBOX (/private/c "c" /private/d "d")
S: t1 NO [METADATA TOOMANY] Too many metadata entries (at most 3 per mailbox)
C: t2 SETMETADATA INBOX (/private/c "c" /private/a NIL /private/d "d")
S: t2 OK SETMETADATA completed
C: t3 GETMETADATA (DEPTH 1) INBOX /private
S: * METADATA "INBOX" (/private/b "0123456789" /private/c "c" /private/d "d")
S: t3 OK GETMETADATA completed
# INBOX holds 20+11+11 octets (names and values); 3 x 20 more in Sent
# would pass 100, 20 more do not.
C: q1 SETMETADATA Sent (/private/x "0123456789" /private/y "0123456789" /private/z "0123456789")
S: q1 NO [OVERQUOTA] Metadata storage full (at most 100 octets per account)
C: q2 SETMETADATA Sent (/private/x "0123456789")
S: q2 OK SETMETADATA completed
C: q3 GETMETADATA Sent (/private/x /private/y)
S: * METADATA "Sent" (/private/x "0123456789" /private/y NIL)
S: q3 OK GETMETADATA completed
`)
}

// TestMetadataMailboxLife: entries go with DELETE, follow RENAME, and stay
// on INBOX when INBOX is renamed (only its messages move); another
// session gets no unsolicited METADATA (Dovecot sends none either).
func TestMetadataMailboxLife(t *testing.T) {
	h := newHarness(t)
	c := h.login()
	other := h.login()
	other.send("o1 SELECT INBOX")
	for !strings.HasPrefix(other.readLine(), "o1 OK") {
	}
	c.run(`
C: a1 CREATE Work/Sub
S~ a1 OK \[MAILBOXID \(F\d+\)\] CREATE completed
C: a2 SETMETADATA Work/Sub (/private/comment "sub")
S: a2 OK SETMETADATA completed
C: a3 SETMETADATA INBOX (/private/comment "inbox")
S: a3 OK SETMETADATA completed
C: a4 RENAME Work Job
S: a4 OK RENAME completed
C: a5 GETMETADATA Job/Sub /private/comment
S: * METADATA "Job/Sub" (/private/comment "sub")
S: a5 OK GETMETADATA completed
C: a6 DELETE Job/Sub
S: a6 OK DELETE completed
C: a7 CREATE Job/Sub
S~ a7 OK \[MAILBOXID \(F\d+\)\] CREATE completed
C: a8 GETMETADATA Job/Sub /private/comment
S: * METADATA "Job/Sub" (/private/comment NIL)
S: a8 OK GETMETADATA completed
C: a9 RENAME INBOX Old
S: a9 OK RENAME completed
C: a10 GETMETADATA INBOX /private/comment
S: * METADATA "INBOX" (/private/comment "inbox")
S: a10 OK GETMETADATA completed
C: a11 GETMETADATA Old /private/comment
S: * METADATA "Old" (/private/comment NIL)
S: a11 OK GETMETADATA completed
`)
	other.run(`
C: o2 NOOP
S: o2 OK NOOP completed
`)
	other.noMore(100 * time.Millisecond)
}

// TestMetadataCapability: METADATA and METADATA-SERVER are advertised.
func TestMetadataCapability(t *testing.T) {
	h := newHarness(t)
	c := h.login()
	c.send("a1 CAPABILITY")
	line := c.readLine()
	for _, want := range []string{" METADATA ", " METADATA-SERVER"} {
		if !strings.Contains(line+" ", want) {
			t.Errorf("CAPABILITY lacks %q: %s", want, line)
		}
	}
	c.expect("a1 OK CAPABILITY completed")
}
