// Package store is the contract between letterbox's protocol front ends
// (SMTP/LMTP, POP3, IMAP) and its storage drivers (SQLite, later PostgreSQL).
//
// Front ends import this package only, never a driver. A driver implements
// Store; the conformance suite in storetest proves it.
//
// Model: account → mailboxes → messages. A mailbox has UIDVALIDITY, UIDNEXT
// and HIGHESTMODSEQ. Every change to a mailbox (append, flag change, expunge)
// takes the next MODSEQ of that mailbox (RFC 7162 §3.1) and is announced on
// the change feed after it commits. Expunged UIDs stay behind as tombstones
// carrying their MODSEQ so QRESYNC can report VANISHED (RFC 7162 §3.2.10).
package store

import (
	"context"
	"errors"
	"io"
	"time"
)

// UID is an IMAP unique identifier (RFC 3501 §2.3.1.1). Strictly increasing
// within a mailbox for one UIDVALIDITY.
type UID uint32

// ModSeq is a per-mailbox modification sequence (RFC 7162 §3.1.1).
type ModSeq uint64

// Sentinel errors. Drivers wrap or return these so front ends can map them to
// protocol responses with errors.Is.
var (
	ErrNoSuchAccount      = errors.New("store: no such account")
	ErrAccountExists      = errors.New("store: account already exists")
	ErrNoSuchMailbox      = errors.New("store: no such mailbox")
	ErrMailboxExists      = errors.New("store: mailbox already exists")
	ErrInvalidName        = errors.New("store: invalid mailbox name")
	ErrMailboxHasChildren = errors.New("store: mailbox has inferior hierarchical names")
	ErrCannotDeleteInbox  = errors.New("store: INBOX cannot be deleted")
	ErrTooLarge           = errors.New("store: message too large")
	ErrOverQuota          = errors.New("store: over quota")
	ErrClosed             = errors.New("store: closed")
)

// HierarchySeparator separates mailbox name levels ("Archive/2024").
const HierarchySeparator = '/'

// InboxName is the one mailbox every account has; its name is
// case-insensitive (RFC 3501 §5.1).
const InboxName = "INBOX"

// Special-use attributes (RFC 6154). The default mailboxes made at account
// creation carry them.
const (
	SpecialAll     = `\All`
	SpecialArchive = `\Archive`
	SpecialDrafts  = `\Drafts`
	SpecialFlagged = `\Flagged`
	SpecialJunk    = `\Junk`
	SpecialSent    = `\Sent`
	SpecialTrash   = `\Trash`
)

// DefaultMailboxes are created with every new account besides INBOX.
var DefaultMailboxes = []struct{ Name, SpecialUse string }{
	{"Sent", SpecialSent},
	{"Drafts", SpecialDrafts},
	{"Trash", SpecialTrash},
	{"Junk", SpecialJunk},
	{"Archive", SpecialArchive},
}

// System flags (RFC 3501 §2.3.2). Keywords are any other atom. \Recent is not
// a stored flag: see Mailbox.ClaimRecent.
const (
	FlagSeen     = `\Seen`
	FlagAnswered = `\Answered`
	FlagFlagged  = `\Flagged`
	FlagDeleted  = `\Deleted`
	FlagDraft    = `\Draft`
)

// Account is a user of the server. Name is the full login address
// ("alice@example.com"), stored lower-cased.
type Account struct {
	ID           int64
	Name         string
	PasswordHash string // PHC string (argon2id), see internal/auth
	Created      time.Time
}

// MailboxInfo describes a mailbox as LIST and STATUS need it.
type MailboxInfo struct {
	ID            int64
	Name          string // full name with '/' separators, UTF-8
	SpecialUse    string // one of the Special* constants or ""
	Subscribed    bool
	UIDValidity   uint32
	UIDNext       UID
	HighestModSeq ModSeq
}

// MailboxStatus is the counting part of STATUS (RFC 3501 §6.3.10,
// RFC 8438 STATUS=SIZE, RFC 7162 HIGHESTMODSEQ).
type MailboxStatus struct {
	MailboxInfo
	Messages int   // number of messages
	Unseen   int   // messages without \Seen
	Deleted  int   // messages with \Deleted
	Recent   int   // messages not yet claimed by any session (see ClaimRecent)
	Size     int64 // sum of message sizes in octets
	// DeletedSize is the sum of the sizes of the messages with \Deleted:
	// what an EXPUNGE would free (RFC 9208 DELETED-STORAGE).
	DeletedSize int64
}

