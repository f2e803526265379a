package pop3server

import (
	"encoding/base64"
	"errors"
	"strings"

	"github.com/letterbox/letterbox/internal/auth"
	"github.com/letterbox/letterbox/internal/store"
)

// plaintextRefusal is the RFC 3206 [AUTH] answer to USER/PASS/AUTH PLAIN on
// a connection where cleartext passwords are not allowed (RFC 2595 §2.1).
const plaintextRefusal = "-ERR [AUTH] plaintext authentication not allowed without TLS; use STLS"

func (s *session) plaintextAllowed() bool {
	return s.srv.opts.plaintextAllowed(s.remote, s.tlsActive)
}

// cmdUser handles USER name (RFC 1939 §7). The name is the rest of the line.
func (s *session) cmdUser(args string) error {
	if !s.plaintextAllowed() {
		s.reply(plaintextRefusal)
		return nil
	}
	if args == "" {
		s.reply("-ERR USER needs a name")
		return nil
	}
	s.pendingUser = args
	s.reply("+OK send PASS")
	return nil
}

// cmdPass handles PASS string (RFC 1939 §7). The password is the rest of the
// line, spaces included.
func (s *session) cmdPass(args string) error {
	if !s.plaintextAllowed() {
		s.reply(plaintextRefusal)
		return nil
	}
	if s.pendingUser == "" {
		s.reply("-ERR send USER first")
		return nil
	}
	user := s.pendingUser
	s.pendingUser = ""
	s.login("USER", user, args)
	return nil
}

// cmdAuth handles AUTH mechanism [initial-response] (RFC 5034 §4). Only
// PLAIN (RFC 4616) is offered. A bare AUTH lists the mechanisms, as many
// clients still expect from RFC 1734.
func (s *session) cmdAuth(args string) error {
	fields := strings.Fields(args)
	if len(fields) == 0 {
		s.reply("+OK SASL mechanisms follow")
		if s.plaintextAllowed() {
			s.reply("PLAIN")
		}
		s.reply(".")
		return nil
	}
	if len(fields) > 2 {
		s.reply("-ERR too many arguments")
		return nil
	}
	if !strings.EqualFold(fields[0], "PLAIN") {
		s.reply("-ERR unsupported authentication mechanism")
		return nil
	}
	if !s.plaintextAllowed() {
		s.reply(plaintextRefusal)
		return nil
	}
	s.pendingUser = ""
	var encoded string
	if len(fields) == 2 {
		encoded = fields[1]
		if encoded == "=" { // RFC 5034 §4: "=" is a zero-length initial response
			encoded = ""
		}
	} else {
		// RFC 5034 §4: empty challenge, "+ " then the client's response line.
		s.reply("+ ")
		if err := s.t.flush(); err != nil {
			return err
		}
		line, err := s.t.readLine(maxSASLLineLength)
		if errors.Is(err, errLineTooLong) {
			s.reply("-ERR authentication response too long")
			return nil
		}
		if err != nil {
			s.readFailed(err)
			return errCloseSession
		}
		if line == "*" {
			s.reply("-ERR authentication cancelled")
			return nil
		}
		encoded = line
	}
	resp, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		s.reply("-ERR invalid base64 in authentication response")
		return nil
	}
	authzid, user, pass, err := auth.DecodePlain(resp)
	if err != nil {
		s.reply("-ERR [AUTH] malformed PLAIN response")
		return nil
	}
	if !auth.AuthzidAllowed(authzid, user) {
		s.log.Info("pop3: login refused: authorization identity differs", "user", user, "authzid", authzid)
		s.reply("-ERR [AUTH] authorization identity not allowed")
		return nil
	}
	s.login("PLAIN", user, pass)
	return nil
}

// login checks the credentials, takes the maildrop lock and snapshots INBOX
// (RFC 1939 §4 → §5). Every failure leaves the session in AUTHORIZATION.
func (s *session) login(mech, user, pass string) {
	acct, err := s.srv.opts.Auth.Authenticate(s.ctx, auth.Attempt{Remote: s.remote, Username: user, Password: pass, Protocol: "pop3", Mechanism: mech})
	switch {
	case errors.Is(err, auth.ErrThrottled):
		s.log.Warn("pop3: login throttled", "user", user)
		s.reply("-ERR [SYS/TEMP] too many failed logins, try again later")
		return
	case errors.Is(err, auth.ErrInvalidCredentials):
		// The Authenticator logged the attempt (docs/LOGINS.md).
		s.reply("-ERR [AUTH] invalid user name or password")
		return
	case err != nil:
		s.log.Error("pop3: login: authenticator", "user", user, "err", err)
		s.reply("-ERR [SYS/TEMP] authentication temporarily unavailable")
		return
	}
	unlock, ok := s.srv.locker.TryLock(acct.Name)
	if !ok {
		s.log.Info("pop3: maildrop in use", "user", acct.Name)
		s.reply("-ERR [IN-USE] maildrop already locked by another session")
		return
	}
	if err := s.openMaildrop(acct); err != nil {
		unlock()
		s.log.Error("pop3: open maildrop", "user", acct.Name, "err", err)
		if errors.Is(err, store.ErrNoSuchMailbox) || errors.Is(err, store.ErrNoSuchAccount) {
			s.reply("-ERR [SYS/PERM] maildrop unavailable")
		} else {
			s.reply("-ERR [SYS/TEMP] maildrop temporarily unavailable")
		}
		return
	}
	s.unlock = unlock
	s.account = acct
	s.state = stateTransaction
	if s.slot != nil {
		s.slot.Authenticated() // no longer evicted for a newer connection
	}
	s.log = s.log.With("user", acct.Name)
	count, size := s.totals()
	s.log.Info("pop3: logged in", "messages", count, "octets", size, "tls", s.tlsActive)
	s.reply("+OK maildrop has %d messages (%d octets)", count, size)
}

// openMaildrop takes the snapshot of INBOX that numbers messages 1..n for
// the whole session (RFC 1939 §5).
func (s *session) openMaildrop(acct store.Account) error {
	boxes, err := s.srv.opts.Store.Mailboxes(s.ctx, acct.Name)
	if err != nil {
		return err
	}
	mbox, err := boxes.Open(s.ctx, store.InboxName)
	if err != nil {
		return err
	}
	info, err := mbox.Info(s.ctx)
	if err != nil {
		return err
	}
	msgs, err := mbox.Messages(s.ctx)
	if err != nil {
		return err
	}
	s.mailbox = mbox
	s.uidValidity = info.UIDValidity
	s.messages = make([]message, len(msgs))
	for i, m := range msgs {
		s.messages[i] = message{uid: m.UID, size: m.Size, blobID: m.BlobID}
	}
	return nil
}
