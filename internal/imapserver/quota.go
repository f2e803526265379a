package imapserver

import (
	"github.com/letterbox/letterbox/internal/imap"
	"github.com/letterbox/letterbox/internal/store"
)

// QUOTA (RFC 9208). Every account has one quota root, holding all of its
// mailboxes, with the STORAGE (units of 1024 octets, §5.1) and MESSAGE
// (§5.2) resources. The limits are the operator's (`letterbox user quota`,
// the [quota] defaults): users cannot change them, so QUOTASET is not
// advertised and SETQUOTA is refused, as Dovecot refuses it.

// quotaRoot is the name of each account's quota root: Dovecot's name for
// the per-user root in its usual configuration (quota = count:User quota).
const quotaRoot = "User quota"

// quotaCapabilities are advertised when the store keeps quota.
var quotaCapabilities = []string{
	"QUOTA",             // RFC 9208
	"QUOTA=RES-STORAGE", // RFC 9208 §5.1
	"QUOTA=RES-MESSAGE", // RFC 9208 §5.2
}

// cmdGetQuotaRoot: GETQUOTAROOT (RFC 9208 §4.3.2). The root is the same
// for every name, existing or not (Dovecot answers the same way); an
// account without any limit has no quota root, and the untagged QUOTAROOT
// then lists none (Dovecot sends nothing but "OK No quota").
func (s *session) cmdGetQuotaRoot(cmd *imap.Command) (string, error) {
	a := cmd.Args.(*imap.MailboxArgs)
	q, err := s.srv.quota.Quota(s.ctx, s.account.Name)
	if err != nil {
		return "", err
	}
	w := s.c.w
	w.StartUntagged()
	w.Raw("QUOTAROOT ")
	w.Mailbox(a.Mailbox)
	limited := hasLimit(q)
	if limited {
		w.SP()
		w.String(quotaRoot)
	}
	w.CRLF()
	if limited {
		s.writeQuota(q)
	}
	return "", nil
}

// cmdGetQuota: GETQUOTA (RFC 9208 §4.3.1). Only the account's own root
// exists; without any limit it has no resource to report, and the
// quota-list may not be empty, so no QUOTA response is sent (as Dovecot).
func (s *session) cmdGetQuota(cmd *imap.Command) (string, error) {
	a := cmd.Args.(*imap.QuotaRootArgs)
	if a.Root != quotaRoot {
		return "", errNo("NONEXISTENT", "Quota root doesn't exist")
	}
	q, err := s.srv.quota.Quota(s.ctx, s.account.Name)
	if err != nil {
		return "", err
	}
	if hasLimit(q) {
		s.writeQuota(q)
	}
	return "", nil
}

// cmdSetQuota: SETQUOTA (RFC 9208 §4.3.3). Limits are the operator's; a
// server without QUOTASET refuses (§4.3.3: "NO" when the user lacks the
// permission). Dovecot answers "NO Quota can be changed only by admin".
func (s *session) cmdSetQuota(cmd *imap.Command) (string, error) {
	return "", errNo("NOPERM", "Quota can be changed only by admin")
}

// hasLimit reports whether the account has any limit: only then does its
// quota root exist.
func hasLimit(q store.Quota) bool {
	return q.Storage.Limit > 0 || q.Messages.Limit > 0
}

// writeQuota writes "* QUOTA root (resources)" with the limited resources
// (RFC 9208 §4.4.1). STORAGE is in units of 1024 octets: usage rounded up,
// so a non-empty account never shows 0, and the limit rounded down.
func (s *session) writeQuota(q store.Quota) {
	w := s.c.w
	w.StartUntagged()
	w.Raw("QUOTA ")
	w.String(quotaRoot)
	w.Raw(" (")
	sep := false
	if q.Storage.Limit > 0 {
		w.Raw("STORAGE ")
		w.Number(uint64((max(q.Storage.Used, 0) + 1023) / 1024))
		w.SP()
		w.Number(uint64(q.Storage.Limit / 1024))
		sep = true
	}
	if q.Messages.Limit > 0 {
		if sep {
			w.SP()
		}
		w.Raw("MESSAGE ")
		w.Number(uint64(max(q.Messages.Used, 0)))
		w.SP()
		w.Number(uint64(q.Messages.Limit))
	}
	w.CloseList()
	w.CRLF()
}

// writeOverQuota precedes a NO [OVERQUOTA] with the QUOTA response of the
// root that is full (RFC 9208 §4.4.1 allows it with any command).
func (s *session) writeOverQuota() {
	if s.srv.quota == nil || s.state == stateNotAuthenticated {
		return
	}
	q, err := s.srv.quota.Quota(s.ctx, s.account.Name)
	if err != nil || !hasLimit(q) {
		return
	}
	s.writeQuota(q)
}
