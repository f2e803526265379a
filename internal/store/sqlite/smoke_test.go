package sqlite

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/letterbox/letterbox/internal/store"
)

func openTest(t testing.TB) *Store {
	t.Helper()
	s, err := Open(Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestSmokeDeliverAndRead(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	if _, err := s.CreateAccount(ctx, "Alice@Example.com", "hash"); err != nil {
		t.Fatal(err)
	}
	w := s.Watch("alice@example.com")
	defer w.Close()
	res, err := s.Deliver(ctx, strings.NewReader("Subject: hi\n\nbody\n"), []store.Target{
		{Account: "alice@example.com"}, {Account: "nobody@example.com"}, {Account: "alice@example.com", Mailbox: "Nope"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Err != nil || res[0].UID != 1 {
		t.Fatalf("res[0] = %+v", res[0])
	}
	if res[1].Err != store.ErrNoSuchAccount || res[2].Err != store.ErrNoSuchMailbox {
		t.Fatalf("res = %+v", res)
	}
	mbs, err := s.Mailboxes(ctx, "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	mb, err := mbs.Open(ctx, "inbox")
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := mb.Messages(ctx)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("msgs %v %v", msgs, err)
	}
	b, err := s.OpenBlob(ctx, msgs[0].BlobID)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(b)
	b.Close()
	if string(data) != "Subject: hi\r\n\r\nbody\r\n" || b.Size() != int64(len(data)) || msgs[0].Size != int64(len(data)) {
		t.Fatalf("body %q size %d", data, msgs[0].Size)
	}
	r, err := mb.StoreFlags(ctx, []store.UID{1}, store.FlagsAdd, []string{`\seen`, "$Label"}, 0)
	if err != nil || len(r.Updated) != 1 || strings.Join(r.Updated[0].Flags, " ") != `$Label \Seen` {
		t.Fatalf("store %+v %v", r, err)
	}
	c := <-w.C()
	if c.Kind != store.MailboxChanged || c.ModSeq != 2 {
		t.Fatalf("change %+v", c)
	}
	gone, err := mb.Expunge(ctx, []store.UID{1, 7})
	if err != nil || len(gone) != 1 {
		t.Fatalf("expunge %v %v", gone, err)
	}
	ch, err := mb.Changes(ctx, 1)
	if err != nil || len(ch.Expunged) != 1 || ch.HighestModSeq != 4 {
		t.Fatalf("changes %+v %v", ch, err)
	}
}
