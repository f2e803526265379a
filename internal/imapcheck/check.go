// Package imapcheck is a model-based, randomised multi-session IMAP
// checker. Several sessions log in to one or more IMAP servers sharing a
// store, select the same mailbox and run random commands (APPEND, COPY,
// MOVE, STORE, EXPUNGE, FETCH, SEARCH, NOOP, IDLE) through a raw client
// that sees every untagged response. Each session keeps its own view of
// the mailbox, changed only by what the server told it; a shared model
// records what has been committed (a command is committed when its tagged
// OK arrives). The checker fails on:
//
//   - read-your-peers writes: after a command, the view holds every message
//     committed before the command was sent and, when the command may carry
//     expunges (RFC 3501 §7.4.1), none committed as expunged; its flags are
//     at least as new as those committed before the command was sent;
//   - NO, BAD, BYE or NO [SERVERBUG] to any command (it sends only valid ones);
//   - a message the session still sees that a FETCH leaves out, or whose
//     content differs from what was appended for its UID;
//   - a keyword in FETCH FLAGS before a * FLAGS response announced it;
//   - a FETCH response naming one item twice;
//   - EXISTS shrinking, EXPUNGE during FETCH/STORE/SEARCH, sequence numbers
//     out of range, UIDs out of order, SEARCH results no flag state explains;
//   - after the run, a view (after NOOP) that differs from the model.
//
// The model is kept exact by locks that are the checker's own: STORE, COPY
// and MOVE of a message are never in flight together, and EXPUNGE runs
// alone against them, so the flags of every message and the set an EXPUNGE
// removes follow from the commands and their order.
//
// The seed fixes every session's choices; the interleaving of sessions is
// up to the scheduler, so a seed makes a failure likely, not certain, to
// come back.
package imapcheck

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Config says where and how long to check.
type Config struct {
	// Addrs are IMAP servers sharing one store; session i uses
	// Addrs[i%len(Addrs)].
	Addrs          []string
	User, Password string
	// Sessions is the number of concurrent sessions (default 6).
	Sessions int
	// Duration of the random phase (default 10s).
	Duration time.Duration
	// Seed of every random choice (0: one is picked; see Result.Seed).
	Seed uint64
	// KeepGoing records up to MaxViolations violations instead of stopping
	// at the first.
	KeepGoing     bool
	MaxViolations int // default 20
	// MaxPerKind bounds the violations of one kind recorded with
	// KeepGoing (default 3); the rest are only counted.
	MaxPerKind int
	// Mailbox is the one every session selects (created; default
	// "imapcheck"); Other receives copies and moves (default
	// "imapcheck-other").
	Mailbox, Other string
	// TargetSize is the message count the mailbox hovers around (default 30).
	TargetSize int
	// Preload messages are appended before the sessions start (default 8).
	Preload int
	// MaxKeywords bounds the distinct keywords made up (default 40).
	MaxKeywords int
	// Timeout for any one server response (default 20s).
	Timeout time.Duration
	// Logf, when set, gets progress lines.
	Logf func(format string, args ...any)
}

func (c *Config) setDefaults() {
	if c.Sessions <= 0 {
		c.Sessions = 6
	}
	if c.Duration <= 0 {
		c.Duration = 10 * time.Second
	}
	if c.Seed == 0 {
		c.Seed = uint64(time.Now().UnixNano())
	}
	if c.MaxViolations <= 0 {
		c.MaxViolations = 20
	}
	if c.MaxPerKind <= 0 {
		c.MaxPerKind = 3
	}
	if c.Mailbox == "" {
		c.Mailbox = "imapcheck"
	}
	if c.Other == "" {
		c.Other = "imapcheck-other"
	}
	if c.TargetSize <= 0 {
		c.TargetSize = 30
	}
	if c.Preload < 0 {
		c.Preload = 0
	} else if c.Preload == 0 {
		c.Preload = 8
	}
	if c.MaxKeywords <= 0 {
		c.MaxKeywords = 40
	}
	if c.Timeout <= 0 {
		c.Timeout = 20 * time.Second
	}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
}

// Violation is one broken rule, with the session's recent traffic.
type Violation struct {
	Session    int
	Addr       string
	Kind       string
	Msg        string
	Transcript []string
}

