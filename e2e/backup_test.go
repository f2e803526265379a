//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// `letterbox backup` while four SMTP senders deliver: every message
// acknowledged (250) before the backup started is in it; `letterbox
// restore` into a new data directory gives a server that shows them over
// IMAP, and `letterbox fsck --hash` finds nothing wrong.
func TestBackupDuringDeliveryRestores(t *testing.T) {
	s := startWithUsers(t)
	var acked atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	var n atomic.Int64
	for w := 0; w < 4; w++ {
		wg.Go(func() {
			for !stop.Load() {
				i := n.Add(1)
				msg := fmt.Sprintf("Subject: load %d\r\n\r\n%s\r\n", i, strings.Repeat("body line\r\n", 200))
				if err := sendSMTP(s.addr("smtp"), "load@remote.example", []string{alice}, []byte(msg)); err != nil {
					t.Errorf("delivery %d: %v", i, err)
					return
				}
				acked.Add(1)
			}
		})
	}
	time.Sleep(500 * time.Millisecond)
	before := acked.Load()
	dir := filepath.Join(t.TempDir(), "backup")
	out, err := exec.Command(letterboxBin, s.args("backup", dir)...).CombinedOutput()
	time.Sleep(200 * time.Millisecond) // deliveries go on after the backup
	stop.Store(true)
	wg.Wait()
	if err != nil {
		t.Fatalf("letterbox backup: %v\n%s", err, out)
	}
	t.Logf("%s(%d acknowledged before it, %d in all)", out, before, acked.Load())

	r := &server{t: t, dataDir: filepath.Join(t.TempDir(), "data"), log: &syncBuffer{}}
	r.writeConfig(nil)
	if out, err := exec.Command(letterboxBin, r.args("restore", dir)...).CombinedOutput(); err != nil {
		t.Fatalf("letterbox restore: %v\n%s", err, out)
	}
	out, err = exec.Command(letterboxBin, r.args("fsck", "--hash")...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "no problems found") {
		t.Fatalf("letterbox fsck of the restored store: %v\n%s", err, out)
	}
	r.start()
	defer r.stop()
	c := r.dialIMAPS(t, alice, alicePass)
	defer c.Close()
	got := int64(len(fetchAll(t, c, "INBOX")))
	if got < before {
		t.Fatalf("%d messages after restore, but %d were acknowledged before the backup began", got, before)
	}
	if got > acked.Load() {
		t.Fatalf("%d messages after restore, more than the %d ever acknowledged", got, acked.Load())
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
}
