// Package config is letterbox's configuration file: its schema, defaults
// and validation. Only cmd/letterbox imports it; it turns a Config into the
// plain Options structs of the other packages.
//
// The file is TOML. Every key is optional; a missing key keeps its default.
// `letterbox config defaults` prints the whole file (DefaultsTOML).
package config

import (
	"time"
)

// Config is the whole configuration file.
type Config struct {
	// DataDir holds the database, message blobs and the self-signed
	// certificate. Empty: the directory given by --data / LETTERBOX_DATA.
	DataDir string `toml:"data_dir"`
	// Hostname names this server in greetings, Received headers and the
	// self-signed certificate. Empty: the system's host name.
	Hostname string `toml:"hostname"`
	// LocalDomains are the mail domains delivered here, besides the domains
	// of existing accounts.
	LocalDomains []string `toml:"local_domains"`
	// AllowPlaintextAuth says when a password may cross a connection
	// without TLS: PlaintextLoopback, PlaintextNever or PlaintextAlways.
	AllowPlaintextAuth string `toml:"allow_plaintext_auth"`
	// MaxMessageSize bounds a message received by SMTP/LMTP or IMAP APPEND.
	MaxMessageSize Size `toml:"max_message_size"`

	Store  Store  `toml:"store"`
	Quota  Quota  `toml:"quota"`
	TLS    TLS    `toml:"tls"`
	Listen Listen `toml:"listen"`
	SMTP   SMTP   `toml:"smtp"`
	POP3   POP3   `toml:"pop3"`
	IMAP   IMAP   `toml:"imap"`
	Auth   Auth   `toml:"auth"`
	Log    Log    `toml:"log"`

	Outbound Outbound `toml:"outbound"` // outbound.go
	Relay    Relay    `toml:"relay"`
	Inbound  Inbound  `toml:"inbound"`
}

// Values of AllowPlaintextAuth.
const (
	PlaintextLoopback = "loopback" // only clients on a loopback address
	PlaintextNever    = "never"
	PlaintextAlways   = "always"
)

// Store selects the store driver.
type Store struct {
	// Driver is DriverSQLite (one node, files in the data directory) or
	// DriverPostgres (several nodes may share one database).
	Driver string `toml:"driver"`
	// DSN is the PostgreSQL connection string (driver "postgres"); the
	// environment variable EnvPostgresDSN overrides it when set.
	DSN string `toml:"dsn"`
	// SpoolDir holds incoming bodies while they are received, before the
	// postgres driver copies them into the database. Empty: DATA/spool.
	SpoolDir string `toml:"spool_dir"`
}

// Quota is the default quota (RFC 9208) of accounts without limits of
// their own (`letterbox user quota`). 0 means unlimited.
type Quota struct {
	// Storage bounds the octets of an account's messages.
	Storage Size `toml:"storage"`
	// Messages bounds the number of an account's messages.
	Messages int64 `toml:"messages"`
}

// Values of Store.Driver.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

// EnvPostgresDSN, when set and not empty, replaces store.dsn, so the
// password need not be written in the file.
const EnvPostgresDSN = "LETTERBOX_POSTGRES_DSN"

// TLS names a real certificate. Both empty: a self-signed one is made,
// or with ACME one is requested from a CA (acme.go).
type TLS struct {
	CertFile string `toml:"cert_file"`
	KeyFile  string `toml:"key_file"`

	// ACME requests the certificate from an ACME CA (RFC 8555) and renews
	// it; the self-signed one serves until the first issuance.
	ACME bool `toml:"acme"`
	// ACMEDomains are the names in the certificate; empty: hostname.
	ACMEDomains []string `toml:"acme_domains"`
	// ACMEEmail is the account's contact for the CA's notices.
	ACMEEmail string `toml:"acme_email"`
	// ACMEDirectory is the CA's directory URL (default Let's Encrypt).
	ACMEDirectory string `toml:"acme_directory"`
	// ACMEDirectoryCA is a PEM file of roots for the directory's HTTPS
	// certificate (a private or test CA); empty: the system's roots.
	ACMEDirectoryCA string `toml:"acme_directory_ca"`
	// ACMERenewBefore is how long before expiry to renew; 0: a third of
	// the lifetime, at most 30 days.
	ACMERenewBefore time.Duration `toml:"acme_renew_before"`
}

