package pop3client

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"math/big"
	"net"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// step is one exchange of a scripted server: the command line it expects
// (empty: none, just send reply) and the raw reply it sends.
type step struct {
	expect string
	reply  string
	stls   bool // after sending reply, start TLS as the server
}

// scriptServer serves one connection following steps and reports the first
// mismatch on the returned channel.
func scriptServer(t *testing.T, steps []step, tlsCfg *tls.Config) (addr string, result <-chan error) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	res := make(chan error, 1)
	go func() {
		conn, err := l.Accept()
		if err != nil {
			res <- err
			return
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		r := bufio.NewReader(conn)
		for _, s := range steps {
			if s.expect != "" {
				line, err := r.ReadString('\n')
				if err != nil {
					res <- err
					return
				}
				if line != s.expect+"\r\n" {
					res <- errors.New("got command " + strings.TrimSpace(line) + ", want " + s.expect)
					return
				}
			}
			if _, err := io.WriteString(conn, s.reply); err != nil {
				res <- err
				return
			}
			if s.stls {
				tc := tls.Server(conn, tlsCfg)
				if err := tc.Handshake(); err != nil {
					res <- err
					return
				}
				conn, r = tc, bufio.NewReader(tc)
			}
		}
		res <- nil
	}()
	return l.Addr().String(), res
}

func TestClientSession(t *testing.T) {
	srvTLS, cliTLS := testTLS(t)
	addr, result := scriptServer(t, []step{
		{"", "+OK ready\r\n", false},
		{"CAPA", "+OK\r\nTOP\r\nSASL PLAIN\r\nSTLS\r\n.\r\n", false},
		{"STLS", "+OK go\r\n", true},
		{"USER alice", "+OK\r\n", false},
		{"PASS pw with space", "+OK maildrop has 2 messages\r\n", false},
		{"STAT", "+OK 2 300\r\n", false},
		{"LIST", "+OK 2 messages\r\n1 100\r\n2 200\r\n.\r\n", false},
		{"LIST 2", "+OK 2 200\r\n", false},
		{"UIDL", "+OK\r\n1 aaa\r\n2 bbb\r\n.\r\n", false},
		{"UIDL 1", "+OK 1 aaa\r\n", false},
		{"RETR 1", "+OK 100 octets\r\nSubject: x\r\n\r\n..dot\r\nend\r\n.\r\n", false},
		{"TOP 2 0", "+OK\r\nSubject: y\r\n\r\n.\r\n", false},
		{"RETR 2", "+OK\r\nunread body\r\n.\r\n", false},
		{"DELE 1", "+OK deleted\r\n", false},
		{"DELE 1", "-ERR message 1 already deleted\r\n", false},
		{"RSET", "+OK\r\n", false},
		{"NOOP", "+OK\r\n", false},
		{"QUIT", "+OK bye\r\n", false},
	}, srvTLS)

	c, err := Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Greeting() != "ready" {
		t.Errorf("greeting %q", c.Greeting())
	}
	caps, err := c.Capa()
	if err != nil {
		t.Fatal(err)
	}
	if !HasCapability(caps, "sasl") || !HasCapability(caps, "STLS") || HasCapability(caps, "UIDL") {
		t.Errorf("caps %v", caps)
	}
	if err := c.STLS(cliTLS); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Conn().(*tls.Conn); !ok {
		t.Error("Conn is not TLS after STLS")
	}
	if err := c.Login("alice", "pw with space"); err != nil {
		t.Fatal(err)
	}
	if n, size, err := c.Stat(); err != nil || n != 2 || size != 300 {
		t.Fatalf("Stat = %d %d %v", n, size, err)
	}
	list, err := c.List()
	if err != nil || len(list) != 2 || list[1] != (MessageInfo{2, 200}) {
		t.Fatalf("List = %v %v", list, err)
	}
	if m, err := c.ListOne(2); err != nil || m != (MessageInfo{2, 200}) {
		t.Fatalf("ListOne = %v %v", m, err)
	}
	uids, err := c.Uidl()
	if err != nil || len(uids) != 2 || uids[1] != (UniqueID{2, "bbb"}) {
		t.Fatalf("Uidl = %v %v", uids, err)
	}
	if u, err := c.UidlOne(1); err != nil || u != (UniqueID{1, "aaa"}) {
		t.Fatalf("UidlOne = %v %v", u, err)
	}
	r, err := c.Retr(1)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(r)
	if err != nil || string(body) != "Subject: x\r\n\r\n.dot\r\nend\r\n" {
		t.Fatalf("Retr = %q %v", body, err)
	}
	r, err = c.Top(2, 0)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(r)
	if string(body) != "Subject: y\r\n\r\n" {
		t.Fatalf("Top = %q", body)
	}
	// An unread body is skipped by the next command.
	if _, err := c.Retr(2); err != nil {
		t.Fatal(err)
	}
	if err := c.Dele(1); err != nil {
		t.Fatal(err)
	}
	err = c.Dele(1)
	var perr *Error
	if !errors.As(err, &perr) || perr.Text != "message 1 already deleted" || perr.Code != "" {
		t.Fatalf("second Dele = %#v", err)
	}
	if err := c.Rset(); err != nil {
		t.Fatal(err)
	}
	if err := c.Noop(); err != nil {
		t.Fatal(err)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
	if err := <-result; err != nil {
		t.Fatal(err)
	}
}

func TestClientAuthPlain(t *testing.T) {
	// base64("\x00u\x00p") = "AHUAcA=="
	addr, result := scriptServer(t, []step{
		{"", "+OK\r\n", false},
		{"AUTH PLAIN AHUAcA==", "-ERR [AUTH] nope\r\n", false},
		{"AUTH PLAIN", "+ \r\n", false},
		{"AHUAcA==", "+OK in\r\n", false},
		{"UTF8", "-ERR [SYS/PERM] not now\r\n", false},
		{"XYZZY arg", "+OK magic\r\n", false},
	}, nil)
	c, err := Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.AuthPlain("u", "p"); Code(err) != "AUTH" || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("AuthPlain = %v", err)
	}
	if err := c.AuthPlainContinue("u", "p"); err != nil {
		t.Fatal(err)
	}
	if err := c.UTF8(); Code(err) != "SYS/PERM" {
		t.Fatalf("UTF8 = %v", err)
	}
	if text, err := c.Cmd("XYZZY arg"); err != nil || text != "magic" {
		t.Fatalf("Cmd = %q %v", text, err)
	}
	if _, err := c.Cmd("BAD\r\nINJECTED"); err == nil {
		t.Fatal("command with CRLF accepted")
	}
	if err := <-result; err != nil {
		t.Fatal(err)
	}
}

func TestClientProtocolErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps []step
		run   func(*Client) error
	}{
		{"garbage status", []step{{"", "+OK\r\n", false}, {"NOOP", "HELLO\r\n", false}}, func(c *Client) error { return c.Noop() }},
		{"bad STAT", []step{{"", "+OK\r\n", false}, {"STAT", "+OK x y\r\n", false}}, func(c *Client) error { _, _, err := c.Stat(); return err }},
		{"bad LIST entry", []step{{"", "+OK\r\n", false}, {"LIST", "+OK\r\nnope\r\n.\r\n", false}}, func(c *Client) error { _, err := c.List(); return err }},
		{"bad UIDL entry", []step{{"", "+OK\r\n", false}, {"UIDL", "+OK\r\nx y\r\n.\r\n", false}}, func(c *Client) error { _, err := c.Uidl(); return err }},
		{"no continuation", []step{{"", "+OK\r\n", false}, {"AUTH PLAIN", "+OK what\r\n", false}}, func(c *Client) error { return c.AuthPlainContinue("u", "p") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, _ := scriptServer(t, tc.steps, nil)
			c, err := Dial(addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := tc.run(c); !errors.Is(err, ErrProtocol) {
				t.Fatalf("err = %v, want ErrProtocol", err)
			}
		})
	}
}

func TestClientGreetingError(t *testing.T) {
	addr, _ := scriptServer(t, []step{{"", "-ERR [SYS/TEMP] busy\r\n", false}}, nil)
	if _, err := Dial(addr); Code(err) != "SYS/TEMP" {
		t.Fatalf("Dial = %v", err)
	}
}

func TestClientTruncatedBody(t *testing.T) {
	addr, _ := scriptServer(t, []step{{"", "+OK\r\n", false}, {"RETR 1", "+OK\r\npartial\r\n", false}}, nil)
	c, err := Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r, err := c.Retr(1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(r); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("ReadAll = %v, want ErrUnexpectedEOF", err)
	}
}

func TestDotReader(t *testing.T) {
	long := strings.Repeat("z", 10000)
	for _, tc := range []struct{ in, want string }{
		{".\r\n", ""},
		{"a\r\n.\r\n", "a\r\n"},
		{"..\r\n.\r\n", ".\r\n"},
		{"..a\r\nb.\r\n...\r\n.\r\n", ".a\r\nb.\r\n..\r\n"},
		{"x\n.\n", "x\n"},
		{"." + long + "\r\n.\r\n", long + "\r\n"},
		{long + ".\r\n.\r\n", long + ".\r\n"},
	} {
		r := newDotReader(bufio.NewReader(iotest.OneByteReader(strings.NewReader(tc.in + "AFTER"))))
		got, err := io.ReadAll(r)
		if err != nil {
			t.Fatalf("%q: %v", tc.in, err)
		}
		if string(got) != tc.want {
			t.Errorf("unstuff %q = %q, want %q", tc.in[:min(len(tc.in), 20)], got[:min(len(got), 20)], tc.want[:min(len(tc.want), 20)])
		}
		rest, _ := io.ReadAll(r.r)
		if string(rest) != "AFTER" {
			t.Errorf("%q: read past the terminator, left %q", tc.in[:min(len(tc.in), 20)], rest)
		}
	}
}

func TestParseErr(t *testing.T) {
	for _, tc := range []struct{ in, code, text string }{
		{" [IN-USE] locked", "IN-USE", "locked"},
		{" [SYS/TEMP]x", "SYS/TEMP", "x"},
		{" plain text", "", "plain text"},
		{"", "", ""},
		{" [unterminated", "", "[unterminated"},
	} {
		e := parseErr(tc.in)
		if e.Code != tc.code || e.Text != tc.text {
			t.Errorf("parseErr(%q) = %q %q, want %q %q", tc.in, e.Code, e.Text, tc.code, tc.text)
		}
	}
}

func testTLS(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
		&tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
}
