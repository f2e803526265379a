package imapserver_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/auth"
	"github.com/letterbox/letterbox/internal/store"
)

const (
	bobUser  = "bob@example.com"
	sharedTo = "shared/" + testUser + "/" // how bob names alice's mailboxes
)

// addUser makes another account with the test password.
func (h *harness) addUser(name string) {
	h.t.Helper()
	hash, err := auth.HashPassword(testPass, auth.TestParams)
	if err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.st.CreateAccount(context.Background(), name, hash); err != nil {
		h.t.Fatal(err)
	}
}

// loginAs dials and logs in as user.
func (h *harness) loginAs(user string) *tconn {
	c := h.dial()
	c.run(`
C: l0 LOGIN "` + user + `" "` + testPass + `"
S~ l0 OK .*`)
	return c
}

// setACL sets an entry through the store, as alice's SETACL would.
func (h *harness) setACL(mailbox, id, rights string) {
	h.t.Helper()
	r, err := store.ParseRights(rights)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := h.st.SetACL(context.Background(), testUser, mailbox, id, r); err != nil {
		h.t.Fatal(err)
	}
}

// until reads lines up to the tagged response and returns them all.
func (c *tconn) until(tag string) []string {
	c.t.Helper()
	var out []string
	for {
		l := c.readLine()
		out = append(out, l)
		if strings.HasPrefix(l, tag+" ") {
			return out
		}
	}
}

// cmd sends a command and returns its responses; the last is the tagged one.
func (c *tconn) cmd(tag, line string) []string {
	c.t.Helper()
	c.send(tag + " " + line)
	return c.until(tag)
}

func TestACLCommands(t *testing.T) {
	h := newHarness(t)
	h.addUser(bobUser)
	h.addUser("carol@example.com")
	c := h.login()
	c.run(`
C: a1 CREATE Team
S~ a1 OK \[MAILBOXID \(F\d+\)\] CREATE completed
C: a2 GETACL Team
S: * ACL "Team" alice@example.com lrwstipekxacd
S: a2 OK GETACL completed
C: a3 MYRIGHTS Team
S: * MYRIGHTS "Team" lrwstipekxacd
S: a3 OK MYRIGHTS completed
C: a4 LISTRIGHTS Team bob@example.com
S: * LISTRIGHTS "Team" bob@example.com "" l r w s t p i e k x a c d
S: a4 OK LISTRIGHTS completed
C: a5 SETACL Team bob@example.com lr
S: a5 OK SETACL completed
C: a6 GETACL Team
S: * ACL "Team" bob@example.com lr alice@example.com lrwstipekxacd
S: a6 OK GETACL completed
C: a7 SETACL Team Bob@Example.com +cd
S: a7 OK SETACL completed
C: a8 GETACL Team
S: * ACL "Team" bob@example.com lrtekxcd alice@example.com lrwstipekxacd
S: a8 OK GETACL completed
C: a9 SETACL Team bob@example.com -d
S: a9 OK SETACL completed
C: a10 GETACL Team
S: * ACL "Team" bob@example.com lrkxc alice@example.com lrwstipekxacd
S: a10 OK GETACL completed
C: a11 SETACL Team bob@example.com lrZ
S: a11 BAD Invalid ACL right: Z
C: a12 SETACL Team -bob@example.com w
S: a12 OK SETACL completed
C: a13 SETACL Team anyone l
S: a13 OK SETACL completed
C: a14 SETACL Team carol@example.com l
S: a14 OK SETACL completed
C: a14b SETACL Team carol@example.com ""
S: a14b OK SETACL completed
C: a14c SETACL Team dave@example.com ""
S: a14c OK SETACL completed
C: a15 GETACL Team
S: * ACL "Team" -bob@example.com w anyone l bob@example.com lrkxc carol@example.com "" alice@example.com lrwstipekxacd
S: a15 OK GETACL completed
C: a16 DELETEACL Team -bob@example.com
S: a16 OK DELETEACL completed
C: a17 DELETEACL Team anyone
S: a17 OK DELETEACL completed
C: a18 DELETEACL Team nobody@example.com
S: a18 OK DELETEACL completed
C: a19 SETACL Team alice@example.com lr
S: a19 NO [CANNOT] The owner's rights cannot be changed
C: a20 SETACL Team nobody@example.com lr
S: a20 NO [CANNOT] Unknown identifier
C: a21 SETACL Nope bob@example.com lr
S: a21 NO [NONEXISTENT] No such mailbox
C: a22 GETACL Nope
S: a22 NO [NONEXISTENT] No such mailbox
C: a23 LISTRIGHTS Team alice@example.com
S: * LISTRIGHTS "Team" alice@example.com lrwstipekxacd
S: a23 OK LISTRIGHTS completed
C: a24 SETACL Team
S~ a24 BAD .*
C: a25 GETACL Team
S: * ACL "Team" bob@example.com lrkxc carol@example.com "" alice@example.com lrwstipekxacd
S: a25 OK GETACL completed
C: a26 SETACL Team "" lr
S: a26 BAD Empty identifier
`)
}

