package outbound

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/letterbox/letterbox/internal/atomicfile"
)

// DKIM keys (RFC 6376; Ed25519 per RFC 8463) live in DATA/dkim/DOMAIN/,
// one PEM file (PKCS #8) per selector: SELECTOR.pem. Every key of the
// sender's domain signs (an Ed25519 and an RSA signature side by side, as
// RFC 8463 §3 suggests while verifiers catch up).

// DKIMKey is one signing key.
type DKIMKey struct {
	Domain   string
	Selector string
	Signer   crypto.Signer
}

// Algorithm is the DNS record's k= value.
func (k DKIMKey) Algorithm() string {
	if _, ok := k.Signer.(ed25519.PrivateKey); ok {
		return "ed25519"
	}
	return "rsa"
}

// TXTRecord is the DNS record to publish for the key: its name and text.
func (k DKIMKey) TXTRecord() (name, text string, err error) {
	var p []byte
	switch pub := k.Signer.Public().(type) {
	case ed25519.PublicKey:
		p = pub // RFC 8463 §4.2: the raw 32-octet key
	default:
		if p, err = x509.MarshalPKIXPublicKey(pub); err != nil {
			return "", "", err
		}
	}
	return k.Selector + "._domainkey." + k.Domain + ".",
		"v=DKIM1; k=" + k.Algorithm() + "; p=" + base64.StdEncoding.EncodeToString(p), nil
}

// ZoneLines formats the record as zone-file text, split into strings of
// at most 255 octets (RFC 1035 §3.3.14).
func (k DKIMKey) ZoneLines() (string, error) {
	name, text, err := k.TXTRecord()
	if err != nil {
		return "", err
	}
	var parts []string
	for len(text) > 255 {
		parts = append(parts, `"`+text[:255]+`"`)
		text = text[255:]
	}
	parts = append(parts, `"`+text+`"`)
	return name + " IN TXT " + strings.Join(parts, " "), nil
}

// GenerateDKIM makes an Ed25519 and an RSA-2048 key for domain under dir
// (DATA/dkim), with selectors named after today's date, and returns them.
// It refuses when the domain has keys already, unless replace is set
// (then the new keys are added and sign from now on; the old files are
// removed, so publish the new records first).
func GenerateDKIM(dir, domain string, now time.Time, replace bool) ([]DKIMKey, error) {
	domain = strings.TrimSuffix(strings.ToLower(domain), ".")
	if domain == "" || strings.ContainsAny(domain, "/\\ ") || strings.HasPrefix(domain, ".") {
		return nil, fmt.Errorf("dkim: %q is not a domain", domain)
	}
	ddir := filepath.Join(dir, domain)
	existing, _ := filepath.Glob(filepath.Join(ddir, "*.pem"))
	if len(existing) > 0 && !replace {
		return nil, fmt.Errorf("dkim: %s already has keys in %s (use --replace to make new ones)", domain, ddir)
	}
	// The keys must survive a power loss: the operator publishes their
	// records, and with replace the old keys go. So the directory, each
	// key file and its name are synced before any old key is removed.
	if err := atomicfile.MkdirAll(ddir, 0o700); err != nil {
		return nil, err
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	stamp := now.UTC().Format("20060102")
	keys := []DKIMKey{
		{Domain: domain, Selector: "lb" + stamp + "e", Signer: edKey},
		{Domain: domain, Selector: "lb" + stamp + "r", Signer: rsaKey},
	}
	for _, k := range keys {
		der, err := x509.MarshalPKCS8PrivateKey(k.Signer)
		if err != nil {
			return nil, err
		}
		path := filepath.Join(ddir, k.Selector+".pem")
		if err := atomicfile.Write(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
			return nil, err
		}
	}
	removed := false
	for _, old := range existing {
		sel := strings.TrimSuffix(filepath.Base(old), ".pem")
		if sel != keys[0].Selector && sel != keys[1].Selector {
			os.Remove(old)
			removed = true
		}
	}
	if removed {
		if err := atomicfile.SyncDir(ddir); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

// LoadDKIM reads every key under dir (a missing dir holds none).
func LoadDKIM(dir string) (map[string][]DKIMKey, error) {
	out := map[string][]DKIMKey{}
	domains, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	for _, d := range domains {
		if !d.IsDir() {
			continue
		}
		files, err := filepath.Glob(filepath.Join(dir, d.Name(), "*.pem"))
		if err != nil {
			return nil, err
		}
		slices.Sort(files)
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				return nil, err
			}
			block, _ := pem.Decode(data)
			if block == nil {
				return nil, fmt.Errorf("dkim: %s: no PEM block", f)
			}
			key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("dkim: %s: %w", f, err)
			}
			signer, ok := key.(crypto.Signer)
			if !ok {
				return nil, fmt.Errorf("dkim: %s: not a signing key", f)
			}
			out[d.Name()] = append(out[d.Name()], DKIMKey{Domain: d.Name(), Selector: strings.TrimSuffix(filepath.Base(f), ".pem"), Signer: signer})
		}
	}
	return out, nil
}

// signedHeaders are the fields signed (RFC 6376 §5.4.1's list, less the
// trace fields); each is also "oversigned" by go-msgauth only if listed
// twice, which we do not: a field added later breaks no signature.
var signedHeaders = []string{"From", "Reply-To", "Subject", "Date", "To", "Cc", "Resent-Date", "Resent-From",
	"Resent-To", "Resent-Cc", "In-Reply-To", "References", "List-Id", "List-Help", "List-Unsubscribe",
	"List-Subscribe", "List-Post", "List-Owner", "List-Archive", "Message-ID", "MIME-Version",
	"Content-Type", "Content-Transfer-Encoding", "Content-ID", "Content-Description"}

// DKIMSigner returns an Options.Signer that signs with keys[domain]:
// relaxed/relaxed canonicalization (RFC 6376 §3.4.2, §3.4.4), SHA-256.
func DKIMSigner(keys map[string][]DKIMKey) func(domain string, msg io.Reader) ([]byte, error) {
	return func(domain string, msg io.Reader) ([]byte, error) {
		ks := keys[domain]
		if len(ks) == 0 {
			return nil, nil
		}
		data, err := io.ReadAll(msg)
		if err != nil {
			return nil, err
		}
		var out bytes.Buffer
		for _, k := range ks {
			s, err := dkim.NewSigner(&dkim.SignOptions{
				Domain: k.Domain, Selector: k.Selector, Signer: k.Signer, Hash: crypto.SHA256,
				HeaderCanonicalization: dkim.CanonicalizationRelaxed,
				BodyCanonicalization:   dkim.CanonicalizationRelaxed,
				HeaderKeys:             signedHeaders,
			})
			if err != nil {
				return nil, err
			}
			if _, err := s.Write(data); err != nil {
				s.Close()
				return nil, err
			}
			if err := s.Close(); err != nil {
				return nil, err
			}
			out.WriteString(s.Signature())
		}
		return out.Bytes(), nil
	}
}
