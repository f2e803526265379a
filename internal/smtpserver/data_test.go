package smtpserver

import (
	"io"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

// SMTP smuggling: only <CRLF>.<CRLF> ends DATA (RFC 5321 §4.1.1.4). A bare
// LF (or CR) before or after the dot is data, so the commands after it can
// never start a second transaction. Each case sends one message whose data
// hides an end-of-data lookalike followed by a complete second transaction
// for bob, then the real end. Exactly one message must reach alice, it must
// contain the smuggled text, and bob must get nothing.
func TestNoSmugglingThroughBareLineEnds(t *testing.T) {
	for _, tc := range []struct{ name, fake string }{
		{"LF.LF", "\n.\n"},
		{"LF.CRLF", "\n.\r\n"},
		{"CRLF.LF", "\r\n.\n"},
		{"CR.CR", "\r.\r"},
		{"CR.CRLF", "\r.\r\n"},
		{"CRLF.CR", "\r\n.\r"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, Options{Mode: ModeSMTP})
			c := dial(t, ts.addr)
			c.run(`
				S: 220
				C: EHLO c.example
				S: 250
				C: MAIL FROM:<s@remote.example>
				S: 250
				C: RCPT TO:<alice@example.com>
				S: 250
				C: DATA
				S: 354
			`)
			c.send("Subject: first\r\n\r\nhello" + tc.fake +
				"MAIL FROM:<evil@remote.example>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n" +
				"Subject: smuggled\r\n\r\nsmuggled body\r\n.\r\nQUIT\r\n")
			c.run("S: 250 2.0.0\nS: 221")
			c.expectClosed()
			msg := string(ts.onlyMessage(t, "alice@example.com"))
			if !strings.Contains(msg, "MAIL FROM:<evil@remote.example>") || !strings.Contains(msg, "smuggled body") {
				t.Errorf("smuggled commands are not data of the first message: %q", msg)
			}
			if n := len(ts.store.messages(t, "bob@example.com")); n != 0 {
				t.Errorf("smuggled message injected: bob has %d", n)
			}
			if n := len(ts.store.deliverCalls()); n != 1 {
				t.Errorf("%d deliveries, want 1", n)
			}
		})
	}
}

// A bare LF inside data is data: the server passes it on unchanged and the
// store normalises it to CRLF (store.Store.Deliver).
func TestBareLFKeptAsData(t *testing.T) {
	ts := startServer(t, Options{Mode: ModeSMTP})
	c := dial(t, ts.addr)
	c.run("S: 220\nC: EHLO c.example\nS: 250\nC: MAIL FROM:<s@r.example>\nS: 250\nC: RCPT TO:<alice@example.com>\nS: 250\nC: DATA\nS: 354")
	c.send("Subject: lf\r\n\r\na\nb\n.\nc\r\n.\r\n")
	c.run("S: 250")
	_, rest := splitTrace(t, ts.onlyMessage(t, "alice@example.com"))
	if rest != "Subject: lf\r\n\r\na\r\nb\r\n.\r\nc\r\n" {
		t.Errorf("stored %q", rest)
	}
}

// Size limits (RFC 1870): a declared SIZE over the limit is refused at
// MAIL, an oversized DATA after it is read, with 552 5.3.4; nothing is
// stored and the session goes on.
func TestMessageSizeLimit(t *testing.T) {
	ts := startServer(t, Options{Mode: ModeSMTP, MaxMessageSize: 100})
	c := dial(t, ts.addr)
	c.run(`
		S: 220
		C: EHLO c.example
		S: 250
		C: MAIL FROM:<s@remote.example> SIZE=101
		S: 552 5.3.4
		C: MAIL FROM:<s@remote.example> SIZE=50
		S: 250
		C: RCPT TO:<alice@example.com>
		S: 250
		C: DATA
		S: 354
	`)
	c.send(strings.Repeat("0123456789\r\n", 20) + ".\r\n")
	c.run(`
		S: 552 5.3.4
		C: MAIL FROM:<s@remote.example>
		S: 250
		C: RCPT TO:<alice@example.com>
		S: 250
		C: DATA
		S: 354
		C: small
		C: .
		S: 250 2.0.0
	`)
	_, rest := splitTrace(t, ts.onlyMessage(t, "alice@example.com"))
	if rest != "small\r\n" {
		t.Errorf("stored %q", rest)
	}
}

// BDAT (RFC 3030): chunks are taken as they come, without dot-stuffing, so
// a line holding only "." and a leading-dot line are stored as sent.
func TestBDATByteExact(t *testing.T) {
	ts := startServer(t, Options{Mode: ModeSMTP})
	c := dial(t, ts.addr)
	c.run("S: 220\nC: EHLO c.example\nS: 250\nC: MAIL FROM:<s@remote.example> BODY=8BITMIME\nS: 250\nC: RCPT TO:<alice@example.com>\nS: 250")
	chunk1 := "Subject: chunked\r\n\r\nline one\r\n.\r\n..dots\r\n"
	chunk2 := "QUIT\r\n\xc3\xa4 8bit\r\nend\r\n"
	c.send("BDAT " + strconv.Itoa(len(chunk1)) + "\r\n" + chunk1)
	c.run("S: 250 2.0.0")
	c.send("BDAT " + strconv.Itoa(len(chunk2)) + " LAST\r\n" + chunk2)
	c.run("S: 250 2.0.0\nC: NOOP\nS: 250")
	_, rest := splitTrace(t, ts.onlyMessage(t, "alice@example.com"))
	if rest != chunk1+chunk2 {
		t.Errorf("stored %q, want %q", rest, chunk1+chunk2)
	}
}

