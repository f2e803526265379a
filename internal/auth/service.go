package auth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"runtime"
	"strings"
	"time"

	"github.com/letterbox/letterbox/internal/store"
)

// Options configure a Service. Zero values take the defaults noted.
type Options struct {
	// Params hash the dummy password checked for unknown users, so they cost
	// the same time as known ones. Zero: DefaultParams. Use the same
	// parameters as for real accounts.
	Params Params
	// FailureDelay is the delay a failed attempt costs, multiplied by the
	// number of recent failures of its remote or account. Zero: 1s.
	FailureDelay time.Duration
	// MaxFailureDelay caps the delay of one failed attempt. Zero: 8×FailureDelay.
	MaxFailureDelay time.Duration
	// MaxFailuresPerIP failures within Window block a remote (IPv4
	// address or IPv6 /64) for Window. Zero: 10.
	MaxFailuresPerIP int
	// Window is the sliding window failures are counted in, and how long a
	// remote stays blocked. Zero: 10 minutes.
	Window time.Duration
	// MaxConcurrentHashes bounds password verifications running at once
	// (each takes Params.Memory). Zero: runtime.NumCPU().
	MaxConcurrentHashes int
	// MaxTrackedRemotes bounds the failure table before stale entries are
	// collected. Zero: 100000.
	MaxTrackedRemotes int
	// Now is the clock. Nil: time.Now.
	Now func() time.Time
	// Sleep waits d or until ctx is done. Nil: a real timer. Tests pass a
	// fake that advances their clock.
	Sleep func(ctx context.Context, d time.Duration)
	// Logger receives one line per failed or throttled login. Nil: discard.
	Logger *slog.Logger
}

// Service is the Authenticator over a store.Store, shared by every front
// end so failures on POP3, IMAP and SMTP count together.
type Service struct {
	store    store.Store
	opts     Options
	throttle *throttle
	hashes   chan struct{} // semaphore of running verifications
	dummy    string        // PHC hash checked for unknown users
	log      *slog.Logger
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
		opts.MaxFailureDelay = 8 * opts.FailureDelay
	}
	if opts.MaxFailuresPerIP <= 0 {
		opts.MaxFailuresPerIP = 10
	}
	if opts.Window <= 0 {
		opts.Window = 10 * time.Minute
	}
	if opts.MaxConcurrentHashes <= 0 {
		opts.MaxConcurrentHashes = runtime.NumCPU()
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
	return &Service{
		store:    s,
		opts:     opts,
		throttle: newThrottle(opts.Window, opts.MaxFailuresPerIP, opts.MaxTrackedRemotes),
		hashes:   make(chan struct{}, opts.MaxConcurrentHashes),
		dummy:    dummy,
		log:      log,
	}
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

// Authenticate implements Authenticator.
func (s *Service) Authenticate(ctx context.Context, remote netip.Addr, username, password string) (store.Account, error) {
	name := NormalizeUsername(username)
	if !s.throttle.begin(s.opts.Now(), remote) {
		s.log.Warn("login throttled", "remote", remote, "user", name)
		return store.Account{}, ErrThrottled
	}
	acct, ok, err := s.check(ctx, name, password)
	if err != nil {
		s.throttle.end(s.opts.Now(), remote, "", false)
		return store.Account{}, err
	}
	if ok {
		s.throttle.end(s.opts.Now(), remote, name, false)
		return acct, nil
	}
	account := ""
	if acct.Name != "" { // count against real accounts only, not sprayed names
		account = acct.Name
	}
	remoteFails, accountFails := s.throttle.end(s.opts.Now(), remote, account, true)
	delay := s.failureDelay(max(remoteFails, accountFails))
	s.log.Info("login failed", "remote", remote, "user", name,
		"remote_failures", remoteFails, "account_failures", accountFails, "delay", delay)
	s.opts.Sleep(ctx, delay)
	return store.Account{}, ErrInvalidCredentials
}

// failureDelay is FailureDelay per recent failure, capped.
func (s *Service) failureDelay(failures int) time.Duration {
	if s.opts.FailureDelay < 0 {
		return 0
	}
	d := s.opts.FailureDelay * time.Duration(max(failures, 1))
	return min(d, s.opts.MaxFailureDelay)
}

// check looks the account up and verifies the password. ok says the
// password matched. acct is set whenever the account exists. err is for
// failures that are not the client's fault (store down, cancelled).
func (s *Service) check(ctx context.Context, name, password string) (acct store.Account, ok bool, err error) {
	select {
	case s.hashes <- struct{}{}:
		defer func() { <-s.hashes }()
	case <-ctx.Done():
		return store.Account{}, false, ctx.Err()
	}
	if name == "" || password == "" {
		s.verifyDummy(password)
		return store.Account{}, false, nil
	}
	acct, err = s.store.Account(ctx, name)
	if errors.Is(err, store.ErrNoSuchAccount) {
		s.verifyDummy(password)
		return store.Account{}, false, nil
	}
	if err != nil {
		return store.Account{}, false, fmt.Errorf("auth: looking up account: %w", err)
	}
	match, err := VerifyPassword(acct.PasswordHash, password)
	if err != nil {
		s.log.Error("stored password hash unusable; login refused", "user", name, "err", err)
		s.verifyDummy(password)
		return acct, false, nil
	}
	return acct, match, nil
}

// verifyDummy spends the time a real verification would, so a client cannot
// tell unknown users from wrong passwords by timing.
func (s *Service) verifyDummy(password string) {
	if s.dummy != "" {
		VerifyPassword(s.dummy, password)
	}
}
