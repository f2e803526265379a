// Package mailclient is the logic of `letterbox client`: one
// protocol-neutral Client over IMAP (RFC 3501/9051, through go-imap v2's
// imapclient) or POP3 (RFC 1939, through internal/pop3client), so the same
// verbs work against letterbox, Dovecot or a public provider.
//
// Message identifiers are strings the user types:
//   - IMAP: the message's UID in the mailbox (stable across sessions).
//   - POP3: the message number of the session (RFC 1939 §5), or "uidl:X"
//     for the message whose unique id (UIDL, RFC 1939 §7) is X.
//
// What POP3 cannot do (folders, flags, moving) fails with an error that
// wraps ErrUnsupported; what it lacks but a client can make up for is done
// on the client side: Search reads headers with TOP n 0, FetchUnread and
// Sync remember the UIDLs already downloaded in a local state file.
//
// Sync over POP3 mirrors INBOX one way into a Maildir (new/cur/tmp, unique
// names, ":2,FLAGS" info; see maildir.go), remembering the UIDLs already
// fetched. Over IMAP it is two-way and covers every folder (sync_*.go, on
// its own small IMAP connection for QRESYNC, VANISHED and EMAILID): local
// flag changes and deletions go to the server, server changes come down,
// and a state file per folder remembers UIDVALIDITY, HIGHESTMODSEQ and
// each UID's file and flags (docs/ARCHITECTURE.md, "Client two-way sync").
package mailclient
