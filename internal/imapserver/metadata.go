package imapserver

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/letterbox/letterbox/internal/imap"
	"github.com/letterbox/letterbox/internal/store"
)

// METADATA and METADATA-SERVER (RFC 5464): GETMETADATA and SETMETADATA on
// the entries the store keeps (store.Metadata), plus read-only entries
// computed here, as Dovecot has them:
//   - /private/specialuse on a mailbox: its special-use attribute
//     (RFC 6154), NIL when it has none;
//   - /shared/comment and /shared/admin on the server (mailbox ""): from
//     MetadataOptions.ServerComment and ServerAdmin, NIL when unset.
//
// Entry names are case-insensitive (RFC 5464 §3.2): they are stored and
// answered lower-cased (ASCII), as Dovecot does. Writes are announced on
// the change feed (store.MetadataChanged); unsolicited METADATA responses
// go only to NOTIFY sessions that asked for MailboxMetadataChange or
// ServerMetadataChange (notify_metadata.go; §4.4 makes them optional
// otherwise, and Dovecot sends none).

// MetadataOptions bound and fill METADATA (docs/LIMITS.md).
type MetadataOptions struct {
	// MaxValueSize bounds one value in octets; default 64 KiB. Over it:
	// NO [METADATA MAXSIZE n] (RFC 5464 §4.3), for a literal before the
	// client sends it.
	MaxValueSize int64
	// MaxEntries bounds the entries of one mailbox and the server entries
	// of one account; default 100. Over it: NO [METADATA TOOMANY].
	MaxEntries int
	// MaxTotalSize bounds the octets (names plus values) of all entries of
	// one account; default 1 MiB. Over it: NO [OVERQUOTA] (RFC 5530).
	MaxTotalSize int64
	// ServerComment and ServerAdmin are the server's /shared/comment and
	// /shared/admin (RFC 5464 §3.2.1: admin is a URI, e.g.
	// "mailto:postmaster@example.com"); "" answers NIL.
	ServerComment string
	ServerAdmin   string
}

func (o *MetadataOptions) setDefaults() {
	if o.MaxValueSize <= 0 {
		o.MaxValueSize = 64 << 10
	}
	if o.MaxEntries <= 0 {
		o.MaxEntries = 100
	}
	if o.MaxTotalSize <= 0 {
		o.MaxTotalSize = 1 << 20
	}
}

// Entry names computed here (lower-case).
const (
	entrySpecialUse    = "/private/specialuse"
	entryServerComment = "/shared/comment"
	entryServerAdmin   = "/shared/admin"
)

// metadataStore returns the store's Metadata capability, or a BAD when it
// has none (the capability is not advertised then).
func (s *session) metadataStore() (store.Metadata, error) {
	md, ok := s.srv.opts.Store.(store.Metadata)
	if !ok {
		return nil, errBad("Unknown command")
	}
	return md, nil
}

// metadataMailbox resolves the mailbox argument: "" is the server; any
// other name must exist (NO [NONEXISTENT]). special is its special-use
// attribute.
func (s *session) metadataMailbox(arg string) (name, special string, err error) {
	if arg == "" {
		return store.ServerMetadata, "", nil
	}
	name, err = existingName(arg)
	if err != nil {
		return "", "", err
	}
	mi, err := s.boxes.Get(s.ctx, name)
	if err != nil {
		return "", "", err
	}
	return mi.Name, mi.SpecialUse, nil
}

// lowerEntry lower-cases an entry name (ASCII only, as Dovecot).
func lowerEntry(name string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, name)
}

// computedEntries are the read-only entries of a mailbox or the server
// that have a value now.
func (s *session) computedEntries(mailbox, special string) map[string][]byte {
	out := map[string][]byte{}
	if mailbox == store.ServerMetadata {
		if c := s.srv.opts.Metadata.ServerComment; c != "" {
			out[entryServerComment] = []byte(c)
		}
		if a := s.srv.opts.Metadata.ServerAdmin; a != "" {
			out[entryServerAdmin] = []byte(a)
		}
	} else if special != "" {
		out[entrySpecialUse] = []byte(special)
	}
	return out
}

// readOnlyEntry reports whether name is computed here and cannot be set.
func readOnlyEntry(mailbox, name string) bool {
	if mailbox == store.ServerMetadata {
		return name == entryServerComment || name == entryServerAdmin
	}
	return name == entrySpecialUse
}

