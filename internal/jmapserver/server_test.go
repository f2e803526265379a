package jmapserver

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/letterbox/letterbox/internal/testutil/testcert"
)

// TestServeHTTPSAndHTTP: one listener answers HTTPS and plain HTTP (told
// apart by the first octet), and over plain HTTP a password is checked
// only where AllowPlaintextAuth says so.
func TestServeHTTPSAndHTTP(t *testing.T) {
	cert, err := testcert.New()
	if err != nil {
		t.Fatal(err)
	}
	for _, allow := range []bool{true, false} {
		h := newHarness(t, func(o *Options) {
			o.TLS = cert.Server
			o.AllowPlaintextAuth = func(netip.Addr, bool) bool { return allow }
		})
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go h.srv.Serve(ln)
		get := func(url string) (int, string) {
			c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: cert.Pool}}}
			req, _ := http.NewRequest("GET", url, nil)
			req.SetBasicAuth(h.user, testPassword)
			resp, err := c.Do(req)
			if err != nil {
				t.Fatalf("%s: %v", url, err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		code, body := get("https://" + ln.Addr().String() + "/.well-known/jmap")
		if code != 200 || !strings.Contains(body, `"apiUrl":"https://`) {
			t.Errorf("HTTPS: %d %s", code, body)
		}
		code, body = get("http://" + ln.Addr().String() + "/.well-known/jmap")
		switch {
		case allow && (code != 200 || !strings.Contains(body, `"apiUrl":"http://`)):
			t.Errorf("HTTP, plaintext allowed: %d %s", code, body)
		case !allow && (code != 403 || !strings.Contains(body, "TLS")):
			t.Errorf("HTTP, plaintext refused: %d %s", code, body)
		}
	}
}
