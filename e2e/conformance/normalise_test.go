package conformance

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// normaliseIMAP rewrites one command's responses so that what legitimately
// differs between two correct servers compares equal. Each rule is an
// allowance; the reason it is legitimate is given beside it.
func normaliseIMAP(cmd string, resps []string) []string {
	verb := strings.ToUpper(strings.Fields(cmd + " x")[0])
	if verb == "UID" {
		verb = "UID " + strings.ToUpper(strings.Fields(cmd + " x x")[1])
	}
	var out []string
	for _, r := range resps {
		// RFC 7162 §3.1.2.1 has a server with persistent mod-sequences send
		// HIGHESTMODSEQ on every SELECT/EXAMINE; Dovecot sends it only once
		// CONDSTORE is enabled (§3.1). Both are allowed: compare it only when
		// the client asked for CONDSTORE.
		if (verb == "SELECT" || verb == "EXAMINE") && !strings.Contains(strings.ToUpper(cmd), "CONDSTORE") &&
			strings.HasPrefix(r, "* OK [HIGHESTMODSEQ ") {
			continue
		}
		// CAPABILITY lists differ by design: each server advertises what it
		// implements (RFC 3501 §7.2.1). They are not what this suite compares.
		if strings.HasPrefix(r, "* CAPABILITY ") {
			continue
		}
		// ID (RFC 2971) names the implementation.
		if strings.HasPrefix(r, "* ID ") {
			continue
		}
		r = capabilityCode.ReplaceAllString(r, "")
		// CREATE's MAILBOXID code comes with OBJECTID (RFC 8474 §4.1),
		// which the Dovecot compared with (2.3) does not implement.
		r = mailboxIDCode.ReplaceAllString(r, "")
		r = stripText(r)
		// RFC 5530 response codes are optional ("MAY"); NO or BAD itself
		// is compared. BADCHARSET may or may not list the supported
		// charsets (RFC 3501 §7.1).
		r = optionalCodes.ReplaceAllString(r, "$1")
		r = badCharsetList.ReplaceAllString(r, "[BADCHARSET]")
		// A mailbox name is an astring: atom or quoted string are the same
		// name (RFC 3501 §9, "mailbox").
		r = quotedMailbox.ReplaceAllString(r, "$1$2$3")
		// INBOX is case-insensitive (RFC 3501 §5.1): "inbox" echoed as
		// given or as INBOX names the same mailbox.
		r = inboxName.ReplaceAllString(r, "${1}INBOX$3")
		// \Marked/\Unmarked are optional hints (RFC 3501 §7.2.2).
		if strings.HasPrefix(r, "* LIST ") {
			r = markedAttr.ReplaceAllString(r, "")
		}
		// date-day-fixed is " 1" or "01" (RFC 3501 §9, RFC 9051 §9).
		r = paddedDay.ReplaceAllString(r, `"0$1-`)
		// BINARY data may be sent as a literal8 even without NULs
		// (RFC 3516 §4.3 / RFC 9051 §7.5.2: nstring / literal8).
		r = literal8.ReplaceAllString(r, "$1 {")
		// RFC 5258 §4 lets a server return \HasChildren/\HasNoChildren
		// without the CHILDREN return option; Dovecot omits them on
		// extended LIST, letterbox always sends them.
		if extendedList.MatchString(cmd) && !strings.Contains(strings.ToUpper(cmd), "CHILDREN") {
			r = childInfo.ReplaceAllString(r, "")
		}
		// Special-use attributes are LIST data (RFC 6154 §2); Dovecot also
		// puts them on LSUB, which RFC 6154 neither asks for nor forbids.
		if strings.HasPrefix(r, "* LSUB ") {
			r = specialUse.ReplaceAllString(r, "")
		}
		// METADATA values are nstring / literal8 (RFC 5464 §5): Dovecot
		// sends every value as a literal, letterbox quotes what it can.
		// And the mailbox is an astring, quoted or not (RFC 3501 §9).
		if strings.HasPrefix(r, "* METADATA ") {
			r = normaliseMetadata(r)
		}
		// A non-UID STORE may carry UID in its FETCH responses: extra
		// FETCH data is always allowed (RFC 3501 §7.4.2, §6.4.6).
		if verb == "STORE" {
			r = uidItem.ReplaceAllString(r, "")
		}
		// After an expunge Dovecot updates the \Recent count with RECENT;
		// RFC 3501 §7.3.2 does not require it (and IMAP4rev2 dropped
		// RECENT altogether).
		if (verb == "EXPUNGE" || verb == "UID EXPUNGE" || verb == "MOVE" || verb == "UID MOVE") && recentLine.MatchString(r) {
			continue
		}
		// UIDVALIDITY is chosen by each server (RFC 3501 §2.3.1.1: any
		// value that changes when UIDs are reused); only its presence counts.
		r = uidValidity.ReplaceAllString(r, "${1}<uidvalidity>")
		r = uidplusCode.ReplaceAllString(r, "[${1} <uidvalidity> ")
		// Mod-sequences are only required to grow (RFC 7162 §3.1.1); the
		// numbers themselves are each server's. CHANGEDSINCE scripts check
		// that both pick the same messages.
		r = modseqValue.ReplaceAllString(r, "${1}<modseq>")
		r = highestModseq.ReplaceAllString(r, "${1}<modseq>")
		r = searchModseq.ReplaceAllString(r, "${1}<modseq>)")
		// The order of items in a FETCH response is not significant
		// (RFC 3501 §7.4.2 gives no order; RFC 9051 §7.5.2 likewise).
		if m := fetchLine.FindStringSubmatchIndex(r); m != nil {
			r = r[:m[1]] + sortFetchItems(normaliseStructures(r[m[1]:]))
		}
		// Flag lists are sets (RFC 3501 §2.3.2); LIST attributes too
		// (RFC 3501 §7.2.2).
		r = sortParenLists(r)
		// STATUS items come in any order (RFC 3501 §7.2.4).
		if m := statusLine.FindStringSubmatchIndex(r); m != nil {
			r = r[:m[2]] + "(" + strings.Join(sortedTokens(r[m[2]+1:len(r)-1], 2), " ") + ")"
		}
		out = append(out, r)
	}
	// The order of untagged responses to SELECT/EXAMINE is not specified
	// (RFC 3501 §6.3.1 lists what is REQUIRED, not in which order); nor the
	// order of LIST/LSUB responses (RFC 3501 §6.3.8).
	switch verb {
	case "SELECT", "EXAMINE", "LIST", "LSUB":
		sortUntagged(out)
	}
	return out
}

