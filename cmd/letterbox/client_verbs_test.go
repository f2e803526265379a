package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime/quotedprintable"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"

	"github.com/letterbox/letterbox/internal/auth"
	"github.com/letterbox/letterbox/internal/testutil/dovecottest"
	"github.com/letterbox/letterbox/internal/testutil/mailtest"
	"github.com/letterbox/letterbox/internal/testutil/testcert"
)

// The client verbs end to end (in-process), against letterbox and against
// Debian's Dovecot, both over TLS (imaps, pop3s) with the account's
// ca_file; mail is sent through letterbox's submission port (STARTTLS,
// AUTH PLAIN), the recipients are letterbox accounts, and the copy goes to
// the Sent folder of the server under test.

// clientTarget is one IMAP/POP3 server the verbs run against.
type clientTarget struct {
	name       string
	imaps      string // host:port
	pop3s      string
	imap       string // plain IMAP, for the test's own checks
	hasSentUse bool   // a \Sent special-use folder exists already
}

// clientRig is a target, letterbox (submission and the recipients'
// mailboxes) and a client configuration in a temporary XDG_CONFIG_HOME.
type clientRig struct {
	t      *testing.T
	target clientTarget
	lb     *mailtest.Servers
	caFile string
	env    map[string]string
	home   string
}

const (
	rigBob   = "bob@example.com"
	rigCarol = "carol@example.com"
)

