package imapserver_test

import (
	"net"
	"os/exec"
	"strings"
	"testing"
)

// seedScript is the seed tutorial's imaplib example (line breaks repaired),
// with host, port and credentials changed, plus exercise 3 (a subject
// keyword search).
const seedScript = `
import imaplib, email, sys
from email.header import decode_header
host, port, user, pw = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
imap = imaplib.IMAP4_SSL(host, port)
imap.login(user, pw)
status, messages = imap.select('INBOX')
messages = int(messages[0])
print(f"Total messages in INBOX: {messages}")
status, msg_data = imap.fetch(str(messages), '(RFC822)')
raw_email = msg_data[0][1]
email_message = email.message_from_bytes(raw_email)
subject = decode_header(email_message["Subject"])[0][0]
if isinstance(subject, bytes):
    subject = subject.decode()
print(f"From: {email_message['From']}")
print(f"Subject: {subject}")
print(f"Date: {email_message['Date']}")
if email_message.is_multipart():
    for part in email_message.walk():
        content_type = part.get_content_type()
        if content_type == "text/plain":
            body = part.get_payload(decode=True).decode()
            print("Body:", body)
            break
else:
    body = email_message.get_payload(decode=True).decode()
    print("Body:", body)
status, data = imap.search(None, '(SUBJECT "hello")')
print("Search:", status, data[0].decode())
imap.close()
imap.logout()
`

func TestPythonImaplibSeed(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	h := newHarness(t)
	h.deliver("INBOX", "From: Carol <carol@example.org>\r\nSubject: other\r\n\r\nnothing\r\n")
	h.deliver("INBOX", msg1)
	host, port, _ := net.SplitHostPort(h.serveTLS())
	out, err := exec.Command(py, "-c", seedScript, host, port, testUser, testPass).CombinedOutput()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, out)
	}
	for _, want := range []string{
		"Total messages in INBOX: 2",
		"From: Bob <bob@example.org>",
		"Subject: Hello there",
		"Body: Hi Alice,",
		"Search: OK 2",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
