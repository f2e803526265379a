package mailclient

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// letterFlags maps the Maildir info letters the sync keeps in step to
// IMAP flags (maildir(5) and Dovecot's convention: P is $Forwarded, T is
// \Deleted). Other letters (Dovecot's a-z keywords) are left alone.
var letterFlags = map[byte]string{
	'D': `\Draft`,
	'F': `\Flagged`,
	'P': `$Forwarded`,
	'R': `\Answered`,
	'S': `\Seen`,
	'T': `\Deleted`,
}

// fileLetters returns the known flag letters of a Maildir file name
// ("BASE:2,FLAGS"), sorted; a file in new/ has none.
func fileLetters(path string) string {
	_, info, ok := strings.Cut(filepath.Base(path), ":2,")
	if !ok {
		return ""
	}
	var b []byte
	for i := 0; i < len(info); i++ {
		if _, known := letterFlags[info[i]]; known && bytes.IndexByte(b, info[i]) < 0 {
			b = append(b, info[i])
		}
	}
	sort.Slice(b, func(i, j int) bool { return b[i] < b[j] })
	return string(b)
}

// otherLetters are the letters of a file name the sync does not manage.
func otherLetters(path string) string {
	_, info, _ := strings.Cut(filepath.Base(path), ":2,")
	var b []byte
	for i := 0; i < len(info); i++ {
		if _, known := letterFlags[info[i]]; !known {
			b = append(b, info[i])
		}
	}
	return string(b)
}

// mergeLetters is the sorted union of letter sets.
func mergeLetters(sets ...string) string {
	var b []byte
	for _, s := range sets {
		for i := 0; i < len(s); i++ {
			if bytes.IndexByte(b, s[i]) < 0 {
				b = append(b, s[i])
			}
		}
	}
	sort.Slice(b, func(i, j int) bool { return b[i] < b[j] })
	return string(b)
}

// minusLetters is the letters of a that are not in b.
func minusLetters(a, b string) string {
	var out []byte
	for i := 0; i < len(a); i++ {
		if strings.IndexByte(b, a[i]) < 0 {
			out = append(out, a[i])
		}
	}
	return string(out)
}

// imapFlags turns letters into IMAP flags.
func imapFlags(letters string) []string {
	out := make([]string, 0, len(letters))
	for i := 0; i < len(letters); i++ {
		out = append(out, letterFlags[letters[i]])
	}
	return out
}

// relabel renames the file at path so that its managed letters are
// letters, keeping the others; it returns the new path.
func (m *maildir) relabel(path, base, letters string) (string, error) {
	all := mergeLetters(letters, otherLetters(path))
	return m.setFlags(path, base, all)
}

// adopt moves a message file from another Maildir (or this one) into
// this one's cur/ (new/ without letters) with the given managed letters.
func (m *maildir) adopt(path, base, letters string) (string, error) {
	all := mergeLetters(letters, otherLetters(path))
	want := m.path(base, all)
	if err := os.Rename(path, want); err != nil {
		return "", err
	}
	if err := syncDir(filepath.Dir(want)); err != nil {
		return "", err
	}
	return want, syncDir(filepath.Dir(path))
}

// fingerprint identifies a message without its UID or EMAILID: its size
// and the SHA-256 of its header, both as the server has them (CRLF line
// ends), so a header peek (BODY.PEEK[HEADER], RFC 3501 §6.4.5) and
// RFC822.SIZE from the server give the same value as the local file. The
// header holds Message-ID, Date and the Received chain, so two different
// messages practically never share it.
func fingerprint(size int64, header []byte) string {
	sum := sha256.Sum256(header)
	return fmt.Sprintf("%d:%s", size, hex.EncodeToString(sum[:12]))
}

// fileFingerprint computes fingerprint for a Maildir file (LF line ends):
// the CRLF size and the header with CRLF line ends, up to and including
// the empty line. An "X-TUID:" field is left out: mbsync adds it to its
// local copies (and removes it when it uploads), so a tree mbsync made
// matches the server's messages.
func fileFingerprint(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	var header bytes.Buffer
	var size int64
	inHeader := true
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			crlf := line
			if line[len(line)-1] == '\n' && (len(line) < 2 || line[len(line)-2] != '\r') {
				crlf = append(line[:len(line)-1:len(line)-1], '\r', '\n')
			}
			switch {
			case inHeader && isTUID(crlf):
			case inHeader:
				size += int64(len(crlf))
				header.Write(crlf)
				inHeader = string(crlf) != "\r\n"
			default:
				size += int64(len(crlf))
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", err
		}
	}
	return fingerprint(size, header.Bytes()), nil
}

// crlfFile reads a Maildir file with CRLF line ends, as APPEND wants it,
// without mbsync's X-TUID field.
func crlfFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	out.Grow(len(data) + len(data)/40)
	inHeader := true
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line = data[:i+1]
		}
		data = data[len(line):]
		crlf := line
		if bytes.HasSuffix(line, []byte("\n")) && !bytes.HasSuffix(line, []byte("\r\n")) {
			crlf = append(line[:len(line)-1:len(line)-1], '\r', '\n')
		}
		if inHeader {
			if isTUID(crlf) {
				continue
			}
			inHeader = string(crlf) != "\r\n"
		}
		out.Write(crlf)
	}
	return out.Bytes(), nil
}

// isTUID reports whether a header line is mbsync's "X-TUID:" field.
func isTUID(line []byte) bool {
	return len(line) >= 7 && strings.EqualFold(string(line[:7]), "X-TUID:")
}

// headerOf is the header of a message with CRLF line ends, up to and
// including the empty line (all of it when there is no body).
func headerOf(msg []byte) []byte {
	if i := bytes.Index(msg, []byte("\r\n\r\n")); i >= 0 {
		return msg[:i+4]
	}
	if bytes.HasPrefix(msg, []byte("\r\n")) {
		return msg[:2]
	}
	return msg
}

// isMaildir reports whether dir has the cur/ and new/ of a Maildir.
func isMaildir(dir string) bool {
	for _, sub := range []string{"cur", "new"} {
		if fi, err := os.Stat(filepath.Join(dir, sub)); err != nil || !fi.IsDir() {
			return false
		}
	}
	return true
}
