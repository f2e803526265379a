package imapserver

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"strings"
	"time"

	"github.com/letterbox/letterbox/internal/connlimit"
	"github.com/letterbox/letterbox/internal/imap"
	"github.com/letterbox/letterbox/internal/store"
)

// state is the connection state of RFC 3501 §3 / RFC 9051 §3.
type state int

const (
	stateNotAuthenticated state = 1 << iota
	stateAuthenticated
	stateSelected
	stateLogout
)

const (
	anyState      = stateNotAuthenticated | stateAuthenticated | stateSelected
	authenticated = stateAuthenticated | stateSelected
)

// session is one client's IMAP session: login state, enabled extensions,
// the selected mailbox's view and the account's change feed.
type session struct {
	srv  *Server
	c    *conn
	slot *connlimit.Slot // its place under the connection limits
	log  *slog.Logger
	ctx  context.Context

	state       state
	account     store.Account
	userCounted bool
	boxes       store.Mailboxes
	watcher     store.Watcher
	// prefetched holds the bodies of the current FETCH batch that the
	// store opened at once (fetchprefetch.go); fetchOne takes from it.
	prefetched map[string]store.Blob
	// lastSeq is the sequence number fetchOne answered last: a hint for
	// the next (selectedView.seqNear), checked before it is used.
	lastSeq int
	// feedWaiting is set while the session waits for the change feed
	// (IDLE, NOTIFY between commands): the changes it then takes count in
	// the feed-lag metric; a change taken at a client's next command
	// would measure the client's pause instead.
	feedWaiting bool
	sel         *selectedView
	// selRef is the selected mailbox as resolved at SELECT (shared.go);
	// for another account's mailbox its rights are read again before
	// every command, and selWatch is the owner's change feed.
	selRef   mbRef
	selWatch store.Watcher

	// Extensions turned on by ENABLE (RFC 5161) or implicitly.
	rev2      bool // ENABLE IMAP4rev2 (RFC 9051 §6.3.1)
	utf8      bool // ENABLE UTF8=ACCEPT (RFC 6855)
	qresync   bool // ENABLE QRESYNC (RFC 7162 §3.2.3)
	condstore bool // a CONDSTORE enabling command was seen (RFC 7162 §3.1)
	uidonly   bool // ENABLE UIDONLY (RFC 9586, uidonly.go)

	// Saved search result (SEARCHRES, RFC 5182): UIDs, so that it survives
	// expunges; valid only while the same mailbox stays selected.
	saved []store.UID
	// updates are the live SEARCH/SORT results (RFC 5267 §4, update.go).
	updates    []*searchUpdate
	updateMark viewMark // the view when updates were last computed

	// changed is set when the feed signalled the selected mailbox.
	changed bool
	// selGone is set when another session deleted the selected mailbox.
	selGone bool

	// notify is what NOTIFY set up (notify.go); nil before the first one.
	notify *notifyState
}

// errAnswered means the handler already wrote the tagged response.
var errAnswered = errors.New("imapserver: already answered")

// errCloseConn means the connection must be closed after the response.
var errCloseConn = errors.New("imapserver: closing connection")

func (s *Server) serveConn(nc net.Conn) {
	c := newConn(s, nc)
	defer nc.Close()
	defer c.closeCompress()
	slot, ok := s.admit(c)
	if !ok {
		return
	}
	defer slot.Release()
	defer s.opts.Metrics.Connection("imap")()
	if !s.track(c) {
		return
	}
	defer s.untrack(c)
	if tc, ok := nc.(*tls.Conn); ok {
		tc.SetDeadline(time.Now().Add(s.opts.Limits.CommandTimeout))
		if err := tc.Handshake(); err != nil {
			s.log.Debug("imap tls handshake failed", "remote", c.remote, "err", err)
			return
		}
		tc.SetDeadline(time.Time{})
	}
	sess := &session{
		srv:   s,
		c:     c,
		log:   s.log.With("remote", c.remote.String()),
		ctx:   s.ctx,
		state: stateNotAuthenticated,
		slot:  slot,
	}
	defer sess.cleanup()
	sess.run()
}

// cleanup releases what the session holds.
func (s *session) cleanup() {
	if s.watcher != nil {
		s.watcher.Close()
		s.watcher = nil
	}
	if s.userCounted {
		s.srv.releaseUser(s.account.Name)
		s.userCounted = false
	}
	s.dropView()
}

