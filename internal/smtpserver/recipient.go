package smtpserver

import (
	"context"
	"errors"
	"strings"

	"github.com/letterbox/letterbox/internal/store"
)

// resolveRecipient decides what to do with RCPT TO:<to> and returns the
// account the message will be stored for.
//
//   - an existing account: accepted, in every mode;
//   - otherwise, LMTP: 550 5.1.1 (LMTP only delivers to local mailboxes,
//     RFC 2033 §4.2);
//   - a local domain (configured, or the domain of any account): 550 5.1.1;
//   - a remote domain, authenticated client: queued for remote delivery
//     when Options.Queue is set (returned as remoteRecipient), otherwise
//     550 5.7.1 remote delivery is not configured;
//   - a remote domain, anyone else: 550 5.7.1 relay access denied (RFC 5321
//     §3.6.2: no open relay).
//
// Errors that are not SMTP replies are store failures (temporary).
func (srv *Server) resolveRecipient(ctx context.Context, to string, authenticated bool) (string, error) {
	local, domain, ok := splitAddress(to)
	if !ok || local == "" || domain == "" {
		return "", errBadRecipient
	}
	name := strings.ToLower(local) + "@" + normalizeDomain(domain)
	acct, err := srv.opts.Store.Account(ctx, name)
	switch {
	case err == nil:
		return acct.Name, nil
	case !errors.Is(err, store.ErrNoSuchAccount):
		return "", err
	}
	// An alias, or the domain's catch-all (`letterbox alias`).
	if al, ok := srv.opts.Store.(store.Aliases); ok {
		acct, err := al.ResolveAlias(ctx, name)
		if err != nil {
			return "", err
		}
		if acct != "" {
			return acct, nil
		}
	}
	if srv.opts.Mode == ModeLMTP {
		return "", errNoSuchUser
	}
	isLocal, err := srv.isLocalDomain(ctx, domain)
	switch {
	case err != nil:
		return "", err
	case isLocal:
		return "", errNoSuchUser
	case authenticated && srv.opts.Queue != nil:
		return remoteRecipient, nil
	case authenticated:
		return "", errRemoteNotConfigured
	default:
		return "", errRelayDenied
	}
}

// remoteRecipient is what resolveRecipient returns for a recipient that
// goes to the outbound queue (no account has an empty name).
const remoteRecipient = ""

// isLocalDomain reports whether this server is the final destination for
// domain: it is listed in Options.LocalDomains or some account lives there.
func (srv *Server) isLocalDomain(ctx context.Context, domain string) (bool, error) {
	var configured []string
	if srv.opts.LocalDomains != nil {
		configured = srv.opts.LocalDomains()
	}
	return store.IsLocalDomain(ctx, srv.opts.Store, domain, configured)
}

// splitAddress splits "local@domain" at the last '@' (a quoted local part
// may contain '@').
func splitAddress(addr string) (local, domain string, ok bool) {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return "", "", false
	}
	return addr[:i], addr[i+1:], true
}

// normalizeDomain lower-cases a domain and drops a trailing root dot.
func normalizeDomain(d string) string {
	return strings.TrimSuffix(strings.ToLower(d), ".")
}

// roomFor refuses, in SMTP and submission, a RCPT whose account is already
// full or would be overfilled by a message of the size MAIL announced
// (RFC 1870; 0: unknown), with 452 4.2.2. SMTP answers DATA once for all
// recipients, so a recipient found full only at delivery makes the whole
// transaction fail temporarily and the sender retry it, a duplicate for
// the others; refused at RCPT, the others are delivered and only this one
// is retried. The check at delivery stays the authority (the account can
// fill up in between). LMTP answers per recipient after DATA, and does not
// ask here, like Dovecot's LMTP by default (lmtp_rcpt_check_quota = no).
// A failure to read the quota does not refuse the recipient.
func (srv *Server) roomFor(ctx context.Context, account string, size int64) error {
	if srv.quota == nil || srv.opts.Mode == ModeLMTP {
		return nil
	}
	q, err := srv.quota.Quota(ctx, account)
	if err != nil {
		srv.opts.Logger.Warn("quota lookup failed", "account", account, "err", err)
		return nil
	}
	full := func(r store.QuotaResource, add int64) bool {
		return r.Limit > 0 && (r.Used >= r.Limit || r.Used+add > r.Limit)
	}
	if full(q.Storage, size) || full(q.Messages, 1) {
		return errMailboxFull
	}
	return nil
}
