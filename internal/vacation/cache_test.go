package vacation_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/store"
	"github.com/letterbox/letterbox/internal/store/sqlite"
	"github.com/letterbox/letterbox/internal/vacation"
)

// countingStore counts the reads of the vacation settings entry.
type countingStore struct {
	*sqlite.Store
	reads atomic.Int64
}

const settingsName = "/private/vendor/letterbox/vacation"

func (c *countingStore) GetMetadata(ctx context.Context, account, mailbox string, names []string) ([]store.MetadataEntry, error) {
	if slices.Contains(names, settingsName) {
		c.reads.Add(1)
	}
	return c.Store.GetMetadata(ctx, account, mailbox, names)
}

// TestSettingsCacheFollowsWrites: the settings are read from the store
// once and then kept, and every way of changing them (Save, as JMAP does,
// and a METADATA write of the entry, as IMAP SETMETADATA does) is obeyed by
// the very next delivery. Each delivery comes from a new sender, so the
// once-per-sender rule never hides a reply.
func TestSettingsCacheFollowsWrites(t *testing.T) {
	ctx := context.Background()
	st := &countingStore{Store: openStore(t, "alice@example.com", "bob@example.com")}
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	r := &vacation.Responder{Store: st, Queue: st, Hostname: "mail.example.com", Now: func() time.Time { return now }}
	n := 0
	deliver := func() bool {
		n++
		from := "s" + string(rune('a'+n)) + "@remote.example"
		return r.Delivered(ctx, "alice@example.com", "alice@example.com", from, []byte(incoming))
	}

	if deliver() || deliver() || deliver() {
		t.Fatal("replied with vacation off")
	}
	if got := st.reads.Load(); got != 1 {
		t.Errorf("settings read %d times for 3 deliveries with nothing changed, want 1", got)
	}
	// Other mail and other metadata do not make it read them again.
	if _, err := st.Deliver(ctx, strings.NewReader(incoming), []store.Target{{Account: "alice@example.com"}}); err != nil {
		t.Fatal(err)
	}
	if err := st.SetMetadata(ctx, "alice@example.com", store.ServerMetadata, []store.MetadataEntry{{Name: "/private/comment", Value: []byte("x")}}, store.MetadataLimits{}); err != nil {
		t.Fatal(err)
	}
	if deliver() {
		t.Fatal("replied with vacation off")
	}
	if got := st.reads.Load(); got != 1 {
		t.Errorf("settings read again (%d) after unrelated changes", got)
	}

	text := "Away."
	if err := vacation.Save(ctx, st, "alice@example.com", vacation.Settings{Enabled: true, TextBody: &text}); err != nil {
		t.Fatal(err)
	}
	if !deliver() {
		t.Fatal("no reply right after Save enabled vacation")
	}
	if err := vacation.Save(ctx, st, "alice@example.com", vacation.Settings{Enabled: false, TextBody: &text}); err != nil {
		t.Fatal(err)
	}
	if deliver() {
		t.Fatal("replied right after Save disabled vacation")
	}
	// The entry written directly, as an IMAP client may.
	on, _ := json.Marshal(vacation.Settings{Enabled: true, TextBody: &text})
	if err := st.SetMetadata(ctx, "alice@example.com", store.ServerMetadata, []store.MetadataEntry{{Name: settingsName, Value: on}}, store.MetadataLimits{}); err != nil {
		t.Fatal(err)
	}
	if !deliver() {
		t.Fatal("no reply right after SETMETADATA enabled vacation")
	}
	if err := st.SetMetadata(ctx, "alice@example.com", store.ServerMetadata, []store.MetadataEntry{{Name: settingsName, Value: nil}}, store.MetadataLimits{}); err != nil {
		t.Fatal(err)
	}
	if deliver() {
		t.Fatal("replied right after the settings entry was removed")
	}
}
