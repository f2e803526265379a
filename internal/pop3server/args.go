package pop3server

import (
	"strconv"
	"strings"
)

// parseNumber parses a non-negative decimal argument (RFC 1939 §3: numbers
// are decimal). Signs, spaces and anything over 9 digits are refused.
func parseNumber(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// lookup resolves a message-number argument to the snapshot entry. It
// writes the -ERR reply itself and returns nil when the number is not a
// valid, undeleted message (RFC 1939 §5: "may not refer to a message marked
// as deleted").
func (s *session) lookup(arg string) (int, *message) {
	n, ok := parseNumber(arg)
	if !ok {
		s.reply("-ERR invalid message number")
		return 0, nil
	}
	if n < 1 || n > len(s.messages) {
		s.reply("-ERR no such message")
		return 0, nil
	}
	m := &s.messages[n-1]
	if m.deleted {
		s.reply("-ERR message %d already deleted", n)
		return 0, nil
	}
	return n, m
}

// splitArgs splits command arguments on spaces (RFC 2449 §3: one space
// separates arguments; runs of spaces are tolerated).
func splitArgs(args string) []string {
	return strings.Fields(args)
}
