package tlsconfig

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/acme"
)

// LetsEncrypt is the default ACME directory (RFC 8555 §7.1.1).
const LetsEncrypt = "https://acme-v02.api.letsencrypt.org/directory"

// Challenge types (RFC 8555 §8.3, RFC 8737).
const (
	ChallengeHTTP01    = "http-01"
	ChallengeTLSALPN01 = "tls-alpn-01"
)

// ACMEOptions configure automatic certificates from an ACME CA.
type ACMEOptions struct {
	// Domains go into one certificate, the first as its subject. Each must
	// resolve to this server for the CA's validation.
	Domains []string
	// Email is the account's contact (RFC 8555 §7.3); may be empty.
	Email string
	// DirectoryURL is the CA's directory; empty: LetsEncrypt.
	DirectoryURL string
	// DirectoryCAFile, when set, is a PEM file of the roots that sign the
	// directory's HTTPS certificate (a private CA); empty: the system's.
	DirectoryCAFile string
	// DataDir holds the account key and the certificate, under
	// DataDir/acme/<directory host> (ACMEStatePaths).
	DataDir string
	// RenewBefore is how long before expiry a renewal starts; zero: a
	// third of the certificate's lifetime, at most 30 days. Capped at half
	// the lifetime.
	RenewBefore time.Duration
	// HTTP01 says an HTTP server on port 80 serves HTTPHandler;
	// TLSALPN01 that the Reloadable's configuration is served on port 443.
	// Tried in that order, each with a new order.
	HTTP01, TLSALPN01 bool
	// RetryMin and RetryMax bound the wait after a failed attempt, which
	// doubles from RetryMin; zero: 5 minutes and 3 hours (Let's Encrypt
	// allows 5 failed validations per name and hour).
	RetryMin, RetryMax time.Duration
	Logger             *slog.Logger
	// Now is the clock; nil: time.Now.
	Now func() time.Time
}

// ACMEPaths are the files of one ACME directory's state.
type ACMEPaths struct {
	Dir string
	// Account is the account's private key (PEM).
	Account string
	// Cert (the chain, leaf first) and Key are the issued certificate.
	Cert, Key string
	// LastError holds the time and text of the last failed attempt; it is
	// removed by a success.
	LastError string
}

// ACMEStatePaths names the files for directoryURL under dataDir: one
// directory per CA host, so switching from a staging CA to the real one
// never reuses the other's account or certificate.
func ACMEStatePaths(dataDir, directoryURL string) ACMEPaths {
	if directoryURL == "" {
		directoryURL = LetsEncrypt
	}
	host := directoryURL
	if u, err := url.Parse(directoryURL); err == nil && u.Host != "" {
		host = u.Host
	}
	host = strings.NewReplacer(":", "_", "/", "_", "\\", "_").Replace(host)
	dir := filepath.Join(dataDir, "acme", host)
	return ACMEPaths{
		Dir:       dir,
		Account:   filepath.Join(dir, "account.key"),
		Cert:      filepath.Join(dir, "cert.pem"),
		Key:       filepath.Join(dir, "key.pem"),
		LastError: filepath.Join(dir, "last-error"),
	}
}

// ACME obtains a certificate for the configured domains from an ACME CA
// (RFC 8555), keeps it on disk, renews it before it expires and hands it
// to a Reloadable, whose self-signed or configured certificate serves
// until the first issuance.
type ACME struct {
	opts  ACMEOptions
	paths ACMEPaths
	r     *Reloadable
	log   *slog.Logger
	now   func() time.Time

	mu     sync.Mutex
	client *acme.Client                // registered account; nil until the first attempt
	http   map[string]string           // HTTP-01: URL path → key authorization
	alpn   map[string]*tls.Certificate // TLS-ALPN-01: domain → validation certificate
	cert   *tls.Certificate            // the issued certificate being served
}

