package main

import (
	"context"
	"sort"
	"strings"

	"github.com/letterbox/letterbox/internal/outbound"
)

// checkDKIM: every key in DATA/dkim has its record published at
// SELECTOR._domainkey.DOMAIN (RFC 6376 §3.6.2.1) with the same key type
// and public key (§3.6.1 k= and p=), and every mail domain has a key.
// Mail signed with a key whose record is missing or different fails DKIM
// at the receiver, and with it DMARC when SPF does not align.
func checkDKIM(ctx context.Context, r *doctorReport, s *setup, domains []string) {
	keys, err := outbound.LoadDKIM(dkimDir(s))
	if err != nil {
		r.fail("DKIM: %v", err)
		return
	}
	var names []string
	for d := range keys {
		names = append(names, d)
	}
	sort.Strings(names)
	for _, d := range domains {
		if len(keys[d]) == 0 {
			r.warn("DKIM: no signing key for %s: mail from it leaves unsigned (`letterbox dkim generate %s`)", d, d)
		}
	}
	for _, d := range names {
		for _, k := range keys[d] {
			checkDKIMKey(ctx, r, k)
		}
	}
}

func checkDKIMKey(ctx context.Context, r *doctorReport, k outbound.DKIMKey) {
	name, want, err := k.TXTRecord()
	if err != nil {
		r.fail("DKIM: key %s of %s: %v", k.Selector, k.Domain, err)
		return
	}
	name = strings.TrimSuffix(name, ".")
	zone, _ := k.ZoneLines()
	wantTags := dkimTags(want)
	txts, lerr := doctorResolver.LookupTXT(ctx, name)
	var records []map[string]string
	for _, t := range txts {
		tags := dkimTags(t)
		// §3.6.1: v= is optional, but when present it must come first
		// and be DKIM1; a TXT without p= is no key record.
		if _, ok := tags["p"]; !ok || tags["v"] != "" && tags["v"] != "DKIM1" {
			continue
		}
		records = append(records, tags)
	}
	switch {
	case len(records) == 0:
		r.fail("DKIM: no key record at %s (%s): receivers cannot verify mail signed with selector %s; publish: %s", name, errText(lerr), k.Selector, zone)
	case len(records) > 1:
		r.fail("DKIM: %s has %d key records; receivers may pick either: keep only %s", name, len(records), zone)
	case records[0]["p"] == "":
		r.fail("DKIM: the record at %s is revoked (empty p=) but %s/%s.pem still signs: publish %s", name, k.Domain, k.Selector, zone)
	case keyType(records[0]) != wantTags["k"] || records[0]["p"] != wantTags["p"]:
		r.fail("DKIM: the record at %s holds another key than %s/%s.pem (mail signed with it fails DKIM): publish %s", name, k.Domain, k.Selector, zone)
	default:
		r.ok("DKIM: %s (%s) matches the key on disk", name, wantTags["k"])
	}
}

// keyType is the record's k= (RFC 6376 §3.6.1: default "rsa").
func keyType(tags map[string]string) string {
	if k := tags["k"]; k != "" {
		return strings.ToLower(k)
	}
	return "rsa"
}

// dkimTags parses a tag-list (RFC 6376 §3.2): "tag=value" pairs split by
// ";", whitespace around them ignored; base64 values (p=) lose all
// folding whitespace. A TXT record split into several strings arrives
// joined.
func dkimTags(s string) map[string]string {
	tags := map[string]string{}
	for part := range strings.SplitSeq(s, ";") {
		tag, val, ok := strings.Cut(part, "=")
		if !ok {
			continue
		}
		tag = strings.TrimSpace(tag)
		val = strings.TrimSpace(val)
		if tag == "p" {
			val = strings.Join(strings.Fields(val), "")
		}
		if _, dup := tags[tag]; !dup && tag != "" {
			tags[tag] = val
		}
	}
	return tags
}
