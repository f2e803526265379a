package imap

import (
	"encoding/base64"
	"fmt"
	"io"
	"strings"
)

// internalErrorPrefix starts the message of a ParseError made from a
// parser bug (a recovered panic).
const internalErrorPrefix = "internal parser error: "

// maxSearchDepth bounds the nesting of search keys and lists.
const maxSearchDepth = 64

// ReadCommand reads and parses the next command. Errors: io.EOF when the
// stream ended between commands; *ParseError for a bad command (see
// ParseError); other errors are I/O errors of the stream (close).
func (r *Reader) ReadCommand() (cmd *Command, err error) {
	r.cmdBytes, r.cmdName, r.tag, r.spooled, r.memLiterals = 0, "", "", nil, 0
	if err := r.readLine(); err != nil {
		return nil, err
	}
	defer func() {
		p := recover()
		if p == nil {
			return
		}
		pf, ok := p.(*parseFail)
		if !ok {
			// A bug in the parser: never take the connection down with a
			// panic, but the stream position is unknown, so it is fatal.
			pf = &parseFail{msg: fmt.Sprintf("%s%v", internalErrorPrefix, p), fatal: true}
		}
		for _, lit := range r.spooled {
			_ = lit.Close()
		}
		r.spooled = nil
		cmd = nil
		if pf.ioErr != nil {
			err = pf.ioErr
			return
		}
		pe := &ParseError{Tag: r.tag, Code: pf.code, NO: pf.no, Fatal: pf.fatal, Msg: pf.msg}
		if !pe.Fatal {
			if skipErr := r.skipCommand(); skipErr != nil {
				pe.Fatal = true
			}
		}
		err = pe
	}()
	return r.parseCommand(), nil
}

// parseCommand parses tag, name and arguments (RFC 3501 §9 command).
func (r *Reader) parseCommand() *Command {
	tag := r.run(func(c byte) bool { return c != '+' && isAStringChar(c) })
	if tag == "" {
		if r.eol() && !r.tooLong {
			r.fail("empty command line")
		}
		r.fail("missing command tag")
	}
	r.tag = tag
	if r.tooLong {
		r.fail("line too long")
	}
	if r.cmdBytes > r.opts.MaxCommandSize {
		r.fail("command too long")
	}
	r.sp()
	cmd := &Command{Tag: tag, Name: strings.ToUpper(r.atom("command name"))}
	if cmd.Name == "UID" {
		r.sp()
		cmd.UID = true
		cmd.Name = strings.ToUpper(r.atom("command name"))
		switch cmd.Name {
		case "COPY", "MOVE", "FETCH", "SEARCH", "STORE", "EXPUNGE", "SORT", "THREAD", "REPLACE":
		default:
			r.fail("UID %s is not a command", cmd.Name)
		}
	}
	r.cmdName = cmd.Name
	cmd.Args = r.parseArgs(cmd)
	r.end()
	r.spooled = nil
	return cmd
}

// parseArgs parses the arguments of the named command.
func (r *Reader) parseArgs(cmd *Command) Args {
	switch cmd.Name {
	case "CAPABILITY", "NOOP", "LOGOUT", "STARTTLS", "CHECK", "CLOSE",
		"UNSELECT", "NAMESPACE", "IDLE":
		return nil
	case "EXPUNGE":
		if !cmd.UID {
			return nil
		}
		r.sp()
		return &ExpungeArgs{UIDs: r.seqSet()}
	case "AUTHENTICATE":
		return r.parseAuthenticate()
	case "LOGIN":
		r.sp()
		a := &LoginArgs{Username: r.astring("user name")}
		r.sp()
		a.Password = r.astring("password")
		return a
	case "SELECT", "EXAMINE":
		return r.parseSelect()
	case "CREATE":
		return r.parseCreate()
	case "DELETE", "SUBSCRIBE", "UNSUBSCRIBE", "GETQUOTAROOT":
		r.sp()
		return &MailboxArgs{Mailbox: r.mailboxArg()}
	case "RENAME":
		r.sp()
		a := &RenameArgs{From: r.mailboxArg()}
		r.sp()
		a.To = r.mailboxArg()
		return a
	case "LIST":
		return r.parseList()
	case "LSUB":
		r.sp()
		a := &ListArgs{Reference: r.mailboxArg()}
		r.sp()
		a.Patterns = []string{r.listPatternArg()}
		return a
	case "STATUS":
		return r.parseStatus()
	case "APPEND":
		return r.parseAppend()
	case "REPLACE":
		return r.parseReplace(cmd.UID) // parse_mailbox.go
	case "SEARCH":
		return r.parseSearch()
	case "SORT":
		return r.parseSort()
	case "THREAD":
		return r.parseThread()
	case "CANCELUPDATE":
		return r.parseCancelUpdate()
	case "FETCH":
		return r.parseFetch(cmd.UID)
	case "STORE":
		return r.parseStore()
	case "COPY", "MOVE":
		r.sp()
		a := &CopyArgs{Seq: r.seqSet()}
		r.sp()
		a.Mailbox = r.mailboxArg()
		return a
	case "ENABLE":
		a := &EnableArgs{}
		for !r.eol() {
			r.sp()
			a.Capabilities = append(a.Capabilities, strings.ToUpper(r.atom("capability")))
		}
		if len(a.Capabilities) == 0 {
			r.fail("ENABLE needs at least one capability")
		}
		return a
	case "ID":
		return r.parseID()
	case "GETQUOTA":
		r.sp()
		return &QuotaRootArgs{Root: r.astring("quota root")}
	case "SETQUOTA":
		return r.parseSetQuota()
	case "NOTIFY":
		return r.parseNotify()
	case "GETMETADATA":
		return r.parseGetMetadata() // parse_metadata.go
	case "SETMETADATA":
		return r.parseSetMetadata()
	case "GENURLAUTH":
		return r.parseGenURLAuth()
	case "RESETKEY":
		return r.parseResetKey()
	case "URLFETCH":
		return r.parseURLFetch()
	case "SETACL", "DELETEACL", "GETACL", "LISTRIGHTS", "MYRIGHTS":
		return r.parseACL(cmd.Name) // parse_acl.go
	case "COMPRESS":
		r.sp()
		return &CompressArgs{Mechanism: strings.ToUpper(r.atom("compression mechanism"))}
	}
	r.fail("unknown command %s", cmd.Name)
	return nil
}