// TestACLRightsLetters: RIGHTS=texk (RFC 4314 §2.1.1): t, e, x and k are
// rights of their own; the obsolete c and d stand for k+x and t+e on
// input, and are written after whichever of those is held (as Dovecot).
func TestACLRightsLetters(t *testing.T) {
	h := newHarness(t)
	h.addUser(bobUser)
	c := h.login()
	c.run(`
C: a1 CREATE Team
S~ a1 OK \[MAILBOXID \(F\d+\)\] CREATE completed
`)
	for i, tc := range []struct{ set, get string }{
		{"x", "xc"}, {"k", "kc"}, {"t", "td"}, {"e", "ed"}, {"te", "ted"},
		{"c", "kxc"}, {"d", "ted"}, {"lrswipkxtea", "lrwstipekxacd"}, {"lrl", "lr"}, {"", `""`},
	} {
		tag := fmt.Sprintf("b%d", i)
		c.run(`
C: ` + tag + ` SETACL Team bob@example.com "` + tc.set + `"
S: ` + tag + ` OK SETACL completed
C: ` + tag + `g GETACL Team
S: * ACL "Team" bob@example.com ` + tc.get + ` alice@example.com lrwstipekxacd
S: ` + tag + `g OK GETACL completed
`)
	}
}

// TestSharedNamespace: bob sees the mailbox alice shared with him under
// "shared/alice@example.com/", as Dovecot's shared namespace shows it.
func TestSharedNamespace(t *testing.T) {
	h := newHarness(t)
	h.addUser(bobUser)
	a := h.login()
	a.run(`
C: a1 CREATE Team/Sub
S~ a1 OK \[MAILBOXID \(F\d+\)\] CREATE completed
C: a2 SETACL Team bob@example.com lr
S: a2 OK SETACL completed
C: a3 SETACL Team/Sub bob@example.com r
S: a3 OK SETACL completed
`)
	h.deliver("Team", "Subject: shared\r\n\r\nhello\r\n")
	b := h.loginAs(bobUser)
	b.run(`
C: b1 NAMESPACE
S: * NAMESPACE (("" "/")) (("shared/" "/")) NIL
S: b1 OK NAMESPACE completed
C: b2 LIST "" "shared/*"
S: * LIST (\Noselect \HasChildren) "/" "shared/alice@example.com"
S: * LIST (\HasNoChildren) "/" "shared/alice@example.com/Team"
S: b2 OK LIST completed
C: b3 LIST "" "%"
S: * LIST (\HasNoChildren) "/" "INBOX"
S: * LIST (\HasNoChildren \Archive) "/" "Archive"
S: * LIST (\HasNoChildren \Drafts) "/" "Drafts"
S: * LIST (\HasNoChildren \Junk) "/" "Junk"
S: * LIST (\HasNoChildren \Sent) "/" "Sent"
S: * LIST (\HasNoChildren \Trash) "/" "Trash"
S: * LIST (\Noselect \HasChildren) "/" "shared"
S: b3 OK LIST completed
C: b4 MYRIGHTS shared/alice@example.com/Team
S: * MYRIGHTS "shared/alice@example.com/Team" lr
S: b4 OK MYRIGHTS completed
C: b5 MYRIGHTS shared/alice@example.com/Team/Sub
S: * MYRIGHTS "shared/alice@example.com/Team/Sub" r
S: b5 OK MYRIGHTS completed
C: b6 STATUS shared/alice@example.com/Team (MESSAGES UNSEEN)
S: * STATUS "shared/alice@example.com/Team" (MESSAGES 1 UNSEEN 1)
S: b6 OK STATUS completed
C: b7 GETACL shared/alice@example.com/Team
S: b7 NO [NOPERM] Permission denied
C: b8 MYRIGHTS shared/alice@example.com/Nope
S: b8 NO [NONEXISTENT] No such mailbox
C: b9 MYRIGHTS shared/alice@example.com/INBOX
S: b9 NO [NONEXISTENT] No such mailbox
C: b10 MYRIGHTS shared/nobody@example.com/INBOX
S: b10 NO [NONEXISTENT] No such mailbox
C: b11 MYRIGHTS shared/alice@example.com
S: b11 NO [NONEXISTENT] No such mailbox
C: b12 CREATE shared/foo
S: b12 NO [CANNOT] The shared namespace holds other users' mailboxes only
C: b13 CREATE shared/alice@example.com/Team/New
S: b13 NO [NOPERM] Permission denied
C: b14 SELECT shared/alice@example.com/Team
S: * FLAGS (\Answered \Flagged \Deleted \Seen \Draft)
S: * OK [PERMANENTFLAGS ()] Read-only mailbox
S: * 1 EXISTS
S: * 1 RECENT
S: * OK [UNSEEN 1] First unseen
S~ \* OK \[UIDVALIDITY \d+\] UIDs valid
S: * OK [UIDNEXT 2] Predicted next UID
S~ \* OK \[HIGHESTMODSEQ \d+\] Highest
S: b14 OK [READ-ONLY] SELECT completed
C: b15 FETCH 1 (FLAGS BODY[])
S: * 1 FETCH (FLAGS (\Recent) BODY[] {26}
S: Subject: shared
S: 
S: hello
S: )
S: b15 OK FETCH completed
C: b16 STORE 1 +FLAGS (\Deleted)
S: b16 OK STORE completed
C: b17 EXPUNGE
S: b17 NO [NOPERM] Permission denied
C: b18 COPY 1 INBOX
S~ b18 OK \[COPYUID \d+ 1 1\] COPY completed
C: b19 MOVE 1 INBOX
S: b19 NO [NOPERM] Permission denied
C: b20 APPEND shared/alice@example.com/Team {5+}
C: hello
S: b20 NO [NOPERM] Permission denied
C: b21 LIST "" "*" RETURN (MYRIGHTS)
S: * LIST (\HasNoChildren \Marked) "/" "INBOX"
S: * MYRIGHTS "INBOX" lrwstipekxacd
S: * LIST (\HasNoChildren) "/" "Archive"
S: * MYRIGHTS "Archive" lrwstipekxacd
S: * LIST (\HasNoChildren) "/" "Drafts"
S: * MYRIGHTS "Drafts" lrwstipekxacd
S: * LIST (\HasNoChildren) "/" "Junk"
S: * MYRIGHTS "Junk" lrwstipekxacd
S: * LIST (\HasNoChildren) "/" "Sent"
S: * MYRIGHTS "Sent" lrwstipekxacd
S: * LIST (\HasNoChildren) "/" "Trash"
S: * MYRIGHTS "Trash" lrwstipekxacd
S: * LIST (\NonExistent \Noselect \HasChildren) "/" "shared"
S: * LIST (\NonExistent \Noselect \HasChildren) "/" "shared/alice@example.com"
S: * LIST (\HasNoChildren) "/" "shared/alice@example.com/Team"
S: * MYRIGHTS "shared/alice@example.com/Team" lr
S: b21 OK LIST completed
C: b22 SUBSCRIBE shared/alice@example.com/Team
S: b22 OK SUBSCRIBE completed
C: b23 LSUB "" "shared/*"
S: * LSUB () "/" "shared/alice@example.com/Team"
S: b23 OK LSUB completed
`)
	// The copy went into bob's own INBOX, counted against bob.
	if got := h.mailboxBodies(bobUser, "INBOX"); len(got) != 1 {
		t.Fatalf("bob's INBOX holds %d messages after COPY, want 1", len(got))
	}
}