func (v Violation) String() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "[%s] session %d (%s): %s\n", v.Kind, v.Session, v.Addr, v.Msg)
	if len(v.Transcript) > 0 {
		fmt.Fprintf(&sb, "  last traffic of session %d (tN = logical time of a command's send or tagged answer):\n", v.Session)
		for _, l := range v.Transcript {
			sb.WriteString("    ")
			sb.WriteString(l)
			sb.WriteByte('\n')
		}
	}
	return sb.String()
}

// Result of a run.
type Result struct {
	Seed       uint64
	Elapsed    time.Duration
	Commands   int
	ByCommand  map[string]int
	Violations []Violation
	// Counts has every violation kind seen and how often, recorded or not.
	Counts map[string]int
	// FinalMessages is the model's message count at the end.
	FinalMessages int
}

// Summary is one line for logs.
func (r *Result) Summary() string {
	names := make([]string, 0, len(r.ByCommand))
	for n := range r.ByCommand {
		names = append(names, n)
	}
	sort.Strings(names)
	var parts []string
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%s=%d", n, r.ByCommand[n]))
	}
	rate := float64(r.Commands) / r.Elapsed.Seconds()
	kinds := make([]string, 0, len(r.Counts))
	for k, n := range r.Counts {
		kinds = append(kinds, fmt.Sprintf("%s×%d", k, n))
	}
	sort.Strings(kinds)
	seen := ""
	if len(kinds) > 0 {
		seen = " (" + strings.Join(kinds, " ") + ")"
	}
	return fmt.Sprintf("seed %d: %d commands in %v (%.0f/s), %d messages at the end, %d violations%s; %s",
		r.Seed, r.Commands, r.Elapsed.Round(time.Millisecond), rate, r.FinalMessages, len(r.Violations), seen, strings.Join(parts, " "))
}

type checker struct {
	cfg    Config
	m      *model
	ctx    context.Context
	cancel context.CancelFunc

	mu         sync.Mutex
	violations []Violation
	counts     map[string]int
}

func (c *checker) violation(v Violation) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.counts[v.Kind]++
	if len(c.violations) < c.cfg.MaxViolations && (!c.cfg.KeepGoing || c.counts[v.Kind] <= c.cfg.MaxPerKind) {
		c.violations = append(c.violations, v)
		c.cfg.Logf("imapcheck: violation: [%s] session %d: %s", v.Kind, v.Session, v.Msg)
	}
	if !c.cfg.KeepGoing || len(c.violations) >= c.cfg.MaxViolations {
		c.cancel()
	}
}

func (c *checker) failed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.violations) > 0
}

// Run checks the servers for cfg.Duration (plus set-up and the final
// comparison). The error is for set-up failures; rule violations are in
// Result.Violations.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	cfg.setDefaults()
	if len(cfg.Addrs) == 0 {
		return nil, errors.New("imapcheck: no server address")
	}
	start := time.Now()
	c := &checker{cfg: cfg, m: newModel(), counts: map[string]int{}}
	c.ctx, c.cancel = context.WithCancel(ctx)
	defer c.cancel()
	res := &Result{Seed: cfg.Seed, ByCommand: map[string]int{}}

	if err := c.setup(); err != nil {
		return nil, err
	}
	sessions := make([]*session, cfg.Sessions)
	for i := range sessions {
		s, err := c.open(i)
		if err != nil {
			for _, s := range sessions[:i] {
				s.nc.Close()
			}
			return nil, err
		}
		sessions[i] = s
	}
	defer func() {
		for _, s := range sessions {
			s.nc.Close()
		}
	}()
	for _, s := range sessions {
		s.rng = rand.New(rand.NewPCG(cfg.Seed, uint64(s.id)+1))
		if err := s.start(); err != nil {
			break
		}
	}
	cfg.Logf("imapcheck: seed %d, %d sessions on %v, %v", cfg.Seed, cfg.Sessions, cfg.Addrs, cfg.Duration)

	deadline := time.Now().Add(cfg.Duration)
	var wg sync.WaitGroup
	if !c.failed() {
		for _, s := range sessions {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(deadline) && c.ctx.Err() == nil && !s.dead {
					if err := s.step(); err != nil {
						return
					}
				}
			}()
		}
		wg.Wait()
	}
	if !c.failed() || cfg.KeepGoing {
		c.final(sessions)
	}
	for _, s := range sessions {
		for n, k := range s.cmds {
			res.ByCommand[n] += k
			res.Commands += k
		}
		if !s.dead {
			s.loggingOut = true
			s.run(&command{name: "LOGOUT", text: "LOGOUT", allowExpunge: true})
		}
	}
	c.m.mu.Lock()
	res.FinalMessages = len(c.m.live)
	c.m.mu.Unlock()
	res.Elapsed = time.Since(start)
	c.mu.Lock()
	res.Violations = append([]Violation(nil), c.violations...)
	res.Counts = c.counts
	c.mu.Unlock()
	return res, nil
}