// Message is the metadata of one message in one mailbox.
type Message struct {
	UID          UID
	ModSeq       ModSeq
	Flags        []string // sorted; system flags and keywords, never \Recent
	InternalDate time.Time
	Size         int64  // octets of the stored message (CRLF line endings)
	BlobID       string // content address of the body; open with Store.OpenBlob
}

// MessageDetail is Message plus the parsed structure stored at delivery
// (internal/mime's encoded form; opaque to the store), the message's
// object identity (RFC 8474, see objectid.go) and the time it was saved
// into this mailbox (RFC 8514 SAVEDATE: APPEND, delivery, COPY or MOVE;
// zero when unknown, for messages stored before save dates were kept).
// They are here rather than in Message so the listing and change paths
// (Messages, Changes: every SELECT's snapshot) neither read nor carry
// them.
type MessageDetail struct {
	Message
	Structure []byte
	EmailID   string
	ThreadID  string
	SaveDate  time.Time
}

// FlagOp is the action of a STORE (RFC 3501 §6.4.6).
type FlagOp int

const (
	FlagsReplace FlagOp = iota // FLAGS
	FlagsAdd                   // +FLAGS
	FlagsRemove                // -FLAGS
)

// FlagUpdate is the result of a flag change on one message.
type FlagUpdate struct {
	UID    UID
	Flags  []string // flags after the change
	ModSeq ModSeq   // the message's MODSEQ after the change
}

// StoreResult reports a StoreFlags call.
type StoreResult struct {
	// Updated lists messages whose flags changed (each took a new MODSEQ).
	// Messages whose flags were already as asked do not appear and take no
	// new MODSEQ.
	Updated []FlagUpdate
	// Unchanged lists messages that matched but needed no change, with their
	// current flags (for the untagged FETCH a non-.SILENT STORE returns).
	Unchanged []FlagUpdate
	// Modified lists UIDs that failed the UNCHANGEDSINCE test
	// (RFC 7162 §3.1.3); they were not changed.
	Modified []UID
	// Before is the mailbox's HIGHESTMODSEQ just before this change, read
	// in the same write transaction: the changes with MODSEQ in (Before,
	// the last Updated's ModSeq] are exactly Updated. A session that had
	// seen everything up to Before applies Updated and is up to date
	// without asking Changes.
	Before ModSeq
}

// CopyResult maps source UIDs to the UIDs they got in the destination
// (RFC 4315 COPYUID).
type CopyResult struct {
	UIDValidity uint32
	SourceUIDs  []UID
	DestUIDs    []UID
}

// Changes is what happened in a mailbox after some MODSEQ: the messages that
// were appended or changed flags (current state), and the UIDs expunged.
type Changes struct {
	Updated       []Message // ascending UID; ModSeq > since
	Expunged      []UID     // ascending; tombstones with ModSeq > since
	HighestModSeq ModSeq
	UIDNext       UID
}

// Target says where one copy of a delivered message goes.
type Target struct {
	Account string // account name
	Mailbox string // mailbox name; "" means INBOX
	Flags   []string
	// InternalDate; zero means the time of delivery.
	InternalDate time.Time
}

// DeliveryResult is the outcome for one Target of a delivery.
type DeliveryResult struct {
	Err         error // nil when the copy is durable
	UIDValidity uint32
	UID         UID
}

// Store is the whole contract a driver implements. All methods are safe for
// concurrent use.
type Store interface {
	// Accounts. CreateAccount also makes INBOX and DefaultMailboxes.
	CreateAccount(ctx context.Context, name, passwordHash string) (Account, error)
	DeleteAccount(ctx context.Context, name string) error
	SetPasswordHash(ctx context.Context, name, passwordHash string) error
	Account(ctx context.Context, name string) (Account, error)
	Accounts(ctx context.Context) ([]Account, error)

	// Deliver stores one message for every target. The body is read once,
	// normalised to CRLF line endings, written to one content-addressed blob
	// and fsynced with its directory; the rows for all targets are committed
	// before Deliver returns. Concurrent calls may share one commit and one
	// sync (group commit). A target that fails (unknown account or mailbox,
	// quota) gets its own error in the result; the others still succeed.
	// The returned error is for failures that hit every target.
	// A body that implements Verbatim (reporting true) is stored exactly as
	// read, without CRLF normalisation (APPEND of a literal8, RFC 3516 §4.4).
	Deliver(ctx context.Context, body io.Reader, targets []Target) ([]DeliveryResult, error)

	// OpenBlob opens the stored body of a message.
	OpenBlob(ctx context.Context, blobID string) (Blob, error)

	// Mailboxes returns the account's mailbox store.
	Mailboxes(ctx context.Context, account string) (Mailboxes, error)

	// Watch subscribes to the change feed of one account. See Watcher.
	Watch(account string) Watcher

	Close() error
}

