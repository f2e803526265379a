package blobfs

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestMessageIDs(t *testing.T) {
	got := MessageIDs(" <a@x>  junk <b @ y>\t<c@z> <> <unterminated")
	if want := []string{"<a@x>", "<b@y>", "<c@z>"}; !slices.Equal(got, want) {
		t.Errorf("MessageIDs = %q, want %q", got, want)
	}
	if got := MessageIDs("<" + strings.Repeat("x", 300) + "@y>"); len(got) != 0 {
		t.Errorf("over-long ID kept: %q", got)
	}
}

// TestAnalyzeThreadKeys: the own Message-ID, then In-Reply-To and the
// References from the nearest, without repeats or the own ID, at most
// maxParents; and the preview.
func TestAnalyzeThreadKeys(t *testing.T) {
	var refs []string
	for i := range 40 {
		refs = append(refs, "<r"+string(rune('a'+i%26))+string(rune('a'+i/26))+"@x>")
	}
	msg := "Message-ID: <me@x>\r\nIn-Reply-To: <p@x>\r\nReferences: <root@x>\r\n " + strings.Join(refs, "\r\n ") +
		" <p@x> <me@x>\r\nSubject: s\r\n\r\nHello\r\n"
	path := filepath.Join(t.TempDir(), "m")
	if err := os.WriteFile(path, []byte(msg), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := Analyze(path, int64(len(msg)))
	if err != nil {
		t.Fatal(err)
	}
	if a.MessageID != "<me@x>" || a.Preview != "Hello" || len(a.Structure) == 0 {
		t.Errorf("Analyze: %q %q", a.MessageID, a.Preview)
	}
	if len(a.Parents) != maxParents || a.Parents[0] != "<p@x>" || a.Parents[1] != refs[len(refs)-1] {
		t.Errorf("Parents (%d): %q", len(a.Parents), a.Parents)
	}
	if slices.Contains(a.Parents, "<me@x>") || len(slices.Compact(slices.Sorted(slices.Values(a.Parents)))) != len(a.Parents) {
		t.Errorf("Parents hold the own ID or repeats: %q", a.Parents)
	}
}