// Listen gives each listener's address ("host:port"); empty disables it.
type Listen struct {
	SMTP        string `toml:"smtp"`
	Submission  string `toml:"submission"`
	Submissions string `toml:"submissions"`
	LMTP        string `toml:"lmtp"`
	POP3        string `toml:"pop3"`
	POP3S       string `toml:"pop3s"`
	IMAP        string `toml:"imap"`
	IMAPS       string `toml:"imaps"`
	// JMAP serves JMAP (RFC 8620/8621) over HTTPS, and plain HTTP on the
	// same port where allow_plaintext_auth permits passwords.
	JMAP string `toml:"jmap"`
	// Metrics serves Prometheus metrics over plain HTTP at /metrics; off
	// by default (keep it on loopback or a trusted network).
	Metrics string `toml:"metrics"`
	// ACMEHTTP answers ACME HTTP-01 challenges over plain HTTP (port 80
	// as the CA sees it); only with tls.acme.
	ACMEHTTP string `toml:"acme_http"`
}

// SMTP limits, for SMTP, submission and LMTP.
type SMTP struct {
	MaxRecipients int           `toml:"max_recipients"`
	MaxLineLength Size          `toml:"max_line_length"`
	ReadTimeout   time.Duration `toml:"read_timeout"`
	WriteTimeout  time.Duration `toml:"write_timeout"`
	// Each of the SMTP, submission (587 and 465 together) and LMTP
	// services counts its own connections.
	MaxConnectionsPerIP int `toml:"max_connections_per_ip"`
	MaxConnections      int `toml:"max_connections"`
}

// POP3 limits.
type POP3 struct {
	MaxLineLength Size          `toml:"max_line_length"`
	IdleTimeout   time.Duration `toml:"idle_timeout"`
	// POP3 and POP3S count together.
	MaxConnectionsPerIP int `toml:"max_connections_per_ip"`
	MaxConnections      int `toml:"max_connections"`
}

// IMAP limits.
type IMAP struct {
	MaxLineLength  Size `toml:"max_line_length"`
	MaxLiteralSize Size `toml:"max_literal_size"`
	// LiteralMinus advertises LITERAL- (non-synchronizing literals up to
	// 4096 octets) instead of LITERAL+ (RFC 7888).
	LiteralMinus bool `toml:"literal_minus"`
	// IMAP and IMAPS count together.
	MaxConnectionsPerIP   int           `toml:"max_connections_per_ip"`
	MaxConnections        int           `toml:"max_connections"`
	MaxConnectionsPerUser int           `toml:"max_connections_per_user"`
	IdleTimeout           time.Duration `toml:"idle_timeout"`
	CommandTimeout        time.Duration `toml:"command_timeout"`
	// METADATA (RFC 5464): largest value, most entries per mailbox (and
	// of the server entries of an account), most octets per account; the
	// server's /shared/admin and /shared/comment ("" answers NIL).
	MetadataMaxValueSize  Size   `toml:"metadata_max_value_size"`
	MetadataMaxEntries    int    `toml:"metadata_max_entries"`
	MetadataMaxTotalSize  Size   `toml:"metadata_max_total_size"`
	MetadataServerAdmin   string `toml:"metadata_server_admin"`
	MetadataServerComment string `toml:"metadata_server_comment"`
}

