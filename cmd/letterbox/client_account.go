package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/letterbox/letterbox/internal/mailclient"
)

// clientMoreFlags are the flags of accounts, trust, output and the verbs
// of reading, folders and sending.
type clientMoreFlags struct {
	account, fingerprint, smtpURL string
	json, raw, edit, all          bool

	saveDir, sentFolder, fromAddr string
	rcptTo, cc, bcc               string
	attach                        listFlag
	attachment                    int
}

// listFlag is a repeatable string flag (--attach a --attach b).
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func moreConnectionFlags(fs *flag.FlagSet, cf *clientFlags) {
	fs.StringVar(&cf.account, "account", "", "use the account `NAME` of $XDG_CONFIG_HOME/letterbox/client.toml (default: the file's default = ...; see docs/CLIENT.md)")
	fs.StringVar(&cf.fingerprint, "fingerprint", "", "accept only the server certificate with this SHA-256 fingerprint (sha256:AB:CD:...)")
	fs.StringVar(&cf.smtpURL, "smtp-url", "", "submission server for send/reply/forward: submission://host:587 or submissions://host:465 (default: the account's smtp_url, else the IMAP host on 587)")
	fs.BoolVar(&cf.json, "json", false, "machine-readable output (list, search, unread, mailboxes, read, accounts; schema in docs/CLIENT.md)")
}

// clientSetup is the resolved connection: the server, the credentials,
// the trust, the submission server and the account it came from.
type clientSetup struct {
	cfg     mailclient.Config
	smtp    mailclient.SMTPConfig
	account mailclient.Account
	from    string // the sender of send/reply/forward
}

func (s *clientSetup) dial(e *env) (mailclient.Client, error) {
	return mailclient.Dial(e.ctx, s.cfg)
}

// accountsPath is where the accounts file is read from.
func accountsPath(e *env) string { return mailclient.DefaultAccountsPath(e.getenv) }

// setup builds the connection from, in order of preference: the flags,
// the account (--account or the default one), $LETTERBOX_URL.
func (cf *clientFlags) setup(e *env) (*clientSetup, error) {
	af, err := mailclient.LoadAccounts(accountsPath(e))
	if err != nil {
		return nil, err
	}
	acct, haveAcct, err := af.Account(cf.account)
	if err != nil {
		return nil, err
	}
	raw := cf.url
	if raw == "" && haveAcct {
		raw = acct.URL
	}
	if raw == "" {
		raw = e.getenv("LETTERBOX_URL")
	}
	if raw == "" {
		return nil, usagef("no server: give --url (e.g. imaps://alice@mail.example.com), --account NAME, or a default account in %s", accountsPath(e))
	}
	cfg, err := mailclient.ParseURL(raw)
	if err != nil {
		return nil, usagef("%v", err)
	}
	if acct.User != "" {
		cfg.User = acct.User
	}
	if cf.user != "" {
		cfg.User = cf.user
	}
	if cfg.User == "" {
		return nil, usagef("no user: give --user or put it in the URL (imaps://alice@host)")
	}
	mode := first(cf.tlsMode, acct.TLS)
	if mode != "" {
		if cfg.Security, err = mailclient.ParseSecurity(mode); err != nil {
			return nil, usagef("%v", err)
		}
	}
	cfg.Timeout = cf.timeout
	trust := mailclient.TLSOptions{
		CAFile:      first(cf.ca, acct.CAFile),
		ServerName:  first(cf.serverName, acct.ServerName),
		Fingerprint: first(cf.fingerprint, acct.Fingerprint),
		Insecure:    cf.insecure || acct.Insecure,
	}
	if cfg.Security != mailclient.Plaintext {
		if cfg.TLS, err = mailclient.NewTLSConfig(cfg.Host(), trust); err != nil {
			return nil, err
		}
	}
	s := &clientSetup{cfg: cfg, account: acct}
	smtpRaw := first(cf.smtpURL, acct.SMTPURL)
	if smtpRaw == "" {
		smtpRaw = mailclient.DefaultSMTPURL(cfg.Host())
	}
	if s.smtp, err = mailclient.ParseSMTPURL(smtpRaw); err != nil {
		return nil, usagef("%v", err)
	}
	s.smtp.Timeout = cf.timeout
	smtpHost := s.smtp.Addr[:strings.LastIndexByte(s.smtp.Addr, ':')]
	if s.smtp.TLS, err = mailclient.NewTLSConfig(strings.Trim(smtpHost, "[]"), trust); err != nil {
		return nil, err
	}
	s.from = first(cf.fromAddr, acct.From)
	if s.from == "" && strings.Contains(cfg.User, "@") {
		s.from = cfg.User
	}
	cfg.Password, err = cf.password(e, cfg, acct)
	if err != nil {
		return nil, err
	}
	s.cfg = cfg
	s.smtp.User = first(s.smtp.User, cfg.User)
	s.smtp.Password = cfg.Password
	return s, nil
}

func first(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// password comes from --password-file, $LETTERBOX_PASSWORD, the URL, the
// account's password_command, the netrc file, or a prompt on the
// terminal, in that order.
func (cf *clientFlags) password(e *env, cfg mailclient.Config, acct mailclient.Account) (string, error) {
	if cf.passwordFile != "" {
		f, err := os.Open(cf.passwordFile)
		if err != nil {
			return "", err
		}
		defer f.Close()
		line, err := bufio.NewReaderSize(io.LimitReader(f, maxPasswordLine+2), maxPasswordLine+2).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("reading %s: %w", cf.passwordFile, err)
		}
		pw := strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		if pw == "" {
			return "", fmt.Errorf("%s: empty password", cf.passwordFile)
		}
		return pw, nil
	}
	if pw := e.getenv("LETTERBOX_PASSWORD"); pw != "" {
		return pw, nil
	}
	if cfg.Password != "" {
		return cfg.Password, nil
	}
	if acct.PasswordCommand != "" {
		var stderr *os.File
		if f, ok := e.stderr.(*os.File); ok {
			stderr = f
		}
		return mailclient.PasswordFromCommand(e.ctx, acct.PasswordCommand, stderr)
	}
	if acct.UseNetrc() {
		path := mailclient.NetrcPath(e.getenv)
		pw, found, err := mailclient.NetrcPassword(path, cfg.Host(), cfg.User)
		if err != nil {
			return "", fmt.Errorf("netrc %s: %w", path, err)
		}
		if found {
			return pw, nil
		}
	}
	if f, ok := e.stdin.(*os.File); ok && isTerminal(f) {
		fmt.Fprintf(e.stderr, "Password for %s at %s: ", cfg.User, cfg.Addr)
		pw, err := readNoEcho(f)
		fmt.Fprintln(e.stderr)
		return pw, err
	}
	return "", errors.New("no password: set password_command in the account (docs/CLIENT.md), add the host to ~/.netrc, use --password-file or $LETTERBOX_PASSWORD, or run on a terminal to be asked")
}
