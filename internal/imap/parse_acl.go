package imap

// ACLArgs: the ACL commands of RFC 4314 §3. SETACL has Identifier and
// Rights (with its "+"/"-" modifier split off into Mod), DELETEACL and
// LISTRIGHTS an Identifier, GETACL and MYRIGHTS only the mailbox.
type ACLArgs struct {
	Mailbox    string
	Identifier string
	Mod        byte   // SETACL: '+' add, '-' remove, 0 replace (RFC 4314 §3.1)
	Rights     string // SETACL: the rights letters, not yet checked
}

// parseACL: SETACL SP mailbox SP identifier SP mod-rights, DELETEACL SP
// mailbox SP identifier, GETACL SP mailbox, LISTRIGHTS SP mailbox SP
// identifier, MYRIGHTS SP mailbox (RFC 4314 §3, §6 formal syntax;
// identifier and mod-rights are astrings).
func (r *Reader) parseACL(name string) Args {
	r.sp()
	a := &ACLArgs{Mailbox: r.mailboxArg()}
	switch name {
	case "GETACL", "MYRIGHTS":
		return a
	}
	r.sp()
	a.Identifier = r.astring("identifier")
	if name != "SETACL" {
		return a
	}
	r.sp()
	rights := r.astring("rights")
	if rights != "" && (rights[0] == '+' || rights[0] == '-') {
		a.Mod, rights = rights[0], rights[1:]
	}
	a.Rights = rights
	return a
}
func (*ACLArgs) isArgs() {}
