package imapserver

import (
	"strings"
	"testing"
)

func TestReadHeaderBlock(t *testing.T) {
	long := "X-Long: " + strings.Repeat("a", 9000) + "\r\n"
	for _, tc := range []struct{ msg, want string }{
		{"Subject: x\r\nReferences: <a@b>\r\n\r\nbody\r\n", "Subject: x\r\nReferences: <a@b>\r\n\r\n"},
		{"\r\nbody only\r\n", ""},
		{"Subject: no body\r\n", "Subject: no body\r\n"},
		{long + "References: <c@d>\r\n\r\n" + strings.Repeat("b", 10000), long + "References: <c@d>\r\n\r\n"},
		{"A: 1\n\nbare LF\n", "A: 1\n\n"},
		{strings.Repeat("x", 4095) + "\r\n\r\nbody", strings.Repeat("x", 4095) + "\r\n\r\n"}, // the blank line across pieces
	} {
		got, err := readHeaderBlock(strings.NewReader(tc.msg))
		if err != nil || string(got) != tc.want {
			t.Errorf("readHeaderBlock(%.40q) = %.60q, %v; want %.60q", tc.msg, got, err, tc.want)
		}
	}
}
