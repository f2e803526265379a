package mailclient

import (
	"context"
	"crypto/tls"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/store"
	"github.com/letterbox/letterbox/internal/store/sqlite"
	"github.com/letterbox/letterbox/internal/testutil/mailtest"
	"github.com/letterbox/letterbox/internal/testutil/testcert"
)

const (
	testUser = "alice@example.com"
	testPass = "alice secret"
)

// servers is letterbox's IMAP and POP3 servers over one temp-dir SQLite
// store, on 127.0.0.1 ephemeral ports: plain (with STARTTLS/STLS) and
// implicit TLS listeners for each.
type servers struct {
	t           *testing.T
	st          *sqlite.Store
	imap, imaps string
	pop3, pop3s string
	caFile      string // PEM of the self-signed server certificate
	clientTLS   *tls.Config
}

func startServers(t *testing.T) *servers {
	t.Helper()
	cert, caFile, clientTLS := testCert(t)
	ms := mailtest.Start(t, testUser, testPass, cert.Server)
	return &servers{t: t, st: ms.Store, caFile: caFile, clientTLS: clientTLS,
		imap: ms.IMAP, imaps: ms.IMAPS, pop3: ms.POP3, pop3s: ms.POP3S}
}

// config is a client Config for one of the listeners.
func (s *servers) config(p Protocol, sec Security) Config {
	c := Config{Protocol: p, Security: sec, User: testUser, Password: testPass, TLS: s.clientTLS}
	switch {
	case p == IMAP && sec == ImplicitTLS:
		c.Addr = s.imaps
	case p == IMAP:
		c.Addr = s.imap
	case sec == ImplicitTLS:
		c.Addr = s.pop3s
	default:
		c.Addr = s.pop3
	}
	return c
}

// dial connects a Client and closes it at the end of the test.
func (s *servers) dial(p Protocol, sec Security) Client {
	s.t.Helper()
	c, err := Dial(context.Background(), s.config(p, sec))
	if err != nil {
		s.t.Fatalf("dial %v %v: %v", p, sec, err)
	}
	s.t.Cleanup(func() { c.Close() })
	return c
}

// deliver puts a message into a mailbox of the test account.
func (s *servers) deliver(mailbox, msg string, flags ...string) store.UID {
	s.t.Helper()
	res, err := s.st.Deliver(context.Background(), strings.NewReader(msg), []store.Target{{Account: testUser, Mailbox: mailbox, Flags: flags}})
	if err != nil {
		s.t.Fatal(err)
	}
	if res[0].Err != nil {
		s.t.Fatal(res[0].Err)
	}
	return res[0].UID
}

// mailbox opens a mailbox of the test account in the store.
func (s *servers) mailbox(name string) store.Mailbox {
	s.t.Helper()
	mbs, err := s.st.Mailboxes(context.Background(), testUser)
	if err != nil {
		s.t.Fatal(err)
	}
	mb, err := mbs.Open(context.Background(), name)
	if err != nil {
		s.t.Fatal(err)
	}
	return mb
}

// messages lists a mailbox straight from the store.
func (s *servers) messages(name string) []store.Message {
	s.t.Helper()
	msgs, err := s.mailbox(name).Messages(context.Background())
	if err != nil {
		s.t.Fatal(err)
	}
	return msgs
}

// testMessage is a small RFC 5322 message.
func testMessage(from, subject, body string) string {
	return fmt.Sprintf("From: %s\r\nTo: alice@example.com\r\nSubject: %s\r\nDate: Mon, 02 Jan 2006 15:04:05 +0000\r\nMessage-ID: <%d@test>\r\n\r\n%s\r\n",
		from, subject, time.Now().UnixNano(), body)
}

// testCert makes a self-signed certificate for 127.0.0.1 and mail.test:
// the certificate (its Server config serves it), its PEM file and a client
// config that trusts it (built by NewTLSConfig from the PEM file, as the
// CLI does).
func testCert(t *testing.T) (*testcert.Cert, string, *tls.Config) {
	t.Helper()
	cert, err := testcert.New()
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "cert.pem")
	if err := cert.WriteCA(caFile); err != nil {
		t.Fatal(err)
	}
	client, err := NewTLSConfig("127.0.0.1", TLSOptions{CAFile: caFile})
	if err != nil {
		t.Fatal(err)
	}
	return cert, caFile, client
}
