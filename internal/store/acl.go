package store

import (
	"context"
	"errors"
	"strings"
)

// Access control lists (RFC 4314). An ACL belongs to one mailbox (it
// follows the mailbox through RENAME and goes with it at DELETE) and maps
// identifiers to rights. Identifiers are account names, AnyoneIdentifier
// and AuthenticatedIdentifier; each may be prefixed with "-" for negative
// rights (RFC 4314 §2: rights a user does not get even if another entry
// grants them). An entry naming an account goes when the account is
// deleted. The owner of a mailbox has every right, whatever its ACL says:
// drivers refuse an entry for the owner (ErrOwnerRights).

// Rights is a set of RFC 4314 §2.1 rights.
type Rights uint16

// The standard rights (RFC 4314 §2.1).
const (
	RightLookup        Rights = 1 << iota // l: LIST, SUBSCRIBE
	RightRead                             // r: SELECT, EXAMINE, STATUS, FETCH, SEARCH, COPY from
	RightSeen                             // s: keep \Seen
	RightWrite                            // w: flags other than \Seen and \Deleted
	RightInsert                           // i: APPEND, COPY/MOVE into
	RightPost                             // p: send mail to the submission address (not used by IMAP)
	RightCreate                           // k: CREATE below, RENAME to below
	RightDeleteMailbox                    // x: DELETE, RENAME from
	RightDeleteMessage                    // t: \Deleted
	RightExpunge                          // e: EXPUNGE
	RightAdmin                            // a: SETACL, DELETEACL, GETACL, LISTRIGHTS
)

// AllRights is every right: what an owner has.
const AllRights = RightLookup | RightRead | RightSeen | RightWrite | RightInsert | RightPost |
	RightCreate | RightDeleteMailbox | RightDeleteMessage | RightExpunge | RightAdmin

// rightLetters lists the rights in the order they are written: Dovecot's
// order for a mailbox owner ("lrwstipekxa", then "cd").
const rightLetters = "lrwstipekxa"

var rightOf = map[byte]Rights{
	'l': RightLookup, 'r': RightRead, 's': RightSeen, 'w': RightWrite, 'i': RightInsert,
	'p': RightPost, 'k': RightCreate, 'x': RightDeleteMailbox, 't': RightDeleteMessage,
	'e': RightExpunge, 'a': RightAdmin,
}

// Obsolete RFC 2086 rights (RFC 4314 §2.1.1): "c" stands for the create
// rights k and x, "d" for the delete rights t and e (as Dovecot maps them
// on input and output).
const (
	obsoleteC = RightCreate | RightDeleteMailbox
	obsoleteD = RightDeleteMessage | RightExpunge
)

// ErrInvalidRights is ParseRights' answer to a letter that is no right.
var ErrInvalidRights = errors.New("store: invalid ACL right")

// ErrOwnerRights is the answer to a change of the owner's own entry: the
// owner always has every right.
var ErrOwnerRights = errors.New("store: the owner's rights cannot be changed")

// ErrInvalidIdentifier is the answer to an identifier that is no account
// (or an unknown special identifier).
var ErrInvalidIdentifier = errors.New("store: invalid ACL identifier")

// Special identifiers (RFC 4314 §2).
const (
	AnyoneIdentifier        = "anyone"
	AuthenticatedIdentifier = "authenticated"
)

// ParseRights reads a rights string (RFC 4314 §3.1): the standard letters,
// and c and d mapped to what they stand for. A letter may repeat.
func ParseRights(s string) (Rights, error) {
	var r Rights
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case 'c':
			r |= obsoleteC
		case 'd':
			r |= obsoleteD
		default:
			bit, ok := rightOf[c]
			if !ok {
				return 0, ErrInvalidRights
			}
			r |= bit
		}
	}
	return r, nil
}

// String writes the rights in canonical order, followed by c when a create
// right is held and d when a delete right is (RFC 4314 §2.1.1).
func (r Rights) String() string {
	var b strings.Builder
	for i := 0; i < len(rightLetters); i++ {
		if r&rightOf[rightLetters[i]] != 0 {
			b.WriteByte(rightLetters[i])
		}
	}
	if r&obsoleteC != 0 {
		b.WriteByte('c')
	}
	if r&obsoleteD != 0 {
		b.WriteByte('d')
	}
	return b.String()
}

// Letters writes the rights without the obsolete c and d: how drivers
// store them.
func (r Rights) Letters() string {
	var b strings.Builder
	for i := 0; i < len(rightLetters); i++ {
		if r&rightOf[rightLetters[i]] != 0 {
			b.WriteByte(rightLetters[i])
		}
	}
	return b.String()
}

// Has reports whether every right of want is in r.
func (r Rights) Has(want Rights) bool { return r&want == want }

// ACLEntry is one identifier's rights on a mailbox.
type ACLEntry struct {
	Identifier string // account name, "anyone", "authenticated"; "-" prefix: negative
	Rights     Rights
}

// SharedMailbox is a mailbox of another account that a user has rights
// on.
type SharedMailbox struct {
	Owner  string
	Info   MailboxInfo
	Rights Rights // the user's effective rights
}

// ACLs is an optional Store capability (both of letterbox's drivers have
// it): access control lists on mailboxes, RFC 4314. Front ends check for
// it once, with a type assertion on the Store.
type ACLs interface {
	// SetACL sets identifier's entry on owner's mailbox to rights
	// (0 keeps an entry with no rights, as RFC 4314 §3.1 allows). The
	// identifier is normalised (accounts lower-cased); an account that
	// does not exist is ErrInvalidIdentifier, the owner ErrOwnerRights.
	SetACL(ctx context.Context, owner, mailbox, identifier string, rights Rights) error
	// DeleteACL removes identifier's entry; removing one that is not
	// there is not an error.
	DeleteACL(ctx context.Context, owner, mailbox, identifier string) error
	// ACL lists the entries of owner's mailbox, sorted by identifier.
	ACL(ctx context.Context, owner, mailbox string) ([]ACLEntry, error)
	// SharedWith lists the mailboxes of other accounts on which user has
	// some right through an entry for user, "anyone" or "authenticated"
	// (negative entries applied), sorted by owner and name.
	SharedWith(ctx context.Context, user string) ([]SharedMailbox, error)
}

// NormalizeIdentifier lower-cases an account identifier (keeping a
// leading "-") and reports whether it is negative.
func NormalizeIdentifier(id string) (norm string, negative bool) {
	if strings.HasPrefix(id, "-") {
		return "-" + NormalizeAccount(id[1:]), true
	}
	return NormalizeAccount(id), false
}

// IsSpecialIdentifier reports whether id (without "-") is anyone or
// authenticated.
func IsSpecialIdentifier(id string) bool {
	id = strings.TrimPrefix(id, "-")
	return id == AnyoneIdentifier || id == AuthenticatedIdentifier
}

// EffectiveRights is what user (a logged-in account) gets from a
// mailbox's entries: the union of the rights of the entries for user,
// "anyone" and "authenticated", minus those of their negative entries
// (RFC 4314 §2). The owner is not handled here: it has AllRights.
func EffectiveRights(entries []ACLEntry, user string) Rights {
	user = NormalizeAccount(user)
	var pos, neg Rights
	for _, e := range entries {
		id, negative := strings.CutPrefix(e.Identifier, "-")
		if id != user && id != AnyoneIdentifier && id != AuthenticatedIdentifier {
			continue
		}
		if negative {
			neg |= e.Rights
		} else {
			pos |= e.Rights
		}
	}
	return pos &^ neg
}
