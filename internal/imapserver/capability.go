package imapserver

import (
	"slices"
	"strconv"
	"strings"

	"github.com/letterbox/letterbox/internal/imap"
	"github.com/letterbox/letterbox/internal/store"
)

// The capability list lives here and only here. Every name in it is
// exercised by a test named in capability_test.go; that test fails when one
// is advertised without a test.

// baseCapabilities are advertised in every state.
var baseCapabilities = []string{
	"IMAP4rev1",   // RFC 3501
	"IMAP4rev2",   // RFC 9051
	"LITERAL+",    // RFC 7888
	"SASL-IR",     // RFC 4959
	"ID",          // RFC 2971
	"ENABLE",      // RFC 5161
	"IDLE",        // RFC 2177
	"NAMESPACE",   // RFC 2342
	"UNSELECT",    // RFC 3691
	"UIDPLUS",     // RFC 4315
	"MOVE",        // RFC 6851
	"CHILDREN",    // RFC 3348
	"SPECIAL-USE", // RFC 6154
	"CREATE-SPECIAL-USE",
	"LIST-EXTENDED", // RFC 5258
	"LIST-STATUS",   // RFC 5819
	"ESEARCH",       // RFC 4731
	"SEARCHRES",     // RFC 5182
	"STATUS=SIZE",   // RFC 8438
	"BINARY",        // RFC 3516
	"UTF8=ACCEPT",   // RFC 6855
	"CONDSTORE",     // RFC 7162
	"QRESYNC",       // RFC 7162
	"NOTIFY",        // RFC 5465
	"MULTIAPPEND",   // RFC 3502 (append.go)
	"CATENATE",      // RFC 4469 (append.go, imapurl.go)
	"URLAUTH",       // RFC 4467 (urlauth.go)
	// RFC 5256, RFC 5957, RFC 5267 (sort.go, thread.go)
	"SORT", "SORT=DISPLAY", "ESORT", "THREAD=ORDEREDSUBJECT", "THREAD=REFERENCES",
	"CONTEXT=SEARCH", "CONTEXT=SORT", // RFC 5267 (update.go)
	"OBJECTID", // RFC 8474 (fetch.go, search.go, mailbox.go)
	"SAVEDATE", // RFC 8514 (fetch.go, search.go)
	"PREVIEW",  // RFC 8970 (preview.go)
	"WITHIN",   // RFC 5032 (search.go)
	"REPLACE",  // RFC 8508 (replace.go)
	// RFC 5255 §4.3: SEARCH folds with i;unicode-casemap (internal/casemap,
	// as Dovecot, which advertises the same), SORT compares with it.
	"I18NLEVEL=1",
	"UIDONLY", // RFC 9586 (uidonly.go)
}

// metadataCapabilities are advertised when the store keeps METADATA
// entries (store.Metadata): mailbox and server entries (RFC 5464 §1).
var metadataCapabilities = []string{"METADATA", "METADATA-SERVER"}

// aclCapabilities are advertised when the store keeps access control
// lists (store.ACLs): RFC 4314 with t, e, x and k as separate rights
// (§2.1.1 RIGHTS=texk) and LIST's MYRIGHTS return option (RFC 8440).
var aclCapabilities = []string{"ACL", "RIGHTS=texk", "LIST-MYRIGHTS"}

// capabilities returns what the session advertises now (RFC 3501 §6.1.1):
// STARTTLS while it can be used, LOGINDISABLED and no AUTH=PLAIN where
// plaintext authentication is not allowed (RFC 3501 §6.2.3, §11.1),
// APPENDLIMIT with the configured size (RFC 7889), COMPRESS=DEFLATE
// (RFC 4978) once authenticated.
func (s *session) capabilities() []string {
	caps := make([]string, 0, len(baseCapabilities)+4)
	caps = append(caps, baseCapabilities...)
	if s.srv.opts.Limits.LiteralMinus {
		// RFC 7888 §4: LITERAL- replaces LITERAL+, never both.
		caps[slices.Index(caps, "LITERAL+")] = "LITERAL-"
	}
	caps = append(caps, "APPENDLIMIT="+strconv.FormatInt(s.srv.opts.MaxMessageSize, 10))
	if _, ok := s.srv.opts.Store.(store.Metadata); ok {
		caps = append(caps, metadataCapabilities...)
	}
	if s.srv.quota != nil {
		caps = append(caps, quotaCapabilities...)
	}
	if s.srv.acls != nil {
		caps = append(caps, aclCapabilities...)
	}
	if s.state != stateNotAuthenticated {
		// RFC 4978 lets it be listed before login too; Dovecot lists it
		// only once authenticated, where the command is valid.
		caps = append(caps, "COMPRESS=DEFLATE")
	}
	if s.state == stateNotAuthenticated {
		if s.srv.opts.TLS != nil && !s.c.tls {
			caps = append(caps, "STARTTLS")
		}
		if s.plaintextAllowed() {
			caps = append(caps, "AUTH=PLAIN")
		} else {
			caps = append(caps, "LOGINDISABLED")
		}
	}
	return caps
}

// plaintextAllowed says whether LOGIN and AUTHENTICATE PLAIN may be used.
func (s *session) plaintextAllowed() bool {
	return s.srv.opts.AllowPlaintextAuth(s.c.remote, s.c.tls)
}

// cmdCapability: CAPABILITY (RFC 3501 §6.1.1).
func (s *session) cmdCapability(cmd *imap.Command) (string, error) {
	s.writeCapability()
	return "", nil
}

func (s *session) writeCapability() {
	w := s.c.w
	w.StartUntagged()
	w.Raw("CAPABILITY")
	for _, c := range s.capabilities() {
		w.SP()
		w.Atom(c)
	}
	w.CRLF()
}

// cmdNoop: NOOP (RFC 3501 §6.1.2) and CHECK (RFC 3501 §6.4.1; nothing to
// do: every change is durable when its command completes). The pending
// updates are written by execute.
func (s *session) cmdNoop(cmd *imap.Command) (string, error) {
	return "", nil
}

// cmdLogout: LOGOUT (RFC 3501 §6.1.3).
func (s *session) cmdLogout(cmd *imap.Command) (string, error) {
	s.c.w.WriteStatus("", "BYE", "", "letterbox logging out")
	s.state = stateLogout
	s.dropView()
	return "", nil
}

// advertised reports whether name is in the base capability list (ENABLE
// must not turn on what the server does not announce, RFC 5161 §3.1).
func advertised(name string) bool {
	for _, c := range baseCapabilities {
		if strings.EqualFold(c, name) {
			return true
		}
	}
	return false
}
