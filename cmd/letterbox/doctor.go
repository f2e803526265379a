package main

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/letterbox/letterbox/internal/config"
	"github.com/letterbox/letterbox/internal/tlsconfig"
)

func init() {
	register(&command{
		name:    "doctor",
		usage:   "[--data DIR] [--config FILE]",
		summary: "check a deployment: data directory, certificate (or ACME state), DNS (MX, A, SPF, DMARC, DKIM keys), listening ports",
		run:     doctor,
	})
}

// resolver is what doctor asks of DNS; tests give their own.
type resolver interface {
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupHost(ctx context.Context, host string) ([]string, error)
	LookupTXT(ctx context.Context, name string) ([]string, error)
}

var doctorResolver resolver = net.DefaultResolver

// doctorReport collects the verdicts: each line ok, warn or FAIL.
type doctorReport struct {
	w     io.Writer
	fails int
}

func (r *doctorReport) ok(f string, a ...any)   { fmt.Fprintf(r.w, "ok    "+f+"\n", a...) }
func (r *doctorReport) warn(f string, a ...any) { fmt.Fprintf(r.w, "warn  "+f+"\n", a...) }
func (r *doctorReport) fail(f string, a ...any) {
	r.fails++
	fmt.Fprintf(r.w, "FAIL  "+f+"\n", a...)
}

func doctor(e *env, args []string) error {
	fs, common := newFlagSet(e, "doctor")
	pos, err := parseArgs(e, fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("no arguments expected")
	}
	s, err := common.resolve(e)
	if err != nil {
		return err
	}
	r := &doctorReport{w: e.stdout}
	ctx, cancel := context.WithTimeout(e.ctx, 30*time.Second)
	defer cancel()
	hostname := s.cfg.Hostname
	if hostname == "" {
		hostname = systemHostname()
		r.warn("hostname is not set; using the system's %q (set hostname in the config to the name clients and MX records use)", hostname)
	}
	checkDataDir(r, s.dataDir)
	checkCertificate(r, s, hostname)
	checkDNS(ctx, r, hostname, mailDomains(s.cfg.LocalDomains, hostname))
	checkDKIM(ctx, r, s, mailDomains(s.cfg.LocalDomains, hostname))
	checkPorts(r, s.cfg.Listeners())
	if r.fails > 0 {
		return fmt.Errorf("%d problem(s) found", r.fails)
	}
	fmt.Fprintln(e.stdout, "no problems found")
	return nil
}

// checkDataDir: present, a directory, this user's, writable, and closed to
// others (mail and keys live there).
func checkDataDir(r *doctorReport, dir string) {
	fi, err := os.Stat(dir)
	if err != nil {
		r.fail("data directory %s: %v", dir, err)
		return
	}
	if !fi.IsDir() {
		r.fail("data directory %s is not a directory", dir)
		return
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		r.fail("data directory %s belongs to uid %d, not to this user (uid %d)", dir, st.Uid, os.Geteuid())
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		r.fail("data directory %s is open to others (mode %04o): chmod 700 %s", dir, perm, dir)
	} else {
		r.ok("data directory %s (mode %04o)", dir, fi.Mode().Perm())
	}
	probe, err := os.CreateTemp(dir, ".doctor-*")
	if err != nil {
		r.fail("data directory %s is not writable: %v", dir, err)
		return
	}
	probe.Close()
	os.Remove(probe.Name())
}

// checkCertificate: loadable, valid now and for two more weeks, naming
// the hostname; a self-signed one is a warning (clients ask first).
func checkCertificate(r *doctorReport, s *setup, hostname string) {
	if s.cfg.TLS.ACME {
		checkACMECertificate(r, s, hostname)
		return
	}
	certFile, keyFile := s.cfg.TLS.CertFile, s.cfg.TLS.KeyFile
	selfSigned := certFile == ""
	if selfSigned {
		certFile, keyFile = tlsconfig.SelfSignedPaths(s.dataDir)
		if _, err := os.Stat(certFile); err != nil {
			r.warn("no certificate yet: `letterbox serve` makes a self-signed one in %s; set [tls] cert_file and key_file for a real one", filepath.Dir(certFile))
			return
		}
	}
	// The files as they are: doctor changes nothing (Load without them
	// would remake a self-signed certificate).
	cfg, err := tlsconfig.Load(tlsconfig.Options{CertFile: certFile, KeyFile: keyFile})
	if err != nil {
		r.fail("certificate: %v", err)
		return
	}
	leaf := cfg.Certificates[0].Leaf
	now := time.Now()
	switch {
	case now.Before(leaf.NotBefore):
		r.fail("certificate %s is not valid before %s", certFile, leaf.NotBefore.Format(time.RFC3339))
	case now.After(leaf.NotAfter):
		r.fail("certificate %s expired on %s", certFile, leaf.NotAfter.Format(time.RFC3339))
	case leaf.NotAfter.Sub(now) < 14*24*time.Hour:
		r.warn("certificate %s expires in %d days (%s)", certFile, int(leaf.NotAfter.Sub(now).Hours()/24), leaf.NotAfter.Format(time.RFC3339))
	default:
		r.ok("certificate %s valid until %s", certFile, leaf.NotAfter.Format("2006-01-02"))
	}
	if err := leaf.VerifyHostname(hostname); err != nil && selfSigned {
		r.warn("the self-signed certificate does not name %s yet (it names %s): `letterbox serve` remakes it at its next start", hostname, strings.Join(leaf.DNSNames, ", "))
	} else if err != nil {
		r.fail("certificate does not name %s (it names %s)", hostname, strings.Join(leaf.DNSNames, ", "))
	}
	if selfSigned || isSelfSigned(leaf) {
		r.warn("certificate is self-signed: clients warn until it is trusted; use a CA's certificate for the public")
	}
}

