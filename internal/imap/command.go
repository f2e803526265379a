package imap

// ReadCommand reads and parses the next command. Errors: io.EOF when the
// stream ended between commands; *ParseError for a bad command (see
// ParseError); other errors are I/O errors.
func (r *Reader) ReadCommand() (*Command, error) {
	return nil, &ParseError{Fatal: true, Msg: "parser not ready"}
}

// ReadIdleDone reads the line ending IDLE (RFC 2177 §3). It returns nil for
// "DONE" (any case), ErrNotDone for another line (the line is consumed), or
// the I/O error.
func (r *Reader) ReadIdleDone() error {
	return ErrNotDone
}

// ReadSASLResponse reads one client response line during AUTHENTICATE and
// decodes its base64 (RFC 3501 §6.2.2). "*" yields ErrSASLCancelled; bad
// base64 yields a *ParseError.
func (r *Reader) ReadSASLResponse() ([]byte, error) {
	return nil, ErrSASLCancelled
}
