package pop3server

import (
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/letterbox/letterbox/internal/store"
)

const (
	msg1 = "From: carol@example.org\r\nSubject: one\r\n\r\nline 1\r\n.starts with a dot\r\n..two dots\r\nline 4\r\n"
	msg2 = "Subject: two\r\n\r\nbody of two\r\n"
	msg3 = "Subject: three\r\nX-Long: yes\r\n\r\nA\r\nB\r\nC\r\n"
)

// envWithMail is an env where alice has msg1, msg2, msg3.
func envWithMail(t *testing.T, tweak ...func(*Options)) *testEnv {
	e := newEnv(t, tweak...)
	e.deliver(alice, msg1)
	e.deliver(alice, msg2)
	e.deliver(alice, msg3)
	return e
}

func TestGreetingAndQuitInAuthorization(t *testing.T) {
	e := newEnv(t)
	c := e.dial()
	c.transcript(`
		S: +OK pop.test letterbox POP3 server ready
		C: QUIT
		S: +OK letterbox POP3 server signing off
		S: <closed>`)
}

func TestStat(t *testing.T) {
	e := envWithMail(t)
	c := e.dial()
	c.login(alice, alicePass)
	total := len(msg1) + len(msg2) + len(msg3)
	c.transcript(fmt.Sprintf(`
		C: STAT
		S: +OK 3 %d
		C: STAT 1
		S: -ERR STAT takes no arguments`, total))
}

func TestList(t *testing.T) {
	e := envWithMail(t)
	c := e.dial()
	c.login(alice, alicePass)
	c.transcript(fmt.Sprintf(`
		C: LIST
		S: +OK 3 messages (%d octets)
		S: 1 %d
		S: 2 %d
		S: 3 %d
		S: .
		C: LIST 2
		S: +OK 2 %d
		C: list 3
		S: +OK 3 %d`, len(msg1)+len(msg2)+len(msg3), len(msg1), len(msg2), len(msg3), len(msg2), len(msg3)))
}

func TestListErrors(t *testing.T) {
	e := envWithMail(t)
	c := e.dial()
	c.login(alice, alicePass)
	c.transcript(`
		C: LIST 0
		S: -ERR no such message
		C: LIST 4
		S: -ERR no such message
		C: LIST x
		S: -ERR invalid message number
		C: LIST -1
		S: -ERR invalid message number
		C: LIST +1
		S: -ERR invalid message number
		C: LIST 99999999999999999999
		S: -ERR invalid message number
		C: LIST 1 2
		S: -ERR too many arguments
		C: DELE 1
		S: +OK message 1 deleted
		C: LIST 1
		S: -ERR message 1 already deleted
		C: NOOP
		S: +OK`)
}

func TestUidl(t *testing.T) {
	e := envWithMail(t)
	c := e.dial()
	c.login(alice, alicePass)
	v := e.uidValidity(alice)
	c.transcript(fmt.Sprintf(`
		C: UIDL
		S: +OK*
		S: 1 00000001%08x
		S: 2 00000002%08x
		S: 3 00000003%08x
		S: .
		C: UIDL 2
		S: +OK 2 00000002%08x
		C: UIDL 9
		S: -ERR no such message
		C: UIDL a
		S: -ERR invalid message number
		C: UIDL 1 2
		S: -ERR too many arguments
		C: DELE 2
		S: +OK*
		C: UIDL
		S: +OK*
		S: 1 00000001%08x
		S: 3 00000003%08x
		S: .
		C: UIDL 2
		S: -ERR message 2 already deleted`, v, v, v, v, v, v))
}

