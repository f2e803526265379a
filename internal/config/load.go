package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/letterbox/letterbox/internal/auth"
)

// Load reads the TOML file at path over Defaults() and validates the
// result. Unknown keys are errors (a typo must not silently keep a
// default). Errors name the file and the key.
func Load(path string) (Config, error) {
	return LoadEnv(path, nil)
}

// LoadEnv is Load with the environment's overrides (see ApplyEnv) applied
// before validation; getenv is os.Getenv or a test's stand-in.
func LoadEnv(path string, getenv func(string) string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	cfg, err := ParseEnv(string(data), getenv)
	if err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

// Parse reads a TOML document over Defaults() and validates it.
func Parse(doc string) (Config, error) {
	return ParseEnv(doc, nil)
}

// ParseEnv is Parse with the environment's overrides applied before
// validation; a nil getenv applies none.
func ParseEnv(doc string, getenv func(string) string) (Config, error) {
	cfg := Defaults()
	md, err := toml.Decode(doc, &cfg)
	if err != nil {
		return Config{}, err
	}
	if undecoded := md.Undecoded(); len(undecoded) > 0 {
		var names []string
		for _, k := range undecoded {
			names = append(names, k.String())
		}
		return Config{}, fmt.Errorf("unknown key(s): %s", strings.Join(names, ", "))
	}
	cfg.ApplyEnv(getenv)
	cfg.normalize()
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// ApplyEnv applies the environment's overrides: EnvPostgresDSN, when set
// and not empty, replaces store.dsn. A nil getenv applies none.
func (c *Config) ApplyEnv(getenv func(string) string) {
	if getenv == nil {
		return
	}
	if dsn := getenv(EnvPostgresDSN); dsn != "" {
		c.Store.DSN = dsn
	}
}

// normalize lower-cases names that compare case-insensitively.
func (c *Config) normalize() {
	c.Hostname = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(c.Hostname)), ".")
	for i, d := range c.TLS.ACMEDomains {
		c.TLS.ACMEDomains[i] = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
	}
	for i, d := range c.LocalDomains {
		c.LocalDomains[i] = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
	}
	c.AllowPlaintextAuth = strings.ToLower(c.AllowPlaintextAuth)
	c.Store.Driver = strings.ToLower(strings.TrimSpace(c.Store.Driver))
	c.Log.Level = strings.ToLower(c.Log.Level)
}

// Validate checks every key and reports all problems at once, each
// prefixed with its key.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if c.Hostname != "" && !isDomainName(c.Hostname) {
		bad("hostname", "%q is not a host name", c.Hostname)
	}
	for i, d := range c.LocalDomains {
		if !isDomainName(d) {
			bad(fmt.Sprintf("local_domains[%d]", i), "%q is not a domain name", d)
		}
	}
	switch c.AllowPlaintextAuth {
	case PlaintextLoopback, PlaintextNever, PlaintextAlways:
	default:
		bad("allow_plaintext_auth", "%q: want %q, %q or %q", c.AllowPlaintextAuth, PlaintextLoopback, PlaintextNever, PlaintextAlways)
	}
	c.validateStore(bad)
	c.validateQuota(bad)
	c.validateOutbound(bad)
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		bad("tls", "cert_file and key_file must be set together")
	}
	c.validateACME(bad)
	seen := map[string]string{}
	for _, l := range c.Listeners() {
		key := "listen." + l.Name
		if l.Addr == "" {
			continue
		}
		if err := checkAddr(l.Addr); err != nil {
			bad(key, "%q: %v", l.Addr, err)
			continue
		}
		if other, dup := seen[l.Addr]; dup && !strings.HasSuffix(l.Addr, ":0") {
			bad(key, "%q is also listen.%s", l.Addr, other)
		}
		seen[l.Addr] = l.Name
	}
	positiveSize := func(key string, s Size) {
		if s <= 0 {
			bad(key, "must be positive")
		}
	}
	positiveInt := func(key string, n int) {
		if n <= 0 {
			bad(key, "must be positive")
		}
	}
	positiveDur := func(key string, d time.Duration) {
		if d <= 0 {
			bad(key, "must be a positive duration like \"90s\" or \"10m\"")
		}
	}
	positiveSize("max_message_size", c.MaxMessageSize)
	positiveInt("smtp.max_recipients", c.SMTP.MaxRecipients)
	positiveSize("smtp.max_line_length", c.SMTP.MaxLineLength)
	positiveDur("smtp.read_timeout", c.SMTP.ReadTimeout)
	positiveDur("smtp.write_timeout", c.SMTP.WriteTimeout)
	positiveInt("smtp.max_connections_per_ip", c.SMTP.MaxConnectionsPerIP)
	positiveInt("smtp.max_connections", c.SMTP.MaxConnections)
	positiveSize("pop3.max_line_length", c.POP3.MaxLineLength)
	positiveDur("pop3.idle_timeout", c.POP3.IdleTimeout)
	positiveInt("pop3.max_connections_per_ip", c.POP3.MaxConnectionsPerIP)
	positiveInt("pop3.max_connections", c.POP3.MaxConnections)
	positiveSize("imap.max_line_length", c.IMAP.MaxLineLength)
	positiveSize("imap.max_literal_size", c.IMAP.MaxLiteralSize)
	positiveInt("imap.max_connections_per_ip", c.IMAP.MaxConnectionsPerIP)
	positiveInt("imap.max_connections", c.IMAP.MaxConnections)
	positiveInt("imap.max_connections_per_user", c.IMAP.MaxConnectionsPerUser)
	positiveDur("imap.idle_timeout", c.IMAP.IdleTimeout)
	positiveDur("imap.command_timeout", c.IMAP.CommandTimeout)
	positiveSize("imap.metadata_max_value_size", c.IMAP.MetadataMaxValueSize)
	positiveInt("imap.metadata_max_entries", c.IMAP.MetadataMaxEntries)
	positiveSize("imap.metadata_max_total_size", c.IMAP.MetadataMaxTotalSize)
	if c.Auth.FailureDelay < 0 {
		bad("auth.failure_delay", "must not be negative")
	}
	if c.Auth.MaxFailureDelay < c.Auth.FailureDelay {
		bad("auth.max_failure_delay", "must be at least auth.failure_delay")
	}
	positiveInt("auth.max_failures_per_ip", c.Auth.MaxFailuresPerIP)
	if c.Auth.FailureRate <= 0 {
		bad("auth.failure_rate", "must be positive")
	}
	positiveInt("auth.spray_accounts", c.Auth.SprayAccounts)
	positiveDur("auth.failure_window", c.Auth.FailureWindow)
	positiveDur("auth.known_login_for", c.Auth.KnownLoginFor)
	if c.Auth.MaxConcurrentHashes < 0 {
		bad("auth.max_concurrent_hashes", "must not be negative (0 means the number of CPUs)")
	}
	if c.Auth.LoginCacheTTL < 0 {
		bad("auth.login_cache_ttl", "must not be negative (0 turns the cache off)")
	}
	positiveInt("auth.login_cache_size", c.Auth.LoginCacheSize)
	if c.Auth.Argon2Threads <= 0 || c.Auth.Argon2Threads > 255 {
		bad("auth.argon2_threads", "must be between 1 and 255")
	} else if c.Auth.Argon2Time <= 0 {
		bad("auth.argon2_time", "must be positive")
	} else if c.Auth.Argon2Memory%KiB != 0 {
		bad("auth.argon2_memory", "must be a whole number of KiB")
	} else if err := c.PasswordParams().Validate(); err != nil {
		bad("auth", "%v", strings.TrimPrefix(err.Error(), "auth: "))
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "%q: want debug, info, warn or error", c.Log.Level)
	}
	return errors.Join(errs...)
}

