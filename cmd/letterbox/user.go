package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"unicode"

	"github.com/letterbox/letterbox/internal/auth"
	"github.com/letterbox/letterbox/internal/store"
)

func init() {
	register(&command{
		name:    "user",
		summary: "manage accounts",
		subs: []*command{
			{name: "add", usage: "NAME", summary: "create an account (password from prompt or stdin)", run: userAdd},
			{name: "passwd", usage: "NAME", summary: "set an account's password (prompt or stdin)", run: userPasswd},
			{name: "del", usage: "NAME", summary: "delete an account and all its mail", run: userDel},
			{name: "list", summary: "list accounts", run: userList},
			{name: "quota", usage: "NAME [--storage SIZE|default] [--messages N|default]",
				summary: "show an account's quota, or set its limits (0: unlimited)", run: userQuota},
		},
	})
}

// withUserStore parses a user verb's flags, checks it got want positional
// arguments, and runs f with the opened store.
func withUserStore(e *env, verb string, args []string, want int, f func(s *setup, st store.Store, pos []string) error) error {
	return withStore(e, "user "+verb, args, want, f)
}

// withStore runs the command name's f with want positional arguments and
// the store the flags and config name, closed after.
func withStore(e *env, name string, args []string, want int, f func(s *setup, st store.Store, pos []string) error) error {
	fs, common := newFlagSet(e, name)
	pos, err := parseArgs(e, fs, args)
	if err != nil {
		return err
	}
	if len(pos) != want {
		return usagef("want %d argument(s), got %d", want, len(pos))
	}
	s, err := common.resolve(e)
	if err != nil {
		return err
	}
	st, err := s.openStore(e.ctx, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return err
	}
	defer st.Close()
	return f(s, st, pos)
}

func userAdd(e *env, args []string) error {
	return withUserStore(e, "add", args, 1, func(s *setup, st store.Store, pos []string) error {
		name, err := accountName(pos[0])
		if err != nil {
			return err
		}
		if _, err := st.Account(e.ctx, name); err == nil {
			return fmt.Errorf("account %s already exists", name)
		} else if !errors.Is(err, store.ErrNoSuchAccount) {
			return err
		}
		hash, err := newPasswordHash(e, s, name)
		if err != nil {
			return err
		}
		if _, err := st.CreateAccount(e.ctx, name, hash); err != nil {
			if errors.Is(err, store.ErrAccountExists) {
				return fmt.Errorf("account %s already exists", name)
			}
			return err
		}
		fmt.Fprintf(e.stdout, "account %s created\n", name)
		return nil
	})
}

func userPasswd(e *env, args []string) error {
	return withUserStore(e, "passwd", args, 1, func(s *setup, st store.Store, pos []string) error {
		name := auth.NormalizeUsername(pos[0])
		if _, err := st.Account(e.ctx, name); err != nil {
			return accountErr(name, err)
		}
		hash, err := newPasswordHash(e, s, name)
		if err != nil {
			return err
		}
		if err := st.SetPasswordHash(e.ctx, name, hash); err != nil {
			return accountErr(name, err)
		}
		fmt.Fprintf(e.stdout, "password of %s changed\n", name)
		return nil
	})
}

func userDel(e *env, args []string) error {
	return withUserStore(e, "del", args, 1, func(_ *setup, st store.Store, pos []string) error {
		name := auth.NormalizeUsername(pos[0])
		if err := st.DeleteAccount(context.WithoutCancel(e.ctx), name); err != nil {
			return accountErr(name, err)
		}
		fmt.Fprintf(e.stdout, "account %s deleted\n", name)
		return nil
	})
}

func userList(e *env, args []string) error {
	return withUserStore(e, "list", args, 0, func(_ *setup, st store.Store, _ []string) error {
		accounts, err := st.Accounts(e.ctx)
		if err != nil {
			return err
		}
		for _, a := range accounts {
			fmt.Fprintln(e.stdout, a.Name)
		}
		return nil
	})
}

func newPasswordHash(e *env, s *setup, name string) (string, error) {
	pw, err := readNewPassword(e, name)
	if err != nil {
		return "", err
	}
	return auth.HashPassword(pw, s.passwordParams(e))
}

func accountErr(name string, err error) error {
	if errors.Is(err, store.ErrNoSuchAccount) {
		return fmt.Errorf("no account %s", name)
	}
	return err
}

// accountName checks that a new account's name is a mail address
// (local@domain): the login name is the full address, and its domain
// becomes a local domain. It returns the name lower-cased.
func accountName(s string) (string, error) {
	name := auth.NormalizeUsername(s)
	local, domain, ok := strings.Cut(name, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") {
		return "", usagef("account name %q is not a mail address like alice@example.com", s)
	}
	for _, r := range name {
		if unicode.IsSpace(r) || unicode.IsControl(r) || strings.ContainsRune(`"()<>,;:\[]`, r) {
			return "", usagef("account name %q contains %q", s, r)
		}
	}
	for _, label := range strings.Split(domain, ".") {
		if label == "" || strings.HasPrefix(label, "-") || strings.HasSuffix(label, "-") {
			return "", usagef("account name %q: bad domain %q", s, domain)
		}
	}
	return name, nil
}
