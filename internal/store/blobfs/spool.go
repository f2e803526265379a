package blobfs

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Temp is a body written to a temp file, not yet named by its content
// address.
type Temp struct {
	Path string // the temp file
	ID   string // content address (hex SHA-256 of the stored bytes)
	Size int64  // octets stored (after CRLF normalisation)
	// Data holds the stored bytes when the body was small enough to be
	// journaled (SpoolOptions.Journal): the file was then not synced.
	Data []byte
}

// SpoolOptions configures Spool.
type SpoolOptions struct {
	FS      FS     // nil means OSFS
	Dir     string // directory for the temp file
	Pattern string // os.CreateTemp pattern; "" means "in-*"
	Max     int64  // size limit after normalisation; 0 means none
	// Sync fsyncs the file before Spool returns: needed when the file
	// itself becomes the durable copy, not when it is only a staging area.
	Sync bool
	// Verbatim stores the body as read, without CRLF normalisation.
	Verbatim bool
	// Journal, when above 0, keeps a body of at most this many octets in
	// Temp.Data and skips Sync for it: the caller makes those bytes
	// durable another way (the SQLite store's blob journal) and syncs the
	// file later.
	Journal int64
}

// Spool streams body into a new temp file in o.Dir, normalising line
// endings to CRLF, hashing and enforcing o.Max (store.ErrTooLarge). On
// any error the temp file is removed.
func Spool(body io.Reader, o SpoolOptions) (Temp, error) {
	fsys := o.FS
	if fsys == nil {
		fsys = OSFS{}
	}
	pattern := o.Pattern
	if pattern == "" {
		pattern = "in-*"
	}
	f, err := fsys.CreateTemp(o.Dir, pattern)
	if err != nil {
		return Temp{}, fmt.Errorf("blobfs: temp file: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			fsys.Remove(f.Name())
		}
	}()
	bw := spoolWriters.Get().(*bufio.Writer)
	bw.Reset(f)
	defer func() {
		bw.Reset(nil) // drop the file
		spoolWriters.Put(bw)
	}()
	var out io.Writer = bw
	var keep *keepWriter
	if o.Journal > 0 {
		keep = &keepWriter{w: bw, max: o.Journal}
		out = keep
	}
	cw := NewCRLFWriter(out, o.Max)
	cw.Verbatim = o.Verbatim
	// A pooled copy buffer, and body hidden behind a plain Reader: an
	// io.MultiReader's WriteTo (the SMTP and LMTP bodies are one) makes a
	// 32 KiB buffer for every message otherwise.
	buf := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(buf)
	if _, err := io.CopyBuffer(cw, struct{ io.Reader }{body}, *buf); err != nil {
		if errors.Is(err, errTooLarge) {
			return Temp{}, err
		}
		return Temp{}, fmt.Errorf("blobfs: writing body: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return Temp{}, fmt.Errorf("blobfs: writing body: %w", err)
	}
	var data []byte
	if keep != nil && !keep.over {
		data = keep.buf
		if data == nil {
			data = []byte{}
		}
	}
	if o.Sync && data == nil {
		if err := f.Sync(); err != nil {
			return Temp{}, fmt.Errorf("blobfs: syncing body: %w", err)
		}
	}
	if err := f.Close(); err != nil {
		return Temp{}, fmt.Errorf("blobfs: closing body: %w", err)
	}
	ok = true
	return Temp{Path: f.Name(), ID: cw.ID(), Size: cw.Size(), Data: data}, nil
}

// spoolWriters and copyBuffers are Spool's buffers, kept for the next
// body: allocated per message they were 96 KiB of zeroed memory each, a
// good part of LMTP delivery's allocation and garbage collection.
var (
	spoolWriters = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 64<<10) }}
	copyBuffers  = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}
)

// keepWriter passes writes on and keeps a copy of them while they total
// at most max octets.
type keepWriter struct {
	w    io.Writer
	max  int64
	buf  []byte
	over bool
}

func (k *keepWriter) Write(p []byte) (int, error) {
	if !k.over {
		if int64(len(k.buf)+len(p)) > k.max {
			k.over, k.buf = true, nil
		} else {
			k.buf = append(k.buf, p...)
		}
	}
	return k.w.Write(p)
}
