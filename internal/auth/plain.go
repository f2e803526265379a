package auth

import (
	"bytes"
	"errors"
	"unicode/utf8"
)

// ErrMalformedPlain reports a SASL PLAIN response that does not follow
// RFC 4616 §2.
var ErrMalformedPlain = errors.New("auth: malformed SASL PLAIN response")

// maxPlainField bounds each field of a PLAIN response. RFC 4616 §2 says
// "up to 255 octets"; we accept up to 1024 so long generated passwords still
// work, and refuse anything larger.
const maxPlainField = 1024

// DecodePlain decodes a SASL PLAIN client response (RFC 4616 §2):
//
//	message = [authzid] UTF8NUL authcid UTF8NUL passwd
//
// resp is the raw response, already base64-decoded by the protocol layer.
// authcid and passwd must be non-empty; all three must be valid UTF-8
// without NUL. An empty authzid means "act as authcid". Callers that do not
// support proxy authorization should refuse a non-empty authzid that
// differs from user (see AuthzidAllowed).
func DecodePlain(resp []byte) (authzid, user, pass string, err error) {
	fields := bytes.Split(resp, []byte{0})
	if len(fields) != 3 {
		return "", "", "", ErrMalformedPlain
	}
	for _, f := range fields {
		if len(f) > maxPlainField || !utf8.Valid(f) {
			return "", "", "", ErrMalformedPlain
		}
	}
	if len(fields[1]) == 0 || len(fields[2]) == 0 {
		return "", "", "", ErrMalformedPlain
	}
	return string(fields[0]), string(fields[1]), string(fields[2]), nil
}

// AuthzidAllowed reports whether a PLAIN authzid may be accepted for the
// authenticated user: letterbox has no proxy authorization, so the authzid
// must be empty or name the same account (compared case-insensitively, as
// account names are).
func AuthzidAllowed(authzid, user string) bool {
	return authzid == "" || NormalizeUsername(authzid) == NormalizeUsername(user)
}
