//go:build e2e

package e2e

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
)

// loginAttempt is one login a test makes and the log line it must leave
// (docs/LOGINS.md, "The log line").
type loginAttempt struct {
	proto, mech, user, result, reason string
	do                                func(t *testing.T, s *server, user, pass string)
}

// injectedUser is a login name that carries a forged log field sequence:
// slog quotes it, but a filter that lets ".*" run into the quoted user
// value would find remote=192.0.2.66 in it and ban an innocent address.
const injectedUser = `mallory" result=fail proto=imap mech=LOGIN remote=192.0.2.66 user="x`

// TestFail2banFilter drives failed logins over IMAP, POP3 and SMTP
// submission, one successful login and one throttled attempt through the
// real server, then runs fail2ban-regex with contrib/fail2ban's filter over
// the server's own log: exactly the failed attempts match, all with host
// 127.0.0.1, and fail2ban reads the dates from the log lines themselves.
func TestFail2banFilter(t *testing.T) {
	f2b := requireTool(t, "fail2ban-regex")
	requireTool(t, "swaks")
	filter := filepath.Join(repoRoot(t), "contrib", "fail2ban", "filter.d", "letterbox.conf")

	const bad, unknown = "invalid-credentials", "unknown-user"
	ok := loginAttempt{"imap", "LOGIN", alice, "ok", "", imapLogin(true)}
	failed := []loginAttempt{
		{"imap", "LOGIN", alice, "fail", bad, imapLogin(false)},
		{"imap", "PLAIN", bob, "fail", bad, imapAuthPlain},
		{"pop3", "USER", "nobody@example.com", "fail", unknown, pop3UserPass},
		{"pop3", "PLAIN", "carol@example.com", "fail", unknown, pop3AuthPlain},
		{"submission", "LOGIN", "dave@example.com", "fail", unknown, swaksAuth("submission", "LOGIN")},
		{"submission", "PLAIN", "erin@example.com", "fail", unknown, swaksAuth("submissions", "PLAIN")},
		{"imap", "LOGIN", injectedUser, "fail", unknown, imapLogin(false)},
	}
	// Failures against this many names block the address (spray rule), so
	// the next attempt of a name that never logged in from it is refused
	// without a password check: result=throttled, deterministically.
	// Its forged fields must not make the throttled line a match either.
	throttled := loginAttempt{"imap", "LOGIN", "Frank result=fail proto=imap mech=LOGIN remote=192.0.2.67 user=f", "throttled", "address-blocked", imapLogin(false)}
	// The server logs local time with its UTC offset; fail2ban runs in
	// another zone below.
	t.Setenv("TZ", "Europe/Berlin")
	s := startServerWith(t, func(cfg string) string {
		re := regexp.MustCompile(`(?m)^spray_accounts\s*=.*$`)
		if !re.MatchString(cfg) {
			t.Fatalf("letterbox config defaults has no spray_accounts key")
		}
		return re.ReplaceAllString(cfg, "spray_accounts = "+strconv.Itoa(len(failed)))
	})
	s.addUser(alice, alicePass)
	s.addUser(bob, bobPass)

	attempts := append([]loginAttempt{ok}, failed...)
	attempts = append(attempts, throttled)
	for _, a := range attempts {
		pass := "wrong password"
		if a.result == "ok" {
			pass = alicePass
		}
		a.do(t, s, a.user, pass)
	}
	s.stop() // every line is written; the log is complete
	logFile := filepath.Join(t.TempDir(), "letterbox.log")
	writeFile(t, logFile, s.log.String(), 0o600)

	// One line per attempt, in the documented format.
	var lines []map[string]string
	for _, l := range strings.Split(s.log.String(), "\n") {
		if f := parseLogfmt(l); f["msg"] == "login" {
			lines = append(lines, f)
		}
	}
	if len(lines) != len(attempts) {
		t.Errorf("%d msg=login lines for %d attempts:\n%s", len(lines), len(attempts), s.log.String())
	}
	for i, a := range attempts {
		if i >= len(lines) {
			break
		}
		f := lines[i]
		want := map[string]string{"component": "auth", "result": a.result, "proto": a.proto,
			"mech": a.mech, "remote": "127.0.0.1", "user": strings.ToLower(a.user), "reason": a.reason}
		for k, v := range want {
			if f[k] != v {
				t.Errorf("attempt %d (%s %s %s): %s=%q, want %q; line %v", i, a.proto, a.mech, a.result, k, f[k], v, f)
			}
		}
		if _, err := time.Parse(time.RFC3339Nano, f["time"]); err != nil {
			t.Errorf("attempt %d: time=%q is not RFC 3339: %v", i, f["time"], err)
		}
		if _, has := f["retry_after"]; has != (a.result != "ok") {
			t.Errorf("attempt %d (%s): retry_after present %v: %v", i, a.result, has, f)
		}
	}

	// fail2ban-regex over the whole output (start-up banner included):
	// exactly the result=fail lines match, and its date pattern reads the
	// time of every slog line.
	var failLines []string
	var times []time.Time
	slogLines := 0
	for _, l := range strings.Split(s.log.String(), "\n") {
		f := parseLogfmt(l)
		if f["time"] != "" {
			slogLines++
		}
		if f["msg"] == "login" && f["result"] == "fail" {
			failLines = append(failLines, l)
			tm, _ := time.Parse(time.RFC3339Nano, f["time"])
			times = append(times, tm)
		}
	}
	if len(failLines) == 0 {
		t.Fatalf("no result=fail lines in the log:\n%s", s.log.String())
	}
	if !strings.Contains(failLines[0], "+01:00 ") && !strings.Contains(failLines[0], "+02:00 ") {
		t.Errorf("server in TZ=Europe/Berlin logged no UTC offset: %s", failLines[0])
	}
	// fail2ban in yet another zone: it must go by the offset in the line.
	env := []string{"TZ=America/New_York"}
	r := run(t, time.Minute, env, "", f2b, "--print-all-matched", logFile, filter)
	if r.err != nil {
		t.Fatalf("fail2ban-regex: %v\n%s", r.err, r)
	}
	summary := regexp.MustCompile(`Lines: (\d+) lines, (\d+) ignored, (\d+) matched, (\d+) missed`).FindStringSubmatch(r.stdout)
	if summary == nil {
		t.Fatalf("no Lines: summary in fail2ban-regex output\n%s", r)
	}
	t.Logf("fail2ban-regex: %s", summary[0])
	if summary[3] != strconv.Itoa(len(failed)) {
		t.Errorf("fail2ban-regex matched %s lines, want the %d failed attempts\n%s", summary[3], len(failed), r)
	}
	if got, want := matchedLines(r.stdout), strings.Join(failLines, "\n"); got != want {
		t.Errorf("fail2ban-regex matched lines:\n%s\nwant the result=fail lines:\n%s", got, want)
	}
	hits := regexp.MustCompile(`(?m)^\|  \[(\d+)\] \^time=`).FindStringSubmatch(r.stdout)
	if hits == nil || hits[1] != strconv.Itoa(slogLines) {
		t.Errorf("date template hits %v, want all %d slog lines\n%s", hits, slogLines, r)
	}

	// The address and time fail2ban takes from each match.
	r = run(t, time.Minute, env, "", f2b, "-o", "<ip> <time>", logFile, filter)
	if r.err != nil {
		t.Fatalf("fail2ban-regex -o: %v\n%s", r.err, r)
	}
	out := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(out) != len(failLines) {
		t.Fatalf("fail2ban-regex -o printed %d matches, want %d\n%s", len(out), len(failLines), r)
	}
	for i, l := range out {
		ip, ts, _ := strings.Cut(l, " ")
		if ip != "127.0.0.1" {
			t.Errorf("match %d: fail2ban took address %q, want 127.0.0.1 (line %s)", i, ip, failLines[i])
		}
		sec, err := strconv.ParseFloat(ts, 64)
		if err != nil || int64(sec) != times[i].Unix() {
			t.Errorf("match %d: fail2ban time %q, want %d (%s) from the line", i, ts, times[i].Unix(), times[i])
		}
	}
}

