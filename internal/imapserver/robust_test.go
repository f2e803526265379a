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
