package blobfs

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Temp is a spooled body, not yet named by its content address: in a temp
// file, or, when small enough (SpoolOptions.Inline), in memory only.
type Temp struct {
	// Path is the temp file; "" when the body is held in Data alone.
	Path string
	ID   string // content address (hex SHA-256 of the stored bytes)
	Size int64  // octets stored (after CRLF normalisation)
	// Data holds the stored bytes of a body of at most
	// SpoolOptions.Inline octets; no file was made for it.
	Data []byte
}

// Inline reports whether the body is held in memory, without a file.
func (t Temp) Inline() bool { return t.Path == "" }

// Discard removes the temp file, if there is one.
func (t Temp) Discard(fsys FS) error {
	if t.Path == "" {
		return nil
	}
	if fsys == nil {
		fsys = OSFS{}
	}
	return fsys.Remove(t.Path)
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
	// Inline, when above 0, keeps a body of at most this many octets in
	// Temp.Data and makes no file for it: the caller stores those bytes
	// another way (the SQLite store keeps them in its database). It must
	// not exceed the write buffer (64 KiB), which holds such a body until
	// Spool knows its size.
	Inline int64
}

// spoolBuffer is the size of Spool's write buffer, and so the largest
// SpoolOptions.Inline.
const spoolBuffer = 64 << 10

// Spool streams body into a new temp file in o.Dir, normalising line
// endings to CRLF, hashing and enforcing o.Max (store.ErrTooLarge). On
// any error the temp file is removed. The file is made only once the body
// outgrows o.Inline: creating one was 7-14% of a small delivery's CPU.
func Spool(body io.Reader, o SpoolOptions) (Temp, error) {
	if o.Inline > spoolBuffer {
		return Temp{}, fmt.Errorf("blobfs: inline limit %d above %d", o.Inline, spoolBuffer)
	}
	fsys := o.FS
	if fsys == nil {
		fsys = OSFS{}
	}
	pattern := o.Pattern
	if pattern == "" {
		pattern = "in-*"
	}
	lf := &lazyFile{fs: fsys, dir: o.Dir, pattern: pattern}
	ok := false
	defer func() {
		if !ok && lf.f != nil {
			lf.f.Close()
			fsys.Remove(lf.f.Name())
		}
	}()
	if o.Inline <= 0 {
		// The file now, so a directory that cannot take it fails
		// before the body is read.
		if err := lf.create(); err != nil {
			return Temp{}, err
		}
	}
	bw := spoolWriters.Get().(*bufio.Writer)
	bw.Reset(lf)
	defer func() {
		bw.Reset(nil) // drop the file
		spoolWriters.Put(bw)
	}()
	var out io.Writer = bw
	var keep *keepWriter
	if o.Inline > 0 {
		keep = &keepWriter{w: bw, max: o.Inline}
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
	if keep != nil && !keep.over && lf.f == nil {
		// The body fits: the write buffer, never flushed, is dropped
		// with it, and no file was made.
		data := keep.buf
		if data == nil {
			data = []byte{}
		}
		ok = true
		return Temp{ID: cw.ID(), Size: cw.Size(), Data: data}, nil
	}
	if err := bw.Flush(); err != nil {
		return Temp{}, fmt.Errorf("blobfs: writing body: %w", err)
	}
	if o.Sync {
		if err := lf.f.Sync(); err != nil {
			return Temp{}, fmt.Errorf("blobfs: syncing body: %w", err)
		}
	}
	if err := lf.f.Close(); err != nil {
		return Temp{}, fmt.Errorf("blobfs: closing body: %w", err)
	}
	ok = true
	return Temp{Path: lf.f.Name(), ID: cw.ID(), Size: cw.Size()}, nil
}

// spoolWriters and copyBuffers are Spool's buffers, kept for the next
// body: allocated per message they were 96 KiB of zeroed memory each, a
// good part of LMTP delivery's allocation and garbage collection.
var (
	spoolWriters = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, spoolBuffer) }}
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

// lazyFile is the temp file, created at the first write (or by create).
type lazyFile struct {
	fs           FS
	dir, pattern string
	f            File
}

func (l *lazyFile) create() error {
	f, err := l.fs.CreateTemp(l.dir, l.pattern)
	if err != nil {
		return fmt.Errorf("blobfs: temp file: %w", err)
	}
	l.f = f
	return nil
}

func (l *lazyFile) Write(p []byte) (int, error) {
	if l.f == nil {
		if err := l.create(); err != nil {
			return 0, err
		}
	}
	return l.f.Write(p)
}
