package dovecottest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/letterbox/letterbox/internal/testutil/loopback"
)

// ErrNotInstalled is returned when no dovecot binary is found.
var ErrNotInstalled = errors.New("dovecot not installed (apt-get install dovecot-imapd dovecot-pop3d dovecot-lmtpd)")

// Options shape one throwaway Dovecot.
type Options struct {
	// Users maps each user name to its plaintext password.
	Users map[string]string
	// TLS, when set, turns on STARTTLS/STLS and the imaps and pop3s
	// listeners with this certificate; without it they are off.
	TLS *KeyPair
	// LMTP adds an LMTP listener on a loopback TCP port.
	LMTP bool
	// Config is appended to the configuration (namespaces, service
	// limits); it must not repeat a block the base configuration has.
	Config string
	// Env is added to Dovecot's environment (e.g. "TZ=UTC").
	Env []string
	// TempPrefix names the temp directory; "" means "dovecottest-".
	TempPrefix string
}

// KeyPair is a PEM certificate chain and its PEM private key.
type KeyPair struct {
	CertPEM, KeyPEM []byte
}

// Server is a running Dovecot. The address fields are "127.0.0.1:port";
// IMAPS and POP3S are set only with Options.TLS, LMTP only with
// Options.LMTP.
type Server struct {
	Dir                      string // the temp directory holding everything
	IMAP, IMAPS, POP3, POP3S string
	LMTP                     string

	cmd      *exec.Cmd
	out      *os.File
	exited   chan struct{}
	stopOnce sync.Once
}

// Binary returns the path of the dovecot binary, or ErrNotInstalled.
func Binary() (string, error) {
	if bin, err := exec.LookPath("dovecot"); err == nil {
		return bin, nil
	}
	if _, err := os.Stat("/usr/sbin/dovecot"); err == nil {
		return "/usr/sbin/dovecot", nil
	}
	return "", ErrNotInstalled
}

// Start writes the configuration and the passwd-file to a new temp
// directory, runs `dovecot -F -c CONFIG` and returns once every listener
// accepts connections. On error nothing is left running and the directory
// is removed; the error carries Dovecot's output.
func Start(opts Options) (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	prefix := opts.TempPrefix
	if prefix == "" {
		prefix = "dovecottest-"
	}
	// Not t.TempDir: Dovecot's unprivileged login and internal processes
	// must reach base_dir, and t.TempDir's parents are mode 0700.
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return nil, err
	}
	s, err := start(bin, dir, opts)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

func start(bin, dir string, opts Options) (*Server, error) {
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, err
	}
	v := configVars{Dir: dir, TLS: opts.TLS != nil, LMTP: opts.LMTP, Extra: opts.Config}
	if err := mailOwner(&v); err != nil {
		return nil, err
	}
	ports, err := loopback.FreePorts(5)
	if err != nil {
		return nil, err
	}
	s := &Server{Dir: dir, exited: make(chan struct{})}
	v.IMAP, v.POP3 = ports[0], ports[1]
	s.IMAP, s.POP3 = loopback.Addr(v.IMAP), loopback.Addr(v.POP3)
	if opts.TLS != nil {
		v.IMAPS, v.POP3S = ports[2], ports[3]
		s.IMAPS, s.POP3S = loopback.Addr(v.IMAPS), loopback.Addr(v.POP3S)
		if err := os.WriteFile(filepath.Join(dir, "cert.pem"), opts.TLS.CertPEM, 0o644); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, "key.pem"), opts.TLS.KeyPEM, 0o600); err != nil {
			return nil, err
		}
	}
	if opts.LMTP {
		v.LMTPPort = ports[4]
		s.LMTP = loopback.Addr(v.LMTPPort)
	}
	for _, sub := range []string{"mail", "home"} {
		p := filepath.Join(dir, sub)
		if err := os.MkdirAll(p, 0o755); err != nil {
			return nil, err
		}
		if err := os.Chown(p, v.UID, v.GID); err != nil {
			return nil, err
		}
	}
	conf, err := renderConfig(v)
	if err != nil {
		return nil, err
	}
	confPath := filepath.Join(dir, "dovecot.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "passwd"), passwdFile(opts.Users), 0o644); err != nil {
		return nil, err
	}
	if s.out, err = os.Create(filepath.Join(dir, "dovecot.stdout")); err != nil {
		return nil, err
	}
	s.cmd = exec.Command(bin, "-F", "-c", confPath)
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	s.cmd.Env = append(os.Environ(), opts.Env...)
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		s.out.Close()
		return nil, fmt.Errorf("start dovecot: %w", err)
	}
	go func() { s.cmd.Wait(); close(s.exited) }()
	addrs := []string{s.IMAP, s.POP3}
	for _, a := range []string{s.IMAPS, s.POP3S, s.LMTP} {
		if a != "" {
			addrs = append(addrs, a)
		}
	}
	if err := loopback.Wait(30*time.Second, s.exited, addrs...); err != nil {
		s.Stop()
		return nil, fmt.Errorf("dovecot: %v\n%s", err, s.Output())
	}
	return s, nil
}

// mailOwner picks the account mail belongs to and the users Dovecot's
// login and internal processes run as. Dovecot refuses mail access as
// root: as root, mail belongs to nobody.
func mailOwner(v *configVars) error {
	if os.Geteuid() == 0 {
		nobody, err := user.Lookup("nobody")
		if err != nil {
			return err
		}
		v.UID, _ = strconv.Atoi(nobody.Uid)
		v.GID, _ = strconv.Atoi(nobody.Gid)
		v.LoginUser, v.InternalUser = "dovenull", "dovecot"
		return nil
	}
	me, err := user.Current()
	if err != nil {
		return err
	}
	v.UID, v.GID = os.Getuid(), os.Getgid()
	v.LoginUser, v.InternalUser = me.Username, me.Username
	return nil
}

// passwdFile is one "user:{PLAIN}password" line per user, sorted.
func passwdFile(users map[string]string) []byte {
	var b strings.Builder
	names := make([]string, 0, len(users))
	for u := range users {
		names = append(names, u)
	}
	sort.Strings(names)
	for _, u := range names {
		b.WriteString(u + ":{PLAIN}" + users[u] + "\n")
	}
	return []byte(b.String())
}

// Stop ends Dovecot (the master stops its children on SIGTERM; the whole
// process group is killed after 10 s). It keeps Dir; it may be called
// more than once.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(10 * time.Second):
			syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
			<-s.exited
		}
		s.out.Close()
	})
}

// Output is Dovecot's standard output and error followed by its log.
func (s *Server) Output() string {
	o, _ := os.ReadFile(filepath.Join(s.Dir, "dovecot.stdout"))
	log, _ := os.ReadFile(filepath.Join(s.Dir, "dovecot.log"))
	return string(o) + string(log)
}
