package imapcheck

import (
	"math"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// The model is what the checker knows to be committed. Time is a logical
// clock: every command send and every tagged-OK receipt takes a tick. An
// operation is "sent" at the tick before its first octet went out and
// "committed" at a tick after its tagged OK came back, so the server
// performed it somewhere in between. Every check is conservative about
// that window: a change is required to be visible only when it committed
// before the checked command was sent, and an old state is forbidden only
// when a newer one committed before that.

// never is the tick of something that has not happened (yet).
const never = int64(math.MaxInt64)

// fstate is one flag state of a message: the result of the operation sent
// at send and committed at ok (never while in flight).
type fstate struct {
	send, ok int64
	flags    string // canonical: lower-case, sorted, space-separated
	by       string // what produced it, for reports
}

// msg is one message of the checked mailbox as the model knows it.
type msg struct {
	uid     uint32
	hash    string
	size    int
	addSend int64
	addOK   int64
	remSend int64 // 0: no removal sent
	remOK   int64 // never while the removal is in flight
	origin  string
	remBy   string
	states  []fstate // ordered: operations on one message are serialised by its lock
	locked  bool
}

func (m *msg) latest() fstate { return m.states[len(m.states)-1] }

// possible returns the flag states m may show to a client whose command
// was sent at lo, observed no later than hi: the one committed last before
// lo and every later one sent by hi.
func (m *msg) possible(lo, hi int64) []fstate {
	k := 0
	for j, st := range m.states {
		if st.ok < lo {
			k = j
		}
	}
	var out []fstate
	for _, st := range m.states[k:] {
		if st.send <= hi {
			out = append(out, st)
		}
	}
	return out
}

// model is the shared committed state of the checked mailbox.
type model struct {
	clock atomic.Int64

	// ex serialises EXPUNGE (exclusive) against STORE, COPY and MOVE
	// (shared), so that which messages an EXPUNGE removes is determined.
	ex sync.RWMutex

	mu          sync.Mutex
	msgs        map[uint32]*msg
	live        map[uint32]*msg // not removed (no removal sent)
	removed     []*msg          // in order of remSend
	pendingAdds int             // APPEND/COPY/MOVE into the mailbox in flight
	otherCount  int             // messages committed into the other mailbox
	bodies      [][]byte        // some bodies appended, to append again
	nextKW      int
	uidValidity uint32
	pendingObs  []contentObs // content seen for UIDs not yet known
}

// contentObs is a FETCH of content the model could not check yet.
type contentObs struct {
	uid        uint32
	hash       string
	size       int
	session    int
	transcript string
}

func newModel() *model {
	return &model{msgs: map[uint32]*msg{}, live: map[uint32]*msg{}}
}

// tick advances the logical clock.
func (m *model) tick() int64 { return m.clock.Add(1) }

// add records a committed message (m.mu held).
func (m *model) add(x *msg) {
	m.msgs[x.uid] = x
	m.live[x.uid] = x
}

// startRemove marks x as being removed (m.mu held).
func (m *model) startRemove(x *msg, t int64, by string) {
	x.remSend, x.remOK, x.remBy = t, never, by
	delete(m.live, x.uid)
	m.removed = append(m.removed, x)
}

// removedSince returns the messages whose removal was sent after t
// (m.mu held).
func (m *model) removedSince(t int64) []*msg {
	i := sort.Search(len(m.removed), func(i int) bool { return m.removed[i].remSend > t })
	return m.removed[i:]
}

// liveUIDs lists the live UIDs in order (m.mu held).
func (m *model) liveUIDs() []uint32 {
	out := make([]uint32, 0, len(m.live))
	for u := range m.live {
		out = append(out, u)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// flagSet is a canonical set of flags (lower-case).
type flagSet map[string]bool

func parseFlagSet(s string) flagSet {
	fs := flagSet{}
	for _, f := range strings.Fields(s) {
		fs[f] = true
	}
	return fs
}

// canon turns flags into the canonical string: lower-case, sorted, no
// duplicates, without \Recent (a per-session flag the model does not keep).
func canon(flags []string) string {
	seen := map[string]bool{}
	var out []string
	for _, f := range flags {
		l := strings.ToLower(f)
		if l == `\recent` || seen[l] {
			continue
		}
		seen[l] = true
		out = append(out, l)
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// applyStore computes the flags after STORE op ("+", "-" or "") of flags.
func applyStore(cur string, op string, flags []string) string {
	fs := parseFlagSet(cur)
	switch op {
	case "+":
		for _, f := range flags {
			fs[strings.ToLower(f)] = true
		}
	case "-":
		for _, f := range flags {
			delete(fs, strings.ToLower(f))
		}
	default:
		fs = flagSet{}
		for _, f := range flags {
			fs[strings.ToLower(f)] = true
		}
	}
	list := make([]string, 0, len(fs))
	for f := range fs {
		list = append(list, f)
	}
	return canon(list)
}

func hasFlag(canonFlags, f string) bool {
	for _, x := range strings.Fields(canonFlags) {
		if x == f {
			return true
		}
	}
	return false
}
