package conformance

import (
	"fmt"
	"strings"
	"testing"
)

// imapScript is one scripted session, sent to both servers on a fresh
// logged-in connection. Sequence numbers refer to the corpus in INBOX
// (1 plain ... 10 large, 11 dots). Scripts that change mail first copy the corpus into
// a mailbox of their own, so later scripts see the same INBOX.
type imapScript struct {
	name string
	cmds []string
	// allowed names a difference judged legitimate (both answers
	// conform); the diff is logged and the subtest passes.
	allowed string
}

// lit is a synchronizing literal (RFC 3501 §4.3) holding s.
func lit(s string) string { return fmt.Sprintf("{%d}\r\n%s", len(s), s) }

// raw marks a command sent without a tag; the text after the "|" is the
// prefix of the response that ends it.
func raw(data, until string) string { return "RAW:" + data + "|" + until }

func TestIMAP(t *testing.T) {
	eps := []endpoint{startDovecot(t), startLetterbox(t)}

	var appendCmds []string
	for _, m := range corpus {
		appendCmds = append(appendCmds, appendCmd("INBOX", m.flags, m.date, m.raw()))
	}
	// The corpus goes in first; its APPEND answers are compared too
	// (APPENDUID, RFC 4315 §3).
	runIMAP(t, eps, imapScript{name: "APPEND corpus", cmds: appendCmds})

	for _, s := range append(imapScripts(), imapExtScripts()...) { // imapext_test.go
		runIMAP(t, eps, s)
	}
}

// runIMAP runs one script against both servers and compares the transcripts.
func runIMAP(t *testing.T, eps []endpoint, s imapScript) {
	t.Run(s.name, func(t *testing.T) {
		var got []transcript
		for _, ep := range eps {
			ic := dialIMAP(t, ep.imap)
			ic.login()
			v := vars{}
			var tr transcript
			for _, script := range s.cmds {
				// The transcript shows the command as scripted: $-values
				// are each server's own.
				cmd := v.expand(script)
				var resps []string
				if data, ok := strings.CutPrefix(cmd, "RAW:"); ok {
					data, until, _ := strings.Cut(data, "|")
					resps = ic.raw(data, until)
				} else {
					resps = ic.command(cmd)
				}
				v.capture(resps)
				tr = append(tr, "C: "+script)
				tr = append(tr, normaliseIMAP(cmd, resps)...)
			}
			got = append(got, tr)
		}
		report(t, s, got[0], got[1])
	})
}

