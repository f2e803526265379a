package sqlite

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/letterbox/letterbox/internal/store"
)

const crashChildEnv = "LETTERBOX_SQLITE_CRASH_CHILD_DIR"

// TestCrashChild is the process TestKill9LosesNoAcknowledgedDelivery kills:
// it delivers from several goroutines and prints "ACK <uid> <blob>" for
// every delivery only after Deliver returned.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashChildEnv)
	if dir == "" {
		t.Skip("helper process for TestKill9LosesNoAcknowledgedDelivery")
	}
	s, err := Open(Options{Dir: dir})
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	ctx := context.Background()
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				body := fmt.Sprintf("Subject: crash %d/%d\n\n%s\n", g, i, strings.Repeat("x", 100*(i%50)))
				res, err := s.Deliver(ctx, strings.NewReader(body), []store.Target{{Account: "alice@example.com"}})
				if err != nil || res[0].Err != nil {
					fmt.Println("ERR", err, res)
					os.Exit(1)
				}
				mu.Lock()
				fmt.Printf("ACK %d %s\n", res[0].UID, blobIDOf(strings.ReplaceAll(body, "\n", "\r\n")))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

func TestKill9LosesNoAcknowledgedDelivery(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateAccount(context.Background(), "alice@example.com", "x"); err != nil {
		t.Fatal(err)
	}
	s.Close()

	for round := 0; round < 3; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		acked := map[store.UID]string{}
		lines := bufio.NewScanner(out)
		killAt := 100 + 150*round
		killed := false
		for lines.Scan() {
			f := strings.Fields(lines.Text())
			if len(f) == 3 && f[0] == "ACK" {
				uid, _ := strconv.ParseUint(f[1], 10, 32)
				acked[store.UID(uid)] = f[2]
			} else if len(f) > 0 && f[0] == "ERR" {
				t.Fatalf("child: %s", lines.Text())
			}
			if !killed && len(acked) >= killAt {
				cmd.Process.Signal(syscall.SIGKILL)
				killed = true
			}
		}
		cmd.Wait()
		if !killed {
			t.Fatalf("child ended before being killed, %d acks", len(acked))
		}

		s, err := Open(Options{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		msgs, err := inbox(t, s).Messages(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		byUID := map[store.UID]store.Message{}
		for _, m := range msgs {
			byUID[m.UID] = m
			// No half message: every row's blob is complete.
			b, err := s.OpenBlob(context.Background(), m.BlobID)
			if err != nil {
				t.Fatalf("round %d: UID %d: %v", round, m.UID, err)
			}
			h := sha256.New()
			n, _ := io.Copy(h, b)
			b.Close()
			if hex.EncodeToString(h.Sum(nil)) != m.BlobID || n != m.Size {
				t.Fatalf("round %d: UID %d: blob content does not match its address", round, m.UID)
			}
		}
		for uid, blob := range acked {
			if m, ok := byUID[uid]; !ok || m.BlobID != blob {
				t.Fatalf("round %d: acknowledged UID %d lost (have %+v)", round, uid, m)
			}
		}
		t.Logf("round %d: %d acknowledged, %d stored", round, len(acked), len(msgs))
		s.Close()
		time.Sleep(10 * time.Millisecond)
	}
}
