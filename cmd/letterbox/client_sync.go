package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/letterbox/letterbox/internal/mailclient"
)

// syncTree is `letterbox client sync ROOT`: over IMAP every folder, both
// ways, one Maildir per folder under ROOT (mbsync's SubFolders Verbatim
// layout); over POP3, which has one folder and no flags, INBOX one way
// into ROOT/INBOX. Progress goes to stderr, the report to stdout.
func syncTree(e *env, c mailclient.Client, mailbox, root string) error {
	fs, ok := c.(mailclient.FolderSyncer)
	if !ok {
		rep, err := c.Sync(e.ctx, mailbox, filepath.Join(root, "INBOX"))
		writeSyncReport(e.stdout, rep)
		return err
	}
	p := &syncProgress{w: e.stderr, tty: isTerminalWriter(e.stderr)}
	sum, err := fs.SyncFolders(e.ctx, root, mailclient.SyncOptions{Mailbox: mailbox, Progress: p.update})
	p.finish()
	if sum != nil {
		writeSyncSummary(e.stdout, sum)
	}
	return err
}

// writeSyncReport is the one-line report of a one-mailbox sync; the
// two-way counts follow on a second line when there are any.
func writeSyncReport(w io.Writer, rep mailclient.SyncReport) {
	if rep.Reset {
		fmt.Fprintln(w, "UIDVALIDITY changed: local copies replaced")
	}
	fmt.Fprintf(w, "fetched %d, updated %d, removed %d, unchanged %d\n", rep.Fetched, rep.Updated, rep.Removed, rep.Kept)
	if rep.FlagsUp+rep.DeletedUp+rep.Appended+rep.Moved+rep.Conflicts > 0 {
		fmt.Fprintf(w, "to the server: flags %d, deleted %d, uploaded %d; moved %d; conflicts %d\n",
			rep.FlagsUp, rep.DeletedUp, rep.Appended, rep.Moved, rep.Conflicts)
	}
}

// writeSyncSummary prints one line per folder and the octets the sync
// moved.
func writeSyncSummary(w io.Writer, sum *mailclient.SyncSummary) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FOLDER\tNEW\tFLAGS-DOWN\tDELETED-DOWN\tMOVED\tFLAGS-UP\tDELETED-UP\tUPLOADED\tCONFLICTS\tOCTETS\tNOTE")
	for _, f := range sum.Folders {
		note := f.Note
		switch {
		case f.Reset:
			note = strings.TrimPrefix(note+"; UIDVALIDITY changed, local copies matched again", "; ")
		case f.Unchanged && note == "":
			note = "unchanged"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n", clean(f.Mailbox, 40),
			f.Fetched, f.Updated, f.Removed, f.Moved, f.FlagsUp, f.DeletedUp, f.Appended, f.Conflicts,
			syncSize(f.Sent+f.Received), note)
	}
	tw.Flush()
	fmt.Fprintf(w, "sent %s, received %s (connection, TLS, login and folder list: %s + %s); %s, moves found by %s\n",
		syncSize(sum.Sent), syncSize(sum.Received), syncSize(sum.SetupSent), syncSize(sum.SetupReceived), sum.Method, sum.MoveDetection)
}

// syncSize shows a byte count: exact below 10 KB (the no-change sync's
// figures), then 12.3 KB, 4.5 MB.
func syncSize(n int64) string {
	switch {
	case n < 10000:
		return fmt.Sprintf("%d B", n)
	case n < 1000*1000:
		return fmt.Sprintf("%.1f KB", float64(n)/1e3)
	case n < 1000*1000*1000:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%.2f GB", float64(n)/1e9)
}

// syncProgress shows the downloads: on a terminal one line rewritten in
// place at most five times a second, otherwise a plain line every five
// seconds and at the end, so a log stays short.
type syncProgress struct {
	w       io.Writer
	tty     bool
	last    time.Time
	pending *mailclient.SyncProgress
	shown   bool
}

func (p *syncProgress) update(sp mailclient.SyncProgress) {
	every := 5 * time.Second
	if p.tty {
		every = 200 * time.Millisecond
	}
	p.pending = &sp
	if time.Since(p.last) < every && sp.Messages < sp.TotalMessages {
		return
	}
	p.last = time.Now()
	p.show(sp)
}

func (p *syncProgress) show(sp mailclient.SyncProgress) {
	p.pending = nil
	line := progressLine(sp)
	if p.tty {
		fmt.Fprintf(p.w, "\r\x1b[K%s", line)
		p.shown = true
		return
	}
	fmt.Fprintln(p.w, line)
}

func (p *syncProgress) finish() {
	if p.pending != nil {
		p.show(*p.pending)
	}
	if p.tty && p.shown {
		fmt.Fprintln(p.w)
	}
}

// progressLine: "sync INBOX: 120/500 messages, 3.2 MB/14.0 MB, 1.1 MB/s, ETA 11s".
func progressLine(sp mailclient.SyncProgress) string {
	secs := sp.Elapsed.Seconds()
	rate := 0.0
	if secs > 0 {
		rate = float64(sp.Bytes) / secs
	}
	eta := "-"
	if rate > 0 && sp.TotalBytes > sp.Bytes {
		eta = time.Duration(float64(sp.TotalBytes-sp.Bytes) / rate * float64(time.Second)).Round(time.Second).String()
	} else if sp.Messages >= sp.TotalMessages {
		eta = "0s"
	}
	return fmt.Sprintf("sync %s: %d/%d messages, %s/%s, %s/s, ETA %s", clean(sp.Folder, 30),
		sp.Messages, sp.TotalMessages, syncSize(sp.Bytes), syncSize(sp.TotalBytes), syncSize(int64(rate)), eta)
}
