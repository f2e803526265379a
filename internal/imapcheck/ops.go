package imapcheck

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The random commands. Each one records in the model what it is about to
// change before it is sent (the change may be visible from then on) and
// commits it after its tagged OK (it must be visible from then on).

var systemFlags = []string{`\Seen`, `\Answered`, `\Flagged`, `\Draft`, `\Deleted`}

// step runs one random command.
func (s *session) step() error {
	m := s.c.m
	m.mu.Lock()
	size := len(m.live)
	m.mu.Unlock()
	target := s.c.cfg.TargetSize
	w := []struct {
		weight int
		op     func() error
	}{
		{15, s.opAppend},
		{7, s.opCopy},
		{5, s.opMove},
		{22, s.opStore},
		{5, s.opExpunge},
		{20, s.opFetch},
		{10, s.opSearch},
		{6, s.opNoop},
		{8, s.opIdle},
	}
	switch {
	case size < target/3:
		w[0].weight, w[4].weight = 40, 1
	case size > target*2:
		w[0].weight, w[4].weight, w[2].weight = 3, 15, 10
	}
	total := 0
	for _, x := range w {
		total += x.weight
	}
	k := s.rng.IntN(total)
	for _, x := range w {
		if k < x.weight {
			return x.op()
		}
		k -= x.weight
	}
	return nil
}

// keyword picks an existing keyword or, sometimes, a new one.
func (s *session) keyword() string {
	m := s.c.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.nextKW == 0 || (m.nextKW < s.c.cfg.MaxKeywords && s.rng.IntN(4) == 0) {
		m.nextKW++
		return "$kw" + strconv.Itoa(m.nextKW-1)
	}
	return "$kw" + strconv.Itoa(s.rng.IntN(m.nextKW))
}

// randomFlags picks a few flags; \Deleted only when allowDeleted.
func (s *session) randomFlags(allowDeleted bool, min int) []string {
	var out []string
	for len(out) < min || s.rng.IntN(3) == 0 {
		if len(out) > 4 {
			break
		}
		var f string
		if s.rng.IntN(3) == 0 {
			f = s.keyword()
		} else {
			f = systemFlags[s.rng.IntN(len(systemFlags))]
			if f == `\Deleted` && !allowDeleted {
				continue
			}
		}
		dup := false
		for _, g := range out {
			dup = dup || strings.EqualFold(g, f)
		}
		if !dup {
			out = append(out, f)
		}
	}
	return out
}

// body makes a new message body, or returns one appended before.
func (s *session) body() []byte {
	m := s.c.m
	m.mu.Lock()
	if len(m.bodies) > 0 && s.rng.IntN(5) == 0 {
		b := m.bodies[s.rng.IntN(len(m.bodies))]
		m.mu.Unlock()
		return b
	}
	id := m.tick()
	m.mu.Unlock()
	var sb strings.Builder
	fmt.Fprintf(&sb, "From: session%d@imapcheck.test\r\nTo: check@imapcheck.test\r\nSubject: message %d of session %d\r\nMessage-ID: <%d.%d.%d@imapcheck.test>\r\n\r\n", s.id, id, s.id, id, s.id, s.c.cfg.Seed)
	lines := s.rng.IntN(20)
	if s.rng.IntN(100) == 0 {
		lines = 5000 // larger than a 256 KiB chunk
	}
	for i := 0; i < lines; i++ {
		n := s.rng.IntN(70)
		for j := 0; j < n; j++ {
			sb.WriteByte(byte('a' + s.rng.IntN(26)))
		}
		sb.WriteString("\r\n")
	}
	b := []byte(sb.String())
	m.mu.Lock()
	if len(m.bodies) < 64 {
		m.bodies = append(m.bodies, b)
	} else {
		m.bodies[s.rng.IntN(len(m.bodies))] = b
	}
	m.mu.Unlock()
	return b
}

