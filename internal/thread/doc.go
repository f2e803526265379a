// Package thread holds the pure parts of IMAP SORT and THREAD (RFC 5256):
// base-subject extraction (§2.1), the ORDEREDSUBJECT and REFERENCES
// threading algorithms (§3), message-ID parsing and the i;unicode-casemap
// folding the sort keys are compared with. It knows nothing about
// mailboxes, the store or the wire; internal/imapserver feeds it the
// messages' header values and writes the result.
//
// Where RFC 5256 leaves room, the answers are Dovecot's (2.3): strings
// are compared after Unicode titlecasing and decomposition, ties are
// broken by UID, a duplicate Message-ID makes the later message a message
// without an ID, a conflicting parent link keeps the first one seen, and
// the thread roots and siblings are ordered by (sent date, UID) with the
// internal date standing in for a missing or unparsable Date.
package thread
