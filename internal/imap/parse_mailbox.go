package imap

import (
	"strings"
	"time"
)

// parseSelect: ("SELECT" / "EXAMINE") SP mailbox [SP "(" select-param
// *(SP select-param) ")"] (RFC 3501 §6.3.1, RFC 4466 §2.2, RFC 7162 §7).
func (r *Reader) parseSelect() Args {
	r.sp()
	a := &SelectArgs{Mailbox: r.mailboxArg()}
	if r.eol() {
		return a
	}
	r.sp()
	r.expect('(', "(")
	for first := true; r.peek() != ')'; first = false {
		if !first {
			r.sp()
		}
		switch name := strings.ToUpper(r.atom("select parameter")); name {
		case "CONDSTORE":
			a.CondStore = true
		case "QRESYNC":
			if a.QResync != nil {
				r.fail("QRESYNC given twice")
			}
			r.sp()
			a.QResync = r.parseQResync()
		default:
			r.fail("unknown select parameter %s", name)
		}
	}
	r.pos++
	return a
}

// parseQResync: "(" uidvalidity SP mod-sequence-value [SP known-uids]
// [SP seq-match-data] ")" (RFC 7162 §7).
func (r *Reader) parseQResync() *QResyncParams {
	r.expect('(', "(")
	q := &QResyncParams{UIDValidity: r.nzNumber("UIDVALIDITY")}
	r.sp()
	q.ModSeq = r.number64("mod-sequence")
	if q.ModSeq == 0 {
		r.fail("mod-sequence must not be zero")
	}
	if r.peek() == ' ' {
		r.pos++
		if r.peek() != '(' {
			set := r.seqSet()
			if set.Dollar {
				r.fail("invalid known UIDs")
			}
			q.KnownUIDs = &set
			if r.peek() == ' ' {
				r.pos++
			}
		}
		if r.peek() == '(' {
			r.pos++
			m := &SeqMatchData{Seqs: r.seqSet()}
			r.sp()
			m.UIDs = r.seqSet()
			r.expect(')', ")")
			if m.Seqs.Dollar || m.UIDs.Dollar {
				r.fail("invalid sequence match data")
			}
			q.SeqMatch = m
		}
	}
	r.expect(')', ")")
	return q
}

// parseCreate: "CREATE" SP mailbox [SP "(" "USE" SP "(" [use-attr
// *(SP use-attr)] ")" ")"] (RFC 3501 §6.3.3, RFC 6154 §6).
func (r *Reader) parseCreate() Args {
	r.sp()
	a := &CreateArgs{Mailbox: r.mailboxArg()}
	if r.eol() {
		return a
	}
	r.sp()
	r.expect('(', "(")
	for first := true; r.peek() != ')'; first = false {
		if !first {
			r.sp()
		}
		if name := strings.ToUpper(r.atom("create parameter")); name != "USE" {
			r.fail("unknown create parameter %s", name)
		}
		r.sp()
		r.expect('(', "(")
		a.SpecialUse = []string{}
		for firstAttr := true; r.peek() != ')'; firstAttr = false {
			if !firstAttr {
				r.sp()
			}
			a.SpecialUse = append(a.SpecialUse, r.flagLike("special-use attribute"))
		}
		r.pos++
	}
	r.pos++
	return a
}

// parseList: "LIST" [SP list-select-opts] SP mailbox SP mbox-or-pat
// [SP list-return-opts] (RFC 5258 §6, RFC 5819, RFC 6154 §6).
func (r *Reader) parseList() Args {
	a := &ListArgs{}
	r.sp()
	if r.peek() == '(' {
		a.Extended = true
		r.pos++
		base := false
		for first := true; r.peek() != ')'; first = false {
			if !first {
				r.sp()
			}
			switch opt := strings.ToUpper(r.atom("selection option")); opt {
			case "SUBSCRIBED":
				a.Selection.Subscribed, base = true, true
			case "REMOTE":
				a.Selection.Remote = true
			case "RECURSIVEMATCH":
				a.Selection.RecursiveMatch = true
			case "SPECIAL-USE":
				a.Selection.SpecialUse, base = true, true
			default:
				r.fail("unknown LIST selection option %s", opt)
			}
		}
		r.pos++
		// RFC 5258 §3.1: RECURSIVEMATCH needs another selection option
		// that is not REMOTE.
		if a.Selection.RecursiveMatch && !base {
			r.fail("RECURSIVEMATCH needs SUBSCRIBED or SPECIAL-USE")
		}
		r.sp()
	}
	a.Reference = r.mailboxArg()
	r.sp()
	if r.peek() == '(' {
		a.Extended = true
		r.pos++
		for first := true; r.peek() != ')' || first; first = false {
			if !first {
				r.sp()
			}
			a.Patterns = append(a.Patterns, r.listPatternArg())
		}
		r.pos++
	} else {
		a.Patterns = []string{r.listPatternArg()}
	}
	if r.eol() {
		return a
	}
	r.sp()
	if !r.keywordAhead("RETURN") {
		r.fail("expected RETURN")
	}
	a.Extended = true
	r.pos += len("RETURN")
	r.sp()
	r.expect('(', "(")
	for first := true; r.peek() != ')'; first = false {
		if !first {
			r.sp()
		}
		switch opt := strings.ToUpper(r.atom("return option")); opt {
		case "SUBSCRIBED":
			a.Return.Subscribed = true
		case "CHILDREN":
			a.Return.Children = true
		case "SPECIAL-USE":
			a.Return.SpecialUse = true
		case "MYRIGHTS":
			a.Return.MyRights = true // RFC 8440 §3
		case "STATUS":
			r.sp()
			a.Return.Status = r.statusItems()
		default:
			r.fail("unknown LIST return option %s", opt)
		}
	}
	r.pos++
	return a
}

