package store

import (
	"errors"
	"slices"
	"testing"
)

func TestNormalizeMailbox(t *testing.T) {
	cases := []struct {
		in, want string
		err      error
	}{
		{"", "INBOX", nil},
		{"inbox", "INBOX", nil},
		{"InBox/Sub", "INBOX/Sub", nil},
		{"Inboxes", "Inboxes", nil},
		{"Über/Straße", "Über/Straße", nil},
		{"a//b", "", ErrInvalidName},
		{"/a", "", ErrInvalidName},
		{"a/", "", ErrInvalidName},
		{"a/../b", "", ErrInvalidName},
		{"a*", "", ErrInvalidName},
		{"a%b", "", ErrInvalidName},
		{"a\x85b", "", ErrInvalidName},
		{"bad\xff", "", ErrInvalidName},
	}
	for _, c := range cases {
		got, err := NormalizeMailbox(c.in)
		if got != c.want || !errors.Is(err, c.err) {
			t.Errorf("NormalizeMailbox(%q) = %q, %v; want %q, %v", c.in, got, err, c.want, c.err)
		}
	}
	if got := ParentNames("a/b/c"); !slices.Equal(got, []string{"a", "a/b"}) {
		t.Errorf("ParentNames = %q", got)
	}
	if NormalizeAccount(" Bob@Example.COM ") != "bob@example.com" {
		t.Error("NormalizeAccount does not trim and lower-case")
	}
}

func TestFlags(t *testing.T) {
	norm := NormalizeFlags([]string{`\seen`, "$Label", `\Recent`, "$label", "", "a b", `\DRAFT`})
	if want := []string{"$Label", `\Draft`, `\Seen`}; !slices.Equal(norm, want) {
		t.Fatalf("NormalizeFlags = %q, want %q", norm, want)
	}
	cur := []string{"$Label", `\Seen`}
	cases := []struct {
		op   FlagOp
		arg  []string
		want []string
	}{
		{FlagsAdd, []string{`\Flagged`, "$LABEL"}, []string{"$Label", `\Flagged`, `\Seen`}},
		{FlagsRemove, []string{"$LABEL"}, []string{`\Seen`}},
		{FlagsReplace, []string{`\Deleted`}, []string{`\Deleted`}},
		{FlagsReplace, []string{}, []string{}},
	}
	for _, c := range cases {
		if got := ApplyFlags(cur, c.op, NormalizeFlags(c.arg)); !slices.Equal(got, c.want) {
			t.Errorf("ApplyFlags(%q, %d, %q) = %q, want %q", cur, c.op, c.arg, got, c.want)
		}
	}
}

func TestPlanStore(t *testing.T) {
	cur := []FlagUpdate{
		{UID: 1, Flags: []string{FlagSeen}, ModSeq: 5},
		{UID: 2, Flags: nil, ModSeq: 9},
		{UID: 3, Flags: nil, ModSeq: 3},
	}
	res, hms := PlanStore(cur, FlagsAdd, []string{`\seen`}, 8, 10)
	if hms != 11 {
		t.Errorf("HIGHESTMODSEQ = %d, want 11 (one change)", hms)
	}
	if len(res.Modified) != 1 || res.Modified[0] != 2 {
		t.Errorf("Modified = %v, want [2] (changed after UNCHANGEDSINCE 8)", res.Modified)
	}
	if len(res.Unchanged) != 1 || res.Unchanged[0].UID != 1 || res.Unchanged[0].ModSeq != 5 {
		t.Errorf("Unchanged = %+v, want UID 1 keeping MODSEQ 5", res.Unchanged)
	}
	if len(res.Updated) != 1 || res.Updated[0].UID != 3 || res.Updated[0].ModSeq != 11 || !slices.Equal(res.Updated[0].Flags, []string{FlagSeen}) {
		t.Errorf("Updated = %+v, want UID 3 with \\Seen at MODSEQ 11", res.Updated)
	}
	if _, hms := PlanStore(cur, FlagsRemove, []string{FlagDraft}, 0, 10); hms != 10 {
		t.Errorf("a STORE that changes nothing moved HIGHESTMODSEQ to %d", hms)
	}
}
