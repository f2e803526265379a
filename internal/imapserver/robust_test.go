package imapserver_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/letterbox/letterbox/internal/imapserver"
	"github.com/letterbox/letterbox/internal/store"
)

// faultyStore breaks OpenBlob: it panics when panics is set and fails with
// an error otherwise.
type faultyStore struct {
	store.Store
	panics bool
}

func (f faultyStore) OpenBlob(ctx context.Context, id string) (store.Blob, error) {
	if f.panics {
		panic("simulated bug")
	}
	return nil, errors.New("simulated disk failure")
}

func TestStoreErrorIsGenericNO(t *testing.T) {
	h := newHarness(t, func(o *imapserver.Options) { o.Store = faultyStore{Store: o.Store} })
	h.deliver("INBOX", msg1)
	c := h.login()
	c.selectInbox("a0")
	c.run(`
C: a1 FETCH 1 BODY.PEEK[]
S: a1 NO [SERVERBUG] FETCH failed: internal error
C: a2 FETCH 1 FLAGS
S: * 1 FETCH (FLAGS (\Recent))
S: a2 OK FETCH completed
`)
}

func TestPanicClosesCleanly(t *testing.T) {
	h := newHarness(t, func(o *imapserver.Options) { o.Store = faultyStore{Store: o.Store, panics: true} })
	h.deliver("INBOX", msg1)
	c := h.login()
	c.selectInbox("a0")
	lines := c.collectAny("a1", "FETCH 1 BODY.PEEK[]")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "* BYE [SERVERBUG]") {
		t.Fatalf("after a panic: %q", lines)
	}
	// The server itself keeps serving.
	c2 := h.login()
	c2.run(`
C: b1 NOOP
S: b1 OK NOOP completed
`)
}

// TestHostileCommands sends commands meant to cost the server much or to
// confuse it; each must get a tagged answer and leave the session usable.
func TestHostileCommands(t *testing.T) {
	h := newHarness(t)
	h.deliver("INBOX", multipartMsg)
	c := h.login()
	c.selectInbox("s0")
	cmds := []string{
		"FETCH 1:4294967295 (FLAGS)",
		"UID FETCH 1:4294967295 (BODY.PEEK[1.2.3.4.5.6.7.8.9])",
		"UID FETCH * (BODY.PEEK[]<4294967295.4294967295>)",
		"FETCH 1 (BODY.PEEK[2.HEADER.FIELDS (A B C)] BODY.PEEK[0])",
		"FETCH 1 (BINARY.PEEK[1.1] BINARY.SIZE[9])",
		"SEARCH " + strings.Repeat("NOT ", 500) + "ALL",
		"SEARCH " + strings.Repeat("OR ALL ", 200) + "ALL",
		"SEARCH UID 1:4294967295 LARGER 18446744073709551615",
		`LIST "" "` + strings.Repeat("*%", 2000) + `x"`,
		`SELECT ""`,
		`CREATE "/"`,
		`CREATE "a//b"`,
		`RENAME INBOX INBOX`,
		`STATUS "` + strings.Repeat("a/", 500) + `" (MESSAGES)`,
		"STORE 1 FLAGS (" + strings.Repeat("$k ", 300) + ")",
		"COPY 1:* " + strings.Repeat("x", 300),
		"UID EXPUNGE 1:4294967295",
		"ENABLE " + strings.Repeat("X ", 100),
		"ID (" + strings.Repeat(`"k" "v" `, 100) + ")",
		"UID FROB 1",
		"FETCH",
		"FETCH 1 (",
		"\x00\x01\x02",
	}
	for i, cmd := range cmds {
		tag := "h" + itoa(i)
		c.send(tag + " " + cmd)
		for {
			l := c.readLine()
			if strings.HasPrefix(l, tag+" ") || strings.HasPrefix(l, "* BAD") {
				break
			}
			if strings.HasPrefix(l, "* BYE") {
				t.Fatalf("%q closed the session: %s", cmd, l)
			}
		}
		c.run(`
C: n` + itoa(i) + ` NOOP
S: n` + itoa(i) + ` OK NOOP completed
`)
	}
}