func (s *session) opAppend() error {
	cfg := s.c.cfg
	m := s.c.m
	body := s.body()
	var flags []string
	if s.rng.IntN(2) == 0 {
		flags = s.randomFlags(false, 1)
	}
	mailbox := cfg.Mailbox
	other := s.rng.IntN(8) == 0
	if other {
		mailbox = cfg.Other
	}
	plus := "+"
	sync := s.rng.IntN(3) == 0
	if sync {
		plus = ""
	}
	cmd := &command{
		name:         "APPEND",
		text:         fmt.Sprintf("APPEND %s (%s) {%d%s}", mailbox, strings.Join(flags, " "), len(body), plus),
		lit:          body,
		litSync:      sync,
		allowExpunge: true,
	}
	m.mu.Lock()
	t := m.tick()
	if !other {
		m.pendingAdds++
	}
	m.mu.Unlock()
	err := s.run(cmd)
	m.mu.Lock()
	t2 := m.tick()
	if !other {
		m.pendingAdds--
	}
	if err == nil && cmd.status == "OK" {
		f := strings.Fields(cmd.code)
		if len(f) != 3 || !strings.EqualFold(f[0], "APPENDUID") {
			m.mu.Unlock()
			s.fail("uidplus", "APPEND OK without APPENDUID (RFC 4315 §3): %q", cmd.code)
			return nil
		}
		uid, _ := strconv.ParseUint(f[2], 10, 32)
		if other {
			m.otherCount++
		} else {
			if x := m.msgs[uint32(uid)]; x != nil {
				m.mu.Unlock()
				s.fail("uid-reuse", "APPEND got UID %d, already used by %s", uid, x.origin)
				return nil
			}
			if v, _ := strconv.ParseUint(f[1], 10, 32); uint32(v) != m.uidValidity {
				m.mu.Unlock()
				s.fail("uidplus", "APPENDUID UIDVALIDITY %s, the mailbox has %d", f[1], m.uidValidity)
				return nil
			}
			by := fmt.Sprintf("APPEND %s by session %d", cmd.tag, s.id)
			m.add(&msg{
				uid: uint32(uid), hash: hashOf(body), size: len(body),
				addSend: t, addOK: t2, origin: by,
				states: []fstate{{send: t, ok: t2, flags: canon(flags), by: by}},
			})
		}
	}
	m.mu.Unlock()
	if err != nil {
		return err
	}
	return s.afterCommand(cmd)
}

// pickLockable chooses up to k messages of the view that are live in the
// model and locks them (the caller holds m.ex shared).
func (s *session) pickLockable(k int) []*msg {
	m := s.c.m
	idx := s.rng.Perm(len(s.uids))
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*msg
	for _, i := range idx {
		if len(out) >= k {
			break
		}
		x := m.live[s.uids[i]]
		if x == nil || x.locked {
			continue
		}
		x.locked = true
		out = append(out, x)
	}
	return out
}

func (s *session) unlock(xs []*msg) {
	m := s.c.m
	m.mu.Lock()
	for _, x := range xs {
		x.locked = false
	}
	m.mu.Unlock()
}

// setFor writes the messages as a UID set or a sequence set.
func (s *session) setFor(xs []*msg, byUID bool) string {
	nums := make([]uint32, 0, len(xs))
	for _, x := range xs {
		if byUID {
			nums = append(nums, x.uid)
		} else {
			nums = append(nums, uint32(s.indexOf(x.uid)+1))
		}
	}
	return formatSet(nums)
}

func uidPrefix(byUID bool) string {
	if byUID {
		return "UID "
	}
	return ""
}

