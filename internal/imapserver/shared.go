package imapserver

import (
	"errors"
	"strings"

	"github.com/letterbox/letterbox/internal/imap"
	"github.com/letterbox/letterbox/internal/store"
)

// The Other Users namespace (RFC 2342 §5, RFC 4314 §4): another account's
// mailbox that this user has rights on is named
// "shared/<owner>/<mailbox>", as Dovecot names it with a shared namespace of
// prefix "shared/%u/". Names whose first level is "shared" belong to it, so
// a user's own mailbox cannot be called that.
const (
	sharedRoot   = "shared"
	sharedPrefix = sharedRoot + sep
)

// mbRef is a mailbox name as the client gave it, resolved to its owner.
type mbRef struct {
	owner  string          // the account the mailbox belongs to
	boxes  store.Mailboxes // the owner's mailboxes
	name   string          // its name in the owner's account
	full   string          // its name as this client sees it
	shared bool            // another account's (Other Users namespace)
	rights store.Rights    // this user's rights on it
}

// errNoMailbox is what a mailbox the user may not know about looks like
// (RFC 4314 §4: without l and r its existence must not leak).
func errNoMailbox() error { return errNo("NONEXISTENT", "No such mailbox") }

// errNoPerm is the answer to a command that needs a right the user lacks
// (RFC 5530 §3 NOPERM).
func errNoPerm() error { return errNo("NOPERM", "Permission denied") }

// need checks a right on the mailbox: a mailbox the user can neither look
// up nor read does not exist for them; one they can is NOPERM.
func (r mbRef) need(want store.Rights) error {
	if r.rights.Has(want) {
		return nil
	}
	if r.rights&(store.RightLookup|store.RightRead) == 0 {
		return errNoMailbox()
	}
	return errNoPerm()
}

// isSharedName reports whether a canonical name is in the Other Users
// namespace (only when the store keeps ACLs).
func (s *session) isSharedName(name string) bool {
	return s.srv.acls != nil && (name == sharedRoot || strings.HasPrefix(name, sharedPrefix))
}

// splitShared splits "shared/<owner>/<rest>"; ok is false when the name
// has no mailbox part (the namespace root or an owner's level).
func splitShared(name string) (owner, rest string, ok bool) {
	owner, rest, ok = strings.Cut(strings.TrimPrefix(name, sharedPrefix), sep)
	if !ok || owner == "" || rest == "" {
		return "", "", false
	}
	return owner, canonicalName(rest), true
}

// lookupBox resolves an existing mailbox's canonical name: the user's own
// (every right), or another account's with this user's rights from its
// ACL, read at every call so a change is seen at the next command. A
// shared name that names nothing the user has any right on is
// NONEXISTENT, whether it exists or not.
func (s *session) lookupBox(name string) (mbRef, error) {
	if !s.isSharedName(name) {
		return mbRef{owner: s.account.Name, boxes: s.boxes, name: name, full: name, rights: store.AllRights}, nil
	}
	owner, rest, ok := splitShared(name)
	if !ok || store.NormalizeAccount(owner) == s.account.Name {
		return mbRef{}, errNoMailbox()
	}
	owner = store.NormalizeAccount(owner)
	entries, err := s.srv.acls.ACL(s.ctx, owner, rest)
	if errors.Is(err, store.ErrNoSuchAccount) || errors.Is(err, store.ErrNoSuchMailbox) || errors.Is(err, store.ErrInvalidName) {
		return mbRef{}, errNoMailbox()
	}
	if err != nil {
		return mbRef{}, err
	}
	rights := store.EffectiveRights(entries, s.account.Name)
	if rights == 0 {
		return mbRef{}, errNoMailbox()
	}
	boxes, err := s.srv.opts.Store.Mailboxes(s.ctx, owner)
	if err != nil {
		return mbRef{}, err
	}
	return mbRef{owner: owner, boxes: boxes, name: rest, full: sharedPrefix + owner + sep + rest, shared: true, rights: rights}, nil
}

