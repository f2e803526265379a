package auth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"time"

	"github.com/letterbox/letterbox/internal/metrics"
	"github.com/letterbox/letterbox/internal/store"
)

// Options configure a Service. Zero values take the defaults noted.
type Options struct {
	// Metrics counts login attempts by protocol and result; nil: none.
	Metrics *metrics.Metrics
	// Params hash the dummy password checked for unknown users, so they cost
	// the same time as known ones. Zero: DefaultParams. Use the same
	// parameters as for real accounts.
	Params Params
	// FailureDelay is what the first failure of an account from a remote
	// costs: the failed attempt's answer waits that long, and the pair's
	// next password check waits that long, doubled per further failure
	// within Window. Zero: 1s. Negative: no delay (tests).
	FailureDelay time.Duration
	// MaxFailureDelay caps the wait of a failing account and remote pair.
	// Zero: 60s.
	MaxFailureDelay time.Duration
	// MaxFailuresPerIP is the burst of failed checks a remote (IPv4
	// address or IPv6 /64) may have before FailureRate limits it. Zero: 10.
	MaxFailuresPerIP int
	// FailureRate is how many failed checks per second a remote earns
	// back. Zero: 0.3.
	FailureRate float64
	// SprayAccounts: failures against this many different account names
	// from one remote within Window block the remote for Window (known
	// pairs excepted). Zero: 5.
	SprayAccounts int
	// Window is the sliding window failures are counted in, and how long a
	// spraying remote stays blocked. Zero: 10 minutes.
	Window time.Duration
	// KnownLoginFor is how long a successful login of an account from a
	// remote makes that pair known: a known pair skips the remote's limits
	// (FailureRate, SprayAccounts). Zero: 30 days. Kept across restarts
	// when the store implements store.LoginHistory.
	KnownLoginFor time.Duration
	// MaxConcurrentHashes bounds password hashes running at once (each
	// holds the memory of its parameters); further logins queue in arrival
	// order and give up when their context ends. Zero: runtime.NumCPU().
	MaxConcurrentHashes int
	// CacheTTL is how long a verified login is remembered so the same
	// account and password (against the same stored hash) are accepted
	// without another argon2 hash. Zero: 15 minutes. Negative: no cache.
	CacheTTL time.Duration
	// CacheSize bounds the remembered logins (least recently used go
	// first). Zero: 10000.
	CacheSize int
	// KeepOutdatedHashes turns off rehashing: by default a successful
	// login whose stored hash was made with other parameters than Params
	// stores a new hash made with Params.
	KeepOutdatedHashes bool
	// MaxTrackedRemotes bounds the failure table before stale entries are
	// collected. Zero: 100000.
	MaxTrackedRemotes int
	// Now is the clock. Nil: time.Now.
	Now func() time.Time
	// Sleep waits d or until ctx is done. Nil: a real timer. Tests pass a
	// fake that advances their clock.
	Sleep func(ctx context.Context, d time.Duration)
	// Logger receives one line per login attempt (see logAttempt). Nil:
	// discard.
	Logger *slog.Logger
}

// Service is the Authenticator over a store.Store, shared by every front
// end so failures on POP3, IMAP and SMTP count together.
type Service struct {
	store    store.Store
	opts     Options
	throttle *throttle
	known    *knownLogins
	hashes   *hashLimiter // bounds and queues running hashes
	cache    *loginCache  // nil when Options.CacheTTL < 0
	dummy    string       // PHC hash checked for unknown users
	log      *slog.Logger

	// verify checks a password against a PHC string: VerifyPassword, or a
	// fake in tests that count or block hashes.
	verify func(phc, pw string) (bool, error)
}

var _ Authenticator = (*Service)(nil)