func (s *session) opStore() error {
	m := s.c.m
	m.ex.RLock()
	defer m.ex.RUnlock()
	xs := s.pickLockable(1 + s.rng.IntN(4))
	if len(xs) == 0 {
		return s.opFetch()
	}
	defer s.unlock(xs)
	op := []string{"+", "-", ""}[s.rng.IntN(3)]
	min := 1
	if op == "" {
		min = 0
	}
	flags := s.randomFlags(true, min)
	silent := ""
	if s.rng.IntN(4) == 0 {
		silent = ".SILENT"
	}
	byUID := s.rng.IntN(2) == 0
	cmd := &command{
		name:         uidPrefix(byUID) + "STORE",
		text:         fmt.Sprintf("%sSTORE %s %sFLAGS%s (%s)", uidPrefix(byUID), s.setFor(xs, byUID), op, silent, strings.Join(flags, " ")),
		allowExpunge: byUID,
	}
	want := map[uint32]string{}
	m.mu.Lock()
	t := m.tick()
	for _, x := range xs {
		nf := applyStore(x.latest().flags, op, flags)
		want[x.uid] = nf
		x.states = append(x.states, fstate{send: t, ok: never, flags: nf, by: fmt.Sprintf("%s by session %d", cmd.text, s.id)})
	}
	m.mu.Unlock()
	err := s.run(cmd)
	m.mu.Lock()
	t2 := m.tick()
	for _, x := range xs {
		x.states[len(x.states)-1].ok = t2
	}
	m.mu.Unlock()
	if err != nil {
		return err
	}
	if silent != "" && cmd.status == "OK" {
		// The client knows what it asked for: no FETCH comes (RFC 3501 §6.4.6).
		for _, x := range xs {
			if i := s.indexOf(x.uid); i >= 0 {
				s.flags[i] = want[x.uid]
			}
		}
	}
	for _, fd := range cmd.fetches {
		if v, ok := fd.items["FLAGS"]; ok {
			if w, mine := want[fd.uid]; mine {
				var fl []string
				for _, f := range v.list {
					fl = append(fl, f.s)
				}
				if got := canon(fl); got != w {
					s.fail("store-result", "STORE reported UID %d with flags (%s), want (%s)", fd.uid, got, w)
				}
			}
		}
	}
	return s.afterCommand(cmd)
}

func (s *session) opCopy() error { return s.copyMove(false) }
func (s *session) opMove() error { return s.copyMove(true) }

func (s *session) copyMove(move bool) error {
	cfg := s.c.cfg
	m := s.c.m
	m.ex.RLock()
	defer m.ex.RUnlock()
	xs := s.pickLockable(1 + s.rng.IntN(3))
	if len(xs) == 0 {
		return s.opFetch()
	}
	defer s.unlock(xs)
	dest := cfg.Mailbox
	toOther := s.rng.IntN(2) == 0
	if toOther {
		dest = cfg.Other
	}
	byUID := s.rng.IntN(2) == 0
	verb := "COPY"
	if move {
		verb = "MOVE"
	}
	cmd := &command{
		name:         uidPrefix(byUID) + verb,
		text:         fmt.Sprintf("%s%s %s %s", uidPrefix(byUID), verb, s.setFor(xs, byUID), dest),
		allowExpunge: true,
	}
	by := fmt.Sprintf("%s by session %d", cmd.text, s.id)
	m.mu.Lock()
	t := m.tick()
	if !toOther {
		m.pendingAdds++
	}
	if move {
		for _, x := range xs {
			m.startRemove(x, t, by)
		}
	}
	m.mu.Unlock()
	err := s.run(cmd)
	m.mu.Lock()
	t2 := m.tick()
	if !toOther {
		m.pendingAdds--
	}
	if move {
		for _, x := range xs {
			x.remOK = t2
		}
	}
	var problem string
	if err == nil && cmd.status == "OK" {
		problem = s.commitCopy(cmd, xs, toOther, t, t2, by)
	}
	m.mu.Unlock()
	if problem != "" {
		s.fail("uidplus", "%s", problem)
	}
	if err != nil {
		return err
	}
	if err := s.afterCommand(cmd); err != nil {
		return err
	}
	if move {
		for _, x := range xs {
			if s.indexOf(x.uid) >= 0 {
				s.fail("move", "after MOVE the session still sees source UID %d (RFC 6851 §3.3: the server expunges it)", x.uid)
			}
		}
	}
	return nil
}

