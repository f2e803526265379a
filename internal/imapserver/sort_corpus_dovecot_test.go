package imapserver_test

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/testutil/dovecottest"
)

// corpusSize and corpusSeed fix the generated corpus (genCorpus).
const (
	corpusSize = 1200
	corpusSeed = 4
)

// TestSortThreadCorpus asks letterbox and a throwaway Dovecot every SORT
// key (plain and reversed, alone and combined), ESORT, and both THREAD
// algorithms, with several search criteria, over the same generated
// mailbox of corpusSize messages with the hard cases of RFC 5256 (see
// genCorpus), before and after expunging some messages (so that sequence
// numbers and UIDs differ). Every answer must be Dovecot's, except where
// a corpusDeviation explains the difference with its RFC reason
// (explainDiff). It needs
// Dovecot (skipped without it, except under CI=true).
func TestSortThreadCorpus(t *testing.T) {
	start := time.Now()
	seed := uint64(corpusSeed)
	if v := os.Getenv("LETTERBOX_SORT_CORPUS_SEED"); v != "" {
		// Another corpus, to look for differences the fixed one lacks.
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("LETTERBOX_SORT_CORPUS_SEED: %v", err)
		}
		seed = n
	}
	corpus := genCorpus(seed, corpusSize)
	dv := dovecottest.StartT(t, dovecottest.Options{Users: map[string]string{"u": "p"}, Env: []string{"TZ=UTC"}, Config: "mail_fsync = never\n"})
	nc, err := net.Dial("tcp", dv.IMAP)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	d := &tconn{t: t, nc: nc, br: bufio.NewReader(nc)}
	d.readLine()
	d.send("l LOGIN u p")
	for !strings.HasPrefix(d.readLine(), "l ") {
	}
	h := newHarness(t)
	c := h.login()
	// Both at once: each append is a pipelined stream of LITERAL+ APPENDs.
	done := make(chan error, 2)
	for _, conn := range []*tconn{d, c} {
		go func() { done <- appendCorpus(conn.nc, conn.br, corpus) }()
	}
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	for _, conn := range []*tconn{d, c} {
		answer(conn, "sel", "SELECT INBOX")
	}
	// Every third message \Seen, every seventh \Flagged, for UNSEEN and
	// FLAGGED criteria.
	var seen, flagged []string
	for i := 1; i <= len(corpus); i++ {
		if i%3 == 0 {
			seen = append(seen, itoa(i))
		}
		if i%7 == 0 {
			flagged = append(flagged, itoa(i))
		}
	}
	for _, conn := range []*tconn{d, c} {
		answer(conn, "f2", "STORE "+strings.Join(seen, ",")+" +FLAGS.SILENT (\\Seen)")
		answer(conn, "f3", "STORE "+strings.Join(flagged, ",")+" +FLAGS.SILENT (\\Flagged)")
	}
	t.Logf("corpus of %d messages appended to both in %v", len(corpus), time.Since(start).Round(time.Millisecond))

	// The UIDs of the messages each deviation concerns (UID = corpus
	// index + 1 on both servers).
	devUIDs := make([][]string, len(corpusDeviations))
	for i, m := range corpus {
		for j, dev := range corpusDeviations {
			if dev.concerns(m) {
				devUIDs[j] = append(devUIDs[j], itoa(i+1))
			}
		}
	}
	var asked, matched, allowed int
	perDeviation := make([]int, len(corpusDeviations))
	compare := func(round string, cmds []string) {
		for i, cmd := range cmds {
			tag := round + itoa(i)
			want := answer(d, tag, cmd)
			got := answer(c, tag, cmd)
			asked++
			if strings.Join(got, "\n") == strings.Join(want, "\n") {
				matched++
				continue
			}
			if devs, uids := explainDiff(d, c, tag, cmd, devUIDs); devs != nil {
				allowed++
				var reasons []string
				for _, j := range devs {
					perDeviation[j]++
					reasons = append(reasons, corpusDeviations[j].reason)
				}
				t.Logf("allowed difference: %s\n  equal without UID %s\n  because of %s", cmd, uids, strings.Join(reasons, "\n  and of "))
				continue
			}
			t.Errorf("%s\n%s", cmd, describeDiff(got, want))
		}
	}
	cmds := corpusCommands()
	compare("a", cmds)
	// Expunge every 11th message: sequence numbers and UIDs now differ.
	var gone []string
	for i := 11; i <= len(corpus); i += 11 {
		gone = append(gone, itoa(i))
	}
	for _, conn := range []*tconn{d, c} {
		answer(conn, "x1", "STORE "+strings.Join(gone, ",")+" +FLAGS.SILENT (\\Deleted)")
		answer(conn, "x2", "EXPUNGE")
	}
	compare("b", cmds)
	t.Logf("SORT/THREAD corpus (seed %d): %d messages, %d questions, %d answers equal to Dovecot's, %d allowed differences, %d differences; %v",
		seed, len(corpus), asked, matched, allowed, asked-matched-allowed, time.Since(start).Round(time.Millisecond))
	for j, n := range perDeviation {
		uids := devUIDs[j]
		if len(uids) > 12 {
			uids = append(uids[:12:12], "...")
		}
		t.Logf("  %d allowed differences come from %d messages (UID %s) with %s", n, len(devUIDs[j]), strings.Join(uids, ","), corpusDeviations[j].reason)
	}
}