// Auth is password hashing and failed-login throttling, shared by every
// protocol.
type Auth struct {
	FailureDelay     time.Duration `toml:"failure_delay"`
	MaxFailureDelay  time.Duration `toml:"max_failure_delay"`
	MaxFailuresPerIP int           `toml:"max_failures_per_ip"`
	FailureRate      float64       `toml:"failure_rate"`
	SprayAccounts    int           `toml:"spray_accounts"`
	FailureWindow    time.Duration `toml:"failure_window"`
	KnownLoginFor    time.Duration `toml:"known_login_for"`
	Argon2Memory     Size          `toml:"argon2_memory"`
	Argon2Time       int           `toml:"argon2_time"`
	Argon2Threads    int           `toml:"argon2_threads"`
	// MaxConcurrentHashes bounds password hashes running at once; 0 means
	// the number of CPUs.
	MaxConcurrentHashes int `toml:"max_concurrent_hashes"`
	// LoginCacheTTL is how long a verified login is remembered; 0 turns
	// the cache off.
	LoginCacheTTL  time.Duration `toml:"login_cache_ttl"`
	LoginCacheSize int           `toml:"login_cache_size"`
	// RehashOnLogin replaces a stored hash made with other argon2
	// parameters at the next successful login.
	RehashOnLogin bool `toml:"rehash_on_login"`
}

// Log configures logging to standard error.
type Log struct {
	// Level is "debug", "info", "warn" or "error".
	Level string `toml:"level"`
}

// Defaults returns the configuration used when there is no file; every
// key of a file overrides one of these.
func Defaults() Config {
	return Config{
		LocalDomains:       []string{},
		AllowPlaintextAuth: PlaintextLoopback,
		MaxMessageSize:     50 * MiB,
		Store:              Store{Driver: DriverSQLite},
		TLS:                TLS{ACMEDomains: []string{}, ACMEDirectory: DefaultACMEDirectory},
		Listen: Listen{
			SMTP:        "127.0.0.1:2525",
			Submission:  "127.0.0.1:5587",
			Submissions: "127.0.0.1:5465",
			LMTP:        "127.0.0.1:2424",
			POP3:        "127.0.0.1:1110",
			POP3S:       "127.0.0.1:1995",
			IMAP:        "127.0.0.1:1143",
			IMAPS:       "127.0.0.1:1993",
			JMAP:        "127.0.0.1:8443",
		},
		SMTP: SMTP{
			MaxRecipients: 100,
			MaxLineLength: 8 * KiB,
			ReadTimeout:   5 * time.Minute,
			WriteTimeout:  time.Minute,

			MaxConnectionsPerIP: 50,
			MaxConnections:      1000,
		},
		POP3: POP3{
			MaxLineLength: 1 * KiB,
			IdleTimeout:   10 * time.Minute,

			MaxConnectionsPerIP: 20,
			MaxConnections:      1000,
		},
		IMAP: IMAP{
			MaxLineLength:         64 * KiB,
			MaxLiteralSize:        64 * KiB,
			MaxConnectionsPerIP:   50,
			MaxConnections:        1000,
			MaxConnectionsPerUser: 50,
			IdleTimeout:           30 * time.Minute,
			CommandTimeout:        5 * time.Minute,
			MetadataMaxValueSize:  64 * KiB,
			MetadataMaxEntries:    100,
			MetadataMaxTotalSize:  1 * MiB,
		},
		Auth: Auth{
			FailureDelay:     time.Second,
			MaxFailureDelay:  time.Minute,
			MaxFailuresPerIP: 10,
			FailureRate:      0.3,
			SprayAccounts:    5,
			FailureWindow:    10 * time.Minute,
			KnownLoginFor:    30 * 24 * time.Hour,
			Argon2Memory:     19 * MiB,
			Argon2Time:       2,
			Argon2Threads:    2,

			MaxConcurrentHashes: 0,
			LoginCacheTTL:       15 * time.Minute,
			LoginCacheSize:      10000,
			RehashOnLogin:       true,
		},
		Log:      Log{Level: "info"},
		Outbound: defaultOutbound(),
		Relay:    defaultRelay(),
		Inbound:  defaultInbound(),
	}
}
