package smtp

// Tests of the letterbox fork's changes (see LETTERBOX.md): the fast
// dataReader and lineLimitReader against the upstream v0.25.1 loops, kept
// here verbatim as the reference.

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math/rand"
	"testing"
)

// upstreamDataReader is go-smtp v0.25.1's dataReader.Read, unchanged.
type upstreamDataReader struct {
	r       *bufio.Reader
	state   int
	limited bool
	n       int64
}

func (r *upstreamDataReader) Read(b []byte) (n int, err error) {
	if r.limited {
		if r.n <= 0 {
			return 0, ErrDataTooLarge
		}
		if int64(len(b)) > r.n {
			b = b[0:r.n]
		}
	}
	for n < len(b) && r.state != stateEOF {
		var c byte
		c, err = r.r.ReadByte()
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			break
		}
		switch r.state {
		case stateBeginLine:
			if c == '.' {
				r.state = stateDot
				continue
			}
			if c == '\r' {
				r.state = stateCR
				break
			}
			r.state = stateData
		case stateDot:
			if c == '\r' {
				r.state = stateDotCR
				continue
			}
			r.state = stateData
		case stateDotCR:
			if c == '\n' {
				r.state = stateEOF
				continue
			}
			r.state = stateData
		case stateCR:
			if c == '\n' {
				r.state = stateBeginLine
				break
			}
			r.state = stateData
		case stateData:
			if c == '\r' {
				r.state = stateCR
			}
		}
		b[n] = c
		n++
	}
	if err == nil && r.state == stateEOF {
		err = io.EOF
	}
	if r.limited {
		r.n -= int64(n)
	}
	return
}

// upstreamLineLimitReader is go-smtp v0.25.1's lineLimitReader, unchanged.
type upstreamLineLimitReader struct {
	R             io.Reader
	LineLimit     int
	curLineLength int
}

func (r *upstreamLineLimitReader) Read(b []byte) (int, error) {
	if r.curLineLength > r.LineLimit && r.LineLimit > 0 {
		return 0, ErrTooLongLine
	}
	n, err := r.R.Read(b)
	if err != nil {
		return n, err
	}
	if r.LineLimit == 0 {
		return n, nil
	}
	for _, chr := range b[:n] {
		if chr == '\n' {
			r.curLineLength = 0
		}
		r.curLineLength++
		if r.curLineLength > r.LineLimit {
			return 0, ErrTooLongLine
		}
	}
	return n, nil
}

// smtpish returns random message data rich in what the state machines
// care about: dots at line starts, bare CR and LF, CRLF, and sometimes an
// end marker with more bytes (the next command) after it.
func smtpish(rng *rand.Rand) []byte {
	pieces := []string{".", "..", "\r", "\n", "\r\n", ".\r\n", "\r\n.\r\n", "a", "text", "x.y", ". \r\n", "\r\r\n"}
	var b bytes.Buffer
	for n := rng.Intn(60); n > 0; n-- {
		if rng.Intn(8) == 0 {
			b.Write(bytes.Repeat([]byte{'z'}, rng.Intn(300)))
			continue
		}
		b.WriteString(pieces[rng.Intn(len(pieces))])
	}
	if rng.Intn(4) != 0 {
		b.WriteString("\r\n.\r\nQUIT\r\n")
	}
	return b.Bytes()
}

// drain reads r with random buffer sizes until an error and returns what
// it read and that error.
func drain(rng *rand.Rand, r io.Reader) ([]byte, error) {
	var out []byte
	for i := 0; i < 100000; i++ {
		buf := make([]byte, 1+rng.Intn(40))
		n, err := r.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			return out, err
		}
	}
	return out, errors.New("no error after 100000 reads")
}

// chunky hands out its data in random small pieces, as a socket does.
type chunky struct {
	data []byte
	rng  *rand.Rand
}

func (c *chunky) Read(b []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := min(len(b), len(c.data), 1+c.rng.Intn(50))
	copy(b, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

func TestDataReaderMatchesUpstream(t *testing.T) {
	for seed := int64(0); seed < 20000; seed++ {
		rng := rand.New(rand.NewSource(seed))
		in := smtpish(rng)
		bufSize := 16 + rng.Intn(64)
		limit := int64(0)
		if rng.Intn(3) == 0 {
			limit = int64(rng.Intn(len(in) + 2))
		}
		readSeed := rng.Int63()

		upBuf := bufio.NewReaderSize(&chunky{data: in, rng: rand.New(rand.NewSource(readSeed))}, bufSize)
		up := &upstreamDataReader{r: upBuf, limited: limit > 0, n: limit}
		wantOut, wantErr := drain(rand.New(rand.NewSource(readSeed)), up)
		wantRest, _ := io.ReadAll(upBuf)

		gotBuf := bufio.NewReaderSize(&chunky{data: in, rng: rand.New(rand.NewSource(readSeed))}, bufSize)
		got := &dataReader{r: gotBuf, limited: limit > 0, n: limit}
		gotOut, gotErr := drain(rand.New(rand.NewSource(readSeed+1)), got)
		gotRest, _ := io.ReadAll(gotBuf)

		if !bytes.Equal(gotOut, wantOut) || !errors.Is(gotErr, wantErr) || !bytes.Equal(gotRest, wantRest) {
			t.Fatalf("seed %d, input %q, limit %d:\n got %q, %v, rest %q\nwant %q, %v, rest %q",
				seed, in, limit, gotOut, gotErr, gotRest, wantOut, wantErr, wantRest)
		}
	}
}

func TestLineLimitReaderMatchesUpstream(t *testing.T) {
	for seed := int64(0); seed < 20000; seed++ {
		rng := rand.New(rand.NewSource(seed))
		in := smtpish(rng)
		limit := rng.Intn(40)
		readSeed := rng.Int63()

		up := &upstreamLineLimitReader{R: &chunky{data: in, rng: rand.New(rand.NewSource(readSeed))}, LineLimit: limit}
		got := &lineLimitReader{R: &chunky{data: in, rng: rand.New(rand.NewSource(readSeed))}, LineLimit: limit}
		// The same buffer sizes on both sides: the chunks each Read
		// returns, and where the error comes, must match call for call.
		sizes := rand.New(rand.NewSource(readSeed + 7))
		for i := 0; ; i++ {
			size := 1 + sizes.Intn(40)
			bu, bg := make([]byte, size), make([]byte, size)
			nu, eu := up.Read(bu)
			ng, eg := got.Read(bg)
			if nu != ng || !errors.Is(eg, eu) || !bytes.Equal(bu[:nu], bg[:ng]) {
				t.Fatalf("seed %d, input %q, limit %d, read %d: got %d %v, want %d %v", seed, in, limit, i, ng, eg, nu, eu)
			}
			if eu != nil {
				break
			}
		}
	}
}
