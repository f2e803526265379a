package store

import (
	"context"
	"errors"
	"strings"
)

// Alias errors.
var (
	ErrAliasExists  = errors.New("store: alias already exists")
	ErrNoSuchAlias  = errors.New("store: no such alias")
	ErrInvalidAlias = errors.New("store: invalid alias address")
)

// Alias routes mail for Address to Account. Address is a full address
// ("sales@example.com") or a domain's catch-all ("@example.com"), which
// takes every address of the domain that is neither an account nor
// another alias.
type Alias struct {
	Address string
	Account string
}

// Aliases is the optional capability of a store that keeps aliases
// (`letterbox alias`). SMTP and LMTP deliver to them, and submission lets
// an account send as its aliases.
type Aliases interface {
	// AddAlias: ErrAliasExists, ErrNoSuchAccount, ErrInvalidAlias.
	AddAlias(ctx context.Context, address, account string) error
	// DeleteAlias: ErrNoSuchAlias.
	DeleteAlias(ctx context.Context, address string) error
	// Aliases lists every alias, by address.
	Aliases(ctx context.Context) ([]Alias, error)
	// ResolveAlias returns the account of address (normalised by the
	// caller with NormalizeAlias): the exact alias, else the domain's
	// catch-all; "" when neither exists.
	ResolveAlias(ctx context.Context, address string) (string, error)
}

// NormalizeAlias validates an alias address and returns its stored form:
// lower case, trailing root dot dropped; "@domain" is a catch-all.
func NormalizeAlias(address string) (string, error) {
	a := strings.ToLower(strings.TrimSpace(address))
	i := strings.LastIndexByte(a, '@')
	if i < 0 {
		return "", ErrInvalidAlias
	}
	local, domain := a[:i], strings.TrimSuffix(a[i+1:], ".")
	if domain == "" || strings.ContainsAny(a, " \t\r\n<>,;") || strings.Contains(local, "@") && !strings.HasPrefix(local, `"`) {
		return "", ErrInvalidAlias
	}
	return local + "@" + domain, nil
}

// CatchAll is the catch-all alias address of address's domain.
func CatchAll(address string) string {
	if i := strings.LastIndexByte(address, '@'); i >= 0 {
		return address[i:]
	}
	return ""
}

// IsLocalDomain reports whether mail for domain is delivered here: it is
// in configured (the operator's local_domains) or some account or alias
// lives there. SMTP, LMTP and JMAP submission share this rule: an
// unknown user of a local domain is refused, never relayed.
func IsLocalDomain(ctx context.Context, st Store, domain string, configured []string) (bool, error) {
	domain = strings.TrimSuffix(strings.ToLower(domain), ".")
	in := func(addr string) bool {
		i := strings.LastIndexByte(addr, '@')
		return i >= 0 && strings.TrimSuffix(strings.ToLower(addr[i+1:]), ".") == domain
	}
	for _, d := range configured {
		if in("@" + d) {
			return true, nil
		}
	}
	accounts, err := st.Accounts(ctx)
	if err != nil {
		return false, err
	}
	for _, a := range accounts {
		if in(a.Name) {
			return true, nil
		}
	}
	if al, ok := st.(Aliases); ok {
		aliases, err := al.Aliases(ctx)
		if err != nil {
			return false, err
		}
		for _, a := range aliases {
			if in(a.Address) {
				return true, nil
			}
		}
	}
	return false, nil
}
