package maildir

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func mkMaildir(t *testing.T, dir string) {
	for _, s := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, s), 0o700); err != nil {
			t.Fatal(err)
		}
	}
}

// TestReadDovecotTree reads a Maildir++ tree as Dovecot 2.3 writes it:
// the uidlist's N behind its last line, keywords by letter, a message in
// new/ that has no UID yet, a modified UTF-7 folder name.
func TestReadDovecotTree(t *testing.T) {
	root := t.TempDir()
	mkMaildir(t, root)
	write(t, filepath.Join(root, "dovecot-uidlist"), "3 V1796393637 N3 Gdf2ee80aa5ca126bc84f000083ecc375\n"+
		"1 :1796393637.M1P1.vm,S=20,W=23\n2 W25 Pa:b :1796393637.M2P1.vm,S=20,W=23\n3 :1796393637.M3P1.vm,S=22,W=25\n")
	write(t, filepath.Join(root, "dovecot-keywords"), "0 $Label1\n1 Work\n")
	write(t, filepath.Join(root, "cur", "1796393637.M1P1.vm,S=20,W=23:2,Sab"), "Subject: 1\n\none\n")
	write(t, filepath.Join(root, "cur", "1796393637.M2P1.vm,S=20,W=23:2,DFRTb"), "Subject: 2\n\ntwo\n")
	write(t, filepath.Join(root, "cur", "1796393637.M3P1.vm,S=22,W=25:2,"), "Subject: 3\n\nthree\n")
	write(t, filepath.Join(root, "new", "1796399999.M9P1.vm"), "Subject: new\n\nnew\n")
	date := time.Date(2022, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := os.Chtimes(filepath.Join(root, "cur", "1796393637.M1P1.vm,S=20,W=23:2,Sab"), date, date); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(root, ".Sub.F&AOQ-lder")
	mkMaildir(t, sub)
	write(t, filepath.Join(sub, "dovecot-uidlist"), "3 V77 N5\n4 :a\n")
	write(t, filepath.Join(sub, "cur", "a:2,S"), "Subject: a\n\na\n")
	write(t, filepath.Join(root, "subscriptions"), "Sub.F&AOQ-lder\n")

	tree, err := Read(root)
	if err != nil {
		t.Fatal(err)
	}
	if tree.Layout != LayoutMaildirPP || len(tree.Folders) != 2 {
		t.Fatalf("layout %s, folders %d", tree.Layout, len(tree.Folders))
	}
	in := tree.Folders[0]
	if in.Name != "INBOX" || in.UIDValidity != 1796393637 || in.UIDNext != 4 {
		t.Fatalf("INBOX %+v", in)
	}
	var got []string
	for _, m := range in.Messages {
		got = append(got, strings.Join(append([]string{filepath.Base(m.Path)[:16]}, m.Flags...), " "))
	}
	want := []string{
		`1796393637.M1P1. \Seen $Label1 Work`,
		`1796393637.M2P1. \Draft \Flagged \Answered \Deleted Work`,
		`1796393637.M3P1.`,
		`1796399999.M9P1.`,
	}
	if !slices.Equal(got, want) {
		t.Fatalf("messages\n%q\nwant\n%q", got, want)
	}
	if in.Messages[0].UID != 1 || in.Messages[2].UID != 3 || in.Messages[3].UID != 0 {
		t.Fatalf("UIDs %d %d %d", in.Messages[0].UID, in.Messages[2].UID, in.Messages[3].UID)
	}
	if !in.Messages[0].Date.Equal(date) {
		t.Fatalf("date %v, want the file's mtime %v", in.Messages[0].Date, date)
	}
	f := tree.Folders[1]
	if f.Name != "Sub/Fälder" || f.UIDValidity != 77 || f.UIDNext != 5 || f.Messages[0].UID != 4 {
		t.Fatalf("subfolder %+v", f)
	}
	if !slices.Equal(tree.Subscriptions, []string{"Sub/Fälder"}) {
		t.Fatalf("subscriptions %q", tree.Subscriptions)
	}
}

// TestReadLayoutFS: Dovecot's LAYOUT=fs keeps folder A/B in A/B; a parent
// without cur/ is only a level.
func TestReadLayoutFS(t *testing.T) {
	root := t.TempDir()
	mkMaildir(t, root)
	mkMaildir(t, filepath.Join(root, "Work", "2024"))
	write(t, filepath.Join(root, "Work", "2024", "cur", "x:2,F"), "Subject: x\n\nx\n")
	tree, err := Read(root)
	if err != nil {
		t.Fatal(err)
	}
	if tree.Layout != LayoutFS || len(tree.Folders) != 2 || tree.Folders[1].Name != "Work/2024" {
		t.Fatalf("layout %s folders %+v", tree.Layout, tree.Folders)
	}
	if got := tree.Folders[1].Messages[0].Flags; !slices.Equal(got, []string{`\Flagged`}) {
		t.Fatalf("flags %v", got)
	}
}

func TestReadRefusesNonMaildir(t *testing.T) {
	if _, err := Read(t.TempDir()); err == nil || !strings.Contains(err.Error(), "not a Maildir") {
		t.Fatalf("Read(empty dir) = %v", err)
	}
	root := t.TempDir()
	mkMaildir(t, root)
	write(t, filepath.Join(root, "dovecot-uidlist"), "9 V1 N1\n")
	if _, err := Read(root); err == nil || !strings.Contains(err.Error(), "unknown version") {
		t.Fatalf("Read(uidlist version 9) = %v", err)
	}
}

// TestWriteReadBack: what Writer writes, Read reads back with the same
// UIDVALIDITY, UIDs, UIDNEXT, flags, keywords, dates and subscriptions.
func TestWriteReadBack(t *testing.T) {
	root := filepath.Join(t.TempDir(), "out")
	w, err := Create(root)
	if err != nil {
		t.Fatal(err)
	}
	date := time.Date(2020, 2, 3, 4, 5, 6, 0, time.UTC)
	in, err := w.Folder("INBOX", 1234, 10)
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Add(3, []string{`\Seen`, "$Label1", `\Flagged`}, date, strings.NewReader("Subject: a\r\n\r\na\r\n")); err != nil {
		t.Fatal(err)
	}
	if err := in.Add(7, []string{"Work", `\Deleted`}, date, strings.NewReader("Subject: b\r\n\r\nb\r\n")); err != nil {
		t.Fatal(err)
	}
	if err := in.Close(); err != nil {
		t.Fatal(err)
	}
	sub, err := w.Folder("Ärger/2024", 99, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteSubscriptions([]string{"Ärger/2024"}); err != nil {
		t.Fatal(err)
	}
	tree, err := Read(root)
	if err != nil {
		t.Fatal(err)
	}
	f := tree.Folders[0]
	if f.UIDValidity != 1234 || f.UIDNext != 10 || len(f.Messages) != 2 {
		t.Fatalf("INBOX read back: %+v", f)
	}
	m0, m1 := f.Messages[0], f.Messages[1]
	if m0.UID != 3 || !slices.Equal(m0.Flags, []string{`\Flagged`, `\Seen`, "$Label1"}) || !m0.Date.Equal(date) {
		t.Fatalf("message 3: %+v", m0)
	}
	if m1.UID != 7 || !slices.Equal(m1.Flags, []string{`\Deleted`, "Work"}) {
		t.Fatalf("message 7: %+v", m1)
	}
	if b, _ := os.ReadFile(m0.Path); string(b) != "Subject: a\n\na\n" {
		t.Fatalf("body %q", b)
	}
	if tree.Folders[1].Name != "Ärger/2024" || tree.Folders[1].UIDValidity != 99 {
		t.Fatalf("subfolder %+v", tree.Folders[1])
	}
	if !slices.Equal(tree.Subscriptions, []string{"Ärger/2024"}) {
		t.Fatalf("subscriptions %q", tree.Subscriptions)
	}
	if _, err := Create(root); err == nil {
		t.Fatal("Create on a non-empty directory succeeded")
	}
}