// normaliseMetadata writes a METADATA response's mailbox quoted and each
// literal value that could be a quoted string as one.
func normaliseMetadata(r string) string {
	rest := r[len("* METADATA "):]
	if !strings.HasPrefix(rest, `"`) {
		name, tail, _ := strings.Cut(rest, " ")
		rest = strconv.Quote(name) + " " + tail
	}
	var b strings.Builder
	b.WriteString("* METADATA ")
	for {
		m := metadataLiteral.FindStringSubmatchIndex(rest)
		if m == nil {
			b.WriteString(rest)
			return b.String()
		}
		n, _ := strconv.Atoi(rest[m[2]:m[3]])
		if m[1]+n > len(rest) {
			b.WriteString(rest)
			return b.String()
		}
		val := rest[m[1] : m[1]+n]
		b.WriteString(rest[:m[0]])
		if strings.ContainsAny(val, "\r\n\x00") || strings.IndexFunc(val, func(c rune) bool { return c >= 0x80 }) >= 0 {
			b.WriteString(rest[m[0] : m[1]+n])
		} else {
			b.WriteString(strconv.Quote(val))
		}
		rest = rest[m[1]+n:]
	}
}

var metadataLiteral = regexp.MustCompile(`\{(\d+)\}\r\n`)

var (
	capabilityCode = regexp.MustCompile(`\[CAPABILITY [^\]]*\] ?`)
	mailboxIDCode  = regexp.MustCompile(`\[MAILBOXID \([A-Za-z0-9_-]+\)\] ?`)
	uidValidity    = regexp.MustCompile(`(UIDVALIDITY )\d+`)
	uidplusCode    = regexp.MustCompile(`\[(COPYUID|APPENDUID) \d+ `)
	modseqValue    = regexp.MustCompile(`(MODSEQ \()\d+`)
	highestModseq  = regexp.MustCompile(`(HIGHESTMODSEQ )\d+`)
	searchModseq   = regexp.MustCompile(`^(\* SEARCH .*\(MODSEQ )\d+\)$`)
	fetchLine      = regexp.MustCompile(`^\* \d+ FETCH `)
	optionalCodes  = regexp.MustCompile(` \[(?:UNAVAILABLE|AUTHENTICATIONFAILED|AUTHORIZATIONFAILED|EXPIRED|PRIVACYREQUIRED|CONTACTADMIN|NOPERM|INUSE|EXPUNGEISSUED|CORRUPTION|SERVERBUG|CLIENTBUG|CANNOT|LIMIT|OVERQUOTA|ALREADYEXISTS|NONEXISTENT)\]()`)
	badCharsetList = regexp.MustCompile(`\[BADCHARSET \([^)]*\)\]`)
	quotedMailbox  = regexp.MustCompile(`^(\* (?:LIST|LSUB) \([^)]*\) (?:"."|NIL) |\* STATUS |\* QUOTAROOT )"([A-Za-z0-9_./&+-]+)"( |$)`)
	paddedDay      = regexp.MustCompile(`" (\d)-`)
	literal8       = regexp.MustCompile(`(BINARY\[[0-9.]*\](?:<\d+>)?) ~\{`)
	extendedList   = regexp.MustCompile(`(?i)^LIST (\(|.* RETURN |\S+ \()`)
	markedAttr     = regexp.MustCompile(`(?i) ?\\(?:Un)?Marked\b`)
	inboxName      = regexp.MustCompile(`(?i)^(\* (?:LIST|LSUB) \([^)]*\) (?:"."|NIL) |\* STATUS )(inbox)( |$)`)
	childInfo      = regexp.MustCompile(` ?\\Has(?:No)?Children`)
	specialUse     = regexp.MustCompile(` ?\\(?:All|Archive|Drafts|Flagged|Junk|Sent|Trash)\b`)
	uidItem        = regexp.MustCompile(` UID \d+|UID \d+ `)
	recentLine     = regexp.MustCompile(`^\* \d+ RECENT$`)
	statusLine     = regexp.MustCompile(`^\* STATUS .* (\(.*\))$`)
	// Human-readable text after a status response is free text
	// (RFC 3501 §7.1); the response code in brackets is what clients read.
	condLine = regexp.MustCompile(`^(\S+ (?:OK|NO|BAD|BYE|PREAUTH))(?: (\[[^\]]*\]))?(?: .*)?$`)
)

