// Package mbox reads and writes mbox files in the mboxrd form: messages
// start at a line "From <sender> <asctime date>", and a body line that
// matches ">*From " gets one more '>' when written and loses one when
// read, so any message survives the round trip. The flags ride in the
// Status, X-Status and X-Keywords header fields, as mutt, Dovecot's mbox
// driver and others keep them; the reader takes them out of the message
// and the writer puts them in.
package mbox

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Message is one message of an mbox.
type Message struct {
	Date  time.Time // from the From_ line; zero when it has none that parses
	Flags []string
	Body  []byte // CRLF line ends
}

// Reader reads messages from an mbox one at a time.
type Reader struct {
	br      *bufio.Reader
	pending []byte // the From_ line of the next message
	started bool
	line    int
}

// NewReader reads an mbox from r.
func NewReader(r io.Reader) *Reader { return &Reader{br: bufio.NewReaderSize(r, 64<<10)} }

// maxLine bounds one line; longer lines are read in pieces (only From_
// detection needs a line start).
func (r *Reader) readLine() ([]byte, error) {
	line, err := r.br.ReadBytes('\n')
	if len(line) > 0 {
		r.line++
		return line, nil
	}
	return nil, err
}

// Next returns the next message, or io.EOF.
func (r *Reader) Next() (*Message, error) {
	if !r.started {
		r.started = true
		for {
			line, err := r.readLine()
			if err != nil {
				if errors.Is(err, io.EOF) {
					return nil, io.EOF
				}
				return nil, err
			}
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			if !bytes.HasPrefix(line, []byte("From ")) {
				return nil, fmt.Errorf("mbox: line %d: does not start with a \"From \" line: not an mbox", r.line)
			}
			r.pending = line
			break
		}
	}
	if r.pending == nil {
		return nil, io.EOF
	}
	m := &Message{Date: parseFromDate(r.pending)}
	r.pending = nil
	var body bytes.Buffer
	for {
		line, err := r.readLine()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				return nil, err
			}
			break
		}
		if bytes.HasPrefix(line, []byte("From ")) {
			r.pending = line
			break
		}
		if q := bytes.TrimLeft(line, ">"); len(q) < len(line) && bytes.HasPrefix(q, []byte("From ")) {
			line = line[1:]
		}
		body.Write(line)
	}
	raw := body.Bytes()
	// The blank line before the next From_ belongs to the mbox, not to
	// the message.
	raw = trimSeparator(raw)
	raw = toCRLF(raw)
	m.Flags, m.Body = takeFlags(raw)
	return m, nil
}

func trimSeparator(b []byte) []byte {
	switch {
	case bytes.HasSuffix(b, []byte("\r\n\r\n")):
		return b[:len(b)-2]
	case bytes.HasSuffix(b, []byte("\n\n")):
		return b[:len(b)-1]
	}
	return b
}

// toCRLF makes every line end CRLF.
func toCRLF(b []byte) []byte {
	var out bytes.Buffer
	out.Grow(len(b) + len(b)/32)
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			out.Write(b)
			break
		}
		line := b[:i]
		line = bytes.TrimSuffix(line, []byte("\r"))
		out.Write(line)
		out.WriteString("\r\n")
		b = b[i+1:]
	}
	return out.Bytes()
}

// parseFromDate reads the asctime date at the end of a From_ line
// ("From a@b Thu Nov 24 18:22:48 2022").
func parseFromDate(line []byte) time.Time {
	f := strings.Fields(string(line))
	if len(f) < 6 {
		return time.Time{}
	}
	for _, layout := range []string{time.ANSIC, "Mon Jan _2 15:04:05 2006 -0700", "Mon Jan _2 15:04:05 MST 2006"} {
		n := len(strings.Fields(layout))
		if len(f) < n {
			continue
		}
		if t, err := time.Parse(layout, strings.Join(f[len(f)-n:], " ")); err == nil {
			return t
		}
	}
	return time.Time{}
}

