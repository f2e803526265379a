package postgres

import (
	"bufio"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/auth"
	"github.com/letterbox/letterbox/internal/imapserver"
	"github.com/letterbox/letterbox/internal/store"
)

// TestIMAPMultiAppendAcrossNodes: batches appended through node A (the
// store's AppendBatch, what MULTIAPPEND uses), one of them failing, reach
// an IMAP session in IDLE on node B only whole: every EXISTS it hears is
// a multiple of the batch size (RFC 3502 §3).
func TestIMAPMultiAppendAcrossNodes(t *testing.T) {
	const batches, size = 6, 3
	dsn := freshSchema(t)
	a, b := openStore(t, dsn), openStore(t, dsn)
	hash, err := auth.HashPassword("secret", auth.TestParams)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.CreateAccount(ctx, "alice@example.com", hash); err != nil {
		t.Fatal(err)
	}
	srv := imapserver.New(imapserver.Options{Store: b, Auth: auth.New(b, auth.Options{Params: auth.TestParams}), Hostname: "node-b"})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	defer srv.Close()
	conn, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(conn)
	var exists []int
	expect := func(prefix string) {
		t.Helper()
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("waiting for %q: %v", prefix, err)
			}
			if f := strings.Fields(line); len(f) == 3 && f[0] == "*" && f[2] == "EXISTS" {
				n, _ := strconv.Atoi(f[1])
				exists = append(exists, n)
			}
			if strings.HasPrefix(line, prefix) {
				return
			}
		}
	}
	send := func(s string) {
		t.Helper()
		if _, err := conn.Write([]byte(s + "\r\n")); err != nil {
			t.Fatal(err)
		}
	}
	expect("* OK")
	send("a LOGIN alice@example.com secret")
	expect("a OK")
	send("b SELECT INBOX")
	expect("b OK")
	send("c IDLE")
	expect("+ ")
	want := 0
	for i := 0; i < batches; i++ {
		msgs := make([]store.BatchMessage, size)
		for j := range msgs {
			msgs[j] = store.BatchMessage{Body: strings.NewReader("Subject: " + strconv.Itoa(i*size+j) + "\r\n\r\nx\r\n")}
		}
		if i == 2 {
			msgs[size-1].Body = failingReader{}
			if _, err := a.AppendBatch(ctx, "alice@example.com", "INBOX", msgs); err == nil {
				t.Fatal("batch with an unreadable body succeeded")
			}
			continue
		}
		if _, err := a.AppendBatch(ctx, "alice@example.com", "INBOX", msgs); err != nil {
			t.Fatal(err)
		}
		want += size
	}
	expect("* " + strconv.Itoa(want) + " EXISTS")
	send("DONE")
	expect("c OK")
	for _, n := range exists {
		if n%size != 0 {
			t.Errorf("IDLE on node B heard EXISTS %d: a part of a batch (all: %v)", n, exists)
		}
	}
	send("d LOGOUT")
	expect("d OK")
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, net.ErrClosed }
