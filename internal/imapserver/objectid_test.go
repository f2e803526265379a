package imapserver_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/imapserver"
	"github.com/letterbox/letterbox/internal/store"
)

// capture sends cmd and returns the submatches of re in the untagged
// lines, one slice per matching line, after the tagged OK.
func (c *tconn) capture(tag, cmd, re string) [][]string {
	c.t.Helper()
	rx := regexp.MustCompile(re)
	c.send(tag + " " + cmd)
	var out [][]string
	for {
		line := c.readLine()
		if strings.HasPrefix(line, tag+" ") {
			if !strings.HasPrefix(line, tag+" OK") {
				c.t.Fatalf("%s: %s", cmd, line)
			}
			return out
		}
		if m := rx.FindStringSubmatch(line); m != nil {
			out = append(out, m)
		}
	}
}

func threadedMsg(id, inReplyTo string) string {
	h := "From: a@example.com\r\nSubject: s\r\nMessage-ID: " + id + "\r\n"
	if inReplyTo != "" {
		h += "In-Reply-To: " + inReplyTo + "\r\n"
	}
	return h + "\r\nbody\r\n"
}

// TestObjectID: RFC 8474 — MAILBOXID on CREATE, STATUS and LIST-STATUS,
// kept by RENAME; FETCH EMAILID and THREADID, kept by COPY; SEARCH
// EMAILID and THREADID.
func TestObjectID(t *testing.T) {
	h := newHarness(t)
	h.deliver("INBOX", threadedMsg("<root@x>", ""))
	h.deliver("INBOX", threadedMsg("<reply@x>", "<root@x>"))
	h.deliver("INBOX", threadedMsg("<other@x>", ""))
	c := h.login()
	c.send("a1 CREATE Box")
	m := regexp.MustCompile(`^a1 OK \[MAILBOXID \((F\d+)\)\] CREATE completed$`).FindStringSubmatch(c.readLine())
	if m == nil {
		t.Fatal("CREATE: no MAILBOXID")
	}
	boxID := m[1]
	c.run(fmt.Sprintf(`
C: a2 STATUS Box (MESSAGES MAILBOXID)
S: * STATUS "Box" (MESSAGES 0 MAILBOXID (%[1]s))
S: a2 OK STATUS completed
C: a3 RENAME Box Renamed
S: a3 OK RENAME completed
C: a4 STATUS Renamed (MAILBOXID)
S: * STATUS "Renamed" (MAILBOXID (%[1]s))
S: a4 OK STATUS completed
C: a5 LIST "" Renamed RETURN (STATUS (MAILBOXID))
S: * LIST (\HasNoChildren) "/" "Renamed"
S: * STATUS "Renamed" (MAILBOXID (%[1]s))
S: a5 OK LIST completed
`, boxID))
	inbox := c.capture("a6", "STATUS INBOX (MAILBOXID)", `MAILBOXID \((F\d+)\)`)
	if len(inbox) != 1 || inbox[0][1] == boxID {
		t.Fatalf("INBOX MAILBOXID %v, Box %s", inbox, boxID)
	}
	c.selectInbox("a7")
	ids := c.capture("a8", "FETCH 1:3 (EMAILID THREADID)", `^\* (\d) FETCH \(EMAILID \((M[0-9a-f]{16})\) THREADID \((T[0-9a-f]{16})\)\)$`)
	if len(ids) != 3 {
		t.Fatalf("FETCH EMAILID THREADID: %v", ids)
	}
	email := func(i int) string { return ids[i][2] }
	thread := func(i int) string { return ids[i][3] }
	if thread(0) != thread(1) || thread(2) == thread(0) || email(0) == email(1) || email(1) == email(2) {
		t.Fatalf("IDs: %v", ids)
	}
	c.run(fmt.Sprintf(`
C: b1 SEARCH EMAILID %s
S: * SEARCH 2
S: b1 OK SEARCH completed
C: b2 UID SEARCH THREADID %s
S: * SEARCH 1 2
S: b2 OK UID SEARCH completed
C: b3 SEARCH OR THREADID %s EMAILID %s
S: * SEARCH 1 2 3
S: b3 OK SEARCH completed
C: b4 SEARCH EMAILID Mnope
S: * SEARCH
S: b4 OK SEARCH completed
C: b5 SEARCH EMAILID M!x
S~ b5 BAD .*
C: b6 SEARCH THREADID
S~ b6 BAD .*
C: b7 COPY 1 Renamed
S~ b7 OK \[COPYUID \d+ 1 1\] COPY completed
`, email(1), thread(0), thread(0), email(2)))
	c.capture("b8", "EXAMINE Renamed", "^$")
	c.run(fmt.Sprintf(`
C: b9 FETCH 1 (EMAILID THREADID)
S: * 1 FETCH (EMAILID (%s) THREADID (%s))
S: b9 OK FETCH completed
`, email(0), thread(0)))
}

