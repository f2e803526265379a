// Package imap is letterbox's IMAP wire codec: the typed command model, the
// command parser (Reader) and the response writer (Writer). It knows the
// grammar of IMAP4rev1 (RFC 3501), IMAP4rev2 (RFC 9051) and the extensions
// letterbox implements; it knows nothing about mailboxes or the store.
//
// Reading: NewReader(bufio.Reader, ReaderOptions) then ReadCommand in a loop.
// A *ParseError means "answer TAG BAD (or NO [code]) and go on": the reader
// has already consumed the rest of the bad command, including literals
// announced on it. A ParseError with Fatal set, or any other error, means the
// stream cannot be resynchronised: say BYE and close.
//
// Writing: NewWriter(bufio.Writer); the Writer keeps the first error (sticky)
// and returns it from Flush and Err.
//
// Mailbox names in Args are decoded to UTF-8: from modified UTF-7
// (RFC 3501 §5.1.3) by default, taken as UTF-8 after Reader.SetUTF8(true)
// (UTF8=ACCEPT, IMAP4rev2). INBOX in any case becomes "INBOX". A name that
// is well-formed but does not decode (or holds control characters) is no
// syntax error: it comes back as an invalid name, see IsInvalidName.
//
// Literals (RFC 3501 §4.3, RFC 7888, RFC 3516): each literal is checked
// against ReaderOptions.LiteralLimit before any of it is read. A refused
// synchronizing literal gives ParseError{NO, Code "TOOBIG"}: the client
// got no continuation and sends nothing more for that command. A refused
// non-synchronizing literal (LITERAL+/LITERAL-) gives ParseError{Code
// "TOOBIG"} (answer BAD) after its octets were read and thrown away, up to
// MaxDiscard; beyond that the error is Fatal (RFC 7888 §4 allows closing).
// APPEND messages above SpoolThreshold go to a temporary file; call
// Command.Close when done with a command.
//
// API stability: the types and signatures in this file are the contract with
// internal/imapserver. Changes are additive only and are noted in the doc
// comment of what they add.
package imap

import (
	"io"
	"time"
)

// Command is one parsed client command (RFC 3501 §6, RFC 9051 §6).
type Command struct {
	Tag  string // the client's tag, as sent
	Name string // upper-case command name without the "UID " prefix, e.g. "FETCH"
	UID  bool   // the command came as "UID <Name>" (COPY, MOVE, FETCH, SEARCH, STORE, EXPUNGE)
	// Args holds the command's arguments: one of the *...Args types below, or
	// nil for commands without arguments (CAPABILITY, NOOP, LOGOUT, STARTTLS,
	// CHECK, CLOSE, UNSELECT, EXPUNGE without UID, NAMESPACE, IDLE).
	// The type for each command is listed on the type.
	Args Args
}

// Close releases resources held by the command's literals (spooled APPEND
// messages). Safe to call on any command, more than once.
func (c *Command) Close() error {
	var msgs []AppendMessage
	switch a := c.Args.(type) {
	case *AppendArgs:
		msgs = a.Messages
	case *ReplaceArgs:
		msgs = []AppendMessage{a.Message}
	}
	var first error
	for _, m := range msgs {
		if m.Literal != nil {
			if err := m.Literal.Close(); err != nil && first == nil {
				first = err
			}
		}
		for _, p := range m.Catenate {
			if p.Text != nil {
				if err := p.Text.Close(); err != nil && first == nil {
					first = err
				}
			}
		}
	}
	return first
}

// Args is implemented by every command argument type of this package.
type Args interface{ isArgs() }

// AuthenticateArgs: AUTHENTICATE (RFC 3501 §6.2.2, SASL-IR RFC 4959).
type AuthenticateArgs struct {
	Mechanism string // upper-cased, e.g. "PLAIN"
	// InitialResponse is the decoded SASL-IR initial response. nil when none
	// was sent; non-nil and empty when the client sent "=".
	InitialResponse []byte
}

// LoginArgs: LOGIN (RFC 3501 §6.2.3).
type LoginArgs struct {
	Username string
	Password string
}

// SelectArgs: SELECT and EXAMINE (RFC 3501 §6.3.1-2, RFC 7162 §3.1.8, §3.2.5).
type SelectArgs struct {
	Mailbox   string // decoded (UTF-8); INBOX in any case is returned as "INBOX"
	CondStore bool   // (CONDSTORE) select parameter
	QResync   *QResyncParams
}

