//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMuttInTmux opens the IMAPS INBOX in mutt inside a detached tmux
// session and reads the index from the screen.
func TestMuttInTmux(t *testing.T) {
	mutt := requireTool(t, "mutt")
	tmux := requireTool(t, "tmux")
	s := startWithUsers(t)
	s.mustSend(t, alice, message("Carol <carol@remote.example>", alice, "Seen through mutt", "hello mutt\n"))

	home := t.TempDir()
	certs := filepath.Join(home, "certificates")
	pem, err := os.ReadFile(s.certFile())
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, certs, string(pem), 0o600)
	rc := filepath.Join(home, "muttrc")
	writeFile(t, rc, fmt.Sprintf(`set folder="imaps://%s@127.0.0.1:%s/"
set spoolfile="+INBOX"
set imap_pass="%s"
set certificate_file="%s"
set ssl_force_tls=yes
set header_cache=""
set message_cachedir=""
set mail_check=5
set quit=yes
set move=no
set sleep_time=0
set mbox_type=Maildir
`, strings.ReplaceAll(alice, "@", "%40"), s.port("imaps"), alicePass, certs), 0o600)

	sock := filepath.Join(home, "tmux.sock")
	session := "lbmutt"
	env := []string{"HOME=" + home, "TERM=xterm-256color", "LANG=C.UTF-8"}
	mustRun(t, 30*time.Second, env, "", tmux, "-S", sock, "new-session", "-d", "-s", session,
		"-x", "160", "-y", "40", mutt+" -n -F "+rc)
	defer run(t, 10*time.Second, env, "", tmux, "-S", sock, "kill-server")

	var screen string
	deadline := time.Now().Add(45 * time.Second)
	for time.Now().Before(deadline) {
		r := run(t, 10*time.Second, env, "", tmux, "-S", sock, "capture-pane", "-p", "-t", session)
		screen = r.stdout
		if strings.Contains(screen, "Seen through mutt") {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	if !strings.Contains(screen, "Seen through mutt") {
		t.Fatalf("mutt never showed the subject; last screen:\n%s", screen)
	}
	// Open the message and check its body reaches the pager.
	run(t, 10*time.Second, env, "", tmux, "-S", sock, "send-keys", "-t", session, "Enter")
	deadline = time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		screen = run(t, 10*time.Second, env, "", tmux, "-S", sock, "capture-pane", "-p", "-t", session).stdout
		if strings.Contains(screen, "hello mutt") {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	if !strings.Contains(screen, "hello mutt") {
		t.Errorf("mutt pager never showed the body; last screen:\n%s", screen)
	}
	run(t, 10*time.Second, env, "", tmux, "-S", sock, "send-keys", "-t", session, "q", "q")
}
