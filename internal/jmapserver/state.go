package jmapserver

import (
	"encoding/base64"
	"encoding/binary"
	"hash/fnv"
	"slices"

	"github.com/letterbox/letterbox/internal/store"
)

// State strings (RFC 8620 §1.6.3, §5.1) are derived from the store, never
// kept: a state is the vector of every mailbox's (id, HIGHESTMODSEQ,
// UIDNEXT), encoded. Any change to any message (append, flags, expunge)
// bumps its mailbox's HIGHESTMODSEQ, so the vector moves exactly when
// Email data changes, and /changes can ask each mailbox for its changes
// since the MODSEQ the client's state holds (store.Mailbox.Changes, the
// query behind IMAP QRESYNC). UIDNEXT tells new messages from changed
// ones. The Mailbox state adds a hash of what the Mailbox object shows
// besides counts (name, role, subscription, sort order).

// vecEntry is one mailbox in a state vector.
type vecEntry struct {
	id      int64
	modseq  store.ModSeq
	uidnext store.UID
	tag     uint32 // Mailbox state only
}

type stateVec []vecEntry

func (v stateVec) find(id int64) (vecEntry, bool) {
	i, ok := slices.BinarySearchFunc(v, id, func(e vecEntry, id int64) int {
		switch {
		case e.id < id:
			return -1
		case e.id > id:
			return 1
		}
		return 0
	})
	if !ok {
		return vecEntry{}, false
	}
	return v[i], true
}

// encode writes kind (one letter: "e" Email, "t" Thread, "m" Mailbox)
// and the vector.
func (v stateVec) encode(kind byte) string {
	b := []byte{kind}
	var prev int64
	for _, e := range v {
		b = binary.AppendUvarint(b, uint64(e.id-prev))
		prev = e.id
		b = binary.AppendUvarint(b, uint64(e.modseq))
		b = binary.AppendUvarint(b, uint64(e.uidnext))
		if kind == 'm' {
			b = binary.AppendUvarint(b, uint64(e.tag))
		}
	}
	return string(kind) + base64.RawURLEncoding.EncodeToString(b[1:])
}

// decodeState reads a state string of kind; ok is false for anything the
// server did not make.
func decodeState(s string, kind byte) (stateVec, bool) {
	if len(s) == 0 || s[0] != kind || len(s) > 1<<16 {
		return nil, false
	}
	b, err := base64.RawURLEncoding.DecodeString(s[1:])
	if err != nil {
		return nil, false
	}
	var v stateVec
	var prev int64
	next := func() (uint64, bool) {
		n, k := binary.Uvarint(b)
		if k <= 0 {
			return 0, false
		}
		b = b[k:]
		return n, true
	}
	for len(b) > 0 {
		d, ok1 := next()
		ms, ok2 := next()
		un, ok3 := next()
		if !ok1 || !ok2 || !ok3 || d == 0 && len(v) > 0 || d > 1<<62 || un > 1<<32 {
			return nil, false
		}
		e := vecEntry{id: prev + int64(d), modseq: store.ModSeq(ms), uidnext: store.UID(un)}
		if kind == 'm' {
			t, ok := next()
			if !ok || t > 1<<32 {
				return nil, false
			}
			e.tag = uint32(t)
		}
		prev = e.id
		v = append(v, e)
	}
	return v, true
}

// vectorOf is the state vector of the mailboxes (sorted by id).
func vectorOf(list []store.MailboxInfo, tags func(store.MailboxInfo) uint32) stateVec {
	v := make(stateVec, 0, len(list))
	for _, mb := range list {
		e := vecEntry{id: mb.ID, modseq: mb.HighestModSeq, uidnext: mb.UIDNext}
		if tags != nil {
			e.tag = tags(mb)
		}
		v = append(v, e)
	}
	slices.SortFunc(v, func(a, b vecEntry) int {
		switch {
		case a.id < b.id:
			return -1
		case a.id > b.id:
			return 1
		}
		return 0
	})
	return v
}

func hashTag(parts ...string) uint32 {
	h := fnv.New32a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return h.Sum32()
}
