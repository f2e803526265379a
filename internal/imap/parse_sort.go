package imap

import "strings"

// SortArgs: SORT and UID SORT (RFC 5256 §3, SORT=DISPLAY RFC 5957, ESORT
// and CONTEXT=SORT RFC 5267). Search holds the RETURN options, the
// charset (always present for SORT, upper-cased) and the search key.
type SortArgs struct {
	Criteria []SortCriterion
	Search   SearchArgs
}

// SortCriterion is one sort key: ARRIVAL CC DATE FROM SIZE SUBJECT TO
// DISPLAYFROM DISPLAYTO, with REVERSE in front of it.
type SortCriterion struct {
	Key     string // upper-cased
	Reverse bool
}

// ThreadArgs: THREAD and UID THREAD (RFC 5256 §3).
type ThreadArgs struct {
	Algorithm string // upper-cased: ORDEREDSUBJECT or REFERENCES
	Charset   string // upper-cased
	Key       *SearchKey
}

// CancelUpdateArgs: CANCELUPDATE (RFC 5267 §4.3): the tags of the
// searches whose updates end.
type CancelUpdateArgs struct {
	Tags []string
}

func (*SortArgs) isArgs()         {}
func (*ThreadArgs) isArgs()       {}
func (*CancelUpdateArgs) isArgs() {}

// parseCancelUpdate: "CANCELUPDATE" 1*(SP tag-string) (RFC 5267 §4.3).
func (r *Reader) parseCancelUpdate() Args {
	a := &CancelUpdateArgs{}
	for !r.eol() || len(a.Tags) == 0 {
		r.sp()
		a.Tags = append(a.Tags, r.astring("tag"))
	}
	return a
}

// parseSort: "SORT" [SP sort-return-opts] SP sort-criteria SP
// search-criteria, search-criteria = charset 1*(SP search-key)
// (RFC 5256 §5, RFC 5267 §3.2).
func (r *Reader) parseSort() Args {
	a := &SortArgs{}
	r.sp()
	r.searchReturn(&a.Search)
	r.expect('(', "( before sort criteria")
	for first := true; first || r.peek() != ')'; first = false {
		if !first {
			r.sp()
		}
		var c SortCriterion
		key := strings.ToUpper(r.atom("sort key"))
		if key == "REVERSE" {
			c.Reverse = true
			r.sp()
			key = strings.ToUpper(r.atom("sort key"))
		}
		switch key {
		case "ARRIVAL", "CC", "DATE", "FROM", "SIZE", "SUBJECT", "TO", "DISPLAYFROM", "DISPLAYTO":
		default:
			r.fail("unknown sort key %s", key)
		}
		c.Key = key
		a.Criteria = append(a.Criteria, c)
	}
	r.pos++
	r.sp()
	a.Search.Charset = strings.ToUpper(r.astring("charset"))
	r.sp()
	a.Search.Key = r.searchKeys()
	return a
}

// parseThread: "THREAD" SP thread-alg SP search-criteria (RFC 5256 §5).
func (r *Reader) parseThread() Args {
	a := &ThreadArgs{}
	r.sp()
	a.Algorithm = strings.ToUpper(r.atom("thread algorithm"))
	r.sp()
	a.Charset = strings.ToUpper(r.astring("charset"))
	r.sp()
	a.Key = r.searchKeys()
	return a
}
