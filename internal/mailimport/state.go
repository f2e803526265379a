package mailimport

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/letterbox/letterbox/internal/store"
)

// StateEntry is the METADATA entry (RFC 5464, on the target mailbox) that
// holds a mailbox's import state. It lives with the mailbox, so it works
// the same on every store driver and on every node, goes away with the
// mailbox, and follows it through a RENAME.
const StateEntry = "/private/vendor/letterbox/import"

// state is what StateEntry holds: the source, the source mailbox's
// UIDVALIDITY and the last source UID imported.
type state struct {
	Source      string `json:"source"`
	Mailbox     string `json:"mailbox"`
	UIDValidity uint32 `json:"uidvalidity"`
	LastUID     uint32 `json:"last_uid"`
}

// loadState reads the mailbox's import state; the zero state when there is
// none (or the store keeps no metadata).
func loadState(ctx context.Context, st store.Store, account, mailbox string) (state, error) {
	md, ok := st.(store.Metadata)
	if !ok {
		return state{}, nil
	}
	es, err := md.GetMetadata(ctx, account, mailbox, []string{StateEntry})
	if err != nil {
		return state{}, err
	}
	for _, e := range es {
		if e.Name == StateEntry {
			var s state
			if err := json.Unmarshal(e.Value, &s); err != nil {
				return state{}, nil // unreadable: start over
			}
			return s, nil
		}
	}
	return state{}, nil
}

// saveState writes the mailbox's import state.
func saveState(ctx context.Context, st store.Store, account, mailbox string, s state) error {
	md, ok := st.(store.Metadata)
	if !ok {
		return errors.New("the store keeps no METADATA: an import cannot be resumed")
	}
	b, _ := json.Marshal(s)
	return md.SetMetadata(ctx, account, mailbox, []store.MetadataEntry{{Name: StateEntry, Value: b}}, store.MetadataLimits{})
}
