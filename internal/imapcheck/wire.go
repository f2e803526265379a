package imapcheck

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// This file is the checker's own raw IMAP reader: it returns every
// response line exactly as sent (literals included) so that no untagged
// response can be hidden by a client library.

// vkind is the kind of one parsed token.
type vkind int

const (
	vAtom   vkind = iota // atom or number (also flags like \Seen, and BODY[...]<n>)
	vString              // quoted string or literal
	vList                // parenthesised list
	vNil                 // NIL
)

// value is one token of a server response.
type value struct {
	kind vkind
	s    string // atom text or string content
	lit  bool   // the string came as a literal
	list []value
}

func (v value) String() string {
	switch v.kind {
	case vNil:
		return "NIL"
	case vString:
		if v.lit {
			return fmt.Sprintf("{%d}%s", len(v.s), short(v.s))
		}
		return strconv.Quote(v.s)
	case vList:
		parts := make([]string, len(v.list))
		for i, x := range v.list {
			parts[i] = x.String()
		}
		return "(" + strings.Join(parts, " ") + ")"
	}
	return v.s
}

// response is one complete server response (with its literals).
type response struct {
	show string // the response for transcripts, literals summarised

	tag string // "*", "+" or a command tag
	// Status responses (OK, NO, BAD, BYE, PREAUTH), tagged or untagged.
	status string
	code   string // text inside [...], "" when none
	text   string
	// Untagged data: "* n NAME rest" (num set, hasNum) or "* NAME rest".
	hasNum bool
	num    uint32
	name   string
	args   []value
}

var literalAtEnd = regexp.MustCompile(`~?\{(\d+)\+?\}\r\n$`)

// maxLiteral bounds a literal the checker accepts from the server.
const maxLiteral = 64 << 20

// readResponse reads one response, following literals.
func readResponse(br *bufio.Reader) (*response, error) {
	var full []byte
	var show strings.Builder
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			if line != "" {
				return nil, fmt.Errorf("%w (partial line %q)", err, line)
			}
			return nil, err
		}
		if !strings.HasSuffix(line, "\r\n") {
			return nil, fmt.Errorf("line without CRLF: %q", line)
		}
		full = append(full, line...)
		m := literalAtEnd.FindStringSubmatch(line)
		if m == nil {
			show.WriteString(strings.TrimSuffix(line, "\r\n"))
			break
		}
		n, err := strconv.Atoi(m[1])
		if err != nil || n > maxLiteral {
			return nil, fmt.Errorf("bad literal size in %q", line)
		}
		buf := make([]byte, n)
		if _, err := io.ReadFull(br, buf); err != nil {
			return nil, fmt.Errorf("reading literal of %d octets: %w", n, err)
		}
		full = append(full, buf...)
		show.WriteString(strings.TrimSuffix(line, "\r\n"))
		show.WriteString(short(string(buf)))
	}
	r, err := parseResponse(full)
	if err != nil {
		return nil, fmt.Errorf("%v in %q", err, show.String())
	}
	r.show = show.String()
	return r, nil
}

// short summarises literal content for transcripts.
func short(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "<" + strconv.Itoa(len(s)) + " octets sha256:" + hex.EncodeToString(sum[:4]) + ">"
}

