//go:build e2e

package e2e

import (
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Over quota, end to end: `letterbox user quota` sets a one-message limit;
// swaks' first message is accepted, the second gets 452 4.2.2 over SMTP
// and LMTP; Python imaplib's APPEND gets NO [OVERQUOTA]; after the message
// is deleted over IMAP, delivery works again (deletions free space at
// once).
func TestQuotaEndToEnd(t *testing.T) {
	requireTool(t, "swaks")
	python := requireTool(t, "python3")
	s := startWithUsers(t)
	if out, err := exec.Command(letterboxBin, s.args("user", "quota", alice, "--messages", "1")...).CombinedOutput(); err != nil {
		t.Fatalf("letterbox user quota: %v\n%s", err, out)
	}
	send := func(port, subject string, lmtp bool) result {
		args := []string{"--port", port, "--from", "carol@remote.example", "--to", alice, "--header", "Subject: " + subject}
		if lmtp {
			args = append(args, "--protocol", "LMTP")
		}
		return swaks(t, args...)
	}
	if r := send(s.port("smtp"), "first", false); r.err != nil || !strings.Contains(r.stdout, "<-  250") {
		t.Fatalf("first message refused\n%s", r)
	}
	if r := send(s.port("smtp"), "second", false); r.err == nil || !strings.Contains(r.stdout, "452 4.2.2") {
		t.Fatalf("SMTP over quota: want 452 4.2.2\n%s", r)
	}
	if r := send(s.port("lmtp"), "third", true); r.err == nil || !strings.Contains(r.stdout, "452 4.2.2") {
		t.Fatalf("LMTP over quota: want 452 4.2.2\n%s", r)
	}
	script := `
import imaplib, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
ctx.check_hostname = False
m = imaplib.IMAP4_SSL("127.0.0.1", int(sys.argv[1]), ssl_context=ctx)
m.login(sys.argv[3], sys.argv[4])
typ, data = m.append("INBOX", None, None, b"Subject: appended\r\n\r\nbody\r\n")
print(typ, data[0].decode())
m.select("INBOX")
m.store("1", "+FLAGS", "\\Deleted")
m.expunge()
m.logout()
`
	r := run(t, time.Minute, nil, "", python, "-c", script, s.port("imaps"), s.certFile(), alice, alicePass)
	if r.err != nil || !strings.Contains(r.stdout, "NO [OVERQUOTA]") {
		t.Fatalf("imaplib APPEND over quota: want NO [OVERQUOTA]\n%s", r)
	}
	if r := send(s.port("smtp"), "after expunge", false); r.err != nil || !strings.Contains(r.stdout, "<-  250") {
		t.Fatalf("delivery after the expunge freed the quota was refused\n%s", r)
	}
	wantSubjects(t, "alice", s.inboxSubjects(t, alice, alicePass), "after expunge")
}
