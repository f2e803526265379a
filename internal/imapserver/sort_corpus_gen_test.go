package imapserver_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// corpusMessage is one message of the generated SORT/THREAD corpus: its
// INTERNALDATE (APPEND date-time) and its content.
type corpusMessage struct {
	internal string
	raw      string
}

// corpusTopics are the base subjects conversations start from: plain
// ASCII, mixed case, non-ASCII (written encoded or raw), and ones that
// look like prefixes or blobs themselves.
var corpusTopics = []string{
	"quarterly report", "Quarterly Report", "lunch on friday", "server down",
	"Build failed on main", "Über alles", "Café meeting", "naïve question",
	"Ärger mit dem Drucker", "résumé attached", "日本語の件名", "Привет",
	"patch v2", "Re-opening the bug", "Fwd-ed note", "refactoring plan",
	"[no blob here", "release 1.2 [rc]", "a", "Z", "_underscore", "`backtick",
	"hello world", "Hello World", "status", "Status", "zzz", "meeting notes",
	"invoice 2023-001", "football", "fw:no space topic", "vacation",
}

// corpusPrefixes are reply/forward/list leaders in mixed case and
// nesting (RFC 5256 §2.1 subj-leader, subj-blob).
var corpusPrefixes = []string{
	"Re: ", "RE: ", "re: ", "Re:", "Re: Re: ", "RE: re: Re: ", "Re[2]: ",
	"Re [3]: ", "Fwd: ", "FWD: ", "fwd:", "Fw: ", "FW: ", "Fw: Re: ",
	"[list] ", "[list] Re: ", "Re: [list] ", "[List][dev] Re: ", "[a] [b] ",
	"Re: [list] Re: ", "  Re:  ", "\tRE:\t", "Antw: ", "AW: ", "Re : ",
}

// corpusNames are display names, some needing RFC 2047 or quotes.
var corpusNames = []string{
	"Alice Smith", "bob", "Zed", "\"Doe, Jane\"", "=?UTF-8?Q?=C3=89mile_Zola?=",
	"=?ISO-8859-1?Q?J=FCrgen?=", "=?UTF-8?B?w4RkYSBMb3ZlbGFjZQ==?=", "\"carol\"",
	"Mallory", "=?utf-8?q?=E6=97=A5=E6=9C=AC?=", "\"\"", "_Under", "amy",
	"\"Zoë\"", "=?UTF-8?Q??=", "O'Brien",
}

// encodeWord writes s as one RFC 2047 encoded word: "Q" or "B", in
// UTF-8 or, when s fits, ISO-8859-1.
func encodeWord(rng *rand.Rand, s string) string {
	charset, data := "UTF-8", []byte(s)
	if rng.IntN(3) == 0 {
		if l1, ok := toLatin1(s); ok {
			charset, data = "ISO-8859-1", l1
		}
	}
	if rng.IntN(4) == 0 {
		charset = strings.ToLower(charset)
	}
	if rng.IntN(2) == 0 {
		var b strings.Builder
		for _, c := range data {
			switch {
			case c == ' ':
				b.WriteByte('_')
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
				b.WriteByte(c)
			default:
				fmt.Fprintf(&b, "=%02X", c)
			}
		}
		return "=?" + charset + "?Q?" + b.String() + "?="
	}
	return "=?" + charset + "?B?" + base64Std(data) + "?="
}

func toLatin1(s string) ([]byte, bool) {
	var out []byte
	for _, r := range s {
		if r > 0xff {
			return nil, false
		}
		out = append(out, byte(r))
	}
	return out, true
}

func base64Std(b []byte) string {
	const enc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	var s strings.Builder
	for i := 0; i < len(b); i += 3 {
		var v uint32
		n := min(3, len(b)-i)
		for j := 0; j < 3; j++ {
			v <<= 8
			if j < n {
				v |= uint32(b[i+j])
			}
		}
		for j := 0; j < 4; j++ {
			if j <= n {
				s.WriteByte(enc[(v>>(18-6*j))&63])
			} else {
				s.WriteByte('=')
			}
		}
	}
	return s.String()
}

