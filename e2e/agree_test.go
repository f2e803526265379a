//go:build e2e

package e2e

import (
	"maps"
	"slices"
	"testing"

	"github.com/emersion/go-imap/v2"
)

// TestPOP3AndIMAPAgree: one store behind both protocols. IMAP flag changes
// leave POP3 UIDLs alone; POP3 DELE+QUIT expunges in IMAP; a POP3 session
// that drops without QUIT deletes nothing.
func TestPOP3AndIMAPAgree(t *testing.T) {
	s := startWithUsers(t)
	s.sendN(t, alice, "agree", 4)

	p := s.dialPOP3S(t, alice, alicePass)
	before := p.uidl()
	p.quit()
	if len(before) != 4 {
		t.Fatalf("UIDL lists %d messages, want 4: %v", len(before), before)
	}

	c := s.dialIMAPS(t, alice, alicePass)
	msgs := fetchAll(t, c, "INBOX") // BODY.PEEK: no \Seen yet
	if len(msgs) != 4 {
		t.Fatalf("IMAP sees %d messages, want 4", len(msgs))
	}
	if err := c.Store(imap.SeqSetNum(1, 2), &imap.StoreFlags{
		Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagSeen, imap.FlagFlagged, "$Label1"}, Silent: true,
	}, nil).Close(); err != nil {
		t.Fatalf("STORE: %v", err)
	}

	p = s.dialPOP3S(t, alice, alicePass)
	after := p.uidl()
	if !maps.Equal(before, after) {
		t.Errorf("IMAP flags changed POP3 UIDLs: before %v after %v", before, after)
	}
	// Dropped connection: DELE without QUIT deletes nothing (RFC 1939 §6).
	p.cmd("DELE 1")
	p.conn.Close()

	p = s.dialPOP3S(t, alice, alicePass)
	if n := p.stat(); n != 4 {
		t.Fatalf("after DELE without QUIT, STAT says %d messages, want 4", n)
	}
	p.cmd("DELE 3")
	p.quit()

	// The selected IMAP session learns about the expunge at its next
	// command; a fresh one just does not see the message.
	if err := c.Noop().Wait(); err != nil {
		t.Fatalf("NOOP: %v", err)
	}
	if n := c.Mailbox().NumMessages; n != 3 {
		t.Errorf("selected IMAP session: %d messages after POP3 DELE+QUIT, want 3", n)
	}
	c2 := s.dialIMAPS(t, alice, alicePass)
	got := fetchAll(t, c2, "INBOX")
	var subjects []string
	for _, m := range got {
		subjects = append(subjects, m.subj)
	}
	want := []string{"agree 1", "agree 2", "agree 4"}
	if !slices.Equal(subjects, want) {
		t.Errorf("IMAP after POP3 DELE 3 + QUIT: %q, want %q", subjects, want)
	}
	if !slices.Contains(got[0].flags, imap.FlagFlagged) || !slices.Contains(got[0].flags, "$Label1") {
		t.Errorf("message 1 flags %v lost the IMAP flags", got[0].flags)
	}

	// IMAP expunge reaches POP3; surviving UIDLs are unchanged.
	if err := c2.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}, Silent: true}, nil).Close(); err != nil {
		t.Fatalf("STORE \\Deleted: %v", err)
	}
	if err := c2.Expunge().Close(); err != nil {
		t.Fatalf("EXPUNGE: %v", err)
	}
	p = s.dialPOP3S(t, alice, alicePass)
	final := p.uidl()
	p.quit()
	wantU := map[int]string{1: before[2], 2: before[4]}
	if !maps.Equal(final, wantU) {
		t.Errorf("UIDL after IMAP expunge = %v, want %v", final, wantU)
	}
}
