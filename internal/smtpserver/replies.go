package smtpserver

import (
	"errors"

	"github.com/emersion/go-smtp"

	"github.com/letterbox/letterbox/internal/store"
)

// Replies this package sends, with their RFC 3463 enhanced status codes.
var (
	errAuthRequired = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0},
		Message: "Authentication required"} // RFC 4954 §6
	errNestedMail = &smtp.SMTPError{Code: 503, EnhancedCode: smtp.EnhancedCode{5, 5, 1},
		Message: "Nested MAIL command"} // RFC 5321 §4.1.4
	errBadSender = &smtp.SMTPError{Code: 501, EnhancedCode: smtp.EnhancedCode{5, 1, 7},
		Message: "Bad sender address syntax"}
	errBadRecipient = &smtp.SMTPError{Code: 501, EnhancedCode: smtp.EnhancedCode{5, 1, 3},
		Message: "Bad recipient address syntax"}
	errNoSuchUser = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1},
		Message: "No such user here"}
	errRelayDenied = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1},
		Message: "Relay access denied"}
	errRemoteNotConfigured = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1},
		Message: "Remote delivery is not configured on this server"}
	// errMailboxFull is temporary (RFC 3463 X.2.2 "mailbox full" may be
	// either): the sender retries, and the mail arrives once the user made
	// room. Dovecot's LMTP says the same with quota_full_tempfail = yes
	// (its default, 552 5.2.2, bounces at once); the text is Dovecot's.
	errMailboxFull = &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 2, 2},
		Message: "Quota exceeded (mailbox for user is full)"}
	errTooLarge = &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4},
		Message: "Message too large"}
	errLineTooLong = &smtp.SMTPError{Code: 500, EnhancedCode: smtp.EnhancedCode{5, 5, 2},
		Message: "Line too long"}
	errAborted = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0},
		Message: "Message transfer aborted"}
	errTempFailure = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0},
		Message: "Temporary local error, please try again later"}
	errAuthThrottled = &smtp.SMTPError{Code: 454, EnhancedCode: smtp.EnhancedCode{4, 7, 0},
		Message: "Too many failed logins, try again later"}
	errAuthTemp = &smtp.SMTPError{Code: 454, EnhancedCode: smtp.EnhancedCode{4, 7, 0},
		Message: "Temporary authentication failure"}
	errAuthMalformed = &smtp.SMTPError{Code: 501, EnhancedCode: smtp.EnhancedCode{5, 5, 2},
		Message: "Malformed authentication response"}
	errAuthzid = &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8},
		Message: "Authorization identity not permitted"}
)

// stored is the success reply for a durable message. go-smtp turns a nil
// error into "250 2.0.0 OK: queued"; we return this *SMTPError instead (go-smtp
// sends any SMTPError's code as is) to tell the client the id that our
// Received header and logs carry, and that the message is stored, not queued.
func stored(id string) *smtp.SMTPError {
	return &smtp.SMTPError{Code: 250, EnhancedCode: smtp.EnhancedCode{2, 0, 0},
		Message: "Ok: stored as " + id}
}

// senderMismatch is RFC 6409 §6.1's "sender not allowed" for a submission
// that names someone else's address in MAIL FROM.
func senderMismatch() *smtp.SMTPError {
	return &smtp.SMTPError{Code: 553, EnhancedCode: smtp.EnhancedCode{5, 7, 1},
		Message: "Sender address does not belong to the authenticated user"}
}

// deliveryReply maps a store error for one target to the reply a client
// gets for that recipient.
func deliveryReply(err error) *smtp.SMTPError {
	var se *smtp.SMTPError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &se):
		return se
	case errors.Is(err, store.ErrNoSuchAccount):
		return errNoSuchUser
	case errors.Is(err, store.ErrOverQuota):
		return errMailboxFull
	case errors.Is(err, store.ErrTooLarge):
		return errTooLarge
	default: // store.ErrClosed, I/O errors, cancelled contexts
		return errTempFailure
	}
}

// readReply maps an error from reading the client's message data.
func readReply(err error) *smtp.SMTPError {
	var se *smtp.SMTPError
	switch {
	case errors.As(err, &se):
		return se // go-smtp's ErrDataTooLarge (552 5.3.4)
	case errors.Is(err, smtp.ErrTooLongLine):
		return errLineTooLong
	default: // ErrDataReset, io.ErrUnexpectedEOF, timeouts
		return errAborted
	}
}
