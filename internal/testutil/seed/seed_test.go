package seed

import (
	"strings"
	"testing"
)

func TestScriptSubstitutes(t *testing.T) {
	for name, ex := range map[string]string{"pop3": POP3, "imap": IMAP, "imap search": IMAPSearch} {
		code, err := Script(ex, "127.0.0.1", "1995", "alice@example.com", `it's a\secret`)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, want := range []string{"('127.0.0.1', 1995)", "'alice@example.com'", `'it\'s a\\secret'`} {
			if !strings.Contains(code, want) {
				t.Errorf("%s lacks %s:\n%s", name, want, code)
			}
		}
		for _, gone := range []string{"example.com', 99", "'username'", "'password'"} {
			if strings.Contains(code, gone) {
				t.Errorf("%s still has %s", name, gone)
			}
		}
	}
	if _, err := Script("print(1)", "h", "1", "u", "p"); err == nil {
		t.Fatal("no error for an example without placeholders")
	}
}
