//go:build e2e

package e2e

import (
	"bytes"
	"io"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/miekg/dns"
)

// e2eDNS is a loopback DNS server (miekg/dns) the servers' outbound
// resolvers are pointed at with [outbound] dns_server.
type e2eDNS struct {
	addr string
	mu   sync.Mutex
	rrs  map[string][]dns.RR
	// validating: answer with the AD bit set, as a DNSSEC-validating
	// resolver does for signed data (the DANE test).
	validating bool
}

func startDNS(t *testing.T) *e2eDNS {
	t.Helper()
	d := &e2eDNS{rrs: map[string][]dns.RR{}}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d.addr = pc.LocalAddr().String()
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		d.mu.Lock()
		m.AuthenticatedData = d.validating
		for _, q := range req.Question {
			rrs, ok := d.rrs[strings.ToLower(q.Name)]
			if !ok {
				m.Rcode = dns.RcodeNameError
			}
			for _, rr := range rrs {
				if rr.Header().Rrtype == q.Qtype {
					m.Answer = append(m.Answer, rr)
				}
			}
		}
		d.mu.Unlock()
		w.WriteMsg(m)
	})}
	started := make(chan struct{})
	srv.NotifyStartedFunc = func() { close(started) }
	go srv.ActivateAndServe()
	<-started
	t.Cleanup(func() { srv.Shutdown() })
	return d
}

func (d *e2eDNS) add(t *testing.T, records ...string) {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, r := range records {
		rr, err := dns.NewRR(r)
		if err != nil {
			t.Fatalf("record %q: %v", r, err)
		}
		name := strings.ToLower(rr.Header().Name)
		d.rrs[name] = append(d.rrs[name], rr)
	}
}

// txt returns the TXT text at name (for the DKIM check).
func (d *e2eDNS) txt(name string) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for _, rr := range d.rrs[strings.ToLower(name)] {
		if t, ok := rr.(*dns.TXT); ok {
			out = append(out, strings.Join(t.Txt, ""))
		}
	}
	return out
}

// mailDomain configures s as the mail host of domain: its host name, the
// test DNS, and the port it contacts remote MTAs on.
func setOutbound(cfg, hostname, dnsAddr string, port int) string {
	cfg = regexp.MustCompile(`(?m)^hostname = .*$`).ReplaceAllString(cfg, `hostname = "`+hostname+`"`)
	cfg = regexp.MustCompile(`(?m)^dns_server = .*$`).ReplaceAllString(cfg, `dns_server = "`+dnsAddr+`"`)
	cfg = regexp.MustCompile(`(?m)^retry_first = .*$`).ReplaceAllString(cfg, `retry_first = "1s"`)
	// [outbound] port: the only "port = 25" line.
	return regexp.MustCompile(`(?m)^port = \d+$`).ReplaceAllStringFunc(cfg, func(m string) string {
		if m == "port = 587" { // [relay]
			return m
		}
		return "port = " + strconv.Itoa(port)
	})
}

// rewriteOutboundPort points a stopped server's [outbound] port elsewhere.
func (s *server) rewriteOutboundPort(t *testing.T, port int) {
	t.Helper()
	data, err := os.ReadFile(s.config)
	if err != nil {
		t.Fatal(err)
	}
	cfg := regexp.MustCompile(`(?m)^(\[outbound\][\s\S]*?\nport = )\d+$`).ReplaceAllString(string(data), "${1}"+strconv.Itoa(port))
	if err := os.WriteFile(s.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
}

// dkimGenerate runs `letterbox dkim generate` and publishes what it prints.
func (s *server) dkimGenerate(t *testing.T, d *e2eDNS, domain string) {
	t.Helper()
	out, err := exec.Command(letterboxBin, s.args("dkim", "generate", domain)...).CombinedOutput()
	if err != nil {
		t.Fatalf("dkim generate: %v\n%s", err, out)
	}
	n := 0
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "._domainkey.") && strings.Contains(line, " IN TXT ") {
			d.add(t, strings.Replace(line, " IN TXT ", " 60 IN TXT ", 1))
			n++
		}
	}
	if n != 2 {
		t.Fatalf("dkim generate printed %d records, want 2:\n%s", n, out)
	}
}

