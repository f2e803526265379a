package mailclient

import (
	"context"
	"fmt"
	"io"
	"sort"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// syncBatch is how many new messages one UID FETCH asks for; the state is
// saved after each batch so an interrupted sync resumes where it stopped.
const syncBatch = 50

// Sync mirrors one IMAP mailbox into a Maildir, one way (server → local):
//   - UIDVALIDITY (RFC 3501 §2.3.1.1) decides whether the UIDs remembered
//     still mean the same messages; when it changed, the old copies are
//     removed and the mailbox is fetched again.
//   - UID FETCH 1:* (UID FLAGS) lists the server's messages; remembered
//     UIDs that are gone are expunged, so their files are removed; flags
//     that changed rename the file (new ↔ cur, ":2,FLAGS").
//   - UIDs not remembered are fetched with BODY.PEEK[] (reading does not
//     set \Seen) and written through tmp/ into new/ or cur/.
//
// A message whose local file a reader deleted stays remembered and is not
// fetched again. Flags and deletions made locally are not sent back.
func (s *imapSession) Sync(ctx context.Context, mailbox, dir string) (SyncReport, error) {
	var rep SyncReport
	mailbox = orInbox(mailbox)
	md, err := openMaildir(dir)
	if err != nil {
		return rep, err
	}
	st, err := loadSyncState(dir, syncState{Protocol: "imap", Account: s.cfg.User + "@" + s.cfg.Addr, Mailbox: mailbox})
	if err != nil {
		return rep, err
	}
	idx, err := md.index()
	if err != nil {
		return rep, err
	}
	data, err := s.open(mailbox, false)
	if err != nil {
		return rep, err
	}
	if st.UIDValidity != 0 && st.UIDValidity != data.UIDValidity {
		for _, e := range st.Messages {
			if p, ok := idx[e.File]; ok {
				if err := md.remove(p); err != nil {
					return rep, err
				}
			}
		}
		st.Messages, rep.Reset = nil, true
	}
	st.UIDValidity = data.UIDValidity

	server := map[imap.UID]string{} // UID → flag letters on the server
	if data.NumMessages > 0 {
		msgs, err := s.c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, Flags: true}).Collect()
		if err != nil {
			return rep, fmt.Errorf("fetch flags: %w", err)
		}
		for _, m := range msgs {
			server[m.UID] = FlagLetters(flagStrings(m.Flags))
		}
	}

	known := map[imap.UID]bool{}
	kept := st.Messages[:0]
	for _, e := range st.Messages {
		uid := imap.UID(e.UID)
		letters, onServer := server[uid]
		path, local := idx[e.File]
		switch {
		case !onServer:
			if local {
				if err := md.remove(path); err != nil {
					return rep, err
				}
			}
			rep.Removed++
			continue
		case local && letters != e.Flags:
			if _, err := md.setFlags(path, e.File, letters); err != nil {
				return rep, err
			}
			e.Flags = letters
			rep.Updated++
		default:
			e.Flags = letters
			rep.Kept++
		}
		known[uid] = true
		kept = append(kept, e)
	}
	st.Messages = kept
	if err := st.save(dir); err != nil {
		return rep, err
	}

	var fresh []imap.UID
	for uid := range server {
		if !known[uid] {
			fresh = append(fresh, uid)
		}
	}
	sort.Slice(fresh, func(i, j int) bool { return fresh[i] < fresh[j] })
	for len(fresh) > 0 {
		batch := fresh[:min(syncBatch, len(fresh))]
		fresh = fresh[len(batch):]
		entries, err := s.fetchInto(md, batch)
		st.Messages = append(st.Messages, entries...)
		rep.Fetched += len(entries)
		if serr := st.save(dir); err == nil {
			err = serr
		}
		if err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// fetchInto streams the bodies of uids into the Maildir: each literal goes
// from the socket through tmp/ to its place without being held in memory.
func (s *imapSession) fetchInto(md *maildir, uids []imap.UID) ([]syncEntry, error) {
	section := &imap.FetchItemBodySection{Peek: true}
	cmd := s.c.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{UID: true, Flags: true, BodySection: []*imap.FetchItemBodySection{section}})
	var out []syncEntry
	for {
		msg := cmd.Next()
		if msg == nil {
			break
		}
		e, err := s.writeFetched(md, msg)
		if err != nil {
			cmd.Close()
			return out, err
		}
		if e.File != "" {
			out = append(out, e)
		}
	}
	if err := cmd.Close(); err != nil {
		return out, fmt.Errorf("fetch: %w", err)
	}
	// The renames into cur/ after delivery must be durable too.
	return out, md.syncDirs()
}

// writeFetched writes one FETCH response. The body may come before UID and
// FLAGS (their order is the server's), so the file is written first and
// renamed to its flags afterwards.
func (s *imapSession) writeFetched(md *maildir, msg *imapclient.FetchMessageData) (syncEntry, error) {
	var e syncEntry
	var flags []string
	gotFlags := false
	for {
		item := msg.Next()
		if item == nil {
			break
		}
		switch it := item.(type) {
		case imapclient.FetchItemDataUID:
			e.UID = uint32(it.UID)
		case imapclient.FetchItemDataFlags:
			flags, gotFlags = flagStrings(it.Flags), true
		case imapclient.FetchItemDataBodySection:
			if it.Literal == nil {
				continue
			}
			base, err := md.deliver(it.Literal, "")
			if err != nil {
				return e, err
			}
			e.File = base
		default:
			// Drain unrequested items (a server may add FLAGS or MODSEQ).
			if it, ok := item.(io.Reader); ok {
				io.Copy(io.Discard, it)
			}
		}
	}
	if e.File == "" || e.UID == 0 {
		if e.File != "" {
			md.remove(md.path(e.File, ""))
		}
		return syncEntry{}, nil
	}
	if gotFlags {
		e.Flags = FlagLetters(flags)
		if _, err := md.setFlags(md.path(e.File, ""), e.File, e.Flags); err != nil {
			return e, err
		}
	}
	return e, nil
}

func flagStrings(fl []imap.Flag) []string {
	out := make([]string, len(fl))
	for i, f := range fl {
		out[i] = string(f)
	}
	return out
}