func hashOf(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// parseResponse parses one response (b ends with CRLF).
func parseResponse(b []byte) (*response, error) {
	b = b[:len(b)-2]
	r := &response{}
	sp := indexByte(b, ' ')
	if sp < 0 {
		if string(b) == "+" {
			r.tag = "+"
			return r, nil
		}
		return nil, errors.New("no space after tag")
	}
	r.tag = string(b[:sp])
	rest := b[sp+1:]
	if r.tag == "+" {
		r.text = string(rest)
		return r, nil
	}
	word, after, _ := cutByte(rest, ' ')
	switch w := strings.ToUpper(string(word)); w {
	case "OK", "NO", "BAD", "BYE", "PREAUTH":
		r.status = w
		if len(after) > 0 && after[0] == '[' {
			end := indexByte(after, ']')
			if end < 0 {
				return nil, errors.New("response code without ]")
			}
			r.code = string(after[1:end])
			after = after[end+1:]
			if len(after) > 0 && after[0] == ' ' {
				after = after[1:]
			}
		}
		r.text = string(after)
		return r, nil
	}
	if r.tag != "*" {
		return nil, fmt.Errorf("tagged response %q is not a status", word)
	}
	if n, err := strconv.ParseUint(string(word), 10, 32); err == nil {
		r.hasNum, r.num = true, uint32(n)
		word, after, _ = cutByte(after, ' ')
	}
	r.name = strings.ToUpper(string(word))
	lx := &lexer{b: after}
	for {
		lx.skipSpaces()
		if lx.i >= len(lx.b) {
			break
		}
		v, err := lx.value()
		if err != nil {
			return nil, err
		}
		r.args = append(r.args, v)
	}
	return r, nil
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

func cutByte(b []byte, c byte) (before, after []byte, found bool) {
	if i := indexByte(b, c); i >= 0 {
		return b[:i], b[i+1:], true
	}
	return b, nil, false
}

type lexer struct {
	b []byte
	i int
}

func (l *lexer) skipSpaces() {
	for l.i < len(l.b) && l.b[l.i] == ' ' {
		l.i++
	}
}

func (l *lexer) value() (value, error) {
	if l.i >= len(l.b) {
		return value{}, errors.New("unexpected end")
	}
	switch c := l.b[l.i]; {
	case c == '(':
		l.i++
		var list []value
		for {
			l.skipSpaces()
			if l.i >= len(l.b) {
				return value{}, errors.New("unterminated list")
			}
			if l.b[l.i] == ')' {
				l.i++
				return value{kind: vList, list: list}, nil
			}
			v, err := l.value()
			if err != nil {
				return value{}, err
			}
			list = append(list, v)
		}
	case c == '"':
		l.i++
		var sb strings.Builder
		for {
			if l.i >= len(l.b) {
				return value{}, errors.New("unterminated quoted string")
			}
			c := l.b[l.i]
			l.i++
			if c == '"' {
				return value{kind: vString, s: sb.String()}, nil
			}
			if c == '\\' && l.i < len(l.b) {
				c = l.b[l.i]
				l.i++
			}
			sb.WriteByte(c)
		}
	case c == '{' || (c == '~' && l.i+1 < len(l.b) && l.b[l.i+1] == '{'):
		if c == '~' {
			l.i++
		}
		end := l.i
		for end < len(l.b) && l.b[end] != '}' {
			end++
		}
		if end >= len(l.b) {
			return value{}, errors.New("bad literal")
		}
		n, err := strconv.Atoi(strings.TrimSuffix(string(l.b[l.i+1:end]), "+"))
		if err != nil {
			return value{}, errors.New("bad literal size")
		}
		start := end + 3 // "}\r\n"
		if start+n > len(l.b) {
			return value{}, errors.New("literal runs past the response")
		}
		l.i = start + n
		return value{kind: vString, s: string(l.b[start : start+n]), lit: true}, nil
	case c == ')':
		return value{}, errors.New("unexpected )")
	}
	start := l.i
	for l.i < len(l.b) {
		c := l.b[l.i]
		if c == ' ' || c == '(' || c == ')' {
			break
		}
		if c == '[' {
			depth := 0
			for l.i < len(l.b) {
				if l.b[l.i] == '[' {
					depth++
				} else if l.b[l.i] == ']' {
					depth--
					if depth == 0 {
						break
					}
				}
				l.i++
			}
			if l.i >= len(l.b) {
				return value{}, errors.New("unterminated [")
			}
		}
		l.i++
	}
	s := string(l.b[start:l.i])
	if strings.EqualFold(s, "NIL") {
		return value{kind: vNil}, nil
	}
	return value{kind: vAtom, s: s}, nil
}

// parseSet expands a sequence set ("1:3,7,9:8") in the order written,
// ranges ascending as RFC 4315 §3 requires of COPYUID; "*" is refused.
func parseSet(s string) ([]uint32, error) {
	var out []uint32
	for _, part := range strings.Split(s, ",") {
		a, b, isRange := strings.Cut(part, ":")
		lo, err := strconv.ParseUint(a, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("bad set %q", s)
		}
		hi := lo
		if isRange {
			if hi, err = strconv.ParseUint(b, 10, 32); err != nil {
				return nil, fmt.Errorf("bad set %q", s)
			}
		}
		if lo > hi {
			lo, hi = hi, lo
		}
		if hi-lo > 1<<20 {
			return nil, fmt.Errorf("set %q too large", s)
		}
		for n := lo; n <= hi; n++ {
			out = append(out, uint32(n))
		}
	}
	return out, nil
}

// formatSet writes numbers as a compact sequence set, sorted.
func formatSet(nums []uint32) string {
	s := append([]uint32(nil), nums...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	var sb strings.Builder
	for i := 0; i < len(s); {
		j := i
		for j+1 < len(s) && s[j+1] <= s[j]+1 {
			j++
		}
		if sb.Len() > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(strconv.FormatUint(uint64(s[i]), 10))
		if s[j] != s[i] {
			sb.WriteByte(':')
			sb.WriteString(strconv.FormatUint(uint64(s[j]), 10))
		}
		i = j + 1
	}
	return sb.String()
}
