package mailclient

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// The two-way sync against letterbox and against Debian's Dovecot, both
// over implicit TLS. An admin session (go-imap's own client) changes the
// server behind the sync's back and reads what the sync did there.

// syncEnv is one server under test.
type syncEnv struct {
	t      *testing.T
	name   string
	cfg    Config // imaps for the sync
	admin  *imapclient.Client
	delim  string // the server's hierarchy delimiter
	dialAd func() *imapclient.Client
	// plainAddr is letterbox's plain IMAP listener (for mbsync).
	plainAddr string
}

func letterboxSyncEnv(t *testing.T) *syncEnv {
	s := startServers(t)
	dial := func() *imapclient.Client {
		c, err := imapclient.DialInsecure(s.imap, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Login(testUser, testPass).Wait(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	return &syncEnv{t: t, name: "letterbox", cfg: s.config(IMAP, ImplicitTLS), admin: dial(), delim: "/", dialAd: dial, plainAddr: s.imap}
}

func dovecotSyncEnv(t *testing.T) *syncEnv {
	d := startDovecot(t)
	return &syncEnv{t: t, name: "dovecot", cfg: d.config(IMAP, ImplicitTLS), admin: d.admin(), delim: ".", dialAd: d.admin}
}

// sync runs SyncFolders over root and fails the test on an error.
func (e *syncEnv) sync(root string, without ...string) *SyncSummary {
	e.t.Helper()
	sum, err := syncFolders(context.Background(), e.cfg, root, SyncOptions{}, without...)
	if err != nil {
		e.t.Fatalf("sync: %v", err)
	}
	return sum
}

// folder returns the report of one folder.
func folder(t *testing.T, sum *SyncSummary, name string) FolderReport {
	t.Helper()
	for _, f := range sum.Folders {
		if f.Mailbox == name {
			return f
		}
	}
	t.Fatalf("no report for folder %q in %+v", name, sum.Folders)
	return FolderReport{}
}

func (e *syncEnv) create(name string) {
	e.t.Helper()
	if err := e.admin.Create(name, nil).Wait(); err != nil && !strings.Contains(err.Error(), "ALREADYEXISTS") {
		e.t.Fatalf("create %s: %v", name, err)
	}
}

func (e *syncEnv) put(mailbox, subject, body string, flags ...imap.Flag) {
	e.t.Helper()
	appendMsg(e.t, e.admin, mailbox, testMessage("bob@example.com", subject, body), flags...)
}

// uidOf selects mailbox and finds the UID of the message with subject.
func (e *syncEnv) uidOf(mailbox, subject string) imap.UID {
	e.t.Helper()
	if _, err := e.admin.Select(mailbox, nil).Wait(); err != nil {
		e.t.Fatalf("select %s: %v", mailbox, err)
	}
	data, err := e.admin.UIDSearch(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: subject}}}, nil).Wait()
	if err != nil {
		e.t.Fatal(err)
	}
	uids := data.AllUIDs()
	if len(uids) != 1 {
		e.t.Fatalf("%s: %d messages with subject %q", mailbox, len(uids), subject)
	}
	return uids[0]
}

// subjects lists the subjects in a server mailbox, sorted.
func (e *syncEnv) subjects(mailbox string) []string {
	e.t.Helper()
	data, err := e.admin.Select(mailbox, nil).Wait()
	if err != nil {
		e.t.Fatalf("select %s: %v", mailbox, err)
	}
	if data.NumMessages == 0 {
		return nil
	}
	msgs, err := e.admin.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{Envelope: true}).Collect()
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		out = append(out, m.Envelope.Subject)
	}
	sort.Strings(out)
	return out
}

// flags returns the server's flags of a message as Maildir letters.
func (e *syncEnv) flags(mailbox, subject string) string {
	e.t.Helper()
	uid := e.uidOf(mailbox, subject)
	msgs, err := e.admin.Fetch(imap.UIDSetNum(uid), &imap.FetchOptions{Flags: true}).Collect()
	if err != nil || len(msgs) != 1 {
		e.t.Fatalf("fetch flags: %v", err)
	}
	return FlagLetters(flagStringsOf(msgs[0].Flags))
}

