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
