package mailclient

import (
	"bufio"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestMUTF7(t *testing.T) {
	for utf8, wire := range map[string]string{
		"INBOX":          "INBOX",
		"Café":           "Caf&AOk-",
		"R&D":            "R&-D",
		"日本語":            "&ZeVnLIqe-",
		"Entwürfe/Ärger": "Entw&APw-rfe/&AMQ-rger",
		"~peter/mail/台北": "~peter/mail/&U,BTFw-",
	} {
		if got := encodeMUTF7(utf8); got != wire {
			t.Errorf("encode %q = %q, want %q", utf8, got, wire)
		}
		if got, err := decodeMUTF7(wire); err != nil || got != utf8 {
			t.Errorf("decode %q = %q, %v; want %q", wire, got, err, utf8)
		}
	}
	for _, bad := range []string{"&AOk", "&A-", "&!!-", "\xff"} {
		if got, err := decodeMUTF7(bad); err == nil {
			t.Errorf("decode %q = %q, want an error", bad, got)
		}
	}
}

func TestUIDSets(t *testing.T) {
	if got := formatUIDs([]uint32{9, 1, 2, 3, 4, 7, 10, 3}); got != "1:4,7,9:10" {
		t.Fatalf("formatUIDs = %q", got)
	}
	r, err := parseUIDSet("1:4,7,12:10")
	if err != nil || !reflect.DeepEqual(r, uidRanges{{1, 4}, {7, 7}, {10, 12}}) {
		t.Fatalf("parseUIDSet = %v, %v", r, err)
	}
	if !r.has(3) || r.has(5) || !r.has(11) {
		t.Fatal("has")
	}
	for _, bad := range []string{"", "0", "1:*", "a", "1,,2", "4294967296"} {
		if _, err := parseUIDSet(bad); err == nil {
			t.Errorf("parseUIDSet(%q) succeeded", bad)
		}
	}
}

func TestFolderDir(t *testing.T) {
	for name, want := range map[string]string{
		"INBOX": "R/INBOX", "inbox": "R/INBOX", "Archive/2024": "R/Archive/2024", "INBOX/sub": "R/INBOX/sub",
		"Café/R&D": "R/Caf&AOk-/R&-D",
	} {
		if got, err := folderDir("R", name, "/"); err != nil || got != filepath.FromSlash(want) {
			t.Errorf("folderDir(%q) = %q, %v", name, got, err)
		}
	}
	if got, _ := folderDir("R", "Lists.go", "."); got != filepath.FromSlash("R/Lists/go") {
		t.Errorf("dot delimiter: %q", got)
	}
	for _, bad := range []string{"..", "a/../b", "a/.hidden", "x/cur", "new", "a//b", "a/b/"} {
		if got, err := folderDir("R", bad, "/"); err == nil {
			t.Errorf("folderDir(%q) = %q, want an error", bad, got)
		}
	}
	if got, err := folderDir("R", "a/b", "."); err == nil {
		t.Errorf("slash in a component on a dot server: %q", got)
	}
}

// The fingerprint of a local file (LF line ends) equals the one of the
// server's copy (CRLF): size and header hash as the server has them.
func TestFileFingerprint(t *testing.T) {
	msg := "From: a@example.com\r\nSubject: x\r\nMessage-ID: <1@x>\r\n\r\nline one\r\nline two\r\n"
	dir := t.TempDir()
	md, err := openMaildir(dir)
	if err != nil {
		t.Fatal(err)
	}
	base, err := md.deliver(strings.NewReader(msg), "S")
	if err != nil {
		t.Fatal(err)
	}
	got, err := fileFingerprint(md.path(base, "S"))
	if err != nil {
		t.Fatal(err)
	}
	if want := fingerprint(int64(len(msg)), headerOf([]byte(msg))); got != want {
		t.Fatalf("file %s, server %s", got, want)
	}
	other := strings.Replace(msg, "<1@x>", "<2@x>", 1)
	if fingerprint(int64(len(other)), headerOf([]byte(other))) == got {
		t.Fatal("different Message-IDs, same fingerprint")
	}
	data, _ := crlfFile(md.path(base, "S"))
	if string(data) != msg {
		t.Fatalf("crlfFile %q", data)
	}
	// mbsync's local copies carry an X-TUID field the server's lacks.
	tuid := filepath.Join(dir, "cur", "1.mbsync,U=1:2,S")
	withTUID := strings.Replace(strings.ReplaceAll(msg, "\r\n", "\n"), "Subject: x\n", "Subject: x\nX-TUID: UDPv7Q+nMVOU\n", 1)
	os.WriteFile(tuid, []byte(withTUID), 0o600)
	if fp, err := fileFingerprint(tuid); err != nil || fp != got {
		t.Fatalf("with X-TUID: %s, %v; want %s", fp, err, got)
	}
	if data, _ := crlfFile(tuid); string(data) != msg {
		t.Fatalf("crlfFile with X-TUID %q", data)
	}
}

func TestFlagLetterHelpers(t *testing.T) {
	if got := fileLetters("cur/1.2.h,S=3:2,TSaFb"); got != "FST" {
		t.Fatalf("fileLetters %q", got)
	}
	if got := otherLetters("cur/1.2.h,S=3:2,TSaFb"); got != "ab" {
		t.Fatalf("otherLetters %q", got)
	}
	if mergeLetters("RS", "FS") != "FRS" || minusLetters("FRS", "S") != "FR" {
		t.Fatal("merge/minus")
	}
	if got := imapFlags("DFPRST"); !reflect.DeepEqual(got, []string{`\Draft`, `\Flagged`, `$Forwarded`, `\Answered`, `\Seen`, `\Deleted`}) {
		t.Fatalf("imapFlags %q", got)
	}
	// Renaming keeps the letters the sync does not manage.
	dir := t.TempDir()
	md, _ := openMaildir(dir)
	p := filepath.Join(dir, "cur", "1.x.h:2,Sa")
	os.WriteFile(p, []byte("x"), 0o600)
	np, err := md.relabel(p, "1.x.h", "F")
	if err != nil || filepath.Base(np) != "1.x.h:2,Fa" {
		t.Fatalf("relabel %q, %v", np, err)
	}
}

// wireFrom is a wireConn reading the given server output.
func wireFrom(s string) *wireConn {
	return &wireConn{r: bufio.NewReader(strings.NewReader(s))}
}

func TestWireParse(t *testing.T) {
	c := wireFrom("* 3 FETCH (UID 7 FLAGS (\\Seen $Forwarded) MODSEQ (12) EMAILID (M1a) RFC822.SIZE 5 BODY[] {5}\r\nab\r\nc)\r\n" +
		"* LIST (\\HasNoChildren) \"/\" {4}\r\nCaf&\r\n" +
		"* LIST (\\Noselect) NIL \"Caf&AOk-\"\r\n" +
		"* VANISHED (EARLIER) 1:3,9\r\n" +
		"* ESEARCH (TAG \"s4\") UID ALL 2:5\r\n" +
		"* OK [HIGHESTMODSEQ 715194045007] Highest\r\n" +
		"* 1 FETCH (UID 9 BODY[HEADER] \"Subject: \\\"q\\\\\")\r\n" +
		"s1 NO [ALREADYEXISTS] exists\r\n")
	r, err := c.read()
	if err != nil || r.Kind != "FETCH" || r.Num != 3 {
		t.Fatalf("%+v %v", r, err)
	}
	it := parseFetch(r)
	if it.uid != 7 || !reflect.DeepEqual(it.flags, []string{`\Seen`, "$Forwarded"}) || it.emailID != "M1a" || it.size != 5 || it.body == nil || *it.body != "ab\r\nc" {
		t.Fatalf("fetch %+v", it)
	}
	r, _ = c.read()
	if r.Kind != "LIST" || asString(r.Fields[2]) != "Caf&" {
		t.Fatalf("list with literal %+v", r)
	}
	r, _ = c.read()
	if !isNIL(r.Fields[1]) || asString(r.Fields[2]) != "Caf&AOk-" {
		t.Fatalf("list %+v", r)
	}
	run := newSyncRun(t.Context(), c, "", SyncOptions{})
	r, _ = c.read()
	run.sel.exists = 10
	run.onUntagged(r)
	if !run.sel.vanished.has(2) || !run.sel.vanished.has(9) || run.sel.exists != 10 {
		t.Fatalf("VANISHED (EARLIER): %+v", run.sel)
	}
	r, _ = c.read()
	if r.Kind != "ESEARCH" || asString(r.Fields[3]) != "2:5" {
		t.Fatalf("esearch %+v", r)
	}
	r, _ = c.read()
	run.onUntagged(r)
	if run.sel.hms != 715194045007 {
		t.Fatalf("HIGHESTMODSEQ %d", run.sel.hms)
	}
	r, _ = c.read()
	if it := parseFetch(r); it.header == nil || *it.header != `Subject: "q\` {
		t.Fatalf("quoted header %+v", it)
	}
	r, _ = c.read()
	if r.Tag != "s1" || r.Code != "ALREADYEXISTS" || statusErr(r) == nil {
		t.Fatalf("tagged %+v", r)
	}
}

// Broken server output is an error, never a panic or a hang.
func TestWireParseMalformed(t *testing.T) {
	for _, s := range []string{
		"* 1 FETCH (UID 1 BODY[] {99999999999}\r\n",
		"* 1 FETCH (UID 1 BODY[] {-1}\r\n",
		"* 1 FETCH (UID 1 BODY[] {5}\r\nab",
		"* 1 FETCH (UID 1 FLAGS (\\Seen\r\n",
		"* LIST (\\X) \"/\r\n",
		"* 1 FETCH (BODY[HEADER\r\n",
		"* 1 FETCH " + strings.Repeat("(", 100) + "\r\n",
		"* ",
		"",
	} {
		c := wireFrom(s)
		r, err := c.read()
		if err == nil {
			t.Errorf("%q parsed as %+v", s, r)
			continue
		}
	}
	// Odd but parseable responses give empty items, not a panic.
	for _, s := range []string{"* 1 FETCH ()\r\n", "* 1 FETCH UID\r\n", "* 1 FETCH (UID)\r\n", "* STATUS\r\n", "* LIST\r\n", "* VANISHED x\r\n"} {
		c := wireFrom(s)
		r, err := c.read()
		if err != nil {
			t.Errorf("%q: %v", s, err)
			continue
		}
		parseFetch(r)
		parseStatus(r)
		newSyncRun(t.Context(), c, "", SyncOptions{}).onUntagged(r)
	}
}

func TestSyncLockAndRootChecks(t *testing.T) {
	dir := t.TempDir()
	unlock, err := lockTree(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lockTree(dir); err == nil || !strings.Contains(err.Error(), "another sync is running") {
		t.Fatalf("second lock: %v", err)
	}
	unlock()
	again, err := lockTree(dir)
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	again()

	// A single-mailbox Maildir given as the root of a tree is refused
	// before anything is dialed or written.
	md := t.TempDir()
	openMaildir(md)
	(&syncState{Version: syncStateVersion, Protocol: "imap"}).save(md)
	_, err = syncFolders(t.Context(), Config{Addr: "127.0.0.1:1", User: "u", Password: "p"}, md, SyncOptions{})
	if err == nil || !strings.Contains(err.Error(), "--maildir") {
		t.Fatalf("maildir as root: %v", err)
	}
}
