package imapserver_test

import (
	"context"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/auth"
	"github.com/letterbox/letterbox/internal/imapserver"
	"github.com/letterbox/letterbox/internal/store"
)

// mailboxBodies reads every message of a mailbox of the test account
// straight from the store, in UID order.
func (h *harness) mailboxBodies(account, mailbox string) []string {
	h.t.Helper()
	ctx := context.Background()
	mbs, err := h.st.Mailboxes(ctx, account)
	if err != nil {
		h.t.Fatal(err)
	}
	mb, err := mbs.Open(ctx, mailbox)
	if err != nil {
		h.t.Fatal(err)
	}
	msgs, err := mb.Messages(ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		b, err := h.st.OpenBlob(ctx, m.BlobID)
		if err != nil {
			h.t.Fatal(err)
		}
		data, err := io.ReadAll(b)
		b.Close()
		if err != nil {
			h.t.Fatal(err)
		}
		out = append(out, string(data))
	}
	return out
}

func (h *harness) uidValidity(mailbox string) string {
	h.t.Helper()
	mbs, err := h.st.Mailboxes(context.Background(), testUser)
	if err != nil {
		h.t.Fatal(err)
	}
	info, err := mbs.Get(context.Background(), mailbox)
	if err != nil {
		h.t.Fatal(err)
	}
	return strconv.FormatUint(uint64(info.UIDValidity), 10)
}

// TestMultiAppend: RFC 3502. Several messages in one APPEND get one
// APPENDUID with a UID set; any failure (a literal over APPENDLIMIT,
// synchronizing or LITERAL+; a bad date in the third message; a missing
// mailbox; a bad CATENATE URL in the second) stores none of them, and a
// second session selected on the mailbox hears of none.
func TestMultiAppend(t *testing.T) {
	h := newHarness(t, func(o *imapserver.Options) { o.MaxMessageSize = 100 })
	watcher := h.login()
	watcher.run(`
C: w1 SELECT INBOX
S~ \* .*
S~ \* .*
S~ \* .*
S~ \* .*
S~ \* .*
S~ \* .*
S~ \* .*
S~ w1 OK .*`)
	c := h.login()
	c.run(`
C: a1 APPEND INBOX (\Seen) {12+}
C: Subject: a
C:  "05-Mar-2021 10:00:00 +0100" {12}
S: + Ready
C: Subject: b
C:  (\Flagged) {12+}
C: Subject: c
C: 
S~ a1 OK \[APPENDUID \d+ 1:3\] APPEND completed
C: a2 APPEND INBOX {12}
S: + Ready
C: Subject: d
C:  {101}
S~ a2 NO \[TOOBIG\] .*
C: a3 APPEND INBOX {12+}
C: Subject: e
C:  {101+}
C: ` + strings.Repeat("x", 99) + `
C: 
S~ a3 (NO|BAD) \[TOOBIG\] .*
C: a4 APPEND INBOX {12+}
C: Subject: f
C:  {12+}
C: Subject: g
C:  "31-Foo-2021 10:00:00 +0100" {12+}
C: Subject: h
C: 
S~ a4 BAD .*
C: a5 APPEND Nope {12+}
C: Subject: i
C:  {12+}
C: Subject: j
C: 
S~ a5 NO \[TRYCREATE\] .*
C: a6 APPEND INBOX {12+}
C: Subject: k
C:  CATENATE (URL "/INBOX/;UID=99")
S: a6 NO [BADURL /INBOX/;UID=99] CATENATE URL is not valid
C: a7 STATUS INBOX (MESSAGES UIDNEXT)
S: * STATUS "INBOX" (MESSAGES 3 UIDNEXT 4)
S: a7 OK STATUS completed
C: a8 FETCH 1:* (FLAGS INTERNALDATE)
S: a8 BAD Command not valid in this state
C: a9 EXAMINE INBOX
S~ \* .*
S~ \* .*
S~ \* .*
S~ \* .*
S~ \* .*
S~ \* .*
S~ \* .*
S~ \* .*
S~ a9 OK .*
C: a10 FETCH 1:* (FLAGS INTERNALDATE)
S~ \* 1 FETCH \(FLAGS \(\\Seen \\Recent\) INTERNALDATE ".*"\)
S: * 2 FETCH (FLAGS (\Recent) INTERNALDATE " 5-Mar-2021 10:00:00 +0100")
S~ \* 3 FETCH \(FLAGS \(\\Flagged \\Recent\) INTERNALDATE ".*"\)
S: a10 OK FETCH completed
`)
	watcher.run(`
C: w2 NOOP
S: * 3 EXISTS
S: * 3 RECENT
S: w2 OK NOOP completed`)
	got := h.mailboxBodies(testUser, "INBOX")
	want := []string{"Subject: a\r\n", "Subject: b\r\n", "Subject: c\r\n"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("INBOX holds %q, want %q", got, want)
	}
}

