package imapserver_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite"

	"github.com/letterbox/letterbox/internal/auth"
	"github.com/letterbox/letterbox/internal/imapserver"
	"github.com/letterbox/letterbox/internal/mime"
	"github.com/letterbox/letterbox/internal/search/searchtest"
	"github.com/letterbox/letterbox/internal/store"
	"github.com/letterbox/letterbox/internal/store/postgres"
	"github.com/letterbox/letterbox/internal/store/sqlite"
	"github.com/letterbox/letterbox/internal/testutil/pgtest"
)

// TestSearchIndexMatchesBruteForce is the randomized test of the search
// index: generated messages (quoted-printable with soft breaks inside
// words, base64, Latin-1, embedded messages, RFC 2047 headers, Unicode
// words whose case folding changes their length), half of them stored
// without signatures (as if delivered before the index existed), and
// random SEARCH keys (BODY, TEXT, header keys, combined with OR, NOT and
// flags; needles cut from the decoded text, re-cased, shorter than 3
// bytes, absent, empty). Every answer must equal both the answer with the
// index turned off and an oracle that evaluates the key with the
// brute-force matchers of internal/mime, as search.go did before the
// index. It fails if the index drops a true match (or invents one).
func TestSearchIndexMatchesBruteForce(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		dir := t.TempDir()
		st, err := sqlite.Open(sqlite.Options{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		unsign := func() {
			db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "letterbox.db")+"?_pragma=busy_timeout(10000)")
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Exec("DELETE FROM blob_textsigs"); err != nil {
				t.Fatal(err)
			}
		}
		compareIndexWithBruteForce(t, st, unsign, 240, 400)
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := pgtest.Schema(t, pgtest.DSN(t), "lbsearch")
		st, err := postgres.Open(context.Background(), postgres.Options{DSN: dsn, SpoolDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		unsign := func() {
			c, err := pgx.Connect(context.Background(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close(context.Background())
			if _, err := c.Exec(context.Background(), "DELETE FROM blob_textsigs"); err != nil {
				t.Fatal(err)
			}
		}
		compareIndexWithBruteForce(t, st, unsign, 120, 150)
	})
}

// oracleMsg is one delivered message as the oracle sees it.
type oracleMsg struct {
	raw    []byte
	root   *mime.Part
	hdr    []byte // top-level header block
	text   string // decoded header and body text, for cutting needles
	seen   bool
	flag   bool
	sigged bool // delivered while the index existed
}

func compareIndexWithBruteForce(t *testing.T, st store.Store, unsign func(), nMsgs, nQueries int) {
	ctx := context.Background()
	hash, err := auth.HashPassword(testPass, auth.TestParams)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateAccount(ctx, testUser, hash); err != nil {
		t.Fatal(err)
	}
	if testing.Short() {
		nMsgs, nQueries = nMsgs/3, nQueries/4
	}
	c := searchtest.New(uint64(time.Now().UnixNano()))
	seed := c.Rand().Uint64()
	t.Logf("seed %d", seed)
	c = searchtest.New(seed)
	r := c.Rand()
	var msgs []*oracleMsg
	for i := range nMsgs {
		if i == nMsgs/2 {
			unsign() // the first half: stored before the index existed
		}
		raw := []byte(c.Message(i, searchtest.Options{Tricky: true, MinText: 30, MaxText: 3000, AttachmentRate: 0.05, AttachmentMin: 500, AttachmentMax: 4000}))
		m := &oracleMsg{raw: raw, root: mime.ParseBytes(raw), seen: r.IntN(2) == 0, flag: r.IntN(5) == 0, sigged: i >= nMsgs/2}
		hr, _ := m.root.HeaderRange(nil)
		m.hdr = raw[hr.Start:hr.End]
		var b strings.Builder
		b.WriteString(mime.DecodeHeader(string(m.hdr)))
		mime.BodyText(bytes.NewReader(raw), m.root, func(s string) bool { b.WriteString(s); return true })
		m.text = b.String()
		var flags []string
		if m.seen {
			flags = append(flags, store.FlagSeen)
		}
		if m.flag {
			flags = append(flags, store.FlagFlagged)
		}
		res, err := st.Deliver(ctx, bytes.NewReader(raw), []store.Target{{Account: testUser, Flags: flags}})
		if err != nil || res[0].Err != nil {
			t.Fatal(err, res)
		}
		msgs = append(msgs, m)
	}

	srv := imapserver.New(imapserver.Options{
		Store:    st,
		Auth:     auth.New(st, auth.Options{Params: auth.TestParams, FailureDelay: time.Millisecond}),
		Hostname: "imap.test",
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(l)
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	cl := dialBench(t, l.Addr().String())
	cl.cmd(`LOGIN %q %q`, testUser, testPass)
	cl.cmd("SELECT INBOX")
	imapserver.ResetSearchCaches()
	defer imapserver.SetSearchIndex(true)

	needle := func() string {
		switch r.IntN(12) {
		case 0:
			return ""
		case 1:
			return c.Needles("", 1)[0] // vocabulary, Unicode or absent words, 1-2 letter prefixes
		}
		m := msgs[r.IntN(len(msgs))]
		for {
			n := c.Needles(m.text, 1)[0]
			if !strings.ContainsRune(n, 0) {
				return n
			}
		}
	}
	var hits, total int
	for q := range nQueries {
		key := randomKey(r, needle)
		want := evalOracle(t, key, msgs)
		if r.IntN(8) == 0 {
			imapserver.ResetSearchCaches()
		}
		imapserver.SetSearchIndex(true)
		got := cl.searchKey(key)
		imapserver.SetSearchIndex(false)
		brute := cl.searchKey(key)
		imapserver.SetSearchIndex(true)
		again := cl.searchKey(key)
		if !slices.Equal(got, want) || !slices.Equal(brute, want) || !slices.Equal(again, want) {
			t.Fatalf("query %d: SEARCH %s\n index:       %v\n index again: %v\n no index:    %v\n oracle:      %v",
				q, key.wire(), got, again, brute, want)
		}
		hits += len(want)
		total += len(msgs)
	}
	t.Logf("%d queries over %d messages, %d matches", nQueries, len(msgs), hits)
}

// skey is a generated search key: a leaf (name, field, needle) or OR/NOT/
// AND of children.
type skey struct {
	name   string
	field  string
	needle string
	kids   []*skey
}

func randomKey(r interface{ IntN(int) int }, needle func() string) *skey {
	leaf := func() *skey {
		switch r.IntN(10) {
		case 0, 1, 2:
			return &skey{name: "BODY", needle: needle()}
		case 3, 4, 5:
			return &skey{name: "TEXT", needle: needle()}
		case 6:
			return &skey{name: "SUBJECT", needle: needle()}
		case 7:
			return &skey{name: []string{"FROM", "TO", "CC", "BCC"}[r.IntN(4)], needle: needle()}
		case 8:
			return &skey{name: "HEADER", field: []string{"X-Mailer", "Received", "Message-ID", "Content-Type"}[r.IntN(4)], needle: needle()}
		}
		return &skey{name: []string{"SEEN", "UNSEEN", "FLAGGED"}[r.IntN(3)]}
	}
	switch r.IntN(6) {
	case 0:
		return &skey{name: "OR", kids: []*skey{leaf(), leaf()}}
	case 1:
		return &skey{name: "NOT", kids: []*skey{leaf()}}
	case 2:
		return &skey{name: "AND", kids: []*skey{leaf(), leaf()}}
	}
	return leaf()
}

// wire is the key in IMAP syntax, needles as LITERAL+ literals.
func (k *skey) wire() string {
	lit := func(s string) string { return "{" + strconv.Itoa(len(s)) + "+}\r\n" + s }
	switch k.name {
	case "OR":
		return "OR " + k.kids[0].wire() + " " + k.kids[1].wire()
	case "NOT":
		return "NOT " + k.kids[0].wire()
	case "AND":
		return "(" + k.kids[0].wire() + " " + k.kids[1].wire() + ")"
	case "SEEN", "UNSEEN", "FLAGGED":
		return k.name
	case "HEADER":
		return "HEADER " + k.field + " " + lit(k.needle)
	}
	return k.name + " " + lit(k.needle)
}

// searchKey runs UID SEARCH CHARSET UTF-8 key and returns the UIDs.
func (c *benchClient) searchKey(k *skey) []int {
	c.tag++
	tag := "x" + strconv.Itoa(c.tag)
	if _, err := fmt.Fprintf(c.nc, "%s UID SEARCH CHARSET UTF-8 %s\r\n", tag, k.wire()); err != nil {
		c.tb.Fatal(err)
	}
	var out []int
	for {
		l, err := c.br.ReadString('\n')
		if err != nil {
			c.tb.Fatal(err)
		}
		l = strings.TrimSuffix(l, "\r\n")
		if rest, ok := strings.CutPrefix(l, tag+" "); ok {
			if !strings.HasPrefix(rest, "OK") {
				c.tb.Fatalf("SEARCH %s: %s", k.wire(), l)
			}
			return out
		}
		if rest, ok := strings.CutPrefix(l, "* SEARCH"); ok {
			for _, f := range strings.Fields(rest) {
				n, _ := strconv.Atoi(f)
				out = append(out, n)
			}
		}
	}
}

// evalOracle returns the UIDs (1-based delivery order) whose message
// matches k, by the brute-force rules search.go applied before the index.
func evalOracle(t *testing.T, k *skey, msgs []*oracleMsg) []int {
	var out []int
	for i, m := range msgs {
		if oracleMatch(t, k, m) {
			out = append(out, i+1)
		}
	}
	return out
}

func oracleMatch(t *testing.T, k *skey, m *oracleMsg) bool {
	switch k.name {
	case "OR":
		return oracleMatch(t, k.kids[0], m) || oracleMatch(t, k.kids[1], m)
	case "NOT":
		return !oracleMatch(t, k.kids[0], m)
	case "AND":
		return oracleMatch(t, k.kids[0], m) && oracleMatch(t, k.kids[1], m)
	case "SEEN":
		return m.seen
	case "UNSEEN":
		return !m.seen
	case "FLAGGED":
		return m.flag
	case "BODY":
		return oracleBody(t, m, k.needle)
	case "TEXT":
		return k.needle == "" || mime.ContainsFold(mime.DecodeHeader(string(m.hdr)), k.needle) || oracleBody(t, m, k.needle)
	case "SUBJECT":
		if e := m.root.Envelope; e != nil {
			if e.Subject == "" {
				_, has := mime.Header(m.hdr, "Subject")
				return k.needle == "" && has
			}
			return mime.ContainsFold(mime.DecodeHeader(e.Subject), k.needle)
		}
		return oracleHeader(m.hdr, "Subject", k.needle)
	case "FROM", "TO", "CC", "BCC":
		e := m.root.Envelope
		list := map[string][]mime.Address{"BCC": e.Bcc, "CC": e.Cc, "FROM": e.From, "TO": e.To}[k.name]
		for _, a := range list {
			var text string
			switch {
			case a.IsGroupEnd():
				continue
			case a.IsGroupStart():
				text = mime.DecodeHeader(a.Mailbox)
			default:
				text = a.Mailbox + "@" + a.Host
				if a.Name != "" {
					text = mime.DecodeHeader(a.Name) + " <" + text + ">"
				}
			}
			if k.needle == "" || mime.ContainsFold(text, k.needle) {
				return true
			}
		}
		return false
	case "HEADER":
		return oracleHeader(m.hdr, k.field, k.needle)
	}
	t.Fatalf("oracle: key %s", k.name)
	return false
}

func oracleBody(t *testing.T, m *oracleMsg, needle string) bool {
	ok, err := mime.TextContains(bytes.NewReader(m.raw), m.root, needle)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func oracleHeader(hdr []byte, name, value string) bool {
	for _, f := range mime.HeaderFields(hdr) {
		if strings.EqualFold(f.Name, name) && (value == "" || mime.ContainsFold(mime.DecodeHeader(f.Value), value)) {
			return true
		}
	}
	return false
}