func stripText(r string) string {
	m := condLine.FindStringSubmatch(r)
	if m == nil {
		return r
	}
	if m[2] != "" {
		return m[1] + " " + m[2]
	}
	return m[1]
}

func sortUntagged(lines []string) {
	i := 0
	for i < len(lines) && strings.HasPrefix(lines[i], "* ") {
		i++
	}
	sort.Strings(lines[:i])
}

var flagList = regexp.MustCompile(`(FLAGS|LIST|LSUB|PERMANENTFLAGS) \(([^()"{]*)\)`)

// sortParenLists sorts the flags or attributes of FLAGS/PERMANENTFLAGS/LIST.
func sortParenLists(r string) string {
	return flagList.ReplaceAllStringFunc(r, func(s string) string {
		m := flagList.FindStringSubmatch(s)
		f := strings.Fields(m[2])
		sort.Strings(f)
		return m[1] + " (" + strings.Join(f, " ") + ")"
	})
}

// sortFetchItems sorts the name/value pairs of a FETCH attribute list
// "(NAME value NAME value ...)".
func sortFetchItems(list string) string {
	if !strings.HasPrefix(list, "(") || !strings.HasSuffix(list, ")") {
		return list
	}
	return "(" + strings.Join(sortedTokens(list[1:len(list)-1], 2), " ") + ")"
}

