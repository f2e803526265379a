package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

func TestDefaultsTOMLParsesToDefaults(t *testing.T) {
	got, err := Parse(DefaultsTOML())
	if err != nil {
		t.Fatalf("DefaultsTOML does not parse: %v\n%s", err, DefaultsTOML())
	}
	if !reflect.DeepEqual(got, Defaults()) {
		t.Fatalf("DefaultsTOML parses to\n%+v\nwant\n%+v", got, Defaults())
	}
	if err := Defaults().Validate(); err != nil {
		t.Fatalf("Defaults() invalid: %v", err)
	}
}

// Every key of the schema appears in DefaultsTOML, so the printed file is
// the whole file.
func TestDefaultsTOMLHasEveryKey(t *testing.T) {
	var c Config
	md, err := toml.Decode(DefaultsTOML(), &c)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range schemaKeys(reflect.TypeOf(Config{}), nil) {
		if !md.IsDefined(key...) {
			t.Errorf("key %s missing from DefaultsTOML", strings.Join(key, "."))
		}
	}
}

// schemaKeys lists the leaf keys of a struct by their toml tags.
func schemaKeys(t reflect.Type, prefix []string) [][]string {
	var keys [][]string
	for i := range t.NumField() {
		f := t.Field(i)
		name := f.Tag.Get("toml")
		if name == "" {
			continue
		}
		key := append(append([]string{}, prefix...), name)
		if f.Type.Kind() == reflect.Struct {
			keys = append(keys, schemaKeys(f.Type, key)...)
		} else {
			keys = append(keys, key)
		}
	}
	return keys
}

// Every key line is explained by a comment above it (a run of related keys
// may share one).
func TestDefaultsTOMLCommentsEveryKey(t *testing.T) {
	prevComment := false
	for _, line := range strings.Split(DefaultsTOML(), "\n") {
		switch {
		case strings.HasPrefix(line, "#"):
			prevComment = true
		case strings.Contains(line, " = "):
			if !prevComment {
				t.Errorf("key line without a comment: %q", line)
			}
		default: // blank line or table header
			prevComment = false
		}
	}
}

func TestLoadOverrides(t *testing.T) {
	path := filepath.Join(t.TempDir(), "letterbox.toml")
	doc := `
hostname = "Mail.Example.COM."
local_domains = ["Example.com", "example.org"]
allow_plaintext_auth = "never"
max_message_size = "10MiB"

[listen]
smtp = ":25"
imap = ""

[pop3]
idle_timeout = "15m"

[auth]
failure_delay = "250ms"
argon2_memory = 19456

[log]
level = "DEBUG"

[store]
driver = "PostgreS"
dsn = "host=db.example dbname=letterbox"
spool_dir = "/var/spool/letterbox"
`
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want := Defaults()
	want.Hostname = "mail.example.com"
	want.LocalDomains = []string{"example.com", "example.org"}
	want.AllowPlaintextAuth = PlaintextNever
	want.MaxMessageSize = 10 * MiB
	want.Listen.SMTP = ":25"
	want.Listen.IMAP = ""
	want.POP3.IdleTimeout = 15 * time.Minute
	want.Auth.FailureDelay = 250 * time.Millisecond
	want.Auth.Argon2Memory = 19456
	want.Log.Level = "debug"
	want.Store = Store{Driver: DriverPostgres, DSN: "host=db.example dbname=letterbox", SpoolDir: "/var/spool/letterbox"}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("got\n%+v\nwant\n%+v", c, want)
	}
	if p := c.PasswordParams(); p.Memory != 19 || p.Time != 2 || p.Threads != 2 {
		t.Fatalf("PasswordParams = %+v", p)
	}
}

func TestLoadErrorsNameTheKey(t *testing.T) {
	tests := []struct {
		doc  string
		want []string // substrings of the error
	}{
		{`hostnme = "x"`, []string{"unknown key", "hostnme"}},
		{"[listen]\npop = \":110\"", []string{"unknown key", "listen.pop"}},
		{`hostname = "bad host"`, []string{"hostname:"}},
		{`local_domains = ["ok.example", "not a domain"]`, []string{"local_domains[1]:"}},
		{`allow_plaintext_auth = "sometimes"`, []string{"allow_plaintext_auth:", "sometimes"}},
		{`max_message_size = "lots"`, []string{"max_message_size", "invalid size"}},
		{`max_message_size = 0`, []string{"max_message_size: must be positive"}},
		{"[tls]\ncert_file = \"/c.pem\"", []string{"tls: cert_file and key_file"}},
		{"[listen]\nsmtp = \"nowhere\"", []string{"listen.smtp:", "nowhere"}},
		{"[listen]\npop3 = \"127.0.0.1:99999\"", []string{"listen.pop3:", "bad port"}},
		{"[listen]\npop3 = \"127.0.0.1:110\"\npop3s = \"127.0.0.1:110\"", []string{"listen.pop3s:", "also listen.pop3"}},
		{"[pop3]\nidle_timeout = \"soon\"", []string{"idle_timeout"}},
		{"[imap]\nidle_timeout = \"-1s\"", []string{"imap.idle_timeout: must be a positive duration"}},
		{"[imap]\nmax_connections_per_ip = 0", []string{"imap.max_connections_per_ip: must be positive"}},
		{"[imap]\nmax_connections = 0", []string{"imap.max_connections: must be positive"}},
		{"[auth]\nmax_failure_delay = \"1ms\"", []string{"auth.max_failure_delay"}},
		{"[auth]\nargon2_threads = 0", []string{"auth.argon2_threads"}},
		{"[auth]\nmax_concurrent_hashes = -1", []string{"auth.max_concurrent_hashes"}},
		{"[auth]\nlogin_cache_ttl = \"-1m\"", []string{"auth.login_cache_ttl"}},
		{"[auth]\nlogin_cache_size = 0", []string{"auth.login_cache_size"}},
		{"[auth]\nargon2_memory = \"1000B\"", []string{"auth.argon2_memory: must be a whole number of KiB"}},
		{"[auth]\nargon2_memory = \"8GiB\"", []string{"auth:", "memory"}},
		{"[log]\nlevel = \"loud\"", []string{"log.level:", "loud"}},
		{"[store]\ndriver = \"mysql\"", []string{"store.driver:", "mysql", `"sqlite" or "postgres"`}},
		{"[store]\ndriver = \"postgres\"", []string{"store.dsn: required", "LETTERBOX_POSTGRES_DSN"}},
		{"[store]\ndriver = \"postgres\"\ndsn = \"  \"", []string{"store.dsn: required"}},
		{"[store]\ndriver = \"postgres\"\ndsn = \"localhost\"", []string{"store.dsn:", "keyword/value"}},
		{"[store]\ndriver = \"postgres\"\ndsn = \"postgres://u:s3cr3t@h/db?sslmode=bogus\"", []string{"store.dsn:", "sslmode is invalid"}},
		{"[store]\ndirver = \"postgres\"", []string{"unknown key", "store.dirver"}},
		{"smtp = [", []string{"line 1"}},
		// Several problems are reported together.
		{"hostname = \"-x\"\n[log]\nlevel = \"x\"", []string{"hostname:", "log.level:"}},
	}
	for _, tc := range tests {
		_, err := Parse(tc.doc)
		if err == nil {
			t.Errorf("Parse(%q): no error", tc.doc)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Parse(%q): error %q lacks %q", tc.doc, err, w)
			}
		}
	}
}

