package imapserver_test

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"

	"github.com/letterbox/letterbox/internal/imapserver"
	"github.com/letterbox/letterbox/internal/search"
	"github.com/letterbox/letterbox/internal/store"
)

// TestWithin: SEARCH OLDER and YOUNGER compare INTERNALDATE with the
// current time in seconds (RFC 5032 §3); the interval is an nz-number.
func TestWithin(t *testing.T) {
	h := newHarness(t)
	c := h.login()
	old := "Subject: old\r\n\r\nold\r\n"
	fresh := "Subject: new\r\n\r\nnew\r\n"
	c.send(`a1 APPEND INBOX "01-Jan-2020 10:00:00 +0000" {` + itoa(len(old)) + "+}\r\n" + old)
	c.expect(`~a1 OK \[APPENDUID \d+ 1\] APPEND completed`)
	c.send("a2 APPEND INBOX {" + itoa(len(fresh)) + "+}\r\n" + fresh)
	c.expect(`~a2 OK \[APPENDUID \d+ 2\] APPEND completed`)
	c.selectInbox("a3")
	c.run(`
C: a4 SEARCH OLDER 3600
S: * SEARCH 1
S: a4 OK SEARCH completed
C: a5 SEARCH YOUNGER 3600
S: * SEARCH 2
S: a5 OK SEARCH completed
C: a6 UID SEARCH NOT YOUNGER 3600
S: * SEARCH 1
S: a6 OK UID SEARCH completed
C: a7 SEARCH OR OLDER 100000000 YOUNGER 1000000000
S: * SEARCH 1 2
S: a7 OK SEARCH completed
C: a8 SEARCH YOUNGER 1
S~ \* SEARCH( 2)?
S: a8 OK SEARCH completed
C: a9 SEARCH OLDER 0
S~ a9 BAD .*
C: a10 SEARCH YOUNGER x
S~ a10 BAD .*
`)
}

// TestLiteralMinus: with Limits.LiteralMinus the server advertises
// LITERAL- instead of LITERAL+ (never both, RFC 7888 §4; Dovecot's
// imap_literal_minus does the same), takes non-synchronizing literals up
// to 4096 octets and refuses a larger one with BAD [TOOBIG], reading and
// discarding it so the next command is understood (RFC 7888 §4). A
// synchronizing literal of any size within the limits still works.
func TestLiteralMinus(t *testing.T) {
	h := newHarness(t, func(o *imapserver.Options) { o.Limits.LiteralMinus = true })
	c := h.dial()
	c.send("a0 CAPABILITY")
	caps := c.expect(`~\* CAPABILITY .*`)
	if !strings.Contains(caps, " LITERAL- ") || strings.Contains(caps, "LITERAL+") {
		t.Fatalf("capabilities %q: want LITERAL- and no LITERAL+", caps)
	}
	c.expect("a0 OK CAPABILITY completed")
	c.run(`
C: a1 LOGIN {17+}
C: alice@example.com {15+}
C: secret password
S~ a1 OK .*LOGIN completed
`)
	at4096 := "Subject: x\r\n\r\n" + strings.Repeat("y", 4096-15) + "\n"
	if len(at4096) != 4096 {
		t.Fatal(len(at4096))
	}
	c.send("a2 APPEND INBOX {4096+}\r\n" + at4096)
	c.expect(`~a2 OK \[APPENDUID \d+ 1\] APPEND completed`)
	over := at4096 + "z"
	c.send("a3 APPEND INBOX {4097+}\r\n" + over)
	c.expect(`a3 BAD [TOOBIG] non-synchronizing literal too large`)
	c.send("a4 CREATE {4097+}\r\n" + strings.Repeat("m", 4097))
	c.expect(`a4 BAD [TOOBIG] non-synchronizing literal too large`)
	c.run(`
C: a5 NOOP
S: a5 OK NOOP completed
`)
	c.send("a6 APPEND INBOX {4097}")
	c.expect("+ Ready")
	c.send(over)
	c.expect(`~a6 OK \[APPENDUID \d+ 2\] APPEND completed`)
	c.run(`
C: a7 STATUS INBOX (MESSAGES)
S: * STATUS "INBOX" (MESSAGES 2)
S: a7 OK STATUS completed
`)
	// Without the option, LITERAL+ takes the same literal.
	h2 := newHarness(t)
	c2 := h2.login()
	c2.send("b1 APPEND INBOX {4097+}\r\n" + over)
	c2.expect(`~b1 OK \[APPENDUID \d+ 1\] APPEND completed`)
}