// corpusSubject makes a Subject field (without the "Subject:" name; ok
// false means no Subject field) for a message of a conversation on topic.
func corpusSubject(rng *rand.Rand, topic string, reply bool) (string, bool) {
	switch r := rng.IntN(100); {
	case r < 2:
		return "", false // no Subject
	case r < 4:
		return []string{"", " ", "Re:", "[list]", "Fwd: ", "(fwd)", "[]"}[rng.IntN(7)], true
	}
	s := topic
	nonASCII := strings.ContainsFunc(topic, func(r rune) bool { return r > 0x7f })
	if nonASCII || rng.IntN(12) == 0 {
		switch rng.IntN(6) {
		case 0: // raw UTF-8 (RFC 6532)
		case 1: // two encoded words, the space between them dropped
			h := len(s) / 2
			for h > 0 && (s[h]&0xc0) == 0x80 {
				h--
			}
			s = encodeWord(rng, s[:h]) + "\r\n " + encodeWord(rng, s[h:])
		default:
			s = encodeWord(rng, s)
		}
	}
	if reply || rng.IntN(10) == 0 {
		if rng.IntN(6) > 0 {
			s = corpusPrefixes[rng.IntN(len(corpusPrefixes))] + s
		}
		switch rng.IntN(20) {
		case 0:
			s += " (fwd)"
		case 1:
			s += " (FWD)  "
		case 2:
			s = "[Fwd: " + s + "]"
		case 3:
			s = "[fwd: Re: " + s + "] (fwd)"
		case 4:
			s = encodeWord(rng, "Re: ") + " " + s
		}
	}
	if rng.IntN(30) == 0 {
		s = s + " " // trailing space
	}
	return s, true
}

// corpusAddress makes one address: bare, with a display name (maybe
// encoded), in angle brackets only, or a group.
func corpusAddress(rng *rand.Rand, pool string) string {
	local := []string{"alice", "Bob", "carol", "dave", "_team", "zed", "Émile", "x", "root", "a.b", "ZOE", "list-owner"}[rng.IntN(12)]
	host := []string{"example.org", "EXAMPLE.com", "x.test", "mail.example.net"}[rng.IntN(4)]
	addr := fmt.Sprintf("%s%d@%s", local, rng.IntN(5), host)
	if pool != "" {
		addr = pool + "-" + addr
	}
	switch r := rng.IntN(20); {
	case r < 7:
		return addr
	case r < 8:
		return "<" + addr + ">"
	case r < 9:
		return "undisclosed-recipients:;"
	case r < 10:
		return addr + " (comment)"
	default:
		return corpusNames[rng.IntN(len(corpusNames))] + " <" + addr + ">"
	}
}

func corpusAddressList(rng *rand.Rand, pool string) string {
	n := 1 + rng.IntN(3)
	out := make([]string, n)
	for i := range out {
		out[i] = corpusAddress(rng, pool)
	}
	return strings.Join(out, ", ")
}

// corpusDate formats a Date field value in a random time zone, sometimes
// without the weekday or with a comment.
func corpusDate(rng *rand.Rand, t time.Time) string {
	zones := []int{0, 0, 0, 3600, -8 * 3600, 5*3600 + 1800, -3 * 3600, 14 * 3600}
	z := zones[rng.IntN(len(zones))]
	lt := t.In(time.FixedZone("", z))
	switch rng.IntN(6) {
	case 0:
		return lt.Format("2 Jan 2006 15:04:05 -0700")
	case 1:
		return lt.Format("Mon, 2 Jan 2006 15:04:05 -0700 (MST)")
	default:
		return lt.Format(time.RFC1123Z)
	}
}

