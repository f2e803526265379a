// Package mailtest runs letterbox's IMAP, POP3 and submission servers
// in-process for tests of clients: one temp-dir SQLite store with one
// account, and for each protocol a plain listener (STARTTLS/STLS) and an
// implicit-TLS one, all on 127.0.0.1 ephemeral ports. Everything stops at
// test cleanup.
package mailtest

import (
	"context"
	"crypto/tls"
	"net"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/auth"
	"github.com/letterbox/letterbox/internal/imapserver"
	"github.com/letterbox/letterbox/internal/pop3server"
	"github.com/letterbox/letterbox/internal/smtpserver"
	"github.com/letterbox/letterbox/internal/store/sqlite"
)

// Servers are the running servers and their addresses.
type Servers struct {
	Store       *sqlite.Store
	IMAP, IMAPS string
	POP3, POP3S string
	// Submission (STARTTLS, the 587 role) and Submissions (implicit TLS,
	// the 465 role): RFC 6409 message submission with AUTH PLAIN.
	Submission, Submissions string
}

// Start creates the account user/pass (cheap argon2 parameters) and serves
// IMAP and POP3 with serverTLS.
func Start(t testing.TB, user, pass string, serverTLS *tls.Config) *Servers {
	t.Helper()
	st, err := sqlite.Open(sqlite.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	hash, err := auth.HashPassword(pass, auth.TestParams)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateAccount(context.Background(), user, hash); err != nil {
		t.Fatal(err)
	}
	authn := auth.New(st, auth.Options{Params: auth.TestParams, FailureDelay: time.Millisecond})
	is := imapserver.New(imapserver.Options{Store: st, Auth: authn, TLS: serverTLS, Hostname: "mail.test"})
	ps := pop3server.New(pop3server.Options{Store: st, Auth: authn, TLS: serverTLS, Hostname: "mail.test"})
	noRDNS := func(context.Context, string) ([]string, error) { return nil, nil }
	ss := smtpserver.New(smtpserver.Options{Mode: smtpserver.ModeSubmission, Store: st, Auth: authn, TLS: serverTLS,
		Hostname: "mail.test", LookupAddr: noRDNS})
	var done []chan struct{}
	serve := func(serve func(net.Listener) error, implicitTLS bool) string {
		var l net.Listener
		var err error
		if implicitTLS {
			l, err = tls.Listen("tcp", "127.0.0.1:0", serverTLS)
		} else {
			l, err = net.Listen("tcp", "127.0.0.1:0")
		}
		if err != nil {
			t.Fatal(err)
		}
		ch := make(chan struct{})
		done = append(done, ch)
		go func() { defer close(ch); serve(l) }()
		return l.Addr().String()
	}
	s := &Servers{
		Store: st,
		IMAP:  serve(is.Serve, false),
		IMAPS: serve(is.Serve, true),
		POP3:  serve(ps.Serve, false),
		POP3S: serve(ps.Serve, true),

		Submission:  serve(ss.Serve, false),
		Submissions: serve(ss.Serve, true),
	}
	t.Cleanup(func() {
		is.Close()
		ps.Close()
		ss.Close()
		for _, ch := range done {
			<-ch
		}
		st.Close()
	})
	return s
}
