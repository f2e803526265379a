package imapserver_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/letterbox/letterbox/internal/imapserver"
	"github.com/letterbox/letterbox/internal/store"
)

func (h *harness) setQuota(storage, messages int64) {
	h.t.Helper()
	if err := h.st.SetQuota(context.Background(), testUser, storage, messages); err != nil {
		h.t.Fatal(err)
	}
}

// TestQuota: GETQUOTAROOT, GETQUOTA, SETQUOTA (refused, as Dovecot does),
// the MESSAGE resource enforced on APPEND and COPY with NO [OVERQUOTA] and
// nothing changed, MOVE allowed at the limit, EXPUNGE freeing room at once,
// and STATUS DELETED / DELETED-STORAGE (RFC 9208).
func TestQuota(t *testing.T) {
	h := newHarness(t)
	h.setQuota(4096, 3)
	h.deliver("INBOX", msg1)
	h.deliver("INBOX", msg1)
	c := h.login()
	c.run(`
C: a1 GETQUOTAROOT INBOX
S: * QUOTAROOT "INBOX" "User quota"
S: * QUOTA "User quota" (STORAGE 1 4 MESSAGE 2 3)
S: a1 OK GETQUOTAROOT completed
C: a2 GETQUOTA "User quota"
S: * QUOTA "User quota" (STORAGE 1 4 MESSAGE 2 3)
S: a2 OK GETQUOTA completed
C: a3 GETQUOTA ""
S: a3 NO [NONEXISTENT] Quota root doesn't exist
C: a4 SETQUOTA "User quota" (STORAGE 100 MESSAGE 9)
S: a4 NO [NOPERM] Quota can be changed only by admin
C: a5 SETQUOTA "User quota" (STORAGE)
S~ a5 BAD .*
C: a6 GETQUOTAROOT Nonexistent/Sub
S: * QUOTAROOT "Nonexistent/Sub" "User quota"
S: * QUOTA "User quota" (STORAGE 1 4 MESSAGE 2 3)
S: a6 OK GETQUOTAROOT completed
C: a7 APPEND Drafts {5+}
C: hello
S~ a7 OK \[APPENDUID \d+ 1\] APPEND completed
# Full: the next APPEND is refused, with the root's QUOTA first, and
# leaves the mailbox as it was.
C: a8 APPEND INBOX {5+}
C: hello
S: * QUOTA "User quota" (STORAGE 1 4 MESSAGE 3 3)
S: a8 NO [OVERQUOTA] Quota exceeded (mailbox for user is full)
C: a9 STATUS INBOX (MESSAGES UIDNEXT)
S: * STATUS "INBOX" (MESSAGES 2 UIDNEXT 3)
S: a9 OK STATUS completed
`)
	c.selectInbox("b0")
	c.run(`
C: b1 COPY 1 Trash
S: * QUOTA "User quota" (STORAGE 1 4 MESSAGE 3 3)
S: b1 NO [OVERQUOTA] Quota exceeded (mailbox for user is full)
C: b2 STATUS Trash (MESSAGES UIDNEXT)
S: * STATUS "Trash" (MESSAGES 0 UIDNEXT 1)
S: b2 OK STATUS completed
C: b3 UID COPY 1:* INBOX
S: * QUOTA "User quota" (STORAGE 1 4 MESSAGE 3 3)
S: b3 NO [OVERQUOTA] Quota exceeded (mailbox for user is full)
# MOVE within the account needs no room (Dovecot moves at the limit too).
C: b4 MOVE 2 Trash
S~ \* OK \[COPYUID \d+ 2 1\] Moved
S: * 2 EXPUNGE
S: b4 OK MOVE completed
C: b5 STORE 1 +FLAGS.SILENT (\Deleted)
S: b5 OK STORE completed
C: b6 STATUS INBOX (DELETED DELETED-STORAGE)
S: * STATUS "INBOX" (DELETED 1 DELETED-STORAGE 0)
S: b6 OK STATUS completed
C: b7 EXPUNGE
S: * 1 EXPUNGE
S: b7 OK EXPUNGE completed
C: b8 GETQUOTA "User quota"
S: * QUOTA "User quota" (STORAGE 1 4 MESSAGE 2 3)
S: b8 OK GETQUOTA completed
C: b9 APPEND INBOX {5+}
C: hello
S: * 1 EXISTS
S: * 1 RECENT
S~ b9 OK \[APPENDUID \d+ 3\] APPEND completed
`)
}

