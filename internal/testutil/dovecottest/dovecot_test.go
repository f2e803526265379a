package dovecottest

import (
	"bufio"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

func TestConfigListeners(t *testing.T) {
	for _, tc := range []struct {
		name      string
		v         configVars
		want, not []string
	}{
		{"plain", configVars{Dir: "/d", IMAP: 1, POP3: 2},
			[]string{"ssl = no", "protocols = imap pop3\n", "port = 0"},
			[]string{"ssl_cert", "service lmtp", "port = 3\n"}},
		{"tls and lmtp", configVars{Dir: "/d", TLS: true, LMTP: true, IMAP: 1, POP3: 2, IMAPS: 3, POP3S: 4, LMTPPort: 5, Extra: "# extra"},
			[]string{"ssl = yes", "ssl_cert = </d/cert.pem", "protocols = imap pop3 lmtp", "port = 3\n", "port = 4\n", "port = 5\n", "# extra"},
			[]string{"port = 0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conf, err := renderConfig(tc.v)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(conf, w) {
					t.Errorf("config lacks %q:\n%s", w, conf)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(conf, n) {
					t.Errorf("config has %q:\n%s", n, conf)
				}
			}
		})
	}
}

func TestPasswdFile(t *testing.T) {
	got := string(passwdFile(map[string]string{"b@x": "pw b", "a@x": "pw:a"}))
	if want := "a@x:{PLAIN}pw:a\nb@x:{PLAIN}pw b\n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// TestStartT logs in over POP3 and checks Stop leaves nothing listening.
func TestStartT(t *testing.T) {
	s := StartT(t, Options{Users: map[string]string{"alice@example.com": "secret"}, LMTP: true})
	c, err := net.DialTimeout("tcp", s.POP3, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	for _, cmd := range []string{"", "USER alice@example.com", "PASS secret"} {
		if cmd != "" {
			c.Write([]byte(cmd + "\r\n"))
		}
		line, err := r.ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "+OK") {
			t.Fatalf("%q: %q, %v", cmd, line, err)
		}
	}
	if s.LMTP == "" || s.IMAPS != "" {
		t.Fatalf("addresses: LMTP %q, IMAPS %q", s.LMTP, s.IMAPS)
	}
	s.Stop()
	if _, err := os.Stat(s.Dir); err != nil {
		t.Fatalf("Stop removed the directory: %v", err)
	}
	if c, err := net.DialTimeout("tcp", s.IMAP, time.Second); err == nil {
		c.Close()
		t.Fatal("IMAP still listening after Stop")
	}
}