func flagStringsOf(fl []imap.Flag) []string {
	out := make([]string, len(fl))
	for i, f := range fl {
		out[i] = string(f)
	}
	return out
}

func (e *syncEnv) store(mailbox, subject string, op imap.StoreFlagsOp, flags ...imap.Flag) {
	e.t.Helper()
	uid := e.uidOf(mailbox, subject)
	if err := e.admin.Store(imap.UIDSetNum(uid), &imap.StoreFlags{Op: op, Silent: true, Flags: flags}, nil).Close(); err != nil {
		e.t.Fatal(err)
	}
}

func (e *syncEnv) move(mailbox, subject, dest string) {
	e.t.Helper()
	uid := e.uidOf(mailbox, subject)
	if _, err := e.admin.Move(imap.UIDSetNum(uid), dest).Wait(); err != nil {
		e.t.Fatal(err)
	}
}

func (e *syncEnv) expunge(mailbox, subject string) {
	e.t.Helper()
	e.store(mailbox, subject, imap.StoreFlagsAdd, imap.FlagDeleted)
	if err := e.admin.UIDExpunge(imap.UIDSetNum(e.uidOf(mailbox, subject))).Close(); err != nil {
		e.t.Fatal(err)
	}
}

// localFiles maps the subjects of a Maildir's messages to their paths.
func localFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, sub := range []string{"new", "cur"} {
		entries, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			t.Fatal(err)
		}
		for _, en := range entries {
			p := filepath.Join(dir, sub, en.Name())
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			subject := "?"
			for _, line := range strings.Split(string(data), "\n") {
				if s, ok := strings.CutPrefix(line, "Subject: "); ok {
					subject = s
					break
				}
			}
			if _, dup := out[subject]; dup {
				t.Fatalf("%s holds %q twice", dir, subject)
			}
			out[subject] = p
		}
	}
	return out
}

