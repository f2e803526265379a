package imapserver

import (
	"errors"

	"github.com/letterbox/letterbox/internal/imap"
	"github.com/letterbox/letterbox/internal/store"
)

// The ACL commands (RFC 4314 §3). Every mailbox's owner has every right
// (it has no entry of its own and cannot be given one); others get rights
// from the entries for their account, "anyone" and "authenticated", minus
// their negative ("-") entries. Rights are written in the order Dovecot
// writes them, with the obsolete c and d added (RFC 4314 §2.1.1).

// aclBox resolves an ACL command's mailbox and checks the right it needs.
func (s *session) aclBox(arg string, want store.Rights) (mbRef, error) {
	name, err := existingName(arg)
	if err != nil {
		return mbRef{}, err
	}
	ref, err := s.lookupBox(name)
	if err != nil {
		return mbRef{}, err
	}
	if ref.rights&want == 0 {
		return mbRef{}, ref.need(want)
	}
	return ref, nil
}

// aclError maps the store's ACL errors.
func aclError(err error) error {
	switch {
	case errors.Is(err, store.ErrOwnerRights):
		return errNo("CANNOT", "The owner's rights cannot be changed")
	case errors.Is(err, store.ErrInvalidIdentifier):
		return errNo("CANNOT", "Unknown identifier")
	}
	return err
}

// checkIdentifier refuses an identifier that cannot name anyone.
func checkIdentifier(id string) error {
	if id == "" || id == "-" {
		return errBad("Empty identifier")
	}
	return nil
}

// cmdSetACL: SETACL (RFC 4314 §3.1), with the "+" and "-" modifiers; needs
// a. An entry left with no rights stays (as Dovecot keeps it); no rights
// for an identifier without an entry make none.
func (s *session) cmdSetACL(cmd *imap.Command) (string, error) {
	a := cmd.Args.(*imap.ACLArgs)
	rights, err := store.ParseRights(a.Rights)
	if err != nil {
		for i := 0; i < len(a.Rights); i++ {
			if _, err := store.ParseRights(a.Rights[i : i+1]); err != nil {
				return "", errBad("Invalid ACL right: " + a.Rights[i:i+1])
			}
		}
	}
	if err := checkIdentifier(a.Identifier); err != nil {
		return "", err
	}
	ref, err := s.aclBox(a.Mailbox, store.RightAdmin)
	if err != nil {
		return "", err
	}
	entries, err := s.srv.acls.ACL(s.ctx, ref.owner, ref.name)
	if err != nil {
		return "", err
	}
	id, _ := store.NormalizeIdentifier(a.Identifier)
	var cur store.Rights
	exists := false
	for _, e := range entries {
		if e.Identifier == id {
			cur, exists = e.Rights, true
		}
	}
	switch a.Mod {
	case '+':
		rights = cur | rights
	case '-':
		rights = cur &^ rights
	}
	if rights == 0 && !exists {
		// No rights for an identifier without an entry: nothing to
		// keep (Dovecot makes no entry either).
		return "", nil
	}
	return "", aclError(s.srv.acls.SetACL(s.ctx, ref.owner, ref.name, a.Identifier, rights))
}

// cmdDeleteACL: DELETEACL (RFC 4314 §3.2); needs a.
func (s *session) cmdDeleteACL(cmd *imap.Command) (string, error) {
	a := cmd.Args.(*imap.ACLArgs)
	if err := checkIdentifier(a.Identifier); err != nil {
		return "", err
	}
	ref, err := s.aclBox(a.Mailbox, store.RightAdmin)
	if err != nil {
		return "", err
	}
	return "", aclError(s.srv.acls.DeleteACL(s.ctx, ref.owner, ref.name, a.Identifier))
}

// cmdGetACL: GETACL (RFC 4314 §3.3); needs a. The stored entries, then,
// to the owner, the owner with every right (Dovecot shows its implicit
// owner entry to the owner only).
func (s *session) cmdGetACL(cmd *imap.Command) (string, error) {
	a := cmd.Args.(*imap.ACLArgs)
	ref, err := s.aclBox(a.Mailbox, store.RightAdmin)
	if err != nil {
		return "", err
	}
	entries, err := s.srv.acls.ACL(s.ctx, ref.owner, ref.name)
	if err != nil {
		return "", err
	}
	w := s.c.w
	w.StartUntagged()
	w.Raw("ACL ")
	w.Mailbox(ref.full)
	if !ref.shared {
		entries = append(entries, store.ACLEntry{Identifier: ref.owner, Rights: store.AllRights})
	}
	for _, e := range entries {
		w.SP()
		w.AString(e.Identifier)
		w.SP()
		w.AString(e.Rights.String())
	}
	w.CRLF()
	return "", nil
}

// cmdListRights: LISTRIGHTS (RFC 4314 §3.4). Nothing is granted always and
// every right can be granted on its own, except to the owner, who has them
// all. The answer says nothing about the mailbox's ACL, so any right that
// lets the user see the mailbox is enough (as Dovecot answers; GETACL
// needs a).
func (s *session) cmdListRights(cmd *imap.Command) (string, error) {
	a := cmd.Args.(*imap.ACLArgs)
	if err := checkIdentifier(a.Identifier); err != nil {
		return "", err
	}
	ref, err := s.aclBox(a.Mailbox, store.AllRights&^store.RightPost)
	if err != nil {
		return "", err
	}
	w := s.c.w
	w.StartUntagged()
	w.Raw("LISTRIGHTS ")
	w.Mailbox(ref.full)
	w.SP()
	w.AString(a.Identifier)
	if id, _ := store.NormalizeIdentifier(a.Identifier); id == ref.owner {
		w.SP()
		w.AString(store.AllRights.String())
	} else {
		w.Raw(` "" l r w s t p i e k x a c d`)
	}
	w.CRLF()
	return "", nil
}

// cmdMyRights: MYRIGHTS (RFC 4314 §3.5): any right but p lets the user ask
// (RFC 4314 §4: l, r, i, k, x or a); otherwise the mailbox does not exist
// for them.
func (s *session) cmdMyRights(cmd *imap.Command) (string, error) {
	a := cmd.Args.(*imap.ACLArgs)
	ref, err := s.aclBox(a.Mailbox, store.AllRights&^store.RightPost)
	if err != nil {
		return "", err
	}
	s.writeMyRights(ref.full, ref.rights)
	return "", nil
}

// writeMyRights writes "* MYRIGHTS name rights" (RFC 4314 §3.8; also the
// LIST-MYRIGHTS return option, RFC 8440 §3).
func (s *session) writeMyRights(name string, r store.Rights) {
	w := s.c.w
	w.StartUntagged()
	w.Raw("MYRIGHTS ")
	w.Mailbox(name)
	w.SP()
	w.AString(r.String())
	w.CRLF()
}