// submit sends msg from user over submission with STARTTLS and AUTH PLAIN
// (go-smtp's client).
func (s *server) submit(t *testing.T, user, pass string, to []string, msg []byte) {
	t.Helper()
	c, err := smtp.DialStartTLS(s.addr("submission"), s.tlsConfig())
	if err != nil {
		t.Fatalf("submission STARTTLS: %v", err)
	}
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", user, pass)); err != nil {
		t.Fatalf("AUTH: %v", err)
	}
	if err := c.SendMail(user, to, bytes.NewReader(msg)); err != nil {
		t.Fatalf("send: %v", err)
	}
	c.Quit()
}

// waitForMessage polls user's INBOX over IMAPS until a message with subject
// arrives and returns its body.
func (s *server) waitForMessage(t *testing.T, user, pass, subject string) []byte {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c := s.dialIMAPS(t, user, pass)
		for _, m := range fetchAll(t, c, "INBOX") {
			if m.subj == subject {
				c.Close()
				return m.body
			}
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatalf("%q did not reach %s within 30s", subject, user)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Two letterbox instances, mail hosts of a.test and b.test, find each
// other through MX records on a loopback DNS server and exchange mail over
// SMTP with STARTTLS, DKIM-signed with keys from `letterbox dkim
// generate`; each message reaches its recipient over IMAP with signatures
// that verify against the published records.
func TestOutboundTwoServers(t *testing.T) {
	d := startDNS(t)
	d.add(t,
		"a.test. 60 IN MX 10 mx.a.test.", "mx.a.test. 60 IN A 127.0.0.1",
		"b.test. 60 IN MX 10 mx.b.test.", "mx.b.test. 60 IN A 127.0.0.1",
		`a.test. 60 IN TXT "v=spf1 ip4:127.0.0.1 -all"`, `_dmarc.a.test. 60 IN TXT "v=DMARC1; p=reject"`,
		`b.test. 60 IN TXT "v=spf1 mx -all"`, `_dmarc.b.test. 60 IN TXT "v=DMARC1; p=reject"`,
	)
	const alice, bob = "alice@a.test", "bob@b.test"
	a := startServerWith(t, func(cfg string) string { return setOutbound(cfg, "mx.a.test", d.addr, 25) })
	b := startServerWith(t, func(cfg string) string { return setOutbound(cfg, "mx.b.test", d.addr, 25) })
	a.addUser(alice, alicePass)
	b.addUser(bob, bobPass)
	a.dkimGenerate(t, d, "a.test")
	b.dkimGenerate(t, d, "b.test")
	// Both MX hosts are 127.0.0.1; each server reaches the other's SMTP
	// listener through its [outbound] port. Restart to load the keys.
	a.stop()
	b.stop()
	a.rewriteOutboundPort(t, b.ports["smtp"])
	b.rewriteOutboundPort(t, a.ports["smtp"])
	a.start()
	b.start()

	a.submit(t, alice, alicePass, []string{bob}, message(alice, bob, "from a to b", "Hello Bob,\nover the wire.\n"))
	got := b.waitForMessage(t, bob, bobPass, "from a to b")
	checkArrived(t, d, got, "a.test", "mx.b.test")

	b.submit(t, bob, bobPass, []string{alice}, message(bob, alice, "from b to a", "Hello Alice,\nback again.\n"))
	got = a.waitForMessage(t, alice, alicePass, "from b to a")
	checkArrived(t, d, got, "b.test", "mx.a.test")

	out, err := exec.Command(letterboxBin, a.args("queue", "list")...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "queue is empty") {
		t.Errorf("queue list after delivery: %v\n%s", err, out)
	}
}

// checkArrived: the receiver's Received header says it came over TLS
// (ESMTPS), its Authentication-Results field says SPF, both DKIM
// signatures and DMARC passed, and the signatures verify here too.
func checkArrived(t *testing.T, d *e2eDNS, msg []byte, signer, receiver string) {
	t.Helper()
	head, _, _ := bytes.Cut(msg, []byte("\r\n\r\n"))
	ar := regexp.MustCompile(`(?m)^Authentication-Results: ` + regexp.QuoteMeta(receiver) + `;.*(\r\n[ \t].*)*`).Find(head)
	unfolded := strings.Join(strings.Fields(string(ar)), " ")
	for _, want := range []string{"spf=pass smtp.mailfrom=", "dkim=pass header.d=" + signer, "dmarc=pass header.from=" + signer} {
		if !strings.Contains(unfolded, want) {
			t.Errorf("Authentication-Results lacks %q: %s", want, unfolded)
		}
	}
	if n := strings.Count(unfolded, "dkim=pass"); n != 2 {
		t.Errorf("%d dkim=pass, want 2 (Ed25519 and RSA): %s", n, unfolded)
	}
	if !regexp.MustCompile(`by ` + regexp.QuoteMeta(receiver) + ` \(letterbox\) with ESMTPS`).Match(head) {
		t.Errorf("not received over TLS:\n%s", head)
	}
	verifs, err := dkim.VerifyWithOptions(bytes.NewReader(msg), &dkim.VerifyOptions{
		LookupTXT: func(name string) ([]string, error) { return d.txt(name + "."), nil },
	})
	if err != nil || len(verifs) != 2 {
		t.Fatalf("DKIM: %d signatures, %v\n%s", len(verifs), err, head)
	}
	for _, v := range verifs {
		if v.Err != nil || v.Domain != signer {
			t.Errorf("DKIM signature d=%s: %v", v.Domain, v.Err)
		}
	}
}

// slowMTA is a receiving MTA in the test process that takes a while per
// message and counts each Message-ID it accepted.
type slowMTA struct {
	mu   sync.Mutex
	seen map[string]int
}

func (m *slowMTA) count() (distinct, total int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, n := range m.seen {
		distinct++
		total += n
	}
	return
}

type slowSession struct{ m *slowMTA }

func (s *slowSession) Reset()                               {}
func (s *slowSession) Logout() error                        { return nil }
func (s *slowSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *slowSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *slowSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	time.Sleep(100 * time.Millisecond)
	id := regexp.MustCompile(`(?mi)^Message-ID: (.*?)\r?$`).FindSubmatch(data)
	if id == nil {
		return &smtp.SMTPError{Code: 554, Message: "no Message-ID"}
	}
	s.m.mu.Lock()
	s.m.seen[string(id[1])]++
	s.m.mu.Unlock()
	return nil
}

// kill -9 of the sending server while it delivers loses no queued message:
// after the restart every message arrives, and a message is sent twice at
// most when the kill fell between the receiver's 250 and the queue's
// update (SMTP's own duplicate window; one connection, so at most one).
func TestOutboundKill9DuringDelivery(t *testing.T) {
	mta := &slowMTA{seen: map[string]int{}}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &slowSession{mta}, nil }))
	srv.Domain = "mx.remote.test"
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	d := startDNS(t)
	d.add(t, "remote.test. 60 IN MX 10 mx.remote.test.", "mx.remote.test. 60 IN A 127.0.0.1")
	port := l.Addr().(*net.TCPAddr).Port
	const alice = "alice@a.test"
	a := startServerWith(t, func(cfg string) string {
		cfg = setOutbound(cfg, "mx.a.test", d.addr, port)
		cfg = regexp.MustCompile(`(?m)^lease = .*$`).ReplaceAllString(cfg, `lease = "2s"`)
		return regexp.MustCompile(`(?m)^per_domain = .*$`).ReplaceAllString(cfg, `per_domain = 1`)
	})
	a.addUser(alice, alicePass)
	const n = 30
	for i := range n {
		a.submit(t, alice, alicePass, []string{"r@remote.test"}, message(alice, "r@remote.test", "crash "+strconv.Itoa(i), "x\n"))
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if got, _ := mta.count(); got >= 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("deliveries did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	a.kill9()
	before, _ := mta.count()
	if before >= n {
		t.Fatalf("all %d delivered before the kill; the test needs a slower receiver", n)
	}
	a.start()
	deadline = time.Now().Add(60 * time.Second)
	for {
		if got, _ := mta.count(); got == n {
			break
		}
		if time.Now().After(deadline) {
			got, _ := mta.count()
			t.Fatalf("after the restart %d of %d messages arrived", got, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // let a late duplicate show
	distinct, total := mta.count()
	t.Logf("%d delivered before kill -9, %d distinct after restart, %d duplicates", before, distinct, total-distinct)
	if total-distinct > 1 {
		t.Errorf("%d duplicates, want at most 1 (one connection in flight)", total-distinct)
	}
	out, err := exec.Command(letterboxBin, a.args("queue", "list")...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "queue is empty") {
		t.Errorf("queue list after delivery: %v\n%s", err, out)
	}
}
