package imapserver_test

import (
	"bufio"
	"net"
	"strings"
	"testing"

	"github.com/letterbox/letterbox/internal/testutil/dovecottest"
)

// TestSortThreadMatchDovecot asks letterbox and a throwaway Dovecot the
// same SORT, THREAD and ESEARCH questions about the same mailbox
// (sortFixture) and fails on any difference. It needs Dovecot (skipped
// without it, except under CI=true).
func TestSortThreadMatchDovecot(t *testing.T) {
	dv := dovecottest.StartT(t, dovecottest.Options{Users: map[string]string{"u": "p"}, Env: []string{"TZ=UTC"}})
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
	appendFixture(d)

	h := newHarness(t)
	c := h.login()
	appendFixture(c)
	compare := func(cmds []string) {
		for i, cmd := range cmds {
			tag := "q" + itoa(i)
			want := answer(d, tag, cmd)
			got := answer(c, tag, cmd)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("%s\n  letterbox: %q\n  dovecot:   %q", cmd, got, want)
			} else {
				t.Logf("%s\n  both: %q", cmd, got)
			}
		}
	}
	compare(sortCommands)
	expungeFirst(d)
	expungeFirst(c)
	compare(sortCommandsAfterExpunge)
}
