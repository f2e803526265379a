package pop3server

// capabilities lists what CAPA announces (RFC 2449 §5). Only what works on
// this connection is listed: USER and SASL PLAIN only where plaintext
// passwords are allowed (a client must not send USER when CAPA omits it),
// STLS only on a plain connection with TLS configured. The list is the same
// in both states, as RFC 2449 §5 asks; STLS and UTF8 are, by definition,
// commands of the AUTHORIZATION state (RFC 2595 §4, RFC 6856 §2).
func (s *session) capabilities() []string {
	caps := []string{"TOP", "UIDL"}
	if s.plaintextAllowed() {
		caps = append(caps, "USER", "SASL PLAIN")
	}
	caps = append(caps,
		"RESP-CODES",     // RFC 2449 §6.4
		"AUTH-RESP-CODE", // RFC 3206 §6
		"PIPELINING",     // RFC 2449 §6.6
		"EXPIRE NEVER",   // RFC 2449 §6.7: letterbox never deletes on its own
		"LOGIN-DELAY 0",  // RFC 2449 §6.5: no minimum delay between logins
		"IMPLEMENTATION "+DefaultImplementation,
	)
	if !s.tlsActive && s.srv.opts.TLS != nil {
		caps = append(caps, "STLS")
	}
	return append(caps, "UTF8")
}

// cmdCapa handles CAPA (RFC 2449 §5).
func (s *session) cmdCapa(args string) error {
	if args != "" {
		s.reply("-ERR CAPA takes no arguments")
		return nil
	}
	s.reply("+OK capability list follows")
	for _, c := range s.capabilities() {
		s.reply("%s", c)
	}
	s.reply(".")
	return nil
}

// cmdUTF8 handles UTF8 (RFC 6856 §2). letterbox already accepts UTF-8 user
// names and passwords and sends messages as stored, so enabling UTF-8 mode
// only records that the client asked for it.
func (s *session) cmdUTF8(args string) error {
	if args != "" {
		s.reply("-ERR UTF8 takes no arguments")
		return nil
	}
	s.utf8 = true
	s.reply("+OK UTF8 enabled")
	return nil
}
