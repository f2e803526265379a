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

// TestAnalyzeTempMatchesFile: a body Spool kept in memory (SpoolOptions.
// Inline) gets no file, holds exactly the bytes a file spool of the same
// body stores, has the same ID and size, and is analysed from those bytes
// exactly as from the file; bodies over the bound get their file. Spool's
// pooled buffers are reused across the bodies, in both orders of sizes,
// with bare LFs to normalise, and with one body above the write buffer.
func TestAnalyzeTempMatchesFile(t *testing.T) {
	dir := t.TempDir()
	multipart := "Message-ID: <m@x>\nReferences: <a@x> <b@x>\nSubject: =?utf-8?q?caf=C3=A9?=\nFrom: A <a@x>\n" +
		"Content-Type: multipart/alternative; boundary=b\n\n--b\nContent-Type: text/plain\n\nquokka text\n" +
		"--b\nContent-Type: text/html\n\n<p>quokka <b>html</b></p>\n--b--\n"
	bodies := []string{multipart, "Subject: big\r\n\r\n" + strings.Repeat("line of text\r\n", 2000), multipart + "\r\n", "no header at all", "",
		"Subject: huge\n\n" + strings.Repeat("x", 70<<10), strings.Repeat("y", 8<<10)}
	for _, body := range append(bodies, bodies[1], bodies[0]) {
		tmp, err := Spool(strings.NewReader(body), SpoolOptions{Dir: dir, Inline: 8 << 10})
		if err != nil {
			t.Fatal(err)
		}
		ref, err := Spool(strings.NewReader(body), SpoolOptions{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		onDisk, err := os.ReadFile(ref.Path)
		if err != nil {
			t.Fatal(err)
		}
		if tmp.ID != ref.ID || tmp.Size != ref.Size || int64(len(onDisk)) != ref.Size {
			t.Fatalf("inline spool %s %d, file spool %s %d (file has %d)", tmp.ID, tmp.Size, ref.ID, ref.Size, len(onDisk))
		}
		small := len(onDisk) <= 8<<10
		if tmp.Inline() != small || (tmp.Data != nil) != small {
			t.Errorf("%d-byte body: inline %v, data kept %v", len(onDisk), tmp.Inline(), tmp.Data != nil)
		}
		if small {
			if string(tmp.Data) != string(onDisk) {
				t.Fatalf("kept %q, file has %q", tmp.Data, onDisk)
			}
		} else if got, err := os.ReadFile(tmp.Path); err != nil || string(got) != string(onDisk) {
			t.Fatalf("file of the inline spool: %d bytes, %v; want %d", len(got), err, len(onDisk))
		}
		fromTemp, err := AnalyzeTemp(tmp)
		if err != nil {
			t.Fatal(err)
		}
		fromFile, err := Analyze(ref.Path, ref.Size)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(fromTemp, fromFile) {
			t.Errorf("AnalyzeTemp = %+v\nAnalyze   = %+v", fromTemp, fromFile)
		}
		tmp.Discard(nil)
		ref.Discard(nil)
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("temp files left: %d", len(left))
	}
}
