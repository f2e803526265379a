//go:build e2e

package e2e

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// trickyMessage exercises what byte-exact storage must survive: dot lines,
// trailing whitespace, a folded header, 8-bit UTF-8, a long line and
// trailing empty lines.
func trickyMessage(subject string) []byte {
	var b strings.Builder
	b.WriteString("From: Carol <carol@remote.example>\r\n")
	b.WriteString("To: alice@example.com\r\n")
	b.WriteString("Subject: " + subject + "\r\n")
	b.WriteString("X-Folded: first part\r\n\tsecond part  \r\n   third part\r\n")
	b.WriteString("Date: Thu, 14 Mar 2024 15:09:26 +0000\r\n")
	b.WriteString("Message-ID: <tricky." + strings.ReplaceAll(subject, " ", ".") + "@e2e.example>\r\n")
	b.WriteString("MIME-Version: 1.0\r\n")
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\n")
	b.WriteString("Content-Transfer-Encoding: 8bit\r\n")
	b.WriteString("\r\n")
	b.WriteString(".\r\n")
	b.WriteString("..\r\n")
	b.WriteString(".leading dot\r\n")
	b.WriteString("trailing spaces   \r\n")
	b.WriteString("\ttab first\r\n")
	b.WriteString("Grüße aus Köln — ☃\r\n")
	b.WriteString("From the start of a line\r\n")
	b.WriteString(strings.Repeat("x", 900) + "\r\n")
	b.WriteString("\r\n\r\n")
	return []byte(b.String())
}

// checkStoredExactly compares the INBOX of user, in order, with msgs: POP3
// RETR and IMAP BODY[] must both return each message byte for byte, after
// the trace header fields that the server adds at the top.
func (s *server) checkStoredExactly(t *testing.T, user, pass string, msgs [][]byte) {
	t.Helper()
	p := s.dialPOP3S(t, user, pass)
	if n := p.stat(); n != len(msgs) {
		t.Fatalf("POP3 STAT: %d messages, want %d", n, len(msgs))
	}
	for i, want := range msgs {
		got := p.multi(fmt.Sprintf("RETR %d", i+1))
		if !hasTrace(got) {
			t.Errorf("POP3 RETR %d: no Received/Return-Path trace header at the top:\n%.300s", i+1, got)
		}
		if g := stripTrace(got); !bytes.Equal(g, want) {
			t.Errorf("POP3 RETR %d differs from what was sent:\n%s", i+1, diffBytes(want, g))
		}
	}
	p.quit()

	c := s.dialIMAPS(t, user, pass)
	got := fetchAll(t, c, "INBOX")
	if len(got) != len(msgs) {
		t.Fatalf("IMAP: %d messages, want %d", len(got), len(msgs))
	}
	for i, want := range msgs {
		if g := stripTrace(got[i].body); !bytes.Equal(g, want) {
			t.Errorf("IMAP BODY[] of message %d differs from what was sent:\n%s", i+1, diffBytes(want, g))
		}
	}
	c.Logout().Wait()
}

// hasTrace reports whether a delivered message starts with a trace field.
func hasTrace(msg []byte) bool {
	l := bytes.ToLower(msg[:min(len(msg), 20)])
	return bytes.HasPrefix(l, []byte("received:")) || bytes.HasPrefix(l, []byte("return-path:"))
}

// diffBytes describes the first difference between two byte strings.
func diffBytes(want, got []byte) string {
	i := 0
	for i < len(want) && i < len(got) && want[i] == got[i] {
		i++
	}
	lo := max(0, i-40)
	return fmt.Sprintf("lengths want %d got %d; first difference at byte %d\nwant ...%q\n got ...%q",
		len(want), len(got), i, want[lo:min(len(want), i+40)], got[lo:min(len(got), i+40)])
}

const smtplibSend = `
import smtplib, sys
host, port, sender, rcpt = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
with smtplib.SMTP(host, port, timeout=30) as smtp:
    for path in sys.argv[5:]:
        with open(path, 'rb') as f:
            refused = smtp.sendmail(sender, [rcpt], f.read())
        if refused:
            sys.exit("refused: %r" % refused)
print("sent", len(sys.argv) - 5)
`

// TestSmtplibByteExact sends tricky messages with Python's smtplib and reads
// them back over POP3 and IMAP byte for byte.
func TestSmtplibByteExact(t *testing.T) {
	py := requireTool(t, "python3")
	s := startWithUsers(t)
	dir := t.TempDir()
	script := filepath.Join(dir, "send.py")
	writeFile(t, script, smtplibSend, 0o600)
	msgs := [][]byte{
		trickyMessage("tricky one"),
		message("carol@remote.example", alice, "plain two", "short body\n"),
		trickyMessage("tricky three"),
	}
	args := []string{script, "127.0.0.1", s.port("smtp"), "carol@remote.example", alice}
	for i, m := range msgs {
		f := filepath.Join(dir, fmt.Sprintf("m%d.eml", i))
		writeFile(t, f, string(m), 0o600)
		args = append(args, f)
	}
	mustRun(t, time.Minute, nil, "", py, args...)
	s.checkStoredExactly(t, alice, alicePass, msgs)
}
