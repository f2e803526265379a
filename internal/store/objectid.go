package store

import (
	"context"
	"math/rand/v2"
	"strconv"
)

// Object identifiers (RFC 8474 OBJECTID). Every message row carries an
// email ID and a thread ID, every mailbox its MAILBOXID. The string forms
// are valid both as RFC 8474 objectids and as JMAP ids (RFC 8620 §1.2:
// 1–255 characters of A-Za-z0-9_-), so other front ends can use them
// verbatim:
//
//   - email IDs are "M" and 16 lower-case hex digits of a number, unique
//     on the server: random (NewObjectNumber; the postgres driver), or
//     the account's ID and a per-account count (the sqlite driver, so
//     inserts into its email and thread indexes go to the same leaf
//     page; see sqlite/objectid.go). Never derived from the content:
//     blobs are shared between accounts, and an ID made from the content
//     would tell which users hold the same message; nor from a
//     server-wide count, which would tell a user how much mail others
//     get. A delivery or APPEND makes a new one; COPY and MOVE keep it
//     (RFC 8474 §5.1), and so does an expunged row.
//   - thread IDs are "T" and 16 hex digits; a message joins the thread of
//     the messages of its account it refers to (see docs/ARCHITECTURE.md,
//     "Object identity").
//   - MAILBOXIDs are "F" and the mailbox's decimal ID, which drivers never
//     hand out twice and RENAME keeps (RFC 8474 §4.1; renaming INBOX makes
//     a new mailbox with a new ID and INBOX keeps its own).
const (
	emailIDPrefix   = 'M'
	threadIDPrefix  = 'T'
	mailboxIDPrefix = 'F'
)

// NewObjectNumber is a fresh random number for an email or thread ID, in
// [1, 2^62]: never 0 (which drivers use for "none").
func NewObjectNumber() int64 {
	return rand.Int64N(1<<62) + 1
}

// FormatEmailID is the string form of an email ID number.
func FormatEmailID(n int64) string { return formatObject(emailIDPrefix, n) }

// FormatThreadID is the string form of a thread ID number.
func FormatThreadID(n int64) string { return formatObject(threadIDPrefix, n) }

// ParseEmailID is the number of an email ID string; false when s is not
// one.
func ParseEmailID(s string) (int64, bool) { return parseObject(emailIDPrefix, s) }

// ParseThreadID is the number of a thread ID string; false when s is not
// one.
func ParseThreadID(s string) (int64, bool) { return parseObject(threadIDPrefix, s) }

// ObjectID is the mailbox's MAILBOXID (RFC 8474 §4).
func (mi MailboxInfo) ObjectID() string {
	return string(mailboxIDPrefix) + strconv.FormatInt(mi.ID, 10)
}

// ParseMailboxObjectID is the mailbox ID of a MAILBOXID string; false when
// s is not one.
func ParseMailboxObjectID(s string) (int64, bool) {
	if len(s) < 2 || len(s) > 20 || s[0] != mailboxIDPrefix || s[1] == '0' {
		return 0, false
	}
	n, err := strconv.ParseInt(s[1:], 10, 64)
	if err != nil || n <= 0 {
		return 0, false
	}
	return n, true
}

func formatObject(prefix byte, n int64) string {
	if n == 0 {
		return ""
	}
	const hex = "0123456789abcdef"
	var b [17]byte
	b[0] = prefix
	for i := 16; i > 0; i-- {
		b[i] = hex[n&15]
		n >>= 4
	}
	return string(b[:])
}

func parseObject(prefix byte, s string) (int64, bool) {
	if len(s) != 17 || s[0] != prefix {
		return 0, false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(s[1:], 16, 64)
	if err != nil || n == 0 || n > 1<<63-1 {
		return 0, false
	}
	return int64(n), true
}

// EmailLocation is one copy of a message: the mailbox it is in and its UID
// there.
type EmailLocation struct {
	MailboxID   int64
	Mailbox     string // name
	UIDValidity uint32
	UID         UID
}

// ObjectLookup is an optional Store capability: finding messages of an
// account by their object IDs, for front ends that name messages by email
// ID rather than by mailbox and UID (JMAP).
type ObjectLookup interface {
	// FindEmails maps each of emailIDs that the account holds to its live
	// copies (mailbox, UID), ordered by mailbox ID then UID. IDs that are
	// malformed or not in the account are absent from the map.
	FindEmails(ctx context.Context, account string, emailIDs []string) (map[string][]EmailLocation, error)
	// ThreadEmails lists the email IDs of the account's live messages in
	// thread threadID, each once, ascending by the earliest INTERNALDATE
	// of a copy (JMAP's receivedAt order, RFC 8621 §3), then by ID. A
	// malformed or unknown thread gives none.
	ThreadEmails(ctx context.Context, account, threadID string) ([]string, error)
}

// PreviewReader is an optional Store capability: the stored previews of
// message bodies (RFC 8970), computed at delivery (internal/mime.Preview)
// and kept with the content. Bodies stored before previews were kept have
// none; a front end computes those from the body itself.
type PreviewReader interface {
	// Previews maps each of blobIDs that has a stored preview to it.
	Previews(ctx context.Context, blobIDs []string) (map[string]string, error)
}
