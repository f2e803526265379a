package pop3client

import (
	"errors"
	"strings"
)

// Error is a -ERR reply. Code is the RFC 2449 §8 response code without the
// brackets ("IN-USE", "AUTH", "SYS/TEMP"), or "" when the reply had none.
type Error struct {
	Code string
	Text string
}

func (e *Error) Error() string {
	if e.Code != "" {
		return "pop3: -ERR [" + e.Code + "] " + e.Text
	}
	return "pop3: -ERR " + e.Text
}

// ErrProtocol reports a reply that is neither +OK nor -ERR, or a malformed
// multi-line or STAT/LIST/UIDL reply.
var ErrProtocol = errors.New("pop3: protocol error")

// parseErr builds an *Error from the text after "-ERR".
func parseErr(text string) *Error {
	text = strings.TrimPrefix(text, " ")
	if strings.HasPrefix(text, "[") {
		if end := strings.IndexByte(text, ']'); end > 0 {
			return &Error{Code: text[1:end], Text: strings.TrimPrefix(text[end+1:], " ")}
		}
	}
	return &Error{Text: text}
}

// Code returns the response code of err if it is an *Error, else "".
func Code(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
