// Package imapserver is letterbox's IMAP4rev1/IMAP4rev2 server (RFC 3501,
// RFC 9051) with the extensions listed in capability.go. It speaks the wire
// format through internal/imap and keeps mail in a store.Store.
//
// # Shape
//
//   - server.go: Options, listeners, per-account session limits.
//   - limits.go: connections per IP and in all (internal/connlimit, as in
//     the POP3 and SMTP servers), refused with BYE [UNAVAILABLE].
//   - conn.go: the socket, buffers, codec, STARTTLS (buffered plaintext is
//     dropped with the old reader), deadlines.
//   - cmdclock.go: the read deadline of one command, which starts with its
//     first octet and grows with the octets received (Limits.CommandTimeout).
//   - session.go: the state machine (not authenticated, authenticated,
//     selected, logout), the dispatch table, panic recovery, and the rule of
//     RFC 3501 §7.4.1 for when pending updates may be sent.
//   - selected.go: one session's view of its selected mailbox: the
//     sequence-number ↔ UID map, the flags the client was last told, the
//     \Recent messages it claimed, the MODSEQ it has caught up to, and the
//     updates still to announce.
//   - one file per command family: auth.go, mailbox.go, select.go,
//     fetch.go, store.go, search.go, copymove.go, expunge.go, append.go,
//     idle.go (and idledone.go, which reads the line ending IDLE and skips
//     the literals of any other command sent in its place), enable.go,
//     capability.go, acl.go (RFC 4314).
//   - shared.go: the Other Users namespace "shared/<owner>/<mailbox>": a
//     name resolved to its owner's store handle and this user's rights,
//     read from the store at every command, and the rights each command
//     needs (RFC 4314 §4).
//
// # How sessions learn about changes
//
// Only through the store's change feed. A session watches its account
// (store.Watch), and while another account's mailbox is selected, that
// account too. A MailboxChanged signal for the selected mailbox marks the
// view stale; at the end of the next command (or at once during IDLE) the
// session asks Mailbox.Changes for everything after the MODSEQ it knows and
// queues new messages (EXISTS, RECENT), flag changes that differ from what
// the client was told (FETCH FLAGS, with UID and, under CONDSTORE, MODSEQ)
// and expunges (EXPUNGE, or VANISHED under QRESYNC). Expunges are held back
// after FETCH, STORE and SEARCH (RFC 3501 §7.4.1); the UID forms may carry
// them. An idling session runs no store query until a signal arrives.
//
// FETCH of UID, FLAGS and MODSEQ only is answered from the view (refreshed
// first when the feed signalled a change), without a per-message query;
// everything else loads the messages' metadata and stored structure in
// batches and streams bodies from the blob.
//
// \Recent is claimed from the store (Mailbox.ClaimRecent) at SELECT and when
// new messages arrive, so exactly one session gets each message as recent.
//
// # Errors
//
// Handlers return errors. A *protoError, or a store/auth sentinel error
// that has a protocol meaning (see errors.go), becomes a tagged NO or BAD
// with a response code; anything else is logged and answered with
// NO [SERVERBUG]. A panic is logged and the connection is closed with
// BYE [SERVERBUG], because the response it interrupted may be half written;
// the server keeps serving other connections.
//
// # Where we follow Dovecot
//
// Where the RFCs leave room, letterbox answers as Dovecot does, since
// clients are tested against it: a missing body part is an empty string,
// STORE reports only messages whose flags changed, EXPUNGE in a read-only
// mailbox is an OK that removes nothing, and a mailbox deleted under a
// session that has it selected ends the session with BYE.
package imapserver