// BDAT over the size limit is refused and nothing is stored.
func TestBDATTooLarge(t *testing.T) {
	ts := startServer(t, Options{Mode: ModeSMTP, MaxMessageSize: 20})
	c := dial(t, ts.addr)
	c.run("S: 220\nC: EHLO c.example\nS: 250\nC: MAIL FROM:<s@remote.example>\nS: 250\nC: RCPT TO:<alice@example.com>\nS: 250")
	c.send("BDAT 15\r\n" + strings.Repeat("a", 15))
	c.run("S: 250")
	c.send("BDAT 15 LAST\r\n" + strings.Repeat("b", 15))
	c.run("S: 552 5.3.4\nC: NOOP\nS: 250")
	if n := len(ts.store.messages(t, "alice@example.com")); n != 0 {
		t.Errorf("alice has %d messages", n)
	}
}

// RSET in the middle of BDAT abandons the message.
func TestBDATAbortedByReset(t *testing.T) {
	ts := startServer(t, Options{Mode: ModeSMTP})
	c := dial(t, ts.addr)
	c.run("S: 220\nC: EHLO c.example\nS: 250\nC: MAIL FROM:<s@remote.example>\nS: 250\nC: RCPT TO:<alice@example.com>\nS: 250")
	c.send("BDAT 5\r\nhello")
	c.run("S: 250\nC: RSET\nS: 250\nC: NOOP\nS: 250")
	if n := len(ts.store.messages(t, "alice@example.com")); n != 0 {
		t.Errorf("alice has %d messages after an aborted BDAT", n)
	}
}

// More recipients than MaxRecipients get 452 4.5.3 (RFC 5321 §4.5.3.1.10).
func TestMaxRecipients(t *testing.T) {
	ts := startServer(t, Options{Mode: ModeSMTP, MaxRecipients: 2})
	c := dial(t, ts.addr)
	c.run(`
		S: 220
		C: EHLO c.example
		S: 250
		C: MAIL FROM:<s@remote.example>
		S: 250
		C: RCPT TO:<alice@example.com>
		S: 250
		C: RCPT TO:<bob@example.com>
		S: 250
		C: RCPT TO:<carol@example.com>
		S: 452 4.5.3
	`)
}

// A command line over MaxLineLength ends the session with 500.
func TestLineTooLong(t *testing.T) {
	ts := startServer(t, Options{Mode: ModeSMTP, MaxLineLength: 100})
	c := dial(t, ts.addr)
	c.run("S: 220")
	c.send("EHLO " + strings.Repeat("a", 200) + "\r\n")
	c.run("S: 500 5.4.0")
	c.expectClosed()
}

// A DATA line over MaxLineLength fails the message; nothing is stored.
func TestDataLineTooLong(t *testing.T) {
	ts := startServer(t, Options{Mode: ModeSMTP, MaxLineLength: 100})
	c := dial(t, ts.addr)
	c.run("S: 220\nC: EHLO c.example\nS: 250\nC: MAIL FROM:<s@remote.example>\nS: 250\nC: RCPT TO:<alice@example.com>\nS: 250\nC: DATA\nS: 354")
	c.send(strings.Repeat("z", 300) + "\r\n.\r\n")
	c.run("S: 500")
	if n := len(ts.store.messages(t, "alice@example.com")); n != 0 {
		t.Errorf("alice has %d messages", n)
	}
}

// TestHeadCaptureStopsAtHeaderEnd: Options.Delivered gets the header
// section with its empty line, whatever sizes the reads come in, and the
// whole input when there is no empty line within the limit.
func TestHeadCaptureStopsAtHeaderEnd(t *testing.T) {
	cases := []struct{ in, want string }{
		{"Subject: a\r\nFrom: b\r\n\r\nbody\r\n\r\nmore\r\n", "Subject: a\r\nFrom: b\r\n\r\n"},
		{"Subject: a\nFrom: b\n\nbody\n", "Subject: a\nFrom: b\n\n"},
		{"Subject: a\r\n folded\r\n\r\n", "Subject: a\r\n folded\r\n\r\n"},
		{"Subject: no body\r\n", "Subject: no body\r\n"},
		{"Subject: x\r\n\r", "Subject: x\r\n\r"},
	}
	for _, c := range cases {
		for chunk := 1; chunk <= len(c.in); chunk++ {
			h := &headCapture{r: iotest.OneByteReader(strings.NewReader(c.in)), max: maxHeadCapture}
			if chunk > 1 {
				h.r = &chunkReader{s: c.in, n: chunk}
			}
			got, err := io.ReadAll(h)
			if err != nil || string(got) != c.in {
				t.Fatalf("%q: read %q, %v", c.in, got, err)
			}
			if string(h.buf) != c.want {
				t.Errorf("%q in reads of %d: captured %q, want %q", c.in, chunk, h.buf, c.want)
			}
		}
	}
	long := "Subject: " + strings.Repeat("x", 100) + "\r\n\r\n"
	h := &headCapture{r: strings.NewReader(long), max: 50}
	io.ReadAll(h)
	if string(h.buf) != long[:50] {
		t.Errorf("limit 50: captured %q", h.buf)
	}
}

// chunkReader returns s in reads of n bytes.
type chunkReader struct {
	s string
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if c.s == "" {
		return 0, io.EOF
	}
	k := copy(p[:min(len(p), c.n)], c.s)
	c.s = c.s[k:]
	return k, nil
}