// dropView forgets the selected mailbox's view and releases its hold on
// expunged content (store.Pin).
func (s *session) dropView() {
	if s.sel != nil {
		s.sel.release()
		s.sel = nil
	}
	if s.selWatch != nil {
		s.selWatch.Close()
		s.selWatch = nil
	}
	s.selRef = mbRef{}
	s.updates = nil
}

// run greets the client and executes commands until LOGOUT, an error or
// the idle timeout.
func (s *session) run() {
	c := s.c
	c.w.WriteStatus("", "OK", "CAPABILITY "+strings.Join(s.capabilities(), " "), s.srv.opts.Hostname+" letterbox IMAP ready")
	if c.flush() != nil {
		return
	}
	for s.state != stateLogout {
		if s.srv.draining() {
			s.sayShuttingDown()
			return
		}
		if s.notifyBetweenCommands() != nil {
			return
		}
		cmd, inCommand, err := c.readCommand(s.srv.opts.Limits.IdleTimeout)
		if err != nil && s.srv.draining() && !isClosed(err) {
			s.sayShuttingDown()
			return
		}
		if err != nil {
			var pe *imap.ParseError
			if errors.As(err, &pe) {
				s.answerParseError(pe)
				if pe.Fatal || c.flush() != nil {
					return
				}
				continue
			}
			var bad *errCompressedInput
			if errors.As(err, &bad) {
				// The client's DEFLATE stream is corrupt: nothing more can
				// be read from it, but our direction still works.
				s.log.Info("imap compressed input invalid, closing connection", "err", err)
				c.w.WriteStatus("", "BYE", "", "Invalid compressed data, closing connection")
				c.flush()
			} else if isTimeout(err) && inCommand {
				c.w.WriteStatus("", "BYE", "", "Command not received in time, closing connection")
				c.flush()
			} else if isTimeout(err) {
				c.w.WriteStatus("", "BYE", "", "Idle timeout, closing connection")
				c.flush()
			} else if !isClosed(err) {
				s.log.Debug("imap read failed", "err", err)
			}
			return
		}
		started := time.Now()
		err = s.execute(cmd)
		cmd.Close()
		s.srv.opts.Metrics.Command("imap", commandLabel(cmd), time.Since(started))
		if errors.Is(err, errCloseConn) {
			c.flush()
			return
		}
		if c.flush() != nil {
			return
		}
	}
}

// sayShuttingDown is the last word of a session the server drains
// (Shutdown).
func (s *session) sayShuttingDown() {
	s.c.w.WriteStatus("", "BYE", "", "Server shutting down")
	s.c.flush()
}

// answerParseError answers a command the codec could not parse.
func (s *session) answerParseError(pe *imap.ParseError) {
	status := "BAD"
	if pe.NO {
		status = "NO"
	}
	s.c.w.WriteStatus(pe.Tag, status, pe.Code, pe.Msg)
	if pe.Fatal {
		s.c.w.WriteStatus("", "BYE", "", "Cannot resynchronise, closing connection")
		s.c.flush()
	}
}