// explainDiff asks both servers cmd again without the messages of all
// the deviations that can touch it and, if the answers are then equal,
// narrows that down to the fewest deviations that still explain the
// difference. It returns those deviations (indexes into corpusDeviations)
// and the UIDs whose exclusion made the answers equal, nil if none did.
func explainDiff(d, c *tconn, tag, cmd string, devUIDs [][]string) ([]int, string) {
	var all []int
	for j, dev := range corpusDeviations {
		if dev.affects(cmd) && len(devUIDs[j]) > 0 {
			all = append(all, j)
		}
	}
	uidSet := func(devs []int) string {
		var uids []string
		for _, j := range devs {
			uids = append(uids, devUIDs[j]...)
		}
		return strings.Join(uids, ",")
	}
	equalWithout := func(devs []int, log bool) bool {
		re := cmd + " NOT UID " + uidSet(devs)
		want, got := answer(d, tag+"x", re), answer(c, tag+"x", re)
		if strings.Join(got, "\n") == strings.Join(want, "\n") {
			return true
		}
		if log {
			d.t.Logf("still different: %s\n%s", re, describeDiff(got, want))
		}
		return false
	}
	if len(all) == 0 || !equalWithout(all, true) {
		return nil, ""
	}
	devs := all
	for _, j := range all {
		if len(devs) == 1 {
			break
		}
		fewer := slices.DeleteFunc(slices.Clone(devs), func(k int) bool { return k == j })
		if equalWithout(fewer, false) {
			devs = fewer
		}
	}
	return devs, uidSet(devs)
}

// appendBatch is how many messages one MULTIAPPEND (RFC 3502) carries:
// letterbox commits each APPEND command as one transaction, so batches
// make the corpus arrive in seconds, as real migrations do.
const appendBatch = 100

// appendCorpus APPENDs the corpus to INBOX as a pipelined stream of
// MULTIAPPEND commands with LITERAL+ literals (RFC 7888), written while
// the answers are read, and checks each was OK.
func appendCorpus(nc net.Conn, br *bufio.Reader, corpus []corpusMessage) error {
	werr := make(chan error, 1)
	go func() {
		bw := bufio.NewWriterSize(nc, 64<<10)
		for i := 0; i < len(corpus); i += appendBatch {
			fmt.Fprintf(bw, "ap%d APPEND INBOX", i)
			for _, m := range corpus[i:min(i+appendBatch, len(corpus))] {
				fmt.Fprintf(bw, " \"%s\" {%d+}\r\n%s", m.internal, len(m.raw), m.raw)
			}
			bw.WriteString("\r\n")
		}
		werr <- bw.Flush()
	}()
	nc.SetReadDeadline(time.Now().Add(60 * time.Second))
	defer nc.SetReadDeadline(time.Time{})
	for i := 0; i < len(corpus); {
		line, err := br.ReadString('\n')
		if err != nil {
			return fmt.Errorf("APPEND %d: %v", i, err)
		}
		if rest, ok := strings.CutPrefix(line, fmt.Sprintf("ap%d ", i)); ok {
			if !strings.HasPrefix(rest, "OK") {
				return fmt.Errorf("APPEND %d: %s", i, line)
			}
			i += appendBatch
		}
	}
	return <-werr
}

