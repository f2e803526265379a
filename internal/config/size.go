package config

import (
	"fmt"
	"strconv"
	"strings"
)

// Size is a number of octets. In the file it is an integer or a string
// with a binary unit: "50MiB", "64KiB", "1GiB", "512B".
type Size int64

// Units of Size.
const (
	KiB Size = 1 << 10
	MiB Size = 1 << 20
	GiB Size = 1 << 30
)

var sizeUnits = []struct {
	suffix string
	n      Size
}{
	{"GiB", GiB}, {"MiB", MiB}, {"KiB", KiB}, {"B", 1},
}

// UnmarshalText reads "50MiB", "512B" or "1024".
func (s *Size) UnmarshalText(text []byte) error {
	str := strings.TrimSpace(string(text))
	mult := Size(1)
	for _, u := range sizeUnits {
		if num, ok := strings.CutSuffix(str, u.suffix); ok {
			str, mult = strings.TrimSpace(num), u.n
			break
		}
	}
	n, err := strconv.ParseInt(str, 10, 64)
	if err != nil || n < 0 {
		return fmt.Errorf("invalid size %q (want a number of octets or e.g. \"50MiB\", \"64KiB\")", text)
	}
	if n > int64(^uint64(0)>>1)/int64(mult) {
		return fmt.Errorf("size %q too large", text)
	}
	*s = Size(n) * mult
	return nil
}

// String writes the size with the largest unit that divides it exactly.
func (s Size) String() string {
	for _, u := range sizeUnits {
		if s != 0 && s%u.n == 0 {
			return strconv.FormatInt(int64(s/u.n), 10) + u.suffix
		}
	}
	return "0B"
}

// MarshalText writes the String form, which UnmarshalText reads back.
func (s Size) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
