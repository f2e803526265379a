package mailclient

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/letterbox/letterbox/internal/store"
)

var ctx = context.Background()

// protocols runs f once per protocol over plain loopback connections.
func protocols(t *testing.T, f func(t *testing.T, s *servers, p Protocol)) {
	for _, p := range []Protocol{IMAP, POP3} {
		t.Run(p.String(), func(t *testing.T) { f(t, startServers(t), p) })
	}
}

func ids(sums []Summary) []string {
	out := []string{}
	for _, s := range sums {
		out = append(out, s.ID)
	}
	return out
}

func subjects(sums []Summary) []string {
	out := []string{}
	for _, s := range sums {
		out = append(out, s.Subject)
	}
	return out
}

func TestConnectModes(t *testing.T) {
	s := startServers(t)
	s.deliver("INBOX", testMessage("bob@example.com", "hello", "hi"))
	for _, p := range []Protocol{IMAP, POP3} {
		for _, sec := range []Security{Plaintext, StartTLS, ImplicitTLS} {
			t.Run(p.String()+"/"+sec.String(), func(t *testing.T) {
				c := s.dial(p, sec)
				got, err := c.List(ctx, "", 0)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != 1 || got[0].Subject != "hello" || got[0].From != "bob@example.com" {
					t.Fatalf("list = %+v", got)
				}
				if err := c.Close(); err != nil {
					t.Fatalf("close: %v", err)
				}
			})
		}
	}
}

