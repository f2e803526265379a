// Package mailimport moves mail into a letterbox store from another
// server's storage (a Dovecot Maildir tree, mbox files) or from a remote
// IMAP account, keeping what makes clients not download it again: each
// mailbox's UIDVALIDITY and every message's UID, flags, keywords and
// internal date (through the store.Importer capability), and the
// subscriptions. It also writes a store's mail back out (export.go).
//
// A run is resumable and incremental: after every batch the mailbox's
// import state (the source, its UIDVALIDITY, the last source UID
// imported) is written to a METADATA entry of the target mailbox
// (StateEntry), so the next run — after a crash, or a week later against
// the same IMAP account — fetches only what came after.
package mailimport
