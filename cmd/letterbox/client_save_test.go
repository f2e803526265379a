package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/letterbox/letterbox/internal/mailclient"
)

func TestSafeAttachmentName(t *testing.T) {
	long := strings.Repeat("é", 150) + ".pdf" // 304 bytes
	for _, tc := range []struct {
		name, typ, want string
	}{
		{"report.pdf", "application/pdf", "report.pdf"},
		{"../../.bashrc", "text/plain", "bashrc"},
		{`C:\Users\x\evil.exe`, "application/octet-stream", "evil.exe"},
		{"/etc/passwd", "text/plain", "passwd"},
		{"..", "text/plain", "attachment-4.txt"},
		{"", "image/png", "attachment-4.png"},
		{"   ", "application/x-whatever", "attachment-4.bin"},
		{"a\x1b[31mb\nc.txt", "text/plain", "a_[31mb_c.txt"},
		{"invoice\u202egpj.exe", "application/octet-stream", "invoicegpj.exe"},
		{"name.", "text/plain", "name"},
		{"caf\xe9.txt", "text/plain", "caf_.txt"},
	} {
		got := safeAttachmentName(mailclient.Attachment{Index: 4, Name: tc.name, Type: tc.typ})
		if got != tc.want {
			t.Errorf("safeAttachmentName(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
	got := safeAttachmentName(mailclient.Attachment{Index: 1, Name: long})
	if len(got) > maxNameBytes || !strings.HasSuffix(got, ".pdf") || !strings.HasPrefix(got, "éé") || strings.ContainsRune(got, '\uFFFD') {
		t.Fatalf("long name → %q (%d bytes)", got, len(got))
	}
}

func TestWriteNewFileNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("keep"), 0o600)
	os.WriteFile(filepath.Join(dir, "a-1.txt"), []byte("keep too"), 0o600)
	p, err := writeNewFile(dir, "a.txt", []byte("new"))
	if err != nil || filepath.Base(p) != "a-2.txt" {
		t.Fatalf("%q %v", p, err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "a.txt")); string(b) != "keep" {
		t.Fatal("a.txt overwritten")
	}
	// A symlink planted under the name is not followed.
	os.Symlink(filepath.Join(dir, "target"), filepath.Join(dir, "link"))
	if p, err := writeNewFile(dir, "link", []byte("x")); err != nil || filepath.Base(p) != "link-1" {
		t.Fatalf("symlink: %q %v", p, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "target")); err == nil {
		t.Fatal("wrote through a symlink")
	}
}
