package mime

import (
	"bytes"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzParse checks that no input crashes the parser, that every tree keeps
// the documented invariants, that Encode/Decode round-trips it, and that
// the helpers working on its sections do not crash either. The seed corpus
// is in testdata/fuzz/FuzzParse; the messages in testdata/messages are
// added too.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/messages/*.eml")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		p := ParseBytes(msg)
		checkInvariants(t, p, int64(len(msg)))
		q, err := Decode(p.Encode())
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(p, q) {
			t.Fatalf("Encode/Decode changed the tree:\n%s\n%s", renderBodyStructure(p), renderBodyStructure(q))
		}
		r := bytes.NewReader(msg)
		p.Walk(func(part *Part) bool {
			if bin, err := BinarySection(r, part); err == nil {
				var buf [512]byte
				for {
					if _, err := bin.Read(buf[:]); err != nil {
						break
					}
				}
			}
			if part.Envelope != nil {
				DecodeHeader(part.Envelope.Subject)
			}
			return true
		})
		hr, _ := p.HeaderRange(nil)
		hdr := msg[hr.Start:hr.End]
		HeaderFields(hdr)
		FilterHeader(hdr, []string{"subject", "from"}, false)
		if err := BodyText(r, p, func(string) bool { return true }); err != nil {
			t.Fatal(err)
		}
	})
}

// TestDecodeCorrupt feeds Decode truncated and mangled encodings: it must
// return an error or a tree, never panic.
func TestDecodeCorrupt(t *testing.T) {
	enc := ParseBytes(readMessage(t, "forward")).Encode()
	for n := range enc {
		if _, err := Decode(enc[:n]); err == nil {
			t.Errorf("truncated to %d octets: no error", n)
		}
	}
	rng := rand.New(rand.NewSource(1))
	for range 20000 {
		b := append([]byte(nil), enc...)
		for range 1 + rng.Intn(4) {
			b[rng.Intn(len(b))] = byte(rng.Intn(256))
		}
		Decode(b)
	}
	if _, err := Decode(append(append([]byte(nil), enc...), 0)); err == nil {
		t.Error("trailing octet: no error")
	}
	if _, err := Decode(nil); err == nil {
		t.Error("empty: no error")
	}
}
