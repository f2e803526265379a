//go:build e2e

package e2e

import (
	"bufio"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// idleScript logs in with imaplib, enters IDLE (RFC 2177) and then only
// reads: it prints every line until an EXISTS arrives, then says DONE.
const idleScript = `
import imaplib, sys
host, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
imap = imaplib.IMAP4_SSL(host, port)
imap.login(user, password)
typ, data = imap.select('INBOX')
print('SELECTED', data[0].decode(), flush=True)
tag = imap._new_tag().decode()
imap.send(('%s IDLE\r\n' % tag).encode())
line = imap.readline()
if not line.startswith(b'+'):
    sys.exit('IDLE refused: %r' % line)
print('IDLING', flush=True)
imap.sock.settimeout(120)
while True:
    line = imap.readline()
    if not line:
        sys.exit('connection closed while idling')
    print('GOT', line.decode().strip(), flush=True)
    if line.rstrip().upper().endswith(b'EXISTS'):
        break
imap.send(b'DONE\r\n')
while True:
    line = imap.readline()
    if line.startswith(tag.encode()):
        print('TAGGED', line.decode().strip(), flush=True)
        break
imap.logout()
`

// TestIMAPIdleSeesSMTPDelivery: one session idles; a message delivered over
// SMTP reaches it as EXISTS without the client sending anything.
func TestIMAPIdleSeesSMTPDelivery(t *testing.T) {
	py := requireTool(t, "python3")
	s := startWithUsers(t)
	s.mustSend(t, alice, message("carol@remote.example", alice, "before idle", "x\n"))
	script := filepath.Join(t.TempDir(), "idle.py")
	writeFile(t, script, idleScript, 0o600)

	cmd := exec.Command(py, script, "127.0.0.1", s.port("imaps"), alice, alicePass)
	cmd.Env = append(cmd.Environ(), s.pythonTLSEnv()...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var transcript []string
	waitFor := func(prefix string, d time.Duration) string {
		t.Helper()
		deadline := time.After(d)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					cmd.Wait()
					t.Fatalf("idle script ended before %q\n%s\nstderr:\n%s", prefix, strings.Join(transcript, "\n"), stderr.String())
				}
				transcript = append(transcript, l)
				if strings.HasPrefix(l, prefix) {
					return l
				}
			case <-deadline:
				t.Fatalf("no %q within %v\n%s\nstderr:\n%s", prefix, d, strings.Join(transcript, "\n"), stderr.String())
			}
		}
	}
	waitFor("IDLING", 30*time.Second)
	// A second, independent session delivers over SMTP.
	s.mustSend(t, alice, message("carol@remote.example", alice, "during idle", "y\n"))
	got := waitFor("GOT", 60*time.Second)
	for !strings.HasSuffix(strings.ToUpper(got), "EXISTS") {
		got = waitFor("GOT", 60*time.Second)
	}
	if got != "GOT * 2 EXISTS" {
		t.Errorf("idle session got %q, want \"* 2 EXISTS\"", got)
	}
	tagged := waitFor("TAGGED", 30*time.Second)
	if !strings.Contains(tagged, " OK") {
		t.Errorf("IDLE ended with %q", tagged)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("idle script: %v\nstderr:\n%s", err, stderr.String())
	}
}
