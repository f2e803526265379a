// Package pop3server is letterbox's POP3 front end.
//
// It implements:
//   - RFC 1939 (POP3): USER, PASS, STAT, LIST, RETR, DELE, NOOP, RSET, QUIT,
//     TOP, UIDL and the AUTHORIZATION / TRANSACTION / UPDATE states. APOP is
//     not offered: letterbox stores only password hashes.
//   - RFC 2449 (extension mechanism): CAPA, response codes, PIPELINING,
//     EXPIRE NEVER, LOGIN-DELAY 0, IMPLEMENTATION.
//   - RFC 2595 §4 (STLS) and implicit TLS (POP3S) when Serve is given a TLS
//     listener.
//   - RFC 3206 (SYS and AUTH response codes).
//   - RFC 5034 (AUTH with SASL PLAIN, initial response and continuation).
//   - RFC 6856 (UTF8 command).
//
// POP3 sees the account's INBOX. The message list is a snapshot taken at
// login; message numbers 1..n index that snapshot. DELE only marks; the
// marked messages are expunged from the store when the client sends QUIT
// (the UPDATE state). A dropped or timed-out connection deletes nothing.
//
// Choices worth knowing:
//   - UIDL values are Dovecot's default format, "%08Xu%08Xv" (lower-case hex) of UID and
//     UIDVALIDITY: stable forever, and equal to Dovecot's for a maildrop
//     migrated with its UIDs (see uniqueID).
//   - LIST/STAT sizes are the stored octets (CRLF line ends), exactly what
//     RETR sends before byte-stuffing. RETR and TOP stream the blob.
//   - RETR does not set \Seen (as Dovecot by default).
//   - CAPA lists USER and SASL PLAIN only where plaintext passwords are
//     allowed (TLS active, or AllowPlaintextAuth; default TLS or loopback);
//     elsewhere they are refused with -ERR [AUTH] until STLS.
//   - Failed logins: the Authenticator throttles; bad credentials answer
//     -ERR [AUTH], throttling -ERR [SYS/TEMP].
//   - The idle timer (RFC 1939 §3) closes the connection without a reply and
//     without UPDATE. A panic in a command is logged, answered with
//     -ERR [SYS/TEMP], and ends the session without UPDATE.
//   - A connection over MaxConnsPerIP or MaxConns (counted by
//     internal/connlimit over every listener of the Server) gets
//     "-ERR [SYS/TEMP] too many connections[ from your address]" in place
//     of the greeting and is closed.
//
// One session at a time may hold an account's maildrop (RFC 1939 §8): a
// second login gets "-ERR [IN-USE]" (RFC 2449 §8.1.1). The lock is the
// Locker in Options; by default one in-process lock table per Server.
package pop3server