// QResyncParams is the (QRESYNC (...)) SELECT/EXAMINE parameter (RFC 7162 §3.2.5).
type QResyncParams struct {
	UIDValidity uint32
	ModSeq      uint64
	KnownUIDs   *SeqSet // nil when absent
	// SeqMatch is the optional (known-sequence-set known-uid-set); nil when absent.
	SeqMatch *SeqMatchData
}

// SeqMatchData pairs message sequence numbers with the UIDs the client
// believes they have (RFC 7162 §3.2.5).
type SeqMatchData struct {
	Seqs SeqSet
	UIDs SeqSet
}

// CreateArgs: CREATE (RFC 3501 §6.3.3, CREATE-SPECIAL-USE RFC 6154 §3).
type CreateArgs struct {
	Mailbox    string
	SpecialUse []string // from (USE (\Sent ...)); nil when absent
}

// MailboxArgs: DELETE, SUBSCRIBE, UNSUBSCRIBE, GETQUOTAROOT: one mailbox name.
type MailboxArgs struct {
	Mailbox string
}

// RenameArgs: RENAME (RFC 3501 §6.3.5).
type RenameArgs struct {
	From, To string
}

// ListArgs: LIST (RFC 3501 §6.3.8, LIST-EXTENDED RFC 5258, LIST-STATUS
// RFC 5819, SPECIAL-USE RFC 6154) and LSUB (RFC 3501 §6.3.9; selection and
// return options are always empty for LSUB).
type ListArgs struct {
	Selection ListSelection
	Reference string   // decoded mailbox name (may be "")
	Patterns  []string // decoded patterns with % and *; one unless a pattern list was sent
	Return    ListReturn
	// Extended is true when the command used LIST-EXTENDED syntax
	// (selection options, a pattern list or RETURN).
	Extended bool
}

// ListSelection are the LIST selection options (RFC 5258 §3.1).
type ListSelection struct {
	Subscribed     bool
	Remote         bool
	RecursiveMatch bool
	SpecialUse     bool // RFC 6154 §5.1
}

// ListReturn are the LIST return options (RFC 5258 §3.2, RFC 5819, RFC 6154).
type ListReturn struct {
	Subscribed bool
	Children   bool
	SpecialUse bool
	MyRights   bool     // LIST-MYRIGHTS (RFC 8440)
	Status     []string // STATUS (items), upper-cased; nil when not requested
}

// StatusArgs: STATUS (RFC 3501 §6.3.10).
type StatusArgs struct {
	Mailbox string
	Items   []string // upper-cased: the Status* constants
}

// STATUS data items (RFC 3501 §6.3.10, RFC 9051 §6.3.11, RFC 8438, RFC 7162).
const (
	StatusMessages       = "MESSAGES"
	StatusRecent         = "RECENT"
	StatusUIDNext        = "UIDNEXT"
	StatusUIDValidity    = "UIDVALIDITY"
	StatusUnseen         = "UNSEEN"
	StatusDeleted        = "DELETED"
	StatusDeletedStorage = "DELETED-STORAGE" // RFC 9208 §4.3
	StatusSize           = "SIZE"
	StatusHighestModSeq  = "HIGHESTMODSEQ"
	StatusMailboxID      = "MAILBOXID" // RFC 8474 §4.2
)

// AppendArgs: APPEND (RFC 3501 §6.3.11, BINARY RFC 3516 §4.4). Messages has
// one entry per message: several with MULTIAPPEND (RFC 3502).
type AppendArgs struct {
	Mailbox  string
	Messages []AppendMessage
}

// ReplaceArgs: REPLACE and UID REPLACE (RFC 8508 §3): the message to
// replace (one number in Seq, a sequence number or a UID), the mailbox
// that gets the new message and the message itself.
type ReplaceArgs struct {
	Seq     SeqSet
	Mailbox string
	Message AppendMessage
}

// AppendMessage is one message of an APPEND.
type AppendMessage struct {
	Flags   []string  // nil when no flag list was sent
	Date    time.Time // zero when no date-time was sent
	Literal *Literal  // the message; Binary set for literal8 (~{n})
	// UTF8 is set when the message came as UTF8 (~{n}) (RFC 6855 §4).
	// Added after the first API commit (additive).
	UTF8 bool
	// Catenate holds the parts of a CATENATE append (RFC 4469); Literal
	// is nil then.
	Catenate []CatPart
}

