package main

import (
	"net/netip"
	"testing"

	"github.com/letterbox/letterbox/internal/config"
)

func TestPlaintextPolicy(t *testing.T) {
	loop := netip.MustParseAddr("127.0.0.1")
	loop6 := netip.MustParseAddr("::1")
	mapped := netip.MustParseAddr("::ffff:127.0.0.1")
	remote := netip.MustParseAddr("192.0.2.1")
	tests := []struct {
		mode   string
		remote netip.Addr
		tls    bool
		want   bool
	}{
		{config.PlaintextLoopback, loop, false, true},
		{config.PlaintextLoopback, loop6, false, true},
		{config.PlaintextLoopback, mapped, false, true},
		{config.PlaintextLoopback, remote, false, false},
		{config.PlaintextLoopback, remote, true, true},
		{config.PlaintextNever, loop, false, false},
		{config.PlaintextNever, loop, true, true},
		{config.PlaintextAlways, remote, false, true},
	}
	for _, tc := range tests {
		if got := plaintextPolicy(tc.mode)(tc.remote, tc.tls); got != tc.want {
			t.Errorf("%s: remote %v tls %v: got %v, want %v", tc.mode, tc.remote, tc.tls, got, tc.want)
		}
	}
}
