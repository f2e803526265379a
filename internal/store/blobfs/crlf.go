package blobfs

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"

	"github.com/letterbox/letterbox/internal/store"
)

// CRLFWriter normalises line endings to CRLF on the way to W, hashing what
// it writes: a bare LF becomes CRLF; CRLF and a bare CR (not followed by
// LF) are kept as they are. Bare CRs are rare, harmless to IMAP clients and
// changing them would alter bodies that use CR inside binary content.
//
// When Max > 0 and the normalised output would exceed Max octets, Write
// fails with store.ErrTooLarge and writes nothing more.
type CRLFWriter struct {
	W   io.Writer
	Max int64
	// Verbatim keeps line endings as they are (binary content); hashing
	// and Max still apply.
	Verbatim bool

	h      hash.Hash
	n      int64
	prevCR bool
	buf    []byte
}

// NewCRLFWriter returns a CRLFWriter writing to w with the size limit max
// (0: none).
func NewCRLFWriter(w io.Writer, max int64) *CRLFWriter {
	return &CRLFWriter{W: w, Max: max, h: sha256.New()}
}

func (c *CRLFWriter) Write(p []byte) (int, error) {
	if c.h == nil {
		c.h = sha256.New()
	}
	out := p
	if !c.Verbatim {
		out = c.normalise(p)
	}
	if len(p) > 0 {
		c.prevCR = p[len(p)-1] == '\r'
	}
	if c.Max > 0 && c.n+int64(len(out)) > c.Max {
		return 0, store.ErrTooLarge
	}
	c.n += int64(len(out))
	c.h.Write(out)
	if _, err := c.W.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// normalise returns p with every bare LF made CRLF (the byte before p's
// first is a CR when prevCR). Mail that arrives over SMTP is CRLF
// already, so runs between LFs are found with IndexByte and p itself is
// returned when it has no bare LF: no copy, no per-byte loop.
func (c *CRLFWriter) normalise(p []byte) []byte {
	var out []byte // nil until the first bare LF
	done := 0      // p[:done] is in out (once out is not nil)
	for i := 0; i < len(p); {
		j := bytes.IndexByte(p[i:], '\n')
		if j < 0 {
			break
		}
		lf := i + j
		if (lf == 0 && !c.prevCR) || (lf > 0 && p[lf-1] != '\r') {
			if out == nil {
				out = c.buf[:0]
			}
			out = append(out, p[done:lf]...)
			out = append(out, '\r')
			done = lf
		}
		i = lf + 1
	}
	if out == nil {
		return p
	}
	out = append(out, p[done:]...)
	c.buf = out[:0]
	return out
}

// Size is the number of normalised octets written so far.
func (c *CRLFWriter) Size() int64 { return c.n }

// ID is the content address of what was written so far: the lower-case hex
// SHA-256 of the normalised bytes.
func (c *CRLFWriter) ID() string {
	if c.h == nil {
		c.h = sha256.New()
	}
	return hex.EncodeToString(c.h.Sum(nil))
}