// TestReplace: REPLACE and UID REPLACE (RFC 8508 §3) append the new
// message with its flags and date, report APPENDUID in an untagged OK,
// then expunge the old message in the same response; a failed append
// (TRYCREATE, TOOBIG, OVERQUOTA) or a missing message expunges nothing.
func TestReplace(t *testing.T) {
	h := newHarness(t, func(o *imapserver.Options) { o.MaxMessageSize = 100 })
	h.setQuota(1<<20, 5)
	for i := 0; i < 3; i++ {
		h.deliver("INBOX", "Subject: m"+itoa(i+1)+"\r\n\r\nbody\r\n")
	}
	c := h.login()
	c.selectInbox("a0")
	c.run(`
C: a1 REPLACE 2 INBOX (\Seen $Edited) "05-Mar-2021 10:00:00 +0000" {11+}
C: Subject: r1
S~ \* OK \[APPENDUID \d+ 4\] Replacement Message ready
S: * 2 EXPUNGE
S~ \* FLAGS .*
S~ \* OK \[PERMANENTFLAGS .*
S: * 3 EXISTS
S: * 3 RECENT
S: a1 OK REPLACE completed
C: a2 FETCH 3 (UID FLAGS INTERNALDATE)
S: * 3 FETCH (UID 4 FLAGS ($Edited \Seen \Recent) INTERNALDATE " 5-Mar-2021 10:00:00 +0000")
S: a2 OK FETCH completed
C: a3 UID REPLACE 4 Drafts {11+}
C: Subject: r2
S~ \* OK \[APPENDUID \d+ 1\] Replacement Message ready
S: * 3 EXPUNGE
S: a3 OK UID REPLACE completed
C: a4 UID REPLACE 99 Drafts {11+}
C: Subject: r3
S: a4 NO [NONEXISTENT] No such message to replace
C: a5 REPLACE 9 Drafts {11+}
C: Subject: r3
S: a5 BAD Invalid message sequence number
C: a6 REPLACE 1 Nowhere {11+}
C: Subject: r3
S: a6 NO [TRYCREATE] No such mailbox
C: a7 REPLACE 1 Drafts {101}
S: a7 NO [TOOBIG] literal too large
C: a8 REPLACE 1 Drafts {0+}
C: 
S: a8 NO [CANNOT] Empty message
C: a9 REPLACE 1:2 Drafts {11+}
C: Subject: r3
S~ a9 BAD .*
C: a10 STATUS Drafts (MESSAGES)
S: * STATUS "Drafts" (MESSAGES 1)
S: a10 OK STATUS completed
C: a11 FETCH 1:* UID
S: * 1 FETCH (UID 1)
S: * 2 FETCH (UID 3)
S: a11 OK FETCH completed
`)
	// Over quota (5 messages: 3 in INBOX... now 2 in INBOX, 1 in Drafts):
	// fill it, then a REPLACE cannot append and keeps the old message.
	h.deliver("Drafts", "Subject: f\r\n\r\nx\r\n")
	h.deliver("Drafts", "Subject: g\r\n\r\nx\r\n")
	c.run(`
C: b1 REPLACE 1 INBOX {11+}
C: Subject: r4
S~ \* QUOTA .*
S: b1 NO [OVERQUOTA] Quota exceeded (mailbox for user is full)
C: b2 FETCH 1:* UID
S: * 1 FETCH (UID 1)
S: * 2 FETCH (UID 3)
S: b2 OK FETCH completed
`)
	// QRESYNC: the replaced message is reported as VANISHED (RFC 7162
	// §3.2.10); EXAMINE refuses it.
	h.setQuota(1<<20, 10)
	c2 := h.login()
	c2.run(`
C: q1 ENABLE QRESYNC
S: * ENABLED QRESYNC
S: q1 OK ENABLE completed
`)
	c2.selectInbox("q2")
	c2.run(`
C: q3 UID REPLACE 3 Trash {11+}
C: Subject: r5
S~ \* OK \[APPENDUID \d+ 1\] Replacement Message ready
S: * VANISHED 3
S~ q3 OK .*UID REPLACE completed
`)
	c2.okCommand("q4", "EXAMINE INBOX")
	c2.run(`
C: q5 REPLACE 1 Trash {11+}
C: Subject: r6
S: q5 NO [READ-ONLY] Mailbox is read-only
`)
}

