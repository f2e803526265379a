package imapserver

import (
	"context"
	"errors"

	"github.com/letterbox/letterbox/internal/auth"
	"github.com/letterbox/letterbox/internal/store"
)

// protoError is an answer for the client: a tagged NO or BAD with an
// optional response code (RFC 5530 codes where one fits).
type protoError struct {
	status string // "NO" or "BAD"
	code   string // response code without brackets, e.g. "TRYCREATE"
	text   string
}

func (e *protoError) Error() string { return e.status + " " + e.code + " " + e.text }

func errNo(code, text string) error { return &protoError{status: "NO", code: code, text: text} }
func errBad(text string) error      { return &protoError{status: "BAD", text: text} }

// storeError maps a store or auth error to the client's answer; nil when err
// has no protocol meaning (it is then logged and answered generically).
// tryCreate marks the destination of COPY/MOVE/APPEND (RFC 3501 §6.3.11).
func storeError(err error, tryCreate bool) *protoError {
	var pe *protoError
	switch {
	case errors.As(err, &pe):
		return pe
	case errors.Is(err, store.ErrNoSuchMailbox):
		if tryCreate {
			return &protoError{"NO", "TRYCREATE", "No such mailbox"}
		}
		return &protoError{"NO", "NONEXISTENT", "No such mailbox"}
	case errors.Is(err, store.ErrMailboxExists):
		return &protoError{"NO", "ALREADYEXISTS", "Mailbox already exists"}
	case errors.Is(err, store.ErrInvalidName):
		return &protoError{"NO", "CANNOT", "Invalid mailbox name"}
	case errors.Is(err, store.ErrMailboxHasChildren):
		return &protoError{"NO", "INUSE", "Mailbox has inferior hierarchical names"}
	case errors.Is(err, store.ErrCannotDeleteInbox):
		return &protoError{"NO", "CANNOT", "INBOX cannot be deleted"}
	case errors.Is(err, store.ErrTooLarge):
		return &protoError{"NO", "TOOBIG", "Message too large"}
	case errors.Is(err, store.ErrOverQuota):
		// Dovecot's text (RFC 9208 §4.3.3 OVERQUOTA).
		return &protoError{"NO", "OVERQUOTA", "Quota exceeded (mailbox for user is full)"}
	case errors.Is(err, auth.ErrThrottled):
		return &protoError{"NO", "UNAVAILABLE", "Too many failed logins, try again later"}
	case errors.Is(err, auth.ErrInvalidCredentials):
		return &protoError{"NO", "AUTHENTICATIONFAILED", "Invalid credentials"}
	case errors.Is(err, store.ErrClosed), errors.Is(err, context.Canceled):
		return &protoError{"NO", "UNAVAILABLE", "Server shutting down"}
	}
	return nil
}