// corpusCommands are the questions asked of both servers: every SORT key
// alone, reversed, and in combinations; ESORT; both THREAD algorithms;
// with several search criteria, by sequence number and by UID.
func corpusCommands() []string {
	keys := []string{"ARRIVAL", "CC", "DATE", "FROM", "SIZE", "SUBJECT", "TO", "DISPLAYFROM", "DISPLAYTO"}
	var cmds []string
	for _, k := range keys {
		cmds = append(cmds,
			"SORT ("+k+") UTF-8 ALL",
			"SORT (REVERSE "+k+") UTF-8 ALL",
			"UID SORT ("+k+") UTF-8 UNSEEN",
		)
	}
	cmds = append(cmds,
		"SORT (SUBJECT DATE) UTF-8 ALL",
		"SORT (REVERSE SUBJECT REVERSE DATE) UTF-8 ALL",
		"SORT (SUBJECT REVERSE ARRIVAL) UTF-8 ALL",
		"SORT (FROM TO CC SUBJECT) UTF-8 ALL",
		"SORT (DISPLAYFROM REVERSE SIZE) UTF-8 ALL",
		"SORT (REVERSE DISPLAYTO DATE) UTF-8 ALL",
		"SORT (CC REVERSE FROM REVERSE ARRIVAL) UTF-8 ALL",
		"SORT (REVERSE DATE REVERSE ARRIVAL) UTF-8 ALL",
		"SORT (SIZE SUBJECT) US-ASCII ALL",
		"SORT (DATE) UTF-8 UNSEEN",
		"SORT (REVERSE DATE) UTF-8 SUBJECT report",
		"SORT (SUBJECT) UTF-8 SUBJECT hello",
		"SORT (FROM) UTF-8 FROM alice",
		"SORT (ARRIVAL) UTF-8 OR FLAGGED SEEN",
		"SORT (DATE) UTF-8 SINCE 1-Apr-2023",
		"SORT (DISPLAYFROM) UTF-8 NOT FROM example.org",
		"UID SORT (REVERSE SUBJECT) UTF-8 1:500",
		"SORT RETURN (MIN MAX COUNT ALL) (DATE) UTF-8 ALL",
		"SORT RETURN (MIN MAX COUNT ALL) (SUBJECT) UTF-8 UNSEEN",
		"SORT RETURN (ALL) (REVERSE FROM) UTF-8 ALL",
		"UID SORT RETURN (MIN MAX COUNT ALL) (DISPLAYTO) UTF-8 FLAGGED",
		"SORT RETURN (COUNT) (SIZE) UTF-8 LARGER 2000",
		"SORT RETURN (MIN MAX) (ARRIVAL) UTF-8 SUBJECT nothing-matches",
	)
	for _, alg := range []string{"ORDEREDSUBJECT", "REFERENCES"} {
		cmds = append(cmds,
			"THREAD "+alg+" UTF-8 ALL",
			"UID THREAD "+alg+" UTF-8 ALL",
			"THREAD "+alg+" UTF-8 UNSEEN",
			"THREAD "+alg+" UTF-8 SUBJECT report",
			"THREAD "+alg+" UTF-8 NOT SUBJECT re",
			"UID THREAD "+alg+" UTF-8 OR FLAGGED SINCE 1-Apr-2023",
			"THREAD "+alg+" US-ASCII 100:400",
		)
	}
	return cmds
}

// describeDiff shows where two answers part: for SORT and SEARCH
// answers the first differing position with a few numbers around it, for
// THREAD the first differing top-level thread.
func describeDiff(got, want []string) string {
	if len(got) != len(want) {
		return fmt.Sprintf("  letterbox: %.300q\n  dovecot:   %.300q", got, want)
	}
	var b strings.Builder
	for i := range got {
		if got[i] == want[i] {
			continue
		}
		g, w := got[i], want[i]
		if strings.HasPrefix(g, "* THREAD") {
			gt, wt := splitThreads(g), splitThreads(w)
			for j := 0; j < max(len(gt), len(wt)); j++ {
				if j >= len(gt) || j >= len(wt) || gt[j] != wt[j] {
					fmt.Fprintf(&b, "  thread #%d of %d/%d\n  letterbox: %.400s\n  dovecot:   %.400s\n", j, len(gt), len(wt), at(gt, j), at(wt, j))
					break
				}
			}
			continue
		}
		gf, wf := strings.Fields(g), strings.Fields(w)
		for j := 0; j < max(len(gf), len(wf)); j++ {
			if j >= len(gf) || j >= len(wf) || gf[j] != wf[j] {
				lo := max(0, j-3)
				fmt.Fprintf(&b, "  position %d\n  letterbox: %v\n  dovecot:   %v\n", j, gf[lo:min(len(gf), j+6)], wf[lo:min(len(wf), j+6)])
				break
			}
		}
	}
	return b.String()
}

func at(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return "(none)"
}

// splitThreads splits "* THREAD (..)(..)" into its top-level threads.
func splitThreads(line string) []string {
	s := strings.TrimPrefix(line, "* THREAD")
	var out []string
	depth, startAt := 0, -1
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			if depth == 0 {
				startAt = i
			}
			depth++
		case ')':
			depth--
			if depth == 0 && startAt >= 0 {
				out = append(out, s[startAt:i+1])
			}
		}
	}
	return out
}