// lookupNew resolves the name of a mailbox to be made (CREATE, RENAME's
// new name): in another account it needs k on the parent (RFC 4314 §4).
func (s *session) lookupNew(name string) (mbRef, error) {
	if !s.isSharedName(name) {
		return mbRef{owner: s.account.Name, boxes: s.boxes, name: name, full: name, rights: store.AllRights}, nil
	}
	owner, rest, ok := splitShared(name)
	if !ok {
		return mbRef{}, errNo("CANNOT", "The shared namespace holds other users' mailboxes only")
	}
	parents := store.ParentNames(rest)
	if len(parents) == 0 {
		return mbRef{}, errNoPerm()
	}
	parent, err := s.lookupBox(sharedPrefix + owner + sep + parents[len(parents)-1])
	if err != nil {
		if pe := storeError(err, false); pe != nil && pe.code == "NONEXISTENT" {
			return mbRef{}, errNoPerm()
		}
		return mbRef{}, err
	}
	if !parent.rights.Has(store.RightCreate) {
		return mbRef{}, errNoPerm()
	}
	parent.name, parent.full = rest, sharedPrefix+parent.owner+sep+rest
	return parent, nil
}

// clientName is the name this client knows a mailbox of account owner by.
func (s *session) clientName(owner, name string) string {
	if owner == "" || owner == s.account.Name {
		return name
	}
	return sharedPrefix + owner + sep + name
}

// permittedFlags keeps the flags the rights allow to set or clear
// (RFC 4314 §4: \Seen needs s, \Deleted t, any other flag w).
func permittedFlags(flags []string, r store.Rights) []string {
	if r.Has(store.RightSeen | store.RightWrite | store.RightDeleteMessage) {
		return flags
	}
	out := make([]string, 0, len(flags))
	for _, f := range flags {
		if flagAllowed(f, r) {
			out = append(out, f)
		}
	}
	return out
}

// flagAllowed reports whether rights r may change flag f.
func flagAllowed(f string, r store.Rights) bool {
	switch {
	case strings.EqualFold(f, store.FlagSeen):
		return r.Has(store.RightSeen)
	case strings.EqualFold(f, store.FlagDeleted):
		return r.Has(store.RightDeleteMessage)
	default:
		return r.Has(store.RightWrite)
	}
}

// selRights is this user's rights on the selected mailbox.
func (s *session) selRights() store.Rights {
	if !s.selRef.shared {
		return store.AllRights
	}
	return s.selRef.rights
}

// checkSelectedRights reads the rights on a selected shared mailbox again
// (an owner's SETACL counts from the next command) and refuses a command
// on its messages once r is gone (RFC 4314 §4): NOPERM, or NONEXISTENT
// when l went too. CLOSE, UNSELECT and the any-state commands still work.
func (s *session) checkSelectedRights(cmd *imap.Command) error {
	if s.state != stateSelected || !s.selRef.shared || s.sel == nil {
		return nil
	}
	entries, err := s.srv.acls.ACL(s.ctx, s.selRef.owner, s.sel.name)
	switch {
	case err == nil:
		s.selRef.rights = store.EffectiveRights(entries, s.account.Name)
	case errors.Is(err, store.ErrNoSuchMailbox), errors.Is(err, store.ErrNoSuchAccount):
		s.selRef.rights = 0
	default:
		return err
	}
	if h := commandTable[cmd.Name]; h.states != stateSelected {
		return nil
	}
	switch cmd.Name {
	case "CLOSE", "UNSELECT", "CHECK":
		return nil
	}
	return s.selRef.need(store.RightRead)
}

// sharedBoxes maps the client's names of the other accounts' mailboxes
// this user has l on to them (nil without ACLs).
func (s *session) sharedBoxes() (map[string]store.SharedMailbox, error) {
	if s.srv.acls == nil {
		return nil, nil
	}
	list, err := s.srv.acls.SharedWith(s.ctx, s.account.Name)
	if err != nil {
		return nil, err
	}
	out := make(map[string]store.SharedMailbox, len(list))
	for _, sm := range list {
		if sm.Rights.Has(store.RightLookup) {
			out[s.clientName(sm.Owner, sm.Info.Name)] = sm
		}
	}
	return out, nil
}

// sharedStatus is STATUS of another account's mailbox for LIST-STATUS:
// only with r (RFC 4314 §4).
func (s *session) sharedStatus(sm store.SharedMailbox) (store.MailboxStatus, error) {
	if !sm.Rights.Has(store.RightRead) {
		return store.MailboxStatus{}, errNoPerm()
	}
	boxes, err := s.srv.opts.Store.Mailboxes(s.ctx, sm.Owner)
	if err != nil {
		return store.MailboxStatus{}, err
	}
	return boxes.Status(s.ctx, sm.Info.Name)
}
