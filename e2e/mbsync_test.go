//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

// maildirState lists a Maildir folder's files (cur and new) by name.
func maildirState(t *testing.T, dir string) []string {
	t.Helper()
	var names []string
	for _, sub := range []string{"cur", "new"} {
		entries, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		for _, e := range entries {
			names = append(names, sub+"/"+e.Name())
		}
	}
	sort.Strings(names)
	return names
}

// serverState describes INBOX as "uid flags subject" lines.
func (s *server) serverState(t *testing.T, user, pass string) []string {
	t.Helper()
	c := s.dialIMAPS(t, user, pass)
	var out []string
	for _, m := range fetchAll(t, c, "INBOX") {
		flags := make([]string, len(m.flags))
		for i, f := range m.flags {
			flags[i] = string(f)
		}
		sort.Strings(flags)
		out = append(out, fmt.Sprintf("%d %s %s", m.uid, strings.Join(flags, ","), m.subj))
	}
	c.Logout().Wait()
	return out
}

// TestMbsyncTwoWay: mbsync (isync) syncs INBOX both ways; a local flag
// change reaches the server, a server expunge reaches local, and a further
// sync changes nothing on either side.
func TestMbsyncTwoWay(t *testing.T) {
	bin := requireTool(t, "mbsync")
	s := startWithUsers(t)
	s.sendN(t, alice, "mbsync", 3)

	home := t.TempDir()
	local := filepath.Join(home, "Mail")
	if err := os.MkdirAll(local, 0o700); err != nil {
		t.Fatal(err)
	}
	rc := filepath.Join(home, "mbsyncrc")
	writeFile(t, rc, fmt.Sprintf(`IMAPAccount letterbox
Host 127.0.0.1
Port %s
User %s
Pass "%s"
SSLType IMAPS
CertificateFile %s

IMAPStore letterbox-remote
Account letterbox

MaildirStore letterbox-local
Path %s/
Inbox %s/INBOX

Channel letterbox
Far :letterbox-remote:
Near :letterbox-local:
Patterns INBOX
Create Near
Expunge Both
SyncState *
Sync All
`, s.port("imaps"), alice, alicePass, s.certFile(), local, local), 0o600)

	sync := func(what string) {
		t.Helper()
		r := run(t, 2*time.Minute, []string{"HOME=" + home}, "", bin, "-c", rc, "-V", "-a")
		if r.err != nil {
			t.Fatalf("%s: mbsync: %v\n%s", what, r.err, r)
		}
	}
	inbox := filepath.Join(local, "INBOX")

	sync("first sync")
	// mbsync (isync 1.4+) turns on COMPRESS=DEFLATE when the server
	// offers it: the whole sync above ran compressed.
	if !strings.Contains(s.log.String(), `msg="imap compress" `) {
		t.Errorf("mbsync did not negotiate COMPRESS=DEFLATE (no \"imap compress\" in the server log)")
	}
	files := maildirState(t, inbox)
	if len(files) != 3 {
		t.Fatalf("first sync: %d local messages, want 3: %v", len(files), files)
	}

	// Local flag change: mark the first message flagged (Maildir info "F",
	// flags kept in ASCII order).
	old := filepath.Join(inbox, files[0])
	name, info, _ := strings.Cut(filepath.Base(old), ":2,")
	flags := []byte(info + "F")
	slices.Sort(flags)
	if err := os.Rename(old, filepath.Join(inbox, "cur", name+":2,"+string(flags))); err != nil {
		t.Fatal(err)
	}
	sync("sync after local flag change")
	st := s.serverState(t, alice, alicePass)
	flagged := 0
	for _, l := range st {
		if strings.Contains(strings.Fields(l)[1], `\Flagged`) {
			flagged++
		}
	}
	if flagged != 1 {
		t.Errorf("after syncing a local flag change, server has %d flagged messages, want 1:\n%s", flagged, strings.Join(st, "\n"))
	}

	// Server expunge of a message that is not the flagged one.
	c := s.dialIMAPS(t, alice, alicePass)
	msgs := fetchAll(t, c, "INBOX")
	var victim imap.UID
	for _, m := range msgs {
		if !slices.Contains(m.flags, imap.FlagFlagged) {
			victim = m.uid
		}
	}
	if err := c.Store(imap.UIDSetNum(victim), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}, Silent: true}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Expunge().Close(); err != nil {
		t.Fatal(err)
	}
	c.Logout().Wait()
	sync("sync after server expunge")
	if n := len(maildirState(t, inbox)); n != 2 {
		t.Errorf("after server expunge and sync, %d local messages, want 2", n)
	}

	// A further sync changes nothing anywhere.
	localBefore, serverBefore := maildirState(t, inbox), s.serverState(t, alice, alicePass)
	sync("idempotent sync")
	if l := maildirState(t, inbox); !slices.Equal(l, localBefore) {
		t.Errorf("a further sync changed local:\nbefore %q\nafter  %q", localBefore, l)
	}
	if sv := s.serverState(t, alice, alicePass); !slices.Equal(sv, serverBefore) {
		t.Errorf("a further sync changed the server:\nbefore %q\nafter  %q", serverBefore, sv)
	}
}
