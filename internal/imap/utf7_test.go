package imap

import "testing"

func TestMailboxNameUTF7(t *testing.T) {
	vectors := map[string]string{
		// RFC 3501 §5.1.3 example.
		"~peter/mail/台北/日本語": "~peter/mail/&U,BTFw-/&ZeVnLIqe-",
		"&":                  "&-",
		"a&b":                "a&-b",
		"été":                "&AOk-t&AOk-",
		"Entwürfe":           "Entw&APw-rfe",
		"😀":                  "&2D3eAA-",
		"":                   "",
		"plain":              "plain",
		"tab\there":          "tab&AAk-here",
	}
	for utf, enc := range vectors {
		if got := EncodeMailboxName(utf); got != enc {
			t.Errorf("Encode(%q) = %q, want %q", utf, got, enc)
		}
		if got, err := DecodeMailboxName(enc); err != nil || got != utf {
			t.Errorf("Decode(%q) = %q, %v, want %q", enc, got, err, utf)
		}
	}
	invalid := []string{
		"&",           // unterminated
		"&U,BTFw",     // unterminated
		"&AGE-",       // encodes printable ASCII "a"
		"&AOk-&AOk-",  // adjacent shifts must be one
		"&AOl-",       // non-zero padding bits
		"&AO-",        // half a UTF-16 unit
		"&2D0-",       // lone high surrogate
		"&!!-",        // not base64
		"caf\xc3\xa9", // raw 8-bit
		"a\x01b",      // control character
	}
	for _, in := range invalid {
		if got, err := DecodeMailboxName(in); err == nil {
			t.Errorf("Decode(%q) = %q, want error", in, got)
		}
	}
}

func FuzzMailboxNameRoundTrip(f *testing.F) {
	f.Add("~peter/mail/台北/日本語")
	f.Add("&AOk-")
	f.Fuzz(func(t *testing.T, s string) {
		enc := EncodeMailboxName(s)
		dec, err := DecodeMailboxName(enc)
		if err != nil {
			t.Fatalf("Decode(Encode(%q)) failed: %v", s, err)
		}
		if EncodeMailboxName(dec) != enc {
			t.Fatalf("not stable: %q -> %q -> %q", s, enc, dec)
		}
	})
}

// go-imap v2 sends raw UTF-8 names (with "&" as "&-") to a server that
// advertises IMAP4rev2, before any ENABLE; the reader accepts them.
func TestLenientUTF8MailboxNames(t *testing.T) {
	for in, want := range map[string]string{
		"café":           "café",
		"R&-D/café":      "R&D/café",
		"&AOk-t&AOk-/ü":  "été/ü",
		"plain&-ascii":   "plain&ascii",
		"Entw&APw-rfe/ä": "Entwürfe/ä",
	} {
		got, err := decodeMailboxNameLenient(in)
		if err != nil || got != want {
			t.Errorf("decodeMailboxNameLenient(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"caf\xc3", "café&", "café&Jjo", "café\x01"[:5] + "&AGE-"} {
		if got, err := decodeMailboxNameLenient(in); err == nil {
			t.Errorf("decodeMailboxNameLenient(%q) = %q, want error", in, got)
		}
	}
}
