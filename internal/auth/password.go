package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are the argon2id cost parameters (RFC 9106 §3.1).
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes over memory
	Threads uint8  // lanes
	SaltLen uint32 // octets of random salt
	KeyLen  uint32 // octets of derived key
}

// DefaultParams are OWASP's first argon2id recommendation (Password
// Storage Cheat Sheet: m=19 MiB, t=2) with a 128-bit salt and 256-bit tag
// as RFC 9106 §4 recommends, and two lanes so one login uses two cores.
// On the 2-core reference machine a hash takes about 13 ms when its memory
// is already mapped and 45 ms when it must be faulted in; with at most
// NumCPU hashes at once they hold at most NumCPU × 19 MiB. The rationale
// and the measurements are in docs/PASSWORDS.md.
var DefaultParams = Params{Memory: 19 * 1024, Time: 2, Threads: 2, SaltLen: 16, KeyLen: 32}

// TestParams are cheap parameters for tests only: never use them for real
// passwords.
var TestParams = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// Upper bounds accepted when reading a PHC string, so a corrupted or
// hostile hash in the database cannot make one verification allocate
// gigabytes or run for minutes.
const (
	maxMemoryKiB = 4 * 1024 * 1024 // 4 GiB
	maxTime      = 64
	maxKeyLen    = 1024
	maxSaltLen   = 1024
)

// ErrMalformedHash reports a stored password hash that is not an argon2id
// PHC string this package can verify.
var ErrMalformedHash = errors.New("auth: malformed password hash")

// Validate reports whether p can be used for hashing.
func (p Params) Validate() error {
	switch {
	case p.Threads == 0:
		return errors.New("auth: argon2 threads must be at least 1")
	case p.Time == 0 || p.Time > maxTime:
		return fmt.Errorf("auth: argon2 time must be between 1 and %d", maxTime)
	case p.Memory < 8*uint32(p.Threads) || p.Memory > maxMemoryKiB:
		return fmt.Errorf("auth: argon2 memory must be between 8×threads and %d KiB", maxMemoryKiB)
	case p.SaltLen < 8 || p.SaltLen > maxSaltLen:
		return errors.New("auth: argon2 salt length must be between 8 and 1024 octets")
	case p.KeyLen < 16 || p.KeyLen > maxKeyLen:
		return errors.New("auth: argon2 key length must be between 16 and 1024 octets")
	}
	return nil
}

// b64 is the PHC string encoding: standard base64 without padding.
var b64 = base64.RawStdEncoding

// HashPassword hashes pw with argon2id and a fresh random salt and returns
// the PHC string $argon2id$v=19$m=<KiB>,t=<time>,p=<threads>$<salt>$<hash>.
func HashPassword(pw string, p Params) (string, error) {
	if err := p.Validate(); err != nil {
		return "", err
	}
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("auth: reading random salt: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// VerifyPassword reports whether pw matches the PHC string phc. The key
// comparison is constant-time. A hash it cannot read is an error, never a
// match.
func VerifyPassword(phc, pw string) (bool, error) {
	p, salt, key, err := parsePHC(phc)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// Outdated reports whether the PHC string phc was made with other
// parameters than p (memory, passes, lanes, salt or tag length), so that a
// successful login may store a new hash made with p. A hash it cannot read
// is not outdated: it cannot be verified in the first place.
func Outdated(phc string, p Params) bool {
	q, _, _, err := parsePHC(phc)
	return err == nil && q != p
}

// parsePHC reads an argon2id PHC string as HashPassword writes it.
func parsePHC(phc string) (Params, []byte, []byte, error) {
	var p Params
	fields := strings.Split(phc, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, hash
	if len(fields) != 6 || fields[0] != "" || fields[1] != "argon2id" {
		return p, nil, nil, ErrMalformedHash
	}
	if fields[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, fmt.Errorf("%w: unsupported argon2 version %q", ErrMalformedHash, fields[2])
	}
	var seen [3]bool
	for _, kv := range strings.Split(fields[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return p, nil, nil, ErrMalformedHash
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return p, nil, nil, ErrMalformedHash
		}
		switch k {
		case "m":
			p.Memory, seen[0] = uint32(n), true
		case "t":
			p.Time, seen[1] = uint32(n), true
		case "p":
			if n > 255 {
				return p, nil, nil, ErrMalformedHash
			}
			p.Threads, seen[2] = uint8(n), true
		default:
			return p, nil, nil, ErrMalformedHash
		}
	}
	if !seen[0] || !seen[1] || !seen[2] {
		return p, nil, nil, ErrMalformedHash
	}
	salt, err := b64.DecodeString(fields[4])
	if err != nil {
		return p, nil, nil, ErrMalformedHash
	}
	key, err := b64.DecodeString(fields[5])
	if err != nil {
		return p, nil, nil, ErrMalformedHash
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	if err := p.Validate(); err != nil {
		return p, nil, nil, fmt.Errorf("%w: %v", ErrMalformedHash, err)
	}
	return p, salt, key, nil
}