// New returns a Service checking passwords against s.
func New(s store.Store, opts Options) *Service {
	if opts.Params == (Params{}) {
		opts.Params = DefaultParams
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if err := opts.Params.Validate(); err != nil {
		log.Warn("invalid password hash parameters, using defaults", "err", err)
		opts.Params = DefaultParams
	}
	if opts.FailureDelay == 0 {
		opts.FailureDelay = time.Second
	}
	if opts.MaxFailureDelay == 0 {
		opts.MaxFailureDelay = 60 * time.Second
	}
	if opts.MaxFailuresPerIP <= 0 {
		opts.MaxFailuresPerIP = 10
	}
	if opts.FailureRate <= 0 {
		opts.FailureRate = 0.3
	}
	if opts.SprayAccounts <= 0 {
		opts.SprayAccounts = 5
	}
	if opts.Window <= 0 {
		opts.Window = 10 * time.Minute
	}
	if opts.KnownLoginFor <= 0 {
		opts.KnownLoginFor = 30 * 24 * time.Hour
	}
	if opts.MaxConcurrentHashes <= 0 {
		opts.MaxConcurrentHashes = runtime.NumCPU()
	}
	if opts.CacheTTL == 0 {
		opts.CacheTTL = 15 * time.Minute
	}
	if opts.CacheSize <= 0 {
		opts.CacheSize = 10000
	}
	if opts.MaxTrackedRemotes <= 0 {
		opts.MaxTrackedRemotes = 100000
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Sleep == nil {
		opts.Sleep = sleep
	}
	// A random password nobody knows; its hash is only ever compared.
	dummy, err := HashPassword(fmt.Sprintf("dummy-%d", time.Now().UnixNano()), opts.Params)
	if err != nil {
		// Validate passed, so only the system RNG can fail here; checking an
		// unknown user is then cheaper, which is a timing leak, not a hole.
		log.Error("cannot make dummy password hash", "err", err)
	}
	svc := &Service{
		store: s,
		opts:  opts,
		throttle: newThrottle(throttleOptions{
			window:        opts.Window,
			baseDelay:     max(opts.FailureDelay, 0),
			maxPairDelay:  max(opts.MaxFailureDelay, 0),
			rate:          opts.FailureRate,
			burst:         opts.MaxFailuresPerIP,
			sprayAccounts: opts.SprayAccounts,
			maxKeys:       opts.MaxTrackedRemotes,
		}),
		known:  newKnownLogins(s, opts.KnownLoginFor, opts.MaxTrackedRemotes),
		hashes: newHashLimiter(opts.MaxConcurrentHashes),
		dummy:  dummy,
		log:    log,
		verify: VerifyPassword,
	}
	if opts.CacheTTL > 0 {
		svc.cache = newLoginCache(opts.CacheTTL, opts.CacheSize, opts.Now)
	}
	return svc
}

func sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// NormalizeUsername maps a login name to the account name it stands for:
// account names are case-insensitive and stored lower-cased.
func NormalizeUsername(name string) string {
	return strings.ToLower(name)
}

// HashPassword hashes pw with the Service's parameters.
func (s *Service) HashPassword(pw string) (string, error) {
	return HashPassword(pw, s.opts.Params)
}

// SetPassword hashes pw with the Service's parameters (waiting for a hash
// slot like a login) and stores it as the password of account username.
// Logins of that account remembered by the cache are forgotten.
func (s *Service) SetPassword(ctx context.Context, username, pw string) error {
	name := NormalizeUsername(username)
	if err := s.hashes.acquire(ctx); err != nil {
		return err
	}
	phc, err := s.HashPassword(pw)
	s.hashes.release()
	if err != nil {
		return err
	}
	if s.cache != nil {
		defer s.cache.forget(name) // also after a failed write: it may have landed
	}
	return s.store.SetPasswordHash(ctx, name, phc)
}

// Authenticate implements Authenticator.
func (s *Service) Authenticate(ctx context.Context, a Attempt) (store.Account, error) {
	name := NormalizeUsername(a.Username)
	now := s.opts.Now()
	rk := remoteKey(a.Remote)
	known := false
	if name != "" && s.throttle.needsKnown(now, a.Remote) {
		known = s.known.has(ctx, name, rk, now)
	}
	v, wait := s.throttle.begin(now, a.Remote, name, known)
	if v != admitted {
		s.logAttempt(a, name, "throttled", v.String(), wait)
		s.opts.Sleep(ctx, min(max(s.opts.FailureDelay, 0), wait))
		return store.Account{}, ErrThrottled
	}
	acct, ok, err := s.check(ctx, name, a.Password)
	if err != nil {
		// Not the client's fault (store down, cancelled): no failure.
		s.throttle.end(s.opts.Now(), a.Remote, name, known, false)
		s.logAttempt(a, name, "error", "internal", 0)
		return store.Account{}, err
	}
	if ok {
		s.throttle.end(s.opts.Now(), a.Remote, name, known, false)
		s.known.add(ctx, acct.Name, rk, s.opts.Now())
		s.logAttempt(a, name, "ok", "", 0)
		return acct, nil
	}
	reason := "invalid-credentials"
	if acct.Name == "" {
		reason = "unknown-user"
	}
	fails := s.throttle.end(s.opts.Now(), a.Remote, name, known, true)
	s.logAttempt(a, name, "fail", reason, s.throttle.pairDelay(fails))
	s.opts.Sleep(ctx, max(s.opts.FailureDelay, 0))
	return store.Account{}, ErrInvalidCredentials
}

// logAttempt writes the one line every login attempt leaves, in the
// format docs/LOGINS.md documents and contrib/fail2ban matches:
//
//	msg=login result=fail proto=imap mech=PLAIN remote=192.0.2.7 user=alice@example.com reason=invalid-credentials retry_after=2s
//
// result is ok, fail, throttled or error; reason is empty for ok.
func (s *Service) logAttempt(a Attempt, name, result, reason string, retry time.Duration) {
	level := slog.LevelInfo
	if result != "ok" {
		level = slog.LevelWarn
	}
	remote := "unknown"
	if a.Remote.IsValid() {
		remote = a.Remote.Unmap().String()
	}
	attrs := []slog.Attr{
		slog.String("result", result),
		slog.String("proto", orUnknown(a.Protocol)),
		slog.String("mech", orUnknown(a.Mechanism)),
		slog.String("remote", remote),
		slog.String("user", name),
	}
	if reason != "" {
		attrs = append(attrs, slog.String("reason", reason))
	}
	if retry > 0 {
		attrs = append(attrs, slog.Duration("retry_after", retry))
	}
	s.log.LogAttrs(context.Background(), level, "login", attrs...)
	s.opts.Metrics.Login(orUnknown(a.Protocol), result)
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// check looks the account up and verifies the password. ok says the
// password matched. acct is set whenever the account exists. err is for
// failures that are not the client's fault (store down, cancelled).
//
// The throttle has already admitted the attempt: a blocked remote never
// gets here, not even with a password the cache would accept.
func (s *Service) check(ctx context.Context, name, password string) (acct store.Account, ok bool, err error) {
	if name == "" || password == "" {
		return store.Account{}, false, s.verifyDummy(ctx, password)
	}
	acct, err = s.store.Account(ctx, name)
	if errors.Is(err, store.ErrNoSuchAccount) {
		return store.Account{}, false, s.verifyDummy(ctx, password)
	}
	if err != nil {
		return store.Account{}, false, fmt.Errorf("auth: looking up account: %w", err)
	}
	phc := acct.PasswordHash
	var rehashed string // set when this call stored a new hash
	slow := func(ctx context.Context) (bool, error) {
		match, fresh, err := s.hash(ctx, name, phc, password)
		if err != nil {
			return false, err
		}
		if fresh != "" && s.storeRehash(ctx, name, phc, fresh) {
			rehashed = fresh
		}
		return match, nil
	}
	if s.cache == nil {
		ok, err = slow(ctx)
	} else {
		ok, _, err = s.cache.verify(ctx, name, password, phc, slow)
	}
	if err != nil {
		return store.Account{}, false, err
	}
	if rehashed != "" {
		acct.PasswordHash = rehashed
		if s.cache != nil {
			s.cache.add(name, password, rehashed)
		}
	}
	return acct, ok, nil
}

// hash verifies password against phc in a hash slot and, when it matches
// and phc is outdated, makes the hash to replace it (fresh) in the same
// slot. The only error is the context ending while queued.
func (s *Service) hash(ctx context.Context, name, phc, password string) (match bool, fresh string, err error) {
	if err := s.hashes.acquire(ctx); err != nil {
		return false, "", err
	}
	defer s.hashes.release()
	match, err = s.verify(phc, password)
	if err != nil {
		s.log.Error("stored password hash unusable; login refused", "user", name, "err", err)
		if s.dummy != "" {
			s.verify(s.dummy, password) // take the time a real check would
		}
		return false, "", nil
	}
	if match && !s.opts.KeepOutdatedHashes && Outdated(phc, s.opts.Params) {
		if fresh, err = s.HashPassword(password); err != nil {
			s.log.Error("rehashing password", "user", name, "err", err)
			fresh = ""
		}
	}
	return match, fresh, nil
}

// storeRehash stores fresh, a hash of the password that has just matched
// old made with the Service's parameters, in place of old, and reports
// whether it did.
//
// The store cannot compare and set, so the account is read again just
// before the write and left alone if its hash changed meanwhile (a password
// change must never be undone by a login with the old password). The
// window left is between that read and the write, and it opens once per
// account: once rehashed, a hash is no longer outdated.
func (s *Service) storeRehash(ctx context.Context, name, old, fresh string) bool {
	cur, err := s.store.Account(ctx, name)
	if err != nil || cur.PasswordHash != old {
		return false
	}
	if err := s.store.SetPasswordHash(ctx, name, fresh); err != nil {
		s.log.Warn("storing rehashed password", "user", name, "err", err)
		return false
	}
	s.log.Info("password rehashed with current parameters", "user", name)
	return true
}

// verifyDummy spends the time a real verification would (in a hash slot,
// like one), so a client cannot tell unknown users from wrong passwords by
// timing. The only error is the context ending while queued.
func (s *Service) verifyDummy(ctx context.Context, password string) error {
	if s.dummy == "" {
		return nil
	}
	if err := s.hashes.acquire(ctx); err != nil {
		return err
	}
	defer s.hashes.release()
	s.verify(s.dummy, password)
	return nil
}