// commitCopy records the copies named by COPYUID (m.mu held).
func (s *session) commitCopy(cmd *command, xs []*msg, toOther bool, t, t2 int64, by string) string {
	m := s.c.m
	code := cmd.code
	for _, c := range cmd.okCodes {
		if strings.HasPrefix(strings.ToUpper(c), "COPYUID ") {
			code = c
		}
	}
	f := strings.Fields(code)
	if len(f) != 4 || !strings.EqualFold(f[0], "COPYUID") {
		return fmt.Sprintf("%s OK without COPYUID (RFC 4315 §3, RFC 6851 §4.3): %q", cmd.name, code)
	}
	src, err1 := parseSet(f[2])
	dst, err2 := parseSet(f[3])
	if err1 != nil || err2 != nil || len(src) != len(dst) {
		return fmt.Sprintf("bad COPYUID %q", code)
	}
	bySrc := map[uint32]*msg{}
	for _, x := range xs {
		bySrc[x.uid] = x
	}
	if len(src) != len(xs) {
		return fmt.Sprintf("COPYUID %q names %d source messages, %d were copied", code, len(src), len(xs))
	}
	if toOther {
		m.otherCount += len(src)
		return ""
	}
	for i, su := range src {
		x := bySrc[su]
		if x == nil {
			return fmt.Sprintf("COPYUID %q names source UID %d, not copied", code, su)
		}
		if y := m.msgs[dst[i]]; y != nil {
			return fmt.Sprintf("COPYUID %q gives UID %d, already used by %s", code, dst[i], y.origin)
		}
		fl := x.latest().flags
		m.add(&msg{
			uid: dst[i], hash: x.hash, size: x.size,
			addSend: t, addOK: t2, origin: fmt.Sprintf("%s (UID %d → %d)", by, su, dst[i]),
			states: []fstate{{send: t, ok: t2, flags: fl, by: by}},
		})
	}
	return ""
}

func (s *session) opExpunge() error {
	m := s.c.m
	m.ex.Lock()
	defer m.ex.Unlock()
	byUID := s.rng.IntN(2) == 0 && len(s.uids) > 0
	var within map[uint32]bool
	text := "EXPUNGE"
	if byUID {
		within = map[uint32]bool{}
		var set []uint32
		for _, u := range s.uids {
			if s.rng.IntN(2) == 0 {
				within[u] = true
				set = append(set, u)
			}
		}
		if len(set) == 0 {
			set = append(set, s.uids[0])
			within[s.uids[0]] = true
		}
		text = "UID EXPUNGE " + formatSet(set)
	}
	cmd := &command{name: "EXPUNGE", text: text, allowExpunge: true}
	if byUID {
		cmd.name = "UID EXPUNGE"
	}
	by := fmt.Sprintf("%s by session %d", text, s.id)
	var gone []*msg
	m.mu.Lock()
	t := m.tick()
	for _, x := range m.live {
		if hasFlag(x.latest().flags, `\deleted`) && (within == nil || within[x.uid]) {
			gone = append(gone, x)
		}
	}
	for _, x := range gone {
		m.startRemove(x, t, by)
	}
	m.mu.Unlock()
	err := s.run(cmd)
	m.mu.Lock()
	t2 := m.tick()
	for _, x := range gone {
		x.remOK = t2
	}
	m.mu.Unlock()
	if err != nil {
		return err
	}
	if err := s.afterCommand(cmd); err != nil {
		return err
	}
	for _, x := range gone {
		if s.indexOf(x.uid) >= 0 {
			s.fail("expunge-incomplete", "after %s the session still sees UID %d, whose \\Deleted (%s) committed before the EXPUNGE was sent", text, x.uid, x.latest().by)
		}
	}
	return nil
}

