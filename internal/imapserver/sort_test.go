package imapserver_test

import (
	"strings"
	"testing"
)

// sortAnswers are the answers to sortCommands for sortFixture: Dovecot
// 2.3.19 gave exactly these (TestSortThreadMatchDovecot compares the two
// servers live), so this test holds letterbox to them without Dovecot.
var sortAnswers = []struct {
	cmd  string
	want []string
}{
	{"SORT (ARRIVAL) UTF-8 ALL", []string{`* SORT 5 4 3 2 13 1 6 7 9 8 10 11 12 14 15 16 17 18 19 20 21 22 23`, `OK`}},
	{"SORT (DATE) UTF-8 ALL", []string{`* SORT 2 5 13 4 1 12 6 7 3 9 8 10 11 14 15 17 16 18 19 20 22 21 23`, `OK`}},
	{"SORT (REVERSE DATE) UTF-8 ALL", []string{`* SORT 23 21 22 19 20 18 16 17 15 14 10 11 8 9 3 6 7 1 12 4 2 5 13`, `OK`}},
	{"SORT (SIZE) UTF-8 ALL", []string{`* SORT 16 11 5 17 21 19 9 12 1 6 20 22 10 18 7 2 13 8 4 15 14 23 3`, `OK`}},
	{"SORT (REVERSE SIZE) US-ASCII ALL", []string{`* SORT 3 23 14 15 4 8 2 13 7 18 10 22 20 6 1 12 9 19 21 17 5 11 16`, `OK`}},
	{"SORT (SUBJECT) UTF-8 ALL", []string{`* SORT 5 19 1 2 4 13 14 23 10 11 21 22 20 16 17 18 6 7 8 9 3 12 15`, `OK`}},
	{"SORT (REVERSE SUBJECT) UTF-8 ALL", []string{`* SORT 12 15 3 6 7 8 9 16 17 18 20 22 21 11 10 1 2 4 13 14 23 5 19`, `OK`}},
	{"SORT (FROM) UTF-8 ALL", []string{`* SORT 2 13 4 6 7 3 8 9 10 11 12 15 16 17 18 19 20 21 22 23 14 1 5`, `OK`}},
	{"SORT (TO) UTF-8 ALL", []string{`* SORT 5 7 8 9 10 11 12 13 15 16 17 18 19 20 21 22 23 14 3 1 6 2 4`, `OK`}},
	{"SORT (CC) UTF-8 ALL", []string{`* SORT 1 3 4 5 6 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 2 7`, `OK`}},
	{"SORT (DISPLAYFROM) UTF-8 ALL", []string{`* SORT 13 2 4 6 7 8 3 9 10 11 12 15 16 17 18 19 20 21 22 23 14 1 5`, `OK`}},
	{"SORT (DISPLAYTO) UTF-8 ALL", []string{`* SORT 5 7 8 9 10 11 12 13 15 16 17 18 19 20 21 22 23 3 14 1 6 2 4`, `OK`}},
	{"SORT (SUBJECT REVERSE DATE) UTF-8 ALL", []string{`* SORT 19 5 23 14 1 4 2 13 10 11 21 22 20 18 16 17 8 9 6 7 3 15 12`, `OK`}},
	{"SORT (REVERSE SUBJECT DATE) UTF-8 ALL", []string{`* SORT 12 15 3 6 7 9 8 17 16 18 20 22 21 11 10 2 13 4 1 14 23 5 19`, `OK`}},
	{"SORT (FROM SIZE) UTF-8 NOT FROM zed", []string{`* SORT 2 13 4 6 7 3 8 9 10 11 12 15 16 17 18 19 20 21 22 23 14 5`, `OK`}},
	{"UID SORT (SUBJECT) UTF-8 SUBJECT hello", []string{`* SORT 1 2 4 13 14 23`, `OK`}},
	{"SORT (DATE) UTF-8 OR SUBJECT topic SUBJECT zzz", []string{`* SORT 12 6 7 9 8 15`, `OK`}},
	{"SORT RETURN (MIN MAX COUNT) (DATE) UTF-8 ALL", []string{`* ESEARCH (TAG "q17") MIN 2 MAX 23 COUNT 23`, `OK`}},
	{"SORT RETURN (ALL) (SUBJECT) UTF-8 ALL", []string{`* ESEARCH (TAG "q18") ALL 5,19,1:2,4,13:14,23,10:11,21:22,20,16:18,6:9,3,12,15`, `OK`}},
	{"SORT RETURN () (REVERSE ARRIVAL) UTF-8 ALL", []string{`* ESEARCH (TAG "q19") ALL 23,21:22,19:20,16:18,15,14,12,10:11,8:9,6:7,1:2,13,3:5`, `OK`}},
	{"UID SORT RETURN (COUNT MIN) (FROM) UTF-8 UNDELETED", []string{`* ESEARCH (TAG "q20") UID MIN 2 COUNT 23`, `OK`}},
	{"SORT RETURN (PARTIAL 2:5) (DATE) UTF-8 ALL", []string{`* ESEARCH (TAG "q21") PARTIAL (2:5 5,13,4,1)`, `OK`}},
	{"SORT RETURN (PARTIAL 9:3 COUNT) (SUBJECT) UTF-8 ALL", []string{`* ESEARCH (TAG "q22") PARTIAL (3:9 1:2,4,13:14,23,10) COUNT 23`, `OK`}},
	{"SORT RETURN (PARTIAL 20:30) (DATE) UTF-8 ALL", []string{`* ESEARCH (TAG "q23") PARTIAL (20:30 20,22,21,23)`, `OK`}},
	{"SEARCH RETURN (PARTIAL 2:4) ALL", []string{`* ESEARCH (TAG "q24") PARTIAL (2:4 2:4)`, `OK`}},
	{"SEARCH RETURN (MIN MAX PARTIAL 1:2 COUNT) SUBJECT topic", []string{`* ESEARCH (TAG "q25") MIN 6 MAX 9 PARTIAL (1:2 6:7) COUNT 4`, `OK`}},
	{"THREAD ORDEREDSUBJECT UTF-8 ALL", []string{`* THREAD (2 (13)(4)(1)(14)(23))(5 19)(12 15)(6 (7)(9)(8))(3)(10)(11)(17 (16)(18))(20)(22)(21)`, `OK`}},
	{"THREAD REFERENCES UTF-8 ALL", []string{`* THREAD (13 1 2 (4 (5)(23))(3)(14))(12 15)((6)(7)(9)(8))(11 10)((17)(16 19)(18))(20)((22)(21))`, `OK`}},
	{"UID THREAD REFERENCES US-ASCII ALL", []string{`* THREAD (13 1 2 (4 (5)(23))(3)(14))(12 15)((6)(7)(9)(8))(11 10)((17)(16 19)(18))(20)((22)(21))`, `OK`}},
	{"THREAD REFERENCES UTF-8 NOT SUBJECT loop", []string{`* THREAD (13 1 2 (4 (5)(23))(3)(14))(12 15)((6)(7)(9)(8))((17)(16 19)(18))(20)((22)(21))`, `OK`}},
	{"UID THREAD ORDEREDSUBJECT UTF-8 SINCE 4-Jan-2023", []string{`* THREAD (2 (13)(1)(14)(23))(12 15)(6 (7)(9)(8))(10)(11)(17 (16)(18))(19)(20)(22)(21)`, `OK`}},
	{"THREAD REFERENCES UTF-8 SUBJECT nothing-matches", []string{`* THREAD`, `OK`}},
}

