package mailclient

import (
	"crypto/tls"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/letterbox/letterbox/internal/testutil/dovecottest"
)

// The same client against Dovecot: a throwaway Dovecot 2.3 (package
// dovecottest) with TLS from a test certificate (imaps, pop3s, STARTTLS
// and STLS).

// dovecotServer is a running Dovecot with one user.
type dovecotServer struct {
	t         *testing.T
	srv       *dovecottest.Server
	clientTLS *tls.Config
}

func startDovecot(t *testing.T) *dovecotServer {
	t.Helper()
	cert, _, clientTLS := testCert(t)
	srv := dovecottest.StartT(t, dovecottest.Options{
		Users:      map[string]string{testUser: testPass},
		TLS:        &dovecottest.KeyPair{CertPEM: cert.CertPEM, KeyPEM: cert.KeyPEM},
		TempPrefix: "mailclient-dovecot-",
	})
	return &dovecotServer{t: t, srv: srv, clientTLS: clientTLS}
}

func (d *dovecotServer) config(p Protocol, sec Security) Config {
	c := Config{Protocol: p, Security: sec, User: testUser, Password: testPass, TLS: d.clientTLS}
	switch {
	case p == IMAP && sec == ImplicitTLS:
		c.Addr = d.srv.IMAPS
	case p == IMAP:
		c.Addr = d.srv.IMAP
	case sec == ImplicitTLS:
		c.Addr = d.srv.POP3S
	default:
		c.Addr = d.srv.POP3
	}
	return c
}

func (d *dovecotServer) dial(p Protocol, sec Security) Client {
	d.t.Helper()
	c, err := Dial(ctx, d.config(p, sec))
	if err != nil {
		d.t.Fatalf("dial dovecot %v %v: %v", p, sec, err)
	}
	d.t.Cleanup(func() { c.Close() })
	return c
}

// admin is an independent IMAP session (go-imap's client directly) that
// seeds and changes Dovecot's mailboxes behind the client's back.
func (d *dovecotServer) admin() *imapclient.Client {
	d.t.Helper()
	c, err := imapclient.DialInsecure(d.srv.IMAP, nil)
	if err != nil {
		d.t.Fatal(err)
	}
	if err := c.Login(testUser, testPass).Wait(); err != nil {
		d.t.Fatal(err)
	}
	d.t.Cleanup(func() { c.Close() })
	return c
}

func appendMsg(t *testing.T, c *imapclient.Client, mailbox, msg string, flags ...imap.Flag) {
	t.Helper()
	cmd := c.Append(mailbox, int64(len(msg)), &imap.AppendOptions{Flags: flags})
	if _, err := cmd.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
}