// genCorpus makes n messages, deterministic for a seed: conversations
// (threads of replies with References chains, some In-Reply-To only,
// some truncated, some long) on corpusTopics, with the hard cases of
// RFC 5256 in realistic proportions:
//
//   - Message-ID: ~3% missing, ~2% duplicating an earlier one, ~1%
//     not a valid msg-id;
//   - References: ~8% of replies name a parent that is not in the
//     mailbox, ~1% loops of two or three messages, ~1.5% self-references,
//     chains up to 60 deep;
//   - Date: ~3% missing, ~2% garbage, ~5% equal to the previous
//     message's; INTERNALDATE on a coarse grid so ties are frequent;
//   - Subject: see corpusSubject (2% missing, 2% empty or only prefix,
//     encoded Q/B in UTF-8 and ISO-8859-1, prefixes and trailers);
//   - From ~1% missing, To ~4% missing, Cc on ~30%; display names, bare
//     addresses, encoded names, groups; sizes from a few hundred bytes
//     to ~10 KB.
func genCorpus(seed uint64, n int) []corpusMessage {
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	type sent struct {
		id    string   // Message-ID as written ("" none)
		refs  []string // its References chain (for replies to it)
		topic string
	}
	var history []sent
	out := make([]corpusMessage, 0, n)
	base := time.Date(2023, 3, 1, 12, 0, 0, 0, time.UTC)
	var prevDate string
	var loops, loopPos, loopLen int
	deepest := 0 // the message of history with the longest chain
	for i := 0; len(out) < n; i++ {
		var h []string
		// Reply or new conversation.
		var parent *sent
		if len(history) > 0 && rng.IntN(10) < 6 {
			// Mostly recent messages, sometimes the newest, sometimes
			// the deepest reply so far (long chains).
			switch r := rng.IntN(8); {
			case r == 0:
				parent = &history[len(history)-1]
			case r == 1:
				parent = &history[deepest]
			default:
				parent = &history[max(0, len(history)-1-rng.IntN(min(len(history), 80)))]
			}
		}
		topic := corpusTopics[rng.IntN(len(corpusTopics))]
		if parent != nil {
			topic = parent.topic
			if rng.IntN(25) == 0 {
				topic = corpusTopics[rng.IntN(len(corpusTopics))] // subject changed mid-thread
			}
		}
		// Message-ID.
		id := fmt.Sprintf("<%d.%x@corpus.example>", i, rng.Uint32())
		switch r := rng.IntN(100); {
		case r < 3:
			id = ""
		case r < 5 && len(history) > 0:
			id = history[rng.IntN(len(history))].id
		case r < 6:
			id = fmt.Sprintf("<no-at-sign-%d>", i)
		}
		// References / In-Reply-To.
		var refs []string
		if parent != nil {
			refs = append(refs, parent.refs...)
			if parent.id != "" {
				refs = append(refs, parent.id)
			}
			if len(refs) > 60 {
				refs = refs[len(refs)-60:]
			}
		}
		switch r := rng.IntN(200); {
		case r < 2:
			// A loop: this message names the next loop member as its
			// parent; the last member names the first (cycles of 2 or 3).
			k := loops
			if loopPos == 0 {
				loopLen = 2 + rng.IntN(2)
			}
			id = fmt.Sprintf("<loop%d.%d@corpus.example>", k, loopPos)
			refs = []string{fmt.Sprintf("<loop%d.%d@corpus.example>", k, (loopPos+1)%loopLen)}
			if r == 1 {
				refs = append(refs, "<loop-extra@corpus.example>", refs[0])
			}
			if loopPos++; loopPos == loopLen {
				loopPos, loops = 0, loops+1
			}
		case r < 5:
			refs = append(refs, id) // self-reference
		case r < 19 && parent != nil:
			// The parent never arrived: reply to a message not here.
			refs = append(refs, fmt.Sprintf("<lost%d@corpus.example>", rng.IntN(40)))
		case r < 21:
			refs = append([]string{"<bogus>", "garbage"}, refs...)
		}
		switch {
		case len(refs) == 0:
		case rng.IntN(8) == 0:
			h = append(h, "In-Reply-To: "+refs[len(refs)-1])
		case rng.IntN(10) == 0:
			h = append(h, "In-Reply-To: "+refs[len(refs)-1])
			h = append(h, "References: "+strings.Join(refs[max(0, len(refs)-3):], " "))
		default:
			h = append(h, "References: "+strings.Join(refs, "\r\n "))
		}
		if id != "" {
			h = append(h, "Message-ID: "+id)
		}
		// Subject.
		if s, ok := corpusSubject(rng, topic, parent != nil); ok {
			h = append(h, "Subject: "+s)
		}
		// Addresses.
		if rng.IntN(100) > 0 {
			h = append(h, "From: "+corpusAddress(rng, ""))
		}
		if rng.IntN(25) > 0 {
			h = append(h, "To: "+corpusAddressList(rng, ""))
		}
		if rng.IntN(10) < 3 {
			h = append(h, "Cc: "+corpusAddressList(rng, "cc"))
		}
		// Date.
		t := base.Add(time.Duration(i)*37*time.Minute + time.Duration(rng.IntN(7200)-3600)*time.Second)
		date := corpusDate(rng, t)
		switch r := rng.IntN(100); {
		case r < 3:
			date = ""
		case r < 5:
			date = []string{"garbage", "Mon, 32 Foo 2023 99:99:99", "yesterday", "1 Jan 1970 00:00:00 +0000"}[rng.IntN(4)]
		case r < 10 && prevDate != "":
			date = prevDate
		}
		if date != "" {
			h = append(h, "Date: "+date)
			prevDate = date
		}
		if rng.IntN(100) < 12 {
			h = corpusOddity(rng, h, i)
		}
		rng.Shuffle(len(h), func(a, b int) { h[a], h[b] = h[b], h[a] })
		h = append(h, "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8")
		var body strings.Builder
		for range rng.IntN(4) * (1 + rng.IntN(40)) {
			body.WriteString("Some words of the body, repeated for size.\r\n")
		}
		body.WriteString(strings.Repeat("x", rng.IntN(70)) + "\r\n")
		// INTERNALDATE: whole hours, so ties are frequent, written in
		// various zones.
		in := base.Add(48*time.Hour + time.Duration(i*37/60)*time.Hour)
		in = in.In(time.FixedZone("", []int{0, 0, 7200, -18000, 19800}[rng.IntN(5)]))
		out = append(out, corpusMessage{
			internal: in.Format("02-Jan-2006 15:04:05 -0700"),
			raw:      strings.Join(h, "\r\n") + "\r\n\r\n" + body.String(),
		})
		var chain []string
		if parent != nil {
			chain = append(chain, parent.refs...)
			if parent.id != "" {
				chain = append(chain, parent.id)
			}
		}
		history = append(history, sent{id: id, refs: chain, topic: topic})
		if len(chain) >= len(history[deepest].refs) {
			deepest = len(history) - 1
		}
	}
	return out
}