func newClientRig(t *testing.T, dovecot bool) *clientRig {
	t.Helper()
	cert, err := testcert.New()
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := cert.WriteCA(caFile); err != nil {
		t.Fatal(err)
	}
	lb := mailtest.Start(t, clientTestUser, clientTestPass, cert.Server)
	for _, u := range []string{rigBob, rigCarol} {
		hash, err := auth.HashPassword(clientTestPass, auth.TestParams)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := lb.Store.CreateAccount(context.Background(), u, hash); err != nil {
			t.Fatal(err)
		}
	}
	r := &clientRig{t: t, lb: lb, caFile: caFile}
	if dovecot {
		d := dovecottest.StartT(t, dovecottest.Options{
			Users:      map[string]string{clientTestUser: clientTestPass},
			TLS:        &dovecottest.KeyPair{CertPEM: cert.CertPEM, KeyPEM: cert.KeyPEM},
			TempPrefix: "client-verbs-dovecot-",
		})
		r.target = clientTarget{name: "dovecot", imaps: d.IMAPS, pop3s: d.POP3S, imap: d.IMAP}
	} else {
		r.target = clientTarget{name: "letterbox", imaps: lb.IMAPS, pop3s: lb.POP3S, imap: lb.IMAP, hasSentUse: true}
	}
	r.home = t.TempDir()
	cfgDir := t.TempDir()
	r.env = map[string]string{"XDG_CONFIG_HOME": cfgDir, "HOME": r.home}
	os.MkdirAll(filepath.Join(cfgDir, "letterbox"), 0o700)
	conf := fmt.Sprintf(`default = "main"

[account.main]
url = "imaps://%s"
user = %q
password_command = "echo '%s'"
smtp_url = "submission://%s"
ca_file = %q
from = "Alice <alice@example.com>"

[account.pop]
url = "pop3s://%s"
user = %q
password_command = "echo '%s'"
ca_file = %q

[account.netrc]
url = "imaps://%s"
user = %q
ca_file = %q
`, r.target.imaps, clientTestUser, clientTestPass, lb.Submission, caFile,
		r.target.pop3s, clientTestUser, clientTestPass, caFile,
		r.target.imaps, clientTestUser, caFile)
	if err := os.WriteFile(filepath.Join(cfgDir, "letterbox", "client.toml"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return r
}

// run is `letterbox client ARGS` with the rig's configuration.
func (r *clientRig) run(stdin string, args ...string) result {
	r.t.Helper()
	return letterbox(r.t, stdin, r.env, append([]string{"client"}, args...)...)
}

// admin is an IMAP session of user on addr (plain, loopback) for checks;
// the caller closes it (Dovecot limits connections per user and IP).
func admin(t *testing.T, addr, user string) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(user, clientTestPass).Wait(); err != nil {
		c.Close()
		t.Fatal(err)
	}
	return c
}

// put appends msg to the target's mailbox and returns its UID.
func (r *clientRig) put(mailbox, msg string, flags ...imap.Flag) string {
	r.t.Helper()
	c := admin(r.t, r.target.imap, clientTestUser)
	defer c.Close()
	cmd := c.Append(mailbox, int64(len(msg)), &imap.AppendOptions{Flags: flags})
	cmd.Write([]byte(msg))
	cmd.Close()
	data, err := cmd.Wait()
	if err != nil {
		r.t.Fatal(err)
	}
	return fmt.Sprint(data.UID)
}

type fetched struct {
	raw   string
	flags []string
}

// messages reads a mailbox of user over IMAP at addr.
func messagesOf(t *testing.T, addr, user, mailbox string) []fetched {
	t.Helper()
	c := admin(t, addr, user)
	defer c.Close()
	data, err := c.Select(mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		t.Fatalf("select %s: %v", mailbox, err)
	}
	if data.NumMessages == 0 {
		return nil
	}
	sec := &imap.FetchItemBodySection{Peek: true}
	var set imap.SeqSet
	set.AddRange(1, data.NumMessages)
	all, err := c.Fetch(set, &imap.FetchOptions{Flags: true, BodySection: []*imap.FetchItemBodySection{sec}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	var out []fetched
	for _, m := range all {
		f := fetched{raw: string(m.FindBodySection(sec))}
		for _, fl := range m.Flags {
			f.flags = append(f.flags, string(fl))
		}
		out = append(out, f)
	}
	return out
}

// find returns the message whose raw text matches re.
func find(t *testing.T, msgs []fetched, re string) fetched {
	t.Helper()
	rx := regexp.MustCompile(re)
	for _, m := range msgs {
		if rx.MatchString(m.raw) {
			return m
		}
	}
	t.Fatalf("no message matches /%s/ among %d", re, len(msgs))
	return fetched{}
}

func hasFlag(m fetched, f string) bool {
	for _, x := range m.flags {
		if strings.EqualFold(x, f) {
			return true
		}
	}
	return false
}

// charsetCase is a body and subject in one charset, encoded one way.
type charsetCase struct {
	charset, cte, text string
	enc                encoding.Encoding // nil: UTF-8
}

var charsetTexts = []charsetCase{
	{charset: "UTF-8", text: "Grüße aus Köln – 東京 ✓"},
	{charset: "ISO-8859-1", text: "Café crème brûlée, señor", enc: charmap.ISO8859_1},
	{charset: "Windows-1252", text: "“Smart quotes” – €100 … done", enc: charmap.Windows1252},
	{charset: "ISO-2022-JP", text: "こんにちは、世界。日本語のメール", enc: japanese.ISO2022JP},
	{charset: "KOI8-R", text: "Привет, мир! Съешь же ещё этих булок", enc: charmap.KOI8R},
}

// charsetMessage makes a message whose subject (RFC 2047 B) and body
// (cte) are in c's charset.
func charsetMessage(t *testing.T, c charsetCase) string {
	t.Helper()
	b := []byte(c.text)
	if c.enc != nil {
		var err error
		if b, err = c.enc.NewEncoder().Bytes(b); err != nil {
			t.Fatal(err)
		}
	}
	subject := "=?" + c.charset + "?B?" + base64.StdEncoding.EncodeToString(b) + "?="
	var body bytes.Buffer
	if c.cte == "base64" {
		body.WriteString(base64.StdEncoding.EncodeToString(b))
	} else {
		w := quotedprintable.NewWriter(&body)
		w.Write(b)
		w.Close()
	}
	return fmt.Sprintf("From: Bob <bob@example.com>\r\nTo: alice@example.com\r\nSubject: %s\r\nDate: Mon, 02 Jan 2006 15:04:05 +0000\r\n"+
		"Message-ID: <%s-%s@test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=%s\r\nContent-Transfer-Encoding: %s\r\n\r\n%s\r\n",
		subject, c.charset, c.cte, c.charset, c.cte, body.String())
}

const htmlOnlyMessage = "From: News <news@example.com>\r\nTo: alice@example.com\r\nSubject: Weekly news\r\nDate: Mon, 02 Jan 2006 15:04:05 +0000\r\n" +
	"MIME-Version: 1.0\r\nContent-Type: text/html; charset=windows-1252\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
	"<html><head><title>ignored title</title><style>p { color: red }</style></head><body>=\r\n" +
	"<h1>Weekly news</h1><p>Caf=E9 &amp; more: see <a href=3D\"https://example.com/docs\">the docs</a>.</p>=\r\n" +
	"<ul><li>first item</li><li>second item</li></ul><script>alert(1)</script></body></html>\r\n"

const attachmentMessage = "From: Bob <bob@example.com>\r\nTo: alice@example.com\r\nSubject: files\r\nDate: Mon, 02 Jan 2006 15:04:05 +0000\r\n" +
	"Message-ID: <files@test>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n" +
	"--zz\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHere are the files.\r\n" +
	"--zz\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"report.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n" +
	"--zz\r\nContent-Type: text/x-sh\r\nContent-Disposition: attachment; filename=\"../../.profile\"\r\n\r\necho pwned\r\n" +
	"--zz\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAEC\r\n" +
	"--zz--\r\n"

func TestClientVerbsLetterbox(t *testing.T) { testClientVerbs(t, newClientRig(t, false)) }
func TestClientVerbsDovecot(t *testing.T)   { testClientVerbs(t, newClientRig(t, true)) }

func testClientVerbs(t *testing.T, r *clientRig) {
	t.Run("read charsets", func(t *testing.T) {
		for _, c := range charsetTexts {
			for _, cte := range []string{"quoted-printable", "base64"} {
				c.cte = cte
				uid := r.put("INBOX", charsetMessage(t, c))
				out := r.run("", "read", uid, "--peek")
				out.want(t, 0, `(?s)^From: +Bob <bob@example.com>\nTo: +alice@example.com\nDate: +Mon, 2 Jan 2006 15:04:05 \+0000\nSubject: `+regexp.QuoteMeta(c.text)+`\n\n`+regexp.QuoteMeta(c.text)+`\n\z`)
			}
		}
	})
	t.Run("read html-only", func(t *testing.T) {
		uid := r.put("INBOX", htmlOnlyMessage)
		r.run("", "read", uid, "--peek").want(t, 0, `(?s)Subject: Weekly news\n\n\[HTML message shown as text\]\n\nWeekly news\n\nCafé & more: see the docs \[https://example.com/docs\]\.\n\n- first item\n- second item\n\z`)
		r.run("", "read", uid, "--peek", "--raw").want(t, 0, `<h1>Weekly news</h1>`)
	})
	var filesUID string
	t.Run("read and save attachments", func(t *testing.T) {
		filesUID = r.put("INBOX", attachmentMessage)
		r.run("", "read", filesUID, "--peek").want(t, 0, `(?s)Here are the files\.\n\nAttachments:\n  1\. report\.pdf  \(application/pdf, 9 B\)\n  2\. \.\./\.\./\.profile  \(text/x-sh, 10 B\)\n  3\. \(no name\)  \(application/octet-stream, 3 B\)\nSave them with: letterbox client save `+filesUID)
		dir := filepath.Join(t.TempDir(), "out")
		r.run("", "save", filesUID, "--to", dir).want(t, 0, `(?s)out/report\.pdf\tapplication/pdf\t9\n.*out/profile\ttext/x-sh\t10\n.*out/attachment-3\.bin\tapplication/octet-stream\t3\n`)
		r.run("", "save", filesUID, "--to", dir, "--attachment", "1").want(t, 0, `out/report-1\.pdf\t`)
		r.run("", "save", filesUID, "--to", dir, "--attachment", "1").want(t, 0, `out/report-2\.pdf\t`)
		got := listDir(t, dir)
		if want := "attachment-3.bin profile report-1.pdf report-2.pdf report.pdf"; got != want {
			t.Fatalf("files %q, want %q", got, want)
		}
		if b, _ := os.ReadFile(filepath.Join(dir, "report-2.pdf")); string(b) != "%PDF-1.4\n" {
			t.Fatalf("report.pdf = %q", b)
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(filepath.Dir(dir)), ".profile")); err == nil {
			t.Fatal("a file escaped the directory")
		}
		r.run("", "save", filesUID, "--to", dir, "--attachment", "7").wantErr(t, 1, `no attachment 7: the message has 3`)
	})
	t.Run("json listings", func(t *testing.T) {
		var list struct {
			Protocol, Mailbox string
			Messages          []struct {
				ID      string   `json:"id"`
				UIDL    *string  `json:"uidl"`
				Flags   []string `json:"flags"`
				Size    int64    `json:"size"`
				Date    *string  `json:"date"`
				From    string   `json:"from"`
				Subject string   `json:"subject"`
			}
		}
		decodeJSON(t, r.run("", "list", "--json"), &list)
		if list.Protocol != "imap" || list.Mailbox != "INBOX" || len(list.Messages) != 12 {
			t.Fatalf("list --json: %+v", list)
		}
		m := list.Messages[len(list.Messages)-1]
		if m.ID != filesUID || m.Subject != "files" || m.From != "Bob <bob@example.com>" || m.UIDL != nil || m.Flags == nil ||
			m.Date == nil || *m.Date != "2006-01-02T15:04:05Z" || m.Size < 500 {
			t.Fatalf("last message %+v", m)
		}
		decodeJSON(t, r.run("", "search", "--subject", "weekly", "--json"), &list)
		if len(list.Messages) != 1 || list.Messages[0].Subject != "Weekly news" {
			t.Fatalf("search --json %+v", list)
		}
		var read map[string]any
		decodeJSON(t, r.run("", "read", filesUID, "--peek", "--json"), &read)
		atts, _ := read["attachments"].([]any)
		if read["subject"] != "files" || read["text"] != "Here are the files.\n" || read["text_from_html"] != false || len(atts) != 3 ||
			read["message_id"] != "files@test" || read["date"] != "2006-01-02T15:04:05Z" {
			t.Fatalf("read --json %v", read)
		}
		if a := atts[0].(map[string]any); a["index"] != 1.0 || a["name"] != "report.pdf" || a["type"] != "application/pdf" || a["size"] != 9.0 {
			t.Fatalf("attachment %v", a)
		}
		var pop struct {
			Protocol string
			Messages []struct {
				ID   string  `json:"id"`
				UIDL *string `json:"uidl"`
			}
		}
		decodeJSON(t, r.run("", "--account", "pop", "list", "--json"), &pop)
		if pop.Protocol != "pop3" || len(pop.Messages) != 12 || pop.Messages[0].UIDL == nil || *pop.Messages[0].UIDL == "" {
			t.Fatalf("pop3 list --json %+v", pop)
		}
		r.run("", "--account", "pop", "read", "12").want(t, 0, `(?s)Subject: files\n\nHere are the files\.\n\nAttachments:\n  1\. report\.pdf`)
		r.run("", "flag", "1", "--seen", "--json").wantErr(t, 2, `flag has no --json output`)
	})
	t.Run("unread with progress", func(t *testing.T) {
		// Dovecot's POP3 RETR (read over pop3s above) sets \Seen; letterbox's
		// does not: count what is unread first.
		var unseen struct{ Messages []struct{} }
		decodeJSON(t, r.run("", "search", "--unseen", "--json"), &unseen)
		n := len(unseen.Messages)
		if n < 11 {
			t.Fatalf("%d unread messages", n)
		}
		dir := t.TempDir()
		res := r.run("", "unread", "--out", dir, "--json")
		var out struct {
			Downloaded int
			Messages   []struct {
				ID, Path string
			}
		}
		decodeJSON(t, res, &out)
		if out.Downloaded != n || len(out.Messages) != n || !strings.HasPrefix(out.Messages[0].Path, dir) {
			t.Fatalf("unread --json %+v", out)
		}
		if !regexp.MustCompile(fmt.Sprintf(`(?m)^unread: %d/%d messages`, n, n)+`, \d+\.\d KB of \d+\.\d KB, .*/s, done in `).MatchString(res.stderr) || strings.Contains(res.stderr, "\x1b") {
			t.Fatalf("progress on a pipe: %q", res.stderr)
		}
		r.run("", "unread", "--out", dir).want(t, 0, `^0 message\(s\) downloaded\n$`)
	})
	t.Run("folders", func(t *testing.T) {
		r.run("", "mkdir", "Projects").want(t, 0, `^created Projects\n$`)
		r.run("", "mkdir", "Projects").wantErr(t, 1, `mkdir "Projects": it already exists`)
		r.run("", "subscribe", "Projects").want(t, 0, `^subscribed to Projects\n$`)
		if b := mailboxJSONOf(t, r, "Projects"); b == nil || b.Subscribed == nil || !*b.Subscribed || b.Messages == nil || *b.Messages != 0 {
			t.Fatalf("Projects after subscribe: %+v", b)
		}
		r.run("", "mailboxes").want(t, 0, `(?m)^Projects +0 +0 +yes +.*\n`)
		r.run("", "rename", "Projects", "Work").want(t, 0, `^renamed Projects to Work\n$`)
		r.run("", "unsubscribe", "Work").want(t, 0, `^unsubscribed from Work\n$`)
		if b := mailboxJSONOf(t, r, "Work"); b == nil || b.Subscribed == nil || *b.Subscribed {
			t.Fatalf("Work after unsubscribe: %+v", b)
		}
		r.run("", "flag", filesUID, "--flagged").want(t, 0, `1 message\(s\): \+\\Flagged`)
		r.run("", "list", "--limit", "1").want(t, 0, `\n`+filesUID+` .* F`)
		r.run("", "delete", "1").want(t, 0, `deleted 1 message`)
		r.run("", "read", "1").wantErr(t, 1, `no message with UID 1`)
		r.run("", "move", filesUID, "--to", "Work").want(t, 0, `moved 1`)
		r.run("", "list", "--mailbox", "Work").want(t, 0, `files`)
		r.run("", "rmdir", "Work").want(t, 0, `^deleted Work\n$`)
		if b := mailboxJSONOf(t, r, "Work"); b != nil {
			t.Fatalf("Work after rmdir: %+v", b)
		}
		r.run("", "rmdir", "Work").wantErr(t, 1, `rmdir "Work": no such folder \(list them with .letterbox client mailboxes.`)
		r.run("", "subscribe", "Nope").wantErr(t, 1, `subscribe "Nope": no such folder`)
		r.run("", "list", "--mailbox", "Nope").wantErr(t, 1, `select "Nope": no such folder`)
		r.run("", "rename", "Nope", "Other").wantErr(t, 1, `rename "Nope": no such folder`)
		r.run("", "--account", "pop", "mkdir", "X").wantErr(t, 1, `POP3 has no folders: a POP3 server offers one maildrop \(INBOX\); use an imap:// or imaps:// URL`)
		r.run("", "--account", "pop", "subscribe", "X").wantErr(t, 1, `POP3 has no folders`)
	})
	t.Run("send", func(t *testing.T) {
		att := filepath.Join(t.TempDir(), "menu.txt")
		os.WriteFile(att, []byte("soup\nbread\n"), 0o600)
		r.run("Shall we have lunch?\n", "send", "--to", "Bob <bob@example.com>", "--subject", "Lunch tomorrow?", "--attach", att).
			want(t, 0, `^sent to bob@example\.com \(Message-ID <[^>]+@example\.com>\)\ncopy saved in Sent\n$`)
		got := find(t, messagesOf(t, r.lb.IMAP, rigBob, "INBOX"), `Subject: Lunch tomorrow\?`)
		for _, want := range []string{"From: Alice <alice@example.com>\r\n", "To: Bob <bob@example.com>\r\n", "Content-Type: multipart/mixed", `filename=menu.txt`, "c291cApicmVhZAo=", "Shall we have lunch?", "Date: ", "Message-Id: <"} {
			if !strings.Contains(got.raw, want) {
				t.Errorf("delivered message lacks %q:\n%s", want, got.raw)
			}
		}
		sent := find(t, messagesOf(t, r.target.imap, clientTestUser, "Sent"), `Subject: Lunch tomorrow\?`)
		if !hasFlag(sent, `\Seen`) {
			t.Fatalf("Sent copy flags %v", sent.flags)
		}
		// A whole message on stdin, with a Bcc that must not show.
		r.run("To: carol@example.com\nBcc: bob@example.com\nSubject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\n\nHallo Carol, schöne Grüße\n", "send").
			want(t, 0, `^sent to carol@example\.com, bob@example\.com `)
		c := find(t, messagesOf(t, r.lb.IMAP, rigCarol, "INBOX"), `Subject: =\?utf-8\?q\?Gr=C3=BC=C3=9Fe\?=`)
		if strings.Contains(c.raw, "\nBcc:") || !strings.Contains(c.raw, "sch=C3=B6ne") {
			t.Fatalf("carol's copy:\n%s", c.raw)
		}
		find(t, messagesOf(t, r.lb.IMAP, rigBob, "INBOX"), `Subject: =\?utf-8\?q\?Gr=C3=BC=C3=9Fe\?=`)
		// $EDITOR fills in the template.
		r.env["EDITOR"] = `sed -i -e 's/^To: $/To: bob@example.com/' -e 's/^Subject: $/Subject: edited in the editor/' -e '$a written in the editor'`
		r.run("", "send", "--edit").want(t, 0, `^sent to bob@example\.com `)
		e := find(t, messagesOf(t, r.lb.IMAP, rigBob, "INBOX"), `Subject: edited in the editor`)
		if !strings.Contains(e.raw, "written in the editor") {
			t.Fatalf("edited message:\n%s", e.raw)
		}
		if r.target.hasSentUse {
			// The copy goes to the \Sent folder whatever its name.
			r.run("", "rename", "Sent", "Sent Items").want(t, 0, `renamed`)
			r.run("x\n", "send", "--to", "bob@example.com", "--subject", "special use").want(t, 0, `copy saved in Sent Items\n$`)
			find(t, messagesOf(t, r.target.imap, clientTestUser, "Sent Items"), `Subject: special use`)
			r.run("", "rename", "Sent Items", "Sent").want(t, 0, `renamed`)
		}
		// Implicit TLS submission (the 465 role).
		r.run("over 465\n", "send", "--smtp-url", "submissions://"+r.lb.Submissions, "--to", "bob@example.com", "--subject", "implicit TLS").
			want(t, 0, `^sent to bob@example\.com `)
		find(t, messagesOf(t, r.lb.IMAP, rigBob, "INBOX"), `Subject: implicit TLS`)
		// A wrong password fails the submission with the fix.
		r.env["LETTERBOX_PASSWORD"] = "wrong"
		r.run("x\n", "send", "--to", "bob@example.com", "--subject", "x").wantErr(t, 1, `login as alice@example\.com at 127\.0\.0\.1:\d+: authentication failed: check the user name and the password`)
		delete(r.env, "LETTERBOX_PASSWORD")
		r.env["EDITOR"] = "true" // unchanged: not sent
		r.run("", "send", "--edit", "--to", "bob@example.com").wantErr(t, 1, `message not sent: the draft was not changed`)
		delete(r.env, "EDITOR")
		r.run("body\n", "send", "--to", "nobody@example.com", "--subject", "x").wantErr(t, 1, `recipient nobody@example\.com refused, nothing sent: .*550`)
		r.run("body\n", "send", "--subject", "x").wantErr(t, 1, `no recipients`)
	})
	t.Run("reply and forward", func(t *testing.T) {
		orig := "From: Bob Builder <bob@example.com>\r\nTo: alice@example.com\r\nCc: carol@example.com\r\nSubject: Plans\r\n" +
			"Date: Mon, 02 Jan 2006 15:04:05 +0000\r\nMessage-ID: <plans-2@example.com>\r\nReferences: <plans-1@example.com>\r\n" +
			"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=q\r\n\r\n--q\r\nContent-Type: text/plain; charset=iso-8859-1\r\n" +
			"Content-Transfer-Encoding: quoted-printable\r\n\r\nShall we meet at the caf=E9?\r\n--q\r\nContent-Type: image/png\r\n" +
			"Content-Disposition: attachment; filename=map.png\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--q--\r\n"
		uid := r.put("INBOX", orig)
		r.run("Yes, at noon.\n", "reply", uid).want(t, 0, `^sent to bob@example\.com `)
		rep := find(t, messagesOf(t, r.lb.IMAP, rigBob, "INBOX"), `Subject: Re: Plans`)
		for _, want := range []string{"In-Reply-To: <plans-2@example.com>\r\n", "References: <plans-1@example.com> <plans-2@example.com>\r\n",
			"To: Bob Builder <bob@example.com>\r\n", "Yes, at noon.", "On Mon, 2 Jan 2006 15:04:05 +0000, Bob Builder wrote:", "> Shall we meet at the caf=C3=A9?"} {
			if !strings.Contains(rep.raw, want) {
				t.Errorf("reply lacks %q:\n%s", want, rep.raw)
			}
		}
		if strings.Contains(rep.raw, "Cc:") {
			t.Errorf("reply (not --all) has a Cc:\n%s", rep.raw)
		}
		inbox := messagesOf(t, r.target.imap, clientTestUser, "INBOX")
		if o := find(t, inbox, `Message-ID: <plans-2@example.com>`); !hasFlag(o, `\Answered`) {
			t.Fatalf("original not \\Answered: %v", o.flags)
		}
		find(t, messagesOf(t, r.target.imap, clientTestUser, "Sent"), `Subject: Re: Plans`)

		r.run("Count me in.\n", "reply", uid, "--all").want(t, 0, `^sent to bob@example\.com, carol@example\.com `)
		all := find(t, messagesOf(t, r.lb.IMAP, rigCarol, "INBOX"), `Subject: Re: Plans`)
		if !strings.Contains(all.raw, "Cc: carol@example.com\r\n") || !strings.Contains(all.raw, "Count me in.") {
			t.Fatalf("reply --all:\n%s", all.raw)
		}

		r.run("FYI\n", "forward", uid, "--to", "carol@example.com").want(t, 0, `^sent to carol@example\.com `)
		fwd := find(t, messagesOf(t, r.lb.IMAP, rigCarol, "INBOX"), `Subject: Fwd: Plans`)
		for _, want := range []string{"References: <plans-1@example.com> <plans-2@example.com>\r\n", "FYI", "---------- Forwarded message ----------",
			"From: Bob Builder <bob@example.com>", "> Shall we meet at the caf=C3=A9?", "filename=map.png", "iVBORw0KGgo="} {
			if !strings.Contains(fwd.raw, want) {
				t.Errorf("forward lacks %q:\n%s", want, fwd.raw)
			}
		}
		if strings.Contains(fwd.raw, "In-Reply-To") {
			t.Errorf("forward has In-Reply-To:\n%s", fwd.raw)
		}
		// The editor opens on the prepared reply; the thread headers stay.
		r.env["EDITOR"] = `sed -i -e 's/^Subject: .*/Subject: Re: Plans (edited)/' -e '$a answered in the editor'`
		r.run("", "reply", uid, "--edit").want(t, 0, `^sent to bob@example\.com `)
		delete(r.env, "EDITOR")
		ed := find(t, messagesOf(t, r.lb.IMAP, rigBob, "INBOX"), `Subject: Re: Plans \(edited\)`)
		for _, want := range []string{"In-Reply-To: <plans-2@example.com>\r\n", "> Shall we meet at the caf=C3=A9?", "answered in the editor"} {
			if !strings.Contains(ed.raw, want) {
				t.Errorf("edited reply lacks %q:\n%s", want, ed.raw)
			}
		}
		r.run("x\n", "reply", "999").wantErr(t, 1, `no message with UID 999`)
	})
	t.Run("accounts", func(t *testing.T) {
		r.run("", "accounts").want(t, 0, `(?s)\AACCOUNT +URL +USER +PASSWORD +TRUST\nmain \(default\) +imaps://127\.0\.0\.1:\d+ +alice@example\.com +password_command +ca_file .*\nnetrc +imaps://\S+ +alice@example\.com +netrc, else prompt +ca_file .*\npop +pop3s://`)
		var out struct {
			File     string
			Accounts []map[string]any
		}
		decodeJSON(t, r.run("", "accounts", "--json"), &out)
		if !strings.HasSuffix(out.File, "/letterbox/client.toml") || len(out.Accounts) != 3 || out.Accounts[0]["default"] != true || out.Accounts[0]["password"] != "password_command" {
			t.Fatalf("accounts --json %+v", out)
		}
		if strings.Contains(r.run("", "accounts", "--json").stdout, clientTestPass) {
			t.Fatal("accounts shows a password")
		}
	})
	t.Run("credentials and trust", func(t *testing.T) {
		r.run("", "--account", "netrc", "list").wantErr(t, 1, `no password: set password_command`)
		os.WriteFile(filepath.Join(r.home, ".netrc"), []byte(fmt.Sprintf("machine 127.0.0.1 login %s password %q\n", clientTestUser, clientTestPass)), 0o600)
		r.run("", "--account", "netrc", "list", "--limit", "1").want(t, 0, `^UID `)
		os.WriteFile(filepath.Join(r.home, ".netrc"), []byte(fmt.Sprintf("machine 127.0.0.1 login %s password wrong\n", clientTestUser)), 0o600)
		r.run("", "--account", "netrc", "list").wantErr(t, 1, `login as alice@example\.com at 127\.0\.0\.1:\d+: authentication failed: check the user name and the password`)
		r.run("", "--account", "nope", "list").wantErr(t, 1, `no account "nope" in .*client\.toml \(accounts: main, netrc, pop\)`)

		// No ca_file: the error shows the fingerprint and how to pin it.
		url := "imaps://" + r.target.imaps
		env := map[string]string{"LETTERBOX_PASSWORD": clientTestPass}
		res := letterbox(t, "", env, "client", "--url", url, "--user", clientTestUser, "list")
		m := regexp.MustCompile(`--fingerprint (sha256:[0-9A-F:]{95})\n`).FindStringSubmatch(res.stderr)
		if res.code != 1 || m == nil || !strings.Contains(res.stderr, "is not trusted") || !strings.Contains(res.stderr, `fingerprint = "`+m[1]+`"`) {
			t.Fatalf("untrusted: exit %d, stderr %q", res.code, res.stderr)
		}
		letterbox(t, "", env, "client", "--url", url, "--user", clientTestUser, "--fingerprint", m[1], "list", "--limit", "1").want(t, 0, `^UID `)
		letterbox(t, "", env, "client", "--url", "pop3s://"+r.target.pop3s, "--user", clientTestUser, "--fingerprint", m[1], "list", "--limit", "1").want(t, 0, `^ID `)
		wrong := "sha256:" + strings.Repeat("AB:", 31) + "AB"
		letterbox(t, "", env, "client", "--url", url, "--user", clientTestUser, "--fingerprint", wrong, "list").
			wantErr(t, 1, `does not match the pinned fingerprint:\n  server sent `+regexp.QuoteMeta(m[1])+`\n  pinned      `+wrong)
		letterbox(t, "", env, "client", "--url", url, "--user", clientTestUser, "--ca", r.caFile, "list", "--limit", "1").want(t, 0, `^UID `)
	})
}

type mailboxEntry struct {
	Name       string   `json:"name"`
	Attributes []string `json:"attributes"`
	Messages   *int     `json:"messages"`
	Unseen     *int     `json:"unseen"`
	Subscribed *bool    `json:"subscribed"`
}

func mailboxJSONOf(t *testing.T, r *clientRig, name string) *mailboxEntry {
	t.Helper()
	var out struct{ Mailboxes []mailboxEntry }
	decodeJSON(t, r.run("", "mailboxes", "--json"), &out)
	for i := range out.Mailboxes {
		if out.Mailboxes[i].Name == name {
			return &out.Mailboxes[i]
		}
	}
	return nil
}

func decodeJSON(t *testing.T, res result, v any) {
	t.Helper()
	if res.code != 0 {
		t.Fatalf("exit %d, stderr %q", res.code, res.stderr)
	}
	if err := json.Unmarshal([]byte(res.stdout), v); err != nil {
		t.Fatalf("%v in %q", err, res.stdout)
	}
}

func listDir(t *testing.T, dir string) string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return strings.Join(names, " ")
}
