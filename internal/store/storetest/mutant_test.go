package storetest

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/store"
	"github.com/letterbox/letterbox/internal/store/sqlite"
)

// The racy mutant: the real SQLite driver, except that StoreFlags is done
// the way a careless driver would: read the current flags, yield, then
// write the computed result back with FLAGS replace. Two concurrent +FLAGS
// on one message lose one of the keywords. The suite's concurrency check
// must notice.

type racyStore struct{ store.Store }

func (r racyStore) Mailboxes(ctx context.Context, account string) (store.Mailboxes, error) {
	m, err := r.Store.Mailboxes(ctx, account)
	if err != nil {
		return nil, err
	}
	return racyMailboxes{m}, nil
}

type racyMailboxes struct{ store.Mailboxes }

func (r racyMailboxes) Open(ctx context.Context, name string) (store.Mailbox, error) {
	mb, err := r.Mailboxes.Open(ctx, name)
	if err != nil {
		return nil, err
	}
	return racyMailbox{mb}, nil
}

type racyMailbox struct{ store.Mailbox }

func (r racyMailbox) StoreFlags(ctx context.Context, uids []store.UID, op store.FlagOp, flags []string, unchangedSince store.ModSeq) (store.StoreResult, error) {
	current, err := r.Details(ctx, uids)
	if err != nil {
		return store.StoreResult{}, err
	}
	// The race window: another writer changes the flags meanwhile.
	runtime.Gosched()
	time.Sleep(2 * time.Millisecond)
	var out store.StoreResult
	for _, m := range current {
		next := map[string]bool{}
		if op != store.FlagsReplace {
			for _, f := range m.Flags {
				next[f] = true
			}
		}
		for _, f := range flags {
			next[f] = op != store.FlagsRemove
		}
		var list []string
		for f, on := range next {
			if on {
				list = append(list, f)
			}
		}
		res, err := r.Mailbox.StoreFlags(ctx, []store.UID{m.UID}, store.FlagsReplace, list, 0)
		if err != nil {
			return out, err
		}
		out.Updated = append(out.Updated, res.Updated...)
		out.Unchanged = append(out.Unchanged, res.Unchanged...)
	}
	return out, nil
}

// recordingTB is a testing.TB that records failures instead of failing the
// real test. Fatal stops the calling goroutine like the real one.
type recordingTB struct {
	testing.TB
	mu     sync.Mutex
	failed bool
	msgs   []string
}

func (r *recordingTB) Helper() {}
func (r *recordingTB) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed = true
	r.msgs = append(r.msgs, fmt.Sprintf(format, args...))
}
func (r *recordingTB) Error(args ...any)                 { r.Errorf("%s", fmt.Sprint(args...)) }
func (r *recordingTB) Fatalf(format string, args ...any) { r.Errorf(format, args...); runtime.Goexit() }
func (r *recordingTB) Fatal(args ...any)                 { r.Error(args...); runtime.Goexit() }
func (r *recordingTB) Fail()                             { r.Errorf("Fail") }
func (r *recordingTB) FailNow()                          { r.Fatalf("FailNow") }
func (r *recordingTB) Failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed
}
func (r *recordingTB) Log(args ...any)                 {}
func (r *recordingTB) Logf(format string, args ...any) {}

// runCheck runs CheckConcurrency with a recording TB in its own goroutine
// (so Fatal can end it) and returns the recorder.
func runCheck(t *testing.T, s store.Store) *recordingTB {
	rec := &recordingTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		CheckConcurrency(rec, s)
	}()
	<-done
	return rec
}

func openSQLite(t *testing.T) store.Store {
	s, err := sqlite.Open(sqlite.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConcurrencyCheckCatchesRacyDriver(t *testing.T) {
	rec := runCheck(t, racyStore{openSQLite(t)})
	if !rec.Failed() {
		t.Fatal("CheckConcurrency passed a driver whose StoreFlags loses updates")
	}
	lost := false
	for _, m := range rec.msgs {
		t.Logf("reported: %s", m)
		if strings.Contains(m, "lost keyword") {
			lost = true
		}
	}
	if !lost {
		t.Errorf("the failure was not the lost keyword: %q", rec.msgs)
	}
}

func TestConcurrencyCheckPassesRealDriver(t *testing.T) {
	if rec := runCheck(t, openSQLite(t)); rec.Failed() {
		t.Fatalf("CheckConcurrency failed the real driver: %q", rec.msgs)
	}
}
