package store

import (
	"context"
	"errors"
	"io"
	"time"
)

// The outbound queue: mail accepted for recipients on other servers
// (submission, later JMAP EmailSubmission) waits here until a remote MTA
// took it (RFC 5321 §4.5.4: retry strategy) or delivery failed for good.
//
// A queued message is a body stored exactly like a delivered one (a
// content-addressed blob, durable before Enqueue returns) plus its envelope
// and one row per recipient. The blob stays while the message is queued:
// the drivers' blob collection skips every blob a queued message names.
// Drivers implement Queue on their Store; callers find it with a type
// assertion, once.

// ErrNoSuchQueued: no queued message has that ID.
var ErrNoSuchQueued = errors.New("store: no such queued message")

// OutboundState is where one recipient of a queued message stands.
type OutboundState int

const (
	// OutboundPending: not delivered yet; tried again at NextAttempt.
	OutboundPending OutboundState = iota
	// OutboundDelivered: a remote MTA answered 250 to the message data.
	OutboundDelivered
	// OutboundFailed: failed for good (5xx, or retried until expiry);
	// the sender has been (or is being) told with a DSN.
	OutboundFailed
)

// String names the state for the operator's queue listing.
func (s OutboundState) String() string {
	switch s {
	case OutboundPending:
		return "pending"
	case OutboundDelivered:
		return "delivered"
	case OutboundFailed:
		return "failed"
	}
	return "unknown"
}

// OutboundRecipient is one recipient of a queued message.
type OutboundRecipient struct {
	Address     string // as given to RCPT TO
	State       OutboundState
	Attempts    int       // delivery attempts made so far
	NextAttempt time.Time // when a pending recipient is due
	LastAttempt time.Time // zero before the first attempt
	// LastError is the last remote reply or connection error, for the
	// operator and for the DSN's Diagnostic-Code.
	LastError string
	// RemoteMTA is the host that answered last (name or address).
	RemoteMTA string
	// TLS reports whether the last attempt's connection used TLS.
	TLS bool
	// Notify is the RCPT NOTIFY parameter (RFC 3461 §4.1): "" when none
	// was given, "NEVER", or a comma list of SUCCESS, FAILURE and DELAY.
	Notify string
	// ORcpt is the ORCPT parameter (RFC 3461 §4.2), decoded:
	// "rfc822;bob@example.com"; "" when none was given.
	ORcpt string
}

// OutboundMessage is one queued message.
type OutboundMessage struct {
	ID      int64
	Account string // the sending account: a DSN goes to its INBOX
	From    string // reverse-path (MAIL FROM); "" is the null sender
	BlobID  string // the body; open with Store.OpenBlob
	Size    int64
	Queued  time.Time
	// DelayNotified is set once the sender was told delivery is delayed
	// (RFC 3464 action "delayed"), so it is told once.
	DelayNotified bool
	// Ret and EnvID are the MAIL FROM DSN parameters (RFC 3461 §4.3,
	// §4.4): Ret "FULL", "HDRS" or "" (none given); EnvID decoded, "" when
	// none was given.
	Ret, EnvID string
	Recipients []OutboundRecipient
}

// Envelope is what EnqueueEnvelope stores besides the body: the sending
// account, the reverse-path, the recipients and the DSN parameters
// (RFC 3461) given with them.
type Envelope struct {
	Account    string
	From       string
	Ret, EnvID string
	Rcpts      []EnvelopeRcpt
}

// EnvelopeRcpt is one recipient of an Envelope.
type EnvelopeRcpt struct {
	Address string
	Notify  string // as OutboundRecipient.Notify
	ORcpt   string // as OutboundRecipient.ORcpt
}

// Pending reports whether some recipient is still pending.
func (m OutboundMessage) Pending() bool {
	for _, r := range m.Recipients {
		if r.State == OutboundPending {
			return true
		}
	}
	return false
}

// RecipientUpdate is the outcome of one attempt for one recipient.
type RecipientUpdate struct {
	Address     string
	State       OutboundState
	NextAttempt time.Time // for a recipient left pending
	LastError   string
	RemoteMTA   string
	TLS         bool
	// Attempted counts this as a delivery attempt (false for a recipient
	// that was only put back, untried).
	Attempted bool
	At        time.Time // when the attempt was made
}

// EnvelopeOf is the Envelope of Enqueue's arguments: no DSN parameters.
func EnvelopeOf(account, from string, rcpts []string) Envelope {
	env := Envelope{Account: account, From: from}
	for _, r := range rcpts {
		env.Rcpts = append(env.Rcpts, EnvelopeRcpt{Address: r})
	}
	return env
}

// Queue is the optional store capability that keeps outbound mail.
type Queue interface {
	// Enqueue stores body (normalised to CRLF, as Deliver does) for the
	// recipients, due at once. It returns after the body and the rows are
	// durable, like Deliver. account must exist.
	Enqueue(ctx context.Context, body io.Reader, account, from string, rcpts []string) (OutboundMessage, error)
	// EnqueueEnvelope is Enqueue with DSN parameters (RFC 3461), which are
	// kept with the message and returned by the reads.
	EnqueueEnvelope(ctx context.Context, body io.Reader, env Envelope) (OutboundMessage, error)
	// QueuedMessages lists every queued message, by ascending ID.
	QueuedMessages(ctx context.Context) ([]OutboundMessage, error)
	// QueuedMessage returns one message, or ErrNoSuchQueued.
	QueuedMessage(ctx context.Context, id int64) (OutboundMessage, error)
	// ClaimDue returns up to limit messages with a pending recipient due at
	// or before now, oldest due first, and moves those recipients'
	// NextAttempt to now+lease in the same transaction: two workers (two
	// nodes on one PostgreSQL database) never claim the same message at
	// once, and a worker that died mid-delivery leaves the message due
	// again when the lease runs out.
	ClaimDue(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]OutboundMessage, error)
	// NextDue is the earliest NextAttempt of any pending recipient; ok is
	// false when nothing is pending.
	NextDue(ctx context.Context) (at time.Time, ok bool, err error)
	// UpdateQueued records attempt outcomes, and whether the sender has
	// been told of a delay. A message left without a pending recipient is
	// removed (its blob with it when nothing else names it).
	UpdateQueued(ctx context.Context, id int64, updates []RecipientUpdate, delayNotified bool) error
	// RetryQueued makes every pending recipient of the message due at at.
	RetryQueued(ctx context.Context, id int64, at time.Time) error
	// DropQueued removes the message without delivering it further.
	DropQueued(ctx context.Context, id int64) error
}
