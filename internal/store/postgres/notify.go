package postgres

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"

	"github.com/letterbox/letterbox/internal/store"
)

// The change feed crosses nodes as PostgreSQL notifications. Every write
// transaction queues its events and, just before COMMIT, sends them with
// pg_notify on the store's channel. PostgreSQL delivers notifications only
// if the transaction commits, and in commit order, to every session
// listening at that moment, this node included: each Store has one LISTEN
// connection whose notifications feed its local store.Feed. So local and
// remote changes reach watchers the same way and in the same order, and a
// rolled-back change is never announced.
//
// Payload: "<account>|<kind>|<mailboxID>|<modseq>|<name>|<token>" with
// kind one of changed, created, deleted, renamed, subscribed (a
// subscription was added or removed; mailboxID 0, name the subscription). '%' and '|' in the
// account and the name are percent-encoded (%25, %7C). A payload that
// would pass maxPayload is sent without the name; the receiving node looks
// the name up by mailbox ID.
//
// token is empty except on the last notification of a transaction, where
// it names the sending Store and transaction ("<node>.<n>"). The writer
// waits, after COMMIT, until its own listener has dispatched that token
// (see awaitDispatch): so when a write returns, its events are already on
// the local feed, as with the SQLite driver. A Watch started after a
// write returned never receives that write's events, and a session that
// writes then reads its watcher sees its own change.

// defaultChannel is the channel for the schema "public".
const defaultChannel = "letterbox_changes"

// channelFor returns the notification channel of a schema. Channels are
// per database, not per schema, so deployments sharing a database in
// different schemas (and the tests, one schema each) get their own.
func channelFor(schema string) string {
	if schema == "public" || schema == "" {
		return defaultChannel
	}
	sum := sha256.Sum256([]byte(schema))
	return defaultChannel + "_" + hex.EncodeToString(sum[:6])
}

// maxPayload stays below PostgreSQL's 8000-byte notification limit.
const maxPayload = 7900

var kindNames = map[store.ChangeKind]string{
	store.MailboxChanged:      "changed",
	store.MailboxCreated:      "created",
	store.MailboxDeleted:      "deleted",
	store.MailboxRenamed:      "renamed",
	store.SubscriptionChanged: "subscribed",
	// MetadataChanged: the name field is the mailbox name ("" for server
	// entries), "\n" and the entry name; neither holds control
	// characters. When that does not fit, the entry is left out.
	store.MetadataChanged: "metadata",
}

var payloadEscaper = strings.NewReplacer("%", "%25", "|", "%7C")
var payloadUnescaper = strings.NewReplacer("%25", "%", "%7C", "|", "%7c", "|")

func encodePayload(account string, c store.Change, token string) string {
	head := payloadEscaper.Replace(account) + "|" + kindNames[c.Kind] + "|" +
		strconv.FormatInt(c.MailboxID, 10) + "|" + strconv.FormatUint(uint64(c.ModSeq), 10) + "|"
	name := c.Mailbox
	if c.Kind == store.MetadataChanged && c.Entry != "" {
		name += "\n" + c.Entry
	}
	p := head + payloadEscaper.Replace(name) + "|" + token
	if len(p) > maxPayload && name != c.Mailbox {
		p = head + payloadEscaper.Replace(c.Mailbox) + "|" + token
	}
	if len(p) > maxPayload {
		return head + "|" + token
	}
	return p
}

var errBadPayload = errors.New("postgres: malformed change notification")

func decodePayload(p string) (account string, c store.Change, token string, err error) {
	f := strings.Split(p, "|")
	if len(f) != 6 || f[0] == "" {
		return "", c, "", errBadPayload
	}
	kind := -1
	for k, name := range kindNames {
		if name == f[1] {
			kind = int(k)
		}
	}
	if kind < 0 {
		return "", c, "", errBadPayload
	}
	id, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil {
		return "", c, "", errBadPayload
	}
	ms, err := strconv.ParseUint(f[3], 10, 64)
	if err != nil {
		return "", c, "", errBadPayload
	}
	c = store.Change{Kind: store.ChangeKind(kind), MailboxID: id, ModSeq: store.ModSeq(ms), Mailbox: payloadUnescaper.Replace(f[4])}
	if c.Kind == store.MetadataChanged {
		c.Mailbox, c.Entry, _ = strings.Cut(c.Mailbox, "\n")
	}
	return payloadUnescaper.Replace(f[0]), c, f[5], nil
}
