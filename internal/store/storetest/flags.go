package storetest

import (
	"testing"

	"github.com/letterbox/letterbox/internal/store"
)

func testFlags(t *testing.T, s store.Store) {
	mbs := newAccount(t, s, "alice@example.com")
	for i := 1; i <= 3; i++ {
		deliver(t, s, msg(i), store.Target{Account: "alice@example.com"})
	}
	inbox := openMailbox(t, mbs, "INBOX")
	all := []store.UID{1, 2, 3}
	steps := []struct {
		name      string
		uids      []store.UID
		op        store.FlagOp
		flags     []string
		want      map[store.UID][]string // flags after, for every message
		updated   []store.UID
		unchanged []store.UID
	}{
		{"add system flag in any case", []store.UID{1, 2}, store.FlagsAdd, []string{`\seen`},
			map[store.UID][]string{1: {`\Seen`}, 2: {`\Seen`}, 3: {}}, []store.UID{1, 2}, nil},
		{"add again changes nothing", []store.UID{1}, store.FlagsAdd, []string{`\Seen`},
			map[store.UID][]string{1: {`\Seen`}, 2: {`\Seen`}, 3: {}}, nil, []store.UID{1}},
		{"keywords kept as given, sorted", all, store.FlagsAdd, []string{"Junk", "$Forwarded", `\Flagged`},
			map[store.UID][]string{1: {"$Forwarded", "Junk", `\Flagged`, `\Seen`}, 2: {"$Forwarded", "Junk", `\Flagged`, `\Seen`}, 3: {"$Forwarded", "Junk", `\Flagged`}},
			all, nil},
		{"remove", []store.UID{2, 3}, store.FlagsRemove, []string{"junk", `\FLAGGED`},
			map[store.UID][]string{1: {"$Forwarded", "Junk", `\Flagged`, `\Seen`}, 2: {"$Forwarded", `\Seen`}, 3: {"$Forwarded"}},
			[]store.UID{2, 3}, nil},
		{"replace, \\Recent ignored", []store.UID{1, 3, 77}, store.FlagsReplace, []string{`\Answered`, `\Recent`, `\Deleted`},
			map[store.UID][]string{1: {`\Answered`, `\Deleted`}, 2: {"$Forwarded", `\Seen`}, 3: {`\Answered`, `\Deleted`}},
			[]store.UID{1, 3}, nil},
		{"replace with nothing", []store.UID{3}, store.FlagsReplace, nil,
			map[store.UID][]string{1: {`\Answered`, `\Deleted`}, 2: {"$Forwarded", `\Seen`}, 3: {}},
			[]store.UID{3}, nil},
	}
	for _, st := range steps {
		before := info(t, inbox).HighestModSeq
		res := storeFlags(t, inbox, st.uids, st.op, st.flags...)
		var upd, unch []store.UID
		seen := map[store.ModSeq]bool{}
		for _, u := range res.Updated {
			upd = append(upd, u.UID)
			if u.ModSeq <= before || seen[u.ModSeq] {
				t.Errorf("%s: UID %d got MODSEQ %d (before %d, or shared)", st.name, u.UID, u.ModSeq, before)
			}
			seen[u.ModSeq] = true
			if !equalFlags(u.Flags, st.want[u.UID]) {
				t.Errorf("%s: Updated UID %d flags %q, want %q", st.name, u.UID, u.Flags, st.want[u.UID])
			}
		}
		for _, u := range res.Unchanged {
			unch = append(unch, u.UID)
			if !equalFlags(u.Flags, st.want[u.UID]) {
				t.Errorf("%s: Unchanged UID %d flags %q", st.name, u.UID, u.Flags)
			}
		}
		if !equalUIDs(upd, st.updated) || !equalUIDs(unch, st.unchanged) || len(res.Modified) != 0 {
			t.Errorf("%s: updated %v unchanged %v modified %v, want %v %v", st.name, upd, unch, res.Modified, st.updated, st.unchanged)
		}
		after := info(t, inbox).HighestModSeq
		if after-before != store.ModSeq(len(st.updated)) {
			t.Errorf("%s: HIGHESTMODSEQ rose by %d, want %d (one per changed message)", st.name, after-before, len(st.updated))
		}
		for _, m := range messages(t, inbox) {
			if !equalFlags(m.Flags, st.want[m.UID]) {
				t.Errorf("%s: UID %d has %q, want %q", st.name, m.UID, m.Flags, st.want[m.UID])
			}
		}
	}
	// The message MODSEQ is the one STORE reported.
	res := storeFlags(t, inbox, []store.UID{2}, store.FlagsAdd, "$x")
	for _, m := range messages(t, inbox) {
		if m.UID == 2 && m.ModSeq != res.Updated[0].ModSeq {
			t.Errorf("message MODSEQ %d, STORE said %d", m.ModSeq, res.Updated[0].ModSeq)
		}
	}
}

func testUnchangedSince(t *testing.T, s store.Store) {
	mbs := newAccount(t, s, "alice@example.com")
	for i := 1; i <= 3; i++ {
		deliver(t, s, msg(i), store.Target{Account: "alice@example.com"})
	}
	inbox := openMailbox(t, mbs, "INBOX")
	snapshot := info(t, inbox).HighestModSeq
	storeFlags(t, inbox, []store.UID{2}, store.FlagsAdd, `\Flagged`)
	// RFC 7162 §3.1.3: messages whose MODSEQ is above UNCHANGEDSINCE fail
	// the test and are not changed; the others are.
	res, err := inbox.StoreFlags(ctx, []store.UID{1, 2, 3}, store.FlagsAdd, []string{`\Seen`}, snapshot)
	if err != nil {
		t.Fatal(err)
	}
	if !equalUIDs(res.Modified, []store.UID{2}) || len(res.Updated) != 2 {
		t.Fatalf("result %+v, want 2 modified and 1, 3 updated", res)
	}
	if f := flagsOf(t, inbox, 2); !equalFlags(f, []string{`\Flagged`}) {
		t.Errorf("UID 2 changed despite failing UNCHANGEDSINCE: %q", f)
	}
	// UNCHANGEDSINCE equal to the message's MODSEQ passes.
	m2 := messages(t, inbox)[1]
	res, err = inbox.StoreFlags(ctx, []store.UID{2}, store.FlagsAdd, []string{`\Seen`}, m2.ModSeq)
	if err != nil || len(res.Updated) != 1 || len(res.Modified) != 0 {
		t.Errorf("UNCHANGEDSINCE = MODSEQ: %+v, %v", res, err)
	}
}
