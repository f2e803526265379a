package postgres

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/letterbox/letterbox/internal/store"
)

// aclMigration keeps access control lists (RFC 4314, store.ACLs): one row
// per (mailbox, identifier). It goes with the mailbox (ON DELETE CASCADE;
// RENAME keeps the mailbox's ID, so the ACL follows), and a row naming an
// account goes with that account (grantee_id, NULL for anyone and
// authenticated). rights holds the letters of store.Rights.Letters.
const aclMigration = `
CREATE TABLE mailbox_acl (
	mailbox_id bigint NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
	identifier text COLLATE "C" NOT NULL,
	grantee_id bigint REFERENCES accounts(id) ON DELETE CASCADE,
	rights     text NOT NULL,
	PRIMARY KEY (mailbox_id, identifier)
);
CREATE INDEX mailbox_acl_identifier ON mailbox_acl (identifier);
CREATE INDEX mailbox_acl_grantee ON mailbox_acl (grantee_id);
`

// aclTarget resolves owner's mailbox and the identifier's account (0 for
// anyone/authenticated).
func aclTarget(ctx context.Context, q querier, owner, mailbox, identifier string) (mailboxID, granteeID int64, id string, err error) {
	acc, err := lookupAccount(ctx, q, store.NormalizeAccount(owner))
	if err != nil {
		return 0, 0, "", err
	}
	name, err := store.NormalizeMailbox(mailbox)
	if err != nil {
		return 0, 0, "", err
	}
	mi, err := mailboxByName(ctx, q, acc.ID, name)
	if errors.Is(err, pgx.ErrNoRows) {
		err = store.ErrNoSuchMailbox
	}
	if err != nil {
		return 0, 0, "", err
	}
	id, _ = store.NormalizeIdentifier(identifier)
	if store.IsSpecialIdentifier(id) {
		return mi.ID, 0, id, nil
	}
	bare := strings.TrimPrefix(id, "-")
	if bare == acc.Name {
		return mi.ID, acc.ID, id, store.ErrOwnerRights
	}
	g, err := lookupAccount(ctx, q, bare)
	if err != nil {
		return mi.ID, 0, id, store.ErrInvalidIdentifier
	}
	return mi.ID, g.ID, id, nil
}

// SetACL implements store.ACLs.
func (s *Store) SetACL(ctx context.Context, owner, mailbox, identifier string, rights store.Rights) error {
	return s.write(ctx, func(w *wtx) error {
		mid, gid, id, err := aclTarget(w.ctx, w.tx, owner, mailbox, identifier)
		if err != nil {
			return err
		}
		var grantee *int64
		if gid != 0 {
			grantee = &gid
		}
		_, err = w.exec(`INSERT INTO mailbox_acl (mailbox_id, identifier, grantee_id, rights) VALUES ($1, $2, $3, $4)
			ON CONFLICT (mailbox_id, identifier) DO UPDATE SET rights = excluded.rights`, mid, id, grantee, rights.Letters())
		return err
	})
}

// DeleteACL implements store.ACLs.
func (s *Store) DeleteACL(ctx context.Context, owner, mailbox, identifier string) error {
	return s.write(ctx, func(w *wtx) error {
		mid, _, id, err := aclTarget(w.ctx, w.tx, owner, mailbox, identifier)
		if errors.Is(err, store.ErrInvalidIdentifier) {
			err = nil // nothing can be stored for it
		}
		if err != nil {
			return err
		}
		_, err = w.exec("DELETE FROM mailbox_acl WHERE mailbox_id = $1 AND identifier = $2", mid, id)
		return err
	})
}

// ACL implements store.ACLs.
func (s *Store) ACL(ctx context.Context, owner, mailbox string) ([]store.ACLEntry, error) {
	var out []store.ACLEntry
	err := s.read(ctx, func(tx pgx.Tx) error {
		acc, err := lookupAccount(ctx, tx, store.NormalizeAccount(owner))
		if err != nil {
			return err
		}
		name, err := store.NormalizeMailbox(mailbox)
		if err != nil {
			return err
		}
		mi, err := mailboxByName(ctx, tx, acc.ID, name)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrNoSuchMailbox
		}
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, "SELECT identifier, rights FROM mailbox_acl WHERE mailbox_id = $1 ORDER BY identifier", mi.ID)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.ACLEntry, error) {
			var e store.ACLEntry
			var letters string
			err := r.Scan(&e.Identifier, &letters)
			e.Rights, _ = store.ParseRights(letters)
			return e, err
		})
		return err
	})
	return out, err
}

// SharedWith implements store.ACLs: one query over the entries that can
// name user.
func (s *Store) SharedWith(ctx context.Context, user string) ([]store.SharedMailbox, error) {
	user = store.NormalizeAccount(user)
	ids := []string{user, "-" + user, store.AnyoneIdentifier, "-" + store.AnyoneIdentifier,
		store.AuthenticatedIdentifier, "-" + store.AuthenticatedIdentifier}
	var out []store.SharedMailbox
	err := s.read(ctx, func(tx pgx.Tx) error {
		out = out[:0]
		rows, err := tx.Query(ctx, `SELECT a.name, m.id, m.name, m.special_use, m.uidvalidity, m.uidnext,
			m.highestmodseq, l.identifier, l.rights
			FROM mailbox_acl l JOIN mailboxes m ON m.id = l.mailbox_id JOIN accounts a ON a.id = m.account_id
			WHERE l.identifier = ANY($1) AND a.name <> $2
			ORDER BY a.name COLLATE "C", m.name`, ids, user)
		if err != nil {
			return err
		}
		defer rows.Close()
		idx := map[int64]int{}
		entries := map[int64][]store.ACLEntry{}
		for rows.Next() {
			var owner, ident, letters string
			var mi store.MailboxInfo
			var uidvalidity, uidnext, hms int64
			if err := rows.Scan(&owner, &mi.ID, &mi.Name, &mi.SpecialUse, &uidvalidity, &uidnext, &hms, &ident, &letters); err != nil {
				return err
			}
			mi.UIDValidity, mi.UIDNext, mi.HighestModSeq = uint32(uidvalidity), store.UID(uidnext), store.ModSeq(hms)
			r, _ := store.ParseRights(letters)
			if _, ok := idx[mi.ID]; !ok {
				idx[mi.ID] = len(out)
				out = append(out, store.SharedMailbox{Owner: owner, Info: mi})
			}
			entries[mi.ID] = append(entries[mi.ID], store.ACLEntry{Identifier: ident, Rights: r})
		}
		if err := rows.Err(); err != nil {
			return err
		}
		kept := out[:0]
		for _, sm := range out {
			sm.Rights = store.EffectiveRights(entries[sm.Info.ID], user)
			if sm.Rights != 0 {
				kept = append(kept, sm)
			}
		}
		out = kept
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

var _ store.ACLs = (*Store)(nil)
