package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/letterbox/letterbox/internal/auth"
	"github.com/letterbox/letterbox/internal/store"
)

func init() {
	register(&command{
		name:    "alias",
		summary: "manage aliases and catch-all addresses",
		subs: []*command{
			{name: "add", usage: "ADDRESS ACCOUNT", summary: `route ADDRESS ("sales@example.com", or "@example.com" for a domain's catch-all) to ACCOUNT`, run: aliasAdd},
			{name: "del", usage: "ADDRESS", summary: "remove an alias", run: aliasDel},
			{name: "list", summary: "list aliases", run: aliasList},
		},
	})
}

// withAliases runs fn with the store's aliases capability.
func withAliases(e *env, verb string, args []string, n int, fn func(store.Aliases, []string) error) error {
	return withStore(e, verb, args, n, func(_ *setup, st store.Store, pos []string) error {
		al, ok := st.(store.Aliases)
		if !ok {
			return errors.New("this store has no aliases")
		}
		return fn(al, pos)
	})
}

func aliasAdd(e *env, args []string) error {
	return withAliases(e, "alias add", args, 2, func(al store.Aliases, pos []string) error {
		account := auth.NormalizeUsername(pos[1])
		switch err := al.AddAlias(context.WithoutCancel(e.ctx), pos[0], account); {
		case errors.Is(err, store.ErrNoSuchAccount):
			return fmt.Errorf("no account %s", account)
		case errors.Is(err, store.ErrAliasExists):
			return fmt.Errorf("%s is already an alias or an account", pos[0])
		case errors.Is(err, store.ErrInvalidAlias):
			return fmt.Errorf("%q is not an address (local@domain) or a catch-all (@domain)", pos[0])
		case err != nil:
			return err
		}
		addr, _ := store.NormalizeAlias(pos[0])
		fmt.Fprintf(e.stdout, "alias %s → %s added\n", addr, account)
		return nil
	})
}

func aliasDel(e *env, args []string) error {
	return withAliases(e, "alias del", args, 1, func(al store.Aliases, pos []string) error {
		switch err := al.DeleteAlias(context.WithoutCancel(e.ctx), pos[0]); {
		case errors.Is(err, store.ErrNoSuchAlias), errors.Is(err, store.ErrInvalidAlias):
			return fmt.Errorf("no alias %s", pos[0])
		case err != nil:
			return err
		}
		fmt.Fprintf(e.stdout, "alias %s removed\n", pos[0])
		return nil
	})
}

func aliasList(e *env, args []string) error {
	return withAliases(e, "alias list", args, 0, func(al store.Aliases, _ []string) error {
		list, err := al.Aliases(e.ctx)
		if err != nil {
			return err
		}
		for _, a := range list {
			fmt.Fprintf(e.stdout, "%s %s\n", a.Address, a.Account)
		}
		return nil
	})
}
