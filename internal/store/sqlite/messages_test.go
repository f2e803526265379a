package sqlite

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/store"
)

// messagesByRows is Messages the plain way, one row per message.
func messagesByRows(t *testing.T, m *mailbox) []store.Message {
	t.Helper()
	rows, err := m.s.readQuery(context.Background(), "SELECT "+messageColumns+" FROM messages WHERE mailbox_id = ? ORDER BY uid", m.id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := []store.Message{}
	ms := newMessageScanner()
	for rows.Next() {
		msg, err := ms.scan(rows)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, msg)
	}
	return out
}

// Messages (lines built by group_concat, in chunks) equals a row-by-row
// read: keywords with commas, no flags, zones east and west and dates
// before 1970, in one chunk and across many.
func TestMessagesMatchesRows(t *testing.T) {
	defer func(n int) { messagesChunk = n }(messagesChunk)
	s := openTest(t, Options{})
	ctx := context.Background()
	dates := []time.Time{
		time.Date(1969, 7, 20, 20, 17, 40, 0, time.FixedZone("", -5*3600-1800)),
		time.Date(2024, 2, 29, 23, 59, 59, 0, time.FixedZone("", 14*3600)),
		time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	flagSets := [][]string{nil, {store.FlagSeen}, {"$a,b", `\Answered`, "x,,y"}, {`\Deleted`, "$Label1"}}
	for i := range 23 {
		_, err := s.Deliver(ctx, strings.NewReader(fmt.Sprintf("Subject: %d\r\n\r\nbody\r\n", i)),
			[]store.Target{{Account: "alice@example.com", Flags: flagSets[i%len(flagSets)], InternalDate: dates[i%len(dates)]}})
		if err != nil {
			t.Fatal(err)
		}
	}
	mb := inbox(t, s).(*mailbox)
	if _, err := mb.Expunge(ctx, []store.UID{1, 7, 8, 23}); err != nil {
		t.Fatal(err)
	}
	want := messagesByRows(t, mb)
	if len(want) != 19 {
		t.Fatalf("%d messages", len(want))
	}
	for _, chunk := range []int{8192, 19, 18, 5, 1} {
		messagesChunk = chunk
		got, err := mb.Messages(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("chunk %d:\n got %+v\nwant %+v", chunk, got, want)
		}
	}

	// Empty and deleted mailboxes.
	mbs := s.mailboxesFor(t)
	trash, err := mbs.Open(ctx, "Trash")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := trash.Messages(ctx); err != nil || got == nil || len(got) != 0 {
		t.Errorf("empty mailbox: %#v, %v", got, err)
	}
	if err := mbs.Delete(ctx, "Trash"); err != nil {
		t.Fatal(err)
	}
	if _, err := trash.Messages(ctx); !errors.Is(err, store.ErrNoSuchMailbox) {
		t.Errorf("deleted mailbox: %v", err)
	}
}
