package mailclient

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"
)

// Protocol is the mail access protocol a Client speaks.
type Protocol int

const (
	IMAP Protocol = iota
	POP3
)

func (p Protocol) String() string {
	if p == POP3 {
		return "pop3"
	}
	return "imap"
}

// Security is how the connection is protected.
type Security int

const (
	// ImplicitTLS starts TLS before the greeting (imaps 993, pop3s 995;
	// RFC 8314 §3.3).
	ImplicitTLS Security = iota
	// StartTLS upgrades a plain connection with STARTTLS (RFC 3501 §6.2.1)
	// or STLS (RFC 2595 §4), and fails when the server does not offer it.
	StartTLS
	// Plaintext uses no TLS at all: only for loopback and tests.
	Plaintext
)

func (s Security) String() string {
	switch s {
	case StartTLS:
		return "starttls"
	case Plaintext:
		return "none"
	}
	return "implicit"
}

// ParseSecurity parses "implicit" (or "tls"), "starttls" or "none" (or
// "plain").
func ParseSecurity(s string) (Security, error) {
	switch strings.ToLower(s) {
	case "implicit", "tls", "ssl":
		return ImplicitTLS, nil
	case "starttls", "stls":
		return StartTLS, nil
	case "none", "plain", "plaintext":
		return Plaintext, nil
	}
	return 0, fmt.Errorf("unknown TLS mode %q (want implicit, starttls or none)", s)
}

// Config says where and how to connect.
type Config struct {
	Protocol Protocol
	Security Security
	Addr     string // host:port
	User     string
	Password string
	// TLS is used for implicit TLS and STARTTLS. nil: verify against the
	// system roots with the host of Addr as server name.
	TLS *tls.Config
	// Timeout bounds dialing and the TLS handshake; 0 means 30 seconds.
	Timeout time.Duration
}

// DefaultTimeout is Config.Timeout's default.
const DefaultTimeout = 30 * time.Second

func (c Config) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return DefaultTimeout
}

// Host is the host part of Addr.
func (c Config) Host() string {
	h, _, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return c.Addr
	}
	return h
}

// ParseURL reads a server URL: imap://, imaps://, pop3://, pop3s:// (also
// pop:// and pops://), with an optional user (and password, discouraged)
// and port. imaps and pop3s mean implicit TLS on 993 and 995; imap and pop3
// mean STARTTLS/STLS on 143 and 110 (RFC 5092 and RFC 2384 name the
// schemes; the query "?tls=none|starttls|implicit" overrides the mode).
func ParseURL(raw string) (Config, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Config{}, fmt.Errorf("server URL: %w", err)
	}
	var c Config
	var port string
	switch strings.ToLower(u.Scheme) {
	case "imaps":
		c.Protocol, c.Security, port = IMAP, ImplicitTLS, "993"
	case "imap":
		c.Protocol, c.Security, port = IMAP, StartTLS, "143"
	case "pop3s", "pops":
		c.Protocol, c.Security, port = POP3, ImplicitTLS, "995"
	case "pop3", "pop":
		c.Protocol, c.Security, port = POP3, StartTLS, "110"
	case "":
		return Config{}, fmt.Errorf("server URL %q: want imaps://host, imap://host, pop3s://host or pop3://host", raw)
	default:
		return Config{}, fmt.Errorf("server URL %q: unknown scheme %q (want imap, imaps, pop3 or pop3s)", raw, u.Scheme)
	}
	if u.Hostname() == "" {
		return Config{}, fmt.Errorf("server URL %q: no host", raw)
	}
	if p := u.Port(); p != "" {
		port = p
	}
	c.Addr = net.JoinHostPort(u.Hostname(), port)
	if u.User != nil {
		c.User = u.User.Username()
		c.Password, _ = u.User.Password()
	}
	if mode := u.Query().Get("tls"); mode != "" {
		if c.Security, err = ParseSecurity(mode); err != nil {
			return Config{}, err
		}
	}
	if u.Path != "" && u.Path != "/" {
		return Config{}, fmt.Errorf("server URL %q: a path is not supported (use --mailbox)", raw)
	}
	return c, nil
}

// TLSOptions build the tls.Config of a connection.
type TLSOptions struct {
	ServerName string // "" → the host of the address
	CAFile     string // PEM certificates to trust instead of the system roots
	// Fingerprint pins the server certificate by its SHA-256 (see
	// ParseFingerprint): a certificate with that fingerprint is accepted
	// whoever signed it, any other is refused.
	Fingerprint string
	Insecure    bool // skip verification entirely
}

// NewTLSConfig makes the client TLS configuration: TLS 1.2 at least, the
// server name for SNI and verification, and the trust anchors asked for.
//
// Verification is done by the client (see trust.go), so that an untrusted
// certificate's error can show its fingerprint.
func NewTLSConfig(host string, o TLSOptions) (*tls.Config, error) {
	cfg := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12, InsecureSkipVerify: true}
	if o.ServerName != "" {
		cfg.ServerName = o.ServerName
	}
	t := trust{name: cfg.ServerName, insecure: o.Insecure}
	if o.Fingerprint != "" {
		pin, err := ParseFingerprint(o.Fingerprint)
		if err != nil {
			return nil, err
		}
		t.pin = pin
	}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s: no PEM certificate in it", o.CAFile)
		}
		t.roots = pool
	}
	cfg.VerifyConnection = t.verify
	return cfg, nil
}

// tlsConfig returns the configuration for a connection to c.Addr.
func (c Config) tlsConfig() *tls.Config {
	if c.TLS != nil {
		cfg := c.TLS.Clone()
		if cfg.ServerName == "" {
			cfg.ServerName = c.Host()
		}
		return cfg
	}
	cfg, _ := NewTLSConfig(c.Host(), TLSOptions{}) // no file to read: no error
	return cfg
}

// ErrUnsupported is wrapped by errors for operations the protocol cannot do
// (moving or flagging over POP3).
var ErrUnsupported = errors.New("not supported")

// unsupported returns an ErrUnsupported error explaining why.
func unsupported(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrUnsupported, fmt.Sprintf(format, a...))
}
