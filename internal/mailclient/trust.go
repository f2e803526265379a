package mailclient

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Certificate trust. The client verifies the server's certificate itself
// (tls.Config.VerifyConnection with InsecureSkipVerify), so that a failure
// can say what the certificate is: its SHA-256 fingerprint, in the form
// `letterbox serve` prints at start, and the exact flag or config line that
// pins it. A pinned fingerprint replaces chain verification (the way a
// self-signed server certificate is trusted); a CA file replaces the
// system roots.

// Fingerprint is the SHA-256 of a DER certificate as "sha256:AB:CD:...".
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return pinString(sum[:])
}

// ParseFingerprint reads a pinned SHA-256 fingerprint: "sha256:" (or
// "SHA256:", or nothing) then 64 hex digits, with or without colons, any
// case.
func ParseFingerprint(s string) ([]byte, error) {
	v := strings.TrimSpace(s)
	if i := strings.IndexByte(v, ':'); i >= 0 && strings.EqualFold(strings.ReplaceAll(v[:i], "-", ""), "sha256") {
		v = v[i+1:]
	}
	v = strings.NewReplacer(":", "", " ", "").Replace(v)
	b, err := hex.DecodeString(v)
	if err != nil || len(b) != sha256.Size {
		return nil, fmt.Errorf("bad fingerprint %q: want sha256: and 64 hex digits (as `letterbox serve` prints it)", s)
	}
	return b, nil
}

// UntrustedCertError is a server certificate that did not verify and is
// not pinned.
type UntrustedCertError struct {
	Addr        string // host:port, or the host when unknown
	Fingerprint string // of the server's certificate
	Err         error  // why it did not verify
}

func (e *UntrustedCertError) Error() string {
	return fmt.Sprintf("the TLS certificate of %s is not trusted: %v\n"+
		"  Its SHA-256 fingerprint is %s\n"+
		"  If that is your server's certificate (compare with the fingerprint `letterbox serve` prints, or ask the admin), pin it:\n"+
		"    --fingerprint %s\n"+
		"  or in the account in client.toml:\n"+
		"    fingerprint = %q\n"+
		"  or trust the certificate's CA with --ca FILE (ca_file = \"FILE\")",
		e.Addr, e.Err, e.Fingerprint, e.Fingerprint, e.Fingerprint)
}

func (e *UntrustedCertError) Unwrap() error { return e.Err }

// PinMismatchError is a server certificate whose fingerprint is not the
// pinned one.
type PinMismatchError struct {
	Addr        string
	Fingerprint string // what the server sent
	Pinned      string
}

func (e *PinMismatchError) Error() string {
	return fmt.Sprintf("the TLS certificate of %s does not match the pinned fingerprint:\n"+
		"  server sent %s\n"+
		"  pinned      %s\n"+
		"  Someone may be intercepting the connection, or the server's certificate was replaced. "+
		"Check the new fingerprint with the server's admin before changing the pin (--fingerprint or fingerprint = ... in client.toml).",
		e.Addr, e.Fingerprint, e.Pinned)
}

// trust is how a connection decides to accept a certificate.
type trust struct {
	name     string         // the name to verify against
	roots    *x509.CertPool // nil: system roots
	pin      []byte         // SHA-256 of the certificate; replaces chain checks
	insecure bool
}

// verify is tls.Config.VerifyConnection.
func (t trust) verify(cs tls.ConnectionState) error {
	if t.insecure {
		return nil
	}
	if len(cs.PeerCertificates) == 0 {
		return errors.New("the server sent no certificate")
	}
	leaf := cs.PeerCertificates[0]
	addr := t.name
	if t.pin != nil {
		sum := sha256.Sum256(leaf.Raw)
		if subtle.ConstantTimeCompare(sum[:], t.pin) == 1 {
			return nil
		}
		return &PinMismatchError{Addr: addr, Fingerprint: Fingerprint(leaf.Raw), Pinned: pinString(t.pin)}
	}
	name := t.name
	if name == "" {
		name = cs.ServerName
	}
	opts := x509.VerifyOptions{Roots: t.roots, DNSName: name, Intermediates: x509.NewCertPool()}
	for _, c := range cs.PeerCertificates[1:] {
		opts.Intermediates.AddCert(c)
	}
	if _, err := leaf.Verify(opts); err != nil {
		return &UntrustedCertError{Addr: addr, Fingerprint: Fingerprint(leaf.Raw), Err: err}
	}
	return nil
}

// pinString formats a SHA-256 sum as Fingerprint does.
func pinString(sum []byte) string {
	h := strings.ToUpper(hex.EncodeToString(sum))
	var b strings.Builder
	b.WriteString("sha256:")
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(h[i : i+2])
	}
	return b.String()
}
