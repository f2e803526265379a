package conformance

import (
	"strings"
	"testing"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"

	"github.com/letterbox/letterbox/internal/imapserver"
)

// in encodes s in charset enc for a SEARCH CHARSET literal.
func in(enc encoding.Encoding, s string) string {
	b, err := enc.NewEncoder().String(s)
	if err != nil {
		panic(err)
	}
	return b
}

// imapExtScripts are the scripts of the issue 8 extensions: WITHIN,
// SEARCH in other charsets with Unicode case folding, REPLACE, UIDONLY,
// LITERAL+ at its limits.
func imapExtScripts() []imapScript {
	examine := "EXAMINE INBOX"
	return []imapScript{
		// RFC 5032: OLDER/YOUNGER against INTERNALDATE; the corpus is
		// dated February 2024, so every split below is far from "now".
		// RFC 8514: the save dates are each server's own APPEND time, so
		// only the searches that split far from it are compared.
		{name: "SAVEDATE", cmds: []string{examine, "SEARCH SAVEDATESUPPORTED", "SEARCH SAVEDSINCE 1-Jan-2020",
			"SEARCH SAVEDBEFORE 1-Jan-2020", "SEARCH SAVEDON 1-Jan-2020", "SEARCH SAVEDSINCE 1-Jan-2020 SUBJECT hello"}},
		// RFC 8970 PREVIEW of the corpus (the malformed message 8 left out).
		{name: "FETCH PREVIEW", cmds: []string{examine, "FETCH 1:7,9 PREVIEW", "FETCH 1 (PREVIEW (LAZY))"}},
		{name: "FETCH PREVIEW of a long text", cmds: []string{examine, "FETCH 10 PREVIEW"},
			allowed: "RFC 8970 §3.1 caps a preview at 256 characters and leaves the length to the server: letterbox gives 256, Dovecot 200"},
		// RFC 5267 ESORT and CONTEXT=SEARCH (no UPDATE: a static corpus).
		{name: "ESORT and CONTEXT", cmds: []string{examine,
			"SORT RETURN (MIN MAX COUNT) (SUBJECT) UTF-8 ALL",
			"SORT RETURN (ALL) (REVERSE DATE) UTF-8 ALL",
			"UID SORT RETURN (COUNT) (FROM) UTF-8 SUBJECT hello",
			"SEARCH RETURN (PARTIAL 1:3) ALL",
			"SEARCH RETURN (PARTIAL -1:-2) ALL",
			"SORT RETURN (PARTIAL 2:4) (ARRIVAL) UTF-8 ALL"}},
		// RFC 5465 NOTIFY: setting and clearing event groups.
		{name: "NOTIFY SET and NONE", cmds: []string{
			"NOTIFY SET (SELECTED (MessageNew (UID FLAGS) MessageExpunge FlagChange)) (PERSONAL (MailboxName SubscriptionChange))",
			"NOTIFY SET STATUS (SUBTREE INBOX (MessageNew MessageExpunge))",
			"NOTIFY SET (SELECTED (MessageNew))",
			"NOTIFY NONE"}},
		{name: "NOTIFY SET STATUS INBOXES", cmds: []string{"NOTIFY SET STATUS (INBOXES (MessageNew MessageExpunge))", "NOTIFY NONE"},
			allowed: "RFC 5465 §6.3 leaves which mailboxes are INBOXES to the server (INBOX SHOULD be one): letterbox counts INBOX only, Dovecot every personal mailbox"},
		{name: "NOTIFY unknown event", cmds: []string{"NOTIFY SET (PERSONAL (Bogus))"},
			allowed: "RFC 5465 §5: an event the server does not support gets NO [BADEVENT (supported events)] (letterbox); Dovecot answers BAD"},
		{name: "SEARCH WITHIN", cmds: []string{examine, "SEARCH OLDER 1", "SEARCH YOUNGER 1", "SEARCH YOUNGER 4000000000",
			"SEARCH OLDER 4000000000", "UID SEARCH NOT OLDER 1", "SEARCH OLDER 1 SUBJECT hello", "SEARCH OLDER 0", "SEARCH YOUNGER abc"}},
		// RFC 3501 §6.4.4 CHARSET, RFC 5256 §3 (SORT, THREAD): the search
		// strings are converted from the named charset.
		{name: "SEARCH CHARSET conversions", cmds: []string{examine,
			"SEARCH CHARSET ISO-8859-1 SUBJECT " + lit(in(charmap.ISO8859_1, "grüße")),
			"SEARCH CHARSET ISO-8859-2 SUBJECT " + lit(in(charmap.ISO8859_2, "ZAŻÓŁĆ")),
			"SEARCH CHARSET WINDOWS-1250 BODY " + lit(in(charmap.Windows1250, "gęślą")),
			"SEARCH CHARSET ISO-8859-15 SUBJECT " + lit(in(charmap.ISO8859_15, "€100")),
			"SEARCH CHARSET WINDOWS-1252 BODY " + lit(in(charmap.Windows1252, "Café")),
			"SEARCH CHARSET KOI8-R SUBJECT " + lit(in(charmap.KOI8R, "привет")),
			"SEARCH CHARSET latin1 FROM " + lit(in(charmap.ISO8859_1, "jörg")),
			"SEARCH CHARSET X-UNKNOWN SUBJECT x",
			"SORT (SUBJECT) ISO-8859-1 OR SUBJECT " + lit(in(charmap.ISO8859_1, "grüße")) + " BODY " + lit(in(charmap.ISO8859_1, "größe")),
			"THREAD ORDEREDSUBJECT ISO-8859-2 SUBJECT " + lit(in(charmap.ISO8859_2, "jaźń")),
			"SORT (SUBJECT) X-UNKNOWN ALL",
			"SEARCH CHARSET UTF-8 SUBJECT " + lit("caf\xe9"),
		}},
		// i;unicode-casemap (RFC 5051) as Dovecot folds: titlecase, one
		// level of decomposition (so "cafe" finds "Café"), ß is not SS.
		{name: "SEARCH Unicode case folding", cmds: []string{examine,
			"SEARCH CHARSET UTF-8 SUBJECT " + lit("GRÜSSE"), "SEARCH CHARSET UTF-8 SUBJECT " + lit("GRÜẞE"),
			"SEARCH CHARSET UTF-8 SUBJECT " + lit("gruße"), "SEARCH CHARSET UTF-8 SUBJECT " + lit("MUNCHEN"),
			"SEARCH CHARSET UTF-8 SUBJECT " + lit("zaz"), "SEARCH CHARSET UTF-8 SUBJECT " + lit("ZAŻÓŁĆ GĘŚLĄ"),
			"SEARCH CHARSET UTF-8 FROM " + lit("JÖRG"), "SEARCH CHARSET UTF-8 FROM " + lit("łukasz"),
			"SEARCH CHARSET UTF-8 BODY " + lit("CAFÉ"), "SEARCH CHARSET UTF-8 BODY " + lit("cafe"),
			"SEARCH CHARSET UTF-8 TEXT " + lit("café"), "SEARCH CHARSET UTF-8 BODY " + lit("GRÖSSE"),
			"SEARCH CHARSET UTF-8 BODY " + lit("größe"), "SEARCH CHARSET UTF-8 BODY " + lit("GRO"),
			"SEARCH CHARSET UTF-8 HEADER Subject " + lit("münchen"),
		}},
		// RFC 8508: Dovecot 2.3 has no REPLACE, so it answers BAD where
		// letterbox replaces; the transcript is kept for review.
		{name: "REPLACE", cmds: []string{"CREATE rp", "EXAMINE INBOX", "COPY 1:3 rp", "SELECT rp",
			"REPLACE 2 rp (\\Seen) " + lit("Subject: replaced\r\n\r\nnew\r\n"), "UID REPLACE 3 rp " + lit("Subject: r2\r\n\r\nx\r\n"),
			"UID REPLACE 99 rp " + lit("Subject: r3\r\n\r\nx\r\n"), "FETCH 1:* (UID FLAGS)"},
			allowed: "REPLACE (RFC 8508) is not in Dovecot 2.3.19: Dovecot answers BAD (unknown command), letterbox replaces"},
		// RFC 9586: Dovecot 2.3 has no UIDONLY; ENABLE ignores it there.
		{name: "UIDONLY", cmds: []string{"ENABLE UIDONLY", examine, "FETCH 1 FLAGS", "UID FETCH 1:3 (FLAGS)", "UID SEARCH 1:2", "UID SEARCH UID 1:2"},
			allowed: "UIDONLY (RFC 9586) is not in Dovecot 2.3.19: ENABLE leaves it off there, so sequence numbers still work"},
		// \Marked (RFC 3501 §7.2.2) is an optional hint: Dovecot's Maildir
		// never sends it and the normaliser drops it from LIST, so this
		// compares the rest of the LIST answers around the states that set
		// and clear it (internal/imapserver TestListMarked checks the mark).
		{name: "LIST around \\Marked", cmds: []string{"CREATE mk", `LIST "" mk`, appendCmd("mk", "", "01-Mar-2024 10:00:00 +0000", "Subject: m\r\n\r\nm\r\n"),
			`LIST "" mk`, "EXAMINE mk", `LIST "" mk`, "SELECT mk", "UNSELECT", `LIST "" mk`, `LIST "" "mk*" RETURN (CHILDREN)`}},
		// RFC 7888 LITERAL+ (both servers' default): a non-synchronizing
		// literal above 4096 octets is taken.
		{name: "LITERAL+ above 4096 octets", cmds: []string{"CREATE lp",
			"APPEND lp {5000+}\r\nSubject: big\r\n\r\n" + strings.Repeat("x", 5000-17) + "\r\n", "STATUS lp (MESSAGES)"}},
	}
}