var fetchItemSets = []struct {
	items string
	names []string
}{
	{"(UID FLAGS)", []string{"UID", "FLAGS"}},
	{"(FLAGS)", []string{"FLAGS"}},
	{"(UID RFC822.SIZE BODY.PEEK[])", []string{"UID", "RFC822.SIZE", "BODY[]"}},
	{"(FLAGS BODY.PEEK[] RFC822.SIZE)", []string{"FLAGS", "BODY[]", "RFC822.SIZE"}},
	{"(BODY.PEEK[])", []string{"BODY[]"}},
	{"(UID)", []string{"UID"}},
	{"(RFC822.SIZE UID FLAGS)", []string{"RFC822.SIZE", "UID", "FLAGS"}},
	// An item asked for twice is still answered once (each FETCH
	// response names an item once).
	{"(UID FLAGS UID)", []string{"UID", "FLAGS"}},
}

func (s *session) opFetch() error {
	n := len(s.uids)
	if n == 0 {
		return s.opNoop()
	}
	var seqs []uint32
	switch s.rng.IntN(4) {
	case 0:
		for i := 1; i <= n; i++ {
			seqs = append(seqs, uint32(i))
		}
	case 1:
		seqs = append(seqs, uint32(1+s.rng.IntN(n)))
	default:
		a := 1 + s.rng.IntN(n)
		b := min(n, a+s.rng.IntN(8))
		for i := a; i <= b; i++ {
			seqs = append(seqs, uint32(i))
		}
	}
	is := fetchItemSets[s.rng.IntN(len(fetchItemSets))]
	byUID := s.rng.IntN(3) == 0
	set := formatSet(seqs)
	if byUID {
		uids := make([]uint32, len(seqs))
		for i, q := range seqs {
			uids[i] = s.uids[q-1]
		}
		set = formatSet(uids)
	} else if len(seqs) == n && n > 1 && s.rng.IntN(2) == 0 {
		set = "1:*"
	}
	cmd := &command{
		name:         uidPrefix(byUID) + "FETCH",
		text:         fmt.Sprintf("%sFETCH %s %s", uidPrefix(byUID), set, is.items),
		allowExpunge: byUID,
	}
	names := is.names
	if byUID {
		names = append([]string{"UID"}, names...)
	}
	wantUIDs := make([]uint32, len(seqs))
	for i, q := range seqs {
		wantUIDs[i] = s.uids[q-1]
	}
	if err := s.run(cmd); err != nil {
		return err
	}
	s.checkFetched(cmd, seqs, wantUIDs, names, byUID)
	return s.afterCommand(cmd)
}

// checkFetched checks that every message asked for, still in the view,
// got a FETCH response with every item asked for.
func (s *session) checkFetched(cmd *command, seqs, uids []uint32, names []string, byUID bool) {
	got := map[uint32]map[string]bool{} // by UID
	for _, fd := range cmd.fetches {
		if fd.uid == 0 {
			continue
		}
		if got[fd.uid] == nil {
			got[fd.uid] = map[string]bool{}
		}
		for k := range fd.items {
			got[fd.uid][k] = true
		}
	}
	removed := map[uint32]bool{}
	for _, u := range cmd.removed {
		removed[u] = true
	}
	for i, u := range uids {
		if u == 0 || (byUID && removed[u]) {
			continue
		}
		var missing []string
		for _, n := range names {
			if !got[u][n] {
				missing = append(missing, n)
			}
		}
		if len(missing) > 0 {
			s.c.m.mu.Lock()
			state := "live"
			if x := s.c.m.msgs[u]; x == nil {
				state = "unknown to the model"
			} else if x.remSend != 0 {
				state = fmt.Sprintf("removal sent at t%d by %s", x.remSend, x.remBy)
			}
			s.c.m.mu.Unlock()
			s.fail("fetch-missing", "%s: sequence number %d (UID %d, %s), which the session still sees, got no %s", cmd.tag, seqs[i], u, state, strings.Join(missing, " "))
		}
	}
}

