package imap

import (
	"bufio"
	"errors"
	"fmt"
	"os"
)

// Defaults for ReaderOptions' zero values.
const (
	DefaultMaxLineLength  = 64 * 1024   // octets of one line, literals excluded
	DefaultLiteralLimit   = 64 * 1024   // octets of one literal outside APPEND
	DefaultMaxCommandSize = 1024 * 1024 // octets of one command held in memory
	DefaultSpoolThreshold = 1024 * 1024 // APPEND literals above this go to a temp file
	// MaxDiscard bounds how many octets of an over-size non-synchronizing
	// literal the reader reads and throws away to stay in sync; above it the
	// error is Fatal (RFC 7888 §4 lets the server close the connection).
	MaxDiscard = 64 * 1024 * 1024
	// literalMinusMax is the largest non-synchronizing literal LITERAL-
	// allows (RFC 7888 §5).
	literalMinusMax = 4096
)

// ReaderOptions configure a Reader. The zero value is usable.
type ReaderOptions struct {
	// MaxLineLength bounds one line of a command (literals excluded).
	// A longer line is answered with a ParseError once the line is skipped.
	MaxLineLength int
	// LiteralLimit returns the largest literal accepted in command cmd
	// (upper-case name, e.g. "APPEND"). nil: DefaultLiteralLimit for all.
	// The server makes APPEND's limit its maximum message size.
	LiteralLimit func(cmd string) int64
	// MaxCommandSize bounds the octets of one command kept in memory (lines
	// plus literals that become strings); APPEND message literals do not
	// count, they are spooled.
	MaxCommandSize int64
	// Continue is called when a synchronizing literal has been accepted
	// (size within the limit), before the reader waits for its octets. The
	// server writes "+ Ready" and flushes (RFC 3501 §7.5). nil: nothing is
	// sent (useful only in tests).
	Continue func() error
	// LiteralMinus makes the reader enforce LITERAL- (RFC 7888 §5):
	// non-synchronizing literals above 4096 octets are refused. Without it
	// LITERAL+ applies and non-synchronizing literals are limited only by
	// LiteralLimit.
	LiteralMinus bool
	// UTF8 starts the reader in UTF-8 mailbox name mode (see SetUTF8).
	UTF8 bool
	// SpoolThreshold: APPEND literals larger than this are written to a
	// temporary file in SpoolDir instead of memory.
	SpoolThreshold int64
	// MultiAppend accepts several messages in one APPEND (RFC 3502). Added
	// for the MULTIAPPEND issue; off by default.
	MultiAppend bool
	// SpoolDir is the directory for spooled literals ("" = os.TempDir()).
	SpoolDir string
}

// Reader parses client commands from a buffered stream. It is not safe for
// concurrent use.
type Reader struct {
	br   *bufio.Reader
	opts ReaderOptions
	utf8 bool

	line     []byte          // the current line, CRLF stripped
	pos      int             // parse position in line
	tooLong  bool            // the current line exceeded MaxLineLength
	trail    trailingLiteral // literal marker ending the current line
	cmdBytes int64           // octets of the current command held in memory
	// memLiterals: octets of the current command's APPEND literals kept in
	// memory; past 4 × SpoolThreshold the next ones are spooled (MULTIAPPEND,
	// CATENATE: many small literals stay bounded too).
	memLiterals int64
	cmdName     string     // current command name, for LiteralLimit
	tag         string     // current command tag, once read
	spooled     []*Literal // spooled literals of the current command
}

// NewReader returns a Reader on br.
func NewReader(br *bufio.Reader, opts ReaderOptions) *Reader {
	if opts.MaxLineLength <= 0 {
		opts.MaxLineLength = DefaultMaxLineLength
	}
	if opts.MaxCommandSize <= 0 {
		opts.MaxCommandSize = DefaultMaxCommandSize
	}
	if opts.SpoolThreshold <= 0 {
		opts.SpoolThreshold = DefaultSpoolThreshold
	}
	if opts.SpoolDir == "" {
		opts.SpoolDir = os.TempDir()
	}
	return &Reader{br: br, opts: opts, utf8: opts.UTF8}
}

// SetInput makes the Reader read from br from now on; nil detaches it
// (the server gives its buffer back to a pool while a connection waits for
// its next command, then attaches another). Octets still buffered in the
// old reader are not carried over.
func (r *Reader) SetInput(br *bufio.Reader) { r.br = br }

// lineKeep is the largest line buffer kept between commands.
const lineKeep = 4 << 10

// Shrink drops the line buffer when a long command line grew it beyond
// 4 KiB, so an idle connection does not keep it. Call it between
// commands.
func (r *Reader) Shrink() {
	if cap(r.line) > lineKeep {
		r.line = nil
	}
}

// SetUTF8 switches mailbox name decoding: false (the default) decodes
// modified UTF-7 (RFC 3501 §5.1.3); true takes names as UTF-8, as after
// ENABLE UTF8=ACCEPT (RFC 6855 §3) or ENABLE IMAP4rev2 (RFC 9051 §5.1).
func (r *Reader) SetUTF8(on bool) { r.utf8 = on }

// ParseError reports a command the reader could not parse. The reader has
// consumed the rest of the command unless Fatal is set.
type ParseError struct {
	Tag  string // the command's tag; "" when it could not be read (answer "* BAD")
	Code string // response code for the answer, e.g. "TOOBIG"; "" for none
	// NO is set when the answer should be "TAG NO [Code]" rather than BAD
	// (a refused synchronizing literal, RFC 7888 §4 / RFC 4469 TOOBIG).
	NO bool
	// Fatal means the stream cannot be resynchronised: answer, then BYE
	// and close.
	Fatal bool
	Msg   string
}

func (e *ParseError) Error() string {
	if e.Tag == "" {
		return "imap: " + e.Msg
	}
	return fmt.Sprintf("imap: %s: %s", e.Tag, e.Msg)
}

// ErrSASLCancelled is returned by ReadSASLResponse when the client sent "*"
// (RFC 3501 §6.2.2).
var ErrSASLCancelled = errors.New("imap: authentication cancelled by client")