// dial connects and logs in.
func (c *checker) dial(id int) (*session, error) {
	addr := c.cfg.Addrs[0]
	if id >= 0 {
		addr = c.cfg.Addrs[id%len(c.cfg.Addrs)]
	}
	nc, err := net.DialTimeout("tcp", addr, c.cfg.Timeout)
	if err != nil {
		return nil, fmt.Errorf("imapcheck: %w", err)
	}
	s := &session{
		id: id, addr: addr, c: c, nc: nc, br: bufio.NewReaderSize(nc, 64<<10),
		keywords: map[string]bool{}, cmds: map[string]int{},
		rng: rand.New(rand.NewPCG(c.cfg.Seed, 1<<32)),
	}
	r, err := s.read()
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("imapcheck: greeting from %s: %w", addr, err)
	}
	s.note("S:", 0, r.show)
	cmd := &command{name: "LOGIN", text: "LOGIN " + quote(c.cfg.User) + " " + quote(c.cfg.Password)}
	if err := s.run(cmd); err != nil || cmd.status != "OK" {
		nc.Close()
		return nil, fmt.Errorf("imapcheck: login to %s failed: %v %s %s", addr, err, cmd.status, cmd.rtext)
	}
	return s, nil
}

func quote(s string) string { return strconv.Quote(s) }

// setup creates the mailboxes and appends the first messages, alone.
func (c *checker) setup() error {
	s, err := c.dial(-1)
	if err != nil {
		return err
	}
	defer s.nc.Close()
	for _, name := range []string{c.cfg.Mailbox, c.cfg.Other} {
		cmd := &command{name: "CREATE", text: "CREATE " + name}
		if err := s.run(cmd); err != nil || cmd.status != "OK" {
			return fmt.Errorf("imapcheck: CREATE %s: %v %s %s", name, err, cmd.status, cmd.rtext)
		}
	}
	cmd := &command{name: "STATUS", text: "STATUS " + c.cfg.Mailbox + " (UIDVALIDITY MESSAGES)"}
	if err := s.run(cmd); err != nil || cmd.statusResp == nil {
		return fmt.Errorf("imapcheck: STATUS %s: %v %s", c.cfg.Mailbox, err, cmd.rtext)
	}
	st := statusItems(cmd.statusResp)
	c.m.uidValidity = uint32(st["UIDVALIDITY"])
	if st["MESSAGES"] != 0 {
		return fmt.Errorf("imapcheck: mailbox %s is not empty", c.cfg.Mailbox)
	}
	for i := 0; i < c.cfg.Preload; i++ {
		if err := s.opAppend(); err != nil {
			return err
		}
	}
	if c.failed() {
		return nil
	}
	s.loggingOut = true
	s.run(&command{name: "LOGOUT", text: "LOGOUT"})
	return nil
}

func statusItems(r *response) map[string]uint64 {
	out := map[string]uint64{}
	if len(r.args) < 2 || r.args[len(r.args)-1].kind != vList {
		return out
	}
	l := r.args[len(r.args)-1].list
	for i := 0; i+1 < len(l); i += 2 {
		n, _ := strconv.ParseUint(l[i+1].s, 10, 64)
		out[strings.ToUpper(l[i].s)] = n
	}
	return out
}

// open connects session i; start enables extensions and selects.
func (c *checker) open(i int) (*session, error) {
	s, err := c.dial(i)
	if err != nil {
		return nil, err
	}
	s.qresync = i%2 == 1
	s.rev2 = i%3 == 2
	return s, nil
}