// Literal is the content of an APPEND literal. Small literals are kept in
// memory; ones above ReaderOptions.SpoolThreshold are spooled to a temporary
// file that Close removes.
type Literal struct {
	Size   int64
	Binary bool // sent as literal8 (~{n}, RFC 3516)
	data   []byte
	file   spoolFile
}

// spoolFile is the part of *os.File a Literal needs.
type spoolFile interface {
	io.ReaderAt
	io.Closer
	Name() string
}

// ExpungeArgs: UID EXPUNGE (RFC 4315 §2.1). Plain EXPUNGE has nil Args.
type ExpungeArgs struct {
	UIDs SeqSet
}

// SearchArgs: SEARCH and UID SEARCH (RFC 3501 §6.4.4, ESEARCH RFC 4731,
// SEARCHRES RFC 5182, CONDSTORE RFC 7162 §3.1.5).
type SearchArgs struct {
	Charset string // upper-cased; "" when absent
	// Return is the RETURN (...) option list, upper-cased (MIN MAX ALL COUNT
	// SAVE). nil when RETURN was absent; non-nil and empty for "RETURN ()",
	// which means ALL (RFC 4731 §3.1).
	Return []string
	Key    *SearchKey // never nil; the top level is an AND of all keys
	// Partial is the PARTIAL low:high return option (RFC 5267 §4.4), low
	// <= high, both from 1; nil when absent. Return then also holds
	// "PARTIAL"; CONTEXT and UPDATE (RFC 5267 §4.1) are listed there too.
	// Added for CONTEXT=SEARCH (additive).
	Partial *PartialRange
}

// PartialRange is the 1-based position range of PARTIAL (RFC 5267 §4.4).
type PartialRange struct {
	Low, High uint32
}

// SearchKey is one node of a search-key tree (RFC 3501 §6.4.4).
//
// Name is the upper-cased key: every key of RFC 3501 as given (NEW, OLD,
// RECENT... are kept, not rewritten), plus the node kinds SearchAnd (a
// parenthesised list or the top level), SearchSeqSet (a bare sequence set),
// and MODSEQ.
type SearchKey struct {
	Name     string
	Value    string      // BCC BODY CC FROM SUBJECT TEXT TO: the string; HEADER: the value; KEYWORD UNKEYWORD: the flag; EMAILID THREADID: the objectid
	Field    string      // HEADER: the field name
	Date     time.Time   // BEFORE ON SINCE SENTBEFORE SENTON SENTSINCE SAVEDBEFORE SAVEDON SAVEDSINCE: the date (UTC midnight)
	Size     int64       // LARGER SMALLER; OLDER YOUNGER (RFC 5032): the interval in seconds
	Seq      SeqSet      // SearchSeqSet and UID
	ModSeq   uint64      // MODSEQ
	Entry    string      // MODSEQ entry name ("/flags/\\seen"); "" when absent
	Type     string      // MODSEQ entry type: "PRIV", "SHARED" or "ALL"; "" when absent
	Children []SearchKey // SearchAnd: all; OR: exactly two; NOT: exactly one
}

// Search key node kinds that are not RFC 3501 key names.
const (
	SearchAnd    = "AND"
	SearchSeqSet = "SEQSET"
)

// FetchArgs: FETCH and UID FETCH (RFC 3501 §6.4.5, RFC 9051 §6.4.5,
// BINARY RFC 3516, CONDSTORE/QRESYNC RFC 7162 §3.1.4, §3.2.6).
type FetchArgs struct {
	Seq SeqSet
	// Items are the requested data items with the macros ALL, FAST and FULL
	// expanded (RFC 3501 §6.4.5), in the order sent.
	Items        []FetchItem
	ChangedSince uint64 // (CHANGEDSINCE n); 0 when absent
	Vanished     bool   // (VANISHED), UID FETCH only
}

// FetchItem is one FETCH data item.
type FetchItem struct {
	// Name is upper-case: ENVELOPE FLAGS INTERNALDATE RFC822 RFC822.HEADER
	// RFC822.SIZE RFC822.TEXT BODY BODYSTRUCTURE UID MODSEQ BINARY
	// BINARY.SIZE EMAILID THREADID SAVEDATE PREVIEW. "BODY" with a nil Section is the non-extensible
	// BODYSTRUCTURE; with a Section it is BODY[section].
	Name    string
	Section *Section // BODY[...], BINARY[...], BINARY.SIZE[...]
	Peek    bool     // BODY.PEEK / BINARY.PEEK
	Partial *Partial // <offset.count>; nil when absent
	// Lazy: PREVIEW (LAZY) (RFC 8970 §3.2): the server may answer NIL
	// when the preview is not at hand.
	Lazy bool
}

