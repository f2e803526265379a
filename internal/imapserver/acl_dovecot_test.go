package imapserver_test

import (
	"bufio"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/letterbox/letterbox/internal/testutil/dovecottest"
)

// dovecotACLConfig turns on Dovecot 2.3's ACLs (vfile backend, "anyone"
// allowed, ACL files read again at every check, as letterbox reads its
// rows) and a shared namespace "shared/%u/" with "/" separators, the
// layout letterbox follows. dict is the shared-mailboxes dictionary.
func dovecotACLConfig(dict string) string {
	return `
mail_plugins = $mail_plugins acl
protocol imap {
  mail_plugins = $mail_plugins imap_acl
}
plugin {
  acl = vfile:cache_secs=0
  acl_anyone = allow
  acl_shared_dict = file:` + dict + `
}
namespace inbox {
  inbox = yes
  separator = /
  prefix =
}
namespace {
  type = shared
  separator = /
  prefix = shared/%%u/
  location = maildir:%%h/../../mail/%%u
  subscriptions = no
  list = children
}
`
}

// aclStep is one command of the comparison: who sends it, and whether
// only the tagged status and code are compared (the untagged data differ
// by design, e.g. SELECT's).
type aclStep struct {
	who        byte // 'a' alice, 'b' bob
	cmd        string
	taggedOnly bool
	// differs names a deliberate difference: both answers are logged,
	// letterbox's must match differs' regexp-free text.
	differs string
}

