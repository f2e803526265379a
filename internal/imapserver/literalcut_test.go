package imapserver_test

import (
	"bufio"
	"context"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/auth"
	"github.com/letterbox/letterbox/internal/imapserver"
	"github.com/letterbox/letterbox/internal/store"
	"github.com/letterbox/letterbox/internal/store/sqlite"
)

// fetchLostContent delivers a message, cuts its stored body file to
// keep octets, and returns what a FETCH of item sends before the server
// closes the connection (or until the tagged response).
func fetchLostContent(t *testing.T, item string, keep int64) string {
	dir := t.TempDir()
	st, err := sqlite.Open(sqlite.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	hash, err := auth.HashPassword(testPass, auth.TestParams)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := st.CreateAccount(ctx, testUser, hash); err != nil {
		t.Fatal(err)
	}
	body := strings.Repeat("a line of the body that will be lost\r\n", 2000)
	msg := "Subject: lost\r\n\r\n" + body
	if _, err := st.Deliver(ctx, strings.NewReader(msg), []store.Target{{Account: testUser}}); err != nil {
		t.Fatal(err)
	}
	// The body file is the one regular file of the message's size.
	var blob string
	filepath.WalkDir(filepath.Join(dir, "blobs"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil && fi.Size() == int64(len(msg)) {
				blob = p
			}
		}
		return nil
	})
	if blob == "" {
		t.Fatal("body file not found")
	}
	if err := os.Truncate(blob, keep); err != nil {
		t.Fatal(err)
	}
	srv := imapserver.New(imapserver.Options{
		Store: st,
		Auth:  auth.New(st, auth.Options{Params: auth.TestParams, FailureDelay: time.Millisecond}),
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	defer srv.Close()
	nc, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(nc)
	until := func(prefix string) {
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("waiting for %q: %v", prefix, err)
			}
			if strings.HasPrefix(line, prefix) {
				return
			}
		}
	}
	until("* OK")
	io.WriteString(nc, "l LOGIN \""+testUser+"\" \""+testPass+"\"\r\ns SELECT INBOX\r\n")
	until("l OK")
	until("s OK")
	io.WriteString(nc, "f FETCH 1 "+item+"\r\nn NOOP\r\nz LOGOUT\r\n")
	got, _ := io.ReadAll(br)
	return string(got)
}

// Content lost under a message (its body file cut short) is never sent
// padded or truncated with a tagged OK after it: the server says BYE and
// closes. Here the loss is seen before the literal starts (the file is
// shorter than the part's range), so the FETCH response is taken back.
func TestFetchOfLostContentSaysBye(t *testing.T) {
	got := fetchLostContent(t, "BODY.PEEK[TEXT]", 1000)
	if got != "* BYE Internal error reading a message, closing connection\r\n" {
		t.Fatalf("got %.200q", got)
	}
}
