package imapserver

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/ianaindex"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"

	"github.com/letterbox/letterbox/internal/imap"
)

// searchCharsets are the charsets SEARCH, SORT and THREAD take in their
// CHARSET argument besides UTF-8 and US-ASCII (RFC 3501 §6.4.4, RFC 5256
// §3), by the name BADCHARSET lists them under. The search strings are
// converted to UTF-8 before matching; everything else about the search is
// the same. ISO-8859-11 is read as Windows-874 (its superset: TIS-620 plus
// the C1 range).
var searchCharsets = []struct {
	name string
	enc  encoding.Encoding
}{
	{"ISO-8859-1", charmap.ISO8859_1}, {"ISO-8859-2", charmap.ISO8859_2},
	{"ISO-8859-3", charmap.ISO8859_3}, {"ISO-8859-4", charmap.ISO8859_4},
	{"ISO-8859-5", charmap.ISO8859_5}, {"ISO-8859-6", charmap.ISO8859_6},
	{"ISO-8859-7", charmap.ISO8859_7}, {"ISO-8859-8", charmap.ISO8859_8},
	{"ISO-8859-9", charmap.ISO8859_9}, {"ISO-8859-10", charmap.ISO8859_10},
	{"ISO-8859-11", charmap.Windows874}, {"ISO-8859-13", charmap.ISO8859_13},
	{"ISO-8859-14", charmap.ISO8859_14}, {"ISO-8859-15", charmap.ISO8859_15},
	{"ISO-8859-16", charmap.ISO8859_16},
	{"WINDOWS-1250", charmap.Windows1250}, {"WINDOWS-1251", charmap.Windows1251},
	{"WINDOWS-1252", charmap.Windows1252}, {"WINDOWS-1253", charmap.Windows1253},
	{"WINDOWS-1254", charmap.Windows1254}, {"WINDOWS-1255", charmap.Windows1255},
	{"WINDOWS-1256", charmap.Windows1256}, {"WINDOWS-1257", charmap.Windows1257},
	{"WINDOWS-1258", charmap.Windows1258},
	{"KOI8-R", charmap.KOI8R}, {"KOI8-U", charmap.KOI8U},
	{"ISO-2022-JP", japanese.ISO2022JP}, {"SHIFT_JIS", japanese.ShiftJIS}, {"EUC-JP", japanese.EUCJP},
	{"EUC-KR", korean.EUCKR},
	{"GB18030", simplifiedchinese.GB18030}, {"GBK", simplifiedchinese.GBK},
	{"GB2312", simplifiedchinese.GBK}, // GBK is a superset of EUC-CN
	{"BIG5", traditionalchinese.Big5},
}

// badCharsetCode is the BADCHARSET response code with the supported list
// (RFC 3501 §7.1, RFC 9051 §7.1).
var badCharsetCode = func() string {
	names := []string{"UTF-8", "US-ASCII"}
	for _, c := range searchCharsets {
		names = append(names, c.name)
	}
	return "BADCHARSET (" + strings.Join(names, " ") + ")"
}()

// utf8Charset reports whether name (upper-cased) is UTF-8 or US-ASCII
// under one of their usual names; "" is the default, UTF-8.
func utf8Charset(name string) bool {
	switch name {
	case "", "UTF-8", "UTF8", "US-ASCII", "ASCII", "US_ASCII", "ANSI_X3.4-1968":
		return true
	}
	return false
}

// searchEncoding finds the decoder for a CHARSET name: one of
// searchCharsets by its name or by any IANA alias of the same encoding
// ("LATIN1", "CP1251", "SJIS", ...). ok is false for any other charset.
func searchEncoding(name string) (encoding.Encoding, bool) {
	for _, c := range searchCharsets {
		if c.name == name {
			return c.enc, true
		}
	}
	enc, err := ianaindex.IANA.Encoding(name)
	if err != nil || enc == nil {
		return nil, false
	}
	for _, c := range searchCharsets {
		if c.enc == enc {
			return enc, true
		}
	}
	return nil, false
}

// searchKeyIn returns the search key with its strings in UTF-8: key
// itself when charset is UTF-8 or US-ASCII (whose strings must then be
// valid UTF-8: Dovecot answers BAD otherwise, and so does letterbox), a
// converted copy for another supported charset, and NO [BADCHARSET
// (...)] for an unknown one (RFC 3501 §6.4.4).
func searchKeyIn(charset string, key *imap.SearchKey) (*imap.SearchKey, error) {
	if utf8Charset(charset) {
		if !validSearchStrings(key) {
			return nil, errBad("Invalid search key: string is not UTF-8")
		}
		return key, nil
	}
	enc, ok := searchEncoding(charset)
	if !ok {
		return nil, errNo(badCharsetCode, "Unknown charset")
	}
	out := *key
	if err := decodeSearchStrings(&out, enc); err != nil {
		return nil, errBad("Invalid search key: string is not " + charset)
	}
	return &out, nil
}

// searchStringKey says whether the key's Value is a search string (the
// keys whose argument is an astring of text, RFC 3501 §6.4.4).
func searchStringKey(name string) bool {
	switch name {
	case "BCC", "BODY", "CC", "FROM", "SUBJECT", "TEXT", "TO", "HEADER":
		return true
	}
	return false
}

func validSearchStrings(k *imap.SearchKey) bool {
	if searchStringKey(k.Name) && !utf8.ValidString(k.Value) {
		return false
	}
	for i := range k.Children {
		if !validSearchStrings(&k.Children[i]) {
			return false
		}
	}
	return true
}

// decodeSearchStrings converts the strings of k (a copy the caller owns)
// and of copies of its children to UTF-8.
func decodeSearchStrings(k *imap.SearchKey, enc encoding.Encoding) error {
	if searchStringKey(k.Name) {
		v, err := enc.NewDecoder().String(k.Value)
		if err != nil {
			return err
		}
		k.Value = v
	}
	if len(k.Children) > 0 {
		children := make([]imap.SearchKey, len(k.Children))
		copy(children, k.Children)
		k.Children = children
		for i := range children {
			if err := decodeSearchStrings(&children[i], enc); err != nil {
				return err
			}
		}
	}
	return nil
}
