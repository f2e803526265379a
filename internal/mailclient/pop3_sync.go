package mailclient

import (
	"context"
	"strconv"
)

// Sync downloads into a Maildir the POP3 messages whose UIDL (RFC 1939
// §7) it has not downloaded before. POP3 has no flags, so messages land in
// new/. A message deleted on the server keeps its local copy (POP3 is
// download-and-keep); its UIDL is forgotten since it cannot come back.
func (s *pop3Session) Sync(ctx context.Context, mailbox, dir string) (SyncReport, error) {
	var rep SyncReport
	if err := inboxOnly(mailbox); err != nil {
		return rep, err
	}
	md, err := openMaildir(dir)
	if err != nil {
		return rep, err
	}
	st, err := loadSyncState(dir, syncState{Protocol: "pop3", Account: s.account(), Mailbox: "INBOX"})
	if err != nil {
		return rep, err
	}
	msgs, err := s.messages()
	if err != nil {
		return rep, err
	}
	onServer := map[string]bool{}
	for _, m := range msgs {
		if m.UIDL == "" {
			return rep, unsupported("the server has no UIDL (RFC 1939 §7), so a sync cannot be incremental")
		}
		onServer[m.UIDL] = true
	}
	known := map[string]bool{}
	kept := st.Messages[:0]
	for _, e := range st.Messages {
		if !onServer[e.UIDL] {
			continue
		}
		known[e.UIDL] = true
		kept = append(kept, e)
		rep.Kept++
	}
	st.Messages = kept
	for i, m := range msgs {
		if known[m.UIDL] {
			continue
		}
		n, _ := strconv.Atoi(m.ID)
		r, err := s.c.Retr(n)
		if err != nil {
			st.save(dir)
			return rep, err
		}
		base, err := md.deliver(r, "")
		if err != nil {
			st.save(dir)
			return rep, err
		}
		st.Messages = append(st.Messages, syncEntry{UIDL: m.UIDL, File: base})
		rep.Fetched++
		if (i+1)%syncBatch == 0 {
			if err := st.save(dir); err != nil {
				return rep, err
			}
		}
	}
	return rep, st.save(dir)
}