// A DSN in the file never appears in an error: it may hold a password.
func TestDSNErrorHidesTheDSN(t *testing.T) {
	for _, dsn := range []string{
		"postgres://u:s3cr3t@h/db?sslmode=bogus",
		"postgres://u:s3 cr3t@h/db",
		"host=h password=s3cr3t port=abc",
	} {
		_, err := Parse("[store]\ndriver = \"postgres\"\ndsn = " + strconv.Quote(dsn))
		if err == nil || !strings.Contains(err.Error(), "store.dsn:") || strings.Contains(err.Error(), "s3") {
			t.Errorf("dsn %q: error %v", dsn, err)
		}
	}
}

// LETTERBOX_POSTGRES_DSN replaces store.dsn (also an absent one) before
// validation; unset or empty, the file's value stays.
func TestEnvOverridesDSN(t *testing.T) {
	doc := "[store]\ndriver = \"postgres\"\n"
	envDSN := "postgres://letterbox@db.example/letterbox"
	env := func(vals map[string]string) func(string) string {
		return func(k string) string { return vals[k] }
	}
	c, err := ParseEnv(doc, env(map[string]string{EnvPostgresDSN: envDSN}))
	if err != nil || c.Store.DSN != envDSN {
		t.Fatalf("env DSN without dsn key: %+v, %v", c.Store, err)
	}
	c, err = ParseEnv(doc+"dsn = \"host=file.example\"\n", env(map[string]string{EnvPostgresDSN: envDSN}))
	if err != nil || c.Store.DSN != envDSN {
		t.Fatalf("env DSN over the file's: %+v, %v", c.Store, err)
	}
	c, err = ParseEnv(doc+"dsn = \"host=file.example\"\n", env(map[string]string{EnvPostgresDSN: ""}))
	if err != nil || c.Store.DSN != "host=file.example" {
		t.Fatalf("empty env DSN: %+v, %v", c.Store, err)
	}
	if _, err := ParseEnv(doc, env(nil)); err == nil || !strings.Contains(err.Error(), "store.dsn") {
		t.Fatalf("no DSN anywhere: %v", err)
	}
	path := filepath.Join(t.TempDir(), "letterbox.toml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	if c, err := LoadEnv(path, env(map[string]string{EnvPostgresDSN: envDSN})); err != nil || c.Store.DSN != envDSN {
		t.Fatalf("LoadEnv: %+v, %v", c.Store, err)
	}
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "store.dsn") {
		t.Fatalf("Load ignores the environment, so the file alone lacks a DSN: %v", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "none.toml"))
	if err == nil || !strings.Contains(err.Error(), "none.toml") {
		t.Fatalf("err = %v", err)
	}
}

func TestSize(t *testing.T) {
	tests := []struct {
		in   string
		want Size
		str  string
		bad  bool
	}{
		{in: "50MiB", want: 50 * MiB, str: "50MiB"},
		{in: "64 KiB", want: 64 * KiB, str: "64KiB"},
		{in: "1GiB", want: GiB, str: "1GiB"},
		{in: "1536KiB", want: 1536 * KiB, str: "1536KiB"},
		{in: "1000", want: 1000, str: "1000B"},
		{in: "512B", want: 512, str: "512B"},
		{in: "0", want: 0, str: "0B"},
		{in: "", bad: true},
		{in: "MiB", bad: true},
		{in: "-1", bad: true},
		{in: "5MB", bad: true},
		{in: "99999999999GiB", bad: true},
	}
	for _, tc := range tests {
		var s Size
		err := s.UnmarshalText([]byte(tc.in))
		if tc.bad {
			if err == nil {
				t.Errorf("Size %q parsed as %d", tc.in, s)
			}
			continue
		}
		if err != nil || s != tc.want || s.String() != tc.str {
			t.Errorf("Size %q = %d (%s), %v; want %d (%s)", tc.in, s, s, err, tc.want, tc.str)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Hour: "1h", 30 * time.Minute: "30m", 90 * time.Second: "90s",
		1500 * time.Millisecond: "1.5s", 0: "0s",
	} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
