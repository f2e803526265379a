package vacation

import (
	"net/mail"
	"strings"
)

// Incoming is what the rules look at in a delivered message.
type Incoming struct {
	Account  string      // the account it was stored for
	Rcpt     string      // the envelope recipient (an address of Account, or an alias)
	EnvFrom  string      // the envelope sender (MAIL FROM); "" is the null sender
	Header   mail.Header // the message's header section
	Aliases  []string    // other addresses of the user, for the To/Cc test
	Replied  bool        // EnvFrom was answered within the reply interval
	Settings Settings
}

// Decision is whether to answer, and why not.
type Decision struct {
	Reply  bool
	To     string // the address answered: the envelope sender
	Reason string // why not, for the log
}

// Decide applies the rules of RFC 3834 and RFC 5230 §4 (settings aside,
// which the caller checked with Active). The reply goes to the envelope
// sender (RFC 5230 §4.1; RFC 3834 §4).
func Decide(in Incoming) Decision {
	no := func(why string) Decision { return Decision{Reason: why} }
	from := strings.ToLower(strings.TrimSpace(in.EnvFrom))
	// RFC 3834 §2: never answer a message with a null return path (a
	// bounce or another automatic reply).
	if from == "" || !strings.Contains(from, "@") {
		return no("null or invalid envelope sender")
	}
	if ownAddress(from, in) {
		return no("sent by the user")
	}
	// RFC 5230 §4.6: senders that are lists or daemons.
	local := from[:strings.LastIndexByte(from, '@')]
	switch {
	case local == "mailer-daemon", local == "listserv", local == "majordomo",
		strings.HasPrefix(local, "owner-"), strings.HasSuffix(local, "-request"),
		strings.HasSuffix(local, "-owner"), strings.HasSuffix(local, "-bounces"):
		return no("sender is a list or a daemon")
	}
	h := in.Header
	// RFC 3834 §2 and §5: anything automatic is not answered.
	if v := strings.ToLower(strings.TrimSpace(h.Get("Auto-Submitted"))); v != "" && v != "no" {
		return no("Auto-Submitted: " + v)
	}
	// Mailing lists (RFC 2369, RFC 2919) and bulk mail (RFC 3834 §2).
	for _, k := range []string{"List-Id", "List-Post", "List-Unsubscribe", "List-Help"} {
		if h.Get(k) != "" {
			return no(k + " header")
		}
	}
	switch strings.ToLower(strings.TrimSpace(h.Get("Precedence"))) {
	case "bulk", "list", "junk":
		return no("Precedence: " + h.Get("Precedence"))
	}
	if h.Get("X-Auto-Response-Suppress") != "" {
		return no("X-Auto-Response-Suppress header")
	}
	// RFC 5230 §4.5: only mail addressed to the user, not Bcc'd through a
	// list or sent to someone else's address that reached this account.
	if !addressedToUser(in) {
		return no("the user's address is not in To, Cc or Bcc")
	}
	if in.Replied {
		return no("already answered within the interval")
	}
	return Decision{Reply: true, To: from}
}

// ownAddress reports whether addr is the user's.
func ownAddress(addr string, in Incoming) bool {
	if strings.EqualFold(addr, in.Account) || strings.EqualFold(addr, in.Rcpt) {
		return true
	}
	for _, a := range in.Aliases {
		if strings.EqualFold(addr, a) {
			return true
		}
	}
	return false
}

// addressedToUser reports whether an address of the user is in the
// recipient headers (RFC 5230 §4.5 names To, Cc, Bcc, Resent-To,
// Resent-Cc and Resent-Bcc).
func addressedToUser(in Incoming) bool {
	for _, k := range []string{"To", "Cc", "Bcc", "Resent-To", "Resent-Cc", "Resent-Bcc"} {
		v := in.Header.Get(k)
		if v == "" {
			continue
		}
		list, err := mail.ParseAddressList(v)
		if err != nil {
			// Unparseable: look for the plain address text instead.
			lv := strings.ToLower(v)
			for _, a := range append([]string{in.Account, in.Rcpt}, in.Aliases...) {
				if a != "" && strings.Contains(lv, strings.ToLower(a)) {
					return true
				}
			}
			continue
		}
		for _, a := range list {
			if ownAddress(strings.ToLower(a.Address), in) {
				return true
			}
		}
	}
	return false
}
