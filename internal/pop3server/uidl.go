package pop3server

import (
	"fmt"

	"github.com/letterbox/letterbox/internal/store"
)

// uniqueID is a message's UIDL value (RFC 1939 §7). It is derived from the
// INBOX UIDVALIDITY and the message UID, so it never changes and is never
// reused while UIDVALIDITY stays. The form is Dovecot's default
// pop3_uidl_format "%08Xu%08Xv" (UID then UIDVALIDITY, eight upper-case hex
// digits each): 16 characters, all in 0x21-0x7E as RFC 1939 requires, and
// identical to what Dovecot gave for the same UID and UIDVALIDITY, so a
// maildrop migrated with its UIDs is not downloaded again.
func uniqueID(uidValidity uint32, uid store.UID) string {
	return fmt.Sprintf("%08X%08X", uint32(uid), uidValidity)
}
