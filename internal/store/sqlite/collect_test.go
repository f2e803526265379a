package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/store"
)

// Tests of expunged content, its collection and the blob lock that only
// the SQLite driver can see (files, two Stores on one directory, schema
// migration). The behaviour every driver shares is in storetest.

// schemaV1 is the layout before expunged content and subscriptions had
// tables of their own (schema 1), for the migration test.
const schemaV1 = `
CREATE TABLE IF NOT EXISTS meta (
	key   TEXT PRIMARY KEY,
	value INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS accounts (
	id            INTEGER PRIMARY KEY,
	name          TEXT NOT NULL UNIQUE,
	password_hash TEXT NOT NULL,
	created       INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS mailboxes (
	id            INTEGER PRIMARY KEY,
	account_id    INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	name          TEXT NOT NULL,
	special_use   TEXT NOT NULL DEFAULT '',
	subscribed    INTEGER NOT NULL DEFAULT 0,
	uidvalidity   INTEGER NOT NULL,
	uidnext       INTEGER NOT NULL DEFAULT 1,
	highestmodseq INTEGER NOT NULL DEFAULT 1,
	recent_uid    INTEGER NOT NULL DEFAULT 1,
	UNIQUE (account_id, name)
);

CREATE TABLE IF NOT EXISTS blobs (
	id        TEXT PRIMARY KEY,
	size      INTEGER NOT NULL,
	structure BLOB
);

CREATE TABLE IF NOT EXISTS messages (
	mailbox_id   INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
	uid          INTEGER NOT NULL,
	modseq       INTEGER NOT NULL,
	flags        TEXT NOT NULL DEFAULT '',
	seen         INTEGER NOT NULL DEFAULT 0,
	deleted      INTEGER NOT NULL DEFAULT 0,
	internaldate INTEGER NOT NULL,
	tzoffset     INTEGER NOT NULL DEFAULT 0,
	size         INTEGER NOT NULL,
	blob_id      TEXT NOT NULL REFERENCES blobs(id),
	PRIMARY KEY (mailbox_id, uid)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS messages_modseq ON messages (mailbox_id, modseq);
CREATE INDEX IF NOT EXISTS messages_blob ON messages (blob_id);

CREATE TABLE IF NOT EXISTS tombstones (
	mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
	uid        INTEGER NOT NULL,
	modseq     INTEGER NOT NULL,
	PRIMARY KEY (mailbox_id, uid)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tombstones_modseq ON tombstones (mailbox_id, modseq);
`

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// waitGone polls until path no longer exists.
func waitGone(t testing.TB, path, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for exists(path) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s still there", what, path)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestPinKeepsBlobFile: the file of an expunged message stays while a pin
// holds it (over many collection delays), and goes once the pin is
// released.
func TestPinKeepsBlobFile(t *testing.T) {
	s := openTest(t, Options{CollectDelay: time.Millisecond})
	ctx := context.Background()
	if _, err := s.Deliver(ctx, strings.NewReader("Subject: pinned\r\n\r\nkeep me\r\n"), alice); err != nil {
		t.Fatal(err)
	}
	session := inbox(t, s)
	pin := session.Pin()
	msgs, _ := session.Messages(ctx)
	path := s.blobPath(msgs[0].BlobID)
	if _, err := inbox(t, s).Expunge(ctx, []store.UID{1}); err != nil {
		t.Fatal(err)
	}
	hms, _ := session.HighestModSeq(ctx)
	time.Sleep(100 * time.Millisecond)
	if !exists(path) {
		t.Fatal("blob file removed while a pin holds it")
	}
	pin.Advance(hms - 1) // not past the expunge
	time.Sleep(100 * time.Millisecond)
	if !exists(path) {
		t.Fatal("blob file removed while a pin below the expunge holds it")
	}
	if d, err := session.Details(ctx, []store.UID{1}); err != nil || len(d) != 1 {
		t.Fatalf("Details of the held message = %+v, %v", d, err)
	}
	pin.Release()
	waitGone(t, path, "after the pin was released")
	var n int
	s.reader.QueryRow("SELECT (SELECT COUNT(*) FROM expunged) + (SELECT COUNT(*) FROM blobs)").Scan(&n)
	if n != 0 {
		t.Errorf("%d expunged or blobs rows left", n)
	}
}

// TestUncollectedContentGoesAtNextOpen: content a previous run could not
// collect (a pin held it at Close, or a crash) goes at the next Open that
// finds no other process on the directory — not while another is there.
func TestUncollectedContentGoesAtNextOpen(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s := openTest(t, Options{Dir: dir})
	if _, err := s.Deliver(ctx, strings.NewReader("Subject: left\r\n\r\nleft over\r\n"), alice); err != nil {
		t.Fatal(err)
	}
	mb := inbox(t, s)
	pin := mb.Pin()
	defer pin.Release()
	msgs, _ := mb.Messages(ctx)
	path := s.blobPath(msgs[0].BlobID)
	if _, err := mb.Expunge(ctx, []store.UID{1}); err != nil {
		t.Fatal(err)
	}
	// Another process opens meanwhile: it is not alone, so it must not
	// sweep what this one's pin holds.
	second, err := Open(Options{Dir: dir, CollectDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if !exists(path) {
		t.Fatal("a second process swept content pinned in the first")
	}
	second.Close()
	s.Close() // with the pin still held: the content stays uncollected
	time.Sleep(20 * time.Millisecond)
	if !exists(path) {
		t.Fatal("pinned content collected")
	}
	third, err := Open(Options{Dir: dir, CollectDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	waitGone(t, path, "after reopening alone")
}

// TestHighestModSeqFromAnotherStore: a Store that never saw a mailbox
// reads its HIGHESTMODSEQ from the database; its own writes then keep it
// exact from memory.
func TestHighestModSeqFromAnotherStore(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	a := openTest(t, Options{Dir: dir})
	for i := 0; i < 3; i++ {
		if _, err := a.Deliver(ctx, strings.NewReader("Subject: x\r\n\r\n"+strings.Repeat("y", i)), alice); err != nil {
			t.Fatal(err)
		}
	}
	b, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	mbB := inbox(t, b)
	if got, err := mbB.HighestModSeq(ctx); err != nil || got != 4 {
		t.Fatalf("HighestModSeq in a fresh Store = %d, %v; want 4", got, err)
	}
	if _, err := mbB.StoreFlags(ctx, []store.UID{1, 2}, store.FlagsAdd, []string{store.FlagSeen}, 0); err != nil {
		t.Fatal(err)
	}
	if got, _ := mbB.HighestModSeq(ctx); got != 6 {
		t.Errorf("HighestModSeq after own write = %d, want 6", got)
	}
}

// TestTwoStoresShareBlobs: two Stores on one directory — the server and
// the CLI's "user del" — place and remove the same content concurrently.
// Removal of a file is held open wide (removeHook) so that, without the
// cross-process blob lock, a delivery in the other Store would reuse a
// file about to be removed. Every message must stay readable.
func TestTwoStoresShareBlobs(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	server := openTest(t, Options{Dir: dir, CollectDelay: time.Millisecond})
	cli, err := Open(Options{Dir: dir, CollectDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	slow := func() { time.Sleep(3 * time.Millisecond) }
	server.removeHook, cli.removeHook = slow, slow
	bodies := []string{"Subject: shared 1\r\n\r\nsame bytes\r\n", "Subject: shared 2\r\n\r\nsame bytes too\r\n"}
	const rounds = 30
	var wg sync.WaitGroup
	errc := make(chan error, 4*rounds)
	read := func(s *Store, mb store.Mailbox, uid store.UID, want string) {
		d, err := mb.Details(ctx, []store.UID{uid})
		if err != nil || len(d) != 1 {
			errc <- errors.New("Details lost the message")
			return
		}
		b, err := s.OpenBlob(ctx, d[0].BlobID)
		if err != nil {
			errc <- err
			return
		}
		data, err := io.ReadAll(b)
		b.Close()
		if err != nil || string(data) != want {
			errc <- errors.New("short or wrong body: " + string(data))
		}
	}
	// The CLI adds an account, delivers the content to it, deletes it.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < rounds; i++ {
			if _, err := cli.CreateAccount(ctx, "bob@example.com", "x"); err != nil {
				errc <- err
				return
			}
			res, err := cli.Deliver(ctx, strings.NewReader(bodies[i%2]), []store.Target{{Account: "bob@example.com"}})
			if err != nil || res[0].Err != nil {
				errc <- errors.Join(err, res[0].Err)
				return
			}
			if err := cli.DeleteAccount(ctx, "bob@example.com"); err != nil {
				errc <- err
				return
			}
		}
	}()
	// The server delivers the same content and expunges it again.
	wg.Add(1)
	go func() {
		defer wg.Done()
		mb := inbox(t, server)
		for i := 0; i < 2*rounds; i++ {
			body := bodies[i%2]
			res, err := server.Deliver(ctx, strings.NewReader(body), alice)
			if err != nil || res[0].Err != nil {
				errc <- errors.Join(err, res[0].Err)
				return
			}
			read(server, mb, res[0].UID, body)
			time.Sleep(time.Millisecond)
			read(server, mb, res[0].UID, body)
			if i%3 != 0 {
				if _, err := mb.Expunge(ctx, []store.UID{res[0].UID}); err != nil {
					errc <- err
					return
				}
			}
		}
	}()
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	time.Sleep(50 * time.Millisecond)
	msgs, _ := inbox(t, server).Messages(ctx)
	if len(msgs) != 2*rounds/3 {
		t.Errorf("%d messages kept, want %d", len(msgs), 2*rounds/3)
	}
	for _, m := range msgs {
		b, err := server.OpenBlob(ctx, m.BlobID)
		if err != nil {
			t.Errorf("UID %d: %v", m.UID, err)
			continue
		}
		data, err := io.ReadAll(b)
		b.Close()
		if err != nil || (string(data) != bodies[0] && string(data) != bodies[1]) {
			t.Errorf("UID %d reads %q, %v", m.UID, data, err)
		}
	}
}

// TestMigrateFromSchema1: a database made before subscriptions and
// expunged content had tables opens with its subscriptions intact, and
// the new behaviour works on it.
func TestMigrateFromSchema1(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	os.MkdirAll(filepath.Join(dir, "blobs"), 0o700)
	u := (&url.URL{Scheme: "file", Path: filepath.Join(dir, "letterbox.db")}).String()
	old, err := sql.Open(driverName, dsn(u, false, pragma{"journal_mode", "WAL"}))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		schemaV1,
		"INSERT INTO accounts (id, name, password_hash, created) VALUES (1, 'alice@example.com', 'x', 0)",
		`INSERT INTO mailboxes (id, account_id, name, subscribed, uidvalidity) VALUES
			(1, 1, 'INBOX', 1, 1), (2, 1, 'Lists', 1, 2), (3, 1, 'Quiet', 0, 3)`,
	} {
		if _, err := old.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	old.Close()
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	mbs := s.mailboxesFor(t)
	subs, err := mbs.Subscriptions(ctx)
	if err != nil || strings.Join(subs, ",") != "INBOX,Lists" {
		t.Fatalf("Subscriptions after migration = %q, %v", subs, err)
	}
	if mi, _ := mbs.Get(ctx, "Quiet"); mi.Subscribed {
		t.Error("Quiet subscribed after migration")
	}
	// A new mailbox never takes the ID of a deleted one.
	if err := mbs.Delete(ctx, "Quiet"); err != nil {
		t.Fatal(err)
	}
	mi, err := mbs.Create(ctx, "New", "")
	if err != nil || mi.ID <= 3 {
		t.Errorf("Create after deleting the highest ID = %+v, %v", mi, err)
	}
	// Opening again does not migrate twice.
	if err := mbs.SetSubscribed(ctx, "Lists", false); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if subs, _ := s.mailboxesFor(t).Subscriptions(ctx); strings.Join(subs, ",") != "INBOX" {
		t.Errorf("Subscriptions after reopening = %q", subs)
	}
}

// TestDeadProcessTempFilesRemovedAtOpen: a temp blob of a process that died
// (its spool owner file no longer locked) goes at the next Open; the temp
// blob of a Store still open stays.
func TestDeadProcessTempFilesRemovedAtOpen(t *testing.T) {
	dir := t.TempDir()
	live := openTest(t, Options{Dir: dir})
	tmp := filepath.Join(dir, "blobs", "tmp")
	liveFile := filepath.Join(tmp, strings.Replace(live.spool.Pattern, "*", "42", 1))
	deadOwner := filepath.Join(tmp, "owner-0123456789ab")
	deadFile := filepath.Join(tmp, "in-0123456789ab-7")
	for _, p := range []string{liveFile, deadOwner, deadFile} {
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if exists(deadFile) || exists(deadOwner) {
		t.Error("dead process's temp file or owner file kept")
	}
	if !exists(liveFile) {
		t.Error("live Store's temp file removed")
	}
}

// TestBlobRemovalExcludesOtherStoreDelivery: the CLI (a second Store on
// the directory) deletes the last account holding some content and is
// about to remove its file exactly when the server delivers the same bytes.
// The server's delivery must wait for the removal (blob lock) and then
// store its own file, instead of reusing the file about to go.
func TestBlobRemovalExcludesOtherStoreDelivery(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	server := openTest(t, Options{Dir: dir})
	cli, err := Open(Options{Dir: dir, CollectDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	body := "Subject: last copy\r\n\r\nabout to be removed\r\n"
	var uid store.UID
	result := make(chan error, 1)    // the server's delivery
	delivered := make(chan error, 1) // handed on to the test once the removal is done
	cli.removeHook = func() {
		// The blobs row is gone, the file not yet: the server delivers
		// the same bytes now. With the lock it cannot finish until this
		// removal is done, so stop waiting after a while.
		go func() {
			res, err := server.Deliver(ctx, strings.NewReader(body), alice)
			if err == nil {
				err = res[0].Err
				uid = res[0].UID
			}
			result <- err
		}()
		select {
		case err := <-result:
			delivered <- err
		case <-time.After(200 * time.Millisecond):
			go func() { delivered <- <-result }()
		}
	}
	if _, err := cli.CreateAccount(ctx, "bob@example.com", "x"); err != nil {
		t.Fatal(err)
	}
	if res, err := cli.Deliver(ctx, strings.NewReader(body), []store.Target{{Account: "bob@example.com"}}); err != nil || res[0].Err != nil {
		t.Fatal(err, res)
	}
	if err := cli.DeleteAccount(ctx, "bob@example.com"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-delivered:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the removal never ran")
	}
	d, err := inbox(t, server).Details(ctx, []store.UID{uid})
	if err != nil || len(d) != 1 {
		t.Fatalf("Details = %+v, %v", d, err)
	}
	b, err := server.OpenBlob(ctx, d[0].BlobID)
	if err != nil {
		t.Fatalf("the server's new message lost its body: %v", err)
	}
	data, _ := io.ReadAll(b)
	b.Close()
	if string(data) != body {
		t.Fatalf("body %q", data)
	}
}
