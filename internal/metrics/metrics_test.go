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
	m.FeedLag("imap", time.Millisecond)
	m.OutboundAttempt(OutboundDeferred)
	m.OutboundDSN(DSNFailed)
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
	m.FeedLag("jmap", 3*time.Millisecond)
	m.FeedLag("jmap", -time.Second) // a clock step: counted as 0
	m.OutboundAttempt(OutboundDelivered)
	m.OutboundAttempt(OutboundDeferred)
	m.OutboundAttempt(OutboundDeferred)
	m.OutboundDSN(DSNDelayed)
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
		`letterbox_feed_lag_seconds_count{protocol="jmap"} 2`,
		`letterbox_feed_lag_seconds_bucket{protocol="jmap",le="0.001"} 1`,
		`letterbox_feed_lag_seconds_sum{protocol="jmap"} 0.003`,
		`letterbox_outbound_attempts_total{result="delivered"} 1`,
		`letterbox_outbound_attempts_total{result="deferred"} 2`,
		`letterbox_outbound_dsn_total{action="delayed"} 1`,
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
