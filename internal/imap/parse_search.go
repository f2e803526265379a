package imap

import (
	"slices"
	"strings"
)

// parseSearch: "SEARCH" [SP search-return-opts] [SP "CHARSET" SP astring]
// 1*(SP search-key) (RFC 3501 §6.4.4, RFC 4731 §3.1, RFC 9051 §6.4.4,
// RFC 5267 §4).
func (r *Reader) parseSearch() Args {
	a := &SearchArgs{}
	r.sp()
	r.searchReturn(a)
	if r.keywordAhead("CHARSET") {
		r.pos += len("CHARSET")
		r.sp()
		a.Charset = strings.ToUpper(r.astring("charset"))
		r.sp()
	}
	a.Key = r.searchKeys()
	return a
}

// searchReturn reads an optional "RETURN (...)" and the space after it
// into a.Return and a.Partial (RFC 4731 §3.1, RFC 5182, RFC 5267 §4.4
// PARTIAL, §4.1 CONTEXT and UPDATE).
func (r *Reader) searchReturn(a *SearchArgs) {
	if !r.keywordAhead("RETURN") {
		return
	}
	r.pos += len("RETURN")
	r.sp()
	r.expect('(', "(")
	a.Return = []string{}
	for first := true; r.peek() != ')'; first = false {
		if !first {
			r.sp()
		}
		opt := strings.ToUpper(r.atom("return option"))
		switch opt {
		case "MIN", "MAX", "ALL", "COUNT", "SAVE", "CONTEXT":
		case "UPDATE":
			if slices.Contains(a.Return, "UPDATE") {
				r.fail("duplicate UPDATE return option")
			}
		case "PARTIAL":
			if a.Partial != nil {
				r.fail("PARTIAL can be used only once")
			}
			r.sp()
			lo := r.number("partial range")
			r.expect(':', "partial range")
			hi := r.number("partial range")
			if lo == 0 || hi == 0 {
				r.fail("PARTIAL range broken")
			}
			a.Partial = &PartialRange{Low: min(lo, hi), High: max(lo, hi)}
		default:
			r.fail("unknown SEARCH return option %s", opt)
		}
		a.Return = append(a.Return, opt)
	}
	r.pos++
	if a.Partial != nil && slices.Contains(a.Return, "ALL") {
		r.fail("PARTIAL conflicts with ALL")
	}
	r.sp()
}

// searchKeys reads 1*(SP search-key) (the first without its space) as
// one AND.
func (r *Reader) searchKeys() *SearchKey {
	top := SearchKey{Name: SearchAnd}
	for {
		top.Children = append(top.Children, r.searchKey(0))
		if r.eol() {
			break
		}
		r.sp()
	}
	return &top
}

// searchKey reads one search-key (RFC 3501 §9, RFC 7162 §7 MODSEQ,
// RFC 5182 "$").
func (r *Reader) searchKey(depth int) SearchKey {
	if depth > maxSearchDepth {
		r.fail("search keys nested too deeply")
	}
	c := r.peek()
	if c == '(' {
		r.pos++
		k := SearchKey{Name: SearchAnd}
		for first := true; r.peek() != ')' || first; first = false {
			if !first {
				r.sp()
			}
			k.Children = append(k.Children, r.searchKey(depth+1))
		}
		r.pos++
		return k
	}
	if isDigit(c) || c == '*' || c == '$' {
		return SearchKey{Name: SearchSeqSet, Seq: r.seqSet()}
	}
	k := SearchKey{Name: strings.ToUpper(r.atom("search key"))}
	switch k.Name {
	case "ALL", "ANSWERED", "DELETED", "DRAFT", "FLAGGED", "NEW", "OLD",
		"RECENT", "SEEN", "UNANSWERED", "UNDELETED", "UNDRAFT", "UNFLAGGED",
		"UNSEEN":
	case "BCC", "BODY", "CC", "FROM", "SUBJECT", "TEXT", "TO":
		r.sp()
		k.Value = r.astring("search string")
	case "KEYWORD", "UNKEYWORD":
		r.sp()
		k.Value = r.flagLike("keyword")
	case "BEFORE", "ON", "SINCE", "SENTBEFORE", "SENTON", "SENTSINCE",
		"SAVEDBEFORE", "SAVEDON", "SAVEDSINCE": // RFC 8514 §4.2
		r.sp()
		k.Date = r.date()
	case "SAVEDATESUPPORTED": // RFC 8514 §4.2
	case "EMAILID", "THREADID": // RFC 8474 §6
		r.sp()
		k.Value = r.objectID()
	case "LARGER", "SMALLER":
		r.sp()
		k.Size = int64(r.number64("size"))
	case "OLDER", "YOUNGER":
		// RFC 5032 §3: "OLDER" / "YOUNGER" SP nz-number, seconds.
		r.sp()
		k.Size = int64(r.nzNumber("interval"))
	case "HEADER":
		r.sp()
		k.Field = r.astring("header field name")
		r.sp()
		k.Value = r.astring("header value")
	case "NOT":
		r.sp()
		k.Children = []SearchKey{r.searchKey(depth + 1)}
	case "OR":
		r.sp()
		left := r.searchKey(depth + 1)
		r.sp()
		k.Children = []SearchKey{left, r.searchKey(depth + 1)}
	case "UID":
		r.sp()
		k.Seq = r.seqSet()
	case "MODSEQ":
		r.sp()
		if r.peek() == '"' {
			k.Entry = r.quoted()
			if !strings.HasPrefix(strings.ToLower(k.Entry), "/flags/") {
				r.fail("invalid MODSEQ entry name")
			}
			r.sp()
			k.Type = strings.ToUpper(r.atom("entry type"))
			switch k.Type {
			case "PRIV", "SHARED", "ALL":
			default:
				r.fail("invalid MODSEQ entry type")
			}
			r.sp()
		}
		k.ModSeq = r.number64("mod-sequence")
	default:
		r.fail("unknown search key %s", k.Name)
	}
	return k
}

// objectID reads an RFC 8474 objectid: 1*255(ALPHA / DIGIT / "_" / "-").
func (r *Reader) objectID() string {
	s := r.run(func(c byte) bool {
		return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-'
	})
	if s == "" || len(s) > 255 || !r.eol() && r.peek() != ' ' && r.peek() != ')' {
		r.fail("invalid objectid")
	}
	return s
}
