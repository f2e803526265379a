package imapcheck

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"time"
)

// transcriptLines is how many lines of each session's recent traffic a
// violation report shows.
const transcriptLines = 80

// session is one client connection with its own view of the mailbox,
// changed only by the untagged responses it receives.
type session struct {
	id   int
	addr string
	c    *checker
	rng  *rand.Rand
	nc   net.Conn
	br   *bufio.Reader
	n    int

	qresync bool // ENABLE QRESYNC: expunges arrive as VANISHED
	rev2    bool // ENABLE IMAP4rev2: ESEARCH, no \Recent

	// The view: parallel slices, index i is sequence number i+1. uid 0 is
	// a message announced by EXISTS whose UID is not learned yet.
	uids   []uint32
	flags  []string // canonical
	fknown []bool
	// keywords announced by * FLAGS (lower-case).
	keywords    map[string]bool
	uidValidity uint32

	selected   bool
	trans      []string
	cur        *command
	loggingOut bool
	dead       bool
	cmds       map[string]int
}

// command is one command in flight and what came back for it.
type command struct {
	name    string // for statistics ("UID FETCH")
	text    string // after the tag
	lit     []byte // APPEND's message
	litSync bool   // synchronising literal: wait for "+"
	idle    time.Duration
	isIdle  bool
	// allowExpunge: EXPUNGE/VANISHED may come (not FETCH, STORE, SEARCH by
	// sequence number; RFC 3501 §7.4.1).
	allowExpunge bool

	tag        string
	sent, done int64
	status     string
	code       string
	rtext      string

	fetches    []*fetchData
	searchSeen bool
	search     []uint32
	searchView []uint32 // the view when the SEARCH response arrived
	okCodes    []string // codes of untagged OK responses
	removed    []uint32 // UIDs removed from the view while it ran
	statusResp *response
}

// fetchData is one untagged FETCH response.
type fetchData struct {
	seq   uint32
	uid   uint32 // from the UID item or the view; 0 when unknown
	items map[string]value
}

func (s *session) tick() int64 { return s.c.m.tick() }

// note adds a line to the transcript.
func (s *session) note(dir string, t int64, line string) {
	if len(line) > 400 {
		line = line[:400] + "…"
	}
	prefix := "        "
	if t > 0 {
		prefix = fmt.Sprintf("t%-7d", t)
	}
	s.trans = append(s.trans, prefix+dir+" "+line)
	if len(s.trans) > 2*transcriptLines {
		s.trans = append([]string(nil), s.trans[len(s.trans)-transcriptLines:]...)
	}
}

func (s *session) transcript() []string {
	t := s.trans
	if len(t) > transcriptLines {
		t = t[len(t)-transcriptLines:]
	}
	return append([]string(nil), t...)
}

// fail records a violation with this session's transcript.
func (s *session) fail(kind, format string, args ...any) {
	s.c.violation(Violation{
		Session:    s.id,
		Addr:       s.addr,
		Kind:       kind,
		Msg:        fmt.Sprintf(format, args...),
		Transcript: s.transcript(),
	})
}

// errDead ends a session after a connection-level failure.
type errDead struct{ err error }

func (e errDead) Error() string { return e.err.Error() }

func (s *session) write(b []byte) error {
	s.nc.SetWriteDeadline(time.Now().Add(s.c.cfg.Timeout))
	if _, err := s.nc.Write(b); err != nil {
		s.fail("connection", "write: %v", err)
		s.dead = true
		return errDead{err}
	}
	return nil
}

func (s *session) read() (*response, error) {
	s.nc.SetReadDeadline(time.Now().Add(s.c.cfg.Timeout))
	r, err := readResponse(s.br)
	if err != nil {
		what := "read"
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			what = "no answer within " + s.c.cfg.Timeout.String()
		}
		if s.cur != nil {
			s.fail("connection", "%s while waiting for %s: %v", what, s.cur.tag, err)
		} else {
			s.fail("connection", "%s: %v", what, err)
		}
		s.dead = true
		return nil, errDead{err}
	}
	return r, nil
}

