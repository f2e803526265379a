package conformance

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/auth"
	"github.com/letterbox/letterbox/internal/imapserver"
	"github.com/letterbox/letterbox/internal/pop3server"
	"github.com/letterbox/letterbox/internal/store"
	"github.com/letterbox/letterbox/internal/store/sqlite"
)

// The one account both servers have.
const (
	testUser = "alice@example.com"
	testPass = "conformance-pw"
)

// endpoint is one server under comparison.
type endpoint struct {
	name       string
	imap, pop3 string
}

// startLetterbox runs letterbox's IMAP and POP3 servers in-process over a
// temp-dir SQLite store with the same account Dovecot has.
func startLetterbox(t *testing.T) endpoint {
	t.Helper()
	return startLetterboxWith(t)
}

// startLetterboxWith is startLetterbox with IMAP server options changed.
func startLetterboxWith(t *testing.T, configure ...func(*imapserver.Options)) endpoint {
	t.Helper()
	return startLetterboxWithStore(t, nil, configure...)
}

// startLetterboxWithStore is startLetterboxWith with prepare (nil: none)
// run on the store once the test account exists.
func startLetterboxWithStore(t *testing.T, prepare func(store.Store), configure ...func(*imapserver.Options)) endpoint {
	t.Helper()
	st, err := sqlite.Open(sqlite.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	hash, err := auth.HashPassword(testPass, auth.TestParams)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateAccount(context.Background(), testUser, hash); err != nil {
		t.Fatal(err)
	}
	if prepare != nil {
		prepare(st)
	}
	authn := auth.New(st, auth.Options{Params: auth.TestParams, FailureDelay: time.Millisecond})
	imapOpts := imapserver.Options{Store: st, Auth: authn, Hostname: "letterbox.test"}
	for _, f := range configure {
		f(&imapOpts)
	}
	imapSrv := imapserver.New(imapOpts)
	pop3Srv := pop3server.New(pop3server.Options{Store: st, Auth: authn, Hostname: "letterbox.test"})
	imapL, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pop3L, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{}, 2)
	go func() { imapSrv.Serve(imapL); done <- struct{}{} }()
	go func() { pop3Srv.Serve(pop3L); done <- struct{}{} }()
	t.Cleanup(func() {
		imapSrv.Close()
		pop3Srv.Close()
		<-done
		<-done
		st.Close()
	})
	return endpoint{name: "letterbox", imap: imapL.Addr().String(), pop3: pop3L.Addr().String()}
}
