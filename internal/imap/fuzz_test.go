package imap

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// FuzzReadCommand feeds arbitrary octets to the command reader. Properties:
// no panic; progress (every ReadCommand consumes at least one line, so the
// loop ends); parsed commands are well formed; memory bounded by the limits
// (lines, literals and commands are capped; big literals are refused, not
// buffered).
func FuzzReadCommand(f *testing.F) {
	for _, s := range []string{
		"a1 LOGIN bob secret\r\n",
		"a UID FETCH 1:* (FLAGS BODY.PEEK[1.2.HEADER.FIELDS (From)]<0.10>) (CHANGEDSINCE 5 VANISHED)\r\n",
		"a SEARCH RETURN (MIN) CHARSET UTF-8 OR (FROM x) NOT SEEN 1:3 UID $\r\n",
		"a APPEND INBOX (\\Seen) \" 7-Feb-1994 21:52:25 -0800\" {5+}\r\nhello\r\n",
		"a SELECT INBOX (QRESYNC (1 2 3:4 (1 5)))\r\n",
		"a LIST (SUBSCRIBED) \"\" (% \"x\") RETURN (STATUS (MESSAGES))\r\n",
		"a LOGIN {3}\r\nbob {2+}\r\npw\r\n",
		"a NOTIFY SET STATUS (selected (MessageNew (UID BODY.PEEK[HEADER.FIELDS (From)]) MessageExpunge)) (subtree (Lists {4+}\r\nWork) (MessageNew MessageExpunge FlagChange)) (personal NONE)\r\n",
		"a GETMETADATA (MAXSIZE 10 DEPTH infinity) \"\" (/shared/comment \"/private/a b\")\r\n",
		"a SETMETADATA INBOX (/private/a ~{3+}\r\na\x00b /shared/b NIL /private/c {2}\r\nxy)\r\n",
		"a APPEND INBOX {1+}\r\nx (\\Seen) {2+}\r\nyz CATENATE (TEXT {1+}\r\nx URL \"/INBOX/;UID=1/;SECTION=1.MIME\")\r\n",
		"a GENURLAUTH \"imap://a@h/INBOX/;UID=1;URLAUTH=authuser\" INTERNAL\r\n",
		"a URLFETCH \"imap://a@h/INBOX/;UID=1;URLAUTH=anonymous:internal:00\" x\r\nb RESETKEY INBOX INTERNAL\r\n",
		"a UID SORT RETURN (MIN PARTIAL 1:9 UPDATE) (REVERSE DATE SUBJECT) UTF-8 ALL\r\n",
		"a THREAD REFERENCES \"US-ASCII\" (SUBJECT x) CANCELUPDATE\r\nb CANCELUPDATE \"a\"\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		conts := 0
		r := NewReader(bufio.NewReader(bytes.NewReader(data)), ReaderOptions{
			MaxLineLength:  256,
			MaxCommandSize: 4096,
			LiteralLimit:   func(string) int64 { return 1024 },
			SpoolThreshold: 1 << 20,
			MultiAppend:    true,
			Continue:       func() error { conts++; return nil },
		})
		lines := bytes.Count(data, []byte("\n")) + 1
		for i := 0; ; i++ {
			if i > lines {
				t.Fatalf("%d commands from %d lines: no progress", i, lines)
			}
			cmd, err := r.ReadCommand()
			if err != nil {
				var pe *ParseError
				if errors.As(err, &pe) && strings.HasPrefix(pe.Msg, internalErrorPrefix) {
					t.Fatalf("parser panicked: %s", pe.Msg)
				}
				if pe != nil && !pe.Fatal {
					continue
				}
				if pe == nil && err != io.EOF && err != io.ErrUnexpectedEOF {
					t.Fatalf("unexpected error type %T: %v", err, err)
				}
				break
			}
			if cmd.Tag == "" || cmd.Name == "" {
				t.Fatalf("malformed command %+v", cmd)
			}
			if a, ok := cmd.Args.(*AppendArgs); ok {
				for _, m := range a.Messages {
					if (m.Literal == nil) == (m.Catenate == nil) {
						t.Fatalf("APPEND message with neither or both of literal and CATENATE: %+v", m)
					}
					if m.Literal != nil && m.Literal.Size > 1024 {
						t.Fatalf("literal over the limit accepted: %d", m.Literal.Size)
					}
					for _, p := range m.Catenate {
						if (p.Text == nil) == (p.URL == "") {
							t.Fatalf("CATENATE part with neither or both of TEXT and URL: %+v", p)
						}
						if p.Text != nil && p.Text.Size > 1024 {
							t.Fatalf("TEXT literal over the limit accepted: %d", p.Text.Size)
						}
					}
				}
			}
			_ = cmd.Close()
		}
		if conts > bytes.Count(data, []byte("{")) {
			t.Fatalf("%d continuations for fewer literals", conts)
		}
	})
}
