package imapserver

import "testing"

// The cache keeps within its budget, evicts what was not used since it
// was last passed over, and gives a used entry a second chance.
func TestLRUSecondChance(t *testing.T) {
	c := newLRU[int, int](100) // four entries of 25
	for k := range 4 {
		c.put(k, k, 25)
	}
	if _, ok := c.get(0); !ok { // 0 is the oldest, but used
		t.Fatal("0 missing")
	}
	c.put(4, 4, 25) // evicts 1, the oldest not used
	if _, ok := c.get(1); ok {
		t.Fatal("1 kept: the unused oldest entry should go")
	}
	for _, k := range []int{0, 2, 3, 4} {
		if v, ok := c.get(k); !ok || v != k {
			t.Fatalf("%d: %d, %v", k, v, ok)
		}
	}
	// Every entry used: a put still evicts one, never loops.
	c.put(5, 5, 25)
	if n := c.len(); n != 4 {
		t.Fatalf("%d entries after a put into a fully used cache, want 4", n)
	}
	if _, ok := c.get(5); !ok {
		t.Fatal("the new entry went")
	}
}