// TestListMyRights: LIST-MYRIGHTS (RFC 8440): the owner's rights on its
// own mailboxes, the granted ones on others'.
func TestListMyRights(t *testing.T) {
	h := newHarness(t)
	h.addUser(bobUser)
	h.setACL("Sent", bobUser, "lrs")
	c := h.loginAs(bobUser)
	c.run(`
C: a1 LIST "" "*Sent" RETURN (MYRIGHTS STATUS (MESSAGES))
S: * LIST (\HasNoChildren) "/" "Sent"
S: * STATUS "Sent" (MESSAGES 0)
S: * MYRIGHTS "Sent" lrwstipekxacd
S: * LIST (\HasNoChildren) "/" "shared/alice@example.com/Sent"
S: * STATUS "shared/alice@example.com/Sent" (MESSAGES 0)
S: * MYRIGHTS "shared/alice@example.com/Sent" lrs
S: a1 OK LIST completed
`)
}

// aclFixture: alice has Top and Top/Box (one message, no flags); bob has
// rights on both and a message in his own INBOX.
func aclFixture(t *testing.T, rights string) (*harness, *tconn) {
	h := newHarness(t)
	h.addUser(bobUser)
	h.addUser("carol@example.com")
	ctx := context.Background()
	boxes, err := h.st.Mailboxes(ctx, testUser)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := boxes.Create(ctx, "Top/Box", ""); err != nil {
		t.Fatal(err)
	}
	h.deliver("Top/Box", "Subject: one\r\n\r\nbody\r\n")
	if rights != "" {
		h.setACL("Top", bobUser, rights)
		h.setACL("Top/Box", bobUser, rights)
	}
	res, err := h.st.Deliver(ctx, strings.NewReader("Subject: bobs\r\n\r\nmine\r\n"), []store.Target{{Account: bobUser}})
	if err != nil || res[0].Err != nil {
		t.Fatal(err, res)
	}
	return h, h.loginAs(bobUser)
}

