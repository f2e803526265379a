package store

import "testing"

func TestObjectIDForms(t *testing.T) {
	if got := FormatEmailID(1); got != "M0000000000000001" {
		t.Errorf("FormatEmailID(1) = %q", got)
	}
	if got := FormatThreadID(1<<62 + 0xabc); got != "T4000000000000abc" {
		t.Errorf("FormatThreadID = %q", got)
	}
	if FormatEmailID(0) != "" {
		t.Error("FormatEmailID(0) is not empty")
	}
	for range 1000 {
		n := NewObjectNumber()
		if n <= 0 || n > 1<<62 {
			t.Fatalf("NewObjectNumber() = %d", n)
		}
		if m, ok := ParseEmailID(FormatEmailID(n)); !ok || m != n {
			t.Fatalf("ParseEmailID(FormatEmailID(%d)) = %d, %v", n, m, ok)
		}
		if m, ok := ParseThreadID(FormatThreadID(n)); !ok || m != n {
			t.Fatalf("ParseThreadID(FormatThreadID(%d)) = %d, %v", n, m, ok)
		}
	}
	for _, bad := range []string{"", "M", "M000000000000001", "M00000000000000001", "T0000000000000001", "M000000000000000A", "M0000000000000000", "M8000000000000000", "M-000000000000001"} {
		if _, ok := ParseEmailID(bad); ok {
			t.Errorf("ParseEmailID(%q) accepted", bad)
		}
	}
	if n, ok := ParseMailboxObjectID(MailboxInfo{ID: 42}.ObjectID()); !ok || n != 42 {
		t.Errorf("MAILBOXID round trip: %d, %v", n, ok)
	}
}
