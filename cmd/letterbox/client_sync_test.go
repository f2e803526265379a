package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
)

// `letterbox client sync ROOT`: every folder both ways over IMAPS, the
// per-folder report and the octets; POP3 fills ROOT/INBOX one way.
func TestClientSyncTree(t *testing.T) {
	m := startMailServers(t)
	m.deliver("INBOX", "Weekly report")
	m.deliver("Archive", "Old news", `\Seen`)
	url := "imaps://" + m.imaps
	root := filepath.Join(t.TempDir(), "Mail")

	r := m.client(t, url, "--ca", m.caFile, "sync", root)
	r.want(t, 0, `(?m)^FOLDER +NEW +FLAGS-DOWN .*\nArchive +1 +0 (?s:.*)^INBOX +1 +0 (?s:.*)^sent \d+ B, received .*; QRESYNC, moves found by OBJECTID \(EMAILID\)\n\z`)
	// Not a terminal: plain progress lines on stderr.
	if !regexp.MustCompile(`(?m)^sync (INBOX|Archive): \d/2 messages, .*ETA`).MatchString(r.stderr) {
		t.Fatalf("progress on stderr: %q", r.stderr)
	}
	if got, _ := filepath.Glob(filepath.Join(root, "Archive", "cur", "*:2,S")); len(got) != 1 {
		t.Fatalf("Archive/cur holds %q", got)
	}

	// A local flag change goes up; then a sync with no changes says so.
	inbox, _ := filepath.Glob(filepath.Join(root, "INBOX", "new", "*"))
	if len(inbox) != 1 {
		t.Fatalf("INBOX/new holds %q", inbox)
	}
	if err := os.Rename(inbox[0], filepath.Join(root, "INBOX", "cur", filepath.Base(inbox[0])+":2,F")); err != nil {
		t.Fatal(err)
	}
	m.client(t, url, "--ca", m.caFile, "sync", root).want(t, 0, `(?m)^INBOX +0 +0 +0 +0 +1 +0 +0 +0 `)
	// The sync after one that changed the server selects the folder once
	// more to learn its new HIGHESTMODSEQ; the one after that skips it.
	m.client(t, url, "--ca", m.caFile, "sync", root).want(t, 0, `(?m)^INBOX +0 +0 +0 +0 +0 +0 +0 +0 +[1-9]\d* B +\n`)
	r = m.client(t, url, "--ca", m.caFile, "sync", root)
	r.want(t, 0, `(?m)^INBOX +0 +0 +0 +0 +0 +0 +0 +0 +0 B +unchanged$`)
	sent := regexp.MustCompile(`(?m)^sent (\d+) B, received (\d+) B`).FindStringSubmatch(r.stdout)
	if sent == nil {
		t.Fatalf("no octet counts in %q", r.stdout)
	}
	s, _ := strconv.Atoi(sent[1])
	rc, _ := strconv.Atoi(sent[2])
	t.Logf("no-change sync of 6 folders: sent %d, received %d octets (TLS included)", s, rc)

	m.client(t, url, "--ca", m.caFile, "sync", root, "--maildir", root).wantErr(t, 2, `not both`)
	m.client(t, url, "--ca", m.caFile, "sync").wantErr(t, 2, `Maildir root`)

	// POP3: INBOX only, one way, into ROOT/INBOX.
	proot := t.TempDir()
	m.client(t, "pop3://"+m.pop3+"?tls=none", "sync", proot).want(t, 0, `^fetched 1, updated 0, removed 0, unchanged 0\n$`)
	if got, _ := filepath.Glob(filepath.Join(proot, "INBOX", "new", "*")); len(got) != 1 {
		t.Fatalf("POP3 sync wrote %q", got)
	}
}
