package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/letterbox/letterbox/internal/store"
	"github.com/letterbox/letterbox/internal/store/sqlite"
	"github.com/letterbox/letterbox/internal/testutil/mailtest"
	"github.com/letterbox/letterbox/internal/testutil/testcert"
	"github.com/letterbox/letterbox/internal/tlsconfig"
)

const (
	clientTestUser = "alice@example.com"
	clientTestPass = "alice secret"
)

// mailServers runs letterbox's IMAP and POP3 servers in-process on
// 127.0.0.1 over a temp-dir store: plain listeners and an IMAPS one.
type mailServers struct {
	t                 *testing.T
	st                *sqlite.Store
	imap, imaps, pop3 string
	caFile            string
}

func startMailServers(t *testing.T) *mailServers {
	t.Helper()
	tlsCfg, caFile := clientTestCert(t)
	return startMailServersTLS(t, tlsCfg, caFile)
}

// startMailServersTLS serves with the given certificate; caFile is its PEM.
func startMailServersTLS(t *testing.T, tlsCfg *tls.Config, caFile string) *mailServers {
	t.Helper()
	ms := mailtest.Start(t, clientTestUser, clientTestPass, tlsCfg)
	return &mailServers{t: t, st: ms.Store, caFile: caFile, imap: ms.IMAP, imaps: ms.IMAPS, pop3: ms.POP3}
}

func (m *mailServers) deliver(mailbox, subject string, flags ...string) store.UID {
	m.t.Helper()
	msg := fmt.Sprintf("From: Bob <bob@example.com>\r\nTo: %s\r\nSubject: %s\r\nDate: Mon, 02 Jan 2006 15:04:05 +0000\r\n\r\nbody of %s\r\n", clientTestUser, subject, subject)
	res, err := m.st.Deliver(context.Background(), strings.NewReader(msg), []store.Target{{Account: clientTestUser, Mailbox: mailbox, Flags: flags}})
	if err != nil || res[0].Err != nil {
		m.t.Fatal(err, res)
	}
	return res[0].UID
}

func (m *mailServers) count(mailbox string) int {
	m.t.Helper()
	mbs, err := m.st.Mailboxes(context.Background(), clientTestUser)
	if err != nil {
		m.t.Fatal(err)
	}
	st, err := mbs.Status(context.Background(), mailbox)
	if err != nil {
		m.t.Fatal(err)
	}
	return st.Messages
}

// client runs `letterbox client --url URL --user alice VERB...` with the
// password in $LETTERBOX_PASSWORD.
func (m *mailServers) client(t *testing.T, url string, args ...string) result {
	t.Helper()
	full := append([]string{"client", "--url", url, "--user", clientTestUser}, args...)
	return letterbox(t, "", map[string]string{"LETTERBOX_PASSWORD": clientTestPass}, full...)
}

func (r result) wantErr(t *testing.T, code int, stderrRe string) {
	t.Helper()
	if r.code != code || !regexp.MustCompile(stderrRe).MatchString(r.stderr) {
		t.Fatalf("exit %d (want %d), stderr %q (want /%s/), stdout %q", r.code, code, r.stderr, stderrRe, r.stdout)
	}
}

