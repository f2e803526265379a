package dsn

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	gomessage "github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"
)

// A notice parses as RFC 6522 multipart/report with three parts; its
// message/delivery-status part has the per-message and per-recipient
// fields of RFC 3464 §2.2-2.3 (ENVID and ORCPT included when given, the
// queue ID and Last-Attempt-Date only when known); RET=FULL returns the
// message as message/rfc822.
func TestBuild(t *testing.T) {
	at := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		r    Report
		want []string
		not  []string
	}{
		{Report{Hostname: "mail.example.com", To: "alice@example.com", Action: Delivered, Arrival: at, Date: at, EnvID: "E1",
			Rcpts: []Recipient{{Addr: "bob@example.com", Status: "2.0.0", ORcpt: "rfc822;Bob@Example.com"}}, Headers: []byte("Subject: x\r\n")},
			[]string{"Original-Envelope-Id: E1", "Reporting-MTA: dns; mail.example.com", "Original-Recipient: rfc822; Bob@Example.com",
				"Final-Recipient: rfc822; bob@example.com", "Action: delivered", "text/rfc822-headers", "Subject: x"},
			[]string{"X-Letterbox-Queue-ID", "Last-Attempt-Date", "Remote-MTA"}},
		{Report{Hostname: "mail.example.com", To: "alice@example.com", Action: Failed, Arrival: at, Date: at, QueueID: 7,
			Rcpts: []Recipient{{Addr: "bob@remote.test", Status: "5.1.1", Diagnostic: "550 5.1.1 no", Remote: "mx.remote.test", LastAttempt: at}},
			Full:  []byte("Subject: y\r\n\r\nthe body\r\n")},
			[]string{"X-Letterbox-Queue-ID: 7", "Action: failed", "Remote-MTA: dns; mx.remote.test", "Diagnostic-Code: smtp; 550 5.1.1 no",
				"Last-Attempt-Date: ", "Content-Type: message/rfc822", "the body"},
			[]string{"Original-Envelope-Id", "Original-Recipient", "text/rfc822-headers"}},
	} {
		out := Build(c.r)
		for _, w := range c.want {
			if !bytes.Contains(out, []byte(w)) {
				t.Errorf("%s notice lacks %q:\n%s", c.r.Action, w, out)
			}
		}
		for _, w := range c.not {
			if bytes.Contains(out, []byte(w)) {
				t.Errorf("%s notice has %q:\n%s", c.r.Action, w, out)
			}
		}
		e, err := gomessage.Read(bytes.NewReader(out))
		if err != nil {
			t.Fatal(err)
		}
		mt, params, _ := e.Header.ContentType()
		if mt != "multipart/report" || params["report-type"] != "delivery-status" {
			t.Fatalf("content type %s %v", mt, params)
		}
		var types []string
		mr := e.MultipartReader()
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			pt, _, _ := p.Header.ContentType()
			types = append(types, pt)
			if pt == "message/delivery-status" {
				// Per-message fields, then one block per recipient.
				body, _ := io.ReadAll(p.Body)
				blocks := strings.Split(strings.TrimSpace(strings.ReplaceAll(string(body), "\r\n", "\n")), "\n\n")
				for _, b := range blocks {
					if _, err := textproto.ReadHeader(bufioReader(b + "\n\n")); err != nil {
						t.Errorf("block %q: %v", b, err)
					}
				}
				if len(blocks) != 1+len(c.r.Rcpts) {
					t.Errorf("%d blocks", len(blocks))
				}
			}
		}
		if strings.Join(types, ",") != "text/plain,message/delivery-status,"+map[bool]string{true: "message/rfc822", false: "text/rfc822-headers"}[c.r.Full != nil] {
			t.Errorf("parts %v", types)
		}
	}
}

func bufioReader(s string) *bufio.Reader { return bufio.NewReader(strings.NewReader(s)) }