func imapScripts() []imapScript {
	examine := "EXAMINE INBOX"
	// wellFormed leaves out message 8, the malformed one: how to read a
	// header without a colon or a multipart without a boundary is not
	// specified anywhere; the "malformed message" script shows both answers.
	const wellFormed = "1:7,9:10"
	fetch := func(name, items string, extra ...string) imapScript {
		return imapScript{name: "FETCH " + name, cmds: append([]string{examine, "FETCH " + wellFormed + " " + items}, extra...)}
	}
	search := func(name string, keys ...string) imapScript {
		s := imapScript{name: "SEARCH " + name, cmds: []string{examine}}
		for _, k := range keys {
			s.cmds = append(s.cmds, "SEARCH "+k)
		}
		return s
	}
	copyCorpus := func(mbox string) []string {
		return []string{"CREATE " + mbox, "EXAMINE INBOX", "COPY 1:* " + mbox, "SELECT " + mbox}
	}
	return []imapScript{
		{name: "SELECT and EXAMINE", cmds: []string{"SELECT INBOX", "EXAMINE INBOX", "SELECT INBOX", "UNSELECT"}},

		fetch("ENVELOPE", "ENVELOPE"),
		fetch("BODYSTRUCTURE", "BODYSTRUCTURE"),
		fetch("BODY", "BODY"),
		fetch("BODY[1]", "BODY.PEEK[1]"),
		fetch("BODY[1.MIME]", "BODY.PEEK[1.MIME]"),
		{name: "FETCH BODY[2] and BODY[2.MIME]", cmds: []string{examine, "FETCH 2:4 (BODY.PEEK[2] BODY.PEEK[2.MIME])"}},
		imapScript{name: "FETCH nested parts", cmds: []string{examine,
			"FETCH 4 (BODY.PEEK[2.HEADER] BODY.PEEK[2.TEXT])",
			"FETCH 4 (BODY.PEEK[2.1] BODY.PEEK[2.2] BODY.PEEK[2.1.MIME] BODY.PEEK[2.MIME])",
			"FETCH 4 (BODY.PEEK[2.HEADER.FIELDS (SUBJECT FROM)])",
			"FETCH 4 (BINARY.SIZE[2.1] BODY.PEEK[2.1]<3.5>)"}},
		{name: "FETCH nonexistent part", cmds: []string{examine, "FETCH 1:* (BODY.PEEK[2.HEADER] BODY.PEEK[2.TEXT])", "FETCH 1 BODY.PEEK[3]", "FETCH 5 (BODY.PEEK[2] BODY.PEEK[2.MIME])"},
			// A section that does not exist: RFC 3501 §6.4.5 / RFC 9051
			// §6.4.5 do not say what to answer; the response grammar is
			// nstring, so NIL (letterbox) and "" (Dovecot) both parse.
			allowed: `nonexistent section: letterbox NIL, Dovecot empty string; both are nstring (RFC 3501 §9 msg-att-static)`},
		fetch("BODY[HEADER]", "BODY.PEEK[HEADER]"),
		fetch("BODY[HEADER.FIELDS]", "BODY.PEEK[HEADER.FIELDS (SUBJECT FROM X-NOTE)]",
			"FETCH 1:* BODY.PEEK[HEADER.FIELDS (subject Message-ID)]"),
		fetch("BODY[HEADER.FIELDS.NOT]", "BODY.PEEK[HEADER.FIELDS.NOT (Subject Date From To Message-ID MIME-Version Content-Type Content-Transfer-Encoding)]"),
		fetch("BODY[TEXT]<0.10>", "BODY.PEEK[TEXT]<0.10>",
			"FETCH 1:3 BODY.PEEK[TEXT]<5.20>",
			"FETCH 1 BODY.PEEK[]<100000.10>",
			"FETCH 10 BODY.PEEK[1]<12990.100>"),
		{name: "FETCH partial of length 0", cmds: []string{examine, "FETCH 1 BODY.PEEK[1]<0.0>"},
			// partial = "<" number "." nz-number ">" (RFC 3501 §9): a zero
			// length is a syntax error, so letterbox's BAD is right and
			// Dovecot is lenient.
			allowed: "BODY[]<0.0>: letterbox BAD (right: nz-number, RFC 3501 §9), Dovecot OK with an empty string"},
		fetch("BODY[]", "BODY.PEEK[]"),
		{name: "FETCH RFC822.SIZE", cmds: []string{examine, "FETCH 1:* RFC822.SIZE"}},
		fetch("RFC822.HEADER", "RFC822.HEADER"),
		{name: "FETCH INTERNALDATE and FLAGS", cmds: []string{examine, "FETCH 1:* (INTERNALDATE FLAGS UID)"}},
		fetch("macros", "FAST", "FETCH "+wellFormed+" ALL", "FETCH "+wellFormed+" FULL"),
		fetch("BINARY.SIZE", "BINARY.SIZE[1]", "FETCH 3 BINARY.SIZE[2]", "FETCH 2 BINARY.SIZE[2]", "FETCH 5 BINARY.SIZE[1]"),
		fetch("BINARY[]", "BINARY.PEEK[1]", "FETCH 3 BINARY.PEEK[2]", "FETCH 3 BINARY.PEEK[2]<0.8>", "FETCH 5 BINARY.PEEK[1]<4.6>"),
		{name: "UID FETCH", cmds: []string{examine, "UID FETCH 2:4 (FLAGS RFC822.SIZE)", "UID FETCH 1:* UID", "UID FETCH 100:* UID", "UID FETCH 50 FLAGS", "UID FETCH 9:* (UID)"}},
		{name: "FETCH non-PEEK sets \\Seen", cmds: append(copyCorpus("seen"),
			"FETCH 1 BODY[TEXT]", "FETCH 1 FLAGS", "FETCH 3 RFC822.TEXT", "FETCH 4 BODY[1]", "FETCH 4 BODY[1]", "FETCH 5 RFC822", "FETCH 6 BINARY[1]", "FETCH 7 RFC822.HEADER", "FETCH 7 FLAGS")},
		{name: "malformed message", cmds: []string{examine, "FETCH 8 (ENVELOPE BODYSTRUCTURE)", "FETCH 8 (BODY.PEEK[1] BINARY.SIZE[1])",
			"FETCH 8 BODY.PEEK[HEADER.FIELDS.NOT (Subject Date From To)]", "SEARCH TO alice", "SEARCH TEXT mangoes", "SEARCH BODY mangoes"},
			// No RFC says how to parse "From: <<broken@@example..com", a
			// header line without a colon, or a multipart without a
			// boundary. Dovecot invents MISSING_MAILBOX/SYNTAX_ERROR
			// addresses, keeps the colon-less line as a header and sees an
			// empty first part; letterbox gives NIL addresses (RFC 3501
			// §7.4.2 allows NIL for an absent/unusable field), drops the
			// line and treats the whole body as part 1.
			allowed: "malformed message 8: parsing of broken headers/multipart is unspecified"},

		search("simple keys", "ALL", "SUBJECT hello", "SUBJECT Report", "FROM bob", "FROM joerg", "CC judy", "CC karl", "BCC nobody", "TO dave", "TO undisclosed", "CC Friends"),
		search("encoded words", "CHARSET UTF-8 SUBJECT "+lit("Grüße"), "CHARSET UTF-8 SUBJECT "+lit("München"),
			"CHARSET UTF-8 FROM "+lit("Jörg"), "CHARSET UTF-8 TO "+lit("André"), "CHARSET UTF-8 SUBJECT "+lit("€100"),
			"CHARSET UTF-8 SUBJECT "+lit("Zażółć"), "SUBJECT =?UTF-8?Q?Gr=C3=BC=C3=9Fe", "CHARSET US-ASCII SUBJECT hello", "CHARSET X-BOGUS SUBJECT x",
			"CHARSET utf-8 SUBJECT "+lit("GRÜSSE"), "CHARSET UTF-8 SUBJECT "+lit("grüße")),
		{name: "SEARCH raw 8-bit atom", cmds: []string{examine, "SEARCH SUBJECT München"},
			// An atom is 7-bit (RFC 3501 §9 ATOM-CHAR is a CHAR, %x01-7F);
			// Dovecot's BAD is strictly right, letterbox reads the UTF-8.
			allowed: "8-bit in an atom: Dovecot BAD (strictly right, RFC 3501 §9), letterbox lenient"},
		search("body and text", "BODY apples", "BODY bananas", "CHARSET UTF-8 BODY "+lit("Café"), "BODY Grapefruit", "BODY figs",
			"BODY elderberries", "TEXT kiwis", "TEXT joerg", "TEXT Group", "CHARSET UTF-8 BODY "+lit("nectarines"), "BODY Apples", "BODY JVBERi0", "TEXT lemons",
			"BODY Caf=C3=A9", "TEXT X-Note", "TEXT Heidi"),
		{name: "SEARCH BODY in an attached message's header", cmds: []string{examine, "SEARCH BODY Heidi", "SEARCH BODY Original"},
			// Message 4's body holds a message/rfc822 part whose header
			// names Heidi. RFC 3501 §6.4.4 BODY: "contain the specified
			// string in the body of the message"; that header is body text
			// of the outer message, so letterbox's match is literal. Dovecot
			// searches only the decoded text parts.
			allowed: "SEARCH BODY matching text in an embedded message's header: letterbox yes (literal reading of RFC 3501 §6.4.4), Dovecot no"},
		search("HEADER", `HEADER Message-ID "<alt-2@example.net>"`, `HEADER X-Note ""`, `HEADER In-Reply-To plain`, `HEADER Subject Original`, `HEADER x-note from`, `HEADER Content-Type multipart`),
		search("size and dates", "LARGER 5000", "SMALLER 600", "LARGER 100 SMALLER 700", "SINCE 05-Feb-2024", "BEFORE 03-Feb-2024", "ON 04-Feb-2024",
			"SENTSINCE 05-Feb-2024", "SENTON 04-Feb-2024", "SENTON 02-Feb-2024", "SINCE 1-Feb-2024", "LARGER 330", "SMALLER 330"),
		{name: "SEARCH SENTBEFORE without a Date", cmds: []string{examine, "SEARCH SENTBEFORE 02-Feb-2024", "SEARCH SENTSINCE 01-Jan-1970"},
			// RFC 3501 §6.4.4: SENTBEFORE compares the Date: header. Message
			// 7 has none and 8 an unparsable one; Dovecot treats both as
			// dated 1970 (so "before" anything), letterbox matches neither.
			// letterbox follows the text; Dovecot's choice is also common.
			allowed: "SENTBEFORE/SENTSINCE on messages without a usable Date: header"},
		search("flags", "SEEN", "UNSEEN", "FLAGGED", "UNFLAGGED", "ANSWERED", "KEYWORD $Work", "UNKEYWORD $Work", "DELETED", "DRAFT", "NEW", "OLD", "RECENT"),
		search("OR NOT and sets", "OR FROM bob SUBJECT report", "NOT SEEN", "NOT OR SEEN FLAGGED", "2:4 NOT 3", "5:*", "*", "UID 2:4", "(FROM bob SUBJECT larger)",
			"OR OR SEEN FLAGGED ANSWERED", "1,3,5:6 BODY the", "NOT NOT SEEN", "UID 9:*", "UID 100:*", "2,4:3", "OR (SEEN FLAGGED) (NOT SEEN ANSWERED)"),
		{name: "UID SEARCH", cmds: []string{examine, "UID SEARCH ALL", "UID SEARCH 3:5", "UID SEARCH UID 3:5 NOT SEEN"}},

		{name: "STORE", cmds: append(copyCorpus("st"),
			`STORE 1 +FLAGS (\Deleted)`, `STORE 4:5 FLAGS (\Seen \Draft)`, `STORE 1:* -FLAGS.SILENT (\Seen)`, `FETCH 1:* FLAGS`,
			`UID STORE 4 +FLAGS (\Answered)`, `STORE 5 +FLAGS.SILENT (\Flagged)`, `STORE 3 -FLAGS ($Work)`, `STORE 3 FLAGS ()`,
			`STORE 1 +FLAGS (\Bogus)`, `STORE 99 +FLAGS (\Seen)`, `UID STORE 99 +FLAGS (\Seen)`, `STORE 1 FLAGS \Draft`,
			`UID STORE 1:* FLAGS.SILENT ()`, `FETCH 1:* (UID FLAGS)`)},
		{name: "STORE that changes nothing", cmds: append(copyCorpus("st-noop"), `STORE 6 -FLAGS (\Flagged)`, `STORE 2 +FLAGS (\Seen)`, `UID STORE 3 +FLAGS ($Work)`),
			// RFC 3501 §6.4.6: STORE "normally" returns the updated flags in
			// an untagged FETCH; letterbox does even when nothing changed,
			// Dovecot sends nothing then. Both conform.
			allowed: "no-op STORE: letterbox sends the (unchanged) FLAGS, Dovecot nothing (RFC 3501 §6.4.6 'normally')"},
		// RFC 3501 §7.2.6: a new keyword is announced with * FLAGS and
		// PERMANENTFLAGS (clients such as Thunderbird learn keywords from it).
		{name: "STORE new keyword announces FLAGS", cmds: append(copyCorpus("st-kw"), `STORE 2:3 +FLAGS (foo)`, `UID STORE 4 +FLAGS ($Custom)`, `FETCH 2:4 FLAGS`)},
		// RFC 3501 §2.3.2: \Recent "can not be altered by the client";
		// Dovecot answers BAD to STORE and APPEND naming it.
		{name: "STORE \\Recent", cmds: append(copyCorpus("st-recent"), `STORE 1 +FLAGS (\Recent)`, `STORE 1 -FLAGS (\Recent)`,
			`STORE 1 FLAGS (\Seen \Recent)`, `UID STORE 1 +FLAGS.SILENT (\recent)`, `FETCH 1 FLAGS`)},
		{name: "APPEND \\Recent", cmds: []string{"CREATE ap-recent",
			appendCmd("ap-recent", `\Recent`, "01-Jan-2024 10:00:00 +0000", "Subject: r\r\n\r\nbody\r\n"),
			appendCmd("ap-recent", `\Seen \Recent`, "01-Jan-2024 10:00:00 +0000", "Subject: r\r\n\r\nbody\r\n"),
			appendCmd("ap-recent", `\Seen`, "01-Jan-2024 10:00:00 +0000", "Subject: r\r\n\r\nbody\r\n"),
			"STATUS ap-recent (MESSAGES)"}},
		{name: "empty mailbox sequence sets", cmds: []string{"CREATE empty", "SELECT empty", "FETCH * FLAGS", "FETCH 1:* FLAGS", "UID FETCH 1:* FLAGS",
			`STORE 1:* +FLAGS (\Seen)`, "SEARCH 1:*", "UID SEARCH *", "COPY 1:* INBOX", "UID EXPUNGE 1:*"},
			// RFC 3501 §9 seq-number: a server "should" answer BAD to "*" in
			// an empty mailbox; letterbox deliberately selects nothing
			// (seqset.go), as clients send "1:*" routinely.
			allowed: `"*" in an empty mailbox: Dovecot BAD (RFC 3501 §9 "should"), letterbox OK selecting nothing`},
		{name: "COPY and MOVE", cmds: append(copyCorpus("cm-src"),
			"CREATE cm", "COPY 2:4 cm", "UID COPY 8:9 cm", "MOVE 1 cm", "UID MOVE 5:6 cm", "MOVE 1:2 cm", "STATUS cm (MESSAGES UIDNEXT UNSEEN)",
			"COPY 1 nonexistent", "MOVE 1 nonexistent", "COPY 99 cm", "UID COPY 99 cm", "FETCH 1:* UID", "SELECT cm", "FETCH 1:* (UID FLAGS)")},
		{name: "EXPUNGE", cmds: append(copyCorpus("ex"),
			`STORE 2,4,5,9 +FLAGS.SILENT (\Deleted)`, "EXPUNGE", "FETCH 1:* UID", `STORE 1,6 +FLAGS.SILENT (\Deleted)`, "UID EXPUNGE 1",
			"FETCH 1:* UID", "UID EXPUNGE 1:*", "FETCH 1:* UID", `STORE 1:* +FLAGS.SILENT (\Deleted)`, "CLOSE", "STATUS ex (MESSAGES)", "EXPUNGE")},
		{name: "STATUS", cmds: []string{"STATUS INBOX (MESSAGES RECENT UIDNEXT UNSEEN)", "STATUS INBOX (UIDVALIDITY)", "STATUS Sent (MESSAGES UNSEEN)",
			"STATUS nonexistent (MESSAGES)", "STATUS INBOX ()", "STATUS INBOX (BOGUS)", "STATUS inbox (MESSAGES)", "STATUS INBOX MESSAGES"}},
		{name: "LIST", cmds: []string{"CREATE Work", "CREATE Work/Projects", "CREATE Work/Projects/2024", "CREATE Personal", "CREATE Personal/Travel", "CREATE Work/",
			`LIST "" %`, `LIST "" *`, `LIST "" Work/%`, `LIST "" "Work/*"`, `LIST "" ""`, `LIST "" INBOX`, `LIST "" inbox`, `LIST "" W*`, `LIST "" %/%`,
			`LIST Work %`, `LIST "" nonexistent`, `LSUB "" *`, "SUBSCRIBE Work", `LSUB "" *`, `LSUB "" %`, `LIST (SUBSCRIBED) "" "*"`,
			`LIST "" "*" RETURN (SPECIAL-USE)`, `LIST (SPECIAL-USE) "" "*"`, `LIST "" "%" RETURN (CHILDREN)`, `LIST "" (INBOX Work)`,
			`LIST "" "*" RETURN (STATUS (MESSAGES UNSEEN))`, "DELETE Work/Projects/2024", `LIST "" "Work/*"`, "RENAME Personal Private", `LIST "" "*"`}},
		{name: "LIST after CREATE of a nested name", cmds: []string{"CREATE Implicit/Child", `LIST "" Implicit*`, `LIST "" "Implicit/%" RETURN (CHILDREN)`, "SELECT Implicit"},
			// RFC 3501 §6.3.3: the server SHOULD create superior names a
			// CREATE needs. letterbox makes "Implicit" a real mailbox;
			// Dovecot (Maildir++) leaves it \Noselect / \NonExistent.
			allowed: "CREATE a/b: letterbox creates a selectable parent (RFC 3501 §6.3.3 SHOULD), Dovecot a \\Noselect placeholder"},
		{name: "CONDSTORE", cmds: []string{"CREATE cs", "EXAMINE INBOX", "COPY 1:5 cs", "SELECT cs (CONDSTORE)", "FETCH 1:* (FLAGS MODSEQ)",
			`STORE 1 +FLAGS (\Answered)`, "FETCH 1:* (FLAGS) (CHANGEDSINCE $HMS)", "SEARCH MODSEQ $MS", `STORE 4 (UNCHANGEDSINCE $MS) +FLAGS (\Answered)`,
			`STORE 1,4,5 (UNCHANGEDSINCE $HMS) +FLAGS (\Draft)`, "FETCH 1:* (FLAGS) (CHANGEDSINCE $HMS)", "UID FETCH 1:* (FLAGS) (CHANGEDSINCE $HMS)",
			"FETCH 1 (FLAGS) (CHANGEDSINCE)", "NOOP"}},
		{name: "CONDSTORE no-op STORE keeps MODSEQ", cmds: []string{"CREATE cs2", "EXAMINE INBOX", "COPY 1:5 cs2", "SELECT cs2 (CONDSTORE)",
			`STORE 2 +FLAGS.SILENT (\Seen)`, "FETCH 1:* (FLAGS) (CHANGEDSINCE $HMS)", `STORE 3 -FLAGS.SILENT (\Deleted)`, "FETCH 1:* (FLAGS) (CHANGEDSINCE $HMS)"}},
		{name: "SEARCH unknown keyword", cmds: []string{examine, "SEARCH KEYWORD nosuch", "SEARCH UNKEYWORD nosuch"},
			// Dovecot registers the searched keyword and announces FLAGS;
			// nothing asks a server to (RFC 3501 §6.4.4 KEYWORD).
			allowed: "SEARCH KEYWORD of an unknown keyword: Dovecot sends a FLAGS update, letterbox does not; the result is the same"},
		{name: "errors in authenticated state", cmds: []string{"FETCH 1 FLAGS", "STORE 1 +FLAGS (\\Seen)", "SEARCH ALL", "EXPUNGE", "CLOSE",
			"SELECT nonexistent", "SELECT", "CREATE INBOX", "DELETE INBOX", "RENAME nonexistent other", "LOGIN a b", "BOGUSCMD", "DELETE nonexistent"}},
		{name: "errors in selected state", cmds: []string{examine, "FETCH", "FETCH 1", "FETCH 1 (FOO)", "FETCH 1 BODY[4.X]", "FETCH 0 FLAGS", "FETCH 99 FLAGS",
			"FETCH 1:x FLAGS", "SEARCH FOO", "SEARCH", "SEARCH SINCE notadate", "SEARCH LARGER x",
			"COPY 1", "FETCH 1 (FLAGS", `FETCH 1 BODY[HEADER.FIELDS ()]`, "UID", "UID BOGUS 1"}},
		{name: "strict syntax and read-only", cmds: []string{examine, "STORE 1 FLAGS", "NOOP extra", `STORE 1 FLAGS (\Draft) (\Seen)`, "STORE 1 +FLAGS (\\Seen)", "EXPUNGE", "FETCH 1 FLAGS"},
			// RFC 3501 §9: store-att-flags needs at least one flag (and one
			// flag list), NOOP takes no arguments, so BAD (letterbox) is
			// right where Dovecot says OK. After EXAMINE no change is
			// permitted (RFC 3501 §6.3.2); letterbox answers STORE with
			// NO [READ-ONLY], Dovecot OK doing nothing. letterbox is right
			// in each case. (EXPUNGE after EXAMINE: both OK, nothing
			// removed.)
			allowed: "letterbox stricter than Dovecot: STORE without flags, NOOP with arguments (BAD, RFC 3501 §9); STORE after EXAMINE (NO, RFC 3501 §6.3.2)"},
		{name: "METADATA", cmds: []string{
			`SETMETADATA INBOX (/private/comment "hello" /Shared/Comment ` + lit("two words") + `)`,
			"GETMETADATA INBOX (/private/comment /shared/comment /private/none)",
			"GETMETADATA INBOX /PRIVATE/Comment",
			"GETMETADATA (MAXSIZE 5) INBOX (/private/comment /shared/comment)",
			`SETMETADATA INBOX (/private/a "1" /private/a/b "22" /private/a/b/c "333" /private/ab "x")`,
			"GETMETADATA (DEPTH 0) INBOX /private/a", "GETMETADATA (DEPTH 1) INBOX /private/a",
			"GETMETADATA (DEPTH 1) INBOX /private/nothing",
			"SETMETADATA INBOX (/private/a/b NIL /private/never NIL)", "GETMETADATA (DEPTH infinity) INBOX /private/a",
			`SETMETADATA INBOX (/private/empty "")`, "GETMETADATA INBOX /private/empty",
			"GETMETADATA Sent /private/specialuse", "GETMETADATA INBOX /private/specialuse",
			`SETMETADATA Sent (/private/specialuse "\\Trash")`,
			`GETMETADATA "" (/shared/admin /shared/comment)`, `SETMETADATA "" (/shared/comment "x")`,
			`SETMETADATA "" (/private/theme "dark")`, `GETMETADATA "" /private/theme`,
			"GETMETADATA nonexistent /private/comment", `SETMETADATA nonexistent (/private/comment "x")`,
			"CREATE md", `SETMETADATA md (/private/comment "md")`, "RENAME md md2", "GETMETADATA md2 /private/comment",
			"DELETE md2", "CREATE md2", "GETMETADATA md2 /private/comment",
			"GETMETADATA INBOX /private/a*b", "GETMETADATA INBOX /private//x", "GETMETADATA INBOX /private/x/",
			"GETMETADATA INBOX private/x", "GETMETADATA INBOX /other/x", "GETMETADATA (DEPTH 2) INBOX /private",
			"GETMETADATA (FOO 1) INBOX /private", `SETMETADATA INBOX (/private/ok "1" /bad "2")`, "GETMETADATA INBOX /private/ok",
		}},
		{name: "METADATA DEPTH infinity", cmds: []string{
			`SETMETADATA INBOX (/private/d "1" /private/d/e "22" /private/d/e/f "333")`, "GETMETADATA (DEPTH infinity) INBOX /private/d"},
			allowed: "order of the entries in a METADATA response: Dovecot's dictionary order, letterbox sorted by name; RFC 5464 §4.2 sets none"},
		{name: "errors without a usable tag", cmds: []string{raw("\r\n", "* "), raw("*\r\n", "* "), raw("a99\r\n", "a99 "), raw("+ NOOP\r\n", "* BAD"), "NOOP"}},
		// RFC 3502 MULTIAPPEND (one APPENDUID with a set; a bad date in the
		// third message or a missing mailbox stores none) and RFC 4469
		// CATENATE (TEXT and URL parts, sections, a partial, BADURL).
		{name: "MULTIAPPEND and CATENATE", cmds: []string{"CREATE ma",
			`APPEND ma (\Seen) ` + lit("Subject: a\r\n") + ` "05-Mar-2021 10:00:00 +0000" ` + lit("Subject: b\r\n") + ` (\Flagged) ` + lit("Subject: c\r\n"),
			`APPEND ma ` + lit("Subject: f\r\n") + ` ` + lit("Subject: g\r\n") + ` "31-Foo-2021 10:00:00 +0100" ` + lit("Subject: h\r\n"),
			`APPEND nope ` + lit("Subject: i\r\n") + ` ` + lit("Subject: j\r\n"),
			`APPEND ma CATENATE (TEXT ` + lit("Subject: cat\r\n\r\n") + ` URL "/INBOX/;UID=2/;SECTION=TEXT" URL "/INBOX/;UID=1/;SECTION=HEADER.FIELDS%20(SUBJECT)" URL "/INBOX/;UID=1/;SECTION=1/;PARTIAL=2.3")`,
			`APPEND ma ` + lit("Subject: x\r\n") + ` CATENATE (URL "/INBOX/;UID=3/;SECTION=HEADER") CATENATE (TEXT ` + lit("Subject: y\r\n") + `)`,
			`APPEND ma CATENATE (URL "/INBOX/;UID=99")`,
			`APPEND ma CATENATE (URL "/nope/;UID=1")`,
			`APPEND ma CATENATE (URL "/INBOX;UIDVALIDITY=1/;UID=1")`,
			"STATUS ma (MESSAGES UIDNEXT)", "SELECT ma", "FETCH 1:* (FLAGS BODY[])", "FETCH 2 INTERNALDATE"}},
	}
}