func (s *session) start() error {
	var exts []string
	if s.qresync {
		exts = append(exts, "QRESYNC")
	}
	if s.rev2 {
		exts = append(exts, "IMAP4rev2")
	}
	if len(exts) > 0 {
		cmd := &command{name: "ENABLE", text: "ENABLE " + strings.Join(exts, " ")}
		if err := s.run(cmd); err != nil {
			return err
		}
	}
	cmd := &command{name: "SELECT", text: "SELECT " + s.c.cfg.Mailbox, allowExpunge: true}
	if err := s.run(cmd); err != nil {
		return err
	}
	s.selected = cmd.status == "OK"
	if s.uidValidity != s.c.m.uidValidity {
		s.fail("select", "UIDVALIDITY %d, STATUS said %d", s.uidValidity, s.c.m.uidValidity)
	}
	return s.afterCommand(cmd)
}

// afterCommand learns the UIDs of messages announced by EXISTS (FETCH by
// sequence number: no expunge can come), then checks the view against the
// model as of the command's send time.
func (s *session) afterCommand(cmd *command) error {
	if !s.selected {
		return nil
	}
	nC := len(s.uids)
	if err := s.resolve(); err != nil {
		return err
	}
	s.checkOrder()
	s.checkPeers(cmd, nC)
	return nil
}

func (s *session) resolve() error {
	for iter := 0; iter < 20; iter++ {
		lo := -1
		for i := range s.uids {
			if s.uids[i] == 0 || !s.fknown[i] {
				lo = i
				break
			}
		}
		if lo < 0 {
			return nil
		}
		hi := len(s.uids)
		cmd := &command{name: "FETCH", text: fmt.Sprintf("FETCH %d:%d (UID FLAGS)", lo+1, hi)}
		var seqs, uids []uint32
		for q := lo + 1; q <= hi; q++ {
			seqs = append(seqs, uint32(q))
		}
		if err := s.run(cmd); err != nil {
			return err
		}
		for _, q := range seqs {
			if int(q) <= len(s.uids) {
				uids = append(uids, s.uids[q-1])
			}
		}
		for i, u := range uids {
			if u == 0 || !s.fknown[seqs[i]-1] {
				s.fail("fetch-missing", "%s: sequence number %d, announced by EXISTS, got no FETCH (UID FLAGS) response", cmd.tag, seqs[i])
				return errDead{errors.New("cannot learn UIDs")}
			}
		}
	}
	return nil
}

// checkOrder: UIDs strictly ascend with sequence numbers (RFC 3501 §2.3.1.1).
func (s *session) checkOrder() {
	for i := 1; i < len(s.uids); i++ {
		if s.uids[i] <= s.uids[i-1] {
			s.fail("uid-order", "sequence numbers %d and %d have UIDs %d and %d (UIDs must ascend)", i, i+1, s.uids[i-1], s.uids[i])
			return
		}
	}
}

// checkPeers is the read-your-peers rule for cmd, whose responses left
// nC messages in the view.
func (s *session) checkPeers(cmd *command, nC int) {
	m := s.c.m
	m.mu.Lock()
	now := m.clock.Load()
	var problems []string
	view := map[uint32]int{}
	for i, u := range s.uids[:nC] {
		view[u] = i
	}
	required := func(x *msg) {
		if x.addOK < cmd.sent {
			if _, ok := view[x.uid]; !ok {
				problems = append(problems, fmt.Sprintf("UID %d is missing: %s committed it at t%d, before %s was sent at t%d", x.uid, x.origin, x.addOK, cmd.tag, cmd.sent))
			}
		}
	}
	for _, x := range m.live {
		required(x)
	}
	for _, x := range m.removedSince(cmd.done) {
		required(x)
	}
	for i, u := range s.uids[:nC] {
		x := m.msgs[u]
		if x == nil {
			if m.pendingAdds == 0 {
				problems = append(problems, fmt.Sprintf("UID %d (sequence number %d) was never committed to this mailbox", u, i+1))
			}
			continue
		}
		if x.remSend != 0 {
			if cmd.allowExpunge && x.remOK < cmd.sent {
				problems = append(problems, fmt.Sprintf("UID %d (sequence number %d) is still seen: %s expunged it, committed at t%d, before %s was sent at t%d", u, i+1, x.remBy, x.remOK, cmd.tag, cmd.sent))
			}
			if x.remSend <= cmd.done {
				continue
			}
		}
		if x.addOK >= cmd.sent && !s.fknown[i] {
			continue
		}
		poss := x.possible(cmd.sent, now)
		ok := false
		for _, st := range poss {
			ok = ok || st.flags == s.flags[i]
		}
		if !ok {
			k := poss[0]
			problems = append(problems, fmt.Sprintf("UID %d (sequence number %d) shows flags (%s); before %s was sent at t%d the committed flags were (%s), from %s (committed at t%d)", u, i+1, s.flags[i], cmd.tag, cmd.sent, k.flags, k.by, k.ok))
		}
	}
	m.mu.Unlock()
	if len(problems) > 0 {
		if len(problems) > 6 {
			problems = append(problems[:6], fmt.Sprintf("and %d more", len(problems)-6))
		}
		s.fail("read-your-peers", "after %s %s: %s", cmd.tag, cmd.text, strings.Join(problems, "; "))
	}
}

