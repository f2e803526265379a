// Package maildir reads and writes Maildir trees the way Dovecot keeps
// them, with what a client's cache depends on: the UIDVALIDITY, UIDs and
// next UID of each folder (dovecot-uidlist), its keywords
// (dovecot-keywords), the flags in each file name's info part and the
// subscriptions.
//
// Layouts: Maildir++ (Dovecot's default: INBOX at the root, folder
// "A/B" in ".A.B") and Dovecot's LAYOUT=fs (folder "A/B" in "A/B").
// Folder names on disk are IMAP's modified UTF-7 (RFC 3501 §5.1.3), as
// Dovecot 2.3 writes them unless told UTF8.
//
// The formats, as Dovecot 2.3 writes them (checked against Debian's
// Dovecot; doc.dovecot.org "Maildir mailbox format"):
//
//	dovecot-uidlist:  3 V<uidvalidity> N<nextuid> G<guid>
//	                  <uid> [<ext>...] :<file name before ":2,">
//	dovecot-keywords: <index> <keyword>
//	file name:        <unique>[,S=<size>][,W=<vsize>]:2,<flags>
//
// where flags are D (\Draft), F (\Flagged), R (\Answered), S (\Seen),
// T (\Deleted) and a-z, keywords 0-25 of dovecot-keywords. The
// uidlist's N may be behind: Dovecot appends lines without rewriting the
// header, so the next UID is above both N and the last line.
// INTERNALDATE is the file's modification time, as Dovecot's maildir
// driver takes it when it has no index.
package maildir
