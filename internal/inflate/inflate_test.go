package inflate

import (
	"bytes"
	"compress/flate"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"time"
)

// bursts feeds its bursts one at a time: the next only after the reader
// asked for more than the current one held (as a socket does when the
// peer waits for an answer).
type bursts struct {
	parts [][]byte
	asked chan struct{} // a read found the current burst used up
	next  chan struct{} // the test lets the next burst through
}

func (b *bursts) Read(p []byte) (int, error) {
	for len(b.parts) > 0 && len(b.parts[0]) == 0 {
		b.parts = b.parts[1:]
		b.asked <- struct{}{}
		<-b.next
	}
	if len(b.parts) == 0 {
		return 0, io.EOF
	}
	n := copy(p, b.parts[0])
	b.parts[0] = b.parts[0][n:]
	return n, nil
}

func (b *bursts) ReadByte() (byte, error) {
	var one [1]byte
	if _, err := b.Read(one[:]); err != nil {
		return 0, err
	}
	return one[0], nil
}

// Each burst ended by Z_PARTIAL_FLUSH is readable in full before the next
// burst arrives. The bursts are zlib's (mbsync's flush mode; the second
// refers back to the first); compress/flate would wait for the second.
func TestPartialFlushBursts(t *testing.T) {
	mbsync, _ := hex.DecodeString("3256f073f4750d0e707476e5e50208") // "3 NAMESPACE\r\n" from isync 1.4.4
	first, _ := hex.DecodeString("4a3454f0f177f7f453504accc94c4e7548ad48cc2dc849d54bcecf5552502a4e4d2e4a2d5128482c2e2ecf2f4a51e2e50208")
	second, _ := hex.DecodeString("a044238560571f57e710054f3f27ff08a080b142a8a78b829b6b88b38782a1959682869b8fa37bb026d4580c5379b90002")
	for _, tc := range []struct {
		name  string
		parts [][]byte
		want  []string
	}{
		{"mbsync", [][]byte{mbsync}, []string{"3 NAMESPACE\r\n"}},
		{"zlib", [][]byte{first, second}, []string{
			"a1 LOGIN \"alice@example.com\" \"secret password\"\r\n",
			"a2 SELECT INBOX\r\na3 UID FETCH 1:* (FLAGS) LOGIN alice@example.com\r\n",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := &bursts{parts: tc.parts, asked: make(chan struct{}, 1), next: make(chan struct{})}
			r := NewReader(src)
			for i, want := range tc.want {
				got := make([]byte, len(want))
				done := make(chan error, 1)
				go func() {
					_, err := io.ReadFull(r, got)
					done <- err
				}()
				select {
				case err := <-done:
					if err != nil || string(got) != want {
						t.Fatalf("burst %d: %q, %v; want %q", i, got, err, want)
					}
				case <-time.After(5 * time.Second):
					t.Fatalf("burst %d not handed out before the next burst", i)
				}
				if i < len(tc.want)-1 {
					// The reader may go on into the flush block's
					// bits; let the next burst through once it asks.
					go func() { <-src.asked; src.next <- struct{}{} }()
				}
			}
		})
	}
}

// testData is n octets mixing text, repeats at long distances (up to the
// 32 KiB window, across its growth) and random octets.
func testData(r *rand.Rand, n int) []byte {
	words := strings.Fields("FETCH UID FLAGS BODY[] Subject: From: Received: by with ESMTP id the a of to and in \\Seen \\Answered 1234 {5678}\r\n")
	var b bytes.Buffer
	for b.Len() < n {
		switch r.IntN(4) {
		case 0:
			for range 20 {
				b.WriteString(words[r.IntN(len(words))])
				b.WriteByte(' ')
			}
		case 1:
			if b.Len() > 0 {
				dist := 1 + r.IntN(min(b.Len(), 32768))
				k := min(1+r.IntN(300), dist)
				start := b.Len() - dist
				b.Write(append([]byte(nil), b.Bytes()[start:start+k]...))
			}
		case 2:
			for range 1 + r.IntN(200) {
				b.WriteByte(byte(r.Uint32()))
			}
		case 3:
			b.WriteString(strings.Repeat("x", r.IntN(1000)))
		}
	}
	return b.Bytes()[:n]
}

// Whatever compress/flate writes, at any level and with flushes anywhere,
// decodes to the same octets.
func TestRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, level := range []int{flate.HuffmanOnly, flate.NoCompression, flate.BestSpeed, flate.DefaultCompression, flate.BestCompression} {
		for _, n := range []int{0, 1, 100, 2047, 2048, 2049, 4097, 40000, 300000} {
			data := testData(r, n)
			var z bytes.Buffer
			zw, _ := flate.NewWriter(&z, level)
			for rest := data; len(rest) > 0; {
				k := min(len(rest), 1+r.IntN(70000))
				zw.Write(rest[:k])
				rest = rest[k:]
				if r.IntN(3) == 0 {
					zw.Flush()
				}
			}
			if n%2 == 0 {
				zw.Close() // a final block
			} else {
				zw.Flush()
			}
			got, err := io.ReadAll(NewReader(bytes.NewReader(z.Bytes())))
			if n%2 == 1 && err == io.ErrUnexpectedEOF {
				err = nil // no final block: the stream is cut
			}
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("level %d, %d octets: got %d octets (equal %v), %v", level, n, len(got), bytes.Equal(got, data), err)
			}
		}
	}
}

// Corrupt input is an error, never a panic.
func TestCorrupt(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		junk := make([]byte, r.IntN(600))
		for i := range junk {
			junk[i] = byte(r.Uint32())
		}
		io.Copy(io.Discard, NewReader(bytes.NewReader(junk)))
	}
	_, err := io.ReadAll(NewReader(bytes.NewReader([]byte{0x07, 0xff})))
	if _, ok := err.(CorruptInputError); !ok {
		t.Fatalf("reserved block type: %v", err)
	}
}

// A decoder that has read a little keeps a small window: that is what a
// compressed IMAP connection holds while it waits.
func TestSmallWhileShort(t *testing.T) {
	var z bytes.Buffer
	zw, _ := flate.NewWriter(&z, flate.DefaultCompression)
	zw.Write([]byte(strings.Repeat("a1 UID FETCH 1:* (FLAGS)\r\n", 20)))
	zw.Flush()
	const n = 200
	keep := make([]io.Reader, n)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range keep {
		zr := NewReader(bytes.NewReader(z.Bytes()))
		if _, err := io.Copy(io.Discard, zr); err != io.ErrUnexpectedEOF {
			t.Fatal(err)
		}
		keep[i] = zr
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(after.HeapAlloc-before.HeapAlloc) / n
	t.Logf("%.1f KiB per decoder after %d octets", per/1024, 20*26)
	if per > 12<<10 {
		t.Errorf("%.1f KiB per decoder, want at most 12", per/1024)
	}
	runtime.KeepAlive(keep)
}
