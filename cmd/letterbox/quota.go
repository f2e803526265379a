package main

import (
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"

	"github.com/letterbox/letterbox/internal/auth"
	"github.com/letterbox/letterbox/internal/config"
	"github.com/letterbox/letterbox/internal/store"
)

// userQuota: `letterbox user quota NAME [--storage SIZE] [--messages N]`.
// Without flags it shows the account's usage and limits; a flag sets that
// limit: a size ("1GiB", "500MiB", octets) or a count, 0 for unlimited,
// "default" to follow [quota] again. Then it shows the result.
func userQuota(e *env, args []string) error {
	fs, common := newFlagSet(e, "user quota")
	storage := fs.String("storage", "", `storage limit: a size such as "1GiB", 0 for unlimited, or "default"`)
	messages := fs.String("messages", "", `message count limit: a number, 0 for unlimited, or "default"`)
	pos, err := parseArgs(e, fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want 1 argument(s), got %d", len(pos))
	}
	name := auth.NormalizeUsername(pos[0])
	setStorage, setMessages := *storage != "", *messages != ""
	storageLimit, err := parseLimit(*storage, func(v string) (int64, error) {
		var sz config.Size
		err := sz.UnmarshalText([]byte(v))
		return int64(sz), err
	})
	if err != nil {
		return usagef("--storage: %v", err)
	}
	messageLimit, err := parseLimit(*messages, func(v string) (int64, error) {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("invalid count %q (want a number, 0 for unlimited, or \"default\")", v)
		}
		return n, nil
	})
	if err != nil {
		return usagef("--messages: %v", err)
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
	q, ok := st.(store.Quotas)
	if !ok {
		return fmt.Errorf("the %s store keeps no quota", s.cfg.Store.Driver)
	}
	cur, err := q.Quota(e.ctx, name)
	if err != nil {
		return accountErr(name, err)
	}
	if setStorage || setMessages {
		// A limit not given stays as it is: the account's own, or none.
		own := func(r store.QuotaResource) int64 {
			if r.Default {
				return store.QuotaUseDefault
			}
			return r.Limit
		}
		if !setStorage {
			storageLimit = own(cur.Storage)
		}
		if !setMessages {
			messageLimit = own(cur.Messages)
		}
		if err := q.SetQuota(e.ctx, name, storageLimit, messageLimit); err != nil {
			return accountErr(name, err)
		}
		if cur, err = q.Quota(e.ctx, name); err != nil {
			return accountErr(name, err)
		}
	}
	fmt.Fprintf(e.stdout, "%s\n", name)
	fmt.Fprintf(e.stdout, "storage:  %s used, limit %s\n", octets(cur.Storage.Used), limitText(cur.Storage, octets))
	fmt.Fprintf(e.stdout, "messages: %d, limit %s\n", cur.Messages.Used, limitText(cur.Messages, func(n int64) string { return strconv.FormatInt(n, 10) }))
	return nil
}

// parseLimit reads a limit flag: "" (not given), "default", or a value.
func parseLimit(v string, parse func(string) (int64, error)) (int64, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "":
		return 0, nil
	case "default":
		return store.QuotaUseDefault, nil
	}
	return parse(strings.TrimSpace(v))
}

// limitText shows a limit: "unlimited" or the value, and where it comes
// from when it is the [quota] default.
func limitText(r store.QuotaResource, format func(int64) string) string {
	t := "unlimited"
	if r.Limit > 0 {
		t = format(r.Limit)
	}
	if r.Default {
		t += " (default, [quota])"
	}
	return t
}

// octets writes a size exactly, with a binary unit when it has one.
func octets(n int64) string {
	s := strconv.FormatInt(n, 10) + " octets"
	for _, u := range []struct {
		n    int64
		name string
	}{{1 << 30, "GiB"}, {1 << 20, "MiB"}, {1 << 10, "KiB"}} {
		if n >= u.n {
			return s + " (" + strconv.FormatFloat(float64(n)/float64(u.n), 'f', 1, 64) + " " + u.name + ")"
		}
	}
	return s
}
