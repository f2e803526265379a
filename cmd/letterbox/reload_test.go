package main

import (
	"slices"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/config"
)

func TestChangedKeys(t *testing.T) {
	a := config.Defaults()
	b := config.Defaults()
	if got := changedKeys(a, b); len(got) != 0 {
		t.Fatalf("equal configs differ in %v", got)
	}
	b.IMAP.IdleTimeout += time.Minute
	b.Log.Level = "debug"
	b.LocalDomains = []string{"example.org"}
	b.TLS.CertFile = "/x.pem"
	got := changedKeys(a, b)
	want := []string{"imap.idle_timeout", "local_domains", "log.level", "tls.cert_file"}
	if !slices.Equal(got, want) {
		t.Fatalf("changedKeys = %v, want %v", got, want)
	}
	for _, k := range want {
		if k != "imap.idle_timeout" && !slices.Contains(reloadableKeys, k) {
			t.Errorf("%s is not reloadable", k)
		}
	}
}