// execute runs one command: state check, handler (with panics recovered),
// then the pending mailbox updates RFC 3501 §7.4.1 allows, then the tagged
// status response.
func (s *session) execute(cmd *imap.Command) (err error) {
	h, ok := commandTable[cmd.Name]
	if !ok || (cmd.UID && !h.uid) || (h.quota && s.srv.quota == nil) || (h.acl && s.srv.acls == nil) {
		s.c.w.WriteStatus(cmd.Tag, "BAD", "", "Unknown command")
		return nil
	}
	if h.states&s.state == 0 {
		s.c.w.WriteStatus(cmd.Tag, "BAD", "", "Command not valid in this state")
		return nil
	}
	if err := s.uidOnlyRefusal(cmd); err != nil {
		s.answerError(cmd.Tag, cmd.Name, err) // BAD [UIDREQUIRED] (uidonly.go)
		return nil
	}
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("imap command panicked", "command", cmd.Name, "panic", r, "stack", string(debug.Stack()))
			// The response may be cut in the middle: close cleanly.
			s.c.w.WriteStatus("", "BYE", "SERVERBUG", "Internal error, closing connection")
			err = errCloseConn
		}
	}()
	if s.state == stateSelected {
		// The command works on the mailbox as committed when it starts
		// (SEARCH and STORE see a peer's flags); what changed is queued
		// and told at the end, when RFC 3501 §7.4.1 allows.
		s.refreshView()
	}
	var code string
	if err = s.checkSelectedRights(cmd); err == nil {
		code, err = h.run(s, cmd)
	}
	if errors.Is(err, errAnswered) {
		return nil
	}
	if errors.Is(err, errCloseConn) {
		return err
	}
	// Pending updates: EXPUNGE is not allowed during FETCH, STORE and
	// SEARCH (RFC 3501 §7.4.1); their UID forms may carry it.
	if s.state == stateSelected {
		s.pushUpdates(!h.noExpunge || cmd.UID || s.notifyExpungeAnytime())
		if s.selGone {
			// The mailbox is gone under us: nothing sensible can follow
			// (Dovecot does the same).
			s.c.w.WriteStatus("", "BYE", "", "Selected mailbox was deleted, closing connection")
			return errCloseConn
		}
	}
	s.notifyCommandDone(cmd, err == nil)
	name := cmd.Name
	if cmd.UID {
		name = "UID " + name
	}
	if err != nil {
		s.answerError(cmd.Tag, name, err)
		return nil
	}
	s.c.w.WriteStatus(cmd.Tag, "OK", code, name+" completed")
	return nil
}

// answerError turns a handler error into the tagged NO/BAD.
func (s *session) answerError(tag, name string, err error) {
	if pe := storeError(err, false); pe != nil {
		if pe.code == "OVERQUOTA" {
			s.writeOverQuota()
		}
		s.c.w.WriteStatus(tag, pe.status, pe.code, pe.text)
		return
	}
	s.log.Error("imap command failed", "command", name, "account", s.account.Name, "err", err)
	s.c.w.WriteStatus(tag, "NO", "SERVERBUG", name+" failed: internal error")
}

// handler is one command's entry in the dispatch table.
type handler struct {
	states state
	uid    bool // has a UID form
	// noExpunge: no EXPUNGE may be sent after this command (FETCH, STORE,
	// SEARCH without UID; RFC 3501 §7.4.1).
	noExpunge bool
	// quota: the command exists only when the store keeps quota
	// (RFC 9208); without it the command is unknown.
	quota bool
	// acl: the command exists only when the store keeps ACLs (RFC 4314).
	acl bool
	// run executes the command; the returned code goes into the tagged OK.
	run func(s *session, cmd *imap.Command) (code string, err error)
}

// commandTable maps command names (Command.Name) to handlers.
var commandTable map[string]handler

