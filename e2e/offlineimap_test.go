//go:build e2e

package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestOfflineIMAP: offlineimap mirrors INBOX; local and server agree on the
// count and on every message's content, and a local new message is
// uploaded.
func TestOfflineIMAP(t *testing.T) {
	bin := requireTool(t, "offlineimap")
	s := startWithUsers(t)
	s.sendN(t, alice, "offlineimap", 3)
	s.mustSend(t, alice, trickyMessage("offlineimap tricky"))

	home := t.TempDir()
	local := filepath.Join(home, "Mail")
	rc := filepath.Join(home, "offlineimaprc")
	writeFile(t, rc, fmt.Sprintf(`[general]
accounts = letterbox
metadata = %s/meta
ui = basic

[Account letterbox]
localrepository = local
remoterepository = remote

[Repository local]
type = Maildir
localfolders = %s

[Repository remote]
# offlineimap checks only DNS names in the certificate, so connect by name.
type = IMAP
remotehost = localhost
remoteport = %s
remoteuser = %s
remotepass = %s
ssl = yes
sslcacertfile = %s
folderfilter = lambda name: name == 'INBOX'
# COMPRESS=DEFLATE (RFC 4978), Z_SYNC_FLUSH from Python's zlib.
usecompression = yes
`, home, local, s.port("imaps"), alice, alicePass, s.certFile()), 0o600)

	sync := func(what string) {
		t.Helper()
		r := run(t, 3*time.Minute, []string{"HOME=" + home}, "", bin, "-c", rc, "-o", "-u", "basic")
		if r.err != nil {
			t.Fatalf("%s: offlineimap: %v\n%s", what, r.err, r)
		}
	}
	sync("first sync")
	if !strings.Contains(s.log.String(), `msg="imap compress" `) {
		t.Errorf("offlineimap did not negotiate COMPRESS=DEFLATE (no \"imap compress\" in the server log)")
	}
	compareMaildirWithServer(t, s, filepath.Join(local, "INBOX"), 4)

	// A message written locally goes up.
	up := message("alice@example.com", alice, "written offline", "uploaded by offlineimap\n")
	writeFile(t, filepath.Join(local, "INBOX", "new", "1700000000.offline.e2e"), string(up), 0o600)
	sync("sync with a local new message")
	compareMaildirWithServer(t, s, filepath.Join(local, "INBOX"), 5)
}

// compareMaildirWithServer checks that the Maildir holds exactly the
// server's INBOX messages (compared with line ends normalised, as Maildir
// clients store LF).
func compareMaildirWithServer(t *testing.T, s *server, dir string, want int) {
	t.Helper()
	var localMsgs []string
	for _, name := range maildirState(t, dir) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		localMsgs = append(localMsgs, normalize(b))
	}
	c := s.dialIMAPS(t, alice, alicePass)
	var serverMsgs []string
	for _, m := range fetchAll(t, c, "INBOX") {
		serverMsgs = append(serverMsgs, normalize(m.body))
	}
	c.Logout().Wait()
	if len(localMsgs) != want || len(serverMsgs) != want {
		t.Fatalf("local has %d messages, server %d, want %d each", len(localMsgs), len(serverMsgs), want)
	}
	sort.Strings(localMsgs)
	sort.Strings(serverMsgs)
	for i := range localMsgs {
		if localMsgs[i] != serverMsgs[i] {
			t.Errorf("message %d differs between local and server:\n%s", i, diffBytes([]byte(serverMsgs[i]), []byte(localMsgs[i])))
		}
	}
}

// normalize strips the headers offlineimap may add and unifies line ends.
func normalize(b []byte) string {
	b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	var out [][]byte
	inHeader := true
	for _, l := range bytes.SplitAfter(b, []byte("\n")) {
		if inHeader && bytes.HasPrefix(bytes.ToLower(l), []byte("x-offlineimap:")) {
			continue
		}
		if len(bytes.TrimSpace(l)) == 0 {
			inHeader = false
		}
		out = append(out, l)
	}
	return string(bytes.Join(out, nil))
}
