package blobfs

import (
	"os"
	"path/filepath"
	"reflect"
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

// TestAnalyzeTempMatchesFile: a body Spool kept in memory (the journal's
// bodies) is analysed from those bytes exactly as from its file, and the
// kept bytes are the file's; bodies over the bound come from the file.
// Spool's pooled buffers are reused across the bodies, in both orders of
// sizes, with bare LFs to normalise.
func TestAnalyzeTempMatchesFile(t *testing.T) {
	dir := t.TempDir()
	multipart := "Message-ID: <m@x>\nReferences: <a@x> <b@x>\nSubject: =?utf-8?q?caf=C3=A9?=\nFrom: A <a@x>\n" +
		"Content-Type: multipart/alternative; boundary=b\n\n--b\nContent-Type: text/plain\n\nquokka text\n" +
		"--b\nContent-Type: text/html\n\n<p>quokka <b>html</b></p>\n--b--\n"
	bodies := []string{multipart, "Subject: big\r\n\r\n" + strings.Repeat("line of text\r\n", 2000), multipart + "\r\n", "no header at all"}
	for _, body := range append(bodies, bodies[1], bodies[0]) {
		tmp, err := Spool(strings.NewReader(body), SpoolOptions{Dir: dir, Journal: 8 << 10})
		if err != nil {
			t.Fatal(err)
		}
		onDisk, err := os.ReadFile(tmp.Path)
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(onDisk)) != tmp.Size || (tmp.Data != nil && string(tmp.Data) != string(onDisk)) {
			t.Fatalf("kept %d bytes, file has %d (size %d)", len(tmp.Data), len(onDisk), tmp.Size)
		}
		if (tmp.Data != nil) != (len(onDisk) <= 8<<10) {
			t.Errorf("%d-byte body kept in memory: %v", len(onDisk), tmp.Data != nil)
		}
		fromTemp, err := AnalyzeTemp(tmp)
		if err != nil {
			t.Fatal(err)
		}
		fromFile, err := Analyze(tmp.Path, tmp.Size)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(fromTemp, fromFile) {
			t.Errorf("AnalyzeTemp = %+v\nAnalyze   = %+v", fromTemp, fromFile)
		}
	}
}
