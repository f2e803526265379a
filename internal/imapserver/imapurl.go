package imapserver

import (
	"bufio"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/letterbox/letterbox/internal/imap"
)

// imapURL is an IMAP URL naming a message or a section of one (RFC 5092
// §3, with the URLAUTH parts of RFC 4467 §3): absolute
// ("imap://user@host/INBOX;UIDVALIDITY=9/;UID=3/;SECTION=1.2") or
// relative to the session ("/INBOX/;UID=3", RFC 4469 §3).
type imapURL struct {
	absolute    bool
	user        string // the mailbox owner's login, "" when relative
	mailbox     string // decoded (UTF-8 name with '/' separators)
	uidValidity uint32 // 0 when absent
	uid         uint32
	section     *imap.Section // nil: the whole message
	partial     *imap.Partial
	// URLAUTH (RFC 4467 §3): expire is zero without ;EXPIRE=; access is
	// "" without ;URLAUTH=. rump is the URL up to and including the
	// access identifier: the text the token authenticates.
	expire time.Time
	access string
	rump   string
	mech   string // upper-cased; "" when the URL has no verifier
	token  string
}

// badURL is the reason a URL was refused (never shown to the client,
// which gets [BADURL url] or NIL).
type badURL string

func (e badURL) Error() string { return "bad IMAP URL: " + string(e) }

// indexFold is strings.Index ignoring ASCII case (only ASCII is folded,
// so byte offsets stay those of s whatever else it holds).
func indexFold(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if asciiEqualFold(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}

func asciiEqualFold(a, b string) bool {
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// parseIMAPURL parses the forms above. Everything else (a message list,
// a search, a server-only URL) is refused.
func parseIMAPURL(raw string) (*imapURL, error) {
	u := &imapURL{}
	rest := raw
	if len(rest) >= 7 && strings.EqualFold(rest[:7], "imap://") {
		u.absolute = true
		rest = rest[7:]
		slash := strings.IndexByte(rest, '/')
		if slash < 0 {
			return nil, badURL("no path")
		}
		authority := rest[:slash]
		rest = rest[slash:]
		at := strings.LastIndexByte(authority, '@')
		if at < 0 {
			return nil, badURL("no user")
		}
		userinfo := authority[:at]
		if semi := indexFold(userinfo, ";AUTH="); semi >= 0 {
			userinfo = userinfo[:semi]
		}
		user, err := url.PathUnescape(userinfo)
		if err != nil || user == "" {
			return nil, badURL("bad user")
		}
		u.user = user
	}
	if !strings.HasPrefix(rest, "/") {
		return nil, badURL("not an absolute path")
	}
	rest = rest[1:]
	// URLAUTH: [";EXPIRE=" date-time] ";URLAUTH=" access [":" mech ":" token]
	if i := indexFold(rest, ";URLAUTH="); i >= 0 {
		auth := rest[i+len(";URLAUTH="):]
		rest = rest[:i]
		access, verifier, hasVerifier := strings.Cut(auth, ":")
		u.access = strings.ToLower(access)
		if !validAccess(u.access) {
			return nil, badURL("bad access identifier")
		}
		u.rump = raw[:len(raw)-len(auth)+len(access)]
		if hasVerifier {
			mech, token, ok := strings.Cut(verifier, ":")
			if !ok || mech == "" || len(token) < 32 {
				return nil, badURL("bad verifier")
			}
			u.mech, u.token = strings.ToUpper(mech), token
		}
		if j := indexFold(rest, ";EXPIRE="); j >= 0 {
			t, err := time.Parse(time.RFC3339, rest[j+len(";EXPIRE="):])
			if err != nil {
				return nil, badURL("bad expiry")
			}
			u.expire = t
			rest = rest[:j]
		}
	}
	i := indexFold(rest, "/;UID=")
	if i < 0 {
		return nil, badURL("no UID")
	}
	mbox, after := rest[:i], rest[i+len("/;UID="):]
	if j := indexFold(mbox, ";UIDVALIDITY="); j >= 0 {
		v, err := strconv.ParseUint(mbox[j+len(";UIDVALIDITY="):], 10, 32)
		if err != nil || v == 0 {
			return nil, badURL("bad UIDVALIDITY")
		}
		u.uidValidity = uint32(v)
		mbox = mbox[:j]
	}
	name, err := url.PathUnescape(mbox)
	if err != nil || name == "" {
		return nil, badURL("bad mailbox")
	}
	u.mailbox = name
	uidText, after, _ := strings.Cut(after, "/")
	uid, err := strconv.ParseUint(uidText, 10, 32)
	if err != nil || uid == 0 {
		return nil, badURL("bad UID")
	}
	u.uid = uint32(uid)
	if after != "" {
		if len(after) > 9 && strings.EqualFold(after[:9], ";SECTION=") {
			secText, more, _ := strings.Cut(after[9:], "/")
			after = more
			dec, err := url.PathUnescape(secText)
			if err != nil {
				return nil, badURL("bad section")
			}
			if u.section, err = parseSection(dec); err != nil {
				return nil, err
			}
		}
		if len(after) > 9 && strings.EqualFold(after[:9], ";PARTIAL=") {
			off, length, hasLen := strings.Cut(after[9:], ".")
			o, err := strconv.ParseUint(off, 10, 63)
			if err != nil {
				return nil, badURL("bad partial")
			}
			u.partial = &imap.Partial{Offset: int64(o), Count: 1<<63 - 1}
			if hasLen {
				n, err := strconv.ParseUint(length, 10, 63)
				if err != nil || n == 0 {
					return nil, badURL("bad partial")
				}
				u.partial.Count = int64(n)
			}
			after = ""
		}
		if after != "" {
			return nil, badURL("unexpected " + after)
		}
	}
	return u, nil
}

func validAccess(a string) bool {
	switch {
	case a == "authuser", a == "anonymous":
		return true
	case strings.HasPrefix(a, "user+"), strings.HasPrefix(a, "submit+"):
		_, user, _ := strings.Cut(a, "+")
		return user != ""
	}
	return false
}

// parseSection parses a section-spec with the FETCH parser itself, so a
// URL section means exactly what BODY[section] means.
func parseSection(spec string) (*imap.Section, error) {
	if strings.ContainsAny(spec, "\r\n]") {
		return nil, badURL("bad section")
	}
	r := imap.NewReader(bufio.NewReader(strings.NewReader("x FETCH 1 BODY.PEEK["+spec+"]\r\n")), imap.ReaderOptions{})
	cmd, err := r.ReadCommand()
	if err != nil {
		return nil, badURL("bad section")
	}
	items := cmd.Args.(*imap.FetchArgs).Items
	if len(items) != 1 || items[0].Section == nil {
		return nil, badURL("bad section")
	}
	return items[0].Section, nil
}
