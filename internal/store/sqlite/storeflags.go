package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/letterbox/letterbox/internal/store"
)

// StoreFlags changes flags in one transaction (RFC 3501 §6.4.6, RFC 7162
// §3.1.3 UNCHANGEDSINCE). Each message whose flags change is one change
// with its own new MODSEQ, ascending with UID, and HIGHESTMODSEQ becomes
// the largest of them.
//
// A STORE on every message of a UID range (STORE 1:* +FLAGS, the "mark
// all read" of every client) is one UPDATE per distinct flag list instead
// of one per message (storeRange); its MODSEQs are then the old
// HIGHESTMODSEQ plus the message's offset in the range, so a range with
// expunged holes or unchanged messages leaves gaps in the sequence, which
// RFC 7162 §3.1 allows (MODSEQs need only grow).
func (m *mailbox) StoreFlags(ctx context.Context, uids []store.UID, op store.FlagOp, flags []string, unchangedSince store.ModSeq) (store.StoreResult, error) {
	var res store.StoreResult
	err := m.s.write(ctx, func(w *wtx) error {
		mi, err := w.mailboxInfo(m.id)
		if err != nil {
			return err
		}
		uids := sortedUIDs(uids)
		if len(uids) == 0 {
			return nil
		}
		// The change log needs whole rows; without it three columns do.
		// A STORE of more messages than the log keeps would only push
		// everything else out of it (sessions behind it read SQL either
		// way), so it is not noted: the log then ends below the committed
		// HIGHESTMODSEQ and is dropped (see changelog.go).
		var hms store.ModSeq
		if len(uids) <= logKeep && w.logging(m.id) {
			res, hms, err = w.storeLogged(mi, uids, op, flags, unchangedSince)
		} else {
			res, hms, err = w.storeUnlogged(mi, uids, op, flags, unchangedSince)
		}
		if err != nil {
			return err
		}
		if hms != mi.HighestModSeq {
			if _, err := w.exec("UPDATE mailboxes SET highestmodseq = ? WHERE id = ?", int64(hms), m.id); err != nil {
				return err
			}
			w.publish(m.acc.Name, store.Change{Kind: store.MailboxChanged, MailboxID: m.id, Mailbox: mi.Name, ModSeq: hms})
		}
		return nil
	})
	return res, err
}

// isDense says whether the ascending uids are better read as their range
// and filtered (STORE 1:*) than looked up one by one, as Details does.
func isDense(uids []store.UID) bool {
	lo, hi := uids[0], uids[len(uids)-1]
	return int64(hi)-int64(lo)+1 <= 2*int64(len(uids))
}

// flagRow is a message's UID, MODSEQ and flags, with the flags column's
// text as stored (raw: what storeRange's CASE arms match).
type flagRow struct {
	store.FlagUpdate
	raw string
}

// storeLogged is StoreFlags for a mailbox whose change log is kept: it
// reads whole rows and notes each change in the log.
func (w *wtx) storeLogged(mi store.MailboxInfo, uids []store.UID, op store.FlagOp, flags []string, unchangedSince store.ModSeq) (store.StoreResult, store.ModSeq, error) {
	lo, hi := uids[0], uids[len(uids)-1]
	var rows *sql.Rows
	var err error
	if isDense(uids) {
		rows, err = w.query("SELECT "+messageColumns+" FROM messages WHERE mailbox_id = ? AND uid BETWEEN ? AND ? ORDER BY uid", mi.ID, int64(lo), int64(hi))
	} else {
		rows, err = w.query("SELECT "+messageColumns+" FROM messages WHERE mailbox_id = ? AND uid IN (SELECT value FROM json_each(?)) ORDER BY uid",
			mi.ID, uidsJSON(uids))
	}
	if err != nil {
		return store.StoreResult{}, 0, err
	}
	var frs []flagRow
	var msgs []store.Message // the same rows, for the change log
	ms := newMessageScanner()
	for rows.Next() {
		msg, err := ms.scan(rows)
		if err != nil {
			rows.Close()
			return store.StoreResult{}, 0, err
		}
		msgs = append(msgs, msg)
		frs = append(frs, flagRow{store.FlagUpdate{UID: msg.UID, ModSeq: msg.ModSeq, Flags: msg.Flags}, ms.flags})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return store.StoreResult{}, 0, err
	}
	// The log takes a gap in MODSEQs for a change it missed and restarts
	// (changelog.go), so here the one UPDATE must leave none.
	res, hms, err := w.writeStore(mi, uids, frs, op, flags, unchangedSince, true)
	if err != nil {
		return store.StoreResult{}, 0, err
	}
	j := 0
	for _, u := range res.Updated {
		for msgs[j].UID != u.UID { // both ascending by UID
			j++
		}
		msg := msgs[j]
		msg.Flags, msg.ModSeq = storedFlags(u.Flags), u.ModSeq
		w.logChange(mi.ID, mi.UIDNext, msg)
	}
	return res, hms, nil
}