// searchKeys are SEARCH criteria with the predicate they mean.
func (s *session) searchKey() (string, func(flags string) bool) {
	has := func(f string) func(string) bool { return func(fl string) bool { return hasFlag(fl, f) } }
	not := func(p func(string) bool) func(string) bool { return func(fl string) bool { return !p(fl) } }
	switch s.rng.IntN(8) {
	case 0:
		return "ALL", func(string) bool { return true }
	case 1:
		return "UNSEEN", not(has(`\seen`))
	case 2:
		return "SEEN", has(`\seen`)
	case 3:
		return "FLAGGED", has(`\flagged`)
	case 4:
		return "DELETED", has(`\deleted`)
	case 5:
		return "NOT DELETED", not(has(`\deleted`))
	case 6:
		kw := s.keyword()
		return "UNKEYWORD " + kw, not(has(strings.ToLower(kw)))
	default:
		kw := s.keyword()
		return "KEYWORD " + kw, has(strings.ToLower(kw))
	}
}

func (s *session) opSearch() error {
	key, pred := s.searchKey()
	byUID := s.rng.IntN(2) == 0
	cmd := &command{
		name:         uidPrefix(byUID) + "SEARCH",
		text:         uidPrefix(byUID) + "SEARCH " + key,
		allowExpunge: byUID,
	}
	if err := s.run(cmd); err != nil {
		return err
	}
	if cmd.status == "OK" {
		s.checkSearch(cmd, key, pred, byUID)
	}
	return s.afterCommand(cmd)
}

func (s *session) checkSearch(cmd *command, key string, pred func(string) bool, byUID bool) {
	if !cmd.searchSeen {
		if !s.rev2 {
			s.fail("search", "%s: no * SEARCH response", cmd.tag)
			return
		}
		cmd.searchView = append([]uint32(nil), s.uids...) // ESEARCH without ALL: nothing matched
	}
	found := map[uint32]bool{}
	for _, n := range cmd.search {
		if byUID {
			found[n] = true
			continue
		}
		if n < 1 || int(n) > len(cmd.searchView) {
			s.fail("search", "%s: SEARCH returned sequence number %d, the session sees %d messages", cmd.tag, n, len(cmd.searchView))
			return
		}
		if u := cmd.searchView[n-1]; u != 0 {
			found[u] = true
		}
	}
	m := s.c.m
	m.mu.Lock()
	defer m.mu.Unlock()
	var problems []string
	judge := func(u uint32, in bool) {
		x := m.msgs[u]
		if x == nil {
			if m.pendingAdds == 0 && in {
				problems = append(problems, fmt.Sprintf("UID %d found but never committed", u))
			}
			return
		}
		if x.remSend != 0 && x.remSend <= cmd.done {
			return
		}
		if x.addOK >= cmd.sent && !in {
			return // may be too new for the search
		}
		match, miss := false, false
		var states []string
		for _, st := range x.possible(cmd.sent, cmd.done) {
			if pred(st.flags) {
				match = true
			} else {
				miss = true
			}
			states = append(states, "("+st.flags+")")
		}
		switch {
		case in && !match:
			problems = append(problems, fmt.Sprintf("UID %d found, but none of its flag states while the command ran matches: %s", u, strings.Join(states, " ")))
		case !in && !miss:
			problems = append(problems, fmt.Sprintf("UID %d not found, but every flag state it had while the command ran matches: %s", u, strings.Join(states, " ")))
		}
	}
	for u := range found {
		judge(u, true)
	}
	for _, u := range cmd.searchView {
		if u != 0 && !found[u] {
			judge(u, false)
		}
	}
	if len(problems) > 0 {
		m.mu.Unlock()
		s.fail("search", "%s %s: %s", cmd.tag, cmd.text, strings.Join(problems, "; "))
		m.mu.Lock()
	}
}

func (s *session) opNoop() error {
	cmd := &command{name: "NOOP", text: "NOOP", allowExpunge: true}
	if err := s.run(cmd); err != nil {
		return err
	}
	return s.afterCommand(cmd)
}

func (s *session) opIdle() error {
	cmd := &command{name: "IDLE", text: "IDLE", isIdle: true, idle: time.Duration(1+s.rng.IntN(20)) * time.Millisecond, allowExpunge: true}
	if err := s.run(cmd); err != nil {
		return err
	}
	return s.afterCommand(cmd)
}