func isSelfSigned(c *x509.Certificate) bool {
	return c.CheckSignatureFrom(c) == nil
}

// mailDomains are the domains to check MX/SPF/DMARC for: local_domains,
// else the hostname's parent domain.
func mailDomains(local []string, hostname string) []string {
	if len(local) > 0 {
		return slices.Clone(local)
	}
	if _, parent, ok := strings.Cut(hostname, "."); ok && strings.Contains(parent, ".") {
		return []string{parent}
	}
	return nil
}

// checkDNS: the hostname resolves; each domain has an MX (RFC 5321 §5.1),
// pointing here ideally, an SPF record (RFC 7208) and a DMARC record
// (RFC 7489 §6.1).
func checkDNS(ctx context.Context, r *doctorReport, hostname string, domains []string) {
	addrs, err := doctorResolver.LookupHost(ctx, hostname)
	if err != nil || len(addrs) == 0 {
		r.fail("DNS: %s has no A/AAAA record: %v", hostname, err)
	} else {
		r.ok("DNS: %s is %s", hostname, strings.Join(addrs, ", "))
	}
	if len(domains) == 0 {
		r.warn("DNS: no mail domain to check: set local_domains")
	}
	for _, d := range domains {
		mxs, err := doctorResolver.LookupMX(ctx, d)
		switch {
		case err != nil || len(mxs) == 0:
			r.fail("DNS: %s has no MX record (other servers cannot send mail to it): %v", d, err)
		default:
			var names []string
			here := false
			for _, mx := range mxs {
				n := strings.TrimSuffix(strings.ToLower(mx.Host), ".")
				names = append(names, fmt.Sprintf("%s (%d)", n, mx.Pref))
				here = here || n == strings.ToLower(hostname)
			}
			if here {
				r.ok("DNS: MX of %s: %s", d, strings.Join(names, ", "))
			} else {
				r.warn("DNS: MX of %s is %s, not this host %s", d, strings.Join(names, ", "), hostname)
			}
		}
		checkTXT(ctx, r, d, "v=spf1", "SPF")
		checkTXT(ctx, r, "_dmarc."+d, "v=DMARC1", "DMARC")
	}
}

func checkTXT(ctx context.Context, r *doctorReport, name, prefix, what string) {
	txts, err := doctorResolver.LookupTXT(ctx, name)
	var found []string
	for _, t := range txts {
		if strings.HasPrefix(strings.ToLower(t), strings.ToLower(prefix)) {
			found = append(found, t)
		}
	}
	switch {
	case len(found) == 1:
		r.ok("DNS: %s record of %s: %s", what, name, found[0])
	case len(found) > 1:
		r.fail("DNS: %s has %d %s records; receivers treat that as none", name, len(found), what)
	default:
		r.warn("DNS: %s has no %s record (%s): receivers may treat mail from it as spam", name, what, errText(err))
	}
}

func errText(err error) string {
	if err == nil {
		return "none published"
	}
	return err.Error()
}

// checkPorts: each configured listener accepts a connection from this
// host (the server must be running).
func checkPorts(r *doctorReport, listeners []config.Listener) {
	for _, l := range listeners {
		if l.Addr == "" {
			continue
		}
		host, port, err := net.SplitHostPort(l.Addr)
		if err != nil {
			r.fail("listen.%s = %q: %v", l.Name, l.Addr, err)
			continue
		}
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1"
		}
		c, err := net.DialTimeout("tcp", net.JoinHostPort(host, port), 2*time.Second)
		if err != nil {
			r.fail("listen.%s %s does not answer (is `letterbox serve` running?): %v", l.Name, l.Addr, err)
			continue
		}
		c.Close()
		r.ok("listen.%s %s answers", l.Name, l.Addr)
	}
}