// run sends cmd and reads every response up to its tagged one.
func (s *session) run(cmd *command) error {
	if s.dead {
		return errDead{fmt.Errorf("session is dead")}
	}
	s.n++
	cmd.tag = "s" + strconv.Itoa(s.id) + "x" + strconv.Itoa(s.n)
	s.cur = cmd
	defer func() { s.cur = nil }()
	s.cmds[cmd.name]++
	cmd.sent = s.tick()
	line := cmd.tag + " " + cmd.text
	s.note("C:", cmd.sent, line)
	if err := s.write([]byte(line + "\r\n")); err != nil {
		return err
	}
	if cmd.lit != nil {
		if cmd.litSync {
			done, err := s.readUntilContinuation(cmd)
			if err != nil || done {
				return err
			}
		}
		s.note("C:", 0, short(string(cmd.lit)))
		if err := s.write(append(append([]byte{}, cmd.lit...), "\r\n"...)); err != nil {
			return err
		}
	}
	if cmd.isIdle {
		done, err := s.readUntilContinuation(cmd)
		if err != nil || done {
			return err
		}
		time.Sleep(cmd.idle)
		s.note("C:", 0, "DONE")
		if err := s.write([]byte("DONE\r\n")); err != nil {
			return err
		}
	}
	for {
		r, err := s.read()
		if err != nil {
			return err
		}
		if r.tag == cmd.tag {
			s.finish(cmd, r)
			return nil
		}
		s.handle(r)
	}
}

// readUntilContinuation reads until "+"; done reports that the tagged
// response came instead.
func (s *session) readUntilContinuation(cmd *command) (done bool, err error) {
	for {
		r, err := s.read()
		if err != nil {
			return false, err
		}
		switch r.tag {
		case "+":
			s.note("S:", 0, r.show)
			return false, nil
		case cmd.tag:
			s.finish(cmd, r)
			return true, nil
		}
		s.handle(r)
	}
}

func (s *session) finish(cmd *command, r *response) {
	cmd.done = s.tick()
	s.note("S:", cmd.done, r.show)
	cmd.status, cmd.code, cmd.rtext = r.status, r.code, r.text
	if r.status == "OK" {
		return
	}
	kind := strings.ToLower(r.status)
	if strings.HasPrefix(strings.ToUpper(r.code), "SERVERBUG") {
		kind = "serverbug"
	}
	s.fail(kind, "%s answered %q", cmd.name, r.show)
}