// NewACME prepares the state directory and, when a stored certificate
// still names every domain and has not expired, serves it at once. Run
// does the issuing and renewing.
func NewACME(r *Reloadable, opts ACMEOptions) (*ACME, error) {
	if len(opts.Domains) == 0 {
		return nil, errors.New("tls: acme: no domain to request a certificate for")
	}
	if !opts.HTTP01 && !opts.TLSALPN01 {
		return nil, errors.New("tls: acme: no challenge can be answered (an HTTP listener on port 80 or HTTPS on 443 is needed)")
	}
	if opts.DirectoryURL == "" {
		opts.DirectoryURL = LetsEncrypt
	}
	if opts.RetryMin <= 0 {
		opts.RetryMin = 5 * time.Minute
	}
	if opts.RetryMax < opts.RetryMin {
		opts.RetryMax = max(3*time.Hour, opts.RetryMin)
	}
	a := &ACME{
		opts:  opts,
		paths: ACMEStatePaths(opts.DataDir, opts.DirectoryURL),
		r:     r,
		log:   opts.Logger,
		now:   opts.Now,
		http:  map[string]string{},
		alpn:  map[string]*tls.Certificate{},
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.now == nil {
		a.now = time.Now
	}
	if err := os.MkdirAll(a.paths.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("tls: acme: %w", err)
	}
	cert, err := LoadACMECertificate(a.paths, opts.Domains, a.now())
	switch {
	case err == nil:
		a.install(cert)
		a.log.Info("ACME: serving the stored certificate", "domains", strings.Join(opts.Domains, ","),
			"valid_until", cert.Leaf.NotAfter.UTC().Format(time.RFC3339), "renew_at", a.renewAt(cert.Leaf).UTC().Format(time.RFC3339), "file", a.paths.Cert)
	case errors.Is(err, fs.ErrNotExist):
	default:
		a.log.Warn("ACME: the stored certificate is not used; requesting a new one", "file", a.paths.Cert, "reason", err)
	}
	if opts.TLSALPN01 {
		r.setChallenge(a.alpnCert)
	}
	return a, nil
}

// Paths are the state files.
func (a *ACME) Paths() ACMEPaths { return a.paths }

// Leaf is the issued certificate being served, nil before the first
// issuance.
func (a *ACME) Leaf() *x509.Certificate {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cert == nil {
		return nil
	}
	return a.cert.Leaf
}

// LoadACMECertificate reads the stored certificate and checks that its key
// matches, that it is valid at now and that it names every domain. A
// missing file is fs.ErrNotExist.
func LoadACMECertificate(p ACMEPaths, domains []string, now time.Time) (*tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(p.Cert, p.Key)
	if err != nil {
		return nil, err
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, err
		}
	}
	if now.Before(cert.Leaf.NotBefore) || !now.Before(cert.Leaf.NotAfter) {
		return nil, fmt.Errorf("valid only from %s to %s", cert.Leaf.NotBefore.UTC().Format(time.RFC3339), cert.Leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	for _, d := range domains {
		if err := cert.Leaf.VerifyHostname(d); err != nil {
			return nil, fmt.Errorf("does not name %s (it names %s)", d, strings.Join(cert.Leaf.DNSNames, ", "))
		}
	}
	return &cert, nil
}

// ReadACMELastError returns when the last attempt failed and why; ok is
// false when the last attempt succeeded or none was made.
func ReadACMELastError(p ACMEPaths) (at time.Time, text string, ok bool) {
	data, err := os.ReadFile(p.LastError)
	if err != nil {
		return time.Time{}, "", false
	}
	first, rest, _ := strings.Cut(string(data), "\n")
	at, _ = time.Parse(time.RFC3339, first)
	return at, strings.TrimSpace(rest), true
}

func (a *ACME) install(cert *tls.Certificate) {
	a.mu.Lock()
	a.cert = cert
	a.mu.Unlock()
	a.r.setIssued(cert)
}

// renewAt is when a renewal of leaf starts: RenewBefore (or a third of
// the lifetime, at most 30 days) before expiry, never before the middle of
// its lifetime, so a long RenewBefore cannot make renewals back to back.
func (a *ACME) renewAt(leaf *x509.Certificate) time.Time {
	life := leaf.NotAfter.Sub(leaf.NotBefore)
	before := min(life/3, 30*24*time.Hour)
	if a.opts.RenewBefore > 0 {
		before = a.opts.RenewBefore
	}
	before = min(before, life/2)
	return leaf.NotAfter.Add(-before)
}

// Run issues a certificate when none is served, and renews it when its
// renewal time comes, until ctx ends. A failed attempt is logged with the
// CA's reason, written to the LastError file (letterbox doctor shows it)
// and retried with a doubling wait; the certificate served meanwhile
// stays.
func (a *ACME) Run(ctx context.Context) {
	retry := a.opts.RetryMin
	for {
		var wait time.Duration
		leaf := a.Leaf()
		if leaf == nil || !a.now().Before(a.renewAt(leaf)) {
			attempt, cancel := context.WithTimeout(ctx, 10*time.Minute)
			cert, challenge, err := a.obtain(attempt)
			cancel()
			if ctx.Err() != nil {
				return
			}
			if err == nil {
				retry = a.opts.RetryMin
				a.install(cert)
				os.Remove(a.paths.LastError)
				a.log.Info("ACME: certificate issued", "domains", strings.Join(a.opts.Domains, ","), "challenge", challenge,
					"issuer", cert.Leaf.Issuer.CommonName, "valid_until", cert.Leaf.NotAfter.UTC().Format(time.RFC3339),
					"renew_at", a.renewAt(cert.Leaf).UTC().Format(time.RFC3339), "file", a.paths.Cert)
				continue
			}
			serving := "the self-signed certificate"
			if leaf != nil {
				serving = "the current certificate, valid until " + leaf.NotAfter.UTC().Format(time.RFC3339)
			}
			a.log.Error("ACME: certificate not issued; "+serving+" stays", "domains", strings.Join(a.opts.Domains, ","),
				"directory", a.opts.DirectoryURL, "err", err, "retry_in", retry)
			a.recordFailure(err)
			wait = retry
			retry = min(retry*2, a.opts.RetryMax)
		} else {
			wait = a.renewAt(leaf).Sub(a.now())
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

func (a *ACME) recordFailure(err error) {
	text := a.now().UTC().Format(time.RFC3339) + "\n" + err.Error() + "\n"
	if werr := writeFileAtomic(a.paths.LastError, []byte(text), 0o600); werr != nil {
		a.log.Warn("ACME: cannot record the failure", "err", werr)
	}
}

// obtain runs one issuance (RFC 8555 §7.4): an order for every domain,
// each authorization by the first challenge type that works (a new order
// per type), finalization with a new key's CSR, and the chain saved.
func (a *ACME) obtain(ctx context.Context) (*tls.Certificate, string, error) {
	client, err := a.account(ctx)
	if err != nil {
		return nil, "", err
	}
	var types []string
	if a.opts.HTTP01 {
		types = append(types, ChallengeHTTP01)
	}
	if a.opts.TLSALPN01 {
		types = append(types, ChallengeTLSALPN01)
	}
	var errs []error
	for _, typ := range types {
		order, err := a.authorize(ctx, client, typ)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", typ, err))
			if ctx.Err() != nil {
				break
			}
			continue
		}
		cert, err := a.finalize(ctx, client, order)
		if err != nil {
			return nil, "", err
		}
		return cert, typ, nil
	}
	return nil, "", errors.Join(errs...)
}

// account loads or makes the account key and registers it (RFC 8555
// §7.3; an existing account for the key is reused, §7.3.1).
func (a *ACME) account(ctx context.Context) (*acme.Client, error) {
	a.mu.Lock()
	client := a.client
	a.mu.Unlock()
	if client != nil {
		return client, nil
	}
	key, err := loadOrMakeAccountKey(a.paths.Account)
	if err != nil {
		return nil, err
	}
	hc := &http.Client{Timeout: time.Minute}
	if a.opts.DirectoryCAFile != "" {
		pem, err := os.ReadFile(a.opts.DirectoryCAFile)
		if err != nil {
			return nil, fmt.Errorf("tls: acme_directory_ca: %w", err)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls: acme_directory_ca %s holds no PEM certificate", a.opts.DirectoryCAFile)
		}
		hc.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}
	}
	client = &acme.Client{Key: key, DirectoryURL: a.opts.DirectoryURL, HTTPClient: hc, UserAgent: "letterbox"}
	acct := &acme.Account{}
	if a.opts.Email != "" {
		acct.Contact = []string{"mailto:" + a.opts.Email}
	}
	// Registering agrees to the CA's terms of service (§7.3
	// termsOfServiceAgreed); docs/ACME.md says so.
	if _, err := client.Register(ctx, acct, acme.AcceptTOS); err != nil && !errors.Is(err, acme.ErrAccountAlreadyExists) {
		return nil, fmt.Errorf("registering the account at %s: %w", a.opts.DirectoryURL, err)
	}
	a.mu.Lock()
	a.client = client
	a.mu.Unlock()
	return client, nil
}

// authorize places an order and satisfies its pending authorizations with
// challenges of type typ, then waits for the order to be ready.
func (a *ACME) authorize(ctx context.Context, client *acme.Client, typ string) (_ *acme.Order, err error) {
	order, err := client.AuthorizeOrder(ctx, acme.DomainIDs(a.opts.Domains...))
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			// Deactivate what is left pending (§7.5.2), as certbot does,
			// so the next order starts clean.
			for _, u := range order.AuthzURLs {
				dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				if z, zerr := client.GetAuthorization(dctx, u); zerr == nil && z.Status == acme.StatusPending {
					client.RevokeAuthorization(dctx, u)
				}
				cancel()
			}
		}
	}()
	switch order.Status {
	case acme.StatusReady:
		return order, nil
	case acme.StatusPending:
	default:
		return nil, fmt.Errorf("new order %s is %q", order.URI, order.Status)
	}
	for _, u := range order.AuthzURLs {
		z, err := client.GetAuthorization(ctx, u)
		if err != nil {
			return nil, err
		}
		if z.Status == acme.StatusValid {
			continue
		}
		if z.Status != acme.StatusPending {
			return nil, fmt.Errorf("authorization for %s is %q", z.Identifier.Value, z.Status)
		}
		var chal *acme.Challenge
		for _, c := range z.Challenges {
			if c.Type == typ {
				chal = c
			}
		}
		if chal == nil {
			return nil, fmt.Errorf("the CA offers no %s challenge for %s", typ, z.Identifier.Value)
		}
		cleanup, err := a.provision(client, typ, chal.Token, z.Identifier.Value)
		if err != nil {
			return nil, err
		}
		defer cleanup()
		if _, err := client.Accept(ctx, chal); err != nil {
			return nil, err
		}
		if _, err := client.WaitAuthorization(ctx, z.URI); err != nil {
			return nil, err
		}
	}
	return client.WaitOrder(ctx, order.URI)
}

// provision makes the challenge's response available until cleanup:
// the key authorization at /.well-known/acme-challenge/TOKEN (HTTP-01,
// RFC 8555 §8.3) or the validation certificate for domain (TLS-ALPN-01,
// RFC 8737 §3).
func (a *ACME) provision(client *acme.Client, typ, token, domain string) (cleanup func(), err error) {
	switch typ {
	case ChallengeHTTP01:
		body, err := client.HTTP01ChallengeResponse(token)
		if err != nil {
			return nil, err
		}
		path := client.HTTP01ChallengePath(token)
		a.mu.Lock()
		a.http[path] = body
		a.mu.Unlock()
		return func() {
			a.mu.Lock()
			delete(a.http, path)
			a.mu.Unlock()
		}, nil
	case ChallengeTLSALPN01:
		cert, err := client.TLSALPN01ChallengeCert(token, domain)
		if err != nil {
			return nil, err
		}
		a.mu.Lock()
		a.alpn[domain] = &cert
		a.mu.Unlock()
		return func() {
			a.mu.Lock()
			delete(a.alpn, domain)
			a.mu.Unlock()
		}, nil
	}
	return nil, fmt.Errorf("unknown challenge type %q", typ)
}

func (a *ACME) alpnCert(serverName string) *tls.Certificate {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.alpn[strings.TrimSuffix(strings.ToLower(serverName), ".")]
}

// HTTPHandler answers HTTP-01 validations (RFC 8555 §8.3) on port 80;
// anything else is 404.
func (a *ACME) HTTPHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		a.mu.Lock()
		body, ok := a.http[req.URL.Path]
		a.mu.Unlock()
		if !ok || (req.Method != http.MethodGet && req.Method != http.MethodHead) {
			http.Error(w, "letterbox answers only pending ACME HTTP-01 challenges here", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		w.Write([]byte(body))
	})
}

