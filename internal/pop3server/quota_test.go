package pop3server

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/letterbox/letterbox/internal/store"
)

// TestOverQuotaMailboxStillServed: POP3 only reads and deletes, so an
// account over its quota (a limit lowered under its usage) is served as
// usual, and DELE+QUIT frees its room at once (RFC 9208 counts live
// messages only).
func TestOverQuotaMailboxStillServed(t *testing.T) {
	e := envWithMail(t)
	q := e.store.(store.Quotas)
	ctx := context.Background()
	if err := q.SetQuota(ctx, alice, 1, 1); err != nil {
		t.Fatal(err)
	}
	res, err := e.store.Deliver(ctx, strings.NewReader(msg2), []store.Target{{Account: alice}})
	if err != nil || res[0].Err != store.ErrOverQuota {
		t.Fatalf("delivery to a full account: %v %+v", err, res)
	}
	c := e.dial()
	c.login(alice, alicePass)
	c.transcript(fmt.Sprintf(`
		C: STAT
		S: +OK 3 %d
		C: RETR 2
		S: +OK %d octets
		S: Subject: two
		S: 
		S: body of two
		S: .
		C: DELE 1
		S: +OK message 1 deleted
		C: DELE 3
		S: +OK message 3 deleted
		C: QUIT
		S: +OK letterbox POP3 server signing off (1 messages left)
		S: <closed>`, len(msg1)+len(msg2)+len(msg3), len(msg2)))
	got, err := q.Quota(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	if got.Messages.Used != 1 || got.Storage.Used != int64(len(msg2)) {
		t.Fatalf("usage after DELE+QUIT: %+v, want 1 message of %d octets", got, len(msg2))
	}
}
