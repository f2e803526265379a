package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// asMainEnv makes the test binary behave as the letterbox binary (so a
// test can run it inside a real terminal without building it).
const asMainEnv = "LETTERBOX_TEST_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(asMainEnv) == "1" {
		main()
	}
	os.Exit(m.Run())
}

// TestClientInTmux runs `read`, `unread` and `save` in a real terminal
// (tmux, UTF-8): the decoded KOI8-R text shows as Cyrillic, and the
// progress line is drawn on the terminal and redrawn in place (one line,
// not one per message).
func TestClientInTmux(t *testing.T) {
	tmux, err := exec.LookPath("tmux")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("tmux not installed (apt-get install tmux); CI=true: required")
		}
		t.Skip("tmux not installed (apt-get install tmux)")
	}
	r := newClientRig(t, false)
	koi := charsetTexts[4]
	koi.cte = "quoted-printable"
	uid := r.put("INBOX", charsetMessage(t, koi))
	r.put("INBOX", htmlOnlyMessage)
	files := r.put("INBOX", attachmentMessage)

	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sock := filepath.Join(dir, "tmux.sock")
	script := filepath.Join(dir, "run.sh")
	q := func(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
	lb := "env " + asMainEnv + "=1 XDG_CONFIG_HOME=" + q(r.env["XDG_CONFIG_HOME"]) + " HOME=" + q(r.env["HOME"]) + " " + q(self)
	os.WriteFile(script, []byte(strings.Join([]string{
		"clear",
		lb + " client read " + uid + " --peek",
		lb + " client unread --out " + q(filepath.Join(dir, "mail")),
		lb + " client save " + files + " --to " + q(filepath.Join(dir, "files")),
		"echo END-OF-RUN",
		"sleep 600",
	}, "\n")+"\n"), 0o700)
	run := func(args ...string) string {
		cmd := exec.Command(tmux, append([]string{"-S", sock}, args...)...)
		cmd.Env = append(os.Environ(), "LANG=C.UTF-8", "LC_ALL=C.UTF-8")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	run("-u", "new-session", "-d", "-s", "client", "-x", "160", "-y", "50", "sh "+q(script))
	t.Cleanup(func() { exec.Command(tmux, "-S", sock, "kill-server").Run() })
	var screen string
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		screen = run("capture-pane", "-p", "-t", "client")
		if strings.Contains(screen, "END-OF-RUN") {
			break
		}
	}
	t.Logf("the terminal:\n%s", screen)
	if !strings.Contains(screen, "END-OF-RUN") {
		t.Fatal("the commands did not finish")
	}
	for _, want := range []string{
		"Subject: " + koi.text + "\n\n" + koi.text + "\n",
		"From:    Bob <bob@example.com>\n",
		"3 message(s) downloaded",
		"files/report.pdf",
	} {
		if !strings.Contains(screen, want) {
			t.Errorf("the terminal lacks %q", want)
		}
	}
	for _, re := range []string{
		`(?m)^unread: 3/3 messages, \d+\.\d KB of \d+\.\d KB, .*/s, done in .*$`,
		`(?m)^save: 3/3 attachments, 22 B of 22 B, .*/s, done in .*$`,
	} {
		if n := len(regexp.MustCompile(re).FindAllString(screen, -1)); n != 1 {
			t.Errorf("%d lines match /%s/, want one redrawn line", n, re)
		}
	}
	if strings.Contains(screen, "unread: 1/3") || strings.Contains(screen, "unread: 2/3") {
		t.Error("progress lines were not redrawn in place")
	}

	// An account with no password source asks on the terminal, without
	// echo.
	prompt := filepath.Join(dir, "prompt.sh")
	os.WriteFile(prompt, []byte("clear\n"+lb+" client --account netrc list --limit 1\necho END-OF-PROMPT\nsleep 600\n"), 0o700)
	run("-u", "new-session", "-d", "-s", "prompt", "-x", "160", "-y", "20", "sh "+q(prompt))
	wait := func(s string) string {
		var screen string
		for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			if screen = run("capture-pane", "-p", "-t", "prompt"); strings.Contains(screen, s) {
				return screen
			}
		}
		t.Fatalf("the terminal never showed %q:\n%s", s, screen)
		return ""
	}
	wait("Password for " + clientTestUser + " at " + r.target.imaps + ":") // capture-pane drops the trailing space
	run("send-keys", "-t", "prompt", "-l", clientTestPass)
	run("send-keys", "-t", "prompt", "Enter")
	screen = wait("END-OF-PROMPT")
	t.Logf("the prompt:\n%s", strings.TrimRight(screen, "\n"))
	if strings.Contains(screen, clientTestPass) {
		t.Error("the password was echoed")
	}
	if !regexp.MustCompile(`(?m)^UID +DATE +FLAGS +SIZE +FROM +SUBJECT\n\d+ `).MatchString(screen) {
		t.Error("no listing after the prompt")
	}
}
