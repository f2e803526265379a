package jmapserver

import (
	"strconv"
	"strings"

	"github.com/letterbox/letterbox/internal/store"
)

// Ids of mailboxes, emails, threads and blobs (RFC 8620 §1.2: 1-255
// characters of the URL-safe base64 alphabet). This is the one file that
// knows how they are made.
//
// They are the store's object ids (RFC 8474), so IMAP and JMAP name a
// message the same way: a Mailbox id is its MAILBOXID ("F12"), an Email id
// its EMAILID ("M" and 16 hex digits; every copy made by COPY or MOVE
// keeps it, so one Email may be in several mailboxes), a Thread id its
// THREADID ("T…"). A message blob is "B" and the Email id; a body part's
// blob adds the part path ("BM…_2_1" is part 2.1, decoded).

func mailboxID(mb store.MailboxInfo) string { return mb.ObjectID() }

func parseMailboxID(id string) (int64, bool) { return store.ParseMailboxObjectID(id) }

// msgRef names one message row (one copy of an Email).
type msgRef struct {
	mbox int64
	uid  store.UID
}

func validEmailID(id string) bool {
	_, ok := store.ParseEmailID(id)
	return ok
}

func validThreadID(id string) bool {
	_, ok := store.ParseThreadID(id)
	return ok
}

func blobID(emailID string) string { return "B" + emailID }

func partBlobID(emailID string, path []int) string {
	var b strings.Builder
	b.WriteString(blobID(emailID))
	for _, p := range path {
		b.WriteByte('_')
		b.WriteString(strconv.Itoa(p))
	}
	return b.String()
}

// parseBlobID reads a message or part blob id; path is nil for the whole
// message.
func parseBlobID(id string) (emailID string, path []int, ok bool) {
	rest, ok := strings.CutPrefix(id, "B")
	if !ok {
		return "", nil, false
	}
	fields := strings.Split(rest, "_")
	if !validEmailID(fields[0]) {
		return "", nil, false
	}
	for _, f := range fields[1:] {
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 || strconv.Itoa(n) != f {
			return "", nil, false
		}
		path = append(path, n)
	}
	return fields[0], path, true
}