var aclSteps = []aclStep{
	{who: 'a', cmd: "CREATE Team"},
	{who: 'a', cmd: "CREATE Team/Sub"},
	{who: 'a', cmd: "NAMESPACE"},
	{who: 'a', cmd: "GETACL Team"},
	{who: 'a', cmd: "MYRIGHTS Team"},
	{who: 'a', cmd: "MYRIGHTS INBOX"},
	{who: 'a', cmd: "LISTRIGHTS Team bob@example.com"},
	{who: 'a', cmd: "SETACL Team bob@example.com lr"},
	{who: 'a', cmd: "GETACL Team"},
	{who: 'a', cmd: "SETACL Team bob@example.com +cd"},
	{who: 'a', cmd: "GETACL Team"},
	{who: 'a', cmd: "SETACL Team bob@example.com -d"},
	{who: 'a', cmd: "GETACL Team"},
	{who: 'a', cmd: "SETACL Team bob@example.com lrZ", taggedOnly: true},
	{who: 'a', cmd: "SETACL Team -bob@example.com w"},
	{who: 'a', cmd: "GETACL Team"},
	{who: 'a', cmd: "DELETEACL Team -bob@example.com"},
	{who: 'a', cmd: "SETACL Team anyone l"},
	{who: 'a', cmd: "GETACL Team"},
	{who: 'a', cmd: "DELETEACL Team anyone"},
	{who: 'a', cmd: "SETACL Team carol@example.com \"\""},
	{who: 'a', cmd: "GETACL Team"},
	{who: 'a', cmd: "SETACL Team carol@example.com l"},
	{who: 'a', cmd: "SETACL Team carol@example.com \"\""},
	{who: 'a', cmd: "GETACL Team"},
	{who: 'a', cmd: "DELETEACL Team carol@example.com"},
	{who: 'a', cmd: "SETACL Team bob@example.com lr"},
	{who: 'a', cmd: "SETACL Team/Sub bob@example.com r"},
	{who: 'a', cmd: "SETACL Nope bob@example.com lr"},
	{who: 'a', cmd: "GETACL Nope"},
	{who: 'a', cmd: "APPEND Team {20+}\r\nSubject: x\r\n\r\nhello"},
	{who: 'b', cmd: "NAMESPACE"},
	{who: 'b', cmd: `LIST "" "shared*"`},
	{who: 'b', cmd: `LIST "" "shared/%"`},
	{who: 'b', cmd: `LIST "" "shared/%/%"`},
	{who: 'b', cmd: "MYRIGHTS shared/alice@example.com/Team"},
	{who: 'b', cmd: "MYRIGHTS shared/alice@example.com/Team/Sub"},
	{who: 'b', cmd: "MYRIGHTS shared/alice@example.com/Nope"},
	{who: 'b', cmd: "MYRIGHTS shared/carol@example.com/INBOX"},
	{who: 'b', cmd: "MYRIGHTS shared/alice@example.com"},
	{who: 'b', cmd: "GETACL shared/alice@example.com/Team"},
	{who: 'b', cmd: "LISTRIGHTS shared/alice@example.com/Team bob@example.com"},
	{who: 'b', cmd: "STATUS shared/alice@example.com/Team (MESSAGES UNSEEN)"},
	{who: 'b', cmd: "STATUS shared/alice@example.com/Team/Sub (MESSAGES)"},
	{who: 'b', cmd: "SELECT shared/alice@example.com/Nope", taggedOnly: true,
		differs: "NO [NONEXISTENT]"}, // Dovecot: NO without a code
	{who: 'b', cmd: "SELECT shared/alice@example.com/Team", taggedOnly: true},
	{who: 'b', cmd: "FETCH 1 (FLAGS BODY.PEEK[])", taggedOnly: true},
	{who: 'b', cmd: `STORE 1 +FLAGS (\Deleted)`},
	{who: 'b', cmd: "EXPUNGE", taggedOnly: true,
		differs: "NO [NOPERM]"}, // Dovecot: OK, nothing expunged
	{who: 'b', cmd: "APPEND shared/alice@example.com/Team {5+}\r\nhello", taggedOnly: true},
	{who: 'b', cmd: "COPY 1 shared/alice@example.com/Team", taggedOnly: true},
	{who: 'b', cmd: "COPY 1 INBOX", taggedOnly: true},
	{who: 'b', cmd: "MOVE 1 INBOX", taggedOnly: true},
	{who: 'b', cmd: "CREATE shared/alice@example.com/Team/New", taggedOnly: true},
	{who: 'b', cmd: "CREATE shared/bob@example.com/X", taggedOnly: true},
	// Dovecot ends a session whose selected mailbox a refused DELETE
	// names ("Selected mailbox was deleted"): leave it first.
	{who: 'b', cmd: "UNSELECT", taggedOnly: true},
	{who: 'b', cmd: "DELETE shared/alice@example.com/Team", taggedOnly: true},
	{who: 'b', cmd: "RENAME shared/alice@example.com/Team shared/alice@example.com/Team2", taggedOnly: true},
	{who: 'b', cmd: "SETACL shared/alice@example.com/Team carol@example.com lr", taggedOnly: true},
	{who: 'a', cmd: "SETACL Team bob@example.com lrswite"},
	// Dovecot's sessions keep the ACLs they read (letterbox reads them at
	// every command, TestACLChangeSeenAtNextCommand): bob logs in again.
	{who: 'b', cmd: reconnect},
	{who: 'b', cmd: "SELECT shared/alice@example.com/Team", taggedOnly: true},
	{who: 'b', cmd: `STORE 1 +FLAGS ($Foo)`, taggedOnly: true},
	{who: 'b', cmd: `STORE 1 +FLAGS (\Deleted)`, taggedOnly: true},
	{who: 'b', cmd: "EXPUNGE"},
	{who: 'b', cmd: "SUBSCRIBE shared/alice@example.com/Team"},
	{who: 'b', cmd: `LSUB "" "shared/*"`},
	{who: 'a', cmd: "SETACL Team bob@example.com lrswitea"},
	{who: 'b', cmd: reconnect},
	{who: 'b', cmd: "SETACL shared/alice@example.com/Team carol@example.com lr"},
	{who: 'b', cmd: "GETACL shared/alice@example.com/Team"},
	{who: 'a', cmd: "SETACL Team alice@example.com lr", taggedOnly: true,
		differs: "NO [CANNOT]"}, // Dovecot lets the owner lose its rights
}

// reconnect as a step's command logs its user in again on both servers.
const reconnect = "(reconnect)"

// aclAnswer sends a command (a literal after "\r\n" goes as a second line)
// and returns its untagged lines, normalised, and its tagged status with
// its response code.
func aclAnswer(c *tconn, tag string, st aclStep) (untagged []string, tagged string) {
	c.t.Helper()
	first, rest, lit := strings.Cut(st.cmd, "\r\n")
	c.send(tag + " " + first)
	if lit {
		c.send(rest)
	}
	for {
		line := c.readLine()
		if r, ok := strings.CutPrefix(line, tag+" "); ok {
			status, _, _ := strings.Cut(r, " ")
			// CREATE's MAILBOXID (RFC 8474 §4.1): Dovecot 2.3 has no OBJECTID.
			r = mailboxIDCode.ReplaceAllString(r, "")
			if strings.HasPrefix(r, status+" [") {
				code, _, _ := strings.Cut(r[len(status)+1:], "]")
				// The UIDVALIDITY differs by nature.
				code = uidValidityInCode.ReplaceAllString(code, "$1 V")
				status += " " + code + "]"
			}
			return untagged, status
		}
		if st.taggedOnly || !strings.HasPrefix(line, "* ") {
			continue
		}
		untagged = append(untagged, normaliseACLLine(line))
	}
}

