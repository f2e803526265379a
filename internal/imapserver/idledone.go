package imapserver

import (
	"bufio"
	"errors"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/letterbox/letterbox/internal/imap"
)

// errIdleResync means the line a client sent instead of DONE announced a
// literal the server cannot skip reliably: a synchronizing one (no
// continuation was sent, so whether the client sends it anyway is
// unknown, RFC 3501 §7.5) or a non-synchronizing one over imap.MaxDiscard.
// The session answers BAD, then BYE, and closes.
var errIdleResync = errors.New("imapserver: literal announced while idling")

// errNotDone: the client sent a line other than DONE while idling
// (RFC 2177 §3); IDLE ends with a tagged BAD.
var errNotDone = errors.New("imapserver: expected DONE")

// trailingLiteral matches a literal marker ending a line: "{n}" or "{n+}"
// (RFC 3501 §4.3, RFC 7888), optionally "~{…}" (RFC 3516).
var trailingLiteral = regexp.MustCompile(`\{([0-9]+)(\+?)\}$`)

// readIdleDone reads the line ending IDLE (RFC 2177 §3). It returns nil
// for "DONE" (any case); errNotDone for any other line, once the
// non-synchronizing literals that line announces, and the lines that
// follow them, have been read and discarded (so their octets are not
// taken for the next command); errIdleResync when that is not possible;
// or the I/O error.
func (c *conn) readIdleDone() error {
	var discarded int64
	first := true
	for {
		head, tail, tooLong, err := readLongLine(c.br, c.srv.opts.Limits.MaxLineLength)
		if err != nil {
			if err == io.EOF {
				return io.ErrUnexpectedEOF
			}
			return err
		}
		if first && !tooLong && strings.EqualFold(head, "DONE") {
			return nil
		}
		first = false
		m := trailingLiteral.FindStringSubmatch(tail)
		if m == nil {
			return errNotDone
		}
		size, perr := strconv.ParseInt(m[1], 10, 64)
		if perr != nil || m[2] != "+" || size > imap.MaxDiscard-discarded {
			return errIdleResync
		}
		if _, err := io.CopyN(io.Discard, c.br, size); err != nil {
			return err
		}
		discarded += size
	}
}

// readLongLine reads one line from br without its CRLF (or LF). Only its
// first max octets are kept (head; tooLong is set when there were more)
// and its last 64 octets (tail, for finding a literal marker), so a long
// line costs no memory.
func readLongLine(br *bufio.Reader, max int) (head, tail string, tooLong bool, err error) {
	var h, t []byte
	total := 0
	for {
		chunk, err := br.ReadSlice('\n')
		total += len(chunk)
		if room := max + 2 - len(h); room > 0 {
			h = append(h, chunk[:min(room, len(chunk))]...)
		}
		t = append(t, chunk...)
		if len(t) > 66 {
			t = append(t[:0], t[len(t)-66:]...)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			if err == io.EOF && total > 0 {
				err = io.ErrUnexpectedEOF
			}
			return "", "", false, err
		}
		break
	}
	hs := strings.TrimSuffix(strings.TrimSuffix(string(h), "\n"), "\r")
	ts := strings.TrimSuffix(strings.TrimSuffix(string(t), "\n"), "\r")
	return hs, ts, total > max+2 || len(hs) > max, nil
}