// TestQuotaStorage: the STORAGE resource in units of 1024 octets, usage
// rounded up; an APPEND that would pass the limit is refused, one that
// fills it exactly is taken; STATUS DELETED-STORAGE in KiB.
func TestQuotaStorage(t *testing.T) {
	h := newHarness(t)
	big := "Subject: big\r\n\r\n" + strings.Repeat("x", 2048-len("Subject: big\r\n\r\n")-2) + "\r\n"
	h.deliver("INBOX", big, `\Deleted`)
	h.setQuota(4096, 0)
	c := h.login()
	c.run(`
C: a1 GETQUOTAROOT INBOX
S: * QUOTAROOT "INBOX" "User quota"
S: * QUOTA "User quota" (STORAGE 2 4)
S: a1 OK GETQUOTAROOT completed
C: a2 STATUS INBOX (DELETED DELETED-STORAGE SIZE)
S: * STATUS "INBOX" (DELETED 1 DELETED-STORAGE 2 SIZE 2048)
S: a2 OK STATUS completed
`)
	// A literal of n octets: n-2 letters and CRLF.
	appendOf := func(tag string, n int) {
		c.send(tag + " APPEND INBOX {" + strconv.Itoa(n) + "+}\r\n" + strings.Repeat("y", n-2) + "\r\n")
	}
	appendOf("a3", 2049)
	c.run(`
S: * QUOTA "User quota" (STORAGE 2 4)
S: a3 NO [OVERQUOTA] Quota exceeded (mailbox for user is full)
`)
	appendOf("a4", 2048)
	c.run(`
S~ a4 OK \[APPENDUID \d+ 2\] APPEND completed
C: a5 GETQUOTA "User quota"
S: * QUOTA "User quota" (STORAGE 4 4)
S: a5 OK GETQUOTA completed
`)
}

// TestQuotaUnlimited: without any limit the account has no quota root
// (Dovecot answers "No quota"); QUOTAROOT then names none.
func TestQuotaUnlimited(t *testing.T) {
	h := newHarness(t)
	h.deliver("INBOX", msg1)
	c := h.login()
	c.run(`
C: a1 GETQUOTAROOT INBOX
S: * QUOTAROOT "INBOX"
S: a1 OK GETQUOTAROOT completed
C: a2 GETQUOTA "User quota"
S: a2 OK GETQUOTA completed
C: a3 APPEND INBOX {5+}
C: hello
S~ a3 OK \[APPENDUID \d+ 2\] APPEND completed
`)
}

// noQuotaStore hides the store's Quotas.
type noQuotaStore struct{ store.Store }

// TestQuotaNeedsStoreSupport: with a store that keeps no quota, nothing of
// QUOTA is advertised and its commands are unknown.
func TestQuotaNeedsStoreSupport(t *testing.T) {
	h := newHarness(t, func(o *imapserver.Options) { o.Store = noQuotaStore{o.Store} })
	c := h.login()
	c.send("a1 CAPABILITY")
	line := c.expect(`~\* CAPABILITY .*`)
	if strings.Contains(line, "QUOTA") {
		t.Fatalf("QUOTA advertised without store support: %s", line)
	}
	c.run(`
S: a1 OK CAPABILITY completed
C: a2 GETQUOTAROOT INBOX
S: a2 BAD Unknown command
C: a3 GETQUOTA "User quota"
S: a3 BAD Unknown command
`)
}
