package imapserver_test

import (
	"fmt"
	"strings"
	"testing"
)

// sortMessage is one message of the SORT/THREAD fixture mailbox: its
// INTERNALDATE (APPEND date-time) and its header lines.
type sortMessage struct {
	date   string
	header []string
}

// sortFixture is a mailbox with tricky subjects (RFC 2047, blobs,
// re/fwd leaders and trailers, [fwd: ] wrappers, empty), dates (missing,
// invalid, other zones, ties) and references (dummies, loops, duplicate
// Message-IDs, In-Reply-To only), built to compare SORT and THREAD
// answers with Dovecot's.
var sortFixture = []sortMessage{
	{"05-Jan-2023 10:00:00 +0000", []string{"From: Zed <zed@x.org>", "To: bob@x.org", "Subject: Re: [list] Hello world (fwd)", "Date: Mon, 02 Jan 2023 10:00:00 +0000", "Message-ID: <1@x>"}},
	{"04-Jan-2023 10:00:00 +0000", []string{"From: alice@x.org", "To: \"Zoe\" <zoe@x.org>", "Cc: carl@x.org", "Subject: hello world", "Date: Sun, 01 Jan 2023 10:00:00 +0000", "Message-ID: <2@x>"}},
	{"03-Jan-2023 10:00:00 +0000", []string{"From: =?UTF-8?Q?=C3=89mile?= <emile@x.org>", "To: Adam <adam@x.org>", "Subject: =?UTF-8?Q?=C3=9Cber?= alles", "Message-ID: <3@x>", "In-Reply-To: <2@x>"}},
	{"02-Jan-2023 10:00:00 +0000", []string{"From: Bob <bob@x.org>", "To: _team@x.org", "Subject: [fwd: Re: hello world]", "Date: Sun, 01 Jan 2023 20:00:00 -0800", "Message-ID: <4@x>", "References: <1@x> <2@x>"}},
	{"01-Jan-2023 10:00:00 +0000", []string{"From: _under@x.org", "Date: garbage", "Message-ID: <5@x>", "References: <missing@x> <4@x>"}},
	{"06-Jan-2023 10:00:00 +0000", []string{"From: \"carol\" <Carol@x.org>", "To: undisclosed-recipients:;", "Subject: Fw: Topic", "Date: Tue, 03 Jan 2023 09:00:00 +0100", "Message-ID: <dup@x>"}},
	{"06-Jan-2023 10:00:00 +0000", []string{"From: dave@x.org", "Cc: \"Aaron\" <zz@x.org>, abe@x.org", "Subject: topic", "Date: Tue, 03 Jan 2023 08:00:00 +0000", "Message-ID: <dup@x>"}},
	{"07-Jan-2023 10:00:00 +0000", []string{"From: erin@x.org", "Subject: Re: topic", "Date: Wed, 04 Jan 2023 08:00:00 +0000", "Message-ID: <8@x>", "References: <gone@x>"}},
	{"07-Jan-2023 09:00:00 +0000", []string{"From: frank@x.org", "Subject: Re: topic", "Date: Wed, 04 Jan 2023 07:00:00 +0000", "Message-ID: <9@x>", "References: <gone@x>"}},
	{"08-Jan-2023 10:00:00 +0000", []string{"From: gina@x.org", "Subject: Loop A", "Date: Thu, 05 Jan 2023 08:00:00 +0000", "Message-ID: <la@x>", "References: <lb@x>"}},
	{"08-Jan-2023 10:00:00 +0000", []string{"From: hank@x.org", "Subject: Loop B", "Date: Thu, 05 Jan 2023 08:00:00 +0000", "Message-ID: <lb@x>", "References: <la@x>"}},
	{"09-Jan-2023 10:00:00 +0000", []string{"From: ivy@x.org", "Subject:   RE:  re: Re[3]:   zzz  ", "Date: Mon, 02 Jan 2023 10:00:00 +0000", "Message-ID: <12@x>"}},
	{"04-Jan-2023 10:00:00 +0000", []string{"From: Alice <alice@x.org>", "Subject: [PATCH] hello world", "Date: Sun, 01 Jan 2023 10:00:00 +0000", "Message-ID: <13@x>"}},
	{"10-Jan-2023 10:00:00 +0000", []string{"From: =?ISO-8859-1?Q?=DCrsula?= <u@x.org>", "To: =?UTF-8?B?w4RkYQ==?= <ada@x.org>", "Subject: Re: Hello World", "Date: Tue, 10 Jan 2023 10:00:00 +0000", "References: <2@x>"}},
	{"11-Jan-2023 10:00:00 +0000", []string{"From: kim@x.org", "Subject: [a][b] Re: [c] Fwd: zzz", "Date: Wed, 11 Jan 2023 10:00:00 +0000", "Message-ID: <15@x>", "In-Reply-To: <12@x> <1@x>"}},
	{"12-Jan-2023 10:00:00 +0000", []string{"From: lee@x.org", "Subject: Status report", "Date: Thu, 12 Jan 2023 10:00:00 +0000", "Message-ID: <16@x>"}},
	{"12-Jan-2023 10:00:00 +0000", []string{"From: mo@x.org", "Subject: status REPORT", "Date: Thu, 12 Jan 2023 09:00:00 +0000", "Message-ID: <17@x>"}},
	{"12-Jan-2023 10:00:00 +0000", []string{"From: ned@x.org", "Subject: Re: Status report", "Date: Thu, 12 Jan 2023 11:00:00 +0000", "Message-ID: <18@x>"}},
	{"13-Jan-2023 10:00:00 +0000", []string{"From: oz@x.org", "Subject: Re:", "Date: Fri, 13 Jan 2023 10:00:00 +0000", "Message-ID: <19@x>", "References: <a1@x> <16@x>"}},
	{"13-Jan-2023 10:00:00 +0000", []string{"From: pat@x.org", "Subject: self", "Date: Fri, 13 Jan 2023 10:00:00 +0000", "Message-ID: <20@x>", "References: <20@x>"}},
	{"14-Jan-2023 10:00:00 +0000", []string{"From: quinn@x.org", "Subject: nested", "Date: Sat, 14 Jan 2023 10:00:00 +0000", "Message-ID: <21@x>", "References: <n1@x> <n2@x>"}},
	{"14-Jan-2023 10:00:00 +0000", []string{"From: rae@x.org", "Subject: nested two", "Date: Sat, 14 Jan 2023 09:00:00 +0000", "Message-ID: <22@x>", "References: <n1@x> <n3@x>"}},
	{"15-Jan-2023 10:00:00 +0000", []string{"From: sam@x.org", "Subject: Re: hello world", "Date: Sun, 15 Jan 2023 10:00:00 +0000", "Message-ID: <23@x>", "References: <bogus> <n3@x> <4@x>"}},
}

