package store

import (
	"context"
	"errors"
	"io"
	"strconv"
	"time"
)

// BatchAppender is an optional Store capability: several messages into one
// mailbox, all or none. IMAP MULTIAPPEND (RFC 3502 §3) needs it: "If the
// server is unable to append all of the messages, then no messages are
// appended", and no other session may ever see a part of the batch.
// Front ends check for it once (a type assertion on the Store).
type BatchAppender interface {
	// AppendBatch reads every body in order (each is normalised to CRLF
	// unless it is Verbatim, and each is held to the driver's size limit),
	// then stores all messages in mailbox with consecutive UIDs in one
	// transaction. On any error nothing is stored and nothing is
	// published; a failing body's error is a *BatchError naming it.
	AppendBatch(ctx context.Context, account, mailbox string, msgs []BatchMessage) (BatchResult, error)
}

// BatchMessage is one message of an AppendBatch.
type BatchMessage struct {
	Body  io.Reader // read once; may implement Verbatim
	Flags []string
	// InternalDate; zero means the time of the append.
	InternalDate time.Time
}

// BatchResult reports an AppendBatch that committed: the UIDs the
// messages got, in the order given (RFC 4315 §3 APPENDUID's uid-set).
type BatchResult struct {
	UIDValidity uint32
	UIDs        []UID
}

// BatchError is the error of one message of a batch (its body could not
// be read or stored, or is too large): Index is its position, from 0.
type BatchError struct {
	Index int
	Err   error
}

func (e *BatchError) Error() string {
	return "message " + strconv.Itoa(e.Index+1) + " of batch: " + e.Err.Error()
}
func (e *BatchError) Unwrap() error { return e.Err }

// ErrEmptyBatch is AppendBatch's answer to a batch without messages.
var ErrEmptyBatch = errors.New("store: empty append batch")