func TestClientIMAPVerbs(t *testing.T) {
	m := startMailServers(t)
	url := "imap://" + m.imap + "?tls=none"
	m.deliver("INBOX", "Weekly report")
	m.deliver("INBOX", "Lunch plans", `\Seen`)
	m.deliver("INBOX", "report \x1b[31mred")

	m.client(t, url, "list").want(t, 0, `(?m)^UID +DATE +FLAGS +SIZE +FROM +SUBJECT\n1 +\d{4}-\d\d-\d\d \d\d:\d\d +- +\d+ +Bob <bob@example.com> +Weekly report\n2 .* S +\d+ .*Lunch plans\n3 .*report \?\[31mred\n$`)
	m.client(t, url, "list", "--limit", "1").want(t, 0, `\A[^\n]*\n3 [^\n]*\n\z`)
	m.client(t, url, "search", "--subject", "REPORT").want(t, 0, `(?s)\AUID[^\n]*\n1 .*Weekly report\n3 .*red\n\z`)
	m.client(t, url, "search", "--subject", "report", "--unseen", "--from", "bob").want(t, 0, `\n1 .*\n3 `)
	m.client(t, url, "search", "--subject", "nothing").want(t, 0, `^no messages\n$`)

	m.client(t, url, "read", "2", "--peek", "--raw").want(t, 0, `(?s)^From: Bob.*Subject: Lunch plans\r\n.*body of Lunch plans\r\n$`)
	m.client(t, url, "read", "2", "--peek").want(t, 0, `\AFrom: +Bob <bob@example.com>\nTo: +alice@example.com\nDate: +Mon, 2 Jan 2006 15:04:05 \+0000\nSubject: Lunch plans\n\nbody of Lunch plans\n\z`)
	m.client(t, url, "read", "9").wantErr(t, 1, `no message with UID 9`)

	out := t.TempDir()
	m.client(t, url, "unread", "--out", out).want(t, 0, `(?s)uid-1\.eml\tWeekly report\n.*uid-3\.eml.*\n2 message\(s\) downloaded\n$`)
	data, err := os.ReadFile(filepath.Join(out, "uid-1.eml"))
	if err != nil || !strings.Contains(string(data), "Subject: Weekly report\r\n") {
		t.Fatalf("uid-1.eml: %q, %v", data, err)
	}
	m.client(t, url, "unread", "--out", out).want(t, 0, `^0 message\(s\) downloaded\n$`)

	m.client(t, url, "flag", "1", "3", "--flagged").want(t, 0, `^2 message\(s\): \+\\Flagged\n$`)
	m.client(t, url, "flag", "1", "--seen", "--unset").want(t, 0, `-\\Seen`)
	m.client(t, url, "list").want(t, 0, `(?m)^1 +\S+ \S+ +F +.*\n2 +\S+ \S+ +S .*\n3 +\S+ \S+ +FS `)
	m.client(t, url, "flag", "1").wantErr(t, 2, `say which flags`)

	m.client(t, url, "move", "2", "3", "--to", "Archive").want(t, 0, `^moved 2 message\(s\) to Archive\n$`)
	m.client(t, url, "list", "--mailbox", "Archive").want(t, 0, `(?s)Lunch plans.*red`)
	m.client(t, url, "--mailbox", "Archive", "--limit", "1", "list").want(t, 0, `\A[^\n]*\n2 .*red\n\z`)
	m.client(t, url, "mailboxes").want(t, 0, `(?m)^MAILBOX +MESSAGES +UNSEEN +SUBSCRIBED +ATTRIBUTES\nINBOX +1 +1 +yes .*\n(?s:.*)^Archive +2 +0 +yes [^\n]*\n(?s:.*)\n\z`)
	m.client(t, url, "move", "1").wantErr(t, 2, `--to MAILBOX is required`)

	m.client(t, url, "delete", "1").want(t, 0, `^deleted 1 message\(s\)\n$`)
	if n := m.count("INBOX"); n != 0 {
		t.Fatalf("INBOX holds %d messages after delete", n)
	}
	m.client(t, url, "delete", "1").wantErr(t, 1, `no message with UID 1`)

	md := filepath.Join(t.TempDir(), "Maildir")
	m.client(t, url, "sync", "--mailbox", "Archive", "--maildir", md).want(t, 0, `^fetched 2, updated 0, removed 0, unchanged 0\n$`)
	m.client(t, url, "sync", "--mailbox", "Archive", "--maildir", md).want(t, 0, `^fetched 0, updated 0, removed 0, unchanged 2\n$`)
	m.deliver("Archive", "late arrival")
	m.client(t, url, "flag", "1", "--mailbox", "Archive", "--answered").want(t, 0, `Answered`)
	m.client(t, url, "sync", "--mailbox", "Archive", "--maildir", md).want(t, 0, `^fetched 1, updated 1, removed 0, unchanged 1\n$`)
	cur, _ := filepath.Glob(filepath.Join(md, "cur", "*:2,RS"))
	if len(cur) != 1 {
		t.Fatalf("want one cur/*:2,RS file, got %q", cur)
	}
}

func TestClientPOP3Verbs(t *testing.T) {
	m := startMailServers(t)
	url := "pop3://" + m.pop3 + "?tls=none"
	m.deliver("INBOX", "Weekly report")
	m.deliver("INBOX", "Lunch plans", `\Seen`)

	r := m.client(t, url, "list")
	r.want(t, 0, `(?m)^ID +UIDL +DATE +SIZE +FROM +SUBJECT\n1 +\S+ +\d{4}-\d\d-\d\d \d\d:\d\d +\d+ +Bob <bob@example.com> +Weekly report\n2 .*Lunch plans\n$`)
	uidl2 := strings.Fields(strings.Split(r.stdout, "\n")[2])[1]
	m.client(t, url, "read", "uidl:"+uidl2, "--raw").want(t, 0, `Subject: Lunch plans\r\n`)
	m.client(t, url, "read", "1").want(t, 0, `Subject: Weekly report\n\nbody of Weekly report\n`)
	m.client(t, url, "read", "3").wantErr(t, 1, `no message 3`)
	m.client(t, url, "search", "--subject", "lunch").want(t, 0, `\n2 .*Lunch plans\n$`)
	m.client(t, url, "search", "--unseen").wantErr(t, 1, `state file`)

	out := t.TempDir()
	m.client(t, url, "unread", "--out", out).want(t, 0, `(?s)uidl-.*\.eml\tWeekly report\n.*\tLunch plans\n2 message\(s\) downloaded\n$`)
	m.client(t, url, "unread", "--out", out).want(t, 0, `^0 message\(s\) downloaded\n$`)
	state := filepath.Join(out, ".letterbox-pop3-uidl")
	m.client(t, url, "search", "--unseen", "--state", state).want(t, 0, `^no messages\n$`)
	m.deliver("INBOX", "Fresh news")
	m.client(t, url, "search", "--unseen", "--state", state).want(t, 0, `\n3 .*Fresh news\n$`)
	m.client(t, url, "unread", "--out", out).want(t, 0, `Fresh news\n1 message\(s\) downloaded\n$`)

	for _, args := range [][]string{{"move", "1", "--to", "Archive"}, {"flag", "1", "--seen"}, {"mailboxes"}, {"list", "--mailbox", "Sent"}} {
		m.client(t, url, args...).wantErr(t, 1, `not supported: POP3`)
	}

	md := t.TempDir()
	m.client(t, url, "sync", "--maildir", md).want(t, 0, `^fetched 3, updated 0, removed 0, unchanged 0\n$`)
	m.client(t, url, "sync", "--maildir", md).want(t, 0, `^fetched 0, updated 0, removed 0, unchanged 3\n$`)

	m.client(t, url, "delete", "1", "uidl:"+uidl2).want(t, 0, `^deleted 2 message\(s\)\n$`)
	if n := m.count("INBOX"); n != 1 {
		t.Fatalf("INBOX holds %d messages after delete, want 1", n)
	}
	m.client(t, url, "list").want(t, 0, `\n1 .*Fresh news\n$`)
}