// aliceState is a fingerprint of everything of alice's bob could change:
// mailbox names, each one's messages, flags, UIDNEXT and HIGHESTMODSEQ,
// and their ACLs.
func aliceState(t *testing.T, h *harness) string {
	t.Helper()
	ctx := context.Background()
	boxes, err := h.st.Mailboxes(ctx, testUser)
	if err != nil {
		t.Fatal(err)
	}
	list, err := boxes.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, mi := range list {
		mb, err := boxes.Open(ctx, mi.Name)
		if err != nil {
			t.Fatal(err)
		}
		msgs, err := mb.Messages(ctx)
		if err != nil {
			t.Fatal(err)
		}
		acl, err := h.st.ACL(ctx, testUser, mi.Name)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s next=%d hms=%d acl=%v:", mi.Name, mi.UIDNext, mi.HighestModSeq, acl)
		for _, m := range msgs {
			fmt.Fprintf(&b, " %d%v", m.UID, m.Flags)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// aclCommand is one command bob tries on alice's Top/Box.
type aclCommand struct {
	name  string
	needs string // the rights it needs on Top/Box (and Top for RENAME)
	// sel: bob first selects Top/Box (which needs r, given with the
	// right); own: he selects his own INBOX.
	sel, own bool
	cmd      string // %s is the mailbox's name in bob's namespace
	ok       string // the tagged answer with the rights (regexp)
	// denied is the tagged answer with every right but the needed one
	// (regexp); "" means NO [NOPERM].
	denied string
	// none is the tagged answer without any right (regexp); "" means
	// NO [NONEXISTENT].
	none string
	// reads: the command changes nothing even when allowed.
	reads bool
}

var aclCommands = []aclCommand{
	{name: "SELECT", needs: "r", cmd: "SELECT %s", ok: `OK \[READ-ONLY\] SELECT completed`, reads: true},
	{name: "EXAMINE", needs: "r", cmd: "EXAMINE %s", ok: `OK \[READ-ONLY\] EXAMINE completed`, reads: true},
	{name: "STATUS", needs: "r", cmd: "STATUS %s (MESSAGES)", ok: `OK STATUS completed`, reads: true},
	{name: "STORE \\Seen", needs: "s", sel: true, cmd: `STORE 1 +FLAGS (\Seen)`, ok: `OK STORE completed`, denied: `OK STORE completed`},
	{name: "STORE \\Deleted", needs: "t", sel: true, cmd: `STORE 1 +FLAGS (\Deleted)`, ok: `OK STORE completed`, denied: `OK STORE completed`},
	{name: "STORE keyword", needs: "w", sel: true, cmd: `STORE 1 +FLAGS ($Label1 \Flagged)`, ok: `OK STORE completed`, denied: `OK STORE completed`},
	{name: "STORE FLAGS", needs: "w", sel: true, cmd: `STORE 1 FLAGS ($Label1)`, ok: `OK STORE completed`, denied: `OK STORE completed`},
	{name: "UID STORE", needs: "s", sel: true, cmd: `UID STORE 1 +FLAGS.SILENT (\Seen)`, ok: `OK UID STORE completed`, denied: `OK UID STORE completed`},
	{name: "EXPUNGE", needs: "te", sel: true, cmd: "EXPUNGE", ok: `OK EXPUNGE completed`},
	{name: "UID EXPUNGE", needs: "te", sel: true, cmd: "UID EXPUNGE 1", ok: `OK UID EXPUNGE completed`},
	{name: "MOVE out", needs: "te", sel: true, cmd: "MOVE 1 INBOX", ok: `OK MOVE completed`},
	{name: "APPEND", needs: "i", cmd: "APPEND %s {5+}\r\nhello", ok: `OK \[APPENDUID \d+ 2\] APPEND completed`},
	{name: "COPY into", needs: "i", own: true, cmd: "COPY 1 %s", ok: `OK \[COPYUID \d+ 1 2\] COPY completed`},
	{name: "MOVE into", needs: "i", own: true, cmd: "MOVE 1 %s", ok: `OK MOVE completed`},
	{name: "CREATE below", needs: "k", cmd: "CREATE %s/New", ok: `OK \[MAILBOXID \(F\d+\)\] CREATE completed`,
		none: `NO \[NOPERM\] Permission denied`}, // the same whether the parent exists or not
	{name: "DELETE", needs: "x", cmd: "DELETE %s", ok: `OK DELETE completed`},
	{name: "RENAME", needs: "xk", cmd: "RENAME %s " + sharedTo + "Top/Renamed", ok: `OK RENAME completed`},
	{name: "SETACL", needs: "a", cmd: "SETACL %s carol@example.com lr", ok: `OK SETACL completed`},
	{name: "DELETEACL", needs: "a", cmd: "DELETEACL %s bob@example.com", ok: `OK DELETEACL completed`},
	{name: "GETACL", needs: "a", cmd: "GETACL %s", ok: `OK GETACL completed`, reads: true},
	{name: "LISTRIGHTS", needs: "l", cmd: "LISTRIGHTS %s carol@example.com", ok: `OK LISTRIGHTS completed`, reads: true, denied: `OK LISTRIGHTS completed`},
	{name: "MYRIGHTS", needs: "l", cmd: "MYRIGHTS %s", ok: `OK MYRIGHTS completed`, reads: true, denied: `OK MYRIGHTS completed`},
}

// TestACLEveryCommand: for every command that reads or changes a shared
// mailbox, bob (1) without any right gets NO [NONEXISTENT] and changes
// nothing; (2) with every right but the one it needs is refused (NOPERM)
// or, for STORE, has the flag silently left alone (RFC 4314 §4); (3) with
// just the right it needs (and r where he must select first) succeeds.
func TestACLEveryCommand(t *testing.T) {
	name := sharedTo + "Top/Box"
	prepare := func(c *tconn, tc aclCommand) {
		t.Helper()
		switch {
		case tc.sel:
			c.cmd("s1", "SELECT "+name)
		case tc.own:
			c.cmd("s1", "SELECT INBOX")
		}
	}
	send := func(c *tconn, tc aclCommand) string {
		t.Helper()
		line := tc.cmd
		if strings.Contains(line, "%s") {
			line = fmt.Sprintf(line, name)
		}
		if first, rest, ok := strings.Cut(line, "\r\n"); ok {
			c.send("t1 " + first)
			c.send(rest)
		} else {
			c.send("t1 " + line)
		}
		lines := c.until("t1")
		return strings.TrimPrefix(lines[len(lines)-1], "t1 ")
	}
	match := func(re, got string) bool { return regexp.MustCompile(`^(?:` + re + `)$`).MatchString(got) }
	for _, tc := range aclCommands {
		t.Run(tc.name, func(t *testing.T) {
			// (1) No right at all: the mailbox does not exist for bob.
			h, c := aclFixture(t, "")
			before := aliceState(t, h)
			if tc.sel {
				if got := c.cmd("s1", "SELECT "+name); !strings.HasPrefix(got[len(got)-1], "s1 NO [NONEXISTENT]") {
					t.Fatalf("no rights: SELECT answered %q", got)
				}
			} else {
				prepare(c, tc)
				none := tc.none
				if none == "" {
					none = `NO \[NONEXISTENT\] No such mailbox`
				}
				if got := send(c, tc); !match(none, got) {
					t.Errorf("no rights: %s answered %q, want %s", tc.name, got, none)
				}
			}
			if lines := c.cmd("l1", `LIST "" "*"`); strings.Contains(strings.Join(lines, "\n"), "shared") {
				t.Errorf("no rights: LIST shows %q", lines)
			}
			if after := aliceState(t, h); after != before {
				t.Errorf("no rights: %s changed alice's mailboxes:\n%s\nto\n%s", tc.name, before, after)
			}

			// (2) Every right but the needed one.
			all, _ := store.ParseRights("lrswipkxtea")
			need, _ := store.ParseRights(tc.needs)
			h, c = aclFixture(t, (all &^ need).Letters())
			before = aliceState(t, h)
			prepare(c, tc)
			got := send(c, tc)
			denied := tc.denied
			if denied == "" {
				denied = `NO \[NOPERM\] Permission denied`
			}
			if tc.needs == "r" && tc.name != "SELECT" && tc.name != "EXAMINE" && tc.name != "STATUS" {
				t.Fatal("table: a command needing r must be SELECT, EXAMINE or STATUS")
			}
			if !match(denied, got) {
				t.Errorf("without %s: %s answered %q, want %s", tc.needs, tc.name, got, denied)
			}
			if after := aliceState(t, h); after != before {
				t.Errorf("without %s: %s changed alice's mailboxes:\n%s\nto\n%s", tc.needs, tc.name, before, after)
			}

			// (3) Just the needed right (with r to select first).
			rights := tc.needs
			if tc.sel {
				rights += "r"
			}
			h, c = aclFixture(t, rights)
			if tc.needs == "te" {
				// Something to expunge: alice marks the message.
				c2 := h.login()
				c2.cmd("m0", "SELECT Top/Box")
				c2.cmd("m1", `STORE 1 +FLAGS.SILENT (\Deleted)`)
			}
			before = aliceState(t, h)
			prepare(c, tc)
			got = send(c, tc)
			if !match(tc.ok, got) {
				t.Errorf("with %s: %s answered %q, want %s", rights, tc.name, got, tc.ok)
			}
			after := aliceState(t, h)
			if tc.reads && after != before {
				t.Errorf("with %s: %s changed alice's mailboxes:\n%s\nto\n%s", rights, tc.name, before, after)
			}
			if !tc.reads && after == before {
				t.Errorf("with %s: %s changed nothing:\n%s", rights, tc.name, after)
			}
		})
	}
}

// TestACLChangeSeenAtNextCommand: rights are read at every command: alice
// revoking bob's r makes his next FETCH fail, and with l gone too the
// mailbox vanishes from his LIST.
func TestACLChangeSeenAtNextCommand(t *testing.T) {
	h, b := aclFixture(t, "lrs")
	name := sharedTo + "Top/Box"
	b.run(`
C: b1 SELECT ` + name + `
S~ .*
S~ .*
S~ .*
S~ .*
S~ .*
S~ .*
S~ .*
S~ .*
S: b1 OK [READ-WRITE] SELECT completed
C: b2 FETCH 1 (FLAGS)
S: * 1 FETCH (FLAGS (\Recent))
S: b2 OK FETCH completed
`)
	h.setACL("Top/Box", bobUser, "l")
	// A message that arrives now is not announced to bob any more.
	h.deliver("Top/Box", "Subject: two\r\n\r\nsecret\r\n")
	b.run(`
C: b3 FETCH 1 (FLAGS)
S: b3 NO [NOPERM] Permission denied
C: b4 STORE 1 +FLAGS (\Seen)
S: b4 NO [NOPERM] Permission denied
C: b4a SEARCH ALL
S: b4a NO [NOPERM] Permission denied
C: b4b UID COPY 1 INBOX
S: b4b NO [NOPERM] Permission denied
`)
	if err := h.st.DeleteACL(context.Background(), testUser, "Top/Box", bobUser); err != nil {
		t.Fatal(err)
	}
	b.run(`
C: b5 FETCH 1 (FLAGS)
S: b5 NO [NONEXISTENT] No such mailbox
C: b6 LIST "" "shared/*"
S: * LIST (\Noselect \HasChildren) "/" "shared/alice@example.com"
S: * LIST (\HasNoChildren) "/" "shared/alice@example.com/Top"
S: b6 OK LIST completed
C: b7 UNSELECT
S: b7 OK UNSELECT completed
C: b8 STATUS ` + name + ` (MESSAGES)
S: b8 NO [NONEXISTENT] No such mailbox
`)
}

// TestSharedChangesReachOtherAccount: the change feed is per mailbox, so
// alice's changes reach bob's session on her mailbox at his next command
// and while he IDLEs, and bob's reach alice.
func TestSharedChangesReachOtherAccount(t *testing.T) {
	h, b := aclFixture(t, "lrswite")
	name := sharedTo + "Top/Box"
	b.cmd("b1", "SELECT "+name)
	a := h.login()
	a.cmd("a1", "SELECT Top/Box")
	a.run(`
C: a2 STORE 1 +FLAGS (\Flagged)
S: * 1 FETCH (FLAGS (\Flagged) UID 1)
S: a2 OK STORE completed
`)
	b.run(`
C: b2 NOOP
S: * 1 FETCH (UID 1 FLAGS (\Flagged \Recent))
S: b2 OK NOOP completed
C: b3 STORE 1 +FLAGS (\Seen)
S: * 1 FETCH (FLAGS (\Flagged \Seen \Recent) UID 1)
S: b3 OK STORE completed
`)
	a.run(`
C: a3 NOOP
S: * 1 FETCH (UID 1 FLAGS (\Flagged \Seen))
S: a3 OK NOOP completed
`)
	b.run(`
C: b4 IDLE
S: + idling
`)
	h.deliver("Top/Box", "Subject: two\r\n\r\nbody\r\n")
	b.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	b.run(`
S: * 2 EXISTS
S: * 2 RECENT
C: DONE
S: b4 OK IDLE completed
`)
}

// TestSharedQuotaCountsOwner: what bob appends into alice's mailbox counts
// against alice's quota, and is refused when hers is full.
func TestSharedQuotaCountsOwner(t *testing.T) {
	h, b := aclFixture(t, "lri")
	ctx := context.Background()
	q, err := h.st.Quota(ctx, testUser)
	if err != nil {
		t.Fatal(err)
	}
	used := q.Messages.Used
	b.run(`
C: b1 APPEND ` + sharedTo + `Top/Box {5+}
C: hello
S~ b1 OK \[APPENDUID \d+ 2\] APPEND completed
`)
	q, err = h.st.Quota(ctx, testUser)
	if err != nil {
		t.Fatal(err)
	}
	if q.Messages.Used != used+1 {
		t.Fatalf("alice's messages after bob's APPEND: %d, want %d", q.Messages.Used, used+1)
	}
	if err := h.st.SetQuota(ctx, testUser, 0, q.Messages.Used); err != nil {
		t.Fatal(err)
	}
	b.run(`
C: b2 APPEND ` + sharedTo + `Top/Box {5+}
C: hello
S: b2 NO [OVERQUOTA] Quota exceeded (mailbox for user is full)
C: b3 APPEND INBOX {5+}
C: hello
S~ b3 OK \[APPENDUID \d+ 2\] APPEND completed
`)
}

// TestSharedCopyKeepsPermittedFlags: COPY and APPEND into a shared mailbox
// keep only the flags the user may set there (RFC 4314 §4: i, plus s for
// \Seen, t for \Deleted, w for the others).
func TestSharedCopyKeepsPermittedFlags(t *testing.T) {
	h, b := aclFixture(t, "lris")
	name := sharedTo + "Top/Box"
	b.cmd("b0", "SELECT INBOX")
	b.cmd("b1", `STORE 1 +FLAGS.SILENT (\Seen \Flagged \Deleted $Label1)`)
	b.run(`
C: b2 COPY 1 ` + name + `
S~ b2 OK \[COPYUID \d+ 1 2\] COPY completed
C: b3 APPEND ` + name + ` (\Seen \Answered) {5+}
C: hello
S~ b3 OK \[APPENDUID \d+ 3\] APPEND completed
`)
	a := h.login()
	a.cmd("a0", "SELECT Top/Box")
	a.run(`
C: a1 FETCH 2:3 (FLAGS)
S: * 2 FETCH (FLAGS (\Seen \Recent))
S: * 3 FETCH (FLAGS (\Seen \Recent))
S: a1 OK FETCH completed
`)
}

// TestSharedFetchSetsSeenOnlyWithS: FETCH BODY[] sets \Seen as a side
// effect only for a user with s (RFC 4314 §4); with w the mailbox is
// read-write all the same.
func TestSharedFetchSetsSeenOnlyWithS(t *testing.T) {
	for _, tc := range []struct{ rights, flags string }{
		{"lrw", `(\Recent)`},
		{"lrs", `(\Seen \Recent)`},
	} {
		t.Run(tc.rights, func(t *testing.T) {
			_, b := aclFixture(t, tc.rights)
			b.cmd("b0", "SELECT "+sharedTo+"Top/Box")
			b.send("b1 FETCH 1 BODY[TEXT]")
			b.until("b1")
			b.run(`
C: b2 FETCH 1 FLAGS
S: * 1 FETCH (FLAGS ` + tc.flags + `)
S: b2 OK FETCH completed
`)
		})
	}
}
