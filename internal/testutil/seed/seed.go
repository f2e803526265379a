// Package seed holds the seed tutorial's Python examples
// (/work/shared/seed), line breaks repaired and otherwise verbatim, so every
// test that runs them (e2e, pop3server, imapserver) runs the same code.
// Only the host, port and credentials are changed, by Script.
package seed

import (
	_ "embed"
	"fmt"
	"strings"
)

var (
	// POP3 is the poplib example: STAT, then the latest message's From,
	// Subject, Date and text body, over POP3_SSL.
	//go:embed pop3.py
	POP3 string
	// IMAP is the imaplib example: the same over IMAP4_SSL.
	//go:embed imap.py
	IMAP string
	// IMAPSearch is the tutorial's exercise 3: a subject keyword search;
	// the keyword is the script's first argument.
	//go:embed imap_search.py
	IMAPSearch string
)

// Script returns one of the examples with the tutorial's host, port and
// credentials replaced; run it with `python3 -c`. It fails when the
// example holds none of them (the substitution would be silently lost).
func Script(example, host string, port string, user, pass string) (string, error) {
	code := strings.NewReplacer(
		"'pop.example.com', 995", "'"+host+"', "+port,
		"'imap.example.com', 993", "'"+host+"', "+port,
		"'username'", pyQuote(user),
		"'password'", pyQuote(pass),
	).Replace(example)
	if code == example {
		return "", fmt.Errorf("seed: nothing to substitute in the example")
	}
	return code, nil
}

// pyQuote is a Python single-quoted string literal of s.
func pyQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`, "\r", `\r`).Replace(s) + "'"
}