// raw renders message i with a body whose length varies (SIZE).
func (m sortMessage) raw(i int) string {
	return strings.Join(m.header, "\r\n") + "\r\n\r\n" + strings.Repeat("body line\r\n", (i*7)%5+1)
}

// appendFixture APPENDs the fixture to INBOX over c (LITERAL+) and
// selects it.
func appendFixture(c *tconn) {
	c.t.Helper()
	for i, m := range sortFixture {
		msg := m.raw(i)
		c.send(fmt.Sprintf(`ap%d APPEND INBOX "%s" {%d+}`, i, m.date, len(msg)) + "\r\n" + msg)
		for {
			line := c.readLine()
			if strings.HasPrefix(line, fmt.Sprintf("ap%d ", i)) {
				if !strings.HasPrefix(line, fmt.Sprintf("ap%d OK", i)) {
					c.t.Fatalf("APPEND %d: %s", i, line)
				}
				break
			}
		}
	}
	c.send("sel SELECT INBOX")
	for !strings.HasPrefix(c.readLine(), "sel ") {
	}
}

// sortCommands are asked of letterbox and Dovecot alike.
var sortCommands = []string{
	"SORT (ARRIVAL) UTF-8 ALL",
	"SORT (DATE) UTF-8 ALL",
	"SORT (REVERSE DATE) UTF-8 ALL",
	"SORT (SIZE) UTF-8 ALL",
	"SORT (REVERSE SIZE) US-ASCII ALL",
	"SORT (SUBJECT) UTF-8 ALL",
	"SORT (REVERSE SUBJECT) UTF-8 ALL",
	"SORT (FROM) UTF-8 ALL",
	"SORT (TO) UTF-8 ALL",
	"SORT (CC) UTF-8 ALL",
	"SORT (DISPLAYFROM) UTF-8 ALL",
	"SORT (DISPLAYTO) UTF-8 ALL",
	"SORT (SUBJECT REVERSE DATE) UTF-8 ALL",
	"SORT (REVERSE SUBJECT DATE) UTF-8 ALL",
	"SORT (FROM SIZE) UTF-8 NOT FROM zed",
	"UID SORT (SUBJECT) UTF-8 SUBJECT hello",
	"SORT (DATE) UTF-8 OR SUBJECT topic SUBJECT zzz",
	"SORT RETURN (MIN MAX COUNT) (DATE) UTF-8 ALL",
	"SORT RETURN (ALL) (SUBJECT) UTF-8 ALL",
	"SORT RETURN () (REVERSE ARRIVAL) UTF-8 ALL",
	"UID SORT RETURN (COUNT MIN) (FROM) UTF-8 UNDELETED",
	"SORT RETURN (PARTIAL 2:5) (DATE) UTF-8 ALL",
	"SORT RETURN (PARTIAL 9:3 COUNT) (SUBJECT) UTF-8 ALL",
	"SORT RETURN (PARTIAL 20:30) (DATE) UTF-8 ALL",
	"SEARCH RETURN (PARTIAL 2:4) ALL",
	"SEARCH RETURN (MIN MAX PARTIAL 1:2 COUNT) SUBJECT topic",
	"THREAD ORDEREDSUBJECT UTF-8 ALL",
	"THREAD REFERENCES UTF-8 ALL",
	"UID THREAD REFERENCES US-ASCII ALL",
	"THREAD REFERENCES UTF-8 NOT SUBJECT loop",
	"UID THREAD ORDEREDSUBJECT UTF-8 SINCE 4-Jan-2023",
	"THREAD REFERENCES UTF-8 SUBJECT nothing-matches",
}