// parseAuthenticate: "AUTHENTICATE" SP auth-type [SP (base64 / "=")]
// (RFC 3501 §6.2.2, RFC 4959 §7).
func (r *Reader) parseAuthenticate() Args {
	r.sp()
	a := &AuthenticateArgs{Mechanism: strings.ToUpper(r.atom("mechanism"))}
	if r.eol() {
		return a
	}
	r.sp()
	ir := r.run(isBase64Char)
	if ir == "=" {
		a.InitialResponse = []byte{}
		return a
	}
	dec, ok := decodeBase64(ir)
	if !ok || ir == "" {
		r.fail("invalid base64 initial response")
	}
	a.InitialResponse = dec
	return a
}

func isBase64Char(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || isDigit(c) || c == '+' || c == '/' || c == '='
}

// decodeBase64 decodes padded base64, tolerating missing padding.
func decodeBase64(s string) ([]byte, bool) {
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return b, true
	}
	if b, err := base64.RawStdEncoding.DecodeString(s); err == nil {
		return b, true
	}
	return nil, false
}

// parseID: "ID" SP ("(" *(string SP nstring) ")" / nil) (RFC 2971 §4).
func (r *Reader) parseID() Args {
	r.sp()
	a := &IDArgs{}
	if r.keywordAhead("NIL") {
		r.pos += 3
		return a
	}
	r.expect('(', "( or NIL")
	a.Fields = []IDField{}
	for r.peek() != ')' {
		if len(a.Fields) > 0 {
			r.sp()
		}
		if len(a.Fields) >= 30 {
			r.fail("too many ID fields")
		}
		f := IDField{Key: r.str("ID field name")}
		r.sp()
		if r.keywordAhead("NIL") {
			r.pos += 3
		} else {
			v := r.str("ID field value")
			f.Value = &v
		}
		a.Fields = append(a.Fields, f)
	}
	r.pos++
	return a
}

// parseSetQuota: "SETQUOTA" SP quota-root SP "(" [resource SP number64
// *(SP resource SP number64)] ")" (RFC 9208 §4.4).
func (r *Reader) parseSetQuota() Args {
	r.sp()
	a := &SetQuotaArgs{Root: r.astring("quota root")}
	r.sp()
	r.expect('(', "(")
	for r.peek() != ')' {
		if len(a.Limits) > 0 {
			r.sp()
		}
		l := QuotaLimit{Resource: strings.ToUpper(r.atom("quota resource"))}
		r.sp()
		l.Limit = int64(r.number64("quota limit"))
		a.Limits = append(a.Limits, l)
	}
	r.pos++
	return a
}

// ReadSASLResponse reads one client response line during AUTHENTICATE and
// decodes its base64 (RFC 3501 §6.2.2). "*" yields ErrSASLCancelled; bad
// base64 or an over-long line yields a *ParseError (answer BAD, the
// exchange is over).
func (r *Reader) ReadSASLResponse() ([]byte, error) {
	if err := r.readLine(); err != nil {
		if err == io.EOF {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, err
	}
	if r.tooLong {
		return nil, &ParseError{Msg: "SASL response too long"}
	}
	s := string(r.line)
	if s == "*" {
		return nil, ErrSASLCancelled
	}
	if s == "" {
		return []byte{}, nil
	}
	b, ok := decodeBase64(s)
	if !ok {
		return nil, &ParseError{Msg: "invalid base64 in SASL response"}
	}
	return b, nil
}