// TestIMAPLiteralMinus: both servers with LITERAL- (Dovecot's
// imap_literal_minus, letterbox's Limits.LiteralMinus): 4096 octets go
// through, 4097 are refused with TOOBIG (RFC 7888 §4).
func TestIMAPLiteralMinus(t *testing.T) {
	eps := []endpoint{startDovecotWith(t, "protocol imap {\n  imap_literal_minus = yes\n}\n"),
		startLetterboxWith(t, func(o *imapserver.Options) { o.Limits.LiteralMinus = true })}
	body := "Subject: lm\r\n\r\n" + strings.Repeat("y", 4096-16) + "\r\n"
	runIMAP(t, eps, imapScript{name: "LITERAL- at 4096", cmds: []string{"CREATE lm",
		"APPEND lm {4096+}\r\n" + body, "STATUS lm (MESSAGES)"}})
	runIMAP(t, eps, imapScript{name: "LITERAL- above 4096", cmds: []string{
		"APPEND lm {4097+}\r\n" + body + "z"},
		// RFC 7888 §4: the command is refused with TOOBIG; the server may
		// then close the connection (Dovecot: "* BYE [TOOBIG]") or read
		// and discard the literal and go on (letterbox: tagged BAD
		// [TOOBIG], the session stays usable).
		allowed: "LITERAL- over 4096: Dovecot * BYE [TOOBIG] and close, letterbox tagged BAD [TOOBIG] and carries on (both RFC 7888 §4)"})
}