// TestSaveDate: RFC 8514 — FETCH SAVEDATE is when the message was
// appended, not its INTERNALDATE; SEARCH SAVEDBEFORE, SAVEDON,
// SAVEDSINCE and SAVEDATESUPPORTED.
func TestSaveDate(t *testing.T) {
	h := newHarness(t)
	c := h.login()
	msg := "Subject: old\r\n\r\nfrom 2001\r\n"
	c.send(fmt.Sprintf("a1 APPEND INBOX \"01-Jan-2001 10:00:00 +0000\" {%d+}\r\n%s", len(msg), msg))
	c.expect(`~a1 OK \[APPENDUID \d+ 1\] APPEND completed`)
	c.selectInbox("a2")
	got := c.capture("a3", "FETCH 1 (INTERNALDATE SAVEDATE)", `^\* 1 FETCH \(INTERNALDATE " 1-Jan-2001 10:00:00 \+0000" SAVEDATE "([^"]+)"\)$|^\* 1 FETCH.*`)
	if len(got) != 1 || got[0][1] == "" {
		t.Fatalf("no SAVEDATE: %q", got)
	}
	saved, err := time.Parse("_2-Jan-2006 15:04:05 -0700", got[0][1])
	if err != nil || time.Since(saved) > time.Minute || time.Until(saved) > time.Second {
		t.Fatalf("SAVEDATE %q (%v), want about now", got[0][1], err)
	}
	day := saved.UTC().Format("2-Jan-2006")
	next := saved.UTC().AddDate(0, 0, 1).Format("2-Jan-2006")
	c.run(fmt.Sprintf(`
C: b1 SEARCH SAVEDON %[1]s
S: * SEARCH 1
S: b1 OK SEARCH completed
C: b2 SEARCH SAVEDSINCE %[1]s
S: * SEARCH 1
S: b2 OK SEARCH completed
C: b3 SEARCH SAVEDBEFORE %[1]s
S: * SEARCH
S: b3 OK SEARCH completed
C: b4 SEARCH SAVEDBEFORE %[2]s
S: * SEARCH 1
S: b4 OK SEARCH completed
C: b5 SEARCH SAVEDSINCE 2-Jan-2001 ON 1-Jan-2001
S: * SEARCH 1
S: b5 OK SEARCH completed
C: b6 SEARCH SAVEDON 1-Jan-2001
S: * SEARCH
S: b6 OK SEARCH completed
C: b7 SEARCH SAVEDATESUPPORTED
S: * SEARCH 1
S: b7 OK SEARCH completed
C: b8 SEARCH SAVEDON yesterday
S~ b8 BAD .*
C: b9 UID FETCH 1 (SAVEDATE)
S: * 1 FETCH (UID 1 SAVEDATE "%[3]s")
S: b9 OK UID FETCH completed
`, day, next, got[0][1]))
}

// previewMsgs are a quoted-printable text, an HTML-only message and one
// without text, and their previews (RFC 8970).
var previewMsgs = []struct{ msg, preview string }{
	{"Subject: a\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nHello   there,\r\n\r\ncaf=C3=A9 at  noon?\r\n", `"Hello there, café at noon?"`},
	{"Subject: b\r\nContent-Type: text/html\r\n\r\n<html><head><style>p{}</style></head><body><p>Big &amp; bold</p>\r\n<p>news</p></body></html>\r\n", `"Big & bold news"`},
	{"Subject: c\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n", `""`},
}

// TestPreview: RFC 8970 — FETCH PREVIEW and PREVIEW (LAZY) from the
// preview stored at delivery; from a store without stored previews,
// PREVIEW computes it and PREVIEW (LAZY) may answer NIL.
func TestPreview(t *testing.T) {
	for _, stored := range []bool{true, false} {
		t.Run(fmt.Sprintf("stored=%v", stored), func(t *testing.T) {
			var opts []func(*imapserver.Options)
			if !stored {
				// The store without its optional capabilities.
				opts = append(opts, func(o *imapserver.Options) { o.Store = struct{ store.Store }{o.Store} })
			}
			h := newHarness(t, opts...)
			for _, m := range previewMsgs {
				h.deliver("INBOX", m.msg)
			}
			c := h.login()
			c.send("a0 ENABLE UTF8=ACCEPT")
			c.expect("* ENABLED UTF8=ACCEPT")
			c.expect("a0 OK ENABLE completed")
			c.selectInbox("a1")
			lazy := func(p string) string {
				if stored {
					return p
				}
				return "NIL"
			}
			c.run(fmt.Sprintf(`
C: a2 FETCH 1:3 (PREVIEW)
S: * 1 FETCH (PREVIEW %[1]s)
S: * 2 FETCH (PREVIEW %[2]s)
S: * 3 FETCH (PREVIEW %[3]s)
S: a2 OK FETCH completed
C: a3 FETCH 1 (UID PREVIEW (LAZY))
S: * 1 FETCH (UID 1 PREVIEW %[4]s)
S: a3 OK FETCH completed
C: a4 FETCH 2 PREVIEW (lazy)
S: * 2 FETCH (PREVIEW %[5]s)
S: a4 OK FETCH completed
C: a5 FETCH 1 (PREVIEW (LAZY) PREVIEW)
S: * 1 FETCH (PREVIEW %[1]s)
S: a5 OK FETCH completed
C: a6 FETCH 1 (PREVIEW (FOO))
S~ a6 BAD .*
C: a7 FETCH 1 (PREVIEW ())
S~ a7 BAD .*
C: a8 FETCH 1 PREVIEW (CHANGEDSINCE 1)
S~ \* OK \[HIGHESTMODSEQ \d+\].*
S~ \* 1 FETCH \(PREVIEW "Hello there, café at noon\?" MODSEQ \(\d+\)\)
S: a8 OK FETCH completed
`, previewMsgs[0].preview, previewMsgs[1].preview, previewMsgs[2].preview, lazy(previewMsgs[0].preview), lazy(previewMsgs[1].preview)))
		})
	}
}
