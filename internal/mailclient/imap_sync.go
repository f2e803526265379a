package mailclient

import (
	"context"
)

// syncBatch is how many new messages one UID FETCH downloads; the state
// is saved after each batch so an interrupted sync resumes where it
// stopped.
const syncBatch = 50

// Sync mirrors one IMAP mailbox and the Maildir dir both ways: the same
// sync as SyncFolders (sync_run.go), for one folder whose Maildir is dir
// itself. A message moved into this mailbox from another one is
// downloaded (only SyncFolders sees both ends of a move), unless it was
// expunged and re-added here.
func (s *imapSession) Sync(ctx context.Context, mailbox, dir string) (SyncReport, error) {
	mailbox = orInbox(mailbox)
	unlock, err := lockTree(dir)
	if err != nil {
		return SyncReport{}, err
	}
	defer unlock()
	c, err := dialWire(ctx, s.cfg)
	if err != nil {
		return SyncReport{}, err
	}
	r := newSyncRun(ctx, c, s.cfg.User+"@"+s.cfg.Addr, SyncOptions{Mailbox: mailbox})
	var rep SyncReport
	err = func() error {
		if err := r.negotiate(); err != nil {
			return err
		}
		f, err := r.newFolderSync(mailbox, dir)
		if err != nil {
			return err
		}
		r.folders = []*folderSync{f}
		defer func() { rep = f.rep.SyncReport }()
		return r.runFolders()
	}()
	if err != nil {
		c.close()
		return rep, err
	}
	return rep, c.logout()
}
