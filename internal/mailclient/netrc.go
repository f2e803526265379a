package mailclient

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// NetrcPath is $NETRC, else ~/.netrc.
func NetrcPath(getenv func(string) string) string {
	if p := getenv("NETRC"); p != "" {
		return p
	}
	home := getenv("HOME")
	if home == "" {
		return ""
	}
	return filepath.Join(home, ".netrc")
}

// NetrcPassword looks up the password for host and login in the netrc
// file at path (the format of ftp(1) and curl: "machine H login L password
// P" tokens, a "default" entry, "macdef" blocks skipped). An entry for the
// host with no login matches any login; the default entry matches when no
// machine does. found is false when nothing matches or the file is absent.
func NetrcPassword(path, host, login string) (pw string, found bool, err error) {
	if path == "" {
		return "", false, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	type entry struct {
		machine, login, password string
		isDefault, hasPassword   bool
	}
	var entries []entry
	toks := netrcTokens(string(data))
	var cur *entry
	for i := 0; i < len(toks); i++ {
		next := func() string {
			if i+1 < len(toks) {
				i++
				return toks[i]
			}
			return ""
		}
		switch toks[i] {
		case "machine":
			entries = append(entries, entry{machine: next()})
			cur = &entries[len(entries)-1]
		case "default":
			entries = append(entries, entry{isDefault: true})
			cur = &entries[len(entries)-1]
		case "login":
			v := next()
			if cur != nil {
				cur.login = v
			}
		case "password":
			v := next()
			if cur != nil {
				cur.password, cur.hasPassword = v, true
			}
		case "account":
			next()
		case "macdef":
			// The macro runs to the next empty line; tokens were split on
			// white space, so skip to the next keyword that starts an entry.
			next()
			for i+1 < len(toks) && toks[i+1] != "machine" && toks[i+1] != "default" {
				i++
			}
		}
	}
	match := func(e entry) bool {
		return e.hasPassword && (e.login == "" || e.login == login)
	}
	for _, e := range entries {
		if !e.isDefault && strings.EqualFold(e.machine, host) && match(e) {
			return e.password, true, nil
		}
	}
	for _, e := range entries {
		if e.isDefault && match(e) {
			return e.password, true, nil
		}
	}
	return "", false, nil
}

// netrcTokens splits netrc text into tokens: white-space separated, with
// double-quoted strings (and backslash escapes) as one token, as curl
// reads them; "#" starts a comment at the start of a token.
func netrcTokens(s string) []string {
	var toks []string
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '#':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '"':
			var b strings.Builder
			i++
			for i < len(s) && s[i] != '"' {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				b.WriteByte(s[i])
				i++
			}
			i++
			toks = append(toks, b.String())
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\r\n", rune(s[j])) {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		}
	}
	return toks
}