// TestSort checks SORT, UID SORT, ESORT (RETURN MIN MAX ALL COUNT,
// PARTIAL) and THREAD against the answers Dovecot gave for the fixture.
func TestSort(t *testing.T) {
	h := newHarness(t)
	c := h.login()
	appendFixture(c)
	if len(sortAnswers) != len(sortCommands) {
		t.Fatalf("%d answers for %d commands", len(sortAnswers), len(sortCommands))
	}
	for i, a := range sortAnswers {
		if a.cmd != sortCommands[i] {
			t.Fatalf("answer %d is for %q, command is %q", i, a.cmd, sortCommands[i])
		}
		got := answer(c, "q"+itoa(i), a.cmd)
		if strings.Join(got, "\n") != strings.Join(a.want, "\n") {
			t.Errorf("%s\n got  %q\n want %q", a.cmd, got, a.want)
		}
	}
}

// sortAnswersAfterExpunge answer sortCommandsAfterExpunge (from Dovecot,
// as sortAnswers).
var sortAnswersAfterExpunge = [][]string{
	{`* SORT 1 4 12 3 11 5 6 2 8 7 9 10 13 14 16 15 17 18 19 21 20 22`, `OK`},
	{`* SORT 2 5 13 4 12 6 7 3 9 8 10 11 14 15 17 16 18 19 20 22 21 23`, `OK`},
	{`* ESEARCH (TAG "e2") UID MIN 5 MAX 15 ALL 5,19,2,4,13:14,23,10:11,21:22,20,16:18,6:9,3,12,15`, `OK`},
	{`* THREAD ((1 (3 (4)(22))(2)(13))(12))(11 14)((5)(6)(8)(7))(10 9)((16)(15 18)(17))(19)((21)(20))`, `OK`},
	{`* THREAD ((2 (4 (5)(23))(3)(14))(13))(12 15)((6)(7)(9)(8))(11 10)((17)(16 19)(18))(20)((22)(21))`, `OK`},
	{`* THREAD (2 (13)(4)(14)(23))(5 19)(12 15)(6 (7)(9)(8))(3)(10)(11)(17 (16)(18))(20)(22)(21)`, `OK`},
}