// updateFlagRows writes planned flag changes one row at a time.
func (w *wtx) updateFlagRows(mbID int64, updated []store.FlagUpdate) error {
	if len(updated) == 0 {
		return nil
	}
	update, err := w.stmt("UPDATE messages SET flags = ?, seen = ?, deleted = ?, modseq = ? WHERE mailbox_id = ? AND uid = ?")
	if err != nil {
		return err
	}
	for _, u := range updated {
		if _, err := update.ExecContext(w.ctx, joinFlags(u.Flags), hasFlag(u.Flags, store.FlagSeen), hasFlag(u.Flags, store.FlagDeleted), int64(u.ModSeq), mbID, int64(u.UID)); err != nil {
			return err
		}
	}
	return nil
}

// flagRowsRange and flagRowsList read "uid,modseq,flags" lines (flags
// last: a keyword may hold a comma, never a newline) of a UID range (?2,
// ?3) or of the UIDs in the JSON array ?2: one text instead of a row per
// message, as Messages does.
const (
	flagRowsRange = `SELECT COALESCE(group_concat(uid || ',' || modseq || ',' || flags, char(10)), '')
	FROM (SELECT uid, modseq, flags FROM messages WHERE mailbox_id = ?1 AND uid BETWEEN ?2 AND ?3 ORDER BY uid)`
	flagRowsList = `SELECT COALESCE(group_concat(uid || ',' || modseq || ',' || flags, char(10)), '')
	FROM (SELECT uid, modseq, flags FROM messages WHERE mailbox_id = ?1 AND uid IN (SELECT value FROM json_each(?2)) ORDER BY uid)`
)

// storeUnlogged is StoreFlags without the change log: the UID, MODSEQ and
// flags of the messages come back as one text.
func (w *wtx) storeUnlogged(mi store.MailboxInfo, uids []store.UID, op store.FlagOp, flags []string, unchangedSince store.ModSeq) (store.StoreResult, store.ModSeq, error) {
	var text string
	var err error
	if isDense(uids) {
		err = w.queryRow(flagRowsRange, mi.ID, int64(uids[0]), int64(uids[len(uids)-1])).Scan(&text)
	} else {
		err = w.queryRow(flagRowsList, mi.ID, uidsJSON(uids)).Scan(&text)
	}
	if err != nil {
		return store.StoreResult{}, 0, err
	}
	var frs []flagRow
	for line := range strings.SplitSeq(text, "\n") {
		if line == "" {
			continue
		}
		u, rest, ok1 := strings.Cut(line, ",")
		ms, fl, ok2 := strings.Cut(rest, ",")
		uid, err1 := strconv.ParseUint(u, 10, 32)
		modseq, err2 := strconv.ParseInt(ms, 10, 64)
		if !ok1 || !ok2 || err1 != nil || err2 != nil {
			return store.StoreResult{}, 0, fmt.Errorf("sqlite: bad flag row %q", line)
		}
		frs = append(frs, flagRow{store.FlagUpdate{UID: store.UID(uid), ModSeq: store.ModSeq(modseq), Flags: splitFlags(fl)}, fl})
	}
	// group_concat keeps the ordered subquery's order; never rely on it.
	slices.SortFunc(frs, func(a, b flagRow) int { return cmp.Compare(a.UID, b.UID) })
	return w.writeStore(mi, uids, frs, op, flags, unchangedSince, false)
}

