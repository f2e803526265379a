//go:build e2e

package e2e

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestCrashKeepsAcknowledgedMail: many concurrent SMTP deliveries are in
// flight when the server gets SIGKILL. After a restart every message that
// got 250 is present and reads back byte for byte over IMAP and POP3, and
// nothing half-written is visible.
func TestCrashKeepsAcknowledgedMail(t *testing.T) {
	s := startWithUsers(t)
	const workers = 16
	const perWorker = 40
	body := strings.Repeat("The quick brown fox jumps over the lazy dog.\n", 400) // ~18 KB

	var (
		mu    sync.Mutex
		sent  = map[string][]byte{} // subject -> message, every attempt
		acked = map[string]bool{}
		count atomic.Int32
		wg    sync.WaitGroup
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < perWorker; i++ {
				subj := fmt.Sprintf("crash w%02d m%03d", w, i)
				msg := message("carol@remote.example", alice, subj, body)
				mu.Lock()
				sent[subj] = msg
				mu.Unlock()
				if err := sendSMTP(s.addr("smtp"), "carol@remote.example", []string{alice}, msg); err != nil {
					return // the server is gone
				}
				mu.Lock()
				acked[subj] = true
				mu.Unlock()
				count.Add(1)
			}
		}(w)
	}
	// Kill while deliveries are in flight: after a good number were
	// acknowledged, well before all of them are.
	deadline := time.Now().Add(2 * time.Minute)
	for count.Load() < workers*perWorker/4 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	s.kill9()
	wg.Wait()
	total := int(count.Load())
	if total == 0 {
		t.Fatal("no delivery was acknowledged before the kill")
	}
	if total == workers*perWorker {
		t.Fatal("every delivery finished before the kill; nothing was in flight")
	}
	t.Logf("%d deliveries acknowledged before SIGKILL, %d attempted", total, len(sent))

	s.start()

	c := s.dialIMAPS(t, alice, alicePass)
	msgs := fetchAll(t, c, "INBOX")
	seen := map[string]bool{}
	for _, m := range msgs {
		got := stripTrace(m.body)
		want, ok := sent[m.subj]
		switch {
		case !ok:
			t.Errorf("UID %d: unknown message with subject %q (%d bytes)", m.uid, m.subj, len(m.body))
		case !bytes.Equal(got, want):
			t.Errorf("UID %d (%s) is damaged:\n%s", m.uid, m.subj, diffBytes(want, got))
		case seen[m.subj]:
			t.Errorf("%s is stored twice", m.subj)
		}
		seen[m.subj] = true
	}
	missing := 0
	for subj := range acked {
		if !seen[subj] {
			missing++
			if missing <= 10 {
				t.Errorf("acknowledged message %q is missing after the crash", subj)
			}
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d acknowledged messages lost", missing, len(acked))
	}

	p := s.dialPOP3S(t, alice, alicePass)
	if n := p.stat(); n != len(msgs) {
		t.Errorf("POP3 sees %d messages, IMAP %d", n, len(msgs))
	}
	for i := 1; i <= len(msgs); i++ {
		raw := stripTrace(p.multi(fmt.Sprintf("RETR %d", i)))
		if !bytes.HasSuffix(raw, []byte(strings.ReplaceAll(strings.TrimRight(body, "\n"), "\n", "\r\n")+"\r\n")) {
			t.Errorf("POP3 RETR %d is incomplete (%d bytes)", i, len(raw))
		}
	}
	p.quit()
}
