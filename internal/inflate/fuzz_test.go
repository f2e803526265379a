package inflate

import (
	"bytes"
	"compress/flate"
	"encoding/hex"
	"io"
	"testing"
)

// FuzzInflate: on any input the decoder does what compress/flate's does
// (the same octets, an error where it errs), never panics.
func FuzzInflate(f *testing.F) {
	for _, s := range []string{
		"3256f073f4750d0e707476e5e50208",
		"4a3454f0f177f7f453504accc94c4e7548ad48cc2dc849d54bcecf5552502a4e4d2e4a2d5128482c2e2ecf2f4a51e2e50208",
		"0000ffff", "07ff", "010000ffff",
	} {
		b, _ := hex.DecodeString(s)
		f.Add(b)
	}
	var z bytes.Buffer
	zw, _ := flate.NewWriter(&z, flate.BestCompression)
	zw.Write(bytes.Repeat([]byte("a1 UID FETCH 1:* (FLAGS BODY.PEEK[])\r\n"), 300))
	zw.Close()
	f.Add(z.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := io.ReadAll(NewReader(bytes.NewReader(data)))
		want, werr := io.ReadAll(flate.NewReader(bytes.NewReader(data)))
		if !bytes.Equal(got, want) || (err == nil) != (werr == nil) {
			t.Fatalf("got %d octets, %v; compress/flate %d octets, %v", len(got), err, len(want), werr)
		}
	})
}
