package jmapserver

import (
	"bufio"
	"context"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/store"
)

// The independent client: jmap-jam (npm, MIT; a small, typed JMAP client
// for RFC 8620/8621 that follows the session resource's URLs, result
// references and EventSource) run under Node. Go has no maintained JMAP
// client library to set against the server; jam is maintained and covers
// every object type we serve.
const jamVersion = "0.13.1"

func inCI() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v == "true" || v == "1" || v == "yes"
}

// missing skips (or, under CI=true, fails) naming the missing tool.
func missing(t *testing.T, format string, args ...any) {
	t.Helper()
	if inCI() {
		t.Fatalf(format+" (CI=true: a missing client is a failure; scripts/install-deps.sh installs it)", args...)
	}
	t.Skipf(format, args...)
}

// jamModule returns the path of jmap-jam's entry module, installing the
// package once into the user's cache directory.
func jamModule(t *testing.T) string {
	t.Helper()
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	dir := filepath.Join(base, "letterbox-test-npm")
	if d := os.Getenv("LETTERBOX_TEST_NPM_DIR"); d != "" {
		dir = d
	}
	mod := filepath.Join(dir, "node_modules", "jmap-jam", "dist", "index.js")
	pkg := filepath.Join(dir, "node_modules", "jmap-jam", "package.json")
	if b, err := os.ReadFile(pkg); err == nil && strings.Contains(string(b), `"version": "`+jamVersion+`"`) {
		return mod
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		missing(t, "npm not installed (needed once to fetch jmap-jam@%s)", jamVersion)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, npm, "install", "--no-audit", "--no-fund", "--prefix", dir, "jmap-jam@"+jamVersion).CombinedOutput()
	if err != nil {
		missing(t, "jmap-jam@%s could not be installed with npm: %v\n%s", jamVersion, err, out)
	}
	return mod
}

// TestJamClient drives every method through jmap-jam (testdata/jam.mjs).
func TestJamClient(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		missing(t, "node not installed (Node.js runs the jmap-jam client)")
	}
	mod := jamModule(t)
	h := newHarness(t)
	h.deliver("", "From: Bob <bob@example.com>\r\nTo: alice@example.com\r\nSubject: Hello from SMTP\r\n\r\nA zebra crossed.\r\n")
	h.deliver("", "From: dave@example.org\r\nSubject: Second\r\n\r\nplain\r\n")
	form := url.Values{"username": {h.user}, "password": {testPassword}}
	resp, b := h.do("POST", "/jmap/login", "application/x-www-form-urlencoded", []byte(form.Encode()))
	if resp.StatusCode != 200 {
		t.Fatalf("login %d %s", resp.StatusCode, b)
	}
	var tok struct{ AccessToken string }
	json.Unmarshal(b, &tok)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "testdata/jam.mjs", "file://"+mod, h.http.URL+"/.well-known/jmap", tok.AccessToken)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.HasSuffix(strings.TrimSpace(string(out)), "ok") {
		t.Fatalf("jam.mjs: %v\n%s", err, out)
	}
	// The submission reached Bob's INBOX.
	mbs, _ := h.st.Mailboxes(context.Background(), "bob@example.com")
	if st, _ := mbs.Status(context.Background(), "INBOX"); st.Messages != 1 {
		t.Errorf("bob's INBOX has %d messages", st.Messages)
	}
}

// TestJamSharedAccount drives a shared account (RFC 8620 §1.6.2) through
// jmap-jam (testdata/jam_shared.mjs): bob shares two mailboxes with alice
// through IMAP ACLs; the client finds the account in the session, reads
// and writes within the rights, copies across accounts, and gets a
// StateChange when bob's side delivers.
func TestJamSharedAccount(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		missing(t, "node not installed (Node.js runs the jmap-jam client)")
	}
	mod := jamModule(t)
	h := newHarness(t)
	acls, ok := h.st.(store.ACLs)
	if !ok {
		t.Skip("store keeps no ACLs")
	}
	ctx := context.Background()
	bob, _ := h.st.Mailboxes(ctx, "bob@example.com")
	for name, r := range map[string]string{"Team": "lrs", "Drop": "li"} {
		if _, err := bob.Create(ctx, name, ""); err != nil {
			t.Fatal(err)
		}
		rights, _ := store.ParseRights(r)
		if err := acls.SetACL(ctx, "bob@example.com", name, h.user, rights); err != nil {
			t.Fatal(err)
		}
	}
	deliver := func(mbox, subject string) {
		res, err := h.st.Deliver(ctx, strings.NewReader("From: carol@example.com\r\nSubject: "+subject+"\r\n\r\nhi\r\n"),
			[]store.Target{{Account: "bob@example.com", Mailbox: mbox}})
		if err != nil || res[0].Err != nil {
			t.Fatalf("deliver: %v %v", err, res)
		}
	}
	deliver("Team", "team news")
	deliver("INBOX", "bob's own")
	form := url.Values{"username": {h.user}, "password": {testPassword}}
	resp, b := h.do("POST", "/jmap/login", "application/x-www-form-urlencoded", []byte(form.Encode()))
	if resp.StatusCode != 200 {
		t.Fatalf("login %d %s", resp.StatusCode, b)
	}
	var tok struct{ AccessToken string }
	json.Unmarshal(b, &tok)
	cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(cctx, node, "testdata/jam_shared.mjs", "file://"+mod, h.http.URL+"/.well-known/jmap", tok.AccessToken)
	stdout, _ := cmd.StdoutPipe()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if sc.Text() == "waiting" {
			deliver("Team", "more news")
		}
	}
	if err := cmd.Wait(); err != nil || !strings.HasSuffix(strings.TrimSpace(out.String()), "ok") {
		t.Fatalf("jam_shared.mjs: %v\n%s%s", err, out.String(), stderr.String())
	}
}
