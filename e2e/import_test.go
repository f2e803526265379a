//go:build e2e

package e2e

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/letterbox/letterbox/internal/testutil/dovecottest"
)

// The import tests: a real Debian Dovecot is filled, its Maildir (or the
// account over IMAP) is imported with `letterbox import`, and clients that
// knew Dovecot find letterbox to be the same server: mbsync downloads
// nothing, POP3 UIDLs are equal (docs/IMPORT.md).

// dovecotNamespace makes Dovecot's hierarchy separator '/', as letterbox's
// (the Maildir++ folders on disk are ".A.B" either way).
const dovecotNamespace = `namespace inbox {
  inbox = yes
  separator = /
}
`

// seedMessage is one message appended to Dovecot.
type seedMessage struct {
	mailbox string
	flags   []imap.Flag
	subject string
}

// dovecotSeed: several folders, system flags, keywords, one \Deleted
// message, a UID gap (an expunged message) and an expunged last message
// (so UIDNEXT is above the last UID).
var dovecotSeed = []seedMessage{
	{"INBOX", []imap.Flag{imap.FlagSeen}, "seen"},
	{"INBOX", []imap.Flag{imap.FlagFlagged, imap.FlagSeen}, "flagged and seen"},
	{"INBOX", []imap.Flag{"$Label1", "Work"}, "two keywords"},
	{"INBOX", nil, "expunged: a UID gap"},
	{"INBOX", []imap.Flag{imap.FlagDeleted}, "deleted-flagged"},
	{"INBOX", []imap.Flag{imap.FlagAnswered, imap.FlagDraft, "Work"}, "answered draft"},
	{"INBOX", nil, "plain, unseen"},
	{"INBOX", nil, "expunged: the last one"},
	{"Sub/Folder", []imap.Flag{imap.FlagSeen, "Project"}, "in a subfolder"},
	{"Sub/Folder", nil, "second in the subfolder"},
	{"Archive", []imap.Flag{imap.FlagSeen, imap.FlagAnswered}, "archived"},
}

// startDovecot runs a throwaway Dovecot with alice; extra is appended to
// its configuration.
func startDovecot(t *testing.T, extra ...string) *dovecottest.Server {
	t.Helper()
	if _, err := dovecottest.Binary(); err != nil {
		if inCI() {
			t.Fatalf("dovecot: %v", err)
		}
		t.Skipf("dovecot: %v", err)
	}
	return dovecottest.StartT(t, dovecottest.Options{
		Users:  map[string]string{alice: alicePass},
		Config: dovecotNamespace + strings.Join(extra, "\n"),
		Env:    []string{"TZ=UTC"},
	})
}

func dialDovecot(t *testing.T, d *dovecottest.Server) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialInsecure(d.IMAP, nil)
	if err != nil {
		t.Fatalf("dial dovecot: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Login(alice, alicePass).Wait(); err != nil {
		t.Fatalf("dovecot LOGIN: %v", err)
	}
	return c
}

func appendTo(t *testing.T, c *imapclient.Client, m seedMessage, date time.Time) {
	t.Helper()
	body := fmt.Sprintf("From: carol@remote.example\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%x@remote.example>\r\n\r\nThis is %q.\r\nFrom here on, a line that mbox must quote.\r\n",
		alice, m.subject, date.Format(time.RFC1123Z), sha256.Sum256([]byte(m.subject)), m.subject)
	cmd := c.Append(m.mailbox, int64(len(body)), &imap.AppendOptions{Flags: m.flags, Time: date})
	if _, err := cmd.Write([]byte(body)); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := cmd.Wait(); err != nil {
		t.Fatalf("APPEND %s: %v", m.mailbox, err)
	}
}

// fillDovecot appends dovecotSeed, expunges the two "expunged" messages
// and subscribes Sub/Folder.
func fillDovecot(t *testing.T, d *dovecottest.Server) {
	t.Helper()
	c := dialDovecot(t, d)
	for _, name := range []string{"Sub/Folder", "Archive"} {
		if err := c.Create(name, nil).Wait(); err != nil {
			t.Fatalf("CREATE %s: %v", name, err)
		}
	}
	if err := c.Subscribe("Sub/Folder").Wait(); err != nil {
		t.Fatal(err)
	}
	date := time.Date(2023, 5, 6, 7, 8, 9, 0, time.UTC)
	for i, m := range dovecotSeed {
		appendTo(t, c, m, date.Add(time.Duration(i)*time.Hour))
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	// Messages 4 and 8 of INBOX: set \Deleted and UID EXPUNGE them only.
	var gone imap.UIDSet
	gone.AddNum(4, 8)
	if err := c.Store(gone, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}, Silent: true}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.UIDExpunge(gone).Close(); err != nil {
		t.Fatal(err)
	}
	c.Logout().Wait()
}

