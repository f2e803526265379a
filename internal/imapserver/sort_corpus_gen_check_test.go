package imapserver_test

import (
	"strings"
	"testing"

	"github.com/letterbox/letterbox/internal/mime"
	"github.com/letterbox/letterbox/internal/thread"
)

// TestGenCorpusHardCases checks that the generated corpus is the same for
// a seed and holds each hard case of TestSortThreadCorpus often enough
// to matter, so that a change to the generator cannot quietly drop one.
func TestGenCorpusHardCases(t *testing.T) {
	corpus := genCorpus(corpusSeed, corpusSize)
	again := genCorpus(corpusSeed, corpusSize)
	for i := range corpus {
		if corpus[i] != again[i] {
			t.Fatalf("message %d differs between two runs with one seed", i+1)
		}
	}
	ids := map[string]int{}
	count := map[string]int{}
	internal := map[string]int{}
	dates := map[string]int{}
	sizes := map[int]bool{}
	for _, m := range corpus {
		internal[m.internal]++
		sizes[len(m.raw)/500] = true
		id, ok := firstField(m.raw, "Message-ID")
		id = thread.FirstMessageID(id)
		if !ok || id == "" {
			count["no valid Message-ID"]++
		} else if ids[id]++; ids[id] == 2 {
			count["duplicate Message-ID"]++
		}
		refsField, _ := firstField(m.raw, "References")
		refs := thread.MessageIDs(refsField)
		if len(refs) > 0 && refs[len(refs)-1] == id {
			count["self-reference"]++
		}
		if strings.Contains(refsField, "<loop") {
			count["reference loop member"]++
		}
		if strings.Contains(refsField, "<lost") {
			count["reference to a missing message"]++
		}
		if len(refs) >= 20 {
			count["References of 20 or more"]++
		}
		if _, ok := firstField(m.raw, "In-Reply-To"); ok {
			count["In-Reply-To"]++
		}
		d, ok := firstField(m.raw, "Date")
		if !ok {
			count["no Date"]++
		} else if _, err := mime.ParseDate(d); err != nil {
			count["unparsable Date"]++
		} else if dates[d]++; dates[d] == 2 {
			count["equal Date"]++
		}
		subj, ok := firstField(m.raw, "Subject")
		switch {
		case !ok:
			count["no Subject"]++
		case strings.TrimSpace(subj) == "":
			count["empty Subject"]++
		}
		for _, w := range []string{"?Q?", "?B?", "?q?", "?b?", "ISO-8859-1?", "UTF-8?", "(fwd)", "[Fwd:", "Re: Re:", "[list]", "Fw: ", "RE: ", "re: "} {
			if strings.Contains(subj, w) {
				count["Subject with "+w]++
			}
		}
		for _, f := range []string{"From", "To", "Cc"} {
			v, ok := firstField(m.raw, f)
			if !ok {
				count["no "+f]++
			} else if strings.Contains(v, "=?") {
				count["encoded name in "+f]++
			} else if strings.Contains(v, "<") {
				count["display name or <addr> in "+f]++
			} else {
				count["bare address in "+f]++
			}
		}
	}
	for _, n := range internal {
		if n > 1 {
			count["equal INTERNALDATE"]++
		}
	}
	count["size buckets of 500 bytes"] = len(sizes)
	for k, n := range count {
		t.Logf("%4d %s", n, k)
	}
	for _, want := range []struct {
		what string
		min  int
	}{
		{"no valid Message-ID", 20}, {"duplicate Message-ID", 10}, {"self-reference", 3},
		{"reference loop member", 5}, {"reference to a missing message", 40},
		{"References of 20 or more", 20}, {"In-Reply-To", 50},
		{"no Date", 20}, {"unparsable Date", 10}, {"equal Date", 40}, {"equal INTERNALDATE", 100},
		{"no Subject", 15}, {"empty Subject", 3}, {"Subject with ?Q?", 20}, {"Subject with ?B?", 20},
		{"Subject with ISO-8859-1?", 10}, {"Subject with UTF-8?", 30}, {"Subject with (fwd)", 10},
		{"Subject with [Fwd:", 5}, {"Subject with Re: Re:", 10}, {"Subject with [list]", 30},
		{"Subject with Fw: ", 10}, {"Subject with RE: ", 10}, {"Subject with re: ", 10},
		{"no From", 5}, {"no To", 20}, {"no Cc", 600},
		{"encoded name in From", 50}, {"display name or <addr> in From", 200}, {"bare address in From", 200},
		{"size buckets of 500 bytes", 10},
	} {
		if count[want.what] < want.min {
			t.Errorf("%s: %d messages, want at least %d", want.what, count[want.what], want.min)
		}
	}
}
