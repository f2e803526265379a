package imap

import (
	"bytes"
	"io"
	"os"
)

// Open returns a reader over the literal's content from its first octet.
// Each call returns an independent reader.
func (l *Literal) Open() io.ReadSeeker {
	if l.file != nil {
		return io.NewSectionReader(l.file, 0, l.Size)
	}
	return bytes.NewReader(l.data)
}

// Bytes returns the content, reading a spooled literal into memory.
func (l *Literal) Bytes() ([]byte, error) {
	if l.file == nil {
		return l.data, nil
	}
	return io.ReadAll(l.Open())
}

// Close removes a spooled literal's temporary file. Safe to call twice.
func (l *Literal) Close() error {
	if l.file == nil {
		return nil
	}
	f := l.file
	l.file = nil
	l.data = nil
	err := f.Close()
	if rmErr := os.Remove(f.Name()); err == nil {
		err = rmErr
	}
	return err
}

// NewLiteral returns an in-memory Literal holding data (for tests and for
// callers building AppendArgs themselves).
func NewLiteral(data []byte, binary bool) *Literal {
	return &Literal{Size: int64(len(data)), Binary: binary, data: data}
}
