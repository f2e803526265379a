package pop3server

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/letterbox/letterbox/internal/store"
)

// TestSharedMailboxesStayOutOfPOP3: POP3 only ever shows the user's own
// INBOX (RFC 1939 has one maildrop): alice's INBOX and another of her
// mailboxes shared with bob (RFC 4314 ACL, through the store) do not
// appear in bob's maildrop, and his DELE+QUIT touches only his own mail.
func TestSharedMailboxesStayOutOfPOP3(t *testing.T) {
	e := newEnv(t)
	acls, ok := e.store.(store.ACLs)
	if !ok {
		t.Fatal("the test store keeps no ACLs")
	}
	ctx := context.Background()
	boxes, err := e.store.Mailboxes(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := boxes.Create(ctx, "Team", ""); err != nil {
		t.Fatal(err)
	}
	all, _ := store.ParseRights("lrswipkxtea")
	for _, mb := range []string{"INBOX", "Team"} {
		if err := acls.SetACL(ctx, alice, mb, bob, all); err != nil {
			t.Fatal(err)
		}
		if err := acls.SetACL(ctx, alice, mb, store.AnyoneIdentifier, all); err != nil {
			t.Fatal(err)
		}
	}
	e.deliver(alice, "Subject: alice's\r\n\r\nnot bob's\r\n")
	if res, err := e.store.Deliver(ctx, strings.NewReader("Subject: team\r\n\r\nteam\r\n"), []store.Target{{Account: alice, Mailbox: "Team"}}); err != nil || res[0].Err != nil {
		t.Fatal(err, res)
	}
	bobs := "Subject: bob's\r\n\r\nmine\r\n"
	e.deliver(bob, bobs)
	c := e.dial()
	c.login(bob, bobPass)
	c.transcript(fmt.Sprintf(`
		C: STAT
		S: +OK 1 %d
		C: DELE 1
		S: +OK message 1 deleted
		C: QUIT
		S: +OK letterbox POP3 server signing off (0 messages left)`, len(bobs)))
	if got := e.inbox(alice); len(got) != 1 {
		t.Errorf("alice's INBOX after bob's POP3 session: %v, want her one message", got)
	}
	if got := e.inbox(bob); len(got) != 0 {
		t.Errorf("bob's INBOX after DELE+QUIT: %v, want empty", got)
	}
}