// catenateSource is a two-part message the CATENATE and URLAUTH tests
// take sections of.
const catenateSource = "From: a@example.com\r\nSubject: parts\r\nMIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=XX\r\n\r\n" +
	"--XX\r\nContent-Type: text/plain\r\n\r\nfirst part\r\n" +
	"--XX\r\nContent-Type: text/plain\r\n\r\nsecond part\r\n--XX--\r\n"

// TestCatenate: RFC 4469. TEXT and URL parts (relative and absolute URLs,
// sections, a partial) make exactly the expected bytes; BADURL for every
// URL that names nothing this session may read; TOOBIG when the parts add
// up past APPENDLIMIT; CATENATE inside a MULTIAPPEND.
func TestCatenate(t *testing.T) {
	h := newHarness(t, func(o *imapserver.Options) { o.MaxMessageSize = 400 })
	h.deliver("INBOX", catenateSource)
	uv := h.uidValidity("INBOX")
	c := h.login()
	c.run(`
C: a1 APPEND Drafts (\Draft) CATENATE (TEXT {16+}
C: Subject: cat
C: 
C:  URL "/INBOX;UIDVALIDITY=` + uv + `/;UID=1/;SECTION=2" TEXT {2+}
C: 
C:  URL "imap://alice%40example.com@imap.test/INBOX/;UID=1/;SECTION=1.MIME" URL "/INBOX/;UID=1/;SECTION=HEADER.FIELDS%20(SUBJECT)" URL "/INBOX/;UID=1/;SECTION=1/;PARTIAL=2.3")
S~ a1 OK \[APPENDUID \d+ 1\] APPEND completed
C: a2 APPEND Drafts {12+}
C: Subject: x
C:  CATENATE (URL "/INBOX/;UID=1/;SECTION=TEXT") CATENATE (TEXT {12+}
C: Subject: y
C: )
S~ a2 OK \[APPENDUID \d+ 2:4\] APPEND completed
`)
	want := "Subject: cat\r\n\r\n" + "second part" + "\r\n" + "Content-Type: text/plain\r\n\r\n" + "Subject: parts\r\n\r\n" + "rst"
	_, text, _ := strings.Cut(catenateSource, "\r\n\r\n")
	got := h.mailboxBodies(testUser, "Drafts")
	if len(got) != 4 || got[0] != want || got[1] != "Subject: x\r\n" || got[2] != text || got[3] != "Subject: y\r\n" {
		t.Fatalf("Drafts holds %q\nwant [%q %q %q %q]", got, want, "Subject: x\r\n", text, "Subject: y\r\n")
	}

	hash, err := auth.HashPassword(testPass, auth.TestParams)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.st.CreateAccount(context.Background(), "bob@example.com", hash); err != nil {
		t.Fatal(err)
	}
	bad := []string{
		"/INBOX/;UID=2",                                   // no such message
		"/INBOX;UIDVALIDITY=1/;UID=1",                     // UIDVALIDITY changed
		"/INBOX/;UID=1/;SECTION=7",                        // no such part
		"/Nope/;UID=1",                                    // no such mailbox
		"imap://bob%40example.com@imap.test/INBOX/;UID=1", // another user's mail, no URLAUTH
		"/INBOX/;UID=1/;SECTION=BOGUS",                    // not a section
		"http://example.com/",                             // not an IMAP URL
		"/INBOX;UID=1",                                    // no "/;UID="
	}
	for i, u := range bad {
		tag := "b" + strconv.Itoa(i)
		c.send(tag + ` APPEND Drafts CATENATE (TEXT {5+}`)
		c.send("x: ")
		c.send(` URL "` + u + `")`)
		c.expect(tag + " NO [BADURL " + u + "] CATENATE URL is not valid")
	}
	c.run(`
C: r1 APPEND Drafts CATENATE (URL ";UID=1/;SECTION=2")
S: r1 NO [BADURL ;UID=1/;SECTION=2] CATENATE URL is not valid
C: r2 EXAMINE INBOX
S~ \* .*
S~ \* .*
S~ \* .*
S~ \* .*
S~ \* .*
S~ \* .*
S~ \* .*
S~ \* .*
S~ r2 OK .*
C: r3 APPEND Drafts CATENATE (URL ";UID=1/;SECTION=2")
S~ r3 OK \[APPENDUID \d+ 5\] APPEND completed
C: r4 UNSELECT
S: r4 OK UNSELECT completed
C: t1 APPEND Drafts CATENATE (URL "/INBOX/;UID=1" URL "/INBOX/;UID=1")
S~ t1 NO \[TOOBIG\] .*
C: t2 STATUS Drafts (MESSAGES)
S: * STATUS "Drafts" (MESSAGES 5)
S: t2 OK STATUS completed
`)
	if got := h.mailboxBodies(testUser, "Drafts"); got[4] != "second part" {
		t.Errorf("mailbox-relative URL gave %q", got[4])
	}
	if n := len(catenateSource); n > 400 || 2*n <= 400 {
		t.Fatalf("source of %d octets does not test TOOBIG", n)
	}
}