func localSubjects(t *testing.T, dir string) []string {
	var out []string
	for s := range localFiles(t, dir) {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// setLocalFlags renames a local message to carry letters.
func setLocalFlags(t *testing.T, dir, subject, letters string) {
	t.Helper()
	p := localFiles(t, dir)[subject]
	if p == "" {
		t.Fatalf("no local %q in %s", subject, dir)
	}
	base, _, _ := strings.Cut(filepath.Base(p), ":")
	if err := os.Rename(p, filepath.Join(dir, "cur", base+":2,"+letters)); err != nil {
		t.Fatal(err)
	}
}

func equalStrings(a, b []string) bool { return strings.Join(a, "\x00") == strings.Join(b, "\x00") }

func TestTwoWaySyncLetterbox(t *testing.T) { testTwoWaySync(t, letterboxSyncEnv(t)) }
func TestTwoWaySyncDovecot(t *testing.T)   { testTwoWaySync(t, dovecotSyncEnv(t)) }

func testTwoWaySync(t *testing.T, e *syncEnv) {
	big := strings.Repeat("a line of a big message that must not be downloaded twice\r\n", 1200) // ~70 KB
	e.create("Archive")
	lists := "Lists" + e.delim + "go"
	e.create("Lists")
	e.create(lists)
	e.create("Café")
	e.put("INBOX", "hello", "hi")
	e.put("INBOX", "read me", "x", imap.FlagSeen)
	e.put("INBOX", "big one", big)
	e.put("INBOX", "conflict", "c", imap.FlagSeen)
	e.put("INBOX", "doomed", "d")
	e.put("INBOX", "flagged away", "f")
	e.put("Archive", "old", "o", imap.FlagSeen, imap.FlagAnswered)
	e.put(lists, "gopher", "g")
	e.put("Café", "café au lait", "c")
	root := filepath.Join(t.TempDir(), "Mail")
	inbox, archive := filepath.Join(root, "INBOX"), filepath.Join(root, "Archive")

	sum := e.sync(root)
	if got := folder(t, sum, "INBOX"); got.Fetched != 6 {
		t.Fatalf("first sync INBOX %+v", got)
	}
	for dir, want := range map[string][]string{
		inbox:                              {"big one", "conflict", "doomed", "flagged away", "hello", "read me"},
		archive:                            {"old"},
		filepath.Join(root, "Lists", "go"): {"gopher"},
		filepath.Join(root, "Caf&AOk-"):    {"café au lait"},
	} {
		if got := localSubjects(t, dir); !equalStrings(got, want) {
			t.Fatalf("%s holds %q, want %q", dir, got, want)
		}
	}
	if got := fileLetters(localFiles(t, archive)["old"]); got != "RS" {
		t.Fatalf("archive/old has letters %q", got)
	}
	t.Logf("%s: first sync %s, %d folders, sent %d received %d", e.name, sum.Method, len(sum.Folders), sum.Sent, sum.Received)

	noChange := func(step string) {
		t.Helper()
		sum := e.sync(root)
		var total int64
		for _, f := range sum.Folders {
			if f.SyncReport != (SyncReport{Kept: f.Kept}) {
				t.Fatalf("%s: no-change sync changed %s: %+v", step, f.Mailbox, f)
			}
			total += f.Sent + f.Received
			if f.Sent+f.Received > 2048 {
				t.Fatalf("%s: no-change sync of %s moved %d octets (sent %d, received %d)", step, f.Mailbox, f.Sent+f.Received, f.Sent, f.Received)
			}
		}
		// Everything after the login, the folder list included, within
		// 2 KB per folder.
		after := sum.Sent + sum.Received - (sum.SetupSent + sum.SetupReceived) + sum.ListSent + sum.ListReceived
		if per := after / int64(len(sum.Folders)); per > 2048 {
			t.Fatalf("%s: %d octets per folder", step, per)
		}
		t.Logf("%s: %s no-change sync (%s): %d folders, whole session sent %d received %d; TCP/TLS/login %d+%d, folder list %d+%d (%d per folder), after the list %d (%d per folder); per folder: %s",
			step, e.name, sum.Method, len(sum.Folders), sum.Sent, sum.Received,
			sum.SetupSent-sum.ListSent, sum.SetupReceived-sum.ListReceived, sum.ListSent, sum.ListReceived,
			(sum.ListSent+sum.ListReceived)/int64(len(sum.Folders)), after-sum.ListSent-sum.ListReceived,
			(after-sum.ListSent-sum.ListReceived)/int64(len(sum.Folders)), perFolder(sum))
	}
	noChange("second sync")

	// A local flag change reaches the server.
	setLocalFlags(t, inbox, "hello", "FS")
	sum = e.sync(root)
	if got := folder(t, sum, "INBOX"); got.FlagsUp != 1 || got.Fetched != 0 {
		t.Fatalf("local flag change: %+v", got)
	}
	if got := e.flags("INBOX", "hello"); got != "FS" {
		t.Fatalf("server flags of hello: %q, want FS", got)
	}

	// A local deletion expunges on the server.
	if err := os.Remove(localFiles(t, inbox)["doomed"]); err != nil {
		t.Fatal(err)
	}
	sum = e.sync(root)
	if got := folder(t, sum, "INBOX"); got.DeletedUp != 1 {
		t.Fatalf("local deletion: %+v", got)
	}
	if got := e.subjects("INBOX"); !equalStrings(got, []string{"big one", "conflict", "flagged away", "hello", "read me"}) {
		t.Fatalf("server INBOX after the local deletion: %q", got)
	}

	// A move on the server is a move here: no body is downloaded.
	before := localFiles(t, inbox)["big one"]
	content, _ := os.ReadFile(before)
	e.move("INBOX", "big one", "Archive")
	sum = e.sync(root)
	if got := folder(t, sum, "Archive"); got.Moved != 1 || got.Fetched != 0 {
		t.Fatalf("server move, Archive: %+v", got)
	}
	if got := folder(t, sum, "INBOX"); got.Removed != 0 || got.Fetched != 0 {
		t.Fatalf("server move, INBOX: %+v", got)
	}
	if sum.BodyFetches != 0 || sum.Received > int64(len(big))/4 {
		t.Fatalf("server move downloaded: %d body fetches, %d octets received for a %d-octet message", sum.BodyFetches, sum.Received, len(big))
	}
	after, ok := localFiles(t, archive)["big one"]
	if !ok {
		t.Fatalf("big one not in the local Archive: %q", localSubjects(t, archive))
	}
	if moved, _ := os.ReadFile(after); string(moved) != string(content) {
		t.Fatal("the moved file's content changed")
	}
	if _, still := localFiles(t, inbox)["big one"]; still {
		t.Fatal("big one still in the local INBOX")
	}
	t.Logf("%s: server-side move of a %d-octet message: received %d octets, %d body fetches (%s)", e.name, len(big), sum.Received, sum.BodyFetches, sum.MoveDetection)

	// Both sides change flags: the union.
	e.store("INBOX", "conflict", imap.StoreFlagsAdd, imap.FlagFlagged)
	setLocalFlags(t, inbox, "conflict", "RS")
	sum = e.sync(root)
	if got := folder(t, sum, "INBOX"); got.Conflicts != 1 {
		t.Fatalf("flag conflict: %+v", got)
	}
	if got := e.flags("INBOX", "conflict"); got != "FRS" {
		t.Fatalf("server flags after the conflict: %q, want FRS", got)
	}
	if got := fileLetters(localFiles(t, inbox)["conflict"]); got != "FRS" {
		t.Fatalf("local flags after the conflict: %q, want FRS", got)
	}

	// Deletion wins: deleted here while flagged there, and expunged there
	// while flagged here.
	e.store("INBOX", "read me", imap.StoreFlagsAdd, imap.FlagFlagged)
	if err := os.Remove(localFiles(t, inbox)["read me"]); err != nil {
		t.Fatal(err)
	}
	setLocalFlags(t, inbox, "flagged away", "F")
	e.expunge("INBOX", "flagged away")
	sum = e.sync(root)
	if got := folder(t, sum, "INBOX"); got.DeletedUp != 1 || got.Removed != 1 {
		t.Fatalf("deletion wins: %+v", got)
	}
	if got := e.subjects("INBOX"); !equalStrings(got, []string{"conflict", "hello"}) {
		t.Fatalf("server INBOX after deletions: %q", got)
	}
	if got := localSubjects(t, inbox); !equalStrings(got, []string{"conflict", "hello"}) {
		t.Fatalf("local INBOX after deletions: %q", got)
	}

	// Server changes come down: new mail, a flag change, an expunge.
	e.put(lists, "new gopher", "n")
	e.store("Archive", "old", imap.StoreFlagsAdd, imap.FlagFlagged)
	e.expunge("Café", "café au lait")
	sum = e.sync(root)
	if got := folder(t, sum, lists); got.Fetched != 1 {
		t.Fatalf("new mail on the server: %+v", got)
	}
	if got := folder(t, sum, "Archive"); got.Updated != 1 {
		t.Fatalf("server flag change: %+v", got)
	}
	if got := folder(t, sum, "Café"); got.Removed != 1 {
		t.Fatalf("server expunge: %+v", got)
	}
	if got := fileLetters(localFiles(t, archive)["old"]); got != "FRS" {
		t.Fatalf("archive/old letters %q after the server change", got)
	}

	// A message written locally is uploaded once, with its flags; so is a
	// folder made locally.
	writeLocal := func(dir, name, subject string) {
		t.Helper()
		if _, err := openMaildir(dir); err != nil {
			t.Fatal(err)
		}
		msg := strings.ReplaceAll(testMessage("me@example.com", subject, "written here"), "\r\n", "\n")
		if err := os.WriteFile(filepath.Join(dir, "cur", name), []byte(msg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeLocal(archive, "1700000000.local1.host:2,FS", "draft here")
	writeLocal(filepath.Join(root, "Projects"), "1700000000.local2.host:2,S", "project note")
	sum = e.sync(root)
	if got := folder(t, sum, "Archive"); got.Appended != 1 {
		t.Fatalf("local new message: %+v", got)
	}
	if got := folder(t, sum, "Projects"); got.Appended != 1 {
		t.Fatalf("local new folder: %+v", got)
	}
	if got := e.flags("Archive", "draft here"); got != "FS" {
		t.Fatalf("uploaded message flags %q", got)
	}
	if got := e.subjects("Projects"); !equalStrings(got, []string{"project note"}) {
		t.Fatalf("server Projects: %q", got)
	}
	// A folder renamed here (with its subfolder) is renamed on the server:
	// nothing is downloaded or uploaded again.
	if err := os.Rename(filepath.Join(root, "Projects"), filepath.Join(root, "Work")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(root, "Lists"), filepath.Join(root, "Groups")); err != nil {
		t.Fatal(err)
	}
	groupsGo := "Groups" + e.delim + "go"
	sum = e.sync(root)
	for _, f := range sum.Folders {
		if f.Fetched+f.Appended+f.Removed+f.DeletedUp != 0 {
			t.Fatalf("after local renames %s: %+v", f.Mailbox, f)
		}
	}
	if w := folder(t, sum, "Work"); !strings.Contains(w.Note, "renamed here from Projects") {
		t.Fatalf("Work: %+v", w)
	}
	if got := e.subjects("Work"); !equalStrings(got, []string{"project note"}) {
		t.Fatalf("server Work: %q", got)
	}
	if got := e.subjects(groupsGo); !equalStrings(got, []string{"gopher", "new gopher"}) {
		t.Fatalf("server %s: %q", groupsGo, got)
	}
	if _, err := e.admin.Select("Projects", nil).Wait(); err == nil {
		t.Fatal("Projects still on the server")
	}
	// A folder renamed on the server (with its subfolder): every message
	// is moved into the new directories, none downloaded, and the old
	// directories go.
	if err := e.admin.Rename("Groups", "Teams", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	teamsGo := "Teams" + e.delim + "go"
	sum = e.sync(root)
	if tg := folder(t, sum, teamsGo); tg.Moved != 2 || tg.Fetched != 0 {
		t.Fatalf("%s after the server rename: %+v", teamsGo, tg)
	}
	if old := folder(t, sum, groupsGo); !strings.Contains(old.Note, "directory removed") {
		t.Fatalf("%s after the server rename: %+v", groupsGo, old)
	}
	if sum.BodyFetches != 0 {
		t.Fatalf("server rename downloaded bodies (%d fetches)", sum.BodyFetches)
	}
	if _, err := os.Stat(filepath.Join(root, "Groups")); !os.IsNotExist(err) {
		t.Fatalf("old directory Groups: %v", err)
	}
	if got := localSubjects(t, filepath.Join(root, "Teams", "go")); !equalStrings(got, []string{"gopher", "new gopher"}) {
		t.Fatalf("local Teams/go: %q", got)
	}
	noChange("after uploads, once more")
	noChange("final")
	if got := e.subjects("Archive"); !equalStrings(got, []string{"big one", "draft here", "old"}) {
		t.Fatalf("server Archive at the end: %q", got)
	}
}

func perFolder(sum *SyncSummary) string {
	var parts []string
	for _, f := range sum.Folders {
		parts = append(parts, fmt.Sprintf("%s %d+%d", f.Mailbox, f.Sent, f.Received))
	}
	return strings.Join(parts, ", ")
}

// TestTwoWaySyncPaths takes the paths for servers that offer less:
// CONDSTORE without QRESYNC (expunges found by counting, then UID SEARCH),
// STATUS per folder without LIST-STATUS, and the full flag scan with the
// header-hash move detection when there is neither CONDSTORE nor OBJECTID.
func TestTwoWaySyncPaths(t *testing.T) {
	for _, tc := range []struct {
		name    string
		without []string
		method  string
	}{
		{"condstore", []string{"QRESYNC"}, "CONDSTORE"},
		{"condstore-status", []string{"QRESYNC", "LIST-STATUS", "ESEARCH"}, "CONDSTORE"},
		{"full-scan", []string{"QRESYNC", "CONDSTORE", "LIST-STATUS", "OBJECTID"}, "full flag scan"},
	} {
		for _, server := range []string{"letterbox", "dovecot"} {
			t.Run(tc.name+"/"+server, func(t *testing.T) {
				e := letterboxSyncEnv
				if server == "dovecot" {
					e = dovecotSyncEnv
				}
				testSyncPath(t, e(t), tc.without, tc.method, tc.name)
			})
		}
	}
}

func testSyncPath(t *testing.T, e *syncEnv, without []string, method, name string) {
	e.create("Archive")
	root := t.TempDir()
	inbox := filepath.Join(root, "INBOX")
	for _, s := range []string{"keep", "flag there", "expunge there", "move there", "flag here", "delete here"} {
		e.put("INBOX", s, strings.Repeat("body of "+s+"\r\n", 500))
	}
	sum := e.sync(root, without...)
	if sum.Method != method || folder(t, sum, "INBOX").Fetched != 6 {
		t.Fatalf("first sync %s %+v", sum.Method, folder(t, sum, "INBOX"))
	}
	e.store("INBOX", "flag there", imap.StoreFlagsAdd, imap.FlagFlagged)
	e.expunge("INBOX", "expunge there")
	e.move("INBOX", "move there", "Archive")
	e.put("INBOX", "new there", "n")
	setLocalFlags(t, inbox, "flag here", "S")
	os.Remove(localFiles(t, inbox)["delete here"])
	sum = e.sync(root, without...)
	got := folder(t, sum, "INBOX")
	want := SyncReport{Fetched: 1, Updated: 1, Removed: 1, FlagsUp: 1, DeletedUp: 1, Kept: 1}
	if got.SyncReport != want {
		t.Fatalf("INBOX %+v, want %+v", got.SyncReport, want)
	}
	if a := folder(t, sum, "Archive"); a.Moved != 1 || a.Fetched != 0 {
		t.Fatalf("Archive %+v", a)
	}
	if sum.BodyFetches != 1 {
		t.Fatalf("%d body fetches, want 1 (the new message only)", sum.BodyFetches)
	}
	if got := localSubjects(t, inbox); !equalStrings(got, []string{"flag here", "flag there", "keep", "new there"}) {
		t.Fatalf("local INBOX %q", got)
	}
	if got := e.subjects("INBOX"); !equalStrings(got, []string{"flag here", "flag there", "keep", "new there"}) {
		t.Fatalf("server INBOX %q", got)
	}
	if e.flags("INBOX", "flag here") != "S" || fileLetters(localFiles(t, inbox)["flag there"]) != "F" {
		t.Fatal("flags not in step")
	}
	for i := 0; i < 2; i++ {
		sum = e.sync(root, without...)
		for _, f := range sum.Folders {
			if f.SyncReport != (SyncReport{Kept: f.Kept}) {
				t.Fatalf("no-change sync %d changed %s: %+v", i, f.Mailbox, f)
			}
			if f.Sent+f.Received > 2048 {
				t.Fatalf("no-change sync %d of %s moved %d octets", i, f.Mailbox, f.Sent+f.Received)
			}
		}
	}
	t.Logf("%s %s: no-change sync: whole session %d+%d, folder list %d+%d; per folder: %s", e.name, name,
		sum.Sent, sum.Received, sum.ListSent, sum.ListReceived, perFolder(sum))
}

// TestTwoWaySyncInterrupted cancels a first sync in the middle of a
// download batch: the resumed sync neither downloads a message twice nor
// uploads the files the interrupted one wrote, and loses none.
func TestTwoWaySyncInterrupted(t *testing.T) {
	for _, e := range []*syncEnv{letterboxSyncEnv(t), dovecotSyncEnv(t)} {
		t.Run(e.name, func(t *testing.T) {
			const n = 120
			for i := 0; i < n; i++ {
				e.put("INBOX", fmt.Sprintf("message %03d", i), strings.Repeat("x", 2000))
			}
			root := t.TempDir()
			ctx, cancel := context.WithCancel(context.Background())
			stopped := 0
			_, err := syncFolders(ctx, e.cfg, root, SyncOptions{Progress: func(p SyncProgress) {
				if p.Messages == 70 { // in the second batch of 50
					cancel()
				}
				stopped = p.Messages
			}})
			cancel()
			if err == nil {
				t.Fatal("the cancelled sync reported no error")
			}
			have := len(localFiles(t, filepath.Join(root, "INBOX")))
			if have < 50 || have >= n {
				t.Fatalf("after the interruption %d files (progress said %d)", have, stopped)
			}
			sum := e.sync(root)
			in := folder(t, sum, "INBOX")
			if in.Appended != 0 || in.Fetched+have != n || in.Kept != have {
				t.Fatalf("resumed: %+v with %d files from before", in.SyncReport, have)
			}
			if got := localFiles(t, filepath.Join(root, "INBOX")); len(got) != n {
				t.Fatalf("after the resumed sync %d files, want %d", len(got), n)
			}
			if got := e.subjects("INBOX"); len(got) != n {
				t.Fatalf("server holds %d messages, want %d", len(got), n)
			}
			sum = e.sync(root)
			if in := folder(t, sum, "INBOX"); in.SyncReport != (SyncReport{Kept: n}) {
				t.Fatalf("sync after the resumed one: %+v", in.SyncReport)
			}
			t.Logf("%s: interrupted with %d of %d downloaded (progress said %d), resumed: fetched %d, kept %d", e.name, have, n, stopped, in.Fetched, in.Kept)
		})
	}
}

// TestTwoWaySyncUnsavedState: a sync killed after writing files (or after
// an APPEND) but before saving its state leaves files the state does not
// know. The next sync finds them on the server by size and header hash
// and links them: nothing is downloaded or uploaded twice.
func TestTwoWaySyncUnsavedState(t *testing.T) {
	for _, e := range []*syncEnv{letterboxSyncEnv(t), dovecotSyncEnv(t)} {
		t.Run(e.name, func(t *testing.T) {
			for i := 0; i < 10; i++ {
				e.put("INBOX", fmt.Sprintf("message %d", i), "body")
			}
			root := t.TempDir()
			inbox := filepath.Join(root, "INBOX")
			e.sync(root)

			// Killed after the downloads of the last four, before the save.
			st, err := loadSyncState(inbox, syncState{Protocol: "imap", Account: e.cfg.User + "@" + e.cfg.Addr, Mailbox: "INBOX"})
			if err != nil {
				t.Fatal(err)
			}
			st.Messages = st.Messages[:6]
			st.UIDNext = st.Messages[5].UID + 1
			if err := st.save(inbox); err != nil {
				t.Fatal(err)
			}
			sum := e.sync(root)
			if in := folder(t, sum, "INBOX"); in.SyncReport != (SyncReport{Kept: 10}) || sum.BodyFetches != 0 {
				t.Fatalf("after unsaved downloads: %+v, %d body fetches", in.SyncReport, sum.BodyFetches)
			}

			// Killed after an APPEND, before the save: the server has the
			// local file's message under a UID the state does not know.
			msg := testMessage("me@example.com", "appended before the crash", "x")
			if err := os.WriteFile(filepath.Join(inbox, "cur", "1700000000.crash.host:2,S"), []byte(strings.ReplaceAll(msg, "\r\n", "\n")), 0o600); err != nil {
				t.Fatal(err)
			}
			appendMsg(t, e.admin, "INBOX", msg, imap.FlagSeen)
			sum = e.sync(root)
			if in := folder(t, sum, "INBOX"); in.SyncReport != (SyncReport{Kept: 11}) || sum.BodyFetches != 0 {
				t.Fatalf("after an unsaved append: %+v, %d body fetches", in.SyncReport, sum.BodyFetches)
			}
			if got := e.subjects("INBOX"); len(got) != 11 {
				t.Fatalf("server holds %d messages, want 11", len(got))
			}
			if got := localFiles(t, inbox); len(got) != 11 {
				t.Fatalf("local INBOX holds %d messages, want 11", len(got))
			}
			if in := folder(t, e.sync(root), "INBOX"); in.SyncReport != (SyncReport{Kept: 11}) {
				t.Fatalf("next sync: %+v", in.SyncReport)
			}
		})
	}
}

// TestTwoWaySyncTakesOverMbsyncTree: a tree mbsync (SubFolders Verbatim)
// made is the same layout; the sync takes it over without downloading or
// uploading a message (mbsync's X-TUID field is not part of the match),
// and from then on local changes go up.
func TestTwoWaySyncTakesOverMbsyncTree(t *testing.T) {
	mbsync, err := exec.LookPath("mbsync")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("mbsync (Debian isync) is not installed")
		}
		t.Skip("mbsync (Debian isync) is not installed")
	}
	e := letterboxSyncEnv(t)
	e.create("Lists")
	e.create("Lists/go")
	e.create("Café")
	for i := 0; i < 5; i++ {
		e.put("INBOX", fmt.Sprintf("inbox %d", i), "body", imap.FlagSeen)
	}
	e.put("Lists/go", "gopher", "g")
	e.put("Café", "café au lait", "c", imap.FlagFlagged)
	root := filepath.Join(t.TempDir(), "Mail")
	host, port, _ := strings.Cut(e.plainAddr, ":")
	os.MkdirAll(root, 0o700) // mbsync does not make its Path
	conf := filepath.Join(t.TempDir(), "mbsyncrc")
	os.WriteFile(conf, []byte(fmt.Sprintf(`IMAPAccount a
Host %s
Port %s
User %s
Pass "%s"
SSLType None
AuthMechs LOGIN

IMAPStore remote
Account a

MaildirStore local
Path %s/
Inbox %s/INBOX
SubFolders Verbatim

Channel c
Far :remote:
Near :local:
Patterns *
Create Near
SyncState *
`, host, port, testUser, testPass, root, root)), 0o600)
	if out, err := exec.Command(mbsync, "-c", conf, "-a").CombinedOutput(); err != nil {
		t.Fatalf("mbsync: %v\n%s", err, out)
	}
	sum := e.sync(root)
	for _, f := range sum.Folders {
		if f.Fetched+f.Appended+f.FlagsUp+f.Updated+f.DeletedUp+f.Removed+f.Moved != 0 || f.Note != "" {
			t.Fatalf("taking over the mbsync tree changed %s: %+v", f.Mailbox, f)
		}
	}
	if sum.BodyFetches != 0 {
		t.Fatalf("%d body fetches", sum.BodyFetches)
	}
	if in := folder(t, sum, "INBOX"); in.Kept != 5 {
		t.Fatalf("INBOX %+v", in)
	}
	if got := e.subjects("INBOX"); len(got) != 5 {
		t.Fatalf("server INBOX holds %d messages", len(got))
	}
	if got := fileLetters(localFiles(t, filepath.Join(root, "Caf&AOk-"))["café au lait"]); got != "F" {
		t.Fatalf("mbsync's Café copy has letters %q", got)
	}
	setLocalFlags(t, filepath.Join(root, "INBOX"), "inbox 3", "FS")
	if in := folder(t, e.sync(root), "INBOX"); in.FlagsUp != 1 {
		t.Fatalf("flag change in the taken-over tree: %+v", in)
	}
	if got := e.flags("INBOX", "inbox 3"); got != "FS" {
		t.Fatalf("server flags %q", got)
	}
}
