package imap

import (
	"bufio"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
)

func newTestReader(in string, opts ReaderOptions) *Reader {
	return NewReader(bufio.NewReader(strings.NewReader(in)), opts)
}

// parseOne parses a single command line (CRLF appended).
func parseOne(t *testing.T, line string) (*Command, error) {
	t.Helper()
	return newTestReader(line+"\r\n", ReaderOptions{}).ReadCommand()
}

func seq(s string) SeqSet {
	set, err := ParseSeqSet(s)
	if err != nil {
		panic(err)
	}
	return set
}

func strp(s string) *string { return &s }

func TestParseValid(t *testing.T) {
	date := time.Date(1994, 2, 7, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		line string
		want Command
	}{
		{"a CAPABILITY", Command{Tag: "a", Name: "CAPABILITY"}},
		{"a1 noop", Command{Tag: "a1", Name: "NOOP"}},
		{"A.B LOGOUT", Command{Tag: "A.B", Name: "LOGOUT"}},
		{"t STARTTLS", Command{Tag: "t", Name: "STARTTLS"}},
		{"t CHECK", Command{Tag: "t", Name: "CHECK"}},
		{"t CLOSE", Command{Tag: "t", Name: "CLOSE"}},
		{"t UNSELECT", Command{Tag: "t", Name: "UNSELECT"}},
		{"t EXPUNGE", Command{Tag: "t", Name: "EXPUNGE"}},
		{"t NAMESPACE", Command{Tag: "t", Name: "NAMESPACE"}},
		{"t IDLE", Command{Tag: "t", Name: "IDLE"}},
		{"t UID EXPUNGE 3:5,7", Command{Tag: "t", Name: "EXPUNGE", UID: true, Args: &ExpungeArgs{UIDs: seq("3:5,7")}}},
		{"t AUTHENTICATE plain", Command{Tag: "t", Name: "AUTHENTICATE", Args: &AuthenticateArgs{Mechanism: "PLAIN"}}},
		{"t AUTHENTICATE PLAIN AGJvYgBwdw==", Command{Tag: "t", Name: "AUTHENTICATE", Args: &AuthenticateArgs{Mechanism: "PLAIN", InitialResponse: []byte("\x00bob\x00pw")}}},
		{"t AUTHENTICATE PLAIN =", Command{Tag: "t", Name: "AUTHENTICATE", Args: &AuthenticateArgs{Mechanism: "PLAIN", InitialResponse: []byte{}}}},
		{`t LOGIN bob "p w\"\\"`, Command{Tag: "t", Name: "LOGIN", Args: &LoginArgs{Username: "bob", Password: `p w"\`}}},
		{`t LOGIN "" ""`, Command{Tag: "t", Name: "LOGIN", Args: &LoginArgs{}}},
		{"t SELECT inbox", Command{Tag: "t", Name: "SELECT", Args: &SelectArgs{Mailbox: "INBOX"}}},
		{"t EXAMINE Archive/2024", Command{Tag: "t", Name: "EXAMINE", Args: &SelectArgs{Mailbox: "Archive/2024"}}},
		{"t SELECT INBOX (CONDSTORE)", Command{Tag: "t", Name: "SELECT", Args: &SelectArgs{Mailbox: "INBOX", CondStore: true}}},
		{"t SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))", Command{Tag: "t", Name: "SELECT", Args: &SelectArgs{Mailbox: "INBOX",
			QResync: &QResyncParams{UIDValidity: 67890007, ModSeq: 20050715194045000, KnownUIDs: ptrSeq("41,43:211,214:541")}}}},
		{"t SELECT INBOX (QRESYNC (67890007 90060115194045000 1:29997 (5000,7500,9000,9990:9999 15000,22500,27000,29970,29973,29976,29979,29982,29985,29988,29991,29994,29997)))",
			Command{Tag: "t", Name: "SELECT", Args: &SelectArgs{Mailbox: "INBOX", QResync: &QResyncParams{UIDValidity: 67890007, ModSeq: 90060115194045000, KnownUIDs: ptrSeq("1:29997"),
				SeqMatch: &SeqMatchData{Seqs: seq("5000,7500,9000,9990:9999"), UIDs: seq("15000,22500,27000,29970,29973,29976,29979,29982,29985,29988,29991,29994,29997")}}}}},
		{"t SELECT INBOX (QRESYNC (1 2 (1 4)))", Command{Tag: "t", Name: "SELECT", Args: &SelectArgs{Mailbox: "INBOX", QResync: &QResyncParams{UIDValidity: 1, ModSeq: 2, SeqMatch: &SeqMatchData{Seqs: seq("1"), UIDs: seq("4")}}}}},
		{"t CREATE Foo/Bar", Command{Tag: "t", Name: "CREATE", Args: &CreateArgs{Mailbox: "Foo/Bar"}}},
		{`t CREATE MySent (USE (\sent))`, Command{Tag: "t", Name: "CREATE", Args: &CreateArgs{Mailbox: "MySent", SpecialUse: []string{`\sent`}}}},
		{"t DELETE &AOk-t&AOk-", Command{Tag: "t", Name: "DELETE", Args: &MailboxArgs{Mailbox: "été"}}},
		{"t SUBSCRIBE x", Command{Tag: "t", Name: "SUBSCRIBE", Args: &MailboxArgs{Mailbox: "x"}}},
		{"t UNSUBSCRIBE {1}\r\nx", Command{Tag: "t", Name: "UNSUBSCRIBE", Args: &MailboxArgs{Mailbox: "x"}}},
		{"t RENAME a \"b c\"", Command{Tag: "t", Name: "RENAME", Args: &RenameArgs{From: "a", To: "b c"}}},
		{`t LIST "" *`, Command{Tag: "t", Name: "LIST", Args: &ListArgs{Reference: "", Patterns: []string{"*"}}}},
		{`t LIST ~/Mail/ %/x`, Command{Tag: "t", Name: "LIST", Args: &ListArgs{Reference: "~/Mail/", Patterns: []string{"%/x"}}}},
		{`t LIST "" ""`, Command{Tag: "t", Name: "LIST", Args: &ListArgs{Patterns: []string{""}}}},
		{`t LIST (SUBSCRIBED REMOTE RECURSIVEMATCH SPECIAL-USE) "" ("INBOX" Sent*)`, Command{Tag: "t", Name: "LIST", Args: &ListArgs{Extended: true,
			Selection: ListSelection{Subscribed: true, Remote: true, RecursiveMatch: true, SpecialUse: true}, Patterns: []string{"INBOX", "Sent*"}}}},
		{`t LIST () "" % RETURN (SUBSCRIBED CHILDREN SPECIAL-USE STATUS (MESSAGES UNSEEN size))`, Command{Tag: "t", Name: "LIST", Args: &ListArgs{Extended: true,
			Patterns: []string{"%"}, Return: ListReturn{Subscribed: true, Children: true, SpecialUse: true, Status: []string{"MESSAGES", "UNSEEN", "SIZE"}}}}},
		{`t LIST "" % RETURN ()`, Command{Tag: "t", Name: "LIST", Args: &ListArgs{Extended: true, Patterns: []string{"%"}}}},
		{`t LSUB "#news." "comp.mail.*"`, Command{Tag: "t", Name: "LSUB", Args: &ListArgs{Reference: "#news.", Patterns: []string{"comp.mail.*"}}}},
		{"t STATUS blurdybloop (UIDNEXT MESSAGES recent UIDVALIDITY UNSEEN DELETED deleted-storage SIZE HIGHESTMODSEQ)", Command{Tag: "t", Name: "STATUS", Args: &StatusArgs{Mailbox: "blurdybloop",
			Items: []string{"UIDNEXT", "MESSAGES", "RECENT", "UIDVALIDITY", "UNSEEN", "DELETED", "DELETED-STORAGE", "SIZE", "HIGHESTMODSEQ"}}}},
		{"t SEARCH ALL", Command{Tag: "t", Name: "SEARCH", Args: &SearchArgs{Key: and(SearchKey{Name: "ALL"})}}},
		{"t UID SEARCH CHARSET utf-8 FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"", Command{Tag: "t", Name: "SEARCH", UID: true, Args: &SearchArgs{Charset: "UTF-8",
			Key: and(SearchKey{Name: "FLAGGED"}, SearchKey{Name: "SINCE", Date: time.Date(1994, 2, 1, 0, 0, 0, 0, time.UTC)},
				SearchKey{Name: "NOT", Children: []SearchKey{{Name: "FROM", Value: "Smith"}}})}}},
		{"t SEARCH RETURN () 1:*", Command{Tag: "t", Name: "SEARCH", Args: &SearchArgs{Return: []string{}, Key: and(SearchKey{Name: SearchSeqSet, Seq: seq("1:*")})}}},
		{"t SEARCH RETURN (MIN MAX ALL COUNT SAVE) $", Command{Tag: "t", Name: "SEARCH", Args: &SearchArgs{Return: []string{"MIN", "MAX", "ALL", "COUNT", "SAVE"}, Key: and(SearchKey{Name: SearchSeqSet, Seq: SeqSet{Dollar: true}})}}},
		{`t SEARCH OR (ANSWERED BCC b) NOT (CC c) BODY "x y" BEFORE "7-Feb-1994" DELETED DRAFT HEADER X-Foo "" KEYWORD $Junk LARGER 100 NEW OLD ON 07-Feb-1994 RECENT SEEN SENTBEFORE 7-feb-1994 SENTON 7-Feb-1994 SENTSINCE 7-Feb-1994 SMALLER 5 SUBJECT {2}` + "\r\nhi TEXT t TO u UID 1:3,* UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNKEYWORD foo UNSEEN",
			Command{Tag: "t", Name: "SEARCH", Args: &SearchArgs{Key: and(
				SearchKey{Name: "OR", Children: []SearchKey{*and(SearchKey{Name: "ANSWERED"}, SearchKey{Name: "BCC", Value: "b"}), {Name: "NOT", Children: []SearchKey{*and(SearchKey{Name: "CC", Value: "c"})}}}},
				SearchKey{Name: "BODY", Value: "x y"}, SearchKey{Name: "BEFORE", Date: date}, SearchKey{Name: "DELETED"}, SearchKey{Name: "DRAFT"},
				SearchKey{Name: "HEADER", Field: "X-Foo", Value: ""}, SearchKey{Name: "KEYWORD", Value: "$Junk"}, SearchKey{Name: "LARGER", Size: 100},
				SearchKey{Name: "NEW"}, SearchKey{Name: "OLD"}, SearchKey{Name: "ON", Date: date}, SearchKey{Name: "RECENT"}, SearchKey{Name: "SEEN"},
				SearchKey{Name: "SENTBEFORE", Date: date}, SearchKey{Name: "SENTON", Date: date}, SearchKey{Name: "SENTSINCE", Date: date},
				SearchKey{Name: "SMALLER", Size: 5}, SearchKey{Name: "SUBJECT", Value: "hi"}, SearchKey{Name: "TEXT", Value: "t"}, SearchKey{Name: "TO", Value: "u"},
				SearchKey{Name: "UID", Seq: seq("1:3,*")}, SearchKey{Name: "UNANSWERED"}, SearchKey{Name: "UNDELETED"}, SearchKey{Name: "UNDRAFT"},
				SearchKey{Name: "UNFLAGGED"}, SearchKey{Name: "UNKEYWORD", Value: "foo"}, SearchKey{Name: "UNSEEN"})}}},
		{`t SEARCH MODSEQ "/flags/\\draft" all 620162338 MODSEQ 5`, Command{Tag: "t", Name: "SEARCH", Args: &SearchArgs{Key: and(
			SearchKey{Name: "MODSEQ", Entry: `/flags/\draft`, Type: "ALL", ModSeq: 620162338}, SearchKey{Name: "MODSEQ", ModSeq: 5})}}},
		{"t FETCH 1:* ALL", Command{Tag: "t", Name: "FETCH", Args: &FetchArgs{Seq: seq("1:*"), Items: items("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE")}}},
		{"t FETCH 1 fast", Command{Tag: "t", Name: "FETCH", Args: &FetchArgs{Seq: seq("1"), Items: items("FLAGS", "INTERNALDATE", "RFC822.SIZE")}}},
		{"t FETCH 1 FULL", Command{Tag: "t", Name: "FETCH", Args: &FetchArgs{Seq: seq("1"), Items: items("FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY")}}},
		{"t FETCH 2 rfc822", Command{Tag: "t", Name: "FETCH", Args: &FetchArgs{Seq: seq("2"), Items: items("RFC822")}}},
		{"t FETCH 2 (ENVELOPE FLAGS INTERNALDATE RFC822 RFC822.HEADER RFC822.SIZE RFC822.TEXT BODY BODYSTRUCTURE UID MODSEQ)", Command{Tag: "t", Name: "FETCH", Args: &FetchArgs{Seq: seq("2"),
			Items: items("ENVELOPE", "FLAGS", "INTERNALDATE", "RFC822", "RFC822.HEADER", "RFC822.SIZE", "RFC822.TEXT", "BODY", "BODYSTRUCTURE", "UID", "MODSEQ")}}},
		{"t FETCH 2 BODY[]", Command{Tag: "t", Name: "FETCH", Args: &FetchArgs{Seq: seq("2"), Items: []FetchItem{{Name: "BODY", Section: &Section{}}}}}},
		{"t FETCH 2 (body.peek[HEADER] BODY[TEXT]<10.20> BODY[1.2.3] BODY[2.MIME] BODY[3.header.fields (from To)] BODY[HEADER.FIELDS.NOT (X)])", Command{Tag: "t", Name: "FETCH", Args: &FetchArgs{Seq: seq("2"), Items: []FetchItem{
			{Name: "BODY", Peek: true, Section: &Section{Specifier: "HEADER"}},
			{Name: "BODY", Section: &Section{Specifier: "TEXT"}, Partial: &Partial{Offset: 10, Count: 20}},
			{Name: "BODY", Section: &Section{Part: []int{1, 2, 3}}},
			{Name: "BODY", Section: &Section{Part: []int{2}, Specifier: "MIME"}},
			{Name: "BODY", Section: &Section{Part: []int{3}, Specifier: "HEADER.FIELDS", Fields: []string{"FROM", "TO"}}},
			{Name: "BODY", Section: &Section{Specifier: "HEADER.FIELDS.NOT", Fields: []string{"X"}}},
		}}}},
		{"t FETCH 2 (BINARY[1] BINARY.PEEK[]<0.5> BINARY.SIZE[1.2])", Command{Tag: "t", Name: "FETCH", Args: &FetchArgs{Seq: seq("2"), Items: []FetchItem{
			{Name: "BINARY", Section: &Section{Part: []int{1}}},
			{Name: "BINARY", Peek: true, Section: &Section{}, Partial: &Partial{Count: 5}},
			{Name: "BINARY.SIZE", Section: &Section{Part: []int{1, 2}}},
		}}}},
		{"t UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345 VANISHED)", Command{Tag: "t", Name: "FETCH", UID: true, Args: &FetchArgs{Seq: seq("300:500"), Items: items("FLAGS"), ChangedSince: 12345, Vanished: true}}},
		{"t FETCH $ UID (CHANGEDSINCE 1)", Command{Tag: "t", Name: "FETCH", Args: &FetchArgs{Seq: SeqSet{Dollar: true}, Items: items("UID"), ChangedSince: 1}}},
		{`t STORE 2:4 +FLAGS (\Deleted)`, Command{Tag: "t", Name: "STORE", Args: &StoreArgs{Seq: seq("2:4"), Op: StoreAdd, Flags: []string{`\Deleted`}}}},
		{`t STORE 2 -flags.silent \seen foo`, Command{Tag: "t", Name: "STORE", Args: &StoreArgs{Seq: seq("2"), Op: StoreRemove, Silent: true, Flags: []string{`\Seen`, "foo"}}}},
		{`t UID STORE 1 FLAGS ()`, Command{Tag: "t", Name: "STORE", UID: true, Args: &StoreArgs{Seq: seq("1"), Op: StoreReplace, Flags: []string{}}}},
		{`t STORE 7 (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\Deleted)`, Command{Tag: "t", Name: "STORE", Args: &StoreArgs{Seq: seq("7"), Op: StoreAdd, Silent: true, Flags: []string{`\Deleted`}, UnchangedSince: 320162338, HasUnchangedSince: true}}},
		{"t COPY 2:4 MEETING", Command{Tag: "t", Name: "COPY", Args: &CopyArgs{Seq: seq("2:4"), Mailbox: "MEETING"}}},
		{"t UID MOVE 42:69 foo", Command{Tag: "t", Name: "MOVE", UID: true, Args: &CopyArgs{Seq: seq("42:69"), Mailbox: "foo"}}},
		{"t ENABLE condstore UTF8=ACCEPT", Command{Tag: "t", Name: "ENABLE", Args: &EnableArgs{Capabilities: []string{"CONDSTORE", "UTF8=ACCEPT"}}}},
		{"t ID NIL", Command{Tag: "t", Name: "ID", Args: &IDArgs{}}},
		{`t ID ("name" "sodr" "version" NIL)`, Command{Tag: "t", Name: "ID", Args: &IDArgs{Fields: []IDField{{Key: "name", Value: strp("sodr")}, {Key: "version"}}}}},
		{`t ID ()`, Command{Tag: "t", Name: "ID", Args: &IDArgs{Fields: []IDField{}}}},
		{`t GETQUOTA ""`, Command{Tag: "t", Name: "GETQUOTA", Args: &QuotaRootArgs{}}},
		{`t GETQUOTAROOT INBOX`, Command{Tag: "t", Name: "GETQUOTAROOT", Args: &MailboxArgs{Mailbox: "INBOX"}}},
		// RFC 4314 §3.
		{`t SETACL Shared bob@example.com lr`, Command{Tag: "t", Name: "SETACL", Args: &ACLArgs{Mailbox: "Shared", Identifier: "bob@example.com", Rights: "lr"}}},
		{`t setacl "A b" "-bob" +w`, Command{Tag: "t", Name: "SETACL", Args: &ACLArgs{Mailbox: "A b", Identifier: "-bob", Mod: '+', Rights: "w"}}},
		{`t SETACL x anyone "-"`, Command{Tag: "t", Name: "SETACL", Args: &ACLArgs{Mailbox: "x", Identifier: "anyone", Mod: '-'}}},
		{`t SETACL x anyone ""`, Command{Tag: "t", Name: "SETACL", Args: &ACLArgs{Mailbox: "x", Identifier: "anyone"}}},
		{`t DELETEACL x bob`, Command{Tag: "t", Name: "DELETEACL", Args: &ACLArgs{Mailbox: "x", Identifier: "bob"}}},
		{`t GETACL inbox`, Command{Tag: "t", Name: "GETACL", Args: &ACLArgs{Mailbox: "INBOX"}}},
		{`t LISTRIGHTS x "bob"`, Command{Tag: "t", Name: "LISTRIGHTS", Args: &ACLArgs{Mailbox: "x", Identifier: "bob"}}},
		{`t MYRIGHTS x`, Command{Tag: "t", Name: "MYRIGHTS", Args: &ACLArgs{Mailbox: "x"}}},
		{`t LIST "" * RETURN (MYRIGHTS)`, Command{Tag: "t", Name: "LIST", Args: &ListArgs{Patterns: []string{"*"}, Extended: true, Return: ListReturn{MyRights: true}}}},
		{`t SETQUOTA "" (STORAGE 512 message 10)`, Command{Tag: "t", Name: "SETQUOTA", Args: &SetQuotaArgs{Limits: []QuotaLimit{{"STORAGE", 512}, {"MESSAGE", 10}}}}},
		// Real clients' spelling (Thunderbird, mutt, imaplib): any case.
		{`t uid store 1 +Flags (\seen)`, Command{Tag: "t", Name: "STORE", UID: true, Args: &StoreArgs{Seq: seq("1"), Op: StoreAdd, Flags: []string{`\Seen`}}}},
		{`t list (subscribed) "" "*" return (special-use)`, Command{Tag: "t", Name: "LIST", Args: &ListArgs{Extended: true,
			Selection: ListSelection{Subscribed: true}, Patterns: []string{"*"}, Return: ListReturn{SpecialUse: true}}}},
		{`t select "inbox" (condstore)`, Command{Tag: "t", Name: "SELECT", Args: &SelectArgs{Mailbox: "INBOX", CondStore: true}}},
		{`t uid search charset utf-8 subject "hello"`, Command{Tag: "t", Name: "SEARCH", UID: true, Args: &SearchArgs{Charset: "UTF-8", Key: and(SearchKey{Name: "SUBJECT", Value: "hello"})}}},
		{`t APPEND INBOX () " 1-Jan-2024 00:00:00 +0000" {0+}` + "\r\n", Command{Tag: "t", Name: "APPEND", Args: &AppendArgs{Mailbox: "INBOX",
			Messages: []AppendMessage{{Flags: []string{}, Date: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), Literal: &Literal{data: []byte{}}}}}}},
		{`t COMPRESS deflate`, Command{Tag: "t", Name: "COMPRESS", Args: &CompressArgs{Mechanism: "DEFLATE"}}},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			got, err := parseOne(t, tt.line)
			if err != nil {
				t.Fatalf("error: %v", err)
			}
			if a, ok := got.Args.(*AppendArgs); ok { // compare dates by instant
				for i := range a.Messages {
					a.Messages[i].Date = a.Messages[i].Date.UTC()
				}
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("got  %#v\nwant %#v", got.Args, tt.want.Args)
			}
		})
	}
}

func ptrSeq(s string) *SeqSet { set := seq(s); return &set }

func and(keys ...SearchKey) *SearchKey { return &SearchKey{Name: SearchAnd, Children: keys} }

func items(names ...string) []FetchItem {
	var out []FetchItem
	for _, n := range names {
		out = append(out, FetchItem{Name: n})
	}
	return out
}

func TestParseAppend(t *testing.T) {
	in := "a APPEND saved-messages (\\Seen $x) \" 7-Feb-1994 21:52:25 -0800\" {5}\r\nhello\r\n" +
		"b APPEND INBOX ~{3+}\r\na\x00b\r\n" +
		"c APPEND INBOX \"7-Feb-1994 21:52:25 +0000\" {0}\r\n\r\n"
	conts := 0
	r := newTestReader(in, ReaderOptions{Continue: func() error { conts++; return nil }})
	a := mustRead(t, r).Args.(*AppendArgs)
	m := a.Messages[0]
	if a.Mailbox != "saved-messages" || !reflect.DeepEqual(m.Flags, []string{`\Seen`, "$x"}) ||
		!m.Date.Equal(time.Date(1994, 2, 8, 5, 52, 25, 0, time.UTC)) || string(m.Literal.data) != "hello" || m.Literal.Binary {
		t.Errorf("first APPEND: %+v %+v", a, m)
	}
	b := mustRead(t, r).Args.(*AppendArgs).Messages[0]
	data, _ := b.Literal.Bytes()
	if b.Flags != nil || !b.Date.IsZero() || string(data) != "a\x00b" || !b.Literal.Binary {
		t.Errorf("second APPEND: %+v", b)
	}
	c := mustRead(t, r).Args.(*AppendArgs).Messages[0]
	if c.Literal.Size != 0 || c.Date.IsZero() {
		t.Errorf("third APPEND: %+v", c)
	}
	if conts != 2 {
		t.Errorf("continuations = %d, want 2 (one per synchronizing literal)", conts)
	}
	if _, err := r.ReadCommand(); err != io.EOF {
		t.Errorf("end: %v", err)
	}
}

func TestParseAppendUTF8(t *testing.T) {
	// RFC 6855 §4, as Python's imaplib sends it once UTF8=ACCEPT is enabled.
	r := newTestReader("a APPEND INBOX (\\Seen) UTF8 (~{4}\r\nh\xc3\xa9!)\r\nb APPEND INBOX UTF8 ({1}\r\nc APPEND INBOX UTF8 (~{1+}\r\nx\r\n", ReaderOptions{})
	m := mustRead(t, r).Args.(*AppendArgs).Messages[0]
	if !m.UTF8 || !m.Literal.Binary || string(m.Literal.data) != "h\xc3\xa9!" || len(m.Flags) != 1 {
		t.Errorf("UTF8 APPEND: %+v", m)
	}
	for _, tag := range []string{"b", "c"} {
		_, err := r.ReadCommand()
		checkParseError(t, err, tag)
	}
}

func TestParseMultiAppend(t *testing.T) {
	in := "a APPEND x (\\Seen) {1}\r\n1 {1+}\r\n2\r\n"
	a := mustRead(t, newTestReader(in, ReaderOptions{MultiAppend: true})).Args.(*AppendArgs)
	if len(a.Messages) != 2 || string(a.Messages[1].Literal.data) != "2" || a.Messages[1].Flags != nil {
		t.Errorf("got %+v", a)
	}
	_, err := newTestReader(in, ReaderOptions{}).ReadCommand()
	checkParseError(t, err, "a")
}

func mustRead(t *testing.T, r *Reader) *Command {
	t.Helper()
	c, err := r.ReadCommand()
	if err != nil {
		t.Fatalf("ReadCommand: %v", err)
	}
	return c
}

func checkParseError(t *testing.T, err error, tag string) *ParseError {
	t.Helper()
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("want *ParseError, got %v", err)
	}
	if pe.Tag != tag {
		t.Errorf("tag = %q, want %q (%v)", pe.Tag, tag, pe)
	}
	return pe
}

func TestParseInvalid(t *testing.T) {
	tests := []struct{ line, tag string }{
		{"", ""},
		{"+abc NOOP", ""},
		{"(x NOOP", ""},
		{"a", "a"},
		{"a ", "a"},
		{"a FOO", "a"},
		{"a NOOP x", "a"},
		{"a  NOOP", "a"},
		{"a UID LOGIN x y", "a"},
		{"a UID", "a"},
		{"a LOGIN x", "a"},
		{"a LOGIN x y z", "a"},
		{`a LOGIN "x y`, "a"},
		{`a LOGIN "x\y" z`, "a"},
		{"a SELECT", "a"},
		{"a SELECT x (FOO)", "a"},
		{"a SELECT x (QRESYNC (0 1))", "a"},
		{"a SELECT x (QRESYNC (1 0))", "a"},
		{"a SELECT x (QRESYNC (1 2 $))", "a"},
		{"a CREATE x (FOO (\\Sent))", "a"},
		{"a LIST", "a"},
		{"a LIST \"\"", "a"},
		{"a LIST (FOO) \"\" *", "a"},
		{"a LIST (RECURSIVEMATCH) \"\" *", "a"},
		{"a LIST \"\" () ", "a"},
		{"a LIST \"\" * RETURN (FOO)", "a"},
		{"a SETACL x bob", "a"},
		{"a SETACL x", "a"},
		{"a DELETEACL x", "a"},
		{"a LISTRIGHTS x", "a"},
		{"a GETACL", "a"},
		{"a MYRIGHTS x y", "a"},
		{"a GETACL x y", "a"},
		{"a LIST \"\" * FOO ()", "a"},
		{"a STATUS x ()", "a"},
		{"a STATUS x (MESSAGES FOO)", "a"},
		{"a STATUS x MESSAGES", "a"},
		{"a APPEND x", "a"},
		{"a APPEND x (\\Seen)", "a"},
		{"a APPEND x \"bad date\" {1+}\r\nx", "a"},
		{"a SEARCH", "a"},
		{"a SEARCH FOO", "a"},
		{"a SEARCH OR SEEN", "a"},
		{"a SEARCH NOT", "a"},
		{"a SEARCH (SEEN", "a"},
		{"a SEARCH ()", "a"},
		{"a SEARCH LARGER x", "a"},
		{"a SEARCH SINCE 32-Jan-2020", "a"},
		{"a SEARCH SINCE 1-Foo-2020", "a"},
		{"a SEARCH RETURN (FOO) ALL", "a"},
		{"a SEARCH MODSEQ \"/x\" all 5", "a"},
		{"a SEARCH MODSEQ \"/flags/x\" some 5", "a"},
		{"a SEARCH 0", "a"},
		{"a SEARCH 1:3,$", "a"},
		{"a SEARCH " + strings.Repeat("NOT ", 100) + "ALL", "a"},
		{"a SEARCH " + strings.Repeat("(", 100) + "ALL" + strings.Repeat(")", 100), "a"},
		{"a FETCH 1", "a"},
		{"a FETCH 1 FOO", "a"},
		{"a FETCH 1 ()", "a"},
		{"a FETCH 1 (ALL)", "a"},
		{"a FETCH 1 BODY.PEEK", "a"},
		{"a FETCH 1 BODY[FOO]", "a"},
		{"a FETCH 1 BODY[MIME]", "a"},
		{"a FETCH 1 BODY[1.]", "a"},
		{"a FETCH 1 BODY[0]", "a"},
		{"a FETCH 1 BODY[1", "a"},
		{"a FETCH 1 BODY[]<1>", "a"},
		{"a FETCH 1 BODY[]<1.0>", "a"},
		{"a FETCH 1 BODY[HEADER.FIELDS ()]", "a"},
		{"a FETCH 1 BINARY", "a"},
		{"a FETCH 1 BINARY[TEXT]", "a"},
		{"a FETCH 1 FLAGS (VANISHED)", "a"},
		{"a UID FETCH 1 FLAGS (VANISHED)", "a"},
		{"a FETCH 1 FLAGS (CHANGEDSINCE 0)", "a"},
		{"a FETCH 1 FLAGS ()", "a"},
		{"a FETCH x FLAGS", "a"},
		{"a FETCH 1:4294967296 FLAGS", "a"},
		{"a STORE 1 FLAGS", "a"},
		{"a STORE 1 FOO (x)", "a"},
		{"a STORE 1 (FOO 1) FLAGS (x)", "a"},
		{"a STORE 1 +FLAGS (\\)", "a"},
		{"a COPY 1", "a"},
		{"a ENABLE", "a"},
		{"a ID", "a"},
		{"a ID (\"x\")", "a"},
		{"a AUTHENTICATE", "a"},
		{"a AUTHENTICATE PLAIN !!!", "a"},
		{"a SETQUOTA x (STORAGE)", "a"},
		{"a COMPRESS", "a"},
		{"a LOGIN x {}", "a"},
		{"a LOGIN x {+}", "a"},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			r := newTestReader(tt.line+"\r\nnext NOOP\r\n", ReaderOptions{})
			_, err := r.ReadCommand()
			pe := checkParseError(t, err, tt.tag)
			if pe.Fatal {
				t.Fatalf("unexpected fatal error: %v", pe)
			}
			// The reader resynchronises on the next line.
			if c := mustRead(t, r); c.Tag != "next" || c.Name != "NOOP" {
				t.Errorf("next command = %+v", c)
			}
		})
	}
}

func TestUTF8Mode(t *testing.T) {
	r := newTestReader("a SELECT café\r\nb SELECT &AOk-\r\nc SELECT \"x\x01\"\r\n", ReaderOptions{UTF8: true})
	if got := mustRead(t, r).Args.(*SelectArgs).Mailbox; got != "café" {
		t.Errorf("UTF-8 name = %q", got)
	}
	if got := mustRead(t, r).Args.(*SelectArgs).Mailbox; got != "&AOk-" {
		t.Errorf("UTF-8 mode must not decode mUTF-7: %q", got)
	}
	// A control character is well-formed but names nothing: an invalid
	// name, not a syntax error (see mailboxname_test.go).
	if got := mustRead(t, r).Args.(*SelectArgs).Mailbox; !IsInvalidName(got) {
		t.Errorf("control character: %q is not an invalid name", got)
	}
	r.SetUTF8(false)
}

func TestReadSASLResponse(t *testing.T) {
	r := newTestReader("AGJvYgBwdw==\r\n*\r\n\r\n!!\r\n", ReaderOptions{})
	if b, err := r.ReadSASLResponse(); err != nil || string(b) != "\x00bob\x00pw" {
		t.Errorf("SASL: %q %v", b, err)
	}
	if _, err := r.ReadSASLResponse(); err != ErrSASLCancelled {
		t.Errorf("cancel: %v", err)
	}
	if b, err := r.ReadSASLResponse(); err != nil || b == nil || len(b) != 0 {
		t.Errorf("empty: %q %v", b, err)
	}
	if _, err := r.ReadSASLResponse(); err == nil {
		t.Errorf("bad base64 accepted")
	}
	if _, err := r.ReadSASLResponse(); err != io.ErrUnexpectedEOF {
		t.Errorf("EOF during AUTHENTICATE: %v", err)
	}
}

func TestResponseName(t *testing.T) {
	tests := map[string]string{
		"BODY.PEEK[1.2.HEADER.FIELDS (From X-Y)]<5.10>": "BODY[1.2.HEADER.FIELDS (FROM X-Y)]<5>",
		"BODY[]":                            "BODY[]",
		"BINARY.PEEK[1]":                    "BINARY[1]",
		"BINARY.SIZE[2]":                    "BINARY.SIZE[2]",
		"BODY[3.MIME]":                      "BODY[3.MIME]",
		"RFC822.HEADER":                     "RFC822.HEADER",
		"body[header.fields.not (\"a b\")]": `BODY[HEADER.FIELDS.NOT ("A B")]`,
	}
	for in, want := range tests {
		c, err := parseOne(t, "t FETCH 1 "+in)
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if got := c.Args.(*FetchArgs).Items[0].ResponseName(); got != want {
			t.Errorf("%s: got %s, want %s", in, got, want)
		}
	}
}

func TestEOF(t *testing.T) {
	r := newTestReader("", ReaderOptions{})
	if _, err := r.ReadCommand(); err != io.EOF {
		t.Errorf("empty stream: %v", err)
	}
	r = newTestReader("a NOOP", ReaderOptions{})
	if _, err := r.ReadCommand(); err != io.ErrUnexpectedEOF {
		t.Errorf("partial line: %v", err)
	}
	r = newTestReader("a LOGIN {10}\r\nabc", ReaderOptions{})
	if _, err := r.ReadCommand(); err != io.ErrUnexpectedEOF {
		t.Errorf("partial literal: %v", err)
	}
	r = newTestReader("a NOOP\n", ReaderOptions{})
	if c := mustRead(t, r); c.Name != "NOOP" {
		t.Errorf("bare LF: %+v", c)
	}
}
