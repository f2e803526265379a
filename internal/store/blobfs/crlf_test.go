package blobfs

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// crlfReference is the definition: every LF not preceded by CR gets one.
func crlfReference(in []byte) []byte {
	var out []byte
	prevCR := false
	for _, b := range in {
		if b == '\n' && !prevCR {
			out = append(out, '\r')
		}
		out = append(out, b)
		prevCR = b == '\r'
	}
	return out
}

// CRLFWriter gives the reference's bytes, size and hash however the input
// is cut into writes (a CR at the end of one write and its LF at the start
// of the next included), on inputs dense in CR and LF.
func TestCRLFWriterMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("\r\n\r\nab.")
	for round := range 3000 {
		in := make([]byte, rng.IntN(200))
		for i := range in {
			in[i] = alphabet[rng.IntN(len(alphabet))]
		}
		var got bytes.Buffer
		w := NewCRLFWriter(&got, 0)
		for rest := in; len(rest) > 0; {
			n := 1 + rng.IntN(min(len(rest), 9))
			if k, err := w.Write(rest[:n]); err != nil || k != n {
				t.Fatalf("Write = %d, %v", k, err)
			}
			rest = rest[n:]
		}
		want := crlfReference(in)
		if !bytes.Equal(got.Bytes(), want) || w.Size() != int64(len(want)) {
			t.Fatalf("round %d: %q → %q (size %d), want %q", round, in, got.Bytes(), w.Size(), want)
		}
		ref := NewCRLFWriter(&bytes.Buffer{}, 0)
		ref.Verbatim = true
		ref.Write(want)
		if w.ID() != ref.ID() {
			t.Fatalf("round %d: hash differs from the hash of the output", round)
		}
	}
}