// sortedTokens splits s into top-level tokens, groups them by n and sorts
// the groups by their text.
func sortedTokens(s string, n int) []string {
	toks := tokens(s)
	var groups []string
	for i := 0; i < len(toks); i += n {
		end := min(i+n, len(toks))
		groups = append(groups, strings.Join(toks[i:end], " "))
	}
	sort.Strings(groups)
	return groups
}

// tokens splits IMAP response data at top-level spaces: quoted strings,
// literals, parenthesised lists and bracketed section specs stay whole.
func tokens(s string) []string {
	var out []string
	i := 0
	for i < len(s) {
		for i < len(s) && s[i] == ' ' {
			i++
		}
		if i >= len(s) {
			break
		}
		start := i
		depth := 0
		for i < len(s) {
			c := s[i]
			switch {
			case c == '"':
				i++
				for i < len(s) && s[i] != '"' {
					if s[i] == '\\' {
						i++
					}
					i++
				}
			case c == '{':
				end := strings.Index(s[i:], "}\r\n")
				if end < 0 {
					break
				}
				n, err := strconv.Atoi(strings.TrimSuffix(s[i+1:i+end], "+"))
				if err != nil {
					break
				}
				i += end + 3 + n - 1
			case c == '(' || c == '[':
				depth++
			case c == ')' || c == ']':
				depth--
			case c == ' ' && depth == 0:
				goto done
			}
			i++
		}
	done:
		out = append(out, s[start:min(i, len(s))])
	}
	return out
}

var (
	structureItem = regexp.MustCompile(`^(ENVELOPE|BODYSTRUCTURE|BODY)$`)
	// body-fld-enc is a MIME token, case-insensitive (RFC 2045 §6.1).
	encodingString = regexp.MustCompile(`(?i)"(7bit|8bit|binary|base64|quoted-printable)"`)
	// body-fld-lang may be one string or a list (RFC 3501 §9): a list of
	// one equals the string.
	singleLang = regexp.MustCompile(`\(("[^"\\]*")\)`)
	blanks     = regexp.MustCompile(`[ \t]+`)
)

// normaliseStructures rewrites the ENVELOPE, BODYSTRUCTURE and BODY items of
// a FETCH attribute list: a string may be sent quoted or as a literal
// (RFC 3501 §4.3), so literals without line breaks become quoted strings with
// runs of blanks collapsed (Dovecot collapses them in ENVELOPE strings, which
// RFC 3501 §7.4.2 neither requires nor forbids); encodings compare
// case-insensitively; a one-language list equals the string.
func normaliseStructures(list string) string {
	if !strings.HasPrefix(list, "(") || !strings.HasSuffix(list, ")") {
		return list
	}
	toks := tokens(list[1 : len(list)-1])
	for i := 0; i+1 < len(toks); i += 2 {
		if !structureItem.MatchString(toks[i]) {
			continue
		}
		v := literalsToQuoted(toks[i+1])
		v = encodingString.ReplaceAllStringFunc(v, strings.ToUpper)
		if toks[i] == "BODYSTRUCTURE" {
			v = singleLang.ReplaceAllString(v, "$1")
		}
		toks[i+1] = v
	}
	return "(" + strings.Join(toks, " ") + ")"
}

// literalsToQuoted turns every literal in s into a quoted string (blanks
// collapsed) and collapses blanks in quoted strings too.
func literalsToQuoted(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			j := i + 1
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			b.WriteString(blanks.ReplaceAllString(s[i:min(j+1, len(s))], " "))
			i = j
		case '{':
			end := strings.Index(s[i:], "}\r\n")
			if end < 0 {
				b.WriteByte(c)
				continue
			}
			n, err := strconv.Atoi(strings.TrimSuffix(s[i+1:i+end], "+"))
			if err != nil || i+end+3+n > len(s) {
				b.WriteByte(c)
				continue
			}
			text := s[i+end+3 : i+end+3+n]
			b.WriteString(strconv.Quote(blanks.ReplaceAllString(text, " ")))
			i += end + 3 + n - 1
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
