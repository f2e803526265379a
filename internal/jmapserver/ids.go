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
// An Email is one message row: the mailbox's store id and the UID
// ("E12_345"). Its Thread is the message itself ("T12_345") until the
// store keeps thread ids. A message blob is "B12_345"; a body part's
// blob adds the part path ("B12_345_2_1" is part 2.1, decoded).

func mailboxID(mb store.MailboxInfo) string { return "M" + strconv.FormatInt(mb.ID, 10) }

func parseMailboxID(id string) (int64, bool) {
	rest, ok := strings.CutPrefix(id, "M")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(rest, 10, 64)
	return n, err == nil && n > 0 && strconv.FormatInt(n, 10) == rest
}

// msgRef names one message row.
type msgRef struct {
	mbox int64
	uid  store.UID
}

func (r msgRef) key() string {
	return strconv.FormatInt(r.mbox, 10) + "_" + strconv.FormatUint(uint64(r.uid), 10)
}

func emailID(r msgRef) string  { return "E" + r.key() }
func threadID(r msgRef) string { return "T" + r.key() }
func blobID(r msgRef) string   { return "B" + r.key() }

func partBlobID(r msgRef, path []int) string {
	var b strings.Builder
	b.WriteString(blobID(r))
	for _, p := range path {
		b.WriteByte('_')
		b.WriteString(strconv.Itoa(p))
	}
	return b.String()
}

func parseRef(s string) (msgRef, []string, bool) {
	fields := strings.Split(s, "_")
	if len(fields) < 2 {
		return msgRef{}, nil, false
	}
	mb, err1 := strconv.ParseInt(fields[0], 10, 64)
	uid, err2 := strconv.ParseUint(fields[1], 10, 32)
	if err1 != nil || err2 != nil || mb <= 0 || uid == 0 ||
		strconv.FormatInt(mb, 10) != fields[0] || strconv.FormatUint(uid, 10) != fields[1] {
		return msgRef{}, nil, false
	}
	return msgRef{mb, store.UID(uid)}, fields[2:], true
}

func parseEmailID(id string) (msgRef, bool) {
	rest, ok := strings.CutPrefix(id, "E")
	if !ok {
		return msgRef{}, false
	}
	r, extra, ok := parseRef(rest)
	return r, ok && len(extra) == 0
}

func parseThreadID(id string) (msgRef, bool) {
	rest, ok := strings.CutPrefix(id, "T")
	if !ok {
		return msgRef{}, false
	}
	r, extra, ok := parseRef(rest)
	return r, ok && len(extra) == 0
}

// threadMembers lists the emails of a thread, given the message it was
// named after.
func threadMembers(r msgRef) []msgRef { return []msgRef{r} }

// parseBlobID reads a message or part blob id; path is nil for the whole
// message.
func parseBlobID(id string) (r msgRef, path []int, ok bool) {
	rest, ok := strings.CutPrefix(id, "B")
	if !ok {
		return msgRef{}, nil, false
	}
	r, extra, ok := parseRef(rest)
	if !ok {
		return msgRef{}, nil, false
	}
	for _, f := range extra {
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 || strconv.Itoa(n) != f {
			return msgRef{}, nil, false
		}
		path = append(path, n)
	}
	return r, path, true
}
