// Package archtest enforces the dependency rules of docs/ARCHITECTURE.md:
// protocol front ends depend on the store contract, never on each other,
// never on a store driver and never on config.
package archtest

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/letterbox/letterbox/"

// forbidden maps a package to the packages it must never depend on
// (directly or transitively).
var forbidden = map[string][]string{
	"internal/imapserver": {"internal/pop3server", "internal/smtpserver", "internal/jmapserver", "internal/store/sqlite", "internal/store/postgres", "internal/config", "cmd/"},
	"internal/pop3server": {"internal/imapserver", "internal/smtpserver", "internal/jmapserver", "internal/store/sqlite", "internal/store/postgres", "internal/config", "cmd/"},
	"internal/smtpserver": {"internal/imapserver", "internal/pop3server", "internal/jmapserver", "internal/store/sqlite", "internal/store/postgres", "internal/config", "cmd/"},
	"internal/jmapserver": {"internal/imapserver", "internal/pop3server", "internal/smtpserver", "internal/store/sqlite", "internal/store/postgres", "internal/config", "cmd/"},
	"internal/store":      {"internal/store/sqlite", "internal/store/postgres", "internal/imap", "internal/config", "internal/auth"},
	"internal/mime":       {"internal/store", "internal/imap", "internal/config"},
	"internal/imap":       {"internal/store", "internal/imapserver", "internal/config"},
	"internal/connlimit":  {"internal/store", "internal/imapserver", "internal/pop3server", "internal/smtpserver", "internal/jmapserver", "internal/config"},
	"internal/auth":       {"internal/store/sqlite", "internal/store/postgres", "internal/config"},
	// Inbound message checks know nothing of letterbox.
	"internal/msgauth": {"internal/store", "internal/config", "internal/smtpserver", "internal/imapserver", "internal/pop3server", "internal/outbound", "cmd/"},
	// The HTML sanitiser knows nothing of letterbox.
	"internal/htmlsafe": {"internal/store", "internal/mime", "internal/jmapserver", "internal/config", "cmd/"},
	// The web mail page reaches mail only through /jmap: it imports no
	// store, no front end.
	"internal/webmail": {"internal/store", "internal/jmapserver", "internal/imapserver", "internal/pop3server", "internal/smtpserver", "internal/auth", "internal/config", "cmd/"},
	// The delivery worker is another reader of the store contract.
	"internal/outbound": {"internal/store/sqlite", "internal/store/postgres", "internal/config", "internal/smtpserver", "internal/imapserver", "internal/pop3server", "cmd/"},
}

func TestForbiddenImports(t *testing.T) {
	for pkg, bans := range forbidden {
		out, err := exec.Command("go", "list", "-deps", module+pkg).CombinedOutput()
		if err != nil {
			if strings.Contains(string(out), "no required module provides package") {
				t.Errorf("%s does not exist", pkg)
				continue
			}
			t.Fatalf("go list %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			rel, ok := strings.CutPrefix(dep, module)
			if !ok {
				continue
			}
			for _, ban := range bans {
				if rel == ban || strings.HasPrefix(rel, ban+"/") || (strings.HasSuffix(ban, "/") && strings.HasPrefix(rel, ban)) {
					t.Errorf("%s depends on %s, which the architecture forbids", pkg, rel)
				}
			}
		}
	}
}