// finalize sends a CSR for a new P-256 key (RFC 8555 §7.4), checks the
// chain it gets and stores it.
func (a *ACME) finalize(ctx context.Context, client *acme.Client, order *acme.Order) (*tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject:  pkix.Name{CommonName: a.opts.Domains[0]},
		DNSNames: a.opts.Domains,
	}, key)
	if err != nil {
		return nil, err
	}
	der, _, err := client.CreateCertFromOrder(ctx, order, csr, true)
	if err != nil {
		return nil, err
	}
	if len(der) == 0 {
		return nil, errors.New("the CA returned no certificate")
	}
	leaf, err := x509.ParseCertificate(der[0])
	if err != nil {
		return nil, fmt.Errorf("the CA's certificate: %w", err)
	}
	if pub, ok := leaf.PublicKey.(*ecdsa.PublicKey); !ok || !pub.Equal(&key.PublicKey) {
		return nil, errors.New("the CA's certificate is not for the requested key")
	}
	for _, d := range a.opts.Domains {
		if err := leaf.VerifyHostname(d); err != nil {
			return nil, fmt.Errorf("the CA's certificate does not name %s", d)
		}
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	var chain []byte
	for _, c := range der {
		chain = append(chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c})...)
	}
	// Key first: a crash between the two leaves a pair whose key does not
	// match, which LoadACMECertificate refuses, so the next start issues
	// again instead of serving a broken pair.
	if err := writeFileAtomic(a.paths.Key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return nil, err
	}
	if err := writeFileAtomic(a.paths.Cert, chain, 0o644); err != nil {
		return nil, err
	}
	return &tls.Certificate{Certificate: der, PrivateKey: key, Leaf: leaf}, nil
}

func loadOrMakeAccountKey(path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err == nil {
		block, _ := pem.Decode(data)
		if block == nil {
			return nil, fmt.Errorf("tls: acme account key %s is not PEM", path)
		}
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("tls: acme account key %s: %w", path, err)
		}
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("tls: acme account key %s cannot sign", path)
		}
		return s, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("tls: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	if err := writeFileAtomic(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return nil, err
	}
	return key, nil
}