var mailboxIDCode = regexp.MustCompile(`\[MAILBOXID \([^)]*\)\] ?`)

var uidValidityInCode = regexp.MustCompile(`^(\[(?:APPENDUID|COPYUID)) \d+`)

// normaliseACLLine drops the quotes (letterbox quotes every mailbox name,
// Dovecot only where it must) and sorts each rights string of ACL and
// MYRIGHTS (Dovecot writes entries other than the owner's in its own
// internal order) and the ACL's entries.
func normaliseACLLine(line string) string {
	f := strings.Fields(strings.ReplaceAll(strings.ReplaceAll(line, ` ""`, " -none-"), `"`, ""))
	sortLetters := func(s string) string {
		b := []byte(s)
		slices.Sort(b)
		return string(b)
	}
	switch {
	case len(f) >= 3 && f[1] == "ACL":
		var pairs []string
		for i := 3; i+1 < len(f); i += 2 {
			pairs = append(pairs, f[i]+" "+sortLetters(f[i+1]))
		}
		slices.Sort(pairs)
		return strings.Join(f[:3], " ") + " " + strings.Join(pairs, " | ")
	case len(f) == 4 && f[1] == "MYRIGHTS":
		f[3] = sortLetters(f[3])
	}
	return strings.Join(f, " ")
}

// TestACLMatchDovecot asks letterbox and a throwaway Dovecot 2.3 (acl
// plugin, vfile backend, shared namespace "shared/%u/") the same ACL and
// shared-mailbox questions as alice and bob, and fails on any difference
// but the deliberate ones named in aclSteps. It needs Dovecot (skipped
// without it, except under CI=true: dovecottest).
func TestACLMatchDovecot(t *testing.T) {
	// The dictionary must be writable by Dovecot's mail user (nobody
	// when run as root): not under t.TempDir, whose parents are 0700.
	dictDir, err := os.MkdirTemp("", "letterbox-acl-dict-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dictDir) })
	if err := os.Chmod(dictDir, 0o777); err != nil {
		t.Fatal(err)
	}
	users := map[string]string{testUser: testPass, bobUser: testPass, "carol@example.com": testPass}
	dv := dovecottest.StartT(t, dovecottest.Options{Users: users, Config: dovecotACLConfig(filepath.Join(dictDir, "shared.db"))})
	dial := func(user string) *tconn {
		nc, err := net.Dial("tcp", dv.IMAP)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nc.Close() })
		d := &tconn{t: t, nc: nc, br: bufio.NewReader(nc)}
		d.readLine()
		d.send(`l LOGIN "` + user + `" "` + testPass + `"`)
		for !strings.HasPrefix(d.readLine(), "l ") {
		}
		return d
	}
	da, db := dial(testUser), dial(bobUser)

	h := newHarness(t)
	h.addUser(bobUser)
	h.addUser("carol@example.com")
	la, lb := h.login(), h.loginAs(bobUser)

	for i, st := range aclSteps {
		tag := "q" + itoa(i)
		if st.cmd == reconnect {
			db, lb = dial(bobUser), h.loginAs(bobUser)
			continue
		}
		d, l := da, la
		if st.who == 'b' {
			d, l = db, lb
		}
		wantU, wantT := aclAnswer(d, tag, st)
		gotU, gotT := aclAnswer(l, tag, st)
		who := map[byte]string{'a': "alice", 'b': "bob"}[st.who]
		switch {
		case st.differs != "":
			if gotT != st.differs {
				t.Errorf("%s: %s\n  letterbox: %s, want %s (Dovecot: %s)", who, st.cmd, gotT, st.differs, wantT)
			} else {
				t.Logf("%s: %s\n  letterbox: %s; Dovecot: %s (deliberate)", who, st.cmd, gotT, wantT)
			}
		case gotT != wantT || strings.Join(gotU, "\n") != strings.Join(wantU, "\n"):
			t.Errorf("%s: %s\n  letterbox: %q %s\n  dovecot:   %q %s", who, st.cmd, gotU, gotT, wantU, wantT)
		default:
			t.Logf("%s: %s\n  both: %q %s", who, st.cmd, gotU, gotT)
		}
	}
}