func TestConnectFailures(t *testing.T) {
	s := startServers(t)
	untrusted := func(c *Config) { c.TLS = nil }
	tests := []struct {
		name   string
		p      Protocol
		sec    Security
		change func(*Config)
		want   string
	}{
		{"imap bad password", IMAP, Plaintext, func(c *Config) { c.Password = "wrong" }, "login as alice@example.com"},
		{"pop3 bad password", POP3, Plaintext, func(c *Config) { c.Password = "wrong" }, "login as alice@example.com"},
		{"imaps untrusted cert", IMAP, ImplicitTLS, untrusted, "certificate"},
		{"imap starttls untrusted cert", IMAP, StartTLS, untrusted, "certificate"},
		{"pop3s untrusted cert", POP3, ImplicitTLS, untrusted, "certificate"},
		{"pop3 stls untrusted cert", POP3, StartTLS, untrusted, "certificate"},
		{"no password", IMAP, Plaintext, func(c *Config) { c.Password = "" }, "no password"},
		{"imaps on the plain port", IMAP, ImplicitTLS, func(c *Config) { c.Addr = s.imap; c.Timeout = 2e9 }, "TLS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := s.config(tt.p, tt.sec)
			tt.change(&cfg)
			c, err := Dial(ctx, cfg)
			if err == nil {
				c.Close()
				t.Fatal("dial succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not mention %q", err, tt.want)
			}
		})
	}
	t.Run("insecure skips verification", func(t *testing.T) {
		cfg := s.config(IMAP, ImplicitTLS)
		cfg.TLS, _ = NewTLSConfig("127.0.0.1", TLSOptions{Insecure: true})
		c, err := Dial(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
	})
	t.Run("server name from --servername", func(t *testing.T) {
		cfg := s.config(POP3, ImplicitTLS)
		cfg.TLS, _ = NewTLSConfig("127.0.0.1", TLSOptions{CAFile: s.caFile, ServerName: "mail.test"})
		c, err := Dial(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
		cfg.TLS, _ = NewTLSConfig("127.0.0.1", TLSOptions{CAFile: s.caFile, ServerName: "other.test"})
		if c, err := Dial(ctx, cfg); err == nil {
			c.Close()
			t.Fatal("a certificate for mail.test was accepted for other.test")
		}
	})
}

func TestListReadSearch(t *testing.T) {
	protocols(t, func(t *testing.T, s *servers, p Protocol) {
		s.deliver("INBOX", testMessage("Bob <bob@example.com>", "Meeting tomorrow", "see you"))
		s.deliver("INBOX", testMessage("carol@example.org", "=?UTF-8?Q?Caf=C3=A9_meeting?=", "coffee"), `\Seen`)
		s.deliver("INBOX", testMessage("bob@example.com", "lunch", "food"))
		c := s.dial(p, Plaintext)

		all, err := c.List(ctx, "INBOX", 0)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := subjects(all), []string{"Meeting tomorrow", "Café meeting", "lunch"}; !reflect.DeepEqual(got, want) {
			t.Fatalf("subjects %q, want %q", got, want)
		}
		if all[0].From != "Bob <bob@example.com>" || all[0].Date.Year() != 2006 || all[0].Size == 0 {
			t.Fatalf("first summary %+v", all[0])
		}
		if p == POP3 && (all[0].UIDL == "" || all[0].Flags != nil) {
			t.Fatalf("POP3 summary %+v: want a UIDL and no flags", all[0])
		}
		if p == IMAP && !reflect.DeepEqual(all[1].Flags, []string{`\Seen`}) {
			t.Fatalf("IMAP flags of message 2: %q", all[1].Flags)
		}

		last, err := c.List(ctx, "", 2)
		if err != nil {
			t.Fatal(err)
		}
		if got := subjects(last); !reflect.DeepEqual(got, []string{"Café meeting", "lunch"}) {
			t.Fatalf("--limit 2 gave %q", got)
		}

		raw, err := c.Fetch(ctx, "", all[2].ID, false)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(raw), "Subject: lunch\r\n") || !strings.HasSuffix(string(raw), "food\r\n") {
			t.Fatalf("fetched %q", raw)
		}
		if _, err := c.Fetch(ctx, "", "999", false); err == nil || !strings.Contains(err.Error(), "999") {
			t.Fatalf("fetch of a missing message: %v", err)
		}
		if _, err := c.Fetch(ctx, "", "x", false); err == nil || !strings.Contains(err.Error(), "bad message id") {
			t.Fatalf("fetch of a bad id: %v", err)
		}

		for _, tt := range []struct {
			q    Query
			want []string
		}{
			{Query{Subject: "MEETING"}, []string{"Meeting tomorrow", "Café meeting"}},
			{Query{Subject: "café"}, []string{"Café meeting"}},
			{Query{Subject: "meeting", From: "bob"}, []string{"Meeting tomorrow"}},
			{Query{From: "example.com"}, []string{"Meeting tomorrow", "lunch"}},
			{Query{Subject: "nothing like it"}, []string{}},
		} {
			got, err := c.Search(ctx, "", tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(subjects(got), tt.want) {
				t.Errorf("search %+v = %q, want %q", tt.q, subjects(got), tt.want)
			}
		}
	})
}

func TestSearchUnseen(t *testing.T) {
	s := startServers(t)
	s.deliver("INBOX", testMessage("bob@example.com", "report one", "a"))
	s.deliver("INBOX", testMessage("bob@example.com", "report two", "b"), `\Seen`)
	t.Run("imap", func(t *testing.T) {
		got, err := s.dial(IMAP, Plaintext).Search(ctx, "", Query{Subject: "report", Unseen: true})
		if err != nil || !reflect.DeepEqual(subjects(got), []string{"report one"}) {
			t.Fatalf("search = %q, %v", subjects(got), err)
		}
	})
	t.Run("pop3", func(t *testing.T) {
		c := s.dial(POP3, Plaintext)
		if _, err := c.Search(ctx, "", Query{Unseen: true}); err == nil || !strings.Contains(err.Error(), "state file") {
			t.Fatalf("search --unseen without state: %v", err)
		}
		state := filepath.Join(t.TempDir(), "state")
		got, err := c.Search(ctx, "", Query{Subject: "report", Unseen: true, StateFile: state})
		if err != nil || len(got) != 2 {
			t.Fatalf("before download: %q, %v", subjects(got), err)
		}
		n, err := c.FetchUnread(ctx, "", UnreadOptions{StateFile: state}, func(Message) error { return nil })
		if err != nil || n != 2 {
			t.Fatalf("unread: %d, %v", n, err)
		}
		got, err = c.Search(ctx, "", Query{Subject: "report", Unseen: true, StateFile: state})
		if err != nil || len(got) != 0 {
			t.Fatalf("after download: %q, %v", subjects(got), err)
		}
	})
}

func TestFetchUnread(t *testing.T) {
	protocols(t, func(t *testing.T, s *servers, p Protocol) {
		s.deliver("INBOX", testMessage("bob@example.com", "first", "1"))
		s.deliver("INBOX", testMessage("bob@example.com", "read already", "2"), `\Seen`)
		state := filepath.Join(t.TempDir(), "uidl-state")
		if p == IMAP {
			state = "" // IMAP keeps \Seen on the server
		}
		collect := func(c Client, o UnreadOptions) []string {
			t.Helper()
			var got []string
			o.StateFile = state
			n, err := c.FetchUnread(ctx, "", o, func(m Message) error {
				if !strings.Contains(string(m.Raw), "Subject: "+m.Subject+"\r\n") {
					t.Errorf("raw message of %q: %q", m.Subject, m.Raw)
				}
				got = append(got, m.Subject)
				return nil
			})
			if err != nil || n != len(got) {
				t.Fatalf("FetchUnread: %d, %v", n, err)
			}
			return got
		}
		c := s.dial(p, Plaintext)
		want := []string{"first"}
		if p == POP3 {
			want = []string{"first", "read already"} // POP3 knows no \Seen: all is new
		}
		if p == IMAP {
			if got := collect(c, UnreadOptions{KeepUnseen: true}); !reflect.DeepEqual(got, want) {
				t.Fatalf("peek: %q, want %q", got, want)
			}
		}
		if got := collect(c, UnreadOptions{}); !reflect.DeepEqual(got, want) {
			t.Fatalf("first run: %q, want %q", got, want)
		}
		if got := collect(c, UnreadOptions{}); len(got) != 0 {
			t.Fatalf("second run fetched %q again", got)
		}
		s.deliver("INBOX", testMessage("bob@example.com", "second", "3"))
		c.Close()                  // POP3 locks the maildrop per session
		c2 := s.dial(p, Plaintext) // POP3 sees new mail only in a new session
		if got := collect(c2, UnreadOptions{}); !reflect.DeepEqual(got, []string{"second"}) {
			t.Fatalf("after a new delivery: %q", got)
		}
		if p == IMAP {
			for _, m := range s.messages("INBOX") {
				if !reflect.DeepEqual(m.Flags, []string{`\Seen`}) {
					t.Fatalf("UID %d flags %q after download", m.UID, m.Flags)
				}
			}
		}
		// A delivery that fails leaves the message unread.
		s.deliver("INBOX", testMessage("bob@example.com", "third", "4"))
		c2.Close()
		c3 := s.dial(p, Plaintext)
		boom := errors.New("disk full")
		if _, err := c3.FetchUnread(ctx, "", UnreadOptions{StateFile: state}, func(Message) error { return boom }); !errors.Is(err, boom) {
			t.Fatalf("failing deliver: %v", err)
		}
		if got := collect(c3, UnreadOptions{}); !reflect.DeepEqual(got, []string{"third"}) {
			t.Fatalf("after a failed delivery: %q", got)
		}
	})
}

func TestPOP3UnreadNeedsState(t *testing.T) {
	s := startServers(t)
	c := s.dial(POP3, Plaintext)
	if _, err := c.FetchUnread(ctx, "", UnreadOptions{}, func(Message) error { return nil }); err == nil {
		t.Fatal("FetchUnread without a state file succeeded over POP3")
	}
	state := filepath.Join(t.TempDir(), "state")
	os.WriteFile(state, []byte(uidlStateMagic+"someone@else:110\n"), 0o600)
	if _, err := c.FetchUnread(ctx, "", UnreadOptions{StateFile: state}, func(Message) error { return nil }); err == nil || !strings.Contains(err.Error(), "belongs to") {
		t.Fatalf("another account's state file: %v", err)
	}
}

func TestDelete(t *testing.T) {
	protocols(t, func(t *testing.T, s *servers, p Protocol) {
		for _, subj := range []string{"one", "two", "three"} {
			s.deliver("INBOX", testMessage("bob@example.com", subj, subj))
		}
		c := s.dial(p, Plaintext)
		all, err := c.List(ctx, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Delete(ctx, "", []string{all[0].ID, "77"}); err == nil {
			t.Fatal("delete with a missing id succeeded")
		}
		del := []string{all[0].ID, all[2].ID}
		if p == POP3 {
			del[1] = "uidl:" + all[2].UIDL
		}
		if err := c.Delete(ctx, "", del); err != nil {
			t.Fatal(err)
		}
		if err := c.Close(); err != nil { // POP3: QUIT commits
			t.Fatal(err)
		}
		left := s.messages("INBOX")
		if len(left) != 1 {
			t.Fatalf("%d messages left, want 1", len(left))
		}
		got, err := s.dial(p, Plaintext).List(ctx, "", 0)
		if err != nil || !reflect.DeepEqual(subjects(got), []string{"two"}) {
			t.Fatalf("after delete: %q, %v", subjects(got), err)
		}
	})
}

func TestIMAPMoveFlagMailboxes(t *testing.T) {
	s := startServers(t)
	u1 := s.deliver("INBOX", testMessage("bob@example.com", "keep", "1"))
	u2 := s.deliver("INBOX", testMessage("bob@example.com", "archive me", "2"))
	s.deliver("INBOX", testMessage("bob@example.com", "and me", "3"), `\Seen`)
	c := s.dial(IMAP, Plaintext)

	if err := c.Flag(ctx, "", []string{itoa(u1)}, []string{`\Seen`, `\Flagged`}); err != nil {
		t.Fatal(err)
	}
	if got := s.messages("INBOX")[0].Flags; !reflect.DeepEqual(got, []string{`\Flagged`, `\Seen`}) {
		t.Fatalf("flags after Flag: %q", got)
	}
	if err := c.Unflag(ctx, "", []string{itoa(u1)}, []string{`\Seen`}); err != nil {
		t.Fatal(err)
	}
	if got := s.messages("INBOX")[0].Flags; !reflect.DeepEqual(got, []string{`\Flagged`}) {
		t.Fatalf("flags after Unflag: %q", got)
	}
	if err := c.Flag(ctx, "", []string{"4242"}, []string{`\Seen`}); err == nil || !strings.Contains(err.Error(), "4242") {
		t.Fatalf("flag of a missing UID: %v", err)
	}

	if err := c.Move(ctx, "", []string{itoa(u2), itoa(u2 + 1)}, "Archive"); err != nil {
		t.Fatal(err)
	}
	if n := len(s.messages("INBOX")); n != 1 {
		t.Fatalf("INBOX has %d messages after move, want 1", n)
	}
	got, err := c.List(ctx, "Archive", 0)
	if err != nil || !reflect.DeepEqual(subjects(got), []string{"archive me", "and me"}) {
		t.Fatalf("Archive: %q, %v", subjects(got), err)
	}
	if err := c.Move(ctx, "", []string{itoa(u1)}, "No Such Box"); err == nil {
		t.Fatal("move to a missing mailbox succeeded")
	}

	boxes, err := c.Mailboxes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string][2]int{}
	for _, b := range boxes {
		counts[b.Name] = [2]int{b.Messages, b.Unseen}
	}
	if boxes[0].Name != "INBOX" || counts["INBOX"] != [2]int{1, 1} || counts["Archive"] != [2]int{2, 1} {
		t.Fatalf("mailboxes %+v", boxes)
	}
	if _, err := c.List(ctx, "No Such Box", 0); err == nil {
		t.Fatal("list of a missing mailbox succeeded")
	}
}

func TestPOP3Unsupported(t *testing.T) {
	s := startServers(t)
	s.deliver("INBOX", testMessage("bob@example.com", "x", "x"))
	c := s.dial(POP3, Plaintext)
	for name, err := range map[string]error{
		"move":      c.Move(ctx, "", []string{"1"}, "Archive"),
		"flag":      c.Flag(ctx, "", []string{"1"}, []string{`\Seen`}),
		"unflag":    c.Unflag(ctx, "", []string{"1"}, []string{`\Seen`}),
		"mailboxes": func() error { _, err := c.Mailboxes(ctx); return err }(),
		"list Sent": func() error { _, err := c.List(ctx, "Sent", 0); return err }(),
	} {
		if !errors.Is(err, ErrUnsupported) {
			t.Errorf("%s over POP3: %v, want ErrUnsupported", name, err)
		}
	}
	// The session is still usable after the refusals.
	if got, err := c.List(ctx, "inbox", 0); err != nil || len(got) != 1 {
		t.Fatalf("list after refusals: %v, %v", got, err)
	}
}

func itoa(u store.UID) string { return strconv.FormatUint(uint64(u), 10) }