// TestUIDLStableAcrossSessions: the same message has the same UIDL in every
// session, also after earlier messages are deleted and numbers shift
// (what fetchmail/getmail "keep" mode relies on).
func TestUIDLStableAcrossSessions(t *testing.T) {
	e := envWithMail(t)
	c := e.client(alice, alicePass)
	first, err := c.Uidl()
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range first {
		if len(u.UID) < 1 || len(u.UID) > 70 {
			t.Errorf("UIDL %q: length %d not in 1..70", u.UID, len(u.UID))
		}
		for _, b := range []byte(u.UID) {
			if b < 0x21 || b > 0x7e {
				t.Errorf("UIDL %q has octet %#x outside 0x21-0x7E", u.UID, b)
			}
		}
	}
	if err := c.Dele(1); err != nil {
		t.Fatal(err)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
	c = e.client(alice, alicePass)
	second, err := c.Uidl()
	if err != nil {
		t.Fatal(err)
	}
	if len(second) != 2 || second[0].UID != first[1].UID || second[1].UID != first[2].UID {
		t.Fatalf("UIDLs after deleting message 1: %v, before: %v", second, first)
	}
	if second[0].Number != 1 {
		t.Errorf("numbers restart at 1 in a new session, got %d", second[0].Number)
	}
}

func TestUniqueIDFormat(t *testing.T) {
	for _, tc := range []struct {
		v    uint32
		uid  uint32
		want string
	}{
		{1, 1, "0000000100000001"},
		{0xdeadbeef, 42, "0000002adeadbeef"},
		{4294967295, 4294967295, "ffffffffffffffff"},
	} {
		if got := uniqueID(tc.v, store.UID(tc.uid)); got != tc.want {
			t.Errorf("uniqueID(%d, %d) = %q, want %q", tc.v, tc.uid, got, tc.want)
		}
	}
}

// TestRetr checks RETR sends the message byte-stuffed on the wire and that
// the octet count equals the un-stuffed message.
func TestRetr(t *testing.T) {
	e := envWithMail(t)
	c := e.dial()
	c.login(alice, alicePass)
	c.transcript(fmt.Sprintf(`
		C: RETR 1
		S: +OK %d octets
		S: From: carol@example.org
		S: Subject: one
		S: 
		S: line 1
		S: ..starts with a dot
		S: ...two dots
		S: line 4
		S: .
		C: RETR 4
		S: -ERR no such message
		C: RETR
		S: -ERR RETR needs one message number
		C: RETR 1 2
		S: -ERR RETR needs one message number`, len(msg1)))
}

// TestRetrExactBytes: the independent client, which un-stuffs, gets every
// message back byte for byte, and LIST's size is its length.
func TestRetrExactBytes(t *testing.T) {
	e := envWithMail(t)
	long := "Subject: long\r\n\r\n" + strings.Repeat(".x"+strings.Repeat("y", 5000)+"\r\n", 300)
	e.deliver(alice, long)
	c := e.client(alice, alicePass)
	list, err := c.List()
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{msg1, msg2, msg3, long} {
		r, err := c.Retr(i + 1)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("RETR %d: got %d octets, want %d (%q...)", i+1, len(got), len(want), got[:min(len(got), 60)])
		}
		if list[i].Size != int64(len(want)) {
			t.Errorf("LIST %d size %d, want %d", i+1, list[i].Size, len(want))
		}
	}
}

// TestRetrAddsMissingFinalCRLF: a stored message without a final line end
// still gets a well-formed terminator.
func TestRetrAddsMissingFinalCRLF(t *testing.T) {
	e := newEnv(t)
	e.deliver(alice, "Subject: x\r\n\r\nno final line end")
	c := e.dial()
	c.login(alice, alicePass)
	c.transcript(`
		C: RETR 1
		S: +OK*
		S: Subject: x
		S: 
		S: no final line end
		S: .
		C: NOOP
		S: +OK`)
}

func TestTop(t *testing.T) {
	e := envWithMail(t)
	c := e.dial()
	c.login(alice, alicePass)
	c.transcript(`
		C: TOP 1 0
		S: +OK*
		S: From: carol@example.org
		S: Subject: one
		S: 
		S: .
		C: TOP 1 2
		S: +OK*
		S: From: carol@example.org
		S: Subject: one
		S: 
		S: line 1
		S: ..starts with a dot
		S: .
		C: TOP 3 100
		S: +OK*
		S: Subject: three
		S: X-Long: yes
		S: 
		S: A
		S: B
		S: C
		S: .
		C: TOP 2 99999999999999999999
		S: +OK*
		S: Subject: two
		S: 
		S: body of two
		S: .
		C: TOP 1
		S: -ERR TOP needs a message number and a line count
		C: TOP 1 -1
		S: -ERR invalid line count
		C: TOP 1 x
		S: -ERR invalid line count
		C: TOP 7 1
		S: -ERR no such message
		C: DELE 1
		S: +OK*
		C: TOP 1 1
		S: -ERR message 1 already deleted`)
}

// TestTopHeaderOnlyMessage: a message with no empty line is all header.
func TestTopHeaderOnlyMessage(t *testing.T) {
	e := newEnv(t)
	e.deliver(alice, "Subject: only header\r\nX: y\r\n")
	c := e.dial()
	c.login(alice, alicePass)
	c.transcript(`
		C: TOP 1 5
		S: +OK*
		S: Subject: only header
		S: X: y
		S: .`)
}

func TestDele(t *testing.T) {
	e := envWithMail(t)
	c := e.dial()
	c.login(alice, alicePass)
	c.transcript(fmt.Sprintf(`
		C: DELE 1
		S: +OK message 1 deleted
		C: DELE 1
		S: -ERR message 1 already deleted
		C: RETR 1
		S: -ERR message 1 already deleted
		C: STAT
		S: +OK 2 %d
		C: LIST
		S: +OK 2 messages*
		S: 2 %d
		S: 3 %d
		S: .
		C: DELE
		S: -ERR DELE needs one message number
		C: DELE 0
		S: -ERR no such message
		C: DELE 4
		S: -ERR no such message`, len(msg2)+len(msg3), len(msg2), len(msg3)))
	// Nothing is gone from the store before QUIT.
	if got := e.inbox(alice); len(got) != 3 {
		t.Fatalf("store has %v before QUIT, want all 3", got)
	}
}