func init() {
	commandTable = map[string]handler{
		"CAPABILITY":   {states: anyState, run: (*session).cmdCapability},
		"NOOP":         {states: anyState, run: (*session).cmdNoop},
		"LOGOUT":       {states: anyState, run: (*session).cmdLogout},
		"STARTTLS":     {states: stateNotAuthenticated, run: (*session).cmdStartTLS},
		"LOGIN":        {states: stateNotAuthenticated, run: (*session).cmdLogin},
		"AUTHENTICATE": {states: stateNotAuthenticated, run: (*session).cmdAuthenticate},
		"ENABLE":       {states: authenticated, run: (*session).cmdEnable},
		"ID":           {states: anyState, run: (*session).cmdID},
		"SELECT":       {states: authenticated, run: (*session).cmdSelect},
		"EXAMINE":      {states: authenticated, run: (*session).cmdSelect},
		"CREATE":       {states: authenticated, run: (*session).cmdCreate},
		"DELETE":       {states: authenticated, run: (*session).cmdDelete},
		"RENAME":       {states: authenticated, run: (*session).cmdRename},
		"SUBSCRIBE":    {states: authenticated, run: (*session).cmdSubscribe},
		"UNSUBSCRIBE":  {states: authenticated, run: (*session).cmdSubscribe},
		"LIST":         {states: authenticated, run: (*session).cmdList},
		"LSUB":         {states: authenticated, run: (*session).cmdList},
		"NAMESPACE":    {states: authenticated, run: (*session).cmdNamespace},
		"STATUS":       {states: authenticated, run: (*session).cmdStatus},
		"APPEND":       {states: authenticated, run: (*session).cmdAppend},
		"GENURLAUTH":   {states: authenticated, run: (*session).cmdGenURLAuth},
		"RESETKEY":     {states: authenticated, run: (*session).cmdResetKey},
		"URLFETCH":     {states: authenticated, run: (*session).cmdURLFetch},
		"IDLE":         {states: authenticated, run: (*session).cmdIdle},
		"GETMETADATA":  {states: authenticated, run: (*session).cmdGetMetadata}, // metadata.go
		"SETMETADATA":  {states: authenticated, run: (*session).cmdSetMetadata},
		"CHECK":        {states: stateSelected, run: (*session).cmdNoop},
		"CLOSE":        {states: stateSelected, run: (*session).cmdClose},
		"UNSELECT":     {states: stateSelected, run: (*session).cmdUnselect},
		"EXPUNGE":      {states: stateSelected, uid: true, run: (*session).cmdExpunge},
		"SEARCH":       {states: stateSelected, uid: true, noExpunge: true, run: (*session).cmdSearch},
		"SORT":         {states: stateSelected, uid: true, noExpunge: true, run: (*session).cmdSort},
		"THREAD":       {states: stateSelected, uid: true, noExpunge: true, run: (*session).cmdThread},
		"CANCELUPDATE": {states: stateSelected, run: (*session).cmdCancelUpdate},
		"FETCH":        {states: stateSelected, uid: true, noExpunge: true, run: (*session).cmdFetch},
		"STORE":        {states: stateSelected, uid: true, noExpunge: true, run: (*session).cmdStore},
		"COPY":         {states: stateSelected, uid: true, run: (*session).cmdCopy},
		"MOVE":         {states: stateSelected, uid: true, run: (*session).cmdMove},
		"REPLACE":      {states: stateSelected, uid: true, run: (*session).cmdReplace}, // replace.go
		"NOTIFY":       {states: authenticated, run: (*session).cmdNotify},
		"GETQUOTA":     {states: authenticated, quota: true, run: (*session).cmdGetQuota},
		"GETQUOTAROOT": {states: authenticated, quota: true, run: (*session).cmdGetQuotaRoot},
		"SETQUOTA":     {states: authenticated, quota: true, run: (*session).cmdSetQuota},
		"COMPRESS":     {states: authenticated, run: (*session).cmdCompress},
		"SETACL":       {states: authenticated, acl: true, run: (*session).cmdSetACL}, // acl.go
		"DELETEACL":    {states: authenticated, acl: true, run: (*session).cmdDeleteACL},
		"GETACL":       {states: authenticated, acl: true, run: (*session).cmdGetACL},
		"LISTRIGHTS":   {states: authenticated, acl: true, run: (*session).cmdListRights},
		"MYRIGHTS":     {states: authenticated, acl: true, run: (*session).cmdMyRights},
	}
}

// drainFeed takes what the change feed has pending, without blocking, and
// notes whether the selected mailbox changed (or vanished). The feed is a
// hint: pushUpdates also asks the store for HIGHESTMODSEQ, so a change
// whose signal is still on its way (another node) is not missed either.
func (s *session) drainFeed() {
	if s.watcher == nil {
		return
	}
	changes, _ := s.watcher.Take()
	for _, ch := range changes {
		s.observeLag(ch)
		s.noteChange(ch)
		s.notifyNote(ch)
	}
	if s.selWatch != nil {
		// Another account's mailbox: only its own changes matter here.
		changes, _ := s.selWatch.Take()
		for _, ch := range changes {
			s.observeLag(ch)
			s.noteChange(ch)
		}
	}
}

// observeLag records a change's time on the feed when the session was
// waiting for it.
func (s *session) observeLag(ch store.Change) {
	if s.feedWaiting && !ch.At.IsZero() {
		s.srv.opts.Metrics.FeedLag("imap", time.Since(ch.At))
	}
}

// noteChange records a feed event.
func (s *session) noteChange(ch store.Change) {
	if s.sel == nil || ch.MailboxID != s.sel.id {
		return
	}
	switch ch.Kind {
	case store.MailboxChanged:
		if ch.ModSeq > s.sel.lastModSeq {
			s.changed = true
		}
	case store.MailboxRenamed:
		if ch.Mailbox != "" {
			s.sel.name = ch.Mailbox
		}
	case store.MailboxDeleted:
		s.selGone = true
	}
}

