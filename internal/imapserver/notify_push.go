package imapserver

import (
	"errors"
	"slices"

	"github.com/letterbox/letterbox/internal/store"
)

// NOTIFY for the selected mailbox and outside commands (RFC 5465 §4-§5):
// what IDLE and the wait between commands report, see notify.go.

// notifyExpungeAnytime: with "selected" and MessageExpunge the client
// takes EXPUNGE at any time (RFC 5465 §5.3: it has given up on stable
// sequence numbers), also after FETCH, STORE and SEARCH.
func (s *session) notifyExpungeAnytime() bool {
	n := s.notify
	return n != nil && n.sel != nil && !n.delayed && n.sel.events&evMessage != 0
}

// notifySelected writes what changed in the selected mailbox during IDLE
// or between commands, as the selected group asks: nothing without one
// (SELECTED NONE, RFC 5465 §3.1, and §4 for IDLE), for selected-delayed no
// EXPUNGE between commands (§6.1: it waits for a command that allows it,
// "a NOOP or an IDLE command"; Dovecot 2.3 sends it during IDLE too), no
// flag changes without FlagChange (§5.1), and MessageNew's fetch-atts after
// EXISTS (§5.2).
func (s *session) notifySelected(inIdle bool) {
	n := s.notify
	if n.sel == nil || n.sel.events == 0 || s.state != stateSelected || !s.changed {
		return
	}
	if !s.refreshViewProbe(false) {
		return
	}
	v := s.sel
	if v.hasPending() {
		before := v.maxUID()
		ups := v.flush(inIdle || !n.delayed, s.reportVanished(), !s.rev2)
		if n.sel.events&evFlags == 0 {
			ups = slices.DeleteFunc(ups, func(u update) bool { return u.kind == updFlags })
		}
		s.writeUpdates(ups)
		s.notifyFetchNew(before)
	}
	v.advancePin()
}

// notifyFetchNew sends MessageNew's fetch-atts for the messages of the
// selected mailbox above UID before, after their EXISTS (RFC 5465 §5.2).
// They are sent as asked, but never set \Seen (the client SHOULD NOT ask
// for attributes that do, §5.2).
func (s *session) notifyFetchNew(before store.UID) {
	n := s.notify
	v := s.sel
	if n == nil || n.sel == nil || n.fetchAtts == nil || v == nil {
		return
	}
	i, _ := slices.BinarySearch(v.uids, before+1)
	uids := slices.Clone(v.uids[i:])
	if len(uids) == 0 {
		return
	}
	plan := planFetch(n.fetchAtts, true, false)
	for start := 0; start < len(uids); start += fetchBatch {
		details, err := v.mbox.Details(s.ctx, uids[start:min(start+fetchBatch, len(uids))])
		if err != nil {
			s.log.Error("imap notify: fetch of new messages failed", "mailbox", v.name, "err", err)
			return
		}
		for j := range details {
			if err := s.fetchOne(&details[j], plan, false); err != nil {
				s.log.Error("imap notify: fetch of a new message failed", "mailbox", v.name, "uid", details[j].UID, "err", err)
				if errors.Is(err, errCloseConn) {
					// A response is cut: the stream cannot go on.
					s.c.raw.Close()
				}
				return
			}
		}
	}
}

// notifyNow sends what the feed brought during IDLE or between commands.
func (s *session) notifyNow(inIdle bool) {
	s.drainFeed()
	s.notifySelected(inIdle)
	s.notifyOthers()
}

// notifyBetweenCommands waits for the client's next command while telling
// it what happens meanwhile (RFC 5465 §1: with NOTIFY the client listens
// all the time). The first octet of the command is read by a goroutine, as
// IDLE reads DONE; the session goroutine sends notifications until it
// arrives. It returns an error when the connection broke.
func (s *session) notifyBetweenCommands() error {
	c := s.c
	if !s.notify.active() || s.watcher == nil || c.br != nil && c.br.Buffered() > 0 {
		return nil
	}
	c.readDeadline(s.srv.opts.Limits.IdleTimeout)
	arrived := make(chan struct{})
	go func() {
		c.awaitInput()
		close(arrived)
	}()
	feed := s.watcher.Ready()
	s.feedWaiting = true
	defer func() { s.feedWaiting = false }()
	for {
		select {
		case <-arrived:
			return nil
		case _, ok := <-feed:
			if !ok {
				feed = nil
			}
			if s.selGone {
				continue // told by the next command's completion
			}
			s.notifyNow(false)
			if err := c.flush(); err != nil {
				<-arrived
				return err
			}
		case <-s.ctx.Done():
			<-arrived
			return nil
		}
	}
}