// Section is a body section specification (RFC 3501 §6.4.5).
type Section struct {
	Part []int // part numbers; empty for the whole message
	// Specifier is "", "HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT",
	// "TEXT" or "MIME".
	Specifier string
	Fields    []string // HEADER.FIELDS (.NOT): the header names, upper-cased
}

// Partial is the <origin.count> of a body section fetch.
type Partial struct {
	Offset int64
	Count  int64
}

// StoreArgs: STORE and UID STORE (RFC 3501 §6.4.6, RFC 7162 §3.1.3).
type StoreArgs struct {
	Seq    SeqSet
	Op     StoreOp
	Silent bool
	Flags  []string
	// UnchangedSince is the (UNCHANGEDSINCE n) modifier; meaningful only when
	// HasUnchangedSince (0 is a valid value).
	UnchangedSince    uint64
	HasUnchangedSince bool
}

// StoreOp is FLAGS, +FLAGS or -FLAGS.
type StoreOp int

const (
	StoreReplace StoreOp = iota // FLAGS
	StoreAdd                    // +FLAGS
	StoreRemove                 // -FLAGS
)

// CopyArgs: COPY, MOVE and their UID forms (RFC 3501 §6.4.7, RFC 6851).
type CopyArgs struct {
	Seq     SeqSet
	Mailbox string
}

// EnableArgs: ENABLE (RFC 5161). Capabilities are upper-cased.
type EnableArgs struct {
	Capabilities []string
}

// IDArgs: ID (RFC 2971). Fields is nil for "ID NIL".
type IDArgs struct {
	Fields []IDField
}

// IDField is one field/value pair of ID; Value is nil for NIL.
type IDField struct {
	Key   string
	Value *string
}

// QuotaRootArgs: GETQUOTA (RFC 9208 §4.2).
type QuotaRootArgs struct {
	Root string
}

// SetQuotaArgs: SETQUOTA (RFC 9208 §4.4).
type SetQuotaArgs struct {
	Root   string
	Limits []QuotaLimit
}

// QuotaLimit is one resource limit of SETQUOTA; resource upper-cased.
type QuotaLimit struct {
	Resource string
	Limit    int64
}

// CompressArgs: COMPRESS (RFC 4978). Mechanism upper-cased ("DEFLATE").
type CompressArgs struct {
	Mechanism string
}

func (*AuthenticateArgs) isArgs() {}
func (*LoginArgs) isArgs()        {}
func (*ReplaceArgs) isArgs()      {}
func (*SelectArgs) isArgs()       {}
func (*CreateArgs) isArgs()       {}
func (*MailboxArgs) isArgs()      {}
func (*RenameArgs) isArgs()       {}
func (*ListArgs) isArgs()         {}
func (*StatusArgs) isArgs()       {}
func (*AppendArgs) isArgs()       {}
func (*ExpungeArgs) isArgs()      {}
func (*SearchArgs) isArgs()       {}
func (*FetchArgs) isArgs()        {}
func (*StoreArgs) isArgs()        {}
func (*CopyArgs) isArgs()         {}
func (*EnableArgs) isArgs()       {}
func (*IDArgs) isArgs()           {}
func (*QuotaRootArgs) isArgs()    {}
func (*SetQuotaArgs) isArgs()     {}
func (*CompressArgs) isArgs()     {}

// Argument types by command name (Command.Name):
//
//	AUTHENTICATE *AuthenticateArgs    LOGIN *LoginArgs
//	SELECT, EXAMINE *SelectArgs       CREATE *CreateArgs
//	DELETE, SUBSCRIBE, UNSUBSCRIBE, GETQUOTAROOT *MailboxArgs
//	RENAME *RenameArgs                LIST, LSUB *ListArgs
//	STATUS *StatusArgs                APPEND *AppendArgs
//	EXPUNGE (UID) *ExpungeArgs        SEARCH *SearchArgs
//	FETCH *FetchArgs                  STORE *StoreArgs
//	COPY, MOVE *CopyArgs              ENABLE *EnableArgs
//	ID *IDArgs                        GETQUOTA *QuotaRootArgs
//	SETQUOTA *SetQuotaArgs            COMPRESS *CompressArgs
//	CAPABILITY NOOP LOGOUT STARTTLS CHECK CLOSE UNSELECT EXPUNGE NAMESPACE IDLE: nil
