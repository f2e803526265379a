package imapserver

import (
	"testing"

	"github.com/letterbox/letterbox/internal/store"
)

// The columns stay within their byte budget, the least recently used
// going first; a dropped column may still be added to by a session that
// holds it, without being counted again; compaction gives bytes back.
func TestColumnCacheBudget(t *testing.T) {
	sig := make([]byte, 952) // with the blob ID, 1,000 bytes an entry
	entries := func(from, n int) []sigEntry {
		var out []sigEntry
		for i := range n {
			out = append(out, sigEntry{uid: store.UID(from + i), sig: sig})
		}
		return out
	}
	c := newColumnCache(10_000)
	a := c.get(columnKey{mailbox: 1})
	b := c.get(columnKey{mailbox: 2})
	a.addSigs(entries(1, 4))
	b.addSigs(entries(1, 4))
	if c.total != 8000 {
		t.Fatalf("total %d, want 8000", c.total)
	}
	c.get(columnKey{mailbox: 1}) // a is now the more recent
	b.addSigs(entries(5, 3))     // 11,000: a goes, though b grew
	if _, ok := c.m[columnKey{mailbox: 1}]; ok || !a.dropped || c.total != 7000 {
		t.Fatalf("after the budget: a kept %v, dropped %v, total %d", ok, a.dropped, c.total)
	}
	a.addSigs(entries(5, 1))
	if c.total != 7000 || len(a.sigEntries()) != 5 {
		t.Fatalf("a dropped column counted: total %d", c.total)
	}
	if got := c.get(columnKey{mailbox: 1}); got == a || len(got.sigEntries()) != 0 {
		t.Fatal("a dropped column came back")
	}
	b.addSigs(entries(3, 2)) // not above the last UID: ignored
	if n := len(b.sigEntries()); n != 7 {
		t.Fatalf("b has %d entries, want 7", n)
	}
	// A view of 2 UIDs keeps b as it is (7 ≤ 2·2 + 1,024).
	b.compact([]store.UID{2, 6})
	if n := len(b.sigEntries()); n != 7 {
		t.Fatalf("compacted early: %d entries", n)
	}
	// Past twice the view plus 1,024 the list keeps only the view's UIDs.
	big := newColumnCache(1 << 30)
	col := big.get(columnKey{mailbox: 3})
	col.addSigs(entries(1, 1100))
	view := []store.UID{7, 500, 1100, 2000}
	held := readers(col)
	col.compact(view)
	got := col.sigEntries()
	if len(got) != 3 || got[0].uid != 7 || got[1].uid != 500 || got[2].uid != 1100 || big.total != 3000 {
		t.Fatalf("compacted to %d entries, total %d", len(got), big.total)
	}
	if len(held) != 1100 || held[1099].uid != 1100 {
		t.Fatal("a reader's list changed under it")
	}
}

func readers(col *headerColumn) []sigEntry { return col.sigEntries() }