// parseStatus: "STATUS" SP mailbox SP "(" status-att *(SP status-att) ")"
// (RFC 3501 §6.3.10).
func (r *Reader) parseStatus() Args {
	r.sp()
	a := &StatusArgs{Mailbox: r.mailboxArg()}
	r.sp()
	a.Items = r.statusItems()
	return a
}

// statusItems reads a parenthesised, non-empty list of status items.
func (r *Reader) statusItems() []string {
	r.expect('(', "(")
	items := []string{}
	for first := true; r.peek() != ')' || first; first = false {
		if !first {
			r.sp()
		}
		switch item := strings.ToUpper(r.atom("status item")); item {
		case StatusMessages, StatusRecent, StatusUIDNext, StatusUIDValidity,
			StatusUnseen, StatusDeleted, StatusDeletedStorage, StatusSize, StatusHighestModSeq,
			StatusMailboxID:
			items = append(items, item)
		default:
			r.fail("unknown status item %s", item)
		}
	}
	r.pos++
	return items
}

// parseAppend: "APPEND" SP mailbox [SP flag-list] [SP date-time] SP
// literal (RFC 3501 §6.3.11), literal8 allowed (RFC 3516 §4.4), or
// "UTF8" SP "(" literal8 ")" (RFC 6855 §4, sent by imaplib). With
// ReaderOptions.MultiAppend, further messages may follow (RFC 3502).
func (r *Reader) parseAppend() Args {
	r.sp()
	a := &AppendArgs{Mailbox: r.mailboxArg()}
	for {
		r.sp()
		a.Messages = append(a.Messages, r.appendMessage())
		if r.eol() || !r.opts.MultiAppend {
			return a
		}
	}
}

// parseReplace: "REPLACE" SP seq-number SP mailbox append-message, and
// UID REPLACE with a uniqueid (RFC 8508 §5). append-message is APPEND's
// (RFC 4466): flags, date-time, literal, literal8, UTF8 or CATENATE data.
// The message number is one number or "*" (a seq-number, not a set).
func (r *Reader) parseReplace(uid bool) Args {
	r.sp()
	a := &ReplaceArgs{}
	set := r.seqSet()
	if set.Dollar || len(set.Ranges) != 1 || set.Ranges[0].Start != set.Ranges[0].Stop || uid && set.Ranges[0].Start == 0 {
		r.fail("REPLACE takes one message number")
	}
	a.Seq = set
	r.sp()
	a.Mailbox = r.mailboxArg()
	r.sp()
	a.Message = r.appendMessage()
	return a
}

// appendMessage reads one append-message after its leading space:
// [flag-list SP] [date-time SP] append-data (RFC 3501 §6.3.11, RFC 4466).
func (r *Reader) appendMessage() AppendMessage {
	var m AppendMessage
	if r.peek() == '(' {
		m.Flags = r.flagList()
		r.sp()
	}
	if r.peek() == '"' {
		m.Date = r.dateTime()
		r.sp()
	}
	if r.keywordAhead("UTF8") {
		// RFC 6855 §4: append-data =/ "UTF8" SP "(" literal8 ")"
		r.pos += len("UTF8")
		r.sp()
		r.expect('(', "(")
		if r.peek() != '~' {
			r.fail("UTF8 data must be a literal8")
		}
		m.Literal = r.messageLiteral()
		m.UTF8 = true
		r.expect(')', ")")
	} else if r.keywordAhead("CATENATE") {
		// RFC 4469 §5: append-data =/ "CATENATE" SP "(" cat-part ... ")"
		r.pos += len("CATENATE")
		r.sp()
		m.Catenate = r.catenateParts()
	} else {
		if r.peek() != '{' && r.peek() != '~' {
			r.fail("expected message literal")
		}
		m.Literal = r.messageLiteral()
	}
	return m
}

// dateTime reads a quoted date-time (RFC 3501 §9).
func (r *Reader) dateTime() time.Time {
	if r.peek() != '"' {
		r.fail("expected date-time")
	}
	t, err := ParseDateTime(r.quoted())
	if err != nil {
		r.fail("invalid date-time")
	}
	return t
}

// date reads a date: date-text or quoted date-text (RFC 3501 §9).
func (r *Reader) date() time.Time {
	var s string
	if r.peek() == '"' {
		s = r.quoted()
	} else {
		s = r.run(func(c byte) bool { return isDigit(c) || c == '-' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' })
	}
	t, err := ParseDate(s)
	if err != nil {
		r.fail("invalid date")
	}
	return t
}

// systemFlags maps lower-cased system flags to their canonical spelling.
var systemFlags = map[string]string{
	`\seen`: `\Seen`, `\answered`: `\Answered`, `\flagged`: `\Flagged`,
	`\deleted`: `\Deleted`, `\draft`: `\Draft`, `\recent`: `\Recent`,
}

// flagLike reads "\" atom or atom: a flag, flag-extension, keyword or
// mailbox attribute. System flags get their canonical case.
func (r *Reader) flagLike(what string) string {
	prefix := ""
	if r.peek() == '\\' {
		r.pos++
		prefix = `\`
	}
	s := prefix + r.atom(what)
	if canon, ok := systemFlags[strings.ToLower(s)]; ok {
		return canon
	}
	return s
}

// flagList reads "(" [flag *(SP flag)] ")" (RFC 3501 flag-list). \Recent
// passes (it is a flag-extension by syntax); the server ignores it.
func (r *Reader) flagList() []string {
	r.expect('(', "(")
	flags := []string{}
	for first := true; r.peek() != ')'; first = false {
		if !first {
			r.sp()
		}
		flags = append(flags, r.flagLike("flag"))
	}
	r.pos++
	return flags
}
