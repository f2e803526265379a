//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
)

// A data directory written by an earlier letterbox (commit 7702bfe, the
// start of the session that added object ids, ACLs, aliases, the outbound
// queue and tombstone ids: SQLite schema 2) opens with this binary, which
// migrates it on start: every message keeps its mailbox, UID, UIDVALIDITY,
// flags and body, the subscription stays, the new features work on old
// mail (EMAILID, SAVEDATE, PREVIEW), new mail arrives, and fsck is clean.
// testdata/datadir-7702bfe.tar.gz was made by that commit's binary: INBOX
// with three APPENDed messages (\Seen; \Flagged $Important; one expunged)
// and Archive/2024 with one (\Seen \Answered), subscribed.
func TestUpgradeFromOlderDataDirectory(t *testing.T) {
	tar := requireTool(t, "tar")
	s := &server{t: t, dataDir: filepath.Join(t.TempDir(), "data"), log: &syncBuffer{}}
	if err := os.MkdirAll(s.dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	archive, err := filepath.Abs("testdata/datadir-7702bfe.tar.gz")
	if err != nil {
		t.Fatal(err)
	}
	mustRun(t, time.Minute, nil, "", tar, "-xzf", archive, "-C", s.dataDir)
	s.writeConfig(nil)
	s.start()
	defer s.stop()

	c := s.dialIMAPS(t, "alice@example.com", "alice secret")
	inbox := fetchAll(t, c, "INBOX")
	type row struct {
		uid   imap.UID
		subj  string
		flags string
	}
	var got []row
	for _, m := range inbox {
		var fl []string
		for _, f := range m.flags {
			fl = append(fl, string(f))
		}
		slices.Sort(fl)
		got = append(got, row{m.uid, m.subj, strings.Join(fl, " ")})
		if !strings.Contains(string(m.body), "Body of "+m.subj+".") {
			t.Errorf("UID %d body: %q", m.uid, m.body)
		}
	}
	want := []row{{1, "first message", `\Seen`}, {2, "second message", `$Important \Flagged`}}
	if !slices.Equal(got, want) {
		t.Fatalf("INBOX after upgrade: %v, want %v", got, want)
	}
	st, err := c.Status("INBOX", &imap.StatusOptions{UIDValidity: true, UIDNext: true}).Wait()
	if err != nil || st.UIDValidity != 1796397385 || st.UIDNext != 4 {
		t.Fatalf("INBOX status after upgrade: %+v, %v (want UIDVALIDITY 1796397385, UIDNEXT 4)", st, err)
	}
	arch := fetchAll(t, c, "Archive/2024")
	if len(arch) != 1 || arch[0].subj != "archived message" ||
		!slices.Contains(arch[0].flags, imap.FlagSeen) || !slices.Contains(arch[0].flags, imap.FlagAnswered) {
		t.Fatalf("Archive/2024 after upgrade: %d messages (want 1, \\Seen \\Answered)", len(arch))
	}
	subs, err := c.List("", "*", &imap.ListOptions{SelectSubscribed: true}).Collect()
	if err != nil || !slices.ContainsFunc(subs, func(d *imap.ListData) bool { return d.Mailbox == "Archive/2024" }) {
		t.Fatalf("subscription lost: %v, %v", subs, err)
	}
	c.Logout().Wait()

	// The new per-message features answer for migrated mail.
	imapc := dialLines(t, s.addr("imap"))
	imapc.expect("* OK")
	imapc.send(`a1 LOGIN "alice@example.com" "alice secret"`)
	imapc.expect("a1 OK")
	imapc.send("a2 SELECT INBOX")
	imapc.expect("a2 OK")
	imapc.send("a3 UID FETCH 1 (EMAILID THREADID SAVEDATE PREVIEW)")
	line := imapc.expect("* 1 FETCH")
	for _, part := range []string{"EMAILID (M", "THREADID (T", "SAVEDATE ", `PREVIEW "Body of first message."`} {
		if !strings.Contains(line, part) {
			t.Errorf("FETCH of migrated mail lacks %q: %s", part, line)
		}
	}
	imapc.expect("a3 OK")

	if err := sendSMTP(s.addr("smtp"), "bob@example.org", []string{"alice@example.com"}, []byte("Subject: after upgrade\r\n\r\nnew\r\n")); err != nil {
		t.Fatalf("delivery after upgrade: %v", err)
	}
	s.stop()
	out, err := exec.Command(letterboxBin, s.args("fsck", "--hash")...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "no problems found") {
		t.Fatalf("fsck after upgrade: %v\n%s", err, out)
	}
}
