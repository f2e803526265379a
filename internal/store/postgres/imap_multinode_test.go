package postgres

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/auth"
	"github.com/letterbox/letterbox/internal/imapserver"
	"github.com/letterbox/letterbox/internal/store"
)

// TestIMAPIdleAcrossNodes is the multi-node promise end to end: an IMAP
// session in IDLE on node B hears about a message delivered through node
// A, and a flag change made through A, with nothing but the database in
// common (RFC 2177 IDLE, RFC 3501 §7.3.1 EXISTS, §7.4.2 FETCH).
func TestIMAPIdleAcrossNodes(t *testing.T) {
	a, conn, r := imapOnNodeB(t)
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	// expect reads lines until one starts with prefix.
	expect := func(prefix string) string {
		t.Helper()
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("waiting for %q: %v", prefix, err)
			}
			if strings.HasPrefix(line, prefix) {
				return line
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

	res, err := a.Deliver(ctx, strings.NewReader("Subject: from A\r\n\r\nhello B\r\n"), []store.Target{{Account: "alice@example.com"}})
	if err != nil || res[0].Err != nil {
		t.Fatal(err, res)
	}
	expect("* 1 EXISTS")

	mbs, _ := a.Mailboxes(ctx, "alice@example.com")
	inbox, _ := mbs.Open(ctx, "INBOX")
	if _, err := inbox.StoreFlags(ctx, []store.UID{res[0].UID}, store.FlagsAdd, []string{store.FlagFlagged}, 0); err != nil {
		t.Fatal(err)
	}
	if line := expect("* 1 FETCH"); !strings.Contains(line, `\Flagged`) {
		t.Errorf("FETCH after the flag change on A: %q", line)
	}
	send("DONE")
	expect("c OK")
	send("d LOGOUT")
	expect("d OK")
}

// TestIMAPNotifyAcrossNodes: a NOTIFY session on node B hears, with no
// command sent, about a delivery to another mailbox, a new mailbox and a
// subscription made through node A (RFC 5465 §5.2, §5.4, §5.5): every
// change kind crosses nodes in the NOTIFY payload.
func TestIMAPNotifyAcrossNodes(t *testing.T) {
	a, conn, r := imapOnNodeB(t)
	next := func(want string) {
		t.Helper()
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("waiting for %q: %v", want, err)
		}
		if !strings.HasPrefix(line, want) {
			t.Fatalf("got %q, want %q", line, want)
		}
	}
	send := func(s string) {
		t.Helper()
		if _, err := conn.Write([]byte(s + "\r\n")); err != nil {
			t.Fatal(err)
		}
	}
	next("* OK")
	send("a LOGIN alice@example.com secret")
	next("a OK")
	send("b NOTIFY SET (personal (MessageNew MessageExpunge MailboxName SubscriptionChange))")
	next("b OK")

	mbs, err := a.Mailboxes(ctx, "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mbs.Create(ctx, "Lists", ""); err != nil {
		t.Fatal(err)
	}
	next(`* LIST (\HasNoChildren) "/" "Lists"`)
	res, err := a.Deliver(ctx, strings.NewReader("Subject: from A\r\n\r\nhello B\r\n"), []store.Target{{Account: "alice@example.com", Mailbox: "Lists"}})
	if err != nil || res[0].Err != nil {
		t.Fatal(err, res)
	}
	next(`* STATUS "Lists" (MESSAGES 1 UIDNEXT 2 UIDVALIDITY `)
	if err := mbs.SetSubscribed(ctx, "Lists", true); err != nil {
		t.Fatal(err)
	}
	next(`* LIST (\HasNoChildren \Subscribed) "/" "Lists"`)
	send("c LOGOUT")
	next("* BYE")
}

// imapOnNodeB is two nodes on one fresh database: a store for node A, and
// an IMAP server on node B with a connection to it (greeting unread).
// Both stores know alice@example.com, password "secret".
func imapOnNodeB(t *testing.T) (a *Store, conn net.Conn, r *bufio.Reader) {
	t.Helper()
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
	t.Cleanup(func() { srv.Close() })
	conn, err = net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return a, conn, bufio.NewReader(conn)
}

// TestIMAPSharedMailboxAcrossNodes: bob's session on node B has alice's
// mailbox selected through the shared namespace (RFC 4314 ACL set on node
// A); a delivery into it through node A reaches bob's IDLE, so the owner's
// change feed crosses nodes for another account's session too.
func TestIMAPSharedMailboxAcrossNodes(t *testing.T) {
	a, conn, r := imapOnNodeB(t)
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	expect := func(prefix string) string {
		t.Helper()
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("waiting for %q: %v", prefix, err)
			}
			if strings.HasPrefix(line, prefix) {
				return line
			}
		}
	}
	send := func(s string) {
		t.Helper()
		if _, err := conn.Write([]byte(s + "\r\n")); err != nil {
			t.Fatal(err)
		}
	}
	hash, err := auth.HashPassword("secret", auth.TestParams)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.CreateAccount(ctx, "bob@example.com", hash); err != nil {
		t.Fatal(err)
	}
	alice, _ := a.Mailboxes(ctx, "alice@example.com")
	if _, err := alice.Create(ctx, "Team", ""); err != nil {
		t.Fatal(err)
	}
	rights, _ := store.ParseRights("lrswite")
	if err := a.SetACL(ctx, "alice@example.com", "Team", "bob@example.com", rights); err != nil {
		t.Fatal(err)
	}
	expect("* OK")
	send("a LOGIN bob@example.com secret")
	expect("a OK")
	send(`b LIST "" "shared/*"`)
	if line := expect("* LIST (\\HasNoChildren)"); !strings.Contains(line, "shared/alice@example.com/Team") {
		t.Fatalf("LIST on node B: %q", line)
	}
	expect("b OK")
	send("c SELECT shared/alice@example.com/Team")
	expect("c OK [READ-WRITE]")
	send("d IDLE")
	expect("+ ")
	res, err := a.Deliver(ctx, strings.NewReader("Subject: from A\r\n\r\nfor the team\r\n"), []store.Target{{Account: "alice@example.com", Mailbox: "Team"}})
	if err != nil || res[0].Err != nil {
		t.Fatal(err, res)
	}
	expect("* 1 EXISTS")
	send("DONE")
	expect("d OK")
	send("e LOGOUT")
	expect("e OK")
}