// LoginHistory is an optional Store capability: it remembers which
// account logged in successfully from which remote network, so the login
// throttle can spare a known user behind an address a guesser shares
// (auth.Service). remote is a network in CIDR form ("192.0.2.7/32",
// "2001:db8::/64").
type LoginHistory interface {
	// RecordLogin notes a successful login of account from remote at at,
	// and forgets every record older than forgetBefore.
	RecordLogin(ctx context.Context, account, remote string, at, forgetBefore time.Time) error
	// LastLogin is the last recorded success of account from remote; the
	// zero Time when there is none (or the account does not exist).
	LastLogin(ctx context.Context, account, remote string) (time.Time, error)
}

// Verbatim is implemented by a Deliver body that must be stored byte for
// byte (binary content: bare LF stays bare LF).
type Verbatim interface {
	io.Reader
	Verbatim() bool
}

// IsVerbatim reports whether body asks to be stored as read.
func IsVerbatim(body io.Reader) bool {
	v, ok := body.(Verbatim)
	return ok && v.Verbatim()
}

// Blob is a stored message body.
type Blob interface {
	io.ReaderAt
	io.Reader
	io.Closer
	Size() int64
}

// BlobBatchOpener is implemented by a store for which opening many bodies
// at once costs less than an OpenBlob each (PostgreSQL: one query for all
// instead of one per body). OpenBlobs opens the bodies of ids it can
// serve that way, held in memory, and leaves the others out of the map;
// the caller opens those with OpenBlob and bounds the memory by choosing
// ids (FETCH passes small bodies only). The caller closes every Blob
// returned, and reads each with one reader at a time, as any Blob.
type BlobBatchOpener interface {
	OpenBlobs(ctx context.Context, ids []string) (map[string]Blob, error)
}

// Mailboxes operates on the mailboxes of one account. Names are full
// hierarchical names with '/' separators; "INBOX" in any case means INBOX.
type Mailboxes interface {
	Account() Account

	List(ctx context.Context) ([]MailboxInfo, error)
	Get(ctx context.Context, name string) (MailboxInfo, error)
	Status(ctx context.Context, name string) (MailboxStatus, error)
	// Create makes a mailbox; missing parent levels are created too
	// (RFC 3501 §6.3.3). specialUse may be "".
	Create(ctx context.Context, name, specialUse string) (MailboxInfo, error)
	// Delete removes a mailbox and its messages. A mailbox with children is
	// refused with ErrMailboxHasChildren (we do not keep \Noselect parents).
	Delete(ctx context.Context, name string) error
	// Rename renames a mailbox and its children. Renaming INBOX moves all of
	// its messages to the new mailbox and leaves INBOX empty (RFC 3501 §6.3.5).
	Rename(ctx context.Context, oldName, newName string) error
	// SetSubscribed adds or removes name from the account's subscriptions.
	// Subscriptions are kept by name, apart from the mailboxes: DELETE does
	// not unsubscribe (RFC 3501 §6.3.4, §6.3.6), RENAME moves them with the
	// mailbox, and a name that does not exist (any longer) can be
	// subscribed and unsubscribed. name must still be a valid mailbox name.
	SetSubscribed(ctx context.Context, name string, subscribed bool) error
	// Subscriptions lists the subscribed names, existing mailboxes or not,
	// sorted, INBOX as "INBOX".
	Subscriptions(ctx context.Context) ([]string, error)

	// Open returns a handle on one mailbox's messages.
	Open(ctx context.Context, name string) (Mailbox, error)
}