// validateStore checks [store]: a known driver, and for postgres a
// connection string pgx can parse. The error never repeats the string (it
// may hold a password), only pgx's reason.
func (c Config) validateQuota(bad func(key, format string, args ...any)) {
	if c.Quota.Messages < 0 {
		bad("quota.messages", "must be 0 (unlimited) or more, got %d", c.Quota.Messages)
	}
}

func (c Config) validateStore(bad func(key, format string, args ...any)) {
	switch c.Store.Driver {
	case DriverSQLite:
	case DriverPostgres:
		if strings.TrimSpace(c.Store.DSN) == "" {
			bad("store.dsn", "required when store.driver is %q (or set %s)", DriverPostgres, EnvPostgresDSN)
		} else if _, err := pgconn.ParseConfig(c.Store.DSN); err != nil {
			bad("store.dsn", "%s; want a URL like \"postgres://user:password@host:5432/dbname\" or key=value pairs like \"host=db dbname=letterbox\"", dsnErrorReason(err))
		}
	default:
		bad("store.driver", "%q: want %q or %q", c.Store.Driver, DriverSQLite, DriverPostgres)
	}
}

// dsnErrorReason is pgx's reason a connection string did not parse,
// without the string itself: pgx writes "cannot parse `DSN`: reason".
func dsnErrorReason(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, "`: "); i >= 0 {
		return msg[i+len("`: "):]
	}
	return "cannot be parsed"
}

// Listener is one configured listener.
type Listener struct {
	Name string // the key under [listen]
	Addr string // "" when disabled
}

// Listeners lists the [listen] keys in a fixed order.
func (c Config) Listeners() []Listener {
	l := c.Listen
	return []Listener{
		{"smtp", l.SMTP}, {"submission", l.Submission}, {"submissions", l.Submissions},
		{"lmtp", l.LMTP}, {"pop3", l.POP3}, {"pop3s", l.POP3S}, {"imap", l.IMAP}, {"imaps", l.IMAPS},
		{"jmap", l.JMAP},
		{"metrics", l.Metrics}, {"acme_http", l.ACMEHTTP},
	}
}

// PasswordParams are the argon2id parameters for new password hashes.
func (c Config) PasswordParams() auth.Params {
	p := auth.DefaultParams
	p.Memory = uint32(c.Auth.Argon2Memory / KiB)
	p.Time = uint32(c.Auth.Argon2Time)
	p.Threads = uint8(c.Auth.Argon2Threads)
	return p
}

func checkAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("bad port %q", port)
	}
	if host != "" && net.ParseIP(host) == nil && !isDomainName(host) {
		return fmt.Errorf("bad host %q", host)
	}
	return nil
}

// isDomainName reports whether s is a plausible DNS name: dot-separated
// labels of letters, digits and hyphens (RFC 1123 §2.1), not starting or
// ending with a hyphen; non-ASCII labels must be given in A-label (xn--)
// form.
func isDomainName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}
