package blobfs

import (
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
	out := c.buf[:0]
	for _, b := range p {
		if b == '\n' && !c.prevCR && !c.Verbatim {
			out = append(out, '\r')
		}
		out = append(out, b)
		c.prevCR = b == '\r'
	}
	c.buf = out[:0]
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