// TestSortAfterExpunge: sequence numbers and UIDs differ.
func TestSortAfterExpunge(t *testing.T) {
	h := newHarness(t)
	c := h.login()
	appendFixture(c)
	expungeFirst(c)
	for i, cmd := range sortCommandsAfterExpunge {
		got := answer(c, "e"+itoa(i), cmd)
		if want := sortAnswersAfterExpunge[i]; strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s\n got  %q\n want %q", cmd, got, want)
		}
	}
}

// TestSortErrors: bad syntax is BAD, other charsets NO [BADCHARSET], and
// SORT and THREAD need a selected mailbox.
func TestSortErrors(t *testing.T) {
	h := newHarness(t)
	h.deliver("INBOX", msg1)
	c := h.login()
	c.run(`
C: a0 SORT (DATE) UTF-8 ALL
S: a0 BAD Command not valid in this state
C: a00 THREAD REFERENCES UTF-8 ALL
S: a00 BAD Command not valid in this state
`)
	c.selectInbox("s0")
	c.run(`
C: a1 SORT (DATE) X-BOGUS ALL
S~ a1 NO \[BADCHARSET \(UTF-8 US-ASCII ISO-8859-1 .* BIG5\)\] Unknown charset
C: a2 THREAD REFERENCES X-BOGUS ALL
S~ a2 NO \[BADCHARSET \(UTF-8 US-ASCII ISO-8859-1 .* BIG5\)\] Unknown charset
C: a3 SORT (FOO) UTF-8 ALL
S~ a3 BAD .*sort key FOO.*
C: a4 SORT () UTF-8 ALL
S~ a4 BAD .*
C: a5 SORT (DATE) UTF-8
S~ a5 BAD .*
C: a6 THREAD FOO UTF-8 ALL
S: a6 BAD Unknown thread algorithm
C: a7 SORT RETURN (PARTIAL 1:2 ALL) (DATE) UTF-8 ALL
S~ a7 BAD .*PARTIAL conflicts with ALL.*
C: a8 SORT RETURN (PARTIAL 0:2) (DATE) UTF-8 ALL
S~ a8 BAD .*PARTIAL range.*
C: a9 SORT (REVERSE) UTF-8 ALL
S~ a9 BAD .*
C: a10 SORT (DATE) UTF-8 FOO
S~ a10 BAD .*unknown search key FOO.*
C: a11 SORT RETURN (BOGUS) (DATE) UTF-8 ALL
S~ a11 BAD .*return option.*
C: a12 SORT (date reverse subject) utf-8 all
S: * SORT 1
S: a12 OK SORT completed
C: a13 UID THREAD orderedsubject us-ascii all
S: * THREAD (1)
S: a13 OK UID THREAD completed
C: a14 SEARCH RETURN (PARTIAL 1:5 PARTIAL 1:2) ALL
S~ a14 BAD .*only once.*
`)
}