// handle applies one response that is not the current command's tagged one.
func (s *session) handle(r *response) {
	s.note("S:", 0, r.show)
	cmd := s.cur
	if r.tag != "*" {
		s.fail("protocol", "unexpected response %q", r.show)
		return
	}
	if r.status != "" {
		switch r.status {
		case "BYE":
			if !s.loggingOut {
				s.fail("bye", "unexpected BYE: %q", r.show)
			}
		case "NO", "BAD":
			s.fail(strings.ToLower(r.status), "untagged %s: %q", r.status, r.show)
		case "OK":
			if r.code != "" && cmd != nil {
				cmd.okCodes = append(cmd.okCodes, r.code)
			}
			if strings.HasPrefix(strings.ToUpper(r.code), "UIDVALIDITY ") {
				v, _ := strconv.ParseUint(strings.Fields(r.code)[1], 10, 32)
				s.uidValidity = uint32(v)
			}
		}
		return
	}
	switch r.name {
	case "EXISTS":
		n := int(r.num)
		if n < len(s.uids) {
			s.fail("exists", "* %d EXISTS while the session sees %d messages (EXISTS may not shrink without EXPUNGE)", n, len(s.uids))
			return
		}
		for len(s.uids) < n {
			s.uids = append(s.uids, 0)
			s.flags = append(s.flags, "")
			s.fknown = append(s.fknown, false)
		}
	case "RECENT":
	case "EXPUNGE":
		if cmd == nil || !cmd.allowExpunge {
			s.fail("expunge-forbidden", "* %d EXPUNGE during a command that forbids it (RFC 3501 §7.4.1)", r.num)
		}
		n := int(r.num)
		if n < 1 || n > len(s.uids) {
			s.fail("expunge-range", "* %d EXPUNGE but the session sees %d messages", n, len(s.uids))
			return
		}
		s.removeAt(n-1, cmd)
	case "VANISHED":
		s.vanished(r)
	case "FETCH":
		s.fetch(r)
	case "FLAGS":
		if len(r.args) != 1 || r.args[0].kind != vList {
			s.fail("protocol", "bad FLAGS response %q", r.show)
			return
		}
		for _, f := range r.args[0].list {
			if !strings.HasPrefix(f.s, `\`) {
				s.keywords[strings.ToLower(f.s)] = true
			}
		}
	case "SEARCH":
		if cmd == nil {
			s.fail("protocol", "unsolicited SEARCH")
			return
		}
		cmd.searchSeen = true
		cmd.searchView = append([]uint32(nil), s.uids...)
		for _, a := range r.args {
			if a.kind != vAtom {
				continue // (MODSEQ n)
			}
			n, err := strconv.ParseUint(a.s, 10, 32)
			if err != nil {
				s.fail("protocol", "bad SEARCH response %q", r.show)
				return
			}
			cmd.search = append(cmd.search, uint32(n))
		}
	case "ESEARCH":
		if cmd == nil {
			s.fail("protocol", "unsolicited ESEARCH")
			return
		}
		cmd.searchSeen = true
		cmd.searchView = append([]uint32(nil), s.uids...)
		args := r.args
		if len(args) > 0 && args[0].kind == vList {
			args = args[1:]
		}
		if len(args) > 0 && strings.EqualFold(args[0].s, "UID") {
			args = args[1:]
		}
		for i := 0; i+1 < len(args); i += 2 {
			if strings.EqualFold(args[i].s, "ALL") {
				nums, err := parseSet(args[i+1].s)
				if err != nil {
					s.fail("protocol", "bad ESEARCH response %q", r.show)
					return
				}
				cmd.search = append(cmd.search, nums...)
			}
		}
	case "STATUS":
		if cmd != nil {
			cmd.statusResp = r
		}
	case "ENABLED", "CAPABILITY", "LIST", "LSUB", "NAMESPACE", "ID":
	default:
		s.fail("protocol", "unexpected untagged response %q", r.show)
	}
}

// removeAt drops index i from the view (an EXPUNGE or VANISHED).
func (s *session) removeAt(i int, cmd *command) {
	if cmd != nil {
		cmd.removed = append(cmd.removed, s.uids[i])
	}
	s.uids = append(s.uids[:i], s.uids[i+1:]...)
	s.flags = append(s.flags[:i], s.flags[i+1:]...)
	s.fknown = append(s.fknown[:i], s.fknown[i+1:]...)
}

func (s *session) indexOf(uid uint32) int {
	for i, u := range s.uids {
		if u == uid {
			return i
		}
	}
	return -1
}

// vanished applies * VANISHED (RFC 7162 §3.2.10).
func (s *session) vanished(r *response) {
	cmd := s.cur
	if len(r.args) == 2 && r.args[0].kind == vList {
		return // VANISHED (EARLIER): never asked for; ignored
	}
	if len(r.args) != 1 {
		s.fail("protocol", "bad VANISHED response %q", r.show)
		return
	}
	if !s.qresync {
		s.fail("protocol", "VANISHED without ENABLE QRESYNC")
	}
	if cmd == nil || !cmd.allowExpunge {
		s.fail("expunge-forbidden", "VANISHED during a command that forbids expunges (RFC 3501 §7.4.1, RFC 7162 §3.2.10)")
	}
	uids, err := parseSet(r.args[0].s)
	if err != nil {
		s.fail("protocol", "bad VANISHED set in %q", r.show)
		return
	}
	for _, u := range uids {
		if i := s.indexOf(u); i >= 0 {
			s.removeAt(i, cmd)
			continue
		}
		// Perhaps one of the messages announced by EXISTS whose UID we
		// have not learned: the one between the known UIDs around u
		// (those in one gap are all alike).
		if i := s.gapFor(u); i >= 0 {
			s.removeAt(i, cmd)
		}
	}
}

// gapFor returns the index of a message of unknown UID that could be uid
// (the known UIDs before it are lower, those after it higher), or -1.
func (s *session) gapFor(uid uint32) int {
	gap := -1 // first unknown since the last known UID
	for i, u := range s.uids {
		switch {
		case u == 0:
			if gap < 0 {
				gap = i
			}
		case u < uid:
			gap = -1
		default:
			return gap
		}
	}
	return gap
}

// fetch applies and checks one * n FETCH response.
func (s *session) fetch(r *response) {
	cmd := s.cur
	seq := int(r.num)
	if seq < 1 || seq > len(s.uids) {
		s.fail("fetch-range", "* %d FETCH but the session sees %d messages", seq, len(s.uids))
		return
	}
	if len(r.args) != 1 || r.args[0].kind != vList || len(r.args[0].list)%2 != 0 {
		s.fail("protocol", "bad FETCH response %q", r.show)
		return
	}
	fd := &fetchData{seq: uint32(seq), items: map[string]value{}}
	list := r.args[0].list
	for i := 0; i < len(list); i += 2 {
		name := strings.ToUpper(list[i].s)
		if _, dup := fd.items[name]; dup {
			s.fail("fetch-duplicate-item", "FETCH response names %s twice: %q", name, r.show)
		}
		fd.items[name] = list[i+1]
	}
	i := seq - 1
	if v, ok := fd.items["UID"]; ok {
		u, err := strconv.ParseUint(v.s, 10, 32)
		if err != nil || u == 0 {
			s.fail("protocol", "bad UID in %q", r.show)
			return
		}
		if s.uids[i] != 0 && s.uids[i] != uint32(u) {
			s.fail("fetch-uid-mismatch", "* %d FETCH says UID %d but sequence number %d is UID %d in this session's view", seq, u, seq, s.uids[i])
			return
		}
		s.uids[i] = uint32(u)
	}
	fd.uid = s.uids[i]
	if v, ok := fd.items["FLAGS"]; ok {
		if v.kind != vList {
			s.fail("protocol", "bad FLAGS in %q", r.show)
			return
		}
		var fl []string
		for _, f := range v.list {
			fl = append(fl, f.s)
			if !strings.HasPrefix(f.s, `\`) && !s.keywords[strings.ToLower(f.s)] {
				s.fail("keyword-unannounced", "FETCH shows keyword %s that no * FLAGS response announced to this session before (RFC 3501 §7.2.6)", f.s)
			}
		}
		s.flags[i] = canon(fl)
		s.fknown[i] = true
	}
	body, hasBody := fd.items["BODY[]"]
	size, hasSize := fd.items["RFC822.SIZE"]
	if hasBody && body.kind != vString {
		s.fail("content", "BODY[] of UID %d is %s, not the message", fd.uid, body.String())
		hasBody = false
	}
	if hasBody || hasSize {
		obs := contentObs{uid: fd.uid, size: -1, session: s.id}
		if hasBody {
			obs.hash = hashOf([]byte(body.s))
			if hasSize {
				if n, err := strconv.Atoi(size.s); err != nil || n != len(body.s) {
					s.fail("content", "UID %d: RFC822.SIZE %s but BODY[] has %d octets", fd.uid, size.s, len(body.s))
				}
			}
		}
		if hasSize {
			n, err := strconv.Atoi(size.s)
			if err != nil {
				s.fail("protocol", "bad RFC822.SIZE in %q", r.show)
			}
			obs.size = n
		}
		s.checkContent(obs)
	}
	if cmd != nil {
		cmd.fetches = append(cmd.fetches, fd)
	}
}

// checkContent compares fetched content with what was appended for the
// UID, or keeps it for later when the UID's append has not committed yet.
func (s *session) checkContent(obs contentObs) {
	if obs.uid == 0 {
		return // announced during this command, not asked for
	}
	m := s.c.m
	m.mu.Lock()
	x := m.msgs[obs.uid]
	if x == nil {
		obs.transcript = strings.Join(s.transcript(), "\n")
		m.pendingObs = append(m.pendingObs, obs)
		m.mu.Unlock()
		return
	}
	m.mu.Unlock()
	if msg := contentMismatch(x, obs); msg != "" {
		s.fail("content", "%s", msg)
	}
}

func contentMismatch(x *msg, obs contentObs) string {
	if obs.hash != "" && obs.hash != x.hash {
		return fmt.Sprintf("BODY[] of UID %d is not what was appended (%s): sha256 %s…, want %s… (%d octets)", x.uid, x.origin, obs.hash[:12], x.hash[:12], x.size)
	}
	if obs.size >= 0 && obs.size != x.size {
		return fmt.Sprintf("RFC822.SIZE of UID %d is %d, want %d (%s)", x.uid, obs.size, x.size, x.origin)
	}
	return ""
}
