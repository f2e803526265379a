package store

import "context"

// Quota (RFC 9208): one quota root per account, with two resources, STORAGE
// (octets of the account's live messages; IMAP reports it in units of 1024
// octets, RFC 9208 §5.1) and MESSAGE (their number, §5.2). Messages that
// were expunged but are still held for a session that has not been told
// (see Pin) do not count: a deletion frees its room at once.
//
// Drivers keep the usage as counters updated in the transaction that adds
// or removes a message row, and refuse a Deliver target or a CopyTo that
// would take the usage over a limit with ErrOverQuota, changing nothing.
// MoveTo within an account never changes the usage and is never refused for
// quota. A limit of 0 means unlimited.

// QuotaLimits are the limits of one account. 0 means unlimited.
type QuotaLimits struct {
	Storage  int64 // octets
	Messages int64
}

// QuotaResource is one resource of an account's quota.
type QuotaResource struct {
	Used  int64
	Limit int64 // the limit in force; 0 = unlimited
	// Default is true when the account has no limit of its own for this
	// resource and Limit is the store's default (Options.DefaultQuota).
	Default bool
}

// Quota is an account's usage and limits.
type Quota struct {
	Storage  QuotaResource // octets
	Messages QuotaResource
}

// QuotaUseDefault, given to SetQuota for a resource, removes the account's
// own limit so the store's default applies again.
const QuotaUseDefault int64 = -1

// Quotas is implemented by drivers that keep quota (both of letterbox's
// do). Front ends check for it once, with a type assertion on the Store.
type Quotas interface {
	// Quota returns the account's usage and the limits in force.
	Quota(ctx context.Context, account string) (Quota, error)
	// SetQuota sets the account's own limits: a value >= 0 is the limit
	// (0 = unlimited), QuotaUseDefault goes back to the default. Lowering a
	// limit below the usage removes nothing; further additions are refused
	// until enough is deleted.
	SetQuota(ctx context.Context, account string, storage, messages int64) error
}

// EffectiveLimit is the limit in force for one resource: the account's own
// (own >= 0, when set) or the default.
func EffectiveLimit(own int64, set bool, def int64) (limit int64, isDefault bool) {
	if set && own >= 0 {
		return own, false
	}
	return def, true
}

// OverQuota reports whether the usage is above a limit. Drivers check it
// after inserting, in the same transaction, and roll the insert back.
func (q Quota) OverQuota() bool {
	over := func(r QuotaResource) bool { return r.Limit > 0 && r.Used > r.Limit }
	return over(q.Storage) || over(q.Messages)
}
