package mailclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// AccountsFile is the client's configuration file,
// $XDG_CONFIG_HOME/letterbox/client.toml (~/.config/letterbox/client.toml):
//
//	default = "work"
//
//	[account.work]
//	url = "imaps://alice@mail.example.com"
//	password_command = "pass show mail/alice"
//	smtp_url = "submission://mail.example.com:587"
//	fingerprint = "sha256:3F:2A:..."
type AccountsFile struct {
	Default  string             `toml:"default"`
	Accounts map[string]Account `toml:"account"`

	Path string `toml:"-"` // where it was read from
}

// Account is one [account.NAME] table.
type Account struct {
	Name string `toml:"-"`
	// URL is the IMAP or POP3 server, as --url takes it.
	URL string `toml:"url"`
	// User overrides the user of the URL.
	User string `toml:"user"`
	// PasswordCommand is run with sh -c; the first line of its output is
	// the password (e.g. "pass show mail/alice").
	PasswordCommand string `toml:"password_command"`
	// Netrc looks the password up in ~/.netrc (or $NETRC) by host and
	// login when no password_command is set. Default true.
	Netrc *bool `toml:"netrc"`
	// SMTPURL is the submission server: submission://host[:587] (STARTTLS)
	// or submissions://host[:465] (implicit TLS). Default: submission://
	// on the host of URL.
	SMTPURL string `toml:"smtp_url"`
	// From is the sender of `send`, e.g. "Alice <alice@example.com>".
	// Default: the user name when it is an address.
	From string `toml:"from"`
	// Sent is the folder for copies of sent mail; default: the one with
	// the \Sent special use (RFC 6154), else "Sent".
	Sent string `toml:"sent"`
	// Certificate trust: CAFile trusts the PEM certificates in a file;
	// Fingerprint pins the server certificate's SHA-256 ("sha256:AB:CD..."
	// or plain hex); Insecure skips verification (tests only).
	CAFile      string `toml:"ca_file"`
	Fingerprint string `toml:"fingerprint"`
	ServerName  string `toml:"servername"`
	Insecure    bool   `toml:"insecure"`
	TLS         string `toml:"tls"`
}

// DefaultAccountsPath is $XDG_CONFIG_HOME/letterbox/client.toml, with
// XDG_CONFIG_HOME defaulting to ~/.config (XDG Base Directory spec).
func DefaultAccountsPath(getenv func(string) string) string {
	dir := getenv("XDG_CONFIG_HOME")
	if dir == "" || !filepath.IsAbs(dir) {
		home := getenv("HOME")
		if home == "" {
			return ""
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "letterbox", "client.toml")
}

// LoadAccounts reads the accounts file at path. A missing file is an
// empty configuration, not an error; an unknown key is an error (a typo
// would otherwise be silently ignored).
func LoadAccounts(path string) (*AccountsFile, error) {
	af := &AccountsFile{Path: path}
	if path == "" {
		return af, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return af, nil
	}
	if err != nil {
		return nil, err
	}
	md, err := toml.Decode(string(data), af)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return nil, fmt.Errorf("%s: unknown setting %s", path, strings.Join(keys, ", "))
	}
	for name, a := range af.Accounts {
		a.Name = name
		if a.URL == "" {
			return nil, fmt.Errorf("%s: [account.%s] has no url", path, name)
		}
		af.Accounts[name] = a
	}
	if af.Default != "" {
		if _, ok := af.Accounts[af.Default]; !ok {
			return nil, fmt.Errorf("%s: default = %q, but there is no [account.%s]", path, af.Default, af.Default)
		}
	}
	return af, nil
}

// Account picks the account name, or the default one when name is "".
// ok is false when no account was asked for and there is no default (and
// not exactly one account).
func (af *AccountsFile) Account(name string) (Account, bool, error) {
	if name == "" {
		name = af.Default
		if name == "" && len(af.Accounts) == 1 {
			for n := range af.Accounts {
				name = n
			}
		}
		if name == "" {
			return Account{}, false, nil
		}
	}
	a, ok := af.Accounts[name]
	if !ok {
		names := make([]string, 0, len(af.Accounts))
		for n := range af.Accounts {
			names = append(names, n)
		}
		sort.Strings(names)
		where := af.Path
		if where == "" {
			where = "the accounts file"
		}
		if len(names) == 0 {
			return Account{}, false, fmt.Errorf("no account %q: %s defines none (see docs/CLIENT.md)", name, where)
		}
		return Account{}, false, fmt.Errorf("no account %q in %s (accounts: %s)", name, where, strings.Join(names, ", "))
	}
	return a, true, nil
}

// UseNetrc reports whether the netrc file may supply the password.
func (a Account) UseNetrc() bool { return a.Netrc == nil || *a.Netrc }

// PasswordFromCommand runs cmd with sh -c and returns the first line of
// its output: the convention of password managers (`pass show x` prints
// the password on line 1). stderr goes to the user's terminal so that a
// GPG prompt can be seen.
func PasswordFromCommand(ctx context.Context, cmd string, stderr *os.File) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	c := exec.CommandContext(ctx, "sh", "-c", cmd)
	var out bytes.Buffer
	c.Stdout = &out
	if stderr != nil {
		c.Stderr = stderr
	}
	c.Stdin = os.Stdin
	if err := c.Run(); err != nil {
		return "", fmt.Errorf("password_command %q failed: %w", cmd, err)
	}
	line, _, _ := strings.Cut(out.String(), "\n")
	line = strings.TrimSuffix(line, "\r")
	if line == "" {
		return "", fmt.Errorf("password_command %q printed no password on its first line", cmd)
	}
	return line, nil
}
