package store

import (
	"context"
	"errors"
)

// Importer is an optional Store capability for moving mail in from another
// server (`letterbox import`) without clients downloading it again: an IMAP
// client keeps its cache only when a mailbox's UIDVALIDITY and the UIDs of
// its messages stay what they were (RFC 3501 §2.3.1.1), and a POP3 client
// keeps its list of seen messages only when the UIDLs stay (RFC 1939 §7;
// letterbox's UIDL is made of the UID and the INBOX UIDVALIDITY, see
// internal/pop3server/uidl.go). The importer checks for it once, with a
// type assertion on the Store.
//
// UIDs are only ever handed out upwards: an import never lowers UIDNEXT and
// never gives a UID that the mailbox used before (a live message or an
// expunged one), so a client that knew the mailbox can never see one UID
// name two messages.
type Importer interface {
	BatchAppender

	// SetUIDValidity gives mailbox the UIDVALIDITY of the mailbox it
	// replaces. Only a mailbox that never held a message (UIDNEXT 1) may
	// change it; any other gets ErrMailboxUsed, and the import keeps the
	// mailbox's own UIDVALIDITY (and gives new UIDs). Meant for a mailbox
	// nobody has selected (the import runs before clients move over): a
	// session that has it selected already keeps the UIDVALIDITY it was
	// told until it selects again.
	SetUIDValidity(ctx context.Context, account, mailbox string, uidValidity uint32) error

	// ImportBatch is AppendBatch with chosen UIDs: msgs[i] gets uids[i].
	// uids must be ascending and the first at or above the mailbox's
	// UIDNEXT; otherwise nothing is stored and the error is
	// ErrUIDNotAvailable. UIDNEXT ends one above the last UID. uids nil
	// means new UIDs, as AppendBatch gives. All or none, like
	// AppendBatch, in one transaction. Unlike AppendBatch it may read the
	// bodies concurrently (each body is still read by one goroutine), so
	// they must be independent readers (files), not one stream.
	ImportBatch(ctx context.Context, account, mailbox string, msgs []BatchMessage, uids []UID) (BatchResult, error)

	// RaiseUIDNext sets the mailbox's UIDNEXT to next when that is higher
	// (the source had handed out UIDs whose messages are gone); a lower or
	// equal next changes nothing. A raise takes a MODSEQ, so sessions
	// learn the new UIDNEXT.
	RaiseUIDNext(ctx context.Context, account, mailbox string, next UID) error
}

var (
	// ErrMailboxUsed: SetUIDValidity on a mailbox that held messages.
	ErrMailboxUsed = errors.New("store: mailbox has held messages; its UIDVALIDITY stays")
	// ErrUIDNotAvailable: ImportBatch was asked for a UID below the
	// mailbox's UIDNEXT, or for UIDs not in ascending order.
	ErrUIDNotAvailable = errors.New("store: UID already used in this mailbox")
	// ErrInvalidUIDValidity: SetUIDValidity with 0, which RFC 3501
	// §2.3.1.1 does not allow (nz-number).
	ErrInvalidUIDValidity = errors.New("store: UIDVALIDITY must not be 0")
)

// CheckImportUIDs validates the uids of an ImportBatch of n messages
// against the mailbox's UIDNEXT: one per message, strictly ascending, the
// first at or above uidNext.
func CheckImportUIDs(n int, uids []UID, uidNext UID) error {
	if len(uids) != n {
		return errors.New("store: ImportBatch needs one UID per message")
	}
	prev := uidNext - 1
	for _, u := range uids {
		if u <= prev || u == 0 {
			return ErrUIDNotAvailable
		}
		prev = u
	}
	return nil
}

// spoolWorkers is how many bodies ImportBatch spools at once: the
// per-file fsync dominates, and concurrent fsyncs share journal commits.
const spoolWorkers = 8

// SpoolAll runs spool(i) for i in [0, n): one after the other, or with
// up to spoolWorkers goroutines when parallel is set. It returns the
// error of the lowest index that failed. Drivers use it for ImportBatch.
func SpoolAll(n int, parallel bool, spool func(i int) error) error {
	if !parallel || n < 2 {
		for i := 0; i < n; i++ {
			if err := spool(i); err != nil {
				return err
			}
		}
		return nil
	}
	errs := make([]error, n)
	next := make(chan int)
	done := make(chan struct{})
	workers := min(spoolWorkers, n)
	for w := 0; w < workers; w++ {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range next {
				errs[i] = spool(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	for w := 0; w < workers; w++ {
		<-done
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