// accountState describes every mailbox of an account over IMAP:
// "mailbox UIDVALIDITY=v UIDNEXT=n" lines and one line per message with
// its UID, flags, INTERNALDATE and the SHA-256 of its body.
func accountState(t *testing.T, c *imapclient.Client, mailboxes ...string) []string {
	t.Helper()
	var out []string
	for _, mb := range mailboxes {
		sel, err := c.Select(mb, &imap.SelectOptions{ReadOnly: true}).Wait()
		if err != nil {
			t.Fatalf("EXAMINE %s: %v", mb, err)
		}
		out = append(out, fmt.Sprintf("%s UIDVALIDITY=%d UIDNEXT=%d", mb, sel.UIDValidity, sel.UIDNext))
		if sel.NumMessages == 0 {
			continue
		}
		section := &imap.FetchItemBodySection{Peek: true}
		var all imap.SeqSet
		all.AddRange(1, 0)
		msgs, err := c.Fetch(all, &imap.FetchOptions{UID: true, Flags: true, InternalDate: true,
			BodySection: []*imap.FetchItemBodySection{section}}).Collect()
		if err != nil {
			t.Fatalf("FETCH %s: %v", mb, err)
		}
		for _, m := range msgs {
			var flags []string
			for _, f := range m.Flags {
				if f != `\Recent` {
					flags = append(flags, string(f))
				}
			}
			sort.Strings(flags)
			out = append(out, fmt.Sprintf("  %d %s %s %x", m.UID, strings.Join(flags, ","),
				m.InternalDate.UTC().Format(time.RFC3339), sha256.Sum256(m.FindBodySection(section))))
		}
	}
	return out
}

var seededMailboxes = []string{"INBOX", "Archive", "Sub/Folder"}

// poplibUIDL lists UIDL with Python's poplib (plain POP3 or POP3S).
func poplibUIDL(t *testing.T, addr string, tls bool, cafile string) []string {
	t.Helper()
	py := requireTool(t, "python3")
	host, port, _ := strings.Cut(addr, ":")
	useTLS := "False"
	if tls {
		useTLS = "True"
	}
	script := fmt.Sprintf(`
import poplib, ssl, sys
if %s:
    ctx = ssl.create_default_context(cafile=%q)
    p = poplib.POP3_SSL(%q, %s, context=ctx)
else:
    p = poplib.POP3(%q, %s)
p.user(%q); p.pass_(%q)
for l in p.uidl()[1]:
    print(l.decode())
p.quit()
`, useTLS, cafile, host, port, host, port, alice, alicePass)
	r := mustRun(t, time.Minute, nil, "", py, "-c", script)
	return strings.Fields(strings.ReplaceAll(r.stdout, "\n", " \n"))
}

// importCmd runs `letterbox import` and returns its output.
func (s *server) importCmd(t *testing.T, env []string, args ...string) string {
	t.Helper()
	r := mustRun(t, 5*time.Minute, append([]string{cheapHashEnv}, env...), "", letterboxBin, s.args(append([]string{"import"}, args...)...)...)
	t.Logf("letterbox import %s:\n%s", strings.Join(args, " "), r.stdout)
	return r.stdout
}

