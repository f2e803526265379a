package pop3server

import (
	"context"
	"time"

	"github.com/letterbox/letterbox/internal/store"
)

// updateTimeout bounds the expunge of the UPDATE state.
const updateTimeout = time.Minute

// cmdQuit handles QUIT (RFC 1939 §4 and §6). In AUTHORIZATION it just says
// goodbye. In TRANSACTION it enters UPDATE: the messages marked deleted are
// expunged from INBOX, then the lock is released and the connection closed.
func (s *session) cmdQuit(args string) error {
	if s.state != stateTransaction {
		s.reply("+OK letterbox POP3 server signing off")
		return errCloseSession
	}
	s.state = stateUpdate
	var uids []store.UID
	for _, m := range s.messages {
		if m.deleted {
			uids = append(uids, m.uid)
		}
	}
	if len(uids) > 0 {
		// The client's QUIT commits us to the update even if it hangs up
		// before reading the reply, or the server is closing.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(s.ctx), updateTimeout)
		removed, err := s.mailbox.Expunge(ctx, uids)
		cancel()
		if err != nil {
			s.log.Error("pop3: expunge on QUIT", "err", err, "marked", len(uids))
			s.reply("-ERR [SYS/TEMP] some deleted messages not removed")
			return errCloseSession
		}
		s.log.Info("pop3: expunged on QUIT", "marked", len(uids), "removed", len(removed))
	}
	s.releaseMaildrop()
	count, _ := s.totals()
	s.reply("+OK letterbox POP3 server signing off (%d messages left)", count)
	return errCloseSession
}
