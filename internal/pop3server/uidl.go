package pop3server

import (
	"fmt"

	"github.com/letterbox/letterbox/internal/store"
)

// uniqueID is a message's UIDL value (RFC 1939 §7). It is derived from the
// INBOX UIDVALIDITY and the message UID, so it never changes and is never
// reused while UIDVALIDITY stays. The form is Dovecot's default
// pop3_uidl_format "%08Xu%08Xv" (UID then UIDVALIDITY, eight hex digits
// each): 16 characters, all in 0x21-0x7E as RFC 1939 requires, and
// identical to what Dovecot gives for the same UID and UIDVALIDITY, so a
// maildrop migrated with its UIDs (`letterbox import`) is not downloaded
// again. Dovecot's %X writes lower-case digits despite its name (Dovecot
// 2.3 on Debian answers UIDL with "000000016b12caa5" for UID 1 and
// UIDVALIDITY 0x6b12caa5; e2e TestImportDovecotMaildir compares the two),
// and a POP3 client compares UIDLs as strings, so lower case it is.
func uniqueID(uidValidity uint32, uid store.UID) string {
	return fmt.Sprintf("%08x%08x", uint32(uid), uidValidity)
}