// TestImportDovecotMaildir: Dovecot is filled and mbsync syncs a local
// Maildir from it; Dovecot's Maildir is imported into letterbox; mbsync,
// with the same sync state and only the server changed, then transfers
// nothing in either direction and keeps every flag; a POP3 client sees
// the same UIDLs from both servers.
func TestImportDovecotMaildir(t *testing.T) {
	mbsync := requireTool(t, "mbsync")
	d := startDovecot(t)
	fillDovecot(t, d)
	want := accountState(t, dialDovecot(t, d), seededMailboxes...)
	wantUIDL := poplibUIDL(t, d.POP3, false, "")
	if len(wantUIDL) != 12 { // 6 messages, "n uidl" each
		t.Fatalf("Dovecot UIDL: %v", wantUIDL)
	}

	home := t.TempDir()
	local := filepath.Join(home, "Mail")
	if err := os.MkdirAll(local, 0o700); err != nil {
		t.Fatal(err)
	}
	rc := filepath.Join(home, "mbsyncrc")
	conf := func(far string) string {
		return fmt.Sprintf(`IMAPAccount far
%s
User %s
Pass "%s"

IMAPStore far-remote
Account far

MaildirStore far-local
Path %s/
Inbox %s/INBOX
SubFolders Verbatim

Channel far
Far :far-remote:
Near :far-local:
Patterns *
Create Near
Expunge None
SyncState *
Sync All
`, far, alice, alicePass, local, local)
	}
	_, dport, _ := strings.Cut(d.IMAP, ":")
	writeFile(t, rc, conf("Host 127.0.0.1\nPort "+dport+"\nSSLType None\nAuthMechs LOGIN"), 0o600)
	sync := func(what string) string {
		t.Helper()
		r := run(t, 2*time.Minute, []string{"HOME=" + home}, "", mbsync, "-c", rc, "-V", "-a")
		if r.err != nil {
			t.Fatalf("%s: mbsync: %v\n%s", what, r.err, r)
		}
		return r.stdout + r.stderr
	}
	sync("sync from Dovecot")
	localBefore := map[string][]string{}
	total := 0
	for _, mb := range []string{"INBOX", "Archive", "Sub/Folder"} {
		localBefore[mb] = maildirState(t, filepath.Join(local, mb))
		total += len(localBefore[mb])
	}
	if total != 9 {
		t.Fatalf("mbsync fetched %d messages from Dovecot, want 9: %v", total, localBefore)
	}

	// Import Dovecot's Maildir into a letterbox that is not running.
	s := startWithUsers(t)
	s.stop()
	out := s.importCmd(t, nil, alice, filepath.Join(d.Dir, "mail", alice))
	for _, w := range []string{"INBOX: 6 imported (UIDs kept", "Sub/Folder: 2 imported (UIDs kept", "imported 9 messages"} {
		if !strings.Contains(out, w) {
			t.Errorf("import output lacks %q", w)
		}
	}
	s.start()

	got := accountState(t, s.dialIMAPS(t, alice, alicePass), seededMailboxes...)
	if !slices.Equal(got, want) {
		t.Fatalf("letterbox after import:\n%s\nDovecot:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	c := s.dialIMAPS(t, alice, alicePass)
	subs, err := c.List("", "*", &imap.ListOptions{SelectSubscribed: true}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(subs, func(l *imap.ListData) bool { return l.Mailbox == "Sub/Folder" }) {
		t.Errorf("Sub/Folder is not subscribed after the import: %v", subs)
	}

	// mbsync, pointed at letterbox with the same state: nothing moves.
	writeFile(t, rc, conf("Host 127.0.0.1\nPort "+s.port("imaps")+"\nSSLType IMAPS\nCertificateFile "+s.certFile()), 0o600)
	log := sync("sync from letterbox")
	for mb, before := range localBefore {
		if after := maildirState(t, filepath.Join(local, mb)); !slices.Equal(after, before) {
			t.Errorf("%s: mbsync against letterbox changed the local Maildir:\nbefore %v\nafter  %v\n%s", mb, before, after, log)
		}
	}
	if strings.Contains(log, "UIDVALIDITY of") || strings.Contains(log, "UIDVALIDITY changed") {
		t.Errorf("mbsync complained about UIDVALIDITY:\n%s", log)
	}
	if again := accountState(t, s.dialIMAPS(t, alice, alicePass), seededMailboxes...); !slices.Equal(again, want) {
		t.Errorf("mbsync changed letterbox:\n%s", strings.Join(again, "\n"))
	}

	// POP3: the same UIDLs.
	if gotUIDL := poplibUIDL(t, s.addr("pop3s"), true, s.certFile()); !slices.Equal(gotUIDL, wantUIDL) {
		t.Errorf("POP3 UIDL from letterbox %v, from Dovecot %v", gotUIDL, wantUIDL)
	}

	// A second import of the same tree imports nothing.
	s.stop()
	out = s.importCmd(t, nil, alice, filepath.Join(d.Dir, "mail", alice))
	if !strings.Contains(out, "imported 0 messages") {
		t.Errorf("re-import was not empty")
	}
	s.start()

	// Export as Maildir, import into bob: same UIDVALIDITY and UIDs.
	// Export as mbox, import into a third account: same messages and
	// flags, new UIDs.
	exportDir := t.TempDir()
	s.stop()
	mustRun(t, time.Minute, []string{cheapHashEnv}, "", letterboxBin, s.args("export", alice, filepath.Join(exportDir, "md"))...)
	mustRun(t, time.Minute, []string{cheapHashEnv}, "", letterboxBin, s.args("export", "--format", "mbox", alice, filepath.Join(exportDir, "mb"))...)
	s.importCmd(t, nil, bob, filepath.Join(exportDir, "md"))
	mustRun(t, time.Minute, []string{cheapHashEnv}, "carol pass\n", letterboxBin, s.args("user", "add", "carol@example.com")...)
	s.importCmd(t, nil, "carol@example.com", filepath.Join(exportDir, "mb"))
	s.start()
	bobState := accountState(t, s.dialIMAPS(t, bob, bobPass), seededMailboxes...)
	if !slices.Equal(bobState, want) {
		t.Errorf("Maildir export → import:\n%s\nwant\n%s", strings.Join(bobState, "\n"), strings.Join(want, "\n"))
	}
	carol := accountState(t, s.dialIMAPS(t, "carol@example.com", "carol pass"), seededMailboxes...)
	if strip := stripUIDs(carol); !slices.Equal(strip, stripUIDs(want)) {
		t.Errorf("mbox export → import:\n%s\nwant\n%s", strings.Join(strip, "\n"), strings.Join(stripUIDs(want), "\n"))
	}
}

// stripUIDs drops what an mbox does not carry: UIDVALIDITY, UIDNEXT, UIDs.
func stripUIDs(state []string) []string {
	var out []string
	for _, l := range state {
		f := strings.Fields(l)
		if !strings.HasPrefix(l, " ") {
			out = append(out, f[0])
			continue
		}
		out = append(out, strings.Join(f[1:], " "))
	}
	return out
}

// TestImportIMAPIncremental: `letterbox import` from Dovecot over IMAP
// keeps UIDVALIDITY and UIDs; a second run imports only the message that
// arrived since.
func TestImportIMAPIncremental(t *testing.T) {
	d := startDovecot(t)
	fillDovecot(t, d)
	s := startWithUsers(t)
	s.stop()
	url := "imap://" + strings.Replace(alice, "@", "%40", 1) + "@" + d.IMAP
	env := []string{"LETTERBOX_IMPORT_PASSWORD=" + alicePass}
	out := s.importCmd(t, env, alice, url)
	if !strings.Contains(out, "imported 9 messages") {
		t.Fatalf("first IMAP import: %s", out)
	}
	appendTo(t, dialDovecot(t, d), seedMessage{"Sub/Folder", []imap.Flag{imap.FlagFlagged}, "arrived later"}, time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC))
	out = s.importCmd(t, env, alice, url)
	if !strings.Contains(out, "imported 1 messages") || !strings.Contains(out, "Sub/Folder: 1 imported (UIDs kept") {
		t.Fatalf("second IMAP import did not import exactly the new message: %s", out)
	}
	s.start()
	want := accountState(t, dialDovecot(t, d), seededMailboxes...)
	got := accountState(t, s.dialIMAPS(t, alice, alicePass), seededMailboxes...)
	if !slices.Equal(got, want) {
		t.Fatalf("letterbox after IMAP import:\n%s\nDovecot:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestImportDovecotLayoutFS: a Dovecot keeping its Maildir in LAYOUT=fs
// (folder A/B in directory A/B) is imported as faithfully.
func TestImportDovecotLayoutFS(t *testing.T) {
	d := startDovecot(t, "mail_location = maildir:~/Maildir:LAYOUT=fs\n")
	fillDovecot(t, d)
	want := accountState(t, dialDovecot(t, d), seededMailboxes...)
	root := filepath.Join(d.Dir, "home", alice, "Maildir")
	if _, err := os.Stat(filepath.Join(root, "Sub", "Folder", "cur")); err != nil {
		t.Fatalf("Dovecot did not write LAYOUT=fs: %v", err)
	}
	s := startWithUsers(t)
	s.stop()
	out := s.importCmd(t, nil, alice, root)
	if !strings.Contains(out, "Sub/Folder: 2 imported (UIDs kept") {
		t.Errorf("import output lacks the subfolder")
	}
	s.start()
	if got := accountState(t, s.dialIMAPS(t, alice, alicePass), seededMailboxes...); !slices.Equal(got, want) {
		t.Fatalf("letterbox after import:\n%s\nDovecot:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestImportIMAPSFromLetterbox: letterbox to letterbox over imaps (TLS,
// a self-signed certificate accepted with --insecure, the password from
// --password-file): same UIDVALIDITY, UIDs and flags.
func TestImportIMAPSFromLetterbox(t *testing.T) {
	old := startWithUsers(t)
	old.sendN(t, alice, "moving", 3)
	c := old.dialIMAPS(t, alice, alicePass)
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	var first imap.UIDSet
	first.AddNum(1)
	if err := c.Store(first, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagFlagged, "Moved"}, Silent: true}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	want := accountState(t, c, "INBOX")

	pwFile := filepath.Join(t.TempDir(), "pw")
	writeFile(t, pwFile, alicePass+"\n", 0o600)
	s := startWithUsers(t)
	s.stop()
	url := "imaps://" + strings.Replace(alice, "@", "%40", 1) + "@" + old.addr("imaps")
	out := s.importCmd(t, nil, "--insecure", "--password-file", pwFile, alice, url)
	if !strings.Contains(out, "INBOX: 3 imported (UIDs kept") {
		t.Errorf("import output lacks INBOX")
	}
	s.start()
	if got := accountState(t, s.dialIMAPS(t, alice, alicePass), "INBOX"); !slices.Equal(got, want) {
		t.Fatalf("after import:\n%s\nsource:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
