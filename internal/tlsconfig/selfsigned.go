package tlsconfig

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"slices"
	"strings"
	"time"
)

// validity of the self-signed certificate. Apple platforms refuse TLS
// server certificates valid for more than 825 days, even ones the user
// trusts by hand, so we stay under that and renew at start-up when less
// than renewBefore is left.
const (
	validity    = 825 * 24 * time.Hour
	renewBefore = 30 * 24 * time.Hour
)

// makeSelfSigned makes an ECDSA P-256 end-entity server certificate, signed
// by its own key: not a CA (RFC 5280 §4.2.1.9), key usage digitalSignature
// (§4.2.1.3; ECDHE key exchange signs), extended key usage serverAuth
// (§4.2.1.12), and SANs for the host names, localhost, 127.0.0.1 and ::1
// (§4.2.1.6; clients match SANs, not the CN). It returns PEM.
func makeSelfSigned(hostnames []string, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("tls: generating key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, fmt.Errorf("tls: generating serial: %w", err)
	}
	dnsNames, ips := subjectAltNames(hostnames)
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: dnsNames[0], Organization: []string{"letterbox self-signed"}},
		NotBefore:             now.Add(-time.Hour), // tolerate clients with a slow clock
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  false,
		DNSNames:              dnsNames,
		IPAddresses:           ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("tls: creating certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("tls: encoding key: %w", err)
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	return certPEM, keyPEM, nil
}

// subjectAltNames splits the host names into DNS names (configured ones
// first, then localhost) and IP addresses (configured ones, then 127.0.0.1
// and ::1), without duplicates.
func subjectAltNames(hostnames []string) ([]string, []net.IP) {
	var dnsNames []string
	var ips []net.IP
	addIP := func(ip net.IP) {
		if !slices.ContainsFunc(ips, ip.Equal) {
			ips = append(ips, ip)
		}
	}
	for _, h := range hostnames {
		h = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), ".")
		if h == "" {
			continue
		}
		if ip := net.ParseIP(h); ip != nil {
			addIP(ip)
		} else if !slices.Contains(dnsNames, h) {
			dnsNames = append(dnsNames, h)
		}
	}
	if !slices.Contains(dnsNames, "localhost") {
		dnsNames = append(dnsNames, "localhost")
	}
	addIP(net.IPv4(127, 0, 0, 1))
	addIP(net.IPv6loopback)
	return dnsNames, ips
}