// corpusOddity gives message i's header one of the rarer oddities real
// mailboxes have: raw 8-bit subjects, broken or unknown encoded words,
// obsolete date forms, repeated fields, lower-case field names, unusual
// msg-id and address syntax, long folded subjects.
func corpusOddity(rng *rand.Rand, h []string, i int) []string {
	switch rng.IntN(19) {
	case 0: // ISO-8859-1 bytes written raw (not UTF-8)
		h = append(dropField(h, "Subject"), "Subject: Re: caf\xe9 cr\xe8me "+string(rune('a'+i%3)))
	case 1: // a malformed or unknown-charset encoded word
		h = append(dropField(h, "Subject"), "Subject: "+[]string{
			"=?UTF-8?Q?unterminated", "=?x-unknown?Q?abc?= def", "=?UTF-8?X?bad?= enc",
			"=?UTF-8?B?!!!?= broken", "Re: =?utf-8?q?=C3=A9t=C3=A9?==?utf-8?q?_2?=",
		}[rng.IntN(5)])
	case 2: // obsolete and unusual date forms (RFC 5322 §4.3)
		h = append(dropField(h, "Date"), "Date: "+[]string{
			"Sat, 4 Mar 23 10:00:00 EST", "4 Mar 2023 10:00 GMT", "Sat, 04 Mar 2023 10:00:00 UT",
			"Sat, 04 Mar 2023 10:00:00 Z", "Sat, 04 Mar 2023 10:00:00 +0000 (UTC)",
			"Fri, 31 Dec 1965 23:59:59 +0000", "Tue, 1 Jan 2099 00:00:00 +0000",
			"Sat,  4 Mar 2023 10:00:00 -0000", "04 Mar 2023 10:00:00 PDT",
			"Sat, 04 Mar 2023 10:00:00 A", "Sat, 04 Mar 2023 10:00:00 CEST",
		}[rng.IntN(11)])
	case 3: // the fields twice: the first counts
		h = append(h, "Subject: second subject field", "Date: Wed, 01 Mar 2023 00:00:00 +0000",
			fmt.Sprintf("Message-ID: <second%d@corpus.example>", i))
	case 4: // lower-case and odd-case field names
		for j, f := range h {
			name, v, _ := strings.Cut(f, ":")
			if rng.IntN(2) == 0 {
				name = strings.ToLower(name)
			} else {
				name = strings.ToUpper(name)
			}
			h[j] = name + ":" + v
		}
	case 5: // msg-id forms: quoted local part, comments, spaces, no brackets
		h = append(dropField(h, "Message-ID"), "Message-ID: "+[]string{
			fmt.Sprintf(`<"quoted %d"@corpus.example>`, i),
			fmt.Sprintf("(comment) <%d.c@corpus.example> (trailing)", i),
			fmt.Sprintf("< %d.s @ corpus.example >", i),
			fmt.Sprintf("%d.bare@corpus.example", i),
			fmt.Sprintf("<%d.a@corpus.example> <%d.b@corpus.example>", i, i),
		}[rng.IntN(5)])
	case 6: // address forms: groups with members, no domain, route,
		// the old "addr (Name)" form, empty display name
		h = append(dropField(h, "From"), "From: "+[]string{
			"Friends: alice@example.org, Bob <bob@example.org>;",
			"localonly",
			"<@route.example:carol@example.org>",
			"dave@example.org (Dave Comment)",
			`"" <emptyname@example.org>`,
			"=?UTF-8?Q?=C3=84rger?= <ae@example.org>, zed@example.org",
			"MAILER-DAEMON@example.org (Mail Delivery System)",
		}[rng.IntN(7)])
	case 7: // To: group, several groups, encoded name only
		h = append(dropField(h, "To"), "To: "+[]string{
			"undisclosed-recipients:;", "Team: ; Other: x@example.org;",
			"=?ISO-8859-1?B?SvxyZ2Vu?= <j@example.org>", "<>",
		}[rng.IntN(4)])
	case 8: // a long subject folded over lines
		h = append(dropField(h, "Subject"), "Subject: Re: a very long subject that goes on\r\n\tand on over\r\n several folded lines "+strings.Repeat("word ", 20+i%7))
	case 9: // Re: written encoded, mixed with plain text
		h = append(dropField(h, "Subject"), "Subject: =?UTF-8?Q?Re:?= =?UTF-8?Q?_Fwd=3A_?=meeting notes")
	case 10: // In-Reply-To with text around the ID, References with junk
		h = append(dropField(h, "References"), fmt.Sprintf("In-Reply-To: Your message of Monday <%d.%x@corpus.example> (was: x)", i-1, i), "References: <> <@> <a@> junk")
	case 11: // Cc empty or a group only
		h = append(dropField(h, "Cc"), "Cc: "+[]string{"", "group:;", " ", "=?UTF-8?Q?=C3=89?= <e@example.org>"}[rng.IntN(4)])
	case 12: // Subject that is only blobs, leaders and trailers
		h = append(dropField(h, "Subject"), "Subject: "+[]string{
			"[list] Re: (fwd)", "Re: [list]", "[Fwd: ]", "[fwd: [list] Re: ]", "Re: Fwd: Fw: re:", "[a][b][c]", "(fwd)(fwd)",
		}[rng.IntN(7)])
	case 13: // Date in an unusual zone or with a weekday that is wrong
		h = append(dropField(h, "Date"), "Date: Mon, 06 Mar 2023 12:00:00 +1345", "X-Note: fine")
	case 14: // a UTF-8 encoded word that is not UTF-8
		h = append(dropField(h, "Subject"), "Subject: =?UTF-8?Q?caf=E9_cr=E8me?= "+string(rune('a'+i%3)))
	case 15: // display names: raw UTF-8, raw Latin-1, an encoded word
		// inside quotes (RFC 2047 §5 forbids it; mailers write it)
		h = append(dropField(h, "From"), "From: "+[]string{
			"Jürgen Raw <jr@example.org>", "J\xfcrgen Latin <jl@example.org>",
			`"=?UTF-8?Q?J=C3=BCrgen?=" <jq@example.org>`, `"Smith, =?UTF-8?Q?=C3=89?=" <se@example.org>`,
		}[rng.IntN(4)])
	case 16: // a reply naming its parent's Message-ID in another case
		if refs, ok := firstFieldOf(h, "References"); ok {
			h = append(dropField(h, "References"), "References: "+strings.ToUpper(refs))
		}
	case 17: // an ID repeated inside References, In-Reply-To with two IDs
		if refs, ok := firstFieldOf(h, "References"); ok {
			f := strings.Fields(refs)
			h = append(dropField(h, "References"), "References: "+f[len(f)-1]+" "+refs+" "+f[0])
			h = append(dropField(h, "In-Reply-To"), "In-Reply-To: "+f[len(f)-1]+" "+f[0])
		}
	case 18: // a list prefix with unusual spacing and a subject in
		// brackets that is the whole subject
		h = append(dropField(h, "Subject"), "Subject: "+[]string{
			"[list]Re:topic", "Re:[list] topic", "[ list ] Re : topic", "[whole subject]", "Re: [whole subject]",
		}[rng.IntN(5)])
	}
	return h
}

// firstFieldOf is the value of the first field called name in h.
func firstFieldOf(h []string, name string) (string, bool) {
	for _, f := range h {
		if n, v, _ := strings.Cut(f, ":"); strings.EqualFold(n, name) {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

// dropField removes the fields called name (any case) from h.
func dropField(h []string, name string) []string {
	out := h[:0:0]
	for _, f := range h {
		n, _, _ := strings.Cut(f, ":")
		if !strings.EqualFold(n, name) {
			out = append(out, f)
		}
	}
	return out
}