// final lets every session catch up with a NOOP and compares each view
// with the model, then checks content seen before its UID was known.
func (c *checker) final(sessions []*session) {
	m := c.m
	for _, s := range sessions {
		if s.dead {
			continue
		}
		cmd := &command{name: "NOOP", text: "NOOP", allowExpunge: true}
		if err := s.run(cmd); err != nil {
			continue
		}
		if err := s.afterCommand(cmd); err != nil {
			continue
		}
		m.mu.Lock()
		want := m.liveUIDs()
		var problems []string
		if m.pendingAdds != 0 {
			problems = append(problems, fmt.Sprintf("%d additions still in flight", m.pendingAdds))
		}
		if len(want) != len(s.uids) {
			problems = append(problems, fmt.Sprintf("the session sees %d messages, the model has %d", len(s.uids), len(want)))
		}
		for i := 0; i < max(len(want), len(s.uids)); i++ {
			switch {
			case i >= len(s.uids):
				problems = append(problems, fmt.Sprintf("UID %d (%s) missing", want[i], m.msgs[want[i]].origin))
			case i >= len(want) || want[i] != s.uids[i]:
				w := "none"
				if i < len(want) {
					w = strconv.Itoa(int(want[i]))
				}
				problems = append(problems, fmt.Sprintf("sequence number %d is UID %d, the model says %s", i+1, s.uids[i], w))
			default:
				if fl := m.msgs[want[i]].latest(); fl.flags != s.flags[i] {
					problems = append(problems, fmt.Sprintf("UID %d has flags (%s), the model says (%s) from %s", want[i], s.flags[i], fl.flags, fl.by))
				}
			}
			if len(problems) > 8 {
				break
			}
		}
		m.mu.Unlock()
		if len(problems) > 0 {
			s.fail("final", "after the run the view differs from the model: %s", strings.Join(problems, "; "))
		}
	}
	m.mu.Lock()
	obs := m.pendingObs
	m.pendingObs = nil
	other := m.otherCount
	m.mu.Unlock()
	for _, o := range obs {
		m.mu.Lock()
		x := m.msgs[o.uid]
		m.mu.Unlock()
		msg := ""
		if x == nil {
			msg = fmt.Sprintf("content fetched for UID %d, which no command committed", o.uid)
		} else {
			msg = contentMismatch(x, o)
		}
		if msg != "" {
			c.violation(Violation{Session: o.session, Kind: "content", Msg: msg, Transcript: strings.Split(o.transcript, "\n")})
		}
	}
	for _, s := range sessions {
		if s.dead {
			continue
		}
		cmd := &command{name: "STATUS", text: "STATUS " + c.cfg.Other + " (MESSAGES)", allowExpunge: true}
		if err := s.run(cmd); err != nil || cmd.statusResp == nil {
			return
		}
		if n := statusItems(cmd.statusResp)["MESSAGES"]; n != uint64(other) {
			s.fail("final", "STATUS %s says %d messages, %d were copied, moved or appended there", c.cfg.Other, n, other)
		}
		break
	}
}
