package imapserver_test

import (
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/auth"
	"github.com/letterbox/letterbox/internal/imapserver"
	"github.com/letterbox/letterbox/internal/store"
	"github.com/letterbox/letterbox/internal/store/sqlite"
)

const (
	testUser = "alice@example.com"
	testPass = "secret password"
)

// harness runs a server on 127.0.0.1 over a temp-dir SQLite store with one
// account.
type harness struct {
	t    *testing.T
	st   *sqlite.Store
	srv  *imapserver.Server
	addr string
	tls  *tls.Config
}

func newHarness(t *testing.T, configure ...func(*imapserver.Options)) *harness {
	t.Helper()
	st, err := sqlite.Open(sqlite.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	hash, err := auth.HashPassword(testPass, auth.TestParams)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateAccount(context.Background(), testUser, hash); err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, st: st, tls: testTLSConfig(t)}
	opts := imapserver.Options{
		Store:    st,
		Auth:     auth.New(st, auth.Options{Params: auth.TestParams, FailureDelay: time.Millisecond}),
		TLS:      h.tls,
		Hostname: "imap.test",
	}
	for _, f := range configure {
		f(&opts)
	}
	h.srv = imapserver.New(opts)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.addr = l.Addr().String()
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.srv.Serve(l)
	}()
	t.Cleanup(func() {
		h.srv.Close()
		<-done
		st.Close()
	})
	return h
}

// serveTLS serves IMAPS on another listener and returns its address.
func (h *harness) serveTLS() string {
	l, err := tls.Listen("tcp", "127.0.0.1:0", h.tls)
	if err != nil {
		h.t.Fatal(err)
	}
	go h.srv.Serve(l)
	return l.Addr().String()
}

// deliver puts a message into a mailbox of the test account.
func (h *harness) deliver(mailbox, msg string, flags ...string) store.UID {
	h.t.Helper()
	res, err := h.st.Deliver(context.Background(), strings.NewReader(msg), []store.Target{{Account: testUser, Mailbox: mailbox, Flags: flags}})
	if err != nil {
		h.t.Fatal(err)
	}
	if res[0].Err != nil {
		h.t.Fatal(res[0].Err)
	}
	return res[0].UID
}

func testTLSConfig(t *testing.T) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "imap.test"},
		DNSNames:     []string{"imap.test", "localhost"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}
}

// tconn is a raw client connection for transcript tests.
type tconn struct {
	t    *testing.T
	nc   net.Conn
	br   *bufio.Reader
	last string // last line sent, for failure messages
	// zw compresses what send writes once COMPRESS is active
	// (compress_test.go); br then reads through a decompressor. It
	// writes into zbuf, which send puts on the wire in one write: a
	// command split over two TLS records could be acted on from the
	// first (a LOGOUT) and the server's close, with the second record
	// unread, is a reset, which fails the client's second write.
	zw   *flate.Writer
	zbuf bytes.Buffer
}

// dial connects and reads the greeting.
func (h *harness) dial() *tconn {
	h.t.Helper()
	nc, err := net.Dial("tcp", h.addr)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { nc.Close() })
	c := &tconn{t: h.t, nc: nc, br: bufio.NewReader(nc)}
	c.expect(`~\* OK \[CAPABILITY .*\] .*`)
	return c
}

// login dials and logs in.
func (h *harness) login() *tconn {
	c := h.dial()
	c.run(`
C: l0 LOGIN "` + testUser + `" "` + testPass + `"
S~ l0 OK .*`)
	return c
}

func (c *tconn) send(line string) {
	c.t.Helper()
	c.last = line
	c.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if c.zw != nil {
		c.zw.Write([]byte(line + "\r\n"))
		c.zw.Flush()
		_, err := c.nc.Write(c.zbuf.Bytes())
		c.zbuf.Reset()
		if err != nil {
			c.t.Fatalf("send %q: %v", line, err)
		}
		return
	}
	if _, err := c.nc.Write([]byte(line + "\r\n")); err != nil {
		c.t.Fatalf("send %q: %v", line, err)
	}
}

func (c *tconn) readLine() string {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := c.br.ReadString('\n')
	if err != nil {
		c.t.Fatalf("after %q read: %v (got %q)", c.last, err, line)
	}
	return strings.TrimSuffix(line, "\r\n")
}

// expect reads one line: "~regexp" matches the whole line as a regular
// expression, anything else must be equal.
func (c *tconn) expect(want string) string {
	c.t.Helper()
	got := c.readLine()
	if re, ok := strings.CutPrefix(want, "~"); ok {
		if !regexp.MustCompile(`^(?:` + re + `)$`).MatchString(got) {
			c.t.Fatalf("after %q server said\n  %q\nwant match of\n  %q", c.last, got, re)
		}
		return got
	}
	if got != want {
		c.t.Fatalf("after %q server said\n  %q\nwant\n  %q", c.last, got, want)
	}
	return got
}

// run plays a transcript: "C: line" is sent, "S: line" must come back
// exactly, "S~ re" must match, blank lines and "#" comments are skipped.
// "C+ line" sends without the CRLF-normalising (the literal content lines).
func (c *tconn) run(script string) {
	c.t.Helper()
	for _, l := range strings.Split(script, "\n") {
		l = strings.TrimLeft(l, "\t")
		switch {
		case l == "" || strings.HasPrefix(l, "#"):
		case strings.HasPrefix(l, "C: "):
			c.send(l[3:])
		case strings.HasPrefix(l, "S: "):
			c.expect(l[3:])
		case strings.HasPrefix(l, "S~ "):
			c.expect("~" + l[3:])
		default:
			c.t.Fatalf("bad script line %q", l)
		}
	}
}

// noMore asserts that the server sends nothing within d.
func (c *tconn) noMore(d time.Duration) {
	c.t.Helper()
	c.nc.SetReadDeadline(time.Now().Add(d))
	line, err := c.br.ReadString('\n')
	if err == nil || line != "" {
		c.t.Fatalf("unexpected %q", line)
	}
	var ne net.Error
	if !(errorsAs(err, &ne) && ne.Timeout()) {
		c.t.Fatalf("unexpected error %v", err)
	}
}