// takeFlags removes the Status, X-Status and X-Keywords fields from the
// header (only there) and returns the flags they carried.
func takeFlags(msg []byte) ([]string, []byte) {
	end := bytes.Index(msg, []byte("\r\n\r\n"))
	if end < 0 {
		end = len(msg)
	} else {
		end += 2
	}
	var flags []string
	var head bytes.Buffer
	rest := msg[:end]
	for len(rest) > 0 {
		i := bytes.Index(rest, []byte("\r\n"))
		var line []byte
		if i < 0 {
			line, rest = rest, nil
		} else {
			line, rest = rest[:i+2], rest[i+2:]
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		v := strings.TrimSpace(string(value))
		switch n := strings.ToLower(string(name)); {
		case ok && n == "status":
			if strings.Contains(v, "R") {
				flags = append(flags, `\Seen`)
			}
			continue
		case ok && n == "x-status":
			for _, c := range v {
				switch c {
				case 'A':
					flags = append(flags, `\Answered`)
				case 'F':
					flags = append(flags, `\Flagged`)
				case 'T':
					flags = append(flags, `\Draft`)
				case 'D':
					flags = append(flags, `\Deleted`)
				}
			}
			continue
		case ok && n == "x-keywords":
			for _, k := range strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == ',' }) {
				flags = append(flags, k)
			}
			continue
		}
		head.Write(line)
	}
	head.Write(msg[end:])
	return flags, head.Bytes()
}

// Writer writes an mboxrd file.
type Writer struct {
	w *bufio.Writer
}

// NewWriter writes to w; call Flush at the end.
func NewWriter(w io.Writer) *Writer { return &Writer{w: bufio.NewWriterSize(w, 64<<10)} }

// Write appends one message: the From_ line (sender MAILER-DAEMON, the
// date in UTC), the flags as Status/X-Status/X-Keywords at the end of the
// header, the body with LF line ends and ">*From " lines quoted, and a
// blank line.
func (w *Writer) Write(date time.Time, flags []string, body []byte) error {
	if date.IsZero() {
		date = time.Unix(0, 0)
	}
	fmt.Fprintf(w.w, "From MAILER-DAEMON %s\n", date.UTC().Format(time.ANSIC))
	lf := bytes.ReplaceAll(body, []byte("\r\n"), []byte("\n"))
	headEnd := bytes.Index(lf, []byte("\n\n"))
	var head, rest []byte
	if headEnd < 0 {
		head, rest = lf, nil
		if len(head) > 0 && head[len(head)-1] != '\n' {
			head = append(slices.Clip(head), '\n')
		}
	} else {
		head, rest = lf[:headEnd+1], lf[headEnd+1:]
	}
	writeQuoted(w.w, head)
	var status, xstatus string
	var keywords []string
	for _, f := range flags {
		switch strings.ToLower(f) {
		case `\seen`:
			status = "RO"
		case `\answered`:
			xstatus += "A"
		case `\flagged`:
			xstatus += "F"
		case `\draft`:
			xstatus += "T"
		case `\deleted`:
			xstatus += "D"
		default:
			if !strings.HasPrefix(f, `\`) {
				keywords = append(keywords, f)
			}
		}
	}
	if status != "" {
		fmt.Fprintf(w.w, "Status: %s\n", status)
	}
	if xstatus != "" {
		fmt.Fprintf(w.w, "X-Status: %s\n", xstatus)
	}
	if len(keywords) > 0 {
		fmt.Fprintf(w.w, "X-Keywords: %s\n", strings.Join(keywords, " "))
	}
	if headEnd < 0 {
		w.w.WriteString("\n")
	}
	writeQuoted(w.w, rest)
	if len(rest) > 0 && rest[len(rest)-1] != '\n' {
		w.w.WriteString("\n")
	}
	_, err := w.w.WriteString("\n")
	return err
}

// writeQuoted writes b, quoting lines that match ">*From ".
func writeQuoted(w *bufio.Writer, b []byte) {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		line := b
		if i >= 0 {
			line = b[:i+1]
		}
		if q := bytes.TrimLeft(line, ">"); bytes.HasPrefix(q, []byte("From ")) {
			w.WriteByte('>')
		}
		w.Write(line)
		b = b[len(line):]
	}
}

// Flush writes what is buffered.
func (w *Writer) Flush() error { return w.w.Flush() }