// sortCommandsAfterExpunge are asked after message 1 is expunged, so that
// sequence numbers and UIDs differ.
var sortCommandsAfterExpunge = []string{
	"SORT (DATE) UTF-8 ALL",
	"UID SORT (DATE) UTF-8 ALL",
	"UID SORT RETURN (ALL MIN MAX) (SUBJECT) UTF-8 ALL",
	"THREAD REFERENCES UTF-8 ALL",
	"UID THREAD REFERENCES UTF-8 ALL",
	"UID THREAD ORDEREDSUBJECT UTF-8 ALL",
}

// expungeFirst expunges message 1.
func expungeFirst(c *tconn) {
	c.t.Helper()
	c.send("x1 STORE 1 +FLAGS.SILENT (\\Deleted)")
	for !strings.HasPrefix(c.readLine(), "x1 ") {
	}
	c.send("x2 EXPUNGE")
	for !strings.HasPrefix(c.readLine(), "x2 ") {
	}
}

// answer sends one command and returns its untagged data responses and
// the tagged status (tag stripped, text after a response code dropped).
func answer(c *tconn, tag, command string) []string {
	c.t.Helper()
	c.send(tag + " " + command)
	var out []string
	for {
		line := c.readLine()
		if rest, ok := strings.CutPrefix(line, tag+" "); ok {
			status, _, _ := strings.Cut(rest, " ")
			if strings.HasPrefix(rest, status+" [") {
				code, _, _ := strings.Cut(rest[len(status)+1:], "]")
				status += " " + code + "]"
			}
			return append(out, status)
		}
		for _, p := range []string{"* SORT", "* THREAD", "* ESEARCH", "* SEARCH"} {
			if strings.HasPrefix(line, p) {
				// Dovecot writes an empty THREAD as "* THREAD " against
				// RFC 5256's grammar; letterbox writes "* THREAD".
				out = append(out, strings.TrimSuffix(line, " "))
			}
		}
	}
}

func TestSortFixtureParses(t *testing.T) {
	if len(sortFixture) != 23 {
		t.Fatal("the expected answers assume 23 messages")
	}
}
