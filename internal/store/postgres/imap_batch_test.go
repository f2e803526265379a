package postgres

import (
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/store"
)

// TestIMAPMultiAppendAcrossNodes: batches appended through node A (the
// store's AppendBatch, what MULTIAPPEND uses), one of them failing, reach
// an IMAP session in IDLE on node B only whole: every EXISTS it hears is
// a multiple of the batch size (RFC 3502 §3).
func TestIMAPMultiAppendAcrossNodes(t *testing.T) {
	const batches, size = 6, 3
	a, conn, r := imapOnNodeB(t)
	conn.SetDeadline(time.Now().Add(20 * time.Second))
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
