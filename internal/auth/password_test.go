package auth

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

func TestHashPasswordPHCFormat(t *testing.T) {
	h, err := HashPassword("correct horse", TestParams)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`^\$argon2id\$v=19\$m=64,t=1,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	if !re.MatchString(h) {
		t.Fatalf("hash %q is not an argon2id PHC string with TestParams", h)
	}
	h2, err := HashPassword("correct horse", TestParams)
	if err != nil {
		t.Fatal(err)
	}
	if h == h2 {
		t.Fatal("two hashes of the same password are equal: salt not random")
	}
}

func TestDefaultParamsFormat(t *testing.T) {
	if err := DefaultParams.Validate(); err != nil {
		t.Fatal(err)
	}
	h, err := HashPassword("pw", DefaultParams)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=2$") {
		t.Fatalf("unexpected default hash prefix: %q", h)
	}
}

func TestOutdated(t *testing.T) {
	h, err := HashPassword("pw", TestParams)
	if err != nil {
		t.Fatal(err)
	}
	if Outdated(h, TestParams) {
		t.Fatal("hash made with TestParams is outdated for TestParams")
	}
	for _, p := range []Params{
		{Memory: 128, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 64, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 64, Time: 1, Threads: 2, SaltLen: 16, KeyLen: 32},
		{Memory: 64, Time: 1, Threads: 1, SaltLen: 32, KeyLen: 32},
		{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 64},
	} {
		if !Outdated(h, p) {
			t.Errorf("hash %q not outdated for %+v", h, p)
		}
	}
	if Outdated("!disabled", TestParams) {
		t.Error("an unreadable hash is reported outdated")
	}
}

func TestVerifyPassword(t *testing.T) {
	h, err := HashPassword("s3cret ünïcode", TestParams)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		pw   string
		want bool
	}{
		{"s3cret ünïcode", true},
		{"s3cret ünïcodE", false},
		{"", false},
		{"s3cret ünïcode ", false},
	}
	for _, tc := range tests {
		got, err := VerifyPassword(h, tc.pw)
		if err != nil {
			t.Fatalf("VerifyPassword(%q): %v", tc.pw, err)
		}
		if got != tc.want {
			t.Errorf("VerifyPassword(%q) = %v, want %v", tc.pw, got, tc.want)
		}
	}
}

// A hash made elsewhere (the reference argon2 CLI: echo -n password |
// argon2 somesalt -id -t 2 -m 6 -p 1 -l 32) verifies: we read the standard
// PHC format, not only our own output.
func TestVerifyReferenceVector(t *testing.T) {
	const phc = "$argon2id$v=19$m=64,t=2,p=1$c29tZXNhbHQ$FqGkmHNGCd0BRW2kBt6fPZ2pPmyGwwChL8FGUhTOSSI"
	_, salt, key, err := parsePHC(phc)
	if err != nil {
		t.Fatal(err)
	}
	if string(salt) != "somesalt" || len(key) != 32 {
		t.Fatalf("parsed salt %q key len %d", salt, len(key))
	}
	if ok, err := VerifyPassword(phc, "password"); err != nil || !ok {
		t.Fatalf("reference vector: ok=%v err=%v", ok, err)
	}
	if ok, err := VerifyPassword(phc, "wrong"); err != nil || ok {
		t.Fatalf("wrong password: ok=%v err=%v", ok, err)
	}
}

func TestVerifyMalformedHash(t *testing.T) {
	good, err := HashPassword("pw", TestParams)
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Split(good, "$")
	salt, key := f[4], f[5]
	tests := map[string]string{
		"empty":            "",
		"bcrypt":           "$2y$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234",
		"argon2i":          "$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key,
		"old version":      "$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + key,
		"missing param":    "$argon2id$v=19$m=64,t=1$" + salt + "$" + key,
		"unknown param":    "$argon2id$v=19$m=64,t=1,p=1,x=3$" + salt + "$" + key,
		"non-numeric":      "$argon2id$v=19$m=abc,t=1,p=1$" + salt + "$" + key,
		"huge memory":      "$argon2id$v=19$m=4294967295,t=1,p=1$" + salt + "$" + key,
		"huge time":        "$argon2id$v=19$m=64,t=100000,p=1$" + salt + "$" + key,
		"zero threads":     "$argon2id$v=19$m=64,t=1,p=0$" + salt + "$" + key,
		"threads overflow": "$argon2id$v=19$m=64,t=1,p=256$" + salt + "$" + key,
		"bad salt":         "$argon2id$v=19$m=64,t=1,p=1$!!!$" + key,
		"short key":        "$argon2id$v=19$m=64,t=1,p=1$" + salt + "$AAAA",
		"extra field":      good + "$x",
		"no leading $":     strings.TrimPrefix(good, "$"),
	}
	for name, h := range tests {
		ok, err := VerifyPassword(h, "pw")
		if ok || !errors.Is(err, ErrMalformedHash) {
			t.Errorf("%s: VerifyPassword(%q) = %v, %v; want false, ErrMalformedHash", name, h, ok, err)
		}
	}
}

func TestParamsValidate(t *testing.T) {
	bad := []Params{
		{},
		{Memory: 64, Time: 0, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 4, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 64, Time: 1, Threads: 1, SaltLen: 4, KeyLen: 32},
		{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 8},
	}
	for _, p := range bad {
		if p.Validate() == nil {
			t.Errorf("%+v validated", p)
		}
		if _, err := HashPassword("x", p); err == nil {
			t.Errorf("HashPassword with %+v succeeded", p)
		}
	}
}
