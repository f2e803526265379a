package pop3server

// totals counts the messages not marked deleted and their octets
// (RFC 1939 §5 STAT: deleted messages are not counted).
func (s *session) totals() (count int, size int64) {
	for _, m := range s.messages {
		if !m.deleted {
			count++
			size += m.size
		}
	}
	return count, size
}

// cmdStat handles STAT (RFC 1939 §5): "+OK nn mm".
func (s *session) cmdStat(args string) error {
	if args != "" {
		s.reply("-ERR STAT takes no arguments")
		return nil
	}
	count, size := s.totals()
	s.reply("+OK %d %d", count, size)
	return nil
}

// cmdList handles LIST [msg] (RFC 1939 §5). Sizes are the octets RETR sends
// before byte-stuffing, with CRLF line ends.
func (s *session) cmdList(args string) error {
	fields := splitArgs(args)
	switch len(fields) {
	case 0:
		count, size := s.totals()
		s.reply("+OK %d messages (%d octets)", count, size)
		for i, m := range s.messages {
			if !m.deleted {
				s.reply("%d %d", i+1, m.size)
			}
		}
		s.reply(".")
	case 1:
		if n, m := s.lookup(fields[0]); m != nil {
			s.reply("+OK %d %d", n, m.size)
		}
	default:
		s.reply("-ERR too many arguments")
	}
	return nil
}

// cmdUidl handles UIDL [msg] (RFC 1939 §7).
func (s *session) cmdUidl(args string) error {
	fields := splitArgs(args)
	switch len(fields) {
	case 0:
		s.reply("+OK unique-id listing follows")
		for i, m := range s.messages {
			if !m.deleted {
				s.reply("%d %s", i+1, uniqueID(s.uidValidity, m.uid))
			}
		}
		s.reply(".")
	case 1:
		if n, m := s.lookup(fields[0]); m != nil {
			s.reply("+OK %d %s", n, uniqueID(s.uidValidity, m.uid))
		}
	default:
		s.reply("-ERR too many arguments")
	}
	return nil
}

// cmdDele handles DELE msg (RFC 1939 §5): marks only; QUIT expunges.
func (s *session) cmdDele(args string) error {
	fields := splitArgs(args)
	if len(fields) != 1 {
		s.reply("-ERR DELE needs one message number")
		return nil
	}
	if n, m := s.lookup(fields[0]); m != nil {
		m.deleted = true
		s.reply("+OK message %d deleted", n)
	}
	return nil
}

// cmdRset handles RSET (RFC 1939 §5): unmark every deleted message.
func (s *session) cmdRset(args string) error {
	if args != "" {
		s.reply("-ERR RSET takes no arguments")
		return nil
	}
	for i := range s.messages {
		s.messages[i].deleted = false
	}
	count, size := s.totals()
	s.reply("+OK maildrop has %d messages (%d octets)", count, size)
	return nil
}

// cmdNoop handles NOOP (RFC 1939 §5).
func (s *session) cmdNoop(args string) error {
	if args != "" {
		s.reply("-ERR NOOP takes no arguments")
		return nil
	}
	s.reply("+OK")
	return nil
}
