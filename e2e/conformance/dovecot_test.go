package conformance

import (
	"testing"

	"github.com/letterbox/letterbox/internal/testutil/dovecottest"
)

// namespaceConf gives Dovecot "/" as the hierarchy separator (as letterbox
// uses) and the same special-use mailboxes letterbox creates for a new
// account (store.DefaultMailboxes).
const namespaceConf = `namespace inbox {
  inbox = yes
  separator = /
  prefix =
  mailbox INBOX {
    auto = subscribe
  }
  mailbox Sent {
    auto = subscribe
    special_use = \Sent
  }
  mailbox Drafts {
    auto = subscribe
    special_use = \Drafts
  }
  mailbox Trash {
    auto = subscribe
    special_use = \Trash
  }
  mailbox Junk {
    auto = subscribe
    special_use = \Junk
  }
  mailbox Archive {
    auto = subscribe
    special_use = \Archive
  }
}`

// startDovecot runs a throwaway Dovecot with the one test account; it is
// stopped when the test ends.
func startDovecot(t *testing.T) endpoint {
	t.Helper()
	// METADATA (RFC 5464), as letterbox has it.
	return startDovecotWith(t, "mail_attribute_dict = file:%h/dovecot-attributes\nprotocol imap {\n  imap_metadata = yes\n}\n")
}

// startDovecotWith is startDovecot with extra configuration after the
// namespaces.
func startDovecotWith(t *testing.T, extra string) endpoint {
	t.Helper()
	s := dovecottest.StartT(t, dovecottest.Options{
		Users:  map[string]string{testUser: testPass},
		Config: namespaceConf + "\n" + extra,
		// INTERNALDATE in Maildir keeps no zone: Dovecot answers in local
		// time. UTC makes its answers comparable with the +0000 dates we
		// APPEND.
		Env:        []string{"TZ=UTC"},
		TempPrefix: "letterbox-conformance-dovecot-",
	})
	return endpoint{name: "dovecot", imap: s.IMAP, pop3: s.POP3}
}
