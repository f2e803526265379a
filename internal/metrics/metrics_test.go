package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestNilIsSilent(t *testing.T) {
	var m *Metrics
	m.Connection("imap")()
	m.Login("imap", "ok")
	m.Command("imap", "NOOP", time.Millisecond)
	m.Delivery("smtp", true, 10, time.Millisecond)
	if err := m.Register(nil); err != nil {
		t.Fatal(err)
	}
}

func TestExposition(t *testing.T) {
	m := New()
	done := m.Connection("pop3")
	m.Login("pop3", "fail")
	m.Command("pop3", "RETR", 2*time.Millisecond)
	m.Delivery("lmtp", true, 1234, time.Millisecond)
	m.Delivery("lmtp", false, 99, time.Millisecond)
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`letterbox_connections_open{protocol="pop3"} 1`,
		`letterbox_connections_total{protocol="pop3"} 1`,
		`letterbox_logins_total{protocol="pop3",result="fail"} 1`,
		`letterbox_command_duration_seconds_count{command="RETR",protocol="pop3"} 1`,
		`letterbox_deliveries_total{protocol="lmtp",result="ok"} 1`,
		`letterbox_deliveries_total{protocol="lmtp",result="failed"} 1`,
		`letterbox_delivered_bytes_total{protocol="lmtp"} 1234`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("missing %q", want)
		}
	}
	done()
	rec = httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if !strings.Contains(rec.Body.String(), `letterbox_connections_open{protocol="pop3"} 0`) {
		t.Error("connection not counted down")
	}
}
