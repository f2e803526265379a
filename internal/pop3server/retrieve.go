package pop3server

import (
	"errors"
	"fmt"
	"io"
	"sync"
)

// cmdRetr handles RETR msg (RFC 1939 §5). The blob is streamed from the
// store through the dot-stuffer, never held whole in memory. RETR does not
// set \Seen (as Dovecot's default).
func (s *session) cmdRetr(args string) error {
	fields := splitArgs(args)
	if len(fields) != 1 {
		s.reply("-ERR RETR needs one message number")
		return nil
	}
	_, m := s.lookup(fields[0])
	if m == nil {
		return nil
	}
	return s.sendMessage(m, fmt.Sprintf("+OK %d octets", m.size), -1)
}

// cmdTop handles TOP msg n (RFC 1939 §7): the header, the empty line and
// the first n body lines.
func (s *session) cmdTop(args string) error {
	fields := splitArgs(args)
	if len(fields) != 2 {
		s.reply("-ERR TOP needs a message number and a line count")
		return nil
	}
	lines, ok := parseNumber(fields[1])
	if !ok {
		// Counts beyond 9 digits mean "all of it".
		if len(fields[1]) > 9 && isDigits(fields[1]) {
			lines = int(^uint(0) >> 1)
		} else {
			s.reply("-ERR invalid line count")
			return nil
		}
	}
	_, m := s.lookup(fields[0])
	if m == nil {
		return nil
	}
	return s.sendMessage(m, "+OK top of message follows", lines)
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// sendMessage streams one message as a multi-line response. bodyLines < 0
// sends it all (RETR); otherwise header plus that many body lines (TOP).
// After "+OK" has gone out a failure cannot be reported in-band, so it ends
// the session (nothing deleted) rather than pass off a truncated message
// as whole.
func (s *session) sendMessage(m *message, okLine string, bodyLines int) error {
	blob, err := s.srv.opts.Store.OpenBlob(s.ctx, m.blobID)
	if err != nil {
		s.log.Error("pop3: open message", "uid", m.uid, "err", err)
		s.reply("-ERR [SYS/TEMP] message cannot be read now")
		return nil
	}
	defer blob.Close()
	s.reply("%s", okLine)
	dw := newDotWriter(s.t.w)
	var dst io.Writer = dw
	if bodyLines >= 0 {
		dst = newTopWriter(dw, bodyLines)
	}
	// io.Reader only: keep io.Copy from using a WriterTo that might
	// buffer. A large message is read in chunks twice the transport's
	// buffer: once that is flushed, a chunk goes to the socket in one
	// write, past the buffer.
	buf := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(buf)
	if _, err := io.CopyBuffer(dst, struct{ io.Reader }{blob}, *buf); err != nil && !errors.Is(err, errTopDone) {
		s.log.Info("pop3: streaming message failed", "uid", m.uid, "err", err)
		return err
	}
	return dw.Close()
}

// copyBufs holds the buffers messages are read through: 64 KiB, twice
// the transport's write buffer, so a chunk goes to the socket directly.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}