// pushUpdates brings the selected view up to date and writes the untagged
// responses allowed now. Every change committed before the command started
// is reported before its tagged OK (RFC 3501 §5.2, §7; RFC 9051 §5.2):
// the session compares the mailbox's committed HIGHESTMODSEQ (a memory read
// on SQLite, a primary-key read on PostgreSQL) with what it last learned and
// asks for the changes only when it moved. probe false skips the store
// (IDLE, woken by the feed, already knows).
func (s *session) pushUpdates(allowExpunge bool) {
	s.syncView(allowExpunge, true)
}

func (s *session) syncView(allowExpunge, probe bool) {
	if s.selRef.shared && !s.selRef.rights.Has(store.RightRead) {
		// Another account's mailbox this user may no longer read
		// (checkSelectedRights): nothing more of it is told.
		return
	}
	if !s.refreshViewProbe(probe) {
		return
	}
	v := s.sel
	if v.hasPending() || len(s.updates) > 0 {
		before := v.maxUID()
		s.flushView(allowExpunge)
		s.notifyFetchNew(before)
	}
	v.advancePin()
}

// refreshView queues what changed in the selected mailbox since the view
// last looked, without telling the client yet.
func (s *session) refreshView() { s.refreshViewProbe(true) }

// refreshViewProbe is refreshView; probe false trusts the feed alone. It
// reports whether a view is selected and still exists.
func (s *session) refreshViewProbe(probe bool) bool {
	s.drainFeed()
	v := s.sel
	if v == nil || s.selGone {
		return false
	}
	if probe && !s.changed {
		hms, err := v.mbox.HighestModSeq(s.ctx)
		if err != nil {
			s.log.Error("imap highestmodseq probe failed", "mailbox", v.name, "err", err)
		} else if hms > v.lastModSeq {
			s.changed = true
		}
	}
	if s.changed {
		s.changed = false
		if err := v.refresh(s.ctx); err != nil {
			s.log.Error("imap refresh failed", "mailbox", v.name, "err", err)
			return false
		}
	}
	return true
}

// writeUpdates writes untagged EXPUNGE/VANISHED/EXISTS/RECENT/FETCH
// responses (RFC 3501 §7.3.1, §7.4.1, RFC 7162 §3.2.10).
func (s *session) writeUpdates(ups []update) {
	w := s.c.w
	for _, u := range ups {
		switch u.kind {
		case updExpunge:
			w.Untagged(fmt.Sprintf("%d EXPUNGE", u.seq))
		case updVanished:
			w.StartUntagged()
			w.Raw("VANISHED ")
			w.SeqSet(uidSet(u.uids))
			w.CRLF()
		case updExists:
			s.announceKeywords(u.flags) // new messages may bring new keywords
			w.Untagged(fmt.Sprintf("%d EXISTS", u.seq))
		case updRecent:
			w.Untagged(fmt.Sprintf("%d RECENT", u.seq))
		case updFlags:
			s.announceKeywords(u.flags)
			if !s.startFetch(u.seq, u.uid) {
				w.Raw("UID ")
				w.Number(uint64(u.uid))
				w.SP()
			}
			w.Raw("FLAGS ")
			w.Flags(s.flagsForClient(u.flags, u.recent))
			if s.condstore {
				w.Raw(" MODSEQ (")
				w.Number(uint64(u.modseq))
				w.CloseList()
			}
			w.CloseList()
			w.CRLF()
		}
	}
}

// flagsForClient adds \Recent for IMAP4rev1 sessions (RFC 9051 removed it).
func (s *session) flagsForClient(flags []string, recent bool) []string {
	if !recent || s.rev2 {
		return flags
	}
	out := make([]string, 0, len(flags)+1)
	out = append(out, flags...)
	return append(out, `\Recent`)
}

// uidSet turns UIDs into a compact sequence set.
func uidSet(uids []store.UID) imap.SeqSet {
	nums := make([]uint32, len(uids))
	for i, u := range uids {
		nums[i] = uint32(u)
	}
	return imap.SeqSetFromNumbers(nums)
}

// commandLabel names cmd for the metrics: a name of the command table
// (with "UID " for UID forms), else "unknown", so the label set stays
// bounded whatever clients send.
func commandLabel(cmd *imap.Command) string {
	if _, ok := commandTable[cmd.Name]; !ok {
		return "unknown"
	}
	if cmd.UID {
		return "UID " + cmd.Name
	}
	return cmd.Name
}