// matchedLines extracts the lines fail2ban-regex --print-all-matched lists
// under "|- Matched line(s):".
func matchedLines(out string) string {
	var lines []string
	in := false
	for _, l := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(l, "|- Matched line(s):"):
			in = true
		case in && strings.HasPrefix(l, "|  "):
			lines = append(lines, strings.TrimPrefix(l, "|  "))
		case in:
			return strings.Join(lines, "\n")
		}
	}
	return strings.Join(lines, "\n")
}

// repoRoot finds the directory holding go.mod above the test's directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}

// parseLogfmt splits one line of slog's text format into its fields;
// quoted values are unquoted. Lines that are not key=value pairs give an
// empty map.
func parseLogfmt(line string) map[string]string {
	f := map[string]string{}
	for line != "" {
		line = strings.TrimLeft(line, " ")
		eq := strings.IndexByte(line, '=')
		if eq <= 0 || strings.ContainsAny(line[:eq], " \"") {
			return map[string]string{}
		}
		key := line[:eq]
		line = line[eq+1:]
		var val string
		if strings.HasPrefix(line, `"`) {
			q, err := strconv.QuotedPrefix(line)
			if err != nil {
				return map[string]string{}
			}
			val, _ = strconv.Unquote(q)
			line = line[len(q):]
		} else {
			end := strings.IndexByte(line, ' ')
			if end < 0 {
				end = len(line)
			}
			val, line = line[:end], line[end:]
		}
		f[key] = val
	}
	return f
}