func TestDovecot(t *testing.T) {
	d := startDovecot(t)
	admin := d.admin()
	appendMsg(t, admin, "INBOX", testMessage("Bob <bob@example.com>", "Meeting tomorrow", "see you"))
	appendMsg(t, admin, "INBOX", testMessage("carol@example.org", "=?UTF-8?Q?Caf=C3=A9_meeting?=", "coffee"), imap.FlagSeen)
	appendMsg(t, admin, "INBOX", testMessage("bob@example.com", "lunch", "food"))
	if err := admin.Create("Archive", nil).Wait(); err != nil {
		t.Fatal(err)
	}

	t.Run("connect", func(t *testing.T) {
		for _, p := range []Protocol{IMAP, POP3} {
			for _, sec := range []Security{Plaintext, StartTLS, ImplicitTLS} {
				c := d.dial(p, sec)
				got, err := c.List(ctx, "", 0)
				if err != nil || len(got) != 3 {
					t.Fatalf("%v %v: list %+v, %v", p, sec, got, err)
				}
				if err := c.Close(); err != nil {
					t.Fatalf("%v %v: close: %v", p, sec, err)
				}
			}
		}
		cfg := d.config(IMAP, ImplicitTLS)
		cfg.TLS = nil
		if c, err := Dial(ctx, cfg); err == nil || !strings.Contains(err.Error(), "certificate") {
			if c != nil {
				c.Close()
			}
			t.Fatalf("untrusted certificate accepted: %v", err)
		}
	})

	for _, p := range []Protocol{IMAP, POP3} {
		t.Run(p.String()+"/list-read-search", func(t *testing.T) {
			c := d.dial(p, StartTLS)
			all, err := c.List(ctx, "", 0)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := subjects(all), []string{"Meeting tomorrow", "Café meeting", "lunch"}; !reflect.DeepEqual(got, want) {
				t.Fatalf("subjects %q, want %q", got, want)
			}
			if all[0].From != "Bob <bob@example.com>" || all[0].Date.Year() != 2006 {
				t.Fatalf("summary %+v", all[0])
			}
			if last, err := c.List(ctx, "", 1); err != nil || !reflect.DeepEqual(subjects(last), []string{"lunch"}) {
				t.Fatalf("limit 1: %q, %v", subjects(last), err)
			}
			raw, err := c.Fetch(ctx, "", all[2].ID, false)
			if err != nil || !strings.Contains(string(raw), "Subject: lunch\r\n") {
				t.Fatalf("fetch: %q, %v", raw, err)
			}
			got, err := c.Search(ctx, "", Query{Subject: "MEETING", From: "bob"})
			if err != nil || !reflect.DeepEqual(subjects(got), []string{"Meeting tomorrow"}) {
				t.Fatalf("search: %q, %v", subjects(got), err)
			}
			got, err = c.Search(ctx, "", Query{Subject: "café"})
			if err != nil || !reflect.DeepEqual(subjects(got), []string{"Café meeting"}) {
				t.Fatalf("search café: %q, %v", subjects(got), err)
			}
			if p == POP3 {
				if err := c.Move(ctx, "", []string{"1"}, "Archive"); !errors.Is(err, ErrUnsupported) {
					t.Fatalf("POP3 move: %v", err)
				}
			}
		})
	}

	t.Run("pop3/unread-and-sync", func(t *testing.T) {
		state := filepath.Join(t.TempDir(), "state")
		c := d.dial(POP3, Plaintext)
		var got []string
		n, err := c.FetchUnread(ctx, "", UnreadOptions{StateFile: state}, func(m Message) error { got = append(got, m.Subject); return nil })
		if err != nil || n != 3 {
			t.Fatalf("unread: %d %q %v", n, got, err)
		}
		if n, err := c.FetchUnread(ctx, "", UnreadOptions{StateFile: state}, func(Message) error { return nil }); err != nil || n != 0 {
			t.Fatalf("second unread: %d, %v", n, err)
		}
		dir := t.TempDir()
		if rep := syncOnce(t, c, "", dir); rep != (SyncReport{Fetched: 3}) {
			t.Fatalf("pop3 sync %+v", rep)
		}
		if rep := syncOnce(t, c, "", dir); rep != (SyncReport{Kept: 3}) {
			t.Fatalf("second pop3 sync %+v", rep)
		}
		if got := maildirFiles(t, dir); len(got) != 3 {
			t.Fatalf("maildir %q", got)
		}
	})

	t.Run("imap/unread-flag-move-delete-mailboxes", func(t *testing.T) {
		c := d.dial(IMAP, ImplicitTLS)
		var got []string
		n, err := c.FetchUnread(ctx, "", UnreadOptions{}, func(m Message) error { got = append(got, m.Subject); return nil })
		if err != nil || n != 2 || !reflect.DeepEqual(got, []string{"Meeting tomorrow", "lunch"}) {
			t.Fatalf("unread: %d %q %v", n, got, err)
		}
		if n, _ := c.FetchUnread(ctx, "", UnreadOptions{}, func(Message) error { return nil }); n != 0 {
			t.Fatalf("second unread fetched %d", n)
		}
		all, err := c.List(ctx, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Flag(ctx, "", []string{all[0].ID}, []string{`\Flagged`}); err != nil {
			t.Fatal(err)
		}
		if err := c.Unflag(ctx, "", []string{all[0].ID}, []string{`\Seen`}); err != nil {
			t.Fatal(err)
		}
		if got, _ := c.Search(ctx, "", Query{Unseen: true}); !reflect.DeepEqual(subjects(got), []string{"Meeting tomorrow"}) {
			t.Fatalf("unseen after unflag: %q", subjects(got))
		}
		if err := c.Flag(ctx, "", []string{"999"}, []string{`\Seen`}); err == nil {
			t.Fatal("flag of a missing UID succeeded")
		}
		if err := c.Move(ctx, "", []string{all[1].ID}, "Archive"); err != nil {
			t.Fatal(err)
		}
		boxes, err := c.Mailboxes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		counts := map[string]int{}
		for _, b := range boxes {
			counts[b.Name] = b.Messages
		}
		if boxes[0].Name != "INBOX" || counts["INBOX"] != 2 || counts["Archive"] != 1 {
			t.Fatalf("mailboxes %+v", boxes)
		}
		if err := c.Delete(ctx, "", []string{all[2].ID}); err != nil {
			t.Fatal(err)
		}
		if left, _ := c.List(ctx, "", 0); !reflect.DeepEqual(subjects(left), []string{"Meeting tomorrow"}) {
			t.Fatalf("after move and delete: %q", subjects(left))
		}
	})

	t.Run("imap/sync", func(t *testing.T) {
		c := d.dial(IMAP, StartTLS)
		dir := t.TempDir()
		appendMsg(t, admin, "Archive", testMessage("bob@example.com", "answered one", "x"), imap.FlagAnswered, imap.FlagSeen)
		// Archive: "Café meeting" (\Seen) and "answered one" (\Answered \Seen).
		if rep := syncOnce(t, c, "Archive", dir); rep != (SyncReport{Fetched: 2}) {
			t.Fatalf("first sync %+v", rep)
		}
		want := []string{"cur/=?UTF-8?Q?Caf=C3=A9_meeting?=:2,S", "cur/answered one:2,RS"}
		if got := maildirFiles(t, dir); !reflect.DeepEqual(got, want) {
			t.Fatalf("maildir %q, want %q", got, want)
		}
		if rep := syncOnce(t, c, "Archive", dir); rep != (SyncReport{Kept: 2}) {
			t.Fatalf("second sync %+v", rep)
		}
		appendMsg(t, admin, "Archive", testMessage("bob@example.com", "brand new", "y"))
		if _, err := admin.Select("Archive", nil).Wait(); err != nil {
			t.Fatal(err)
		}
		if err := admin.Store(imap.SeqSetNum(1), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagFlagged}}, nil).Close(); err != nil {
			t.Fatal(err)
		}
		if rep := syncOnce(t, c, "Archive", dir); rep != (SyncReport{Fetched: 1, Updated: 1, Kept: 1}) {
			t.Fatalf("sync after a delivery and a flag change %+v", rep)
		}
		want = []string{"cur/=?UTF-8?Q?Caf=C3=A9_meeting?=:2,FS", "cur/answered one:2,RS", "new/brand new"}
		if got := maildirFiles(t, dir); !reflect.DeepEqual(got, want) {
			t.Fatalf("maildir %q, want %q", got, want)
		}
		if err := admin.Store(imap.SeqSetNum(2), &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
			t.Fatal(err)
		}
		if err := admin.Expunge().Close(); err != nil {
			t.Fatal(err)
		}
		if rep := syncOnce(t, c, "Archive", dir); rep != (SyncReport{Removed: 1, Kept: 2}) {
			t.Fatalf("sync after an expunge %+v", rep)
		}
	})

	// Last: Dovecot slows down logins from an address after a failure.
	t.Run("wrong password", func(t *testing.T) {
		for _, p := range []Protocol{IMAP, POP3} {
			cfg := d.config(p, Plaintext)
			cfg.Password = "wrong"
			if c, err := Dial(ctx, cfg); err == nil || !strings.Contains(err.Error(), "login as") {
				if c != nil {
					c.Close()
				}
				t.Fatalf("%v: wrong password: %v", p, err)
			}
		}
	})
}