// TestURLAuth: RFC 4467. GENURLAUTH makes a URL that URLFETCH (and
// CATENATE) accept for the users its access identifier admits and no
// other; an expired URL, a forged or stale verifier (after RESETKEY) and
// a URL without URLAUTH fetch NIL.
func TestURLAuth(t *testing.T) {
	h := newHarness(t)
	h.deliver("INBOX", catenateSource)
	uv := h.uidValidity("INBOX")
	hash, err := auth.HashPassword(testPass, auth.TestParams)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.st.CreateAccount(context.Background(), "bob@example.com", hash); err != nil {
		t.Fatal(err)
	}
	alice := h.login()
	bob := h.dial()
	bob.run(`
C: l0 LOGIN bob@example.com "` + testPass + `"
S~ l0 OK .*`)
	base := "imap://alice%40example.com@imap.test/INBOX;UIDVALIDITY=" + uv + "/;UID=1/;SECTION=1"
	tokenRE := regexp.MustCompile(`^\* GENURLAUTH "([^"]+)"$`)
	gen := func(rump string) string {
		t.Helper()
		alice.send(`g GENURLAUTH "` + rump + `" INTERNAL`)
		line := alice.readLine()
		m := tokenRE.FindStringSubmatch(line)
		if m == nil || !strings.HasPrefix(m[1], rump+":internal:") || len(m[1]) != len(rump)+len(":internal:")+40 {
			t.Fatalf("GENURLAUTH %s: %q", rump, line)
		}
		alice.expect("g OK GENURLAUTH completed")
		return m[1]
	}
	fetchData := func(c *tconn, u string) string {
		t.Helper()
		c.send(`f URLFETCH "` + u + `"`)
		line := c.readLine()
		prefix := "* URLFETCH \"" + u + "\" "
		if !strings.HasPrefix(line, prefix) {
			t.Fatalf("URLFETCH answer %q", line)
		}
		v := strings.TrimPrefix(line, prefix)
		if v == "NIL" {
			c.expect("f OK URLFETCH completed")
			return "NIL"
		}
		n, err := strconv.Atoi(strings.Trim(v, "{}"))
		if err != nil {
			t.Fatalf("URLFETCH value %q", v)
		}
		buf := make([]byte, n)
		if _, err := io.ReadFull(c.br, buf); err != nil {
			t.Fatal(err)
		}
		c.expect("")
		c.expect("f OK URLFETCH completed")
		return string(buf)
	}
	forBob := gen(base + ";URLAUTH=user+bob%40example.com")
	if got := fetchData(bob, forBob); got != "first part" {
		t.Errorf("bob fetched %q", got)
	}
	if got := fetchData(alice, forBob); got != "NIL" {
		t.Errorf("alice fetched a URL for bob: %q", got)
	}
	anyUser := gen(base + ";URLAUTH=authuser")
	if got := fetchData(bob, anyUser); got != "first part" {
		t.Errorf("authuser URL: %q", got)
	}
	if got := fetchData(bob, gen(base+";URLAUTH=anonymous")); got != "first part" {
		t.Errorf("anonymous URL: %q", got)
	}
	if got := fetchData(bob, gen(base+";URLAUTH=submit+bob%40example.com")); got != "NIL" {
		t.Errorf("submit+ URL fetched by a user session: %q", got)
	}
	alice.run(`
C: e1 GENURLAUTH "` + base + `;EXPIRE=2001-02-03T04:05:06Z;URLAUTH=authuser" INTERNAL
S: e1 BAD URLAUTH has already expired`)
	soon := gen(base + ";EXPIRE=" + time.Now().Add(time.Second).UTC().Format(time.RFC3339) + ";URLAUTH=authuser")
	time.Sleep(time.Until(time.Now().Add(1100 * time.Millisecond).Truncate(time.Second).Add(time.Second)))
	if got := fetchData(bob, soon); got != "NIL" {
		t.Errorf("expired URL: %q", got)
	}
	future := gen(base + ";EXPIRE=2999-02-03T04:05:06Z;URLAUTH=authuser")
	if got := fetchData(bob, future); got != "first part" {
		t.Errorf("unexpired URL: %q", got)
	}
	forged := anyUser[:len(anyUser)-1] + string("01"[strings.IndexByte("0123456789abcdef", anyUser[len(anyUser)-1])%2^1])
	if got := fetchData(bob, forged); got != "NIL" {
		t.Errorf("forged verifier: %q", got)
	}
	if got := fetchData(alice, base); got != "NIL" {
		t.Errorf("URL without URLAUTH: %q", got)
	}
	// A URLAUTH URL as a CATENATE part: bob may use the one for him.
	bob.run(`
C: c1 APPEND INBOX CATENATE (TEXT {15+}
C: Subject: fw
C: 
C:  URL "` + forBob + `")
S~ c1 OK \[APPENDUID \d+ 1\] APPEND completed`)
	if got := h.mailboxBodies("bob@example.com", "INBOX"); len(got) != 1 || got[0] != "Subject: fw\r\n\r\nfirst part" {
		t.Errorf("bob's INBOX %q", got)
	}
	forAlice := gen(base + ";URLAUTH=user+alice%40example.com")
	bob.send(`c2 APPEND INBOX CATENATE (URL "` + forAlice + `")`)
	bob.expect("c2 NO [BADURL " + forAlice + "] CATENATE URL is not valid")
	// RESETKEY: every URL of the mailbox stops working; new ones work.
	alice.run(`
C: r1 RESETKEY INBOX INTERNAL
S: r1 OK [URLMECH INTERNAL] RESETKEY completed`)
	for _, u := range []string{forBob, anyUser, future} {
		if got := fetchData(bob, u); got != "NIL" {
			t.Errorf("URL after RESETKEY: %q", got)
		}
	}
	fresh := gen(base + ";URLAUTH=authuser")
	if fresh == anyUser {
		t.Error("same verifier after RESETKEY")
	}
	if got := fetchData(bob, fresh); got != "first part" {
		t.Errorf("new URL after RESETKEY: %q", got)
	}
	alice.run(`
C: r2 RESETKEY
S: r2 OK [URLMECH INTERNAL] RESETKEY completed
C: r3 RESETKEY Nope
S~ r3 NO .*
C: r4 RESETKEY INBOX XSHA
S~ r4 NO .*
C: r5 GENURLAUTH "imap://bob%40example.com@imap.test/INBOX/;UID=1;URLAUTH=authuser" INTERNAL
S~ r5 NO .*
C: r6 GENURLAUTH "` + base + `" INTERNAL
S~ r6 BAD .*
C: r7 GENURLAUTH "` + base + `;URLAUTH=authuser" XSHA
S~ r7 NO .*`)
	if got := fetchData(bob, fresh); got != "NIL" {
		t.Errorf("URL after RESETKEY of all: %q", got)
	}
	_ = store.AccessKeySize
}