func TestRset(t *testing.T) {
	e := envWithMail(t)
	c := e.dial()
	c.login(alice, alicePass)
	total := len(msg1) + len(msg2) + len(msg3)
	c.transcript(fmt.Sprintf(`
		C: DELE 1
		S: +OK*
		C: DELE 3
		S: +OK*
		C: RSET
		S: +OK maildrop has 3 messages (%d octets)
		C: RETR 1
		S: +OK*
		S: From:*
		S: Subject: one
		S: 
		S: line 1
		S: ..starts with a dot
		S: ...two dots
		S: line 4
		S: .
		C: RSET x
		S: -ERR RSET takes no arguments
		C: QUIT
		S: +OK letterbox POP3 server signing off (3 messages left)
		S: <closed>`, total))
	if got := e.inbox(alice); len(got) != 3 {
		t.Fatalf("store has %v after RSET+QUIT, want all 3", got)
	}
}

func TestNoop(t *testing.T) {
	e := envWithMail(t)
	c := e.dial()
	c.login(alice, alicePass)
	c.transcript(`
		C: NOOP
		S: +OK
		C: noop
		S: +OK
		C: NOOP x
		S: -ERR NOOP takes no arguments`)
}

// TestQuitDeletes: DELE + QUIT expunges from the store (UPDATE state).
func TestQuitDeletes(t *testing.T) {
	e := envWithMail(t)
	before := e.inbox(alice)
	c := e.dial()
	c.login(alice, alicePass)
	c.transcript(`
		C: DELE 1
		S: +OK*
		C: DELE 3
		S: +OK*
		C: QUIT
		S: +OK letterbox POP3 server signing off (1 messages left)
		S: <closed>`)
	got := e.inbox(alice)
	if len(got) != 1 || got[0] != before[1] {
		t.Fatalf("after QUIT inbox = %v, want [%v]", got, before[1])
	}
	// The lock is free again.
	c2 := e.client(alice, alicePass)
	n, _, err := c2.Stat()
	if err != nil || n != 1 {
		t.Fatalf("STAT after QUIT: %d, %v", n, err)
	}
}

// TestQuitExpungeFailure: an UPDATE-state failure is reported as RFC 1939
// §6 says, with a SYS/TEMP code.
func TestQuitExpungeFailure(t *testing.T) {
	e := envWithMail(t, func(o *Options) { o.Store = expungeFailStore{o.Store} })
	c := e.dial()
	c.login(alice, alicePass)
	c.transcript(`
		C: DELE 1
		S: +OK*
		C: QUIT
		S: -ERR [SYS/TEMP] some deleted messages not removed
		S: <closed>`)
}

// TestDroppedConnectionDeletesNothing: DELE then hang up without QUIT.
func TestDroppedConnectionDeletesNothing(t *testing.T) {
	e := envWithMail(t)
	c := e.dial()
	c.login(alice, alicePass)
	c.transcript(`
		C: DELE 1
		S: +OK*
		C: DELE 2
		S: +OK*`)
	c.conn.Close()
	// Once the session has ended the lock is free; then nothing may be gone.
	waitFor(t, "lock release", func() bool {
		unlock, ok := e.srv.locker.TryLock(alice)
		if ok {
			unlock()
		}
		return ok
	})
	if got := e.inbox(alice); len(got) != 3 {
		t.Fatalf("inbox after dropped connection = %v, want 3 messages", got)
	}
}

// TestTransactionCommandsRefusedInAuthorization: RFC 1939 §3 states.
func TestTransactionCommandsRefusedInAuthorization(t *testing.T) {
	e := envWithMail(t)
	c := e.dial()
	c.transcript(`S: +OK*`)
	for _, cmd := range []string{"STAT", "LIST", "LIST 1", "UIDL", "RETR 1", "TOP 1 1", "DELE 1", "RSET", "NOOP"} {
		c.transcript("C: " + cmd + "\nS: -ERR command not valid in this state")
	}
	c.transcript(`
		C: PASS x
		S: -ERR send USER first
		C: FOO
		S: -ERR unknown command
		C: QUIT
		S: +OK*`)
}

// TestAuthorizationCommandsRefusedInTransaction: USER, PASS, AUTH, STLS and
// UTF8 are AUTHORIZATION-state commands.
func TestAuthorizationCommandsRefusedInTransaction(t *testing.T) {
	srvTLS, _ := testTLS(t)
	e := envWithMail(t, func(o *Options) { o.TLS = srvTLS })
	c := e.dial()
	c.login(alice, alicePass)
	for _, cmd := range []string{"USER alice@example.com", "PASS x", "AUTH PLAIN", "STLS", "UTF8"} {
		c.transcript("C: " + cmd + "\nS: -ERR command not valid in this state")
	}
}