// writeStore plans a STORE over the rows read (ascending by UID; for a
// dense set, every row of the range) and writes it: with one UPDATE
// (storeRange) when it covers every message of the range without
// UNCHANGEDSINCE, and, if gapless, changes every UID of the range;
// otherwise row by row. It notes the effect on the STATUS counts.
func (w *wtx) writeStore(mi store.MailboxInfo, uids []store.UID, frs []flagRow, op store.FlagOp, flags []string, unchangedSince store.ModSeq, gapless bool) (store.StoreResult, store.ModSeq, error) {
	lo, hi := uids[0], uids[len(uids)-1]
	dense := isDense(uids)
	cur := make([]store.FlagUpdate, 0, len(frs))
	raw := map[string]bool{} // the stored flag texts of the rows asked
	whole := true            // every row of [lo, hi] was asked
	next := 0
	for _, r := range frs {
		if dense {
			for next < len(uids) && uids[next] < r.UID {
				next++
			}
			if next == len(uids) || uids[next] != r.UID {
				whole = false
				continue // in the range, not asked
			}
		}
		if len(raw) <= maxRangeGroups {
			raw[r.raw] = true
		}
		cur = append(cur, r.FlagUpdate)
	}
	res, hms := store.PlanStore(cur, op, flags, unchangedSince, mi.HighestModSeq)
	oneUpdate := dense && whole && unchangedSince == 0 && len(raw) <= maxRangeGroups && len(res.Updated) > 0
	if gapless {
		oneUpdate = oneUpdate && int64(hi)-int64(lo)+1 == int64(len(res.Updated))
	}
	var err error
	if oneUpdate {
		hms, err = w.storeRange(mi, lo, hi, op, flags, raw, res.Updated)
	} else {
		err = w.updateFlagRows(mi.ID, res.Updated)
	}
	if err != nil {
		return store.StoreResult{}, 0, err
	}
	w.storeCounts(mi, cur, res.Updated, hms)
	return res, hms, nil
}

// maxRangeGroups bounds the distinct flag lists storeRange writes in one
// UPDATE (one CASE arm each); a range with more takes the row-by-row way.
const maxRangeGroups = 32

// storeRange writes a STORE that covers every message of [lo, hi] with
// one UPDATE: the new flags depend only on the old ones, so each distinct
// stored flag list (raw) that changes is one CASE arm, and every changed
// message gets MODSEQ old HIGHESTMODSEQ + 1 + (UID − lo). updated (the
// plan, ascending by UID) gets those MODSEQs; the new HIGHESTMODSEQ is
// the last one's.
func (w *wtx) storeRange(mi store.MailboxInfo, lo, hi store.UID, op store.FlagOp, flags []string, raw map[string]bool, updated []store.FlagUpdate) (store.ModSeq, error) {
	arg := store.NormalizeFlags(flags)
	var olds []string
	var args []any
	for old := range raw {
		next := store.ApplyFlags(splitFlags(old), op, arg)
		if nt := joinFlags(next); nt != old {
			olds = append(olds, old)
			args = append(args, old, nt, hasFlag(next, store.FlagSeen), hasFlag(next, store.FlagDeleted))
		}
	}
	base := int64(mi.HighestModSeq) + 1 - int64(lo)
	args = append(args, base, mi.ID, int64(lo), int64(hi))
	r, err := w.exec(rangeUpdate(len(olds)), args...)
	if err != nil {
		return 0, err
	}
	// Each planned change is exactly one row the CASE arms match; anything
	// else (a stored flag text written some other way) fails the STORE
	// rather than leave it half done.
	if n, err := r.RowsAffected(); err != nil || n != int64(len(updated)) {
		return 0, fmt.Errorf("sqlite: STORE of a range changed %d rows, planned %d (%v)", n, len(updated), err)
	}
	for i := range updated {
		updated[i].ModSeq = store.ModSeq(base + int64(updated[i].UID))
	}
	return updated[len(updated)-1].ModSeq, nil
}

// rangeUpdate is storeRange's statement for n changing flag lists: arm i
// takes parameters 4i+1 (old text), 4i+2 (new text), 4i+3 (\Seen) and
// 4i+4 (\Deleted); then come the MODSEQ base, the mailbox and the range.
// In an UPDATE every expression reads the row's old values, so each CASE
// matches on the old flags.
func rangeUpdate(n int) string {
	var flagsCase, seenCase, deletedCase, in strings.Builder
	for i := range n {
		p := 4*i + 1
		fmt.Fprintf(&flagsCase, " WHEN ?%d THEN ?%d", p, p+1)
		fmt.Fprintf(&seenCase, " WHEN ?%d THEN ?%d", p, p+2)
		fmt.Fprintf(&deletedCase, " WHEN ?%d THEN ?%d", p, p+3)
		if i > 0 {
			in.WriteString(", ")
		}
		fmt.Fprintf(&in, "?%d", p)
	}
	q := 4*n + 1
	return fmt.Sprintf(`UPDATE messages SET flags = CASE flags%s END, seen = CASE flags%s END, deleted = CASE flags%s END, modseq = ?%d + uid
	WHERE mailbox_id = ?%d AND uid BETWEEN ?%d AND ?%d AND flags IN (%s)`,
		flagsCase.String(), seenCase.String(), deletedCase.String(), q, q+1, q+2, q+3, in.String())
}