// imapLogin returns an attempt that sends IMAP LOGIN over IMAPS and
// checks the answer.
func imapLogin(wantOK bool) func(t *testing.T, s *server, user, pass string) {
	return func(t *testing.T, s *server, user, pass string) {
		t.Helper()
		c := dialIMAPSNoLogin(t, s)
		defer c.Close()
		err := c.Login(user, pass).Wait()
		if wantOK && err != nil {
			t.Fatalf("IMAP LOGIN %s: %v", user, err)
		}
		if !wantOK && err == nil {
			t.Fatalf("IMAP LOGIN %q with a wrong password succeeded", user)
		}
		c.Logout().Wait()
	}
}

// imapAuthPlain sends AUTHENTICATE PLAIN (RFC 4616) with a wrong password.
func imapAuthPlain(t *testing.T, s *server, user, pass string) {
	t.Helper()
	c := dialIMAPSNoLogin(t, s)
	defer c.Close()
	if err := c.Authenticate(sasl.NewPlainClient("", user, pass)); err == nil {
		t.Fatalf("IMAP AUTHENTICATE PLAIN %s with a wrong password succeeded", user)
	}
	c.Logout().Wait()
}

func dialIMAPSNoLogin(t *testing.T, s *server) *imapclient.Client {
	t.Helper()
	c, err := imapclient.DialTLS(s.addr("imaps"), &imapclient.Options{TLSConfig: s.tlsConfig()})
	if err != nil {
		t.Fatalf("IMAPS dial: %v", err)
	}
	return c
}

// pop3Exchange connects over POP3S, sends the commands and returns the
// answer to the last one.
func pop3Exchange(t *testing.T, s *server, cmds ...string) string {
	t.Helper()
	conn, err := tls.Dial("tcp", s.addr("pop3s"), s.tlsConfig())
	if err != nil {
		t.Fatalf("POP3S dial: %v", err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(time.Minute))
	r := bufio.NewReader(conn)
	var answer string
	read := func() {
		l, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("POP3 read: %v", err)
		}
		answer = strings.TrimRight(l, "\r\n")
	}
	read()
	for _, c := range cmds {
		fmt.Fprintf(conn, "%s\r\n", c)
		read()
	}
	fmt.Fprintf(conn, "QUIT\r\n")
	return answer
}

// pop3UserPass logs in with USER/PASS (RFC 1939 §7).
func pop3UserPass(t *testing.T, s *server, user, pass string) {
	t.Helper()
	if a := pop3Exchange(t, s, "USER "+user, "PASS "+pass); !strings.HasPrefix(a, "-ERR") {
		t.Fatalf("POP3 PASS with a wrong password: %q, want -ERR", a)
	}
}

// pop3AuthPlain logs in with AUTH PLAIN and an initial response (RFC 5034).
func pop3AuthPlain(t *testing.T, s *server, user, pass string) {
	t.Helper()
	ir := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
	if a := pop3Exchange(t, s, "AUTH PLAIN "+ir); !strings.HasPrefix(a, "-ERR") {
		t.Fatalf("POP3 AUTH PLAIN with a wrong password: %q, want -ERR", a)
	}
}

// swaksAuth returns an attempt that authenticates with swaks on the
// submission port (STARTTLS) or the submissions port (implicit TLS).
func swaksAuth(service, mech string) func(t *testing.T, s *server, user, pass string) {
	return func(t *testing.T, s *server, user, pass string) {
		t.Helper()
		tlsFlag := "--tls"
		if service == "submissions" {
			tlsFlag = "--tls-on-connect"
		}
		r := swaks(t, "--port", s.port(service), tlsFlag, "--from", user, "--to", bob,
			"--auth", mech, "--auth-user", user, "--auth-password", pass, "--quit-after", "AUTH")
		if r.err == nil || !strings.Contains(r.stdout, "* 535") {
			t.Fatalf("swaks AUTH %s on %s with a wrong password was not refused with 535\n%s", mech, service, r)
		}
	}
}