// TestSearchCharset: SEARCH, SORT and THREAD take their strings in the
// charsets of searchCharsets (converted to UTF-8 before matching), an
// unknown charset gets NO [BADCHARSET (list)] and a UTF-8 string that is
// not UTF-8 BAD, as Dovecot answers (RFC 3501 §6.4.4, RFC 5256 §3).
func TestSearchCharset(t *testing.T) {
	h := newHarness(t)
	subjects := []string{"Straße café", "σίσυφος", "привет мир", "日本語のメール", "中文邮件", "한국어 메일", "plain"}
	for _, s := range subjects {
		h.deliver("INBOX", "Subject: =?UTF-8?B?"+base64.StdEncoding.EncodeToString([]byte(s))+"?=\r\n\r\nbody "+s+"\r\n")
	}
	c := h.login()
	c.selectInbox("a0")
	enc := func(e encoding.Encoding, s string) string {
		b, err := e.NewEncoder().String(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	lit := func(s string) string { return "{" + itoa(len(s)) + "+}\r\n" + s }
	cases := []struct {
		charset, needle, want string
	}{
		{"ISO-8859-1", enc(charmap.ISO8859_1, "straße"), "1"},
		{"iso-8859-15", enc(charmap.ISO8859_15, "CAFÉ"), "1"},
		{"LATIN1", enc(charmap.ISO8859_1, "é"), "1"},
		{"WINDOWS-1253", enc(charmap.Windows1253, "ΣΊΣΥΦΟΣ"), "2"},
		{"KOI8-R", enc(charmap.KOI8R, "ПРИВЕТ"), "3"},
		{"WINDOWS-1251", enc(charmap.Windows1251, "мир"), "3"},
		{"ISO-2022-JP", enc(japanese.ISO2022JP, "日本語"), "4"},
		{"SHIFT_JIS", enc(japanese.ShiftJIS, "メール"), "4"},
		{"EUC-JP", enc(japanese.EUCJP, "のメ"), "4"},
		{"GB2312", enc(simplifiedchinese.GBK, "邮件"), "5"},
		{"GB18030", enc(simplifiedchinese.GB18030, "中文"), "5"},
		{"BIG5", enc(traditionalchinese.Big5, "中文"), "5"},
		{"EUC-KR", enc(korean.EUCKR, "한국어"), "6"},
		{"US-ASCII", "PLAIN", "7"},
	}
	for i, tc := range cases {
		tag := "c" + itoa(i)
		for _, key := range []string{"SUBJECT", "BODY", "TEXT"} {
			c.send(tag + " SEARCH CHARSET " + tc.charset + " " + key + " " + lit(tc.needle))
			c.expect("* SEARCH " + tc.want)
			c.expect(tag + " OK SEARCH completed")
		}
	}
	c.send("s1 SORT (SUBJECT) KOI8-R OR BODY " + lit(enc(charmap.KOI8R, "мир")) + " SUBJECT " + lit(enc(charmap.KOI8R, "ПЛЯ")))
	c.expect("* SORT 3")
	c.expect("s1 OK SORT completed")
	c.send("s2 THREAD ORDEREDSUBJECT ISO-8859-7 SUBJECT " + lit(enc(charmap.ISO8859_7, "σίσυφος")))
	c.expect("* THREAD (2)")
	c.expect("s2 OK THREAD completed")
	c.send("e1 SEARCH CHARSET UTF-16 SUBJECT x")
	c.expect(`~e1 NO \[BADCHARSET \(UTF-8 US-ASCII ISO-8859-1 .* KOI8-R KOI8-U ISO-2022-JP SHIFT_JIS EUC-JP EUC-KR GB18030 GBK GB2312 BIG5\)\] Unknown charset`)
	c.send("e2 SEARCH CHARSET UTF-8 SUBJECT " + lit("caf\xe9"))
	c.expect(`~e2 BAD .*`)
	c.send("e3 SORT (DATE) X-UNKNOWN ALL")
	c.expect(`~e3 NO \[BADCHARSET \(.*\)\] Unknown charset`)
}

// TestSearchCasemap: SEARCH compares with the i;unicode-casemap folding
// Dovecot applies (internal/casemap): in SUBJECT (envelope), HEADER, BODY
// and TEXT (through the signatures), the answers are Dovecot's for the
// same messages (checked on loopback, see casemap_test.go).
func TestSearchCasemap(t *testing.T) {
	h := newHarness(t)
	texts := []string{"Straße", "STRASSE", "CAFÉ", "cafe\u0301", "σίσυφος", "DIŞ", "İstanbul", "ﬁle"}
	for _, s := range texts {
		b64 := base64.StdEncoding.EncodeToString([]byte(s))
		h.deliver("INBOX", "Subject: =?UTF-8?B?"+b64+"?=\r\nX-Note: =?UTF-8?B?"+b64+"?=\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"+b64+"\r\n")
	}
	c := h.login()
	c.selectInbox("a0")
	lit := func(s string) string { return "{" + itoa(len(s)) + "+}\r\n" + s }
	for i, tc := range []struct{ needle, want string }{
		{"ß", " 1"}, {"ss", " 2"}, {"straße", " 1"},
		{"é", " 3 4"}, {"cafe", " 3 4"}, {"CAFÉ", " 3 4"},
		{"ΣΊΣΥΦΟΣ", " 5"}, {"σίσυφοσ", " 5"},
		{"ı", " 6 7"}, {"dis", " 6"}, {"İstan", " 7"}, {"istan", ""},
		{"ﬁ", " 8"}, {"fil", ""},
	} {
		for _, key := range []string{"SUBJECT", "BODY", "TEXT", "HEADER X-Note"} {
			if key == "TEXT" && tc.needle == "ı" {
				continue // the header field names have i's
			}
			tag := "b" + itoa(i)
			c.send(tag + " SEARCH CHARSET UTF-8 " + key + " " + lit(tc.needle))
			c.expect("* SEARCH" + tc.want)
			c.expect(tag + " OK SEARCH completed")
		}
	}
}

// TestUIDOnly: after ENABLE UIDONLY (RFC 9586) every command that takes
// sequence numbers gets BAD [UIDREQUIRED], FETCH responses are UIDFETCH
// numbered by UID (solicited, from STORE, unsolicited), expunges are
// VANISHED, and CONDSTORE/QRESYNC keep working in UIDs.
func TestUIDOnly(t *testing.T) {
	h := newHarness(t)
	for i := 0; i < 4; i++ {
		h.deliver("INBOX", "Subject: m"+itoa(i+1)+"\r\n\r\nbody\r\n")
	}
	peer := h.login()
	peer.selectInbox("p0")
	peer.run(`
C: p1 UID STORE 1 +FLAGS.SILENT (\Deleted)
S: p1 OK UID STORE completed
C: p2 UID EXPUNGE 1
S: * 1 EXPUNGE
S: p2 OK UID EXPUNGE completed
`)
	c := h.login()
	c.run(`
C: a1 ENABLE UIDONLY
S: * ENABLED UIDONLY
S: a1 OK ENABLE completed
C: a2 SELECT INBOX
S~ \* FLAGS .*
S~ \* OK \[PERMANENTFLAGS .*
S: * 3 EXISTS
S: * 0 RECENT
S~ \* OK \[UIDVALIDITY \d+\] UIDs valid
S: * OK [UIDNEXT 5] Predicted next UID
S~ \* OK \[HIGHESTMODSEQ \d+\] Highest
S: a2 OK [READ-WRITE] SELECT completed
`)
	for i, cmd := range []string{"FETCH 1 FLAGS", `STORE 1 +FLAGS (\Seen)`, "SEARCH ALL", "SORT (DATE) UTF-8 ALL",
		"THREAD REFERENCES UTF-8 ALL", "COPY 1 Trash", "MOVE 1 Trash", "REPLACE 1 INBOX {1+}\r\nx",
		"UID SEARCH 1:2", "UID SEARCH OR UID 2 NOT 1", "UID SORT (DATE) UTF-8 1", "UID THREAD REFERENCES UTF-8 (2 SEEN)"} {
		tag := "b" + itoa(i)
		c.send(tag + " " + cmd)
		c.expect(tag + " BAD [UIDREQUIRED] Message sequence numbers are not allowed after ENABLE UIDONLY")
	}
	c.run(`
C: c1 UID FETCH 1:* (FLAGS)
S: * 2 UIDFETCH (FLAGS ())
S: * 3 UIDFETCH (FLAGS ())
S: * 4 UIDFETCH (FLAGS ())
S: c1 OK UID FETCH completed
C: c2 UID FETCH 3 (UID RFC822.SIZE)
S: * 3 UIDFETCH (UID 3 RFC822.SIZE 21)
S: c2 OK UID FETCH completed
C: c3 UID STORE 3 +FLAGS (\Flagged)
S: * 3 UIDFETCH (FLAGS (\Flagged))
S: c3 OK UID STORE completed
C: c4 UID SEARCH RETURN (SAVE) FLAGGED
S: c4 OK UID SEARCH completed
C: c5 UID SEARCH $
S: * SEARCH 3
S: c5 OK UID SEARCH completed
C: c6 UID SEARCH UID 2:* NOT FLAGGED
S: * SEARCH 2 4
S: c6 OK UID SEARCH completed
`)
	// A peer's flag change and expunge: UIDFETCH and VANISHED.
	peer.run(`
C: p3 UID STORE 4 +FLAGS.SILENT (\Answered \Deleted)
S: * 2 FETCH (UID 3 FLAGS (\Flagged \Recent))
S: p3 OK UID STORE completed
`)
	c.run(`
C: c7 NOOP
S: * 4 UIDFETCH (FLAGS (\Answered \Deleted))
S: c7 OK NOOP completed
`)
	peer.run(`
C: p4 EXPUNGE
S: * 3 EXPUNGE
S: p4 OK EXPUNGE completed
`)
	c.run(`
C: c8 NOOP
S: * VANISHED 4
S: c8 OK NOOP completed
C: c9 UID STORE 2 +FLAGS.SILENT (\Deleted)
S: c9 OK UID STORE completed
C: c10 UID EXPUNGE 2
S: * VANISHED 2
S: c10 OK UID EXPUNGE completed
C: c11 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1)
S~ \* OK \[HIGHESTMODSEQ \d+\] Highest
S~ \* 3 UIDFETCH \(FLAGS \(\\Flagged\) MODSEQ \(\d+\)\)
S: c11 OK UID FETCH completed
C: c12 UID COPY 3 Trash
S~ c12 OK \[COPYUID \d+ 3 1\] UID COPY completed
`)
	// QRESYNC: sequence match data is refused; the rest reports in UIDs.
	c.run(`
C: d1 ENABLE QRESYNC
S: * ENABLED QRESYNC
S: d1 OK ENABLE completed
C: d2 SELECT INBOX (QRESYNC (1 1 1:9 (1 3)))
S: d2 BAD [UIDREQUIRED] Message sequence numbers are not allowed after ENABLE UIDONLY
`)
	c.send("d3 STATUS INBOX (UIDVALIDITY)")
	validity := strings.TrimSuffix(strings.TrimPrefix(c.readLine(), `* STATUS "INBOX" (UIDVALIDITY `), ")")
	c.expect("d3 OK STATUS completed")
	// Since MODSEQ 1 (before everything): the expunged UIDs come as
	// VANISHED (EARLIER), the rest as UIDFETCH.
	c.send("d4 SELECT INBOX (QRESYNC (" + validity + " 1))")
	var vanished, fetched bool
	for {
		l := c.readLine()
		if strings.HasPrefix(l, "d4 ") {
			if !strings.HasPrefix(l, "d4 OK") {
				t.Fatal(l)
			}
			break
		}
		if strings.Contains(l, " FETCH ") || strings.Contains(l, "EXPUNGE") || strings.Contains(l, "UNSEEN") {
			t.Fatalf("sequence numbers under UIDONLY: %q", l)
		}
		vanished = vanished || strings.HasPrefix(l, "* VANISHED (EARLIER) ")
		if strings.HasPrefix(l, "* 3 UIDFETCH (FLAGS (\\Flagged) MODSEQ (") {
			fetched = true
		}
	}
	if !vanished || !fetched {
		t.Fatalf("QRESYNC SELECT under UIDONLY: VANISHED (EARLIER) %v, UIDFETCH of UID 3 %v", vanished, fetched)
	}
}

// TestListMarked: LIST shows \Marked on a mailbox with messages that
// arrived since it was last selected (\Recent's rule, listmarked.go):
// EXAMINE and STATUS leave the mark, SELECT clears it, a new delivery
// sets it again. \Unmarked is never sent.
func TestListMarked(t *testing.T) {
	t.Run("RecentMarks", func(t *testing.T) { testListMarked(t, newHarness(t)) })
	// A driver without store.RecentMarks: RecentFrom per mailbox.
	t.Run("RecentFrom", func(t *testing.T) {
		testListMarked(t, newHarness(t, func(o *imapserver.Options) { o.Store = noRecentMarks{o.Store} }))
	})
}

// noRecentMarks hides store.RecentMarks (and every other optional
// interface) of a store.
type noRecentMarks struct{ store.Store }

func (n noRecentMarks) Mailboxes(ctx context.Context, account string) (store.Mailboxes, error) {
	m, err := n.Store.Mailboxes(ctx, account)
	return struct{ store.Mailboxes }{m}, err
}

func testListMarked(t *testing.T, h *harness) {
	c := h.login()
	c.run(`
C: a1 CREATE Box
S~ a1 OK \[MAILBOXID \(F\d+\)\] CREATE completed
C: a2 LIST "" Box
S: * LIST (\HasNoChildren) "/" "Box"
S: a2 OK LIST completed
`)
	h.deliver("Box", msg1)
	c.run(`
C: a3 LIST "" Box
S: * LIST (\HasNoChildren \Marked) "/" "Box"
S: a3 OK LIST completed
C: a4 STATUS Box (MESSAGES)
S: * STATUS "Box" (MESSAGES 1)
S: a4 OK STATUS completed
C: a5 LIST "" Box RETURN (CHILDREN)
S: * LIST (\HasNoChildren \Marked) "/" "Box"
S: a5 OK LIST completed
`)
	c.okCommand("a6", "EXAMINE Box")
	c.run(`
C: a7 LIST "" Box
S: * LIST (\HasNoChildren \Marked) "/" "Box"
S: a7 OK LIST completed
`)
	c.okCommand("a8", "SELECT Box")
	c.run(`
C: a9 UNSELECT
S: a9 OK UNSELECT completed
C: a10 LIST "" Box
S: * LIST (\HasNoChildren) "/" "Box"
S: a10 OK LIST completed
C: a11 SUBSCRIBE Box
S: a11 OK SUBSCRIBE completed
`)
	h.deliver("Box", msg1)
	c.run(`
C: a12 LIST "" %
S: * LIST (\HasNoChildren) "/" "INBOX"
S: * LIST (\HasNoChildren \Archive) "/" "Archive"
S: * LIST (\HasNoChildren \Marked) "/" "Box"
S: * LIST (\HasNoChildren \Drafts) "/" "Drafts"
S: * LIST (\HasNoChildren \Junk) "/" "Junk"
S: * LIST (\HasNoChildren \Sent) "/" "Sent"
S: * LIST (\HasNoChildren \Trash) "/" "Trash"
S: a12 OK LIST completed
C: a13 LSUB "" Box
S: * LSUB () "/" "Box"
S: a13 OK LSUB completed
`)
}

// TestSearchRewritesOutdatedSignature: content whose stored signature is
// of an older version (folded with strings.ToLower, not read any more) is
// searched by reading it, and the signature computed on the way is stored
// (store.TextSignatureWriter), so the next search, after a restart too,
// uses it.
func TestSearchRewritesOutdatedSignature(t *testing.T) {
	h := newHarness(t)
	h.deliver("INBOX", "Subject: x\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nun café noir\r\n")
	ctx := context.Background()
	boxes, err := h.st.Mailboxes(ctx, testUser)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := boxes.Open(ctx, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	ts := mb.(store.TextSignatures)
	sigs, err := ts.TextSignatures(ctx, []store.UID{1})
	if err != nil || len(sigs) != 1 {
		t.Fatal(sigs, err)
	}
	old := []byte{2, 0} // a version 2 signature
	if err := h.st.PutTextSignatures(ctx, map[string][]byte{sigs[0].BlobID: old}); err != nil {
		t.Fatal(err)
	}
	imapserver.ResetSearchCaches()
	c := h.login()
	c.selectInbox("a0")
	c.run(`
C: a1 SEARCH BODY cafe
S: * SEARCH 1
S: a1 OK SEARCH completed
`)
	sigs, err = ts.TextSignatures(ctx, []store.UID{1})
	if err != nil || len(sigs) != 1 || !search.Valid(sigs[0].Sig) || !search.NewQuery("CAFE").MayContainBody(sigs[0].Sig) || search.NewQuery("zanzibar").MayContainBody(sigs[0].Sig) {
		t.Fatalf("stored signature after the search: %v, %v", sigs, err)
	}
}

// BenchmarkList200 times LIST "" * over 200 mailboxes that each hold a
// message (so each is checked for \Marked: two indexed reads), CPU per
// LIST.
func BenchmarkList200(b *testing.B) {
	m := newBenchMailboxWith(b, nil)
	ctx := context.Background()
	boxes, err := m.st.Mailboxes(ctx, testUser)
	if err != nil {
		b.Fatal(err)
	}
	for i := range 200 {
		name := "Box" + itoa(i)
		if _, err := boxes.Create(ctx, name, ""); err != nil {
			b.Fatal(err)
		}
		if _, err := m.st.Deliver(ctx, strings.NewReader("Subject: x\r\n\r\nx\r\n"), []store.Target{{Account: testUser, Mailbox: name}}); err != nil {
			b.Fatal(err)
		}
	}
	c := m.login(b)
	cpu0, n := cpuTime(), 0
	for b.Loop() {
		if lines := c.cmd(`LIST "" *`); len(lines) < 200 {
			b.Fatalf("%d LIST lines", len(lines))
		}
		n++
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(n), "cpu-ms/op")
}

// A REPLACE seen from a second session on the same mailbox: at its next
// command the peer hears the expunge of the replaced message and the new
// one, and a FETCH of the replaced message's old number is not answered
// with the new message's content.
func TestReplaceSeenByPeer(t *testing.T) {
	h := newHarness(t)
	for i := 0; i < 3; i++ {
		h.deliver("INBOX", "Subject: m"+itoa(i+1)+"\r\n\r\nbody\r\n")
	}
	a := h.login()
	a.selectInbox("a0")
	b := h.login()
	b.selectInbox("b0")
	a.run(`
C: a1 REPLACE 2 INBOX {11+}
C: Subject: r1
S~ \* OK \[APPENDUID \d+ 4\] Replacement Message ready
S: * 2 EXPUNGE
S: * 3 EXISTS
S~ \* \d+ RECENT
S: a1 OK REPLACE completed`)
	b.run(`
C: b1 NOOP
S: * 2 EXPUNGE
S: * 3 EXISTS
S: * 0 RECENT
S: b1 OK NOOP completed
C: b2 UID FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])
S: * 1 FETCH (UID 1 BODY[HEADER.FIELDS (SUBJECT)] {15}
S: Subject: m1
S: 
S: )
S: * 2 FETCH (UID 3 BODY[HEADER.FIELDS (SUBJECT)] {15}
S: Subject: m3
S: 
S: )
S: * 3 FETCH (UID 4 BODY[HEADER.FIELDS (SUBJECT)] {15}
S: Subject: r1
S: 
S: )
S: b2 OK UID FETCH completed`)
}