// Mailbox operates on the messages of one mailbox.
type Mailbox interface {
	Info(ctx context.Context) (MailboxInfo, error)

	// Messages lists all messages in ascending UID order: the snapshot a
	// SELECT builds its sequence-number map from.
	Messages(ctx context.Context) ([]Message, error)
	// Details returns the messages with the given UIDs, with their parsed
	// structure, in ascending UID order. A UID that was expunged while a Pin
	// of this mailbox still holds it is returned too, as it was when
	// expunged (flags, size, date, blob), so a session can still FETCH a
	// message it has not been told is gone. UIDs with neither are skipped.
	Details(ctx context.Context, uids []UID) ([]MessageDetail, error)
	// Changes reports what happened after MODSEQ since.
	Changes(ctx context.Context, since ModSeq) (Changes, error)
	// HighestModSeq is the mailbox's HIGHESTMODSEQ as committed now. It is
	// cheap (memory on SQLite, one primary-key read on PostgreSQL): a
	// session asks it at the end of every command and calls Changes only
	// when it moved, so a change committed before the command started is
	// never missed even when its feed signal is still on the way.
	HighestModSeq(ctx context.Context) (ModSeq, error)
	// Pin registers a reader of this mailbox (a selected session) that may
	// still refer to messages expunged after the MODSEQ it holds: their
	// content stays readable (Details, OpenBlob) until every Pin of the
	// mailbox has advanced past their expunge or been released. A new Pin
	// holds everything (MODSEQ 0) until its first Advance.
	Pin() Pin

	// ClaimRecent hands the \Recent messages (UIDs delivered since the last
	// claim) to exactly one caller: the first session to select the mailbox
	// after they arrived (RFC 3501 §2.3.2).
	ClaimRecent(ctx context.Context) ([]UID, error)
	// RecentFrom is the lowest UID no session has claimed yet: messages at
	// or above it are \Recent to a read-only view (EXAMINE), which shows
	// them without claiming them (RFC 3501 §6.3.2).
	RecentFrom(ctx context.Context) (UID, error)

	// StoreFlags changes the flags of the given messages in one transaction.
	// unchangedSince 0 means no UNCHANGEDSINCE test.
	StoreFlags(ctx context.Context, uids []UID, op FlagOp, flags []string, unchangedSince ModSeq) (StoreResult, error)
	// Expunge removes the given messages, leaving tombstones. It returns the
	// UIDs really removed (ascending).
	Expunge(ctx context.Context, uids []UID) ([]UID, error)
	// CopyTo copies messages to another mailbox of the same account,
	// keeping flags and internal date.
	CopyTo(ctx context.Context, uids []UID, dest string) (CopyResult, error)
	// MoveTo moves messages atomically (RFC 6851): copy then expunge in one
	// transaction.
	MoveTo(ctx context.Context, uids []UID, dest string) (CopyResult, error)
}

// Pin is one reader's hold on expunged content (see Mailbox.Pin).
type Pin interface {
	// Advance says the reader no longer refers to any message expunged at
	// or below modseq (it has announced those expunges). It never moves
	// back.
	Advance(modseq ModSeq)
	// Release drops the hold; further calls do nothing.
	Release()
}

// ChangeKind says what kind of change a feed event reports.
type ChangeKind int

const (
	MailboxChanged ChangeKind = iota // messages appended, flags changed or expunged
	MailboxCreated
	MailboxDeleted
	MailboxRenamed
	// SubscriptionChanged: SetSubscribed really added or removed a name
	// (Mailbox is that name, MailboxID 0). Create's implicit subscription
	// and Rename moving subscriptions come with MailboxCreated and
	// MailboxRenamed instead. A watcher re-reads Subscriptions.
	SubscriptionChanged
	// MetadataChanged: a METADATA entry of the mailbox (MailboxID 0 and
	// Mailbox "" for the account's server entries) was set or removed;
	// Entry names it ("" when a driver could not carry it). One event per
	// entry written. ModSeq is 0: metadata is not message state.
	MetadataChanged
)

// Change is one change-feed event. The feed carries signals, not data: a
// session that sees MailboxChanged for its mailbox asks Mailbox.Changes for
// what happened after the MODSEQ it last knew. Signals may be coalesced, so
// a slow reader never blocks writers and never misses a change.
type Change struct {
	Kind      ChangeKind
	MailboxID int64
	Mailbox   string // name (new name for MailboxRenamed)
	ModSeq    ModSeq // highest MODSEQ of the mailbox after the change
	Entry     string // MetadataChanged only: the entry name written
	// At is when the change reached this node's feed (Feed.Publish sets
	// it): on SQLite right after the commit, on PostgreSQL when its NOTIFY
	// arrived. Merged events keep the oldest. Watchers that wait for
	// changes measure the feed's lag from it (metrics).
	At time.Time
}

// Watcher receives the change feed of one account. The feed is a wake-up
// hint: Publish puts a change in the watcher's pending set at once (no
// goroutine in between), so Take right after a writer returned sees it.
type Watcher interface {
	// Ready has room for one token and gets one whenever changes become
	// pending; it is closed when the feed closes.
	Ready() <-chan struct{}
	// Take returns the pending changes in commit order per mailbox and
	// clears them, without blocking. Pending MailboxChanged events of one
	// mailbox are merged into the latest (highest MODSEQ). open is false
	// once the feed has closed.
	Take() (changes []Change, open bool)
	Close()
}