func TestClientTLSAndCredentials(t *testing.T) {
	m := startMailServers(t)
	m.deliver("INBOX", "secure hello")
	imaps := "imaps://" + m.imaps
	m.client(t, imaps, "list", "--ca", m.caFile).want(t, 0, `secure hello`)
	m.client(t, imaps, "list").wantErr(t, 1, `certificate`)
	m.client(t, imaps, "list", "--insecure").want(t, 0, `secure hello`)
	m.client(t, "imap://"+m.imap, "--ca", m.caFile, "list").want(t, 0, `secure hello`) // STARTTLS by default
	m.client(t, "pop3://"+m.pop3, "--ca", m.caFile, "list").want(t, 0, `secure hello`) // STLS by default
	m.client(t, "pop3://"+m.pop3, "--tls", "implicit", "--timeout", "2s", "--insecure", "list").wantErr(t, 1, `TLS`)

	pwFile := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pwFile, []byte(clientTestPass+"\n"), 0o600)
	url := "imap://" + clientTestUser + "@" + m.imap + "?tls=none"
	letterbox(t, "", nil, "client", "--password-file", pwFile, "--url", url, "list").want(t, 0, `secure hello`)
	letterbox(t, "", map[string]string{"LETTERBOX_URL": url, "LETTERBOX_PASSWORD": "wrong"}, "client", "list").wantErr(t, 1, `login as alice@example.com`)
	letterbox(t, "", map[string]string{"LETTERBOX_URL": url}, "client", "list").wantErr(t, 1, `no password`)

	letterbox(t, "", nil, "client", "list").wantErr(t, 2, `no server: give --url`)
	letterbox(t, "", nil, "client", "--url", url).wantErr(t, 2, `missing verb`)
	letterbox(t, "", nil, "client", "--url", url, "frobnicate").wantErr(t, 2, `unknown verb "frobnicate"`)
	letterbox(t, "", nil, "client", "--url", url, "read").wantErr(t, 2, `want one message id`)
	letterbox(t, "", nil, "client", "--url", url, "unread").wantErr(t, 2, `--out DIR is required`)
	letterbox(t, "", nil, "client", "--url", url, "list", "--limit", "-1").wantErr(t, 2, `negative`)
	letterbox(t, "", nil, "client", "--url", "http://x", "list").wantErr(t, 2, `unknown scheme`)
	letterbox(t, "", nil, "client", "--url", "imap://h", "list").wantErr(t, 2, `no user`)
	letterbox(t, "", nil, "client", "--help").want(t, 0, `(?s)verbs:.*sync --maildir DIR.*-password-file`)
}

// The certificate `letterbox serve` makes for itself (DATA/tls/cert.pem) is
// what users pass with --ca.
func TestClientTrustsServeSelfSignedCert(t *testing.T) {
	data := t.TempDir()
	tlsCfg, err := tlsconfig.Load(tlsconfig.Options{DataDir: data, Hostnames: []string{"mail.example.net"}})
	if err != nil {
		t.Fatal(err)
	}
	m := startMailServersTLS(t, tlsCfg, filepath.Join(data, "tls", "cert.pem"))
	m.deliver("INBOX", "over TLS")
	m.client(t, "imaps://"+m.imaps, "--ca", m.caFile, "list").want(t, 0, `over TLS`)
	m.client(t, "pop3://"+m.pop3, "--ca", m.caFile, "list").want(t, 0, `over TLS`)
	m.client(t, "imaps://"+m.imaps, "--ca", m.caFile, "--servername", "mail.example.net", "list").want(t, 0, `over TLS`)
	m.client(t, "imaps://"+m.imaps, "--ca", m.caFile, "--servername", "other.example.net", "list").wantErr(t, 1, `certificate`)
}

// clientTestCert is a self-signed certificate for 127.0.0.1 and the PEM
// file a user would pass with --ca.
func clientTestCert(t *testing.T) (*tls.Config, string) {
	t.Helper()
	cert, err := testcert.New()
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "cert.pem")
	if err := cert.WriteCA(caFile); err != nil {
		t.Fatal(err)
	}
	return cert.Server, caFile
}