// cmdGetMetadata: GETMETADATA (RFC 5464 §4.2). For each entry asked: with
// DEPTH 0 its value or NIL; with DEPTH 1 or infinity its value when it has
// one and the entries below it (one level, or all), none of them NIL
// (as Dovecot answers). Each entry is answered once, in the order asked,
// the ones below an entry sorted by name. MAXSIZE leaves out longer
// values and reports the longest as [METADATA LONGENTRIES n] (§4.2.1).
func (s *session) cmdGetMetadata(cmd *imap.Command) (string, error) {
	a := cmd.Args.(*imap.GetMetadataArgs)
	md, err := s.metadataStore()
	if err != nil {
		return "", err
	}
	mailbox, special, err := s.metadataMailbox(a.Mailbox)
	if err != nil {
		return "", err
	}
	names := make([]string, len(a.Entries))
	for i, e := range a.Entries {
		names[i] = lowerEntry(e)
	}
	stored, err := md.GetMetadata(s.ctx, s.account.Name, mailbox, names)
	if err != nil {
		return "", err
	}
	values := s.computedEntries(mailbox, special)
	all := make([]string, 0, len(stored)+len(values))
	for _, e := range stored {
		if !readOnlyEntry(mailbox, e.Name) {
			values[e.Name] = e.Value
		}
	}
	for n := range values {
		all = append(all, n)
	}
	slices.Sort(all)

	type item struct {
		name  string
		value []byte
		nil   bool
	}
	var out []item
	done := map[string]bool{}
	var longest int64
	add := func(name string, v []byte, isNil bool) {
		if done[name] {
			return
		}
		done[name] = true
		if !isNil && a.MaxSize >= 0 && int64(len(v)) > a.MaxSize {
			longest = max(longest, int64(len(v)))
			return
		}
		out = append(out, item{name, v, isNil})
	}
	for _, n := range names {
		v, ok := values[n]
		if a.Depth == 0 {
			add(n, v, !ok)
			continue
		}
		if ok {
			add(n, v, false)
		}
		prefix := n + "/"
		for _, c := range all {
			if !strings.HasPrefix(c, prefix) {
				continue
			}
			if a.Depth == 1 && strings.Contains(c[len(prefix):], "/") {
				continue
			}
			add(c, values[c], false)
		}
	}
	if len(out) > 0 {
		w := s.c.w
		w.StartUntagged()
		w.Raw("METADATA ")
		s.writeMetadataMailbox(mailbox)
		w.Raw(" (")
		for i, it := range out {
			if i > 0 {
				w.SP()
			}
			w.AString(it.name)
			w.SP()
			switch {
			case it.nil:
				w.Nil()
			case strings.IndexByte(string(it.value), 0) >= 0:
				// Only a literal8 carries NUL (RFC 5464 §5, RFC 3516).
				w.LiteralHeader(int64(len(it.value)), true)
				w.Write(it.value)
			default:
				w.String(string(it.value))
			}
		}
		w.CloseList()
		w.CRLF()
	}
	if longest > 0 {
		return fmt.Sprintf("METADATA LONGENTRIES %d", longest), nil
	}
	return "", nil
}

// writeMetadataMailbox writes the mailbox of a METADATA response: "" for
// the server.
func (s *session) writeMetadataMailbox(mailbox string) {
	if mailbox == store.ServerMetadata {
		s.c.w.Raw(`""`)
		return
	}
	s.c.w.Mailbox(mailbox)
}

// cmdSetMetadata: SETMETADATA (RFC 5464 §4.3): every entry is set (NIL
// removes it) or, on any refusal, none. Refusals: a value over
// MaxValueSize, NO [METADATA MAXSIZE n]; more entries than MaxEntries,
// NO [METADATA TOOMANY]; the account's entries over MaxTotalSize,
// NO [OVERQUOTA] (RFC 5530); a computed entry, NO [CANNOT].
// [METADATA NOPRIVATE] is never sent: every mailbox and the server keep
// /private entries.
func (s *session) cmdSetMetadata(cmd *imap.Command) (string, error) {
	a := cmd.Args.(*imap.SetMetadataArgs)
	md, err := s.metadataStore()
	if err != nil {
		return "", err
	}
	mailbox, _, err := s.metadataMailbox(a.Mailbox)
	if err != nil {
		return "", err
	}
	opts := s.srv.opts.Metadata
	entries := make([]store.MetadataEntry, len(a.Entries))
	for i, e := range a.Entries {
		name := lowerEntry(e.Name)
		if readOnlyEntry(mailbox, name) {
			return "", errNo("CANNOT", "The "+name+" entry cannot be changed")
		}
		if int64(len(e.Value)) > opts.MaxValueSize {
			return "", errNo(fmt.Sprintf("METADATA MAXSIZE %d", opts.MaxValueSize), "Metadata value too large")
		}
		entries[i] = store.MetadataEntry{Name: name, Value: e.Value}
	}
	err = md.SetMetadata(s.ctx, s.account.Name, mailbox, entries, store.MetadataLimits{
		MaxEntries: opts.MaxEntries, MaxTotalSize: opts.MaxTotalSize})
	switch {
	case errors.Is(err, store.ErrMetadataTooMany):
		return "", errNo("METADATA TOOMANY", fmt.Sprintf("Too many metadata entries (at most %d per mailbox)", opts.MaxEntries))
	case errors.Is(err, store.ErrMetadataOverQuota):
		return "", errNo("OVERQUOTA", fmt.Sprintf("Metadata storage full (at most %d octets per account)", opts.MaxTotalSize))
	}
	return "", err
}
