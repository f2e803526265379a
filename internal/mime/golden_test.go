package mime

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/messages/*.golden")

// TestGolden parses the real-world shaped messages in testdata/messages and
// compares BODYSTRUCTURE and ENVELOPE with the .golden files. Those were
// checked against Dovecot 2.3.19 (the .dovecot files hold its answers); the
// differences are deliberate and listed in the README of testdata/messages.
func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/messages/*.eml")
	if len(files) == 0 {
		t.Fatal("no test messages")
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".eml")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			p := ParseBytes(raw)
			got := "imap.bodystructure: " + renderBodyStructure(p) + "\nimap.envelope: " + renderEnvelope(p.Envelope) + "\n"
			golden := strings.TrimSuffix(f, ".eml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
			q, err := Decode(p.Encode())
			if err != nil {
				t.Fatal(err)
			}
			if again := "imap.bodystructure: " + renderBodyStructure(q) + "\nimap.envelope: " + renderEnvelope(q.Envelope) + "\n"; again != got {
				t.Errorf("after Encode/Decode:\n%s", again)
			}
		})
	}
}
