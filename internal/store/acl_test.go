package store

import (
	"errors"
	"testing"
)

// RFC 4314 §2.1.1: c stands for k and x, d for t and e, on input; on
// output c follows k or x and d follows t or e (Dovecot's mapping).
func TestRightsParseString(t *testing.T) {
	for _, tc := range []struct{ in, out, letters string }{
		{"", "", ""},
		{"lr", "lr", "lr"},
		{"rl", "lr", "lr"},
		{"lrl", "lr", "lr"},
		{"lrswipkxtea", "lrwstipekxacd", "lrwstipekxa"},
		{"c", "kxc", "kx"},
		{"d", "ted", "te"},
		{"x", "xc", "x"},
		{"k", "kc", "k"},
		{"t", "td", "t"},
		{"e", "ed", "e"},
		{"lrcd", "lrtekxcd", "lrtekx"},
	} {
		r, err := ParseRights(tc.in)
		if err != nil {
			t.Fatalf("ParseRights(%q): %v", tc.in, err)
		}
		if got := r.String(); got != tc.out {
			t.Errorf("ParseRights(%q).String() = %q, want %q", tc.in, got, tc.out)
		}
		if got := r.Letters(); got != tc.letters {
			t.Errorf("ParseRights(%q).Letters() = %q, want %q", tc.in, got, tc.letters)
		}
	}
	for _, bad := range []string{"Z", "l r", "L", "lr1", "+l"} {
		if _, err := ParseRights(bad); !errors.Is(err, ErrInvalidRights) {
			t.Errorf("ParseRights(%q): %v, want ErrInvalidRights", bad, err)
		}
	}
	if AllRights.String() != "lrwstipekxacd" {
		t.Errorf("AllRights = %q", AllRights.String())
	}
}

func TestEffectiveRights(t *testing.T) {
	es := []ACLEntry{
		{"anyone", RightLookup | RightRead | RightSeen},
		{"bob@example.com", RightWrite},
		{"-bob@example.com", RightSeen},
		{"-authenticated", RightWrite},
		{"carol@example.com", RightInsert},
	}
	if got := EffectiveRights(es, "Bob@Example.com").Letters(); got != "lr" {
		t.Errorf("bob: %q, want lr (negative s and w win)", got)
	}
	if got := EffectiveRights(es, "carol@example.com").Letters(); got != "lrsi" {
		t.Errorf("carol: %q, want lrsi", got)
	}
	if got := EffectiveRights(nil, "dave@example.com"); got != 0 {
		t.Errorf("no entries: %v", got)
	}
}
