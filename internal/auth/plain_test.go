package auth

import (
	"errors"
	"strings"
	"testing"
)

func TestDecodePlain(t *testing.T) {
	long := strings.Repeat("x", maxPlainField+1)
	tests := []struct {
		in                  string
		authzid, user, pass string
		bad                 bool
	}{
		// RFC 4616 §4 examples.
		{in: "\x00tim\x00tanstaaftanstaaf", user: "tim", pass: "tanstaaftanstaaf"},
		{in: "Ursel\x00Kurt\x00xipj3plmq", authzid: "Ursel", user: "Kurt", pass: "xipj3plmq"},
		{in: "\x00alice@example.com\x00pässwörd", user: "alice@example.com", pass: "pässwörd"},
		{in: "", bad: true},
		{in: "alice", bad: true},
		{in: "\x00alice", bad: true},
		{in: "\x00\x00pw", bad: true},             // empty authcid
		{in: "\x00alice\x00", bad: true},          // empty passwd
		{in: "\x00alice\x00pw\x00", bad: true},    // extra NUL
		{in: "\x00alice\x00p\xffw", bad: true},    // not UTF-8
		{in: "\x00" + long + "\x00pw", bad: true}, // authcid too long
		{in: "\x00alice\x00" + long, bad: true},   // passwd too long
		{in: long + "\x00alice\x00pw", bad: true}, // authzid too long
		{in: "\x00alice\x00" + long[:255], user: "alice", pass: long[:255]},
	}
	for _, tc := range tests {
		z, u, p, err := DecodePlain([]byte(tc.in))
		if tc.bad {
			if !errors.Is(err, ErrMalformedPlain) {
				t.Errorf("DecodePlain(%q): err %v, want ErrMalformedPlain", tc.in, err)
			}
			continue
		}
		if err != nil || z != tc.authzid || u != tc.user || p != tc.pass {
			t.Errorf("DecodePlain(%q) = %q, %q, %q, %v", tc.in, z, u, p, err)
		}
	}
}

func TestAuthzidAllowed(t *testing.T) {
	tests := []struct {
		authzid, user string
		want          bool
	}{
		{"", "alice@example.com", true},
		{"Alice@Example.com", "alice@example.com", true},
		{"bob@example.com", "alice@example.com", false},
	}
	for _, tc := range tests {
		if got := AuthzidAllowed(tc.authzid, tc.user); got != tc.want {
			t.Errorf("AuthzidAllowed(%q, %q) = %v", tc.authzid, tc.user, got)
		}
	}
}
