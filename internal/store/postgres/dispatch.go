package postgres

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"time"
)

// A write waits after COMMIT until the local listener has put the
// transaction's events on the feed (see the token in notify.go), at most
// dispatchWait; it does not wait while the listener is reconnecting (the
// resync that follows the reconnect announces every watched mailbox).

const dispatchWait = 2 * time.Second

func newNodeID() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// newToken registers a waiter for one transaction's events. It returns
// "" and nil when the listener is down.
func (s *Store) newToken() (string, <-chan struct{}) {
	s.waitMu.Lock()
	defer s.waitMu.Unlock()
	if !s.listening {
		return "", nil
	}
	t := s.nodeID + "." + strconv.FormatUint(s.txSeq.Add(1), 36)
	ch := make(chan struct{})
	s.waiters[t] = ch
	return t, ch
}

// dropToken forgets a waiter whose transaction did not commit.
func (s *Store) dropToken(t string) {
	if t == "" {
		return
	}
	s.waitMu.Lock()
	delete(s.waiters, t)
	s.waitMu.Unlock()
}

// dispatched wakes the writer waiting for token t, if it is one of ours.
func (s *Store) dispatched(t string) {
	if t == "" {
		return
	}
	s.waitMu.Lock()
	if ch, ok := s.waiters[t]; ok {
		close(ch)
		delete(s.waiters, t)
	}
	s.waitMu.Unlock()
}

// setListening records whether the listener is connected; going down
// releases every waiting writer.
func (s *Store) setListening(on bool) {
	s.waitMu.Lock()
	s.listening = on
	if !on {
		for t, ch := range s.waiters {
			close(ch)
			delete(s.waiters, t)
		}
	}
	s.waitMu.Unlock()
}

// awaitDispatch waits until the events of a committed transaction are on
// the local feed.
func (s *Store) awaitDispatch(t string, done <-chan struct{}) {
	if done == nil {
		return
	}
	timer := time.NewTimer(dispatchWait)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		s.dropToken(t)
		s.log.Warn("postgres: change notification did not come back in time", "token", t, "waited", dispatchWait)
	}
}
