package imapserver

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/letterbox/letterbox/internal/imap"
	"github.com/letterbox/letterbox/internal/mime"
	"github.com/letterbox/letterbox/internal/store"
)

// urlauthToken is the INTERNAL mechanism's verifier (RFC 4467 §7): the
// HMAC-SHA1 of the URL rump (everything up to and including the access
// identifier) keyed with the mailbox access key, in hexadecimal.
func urlauthToken(key []byte, rump string) string {
	m := hmac.New(sha1.New, key)
	m.Write([]byte(rump))
	return hex.EncodeToString(m.Sum(nil))
}

// urlData is the content a URL names: a range of a stored message, or
// filtered header bytes; partial already applied.
type urlData struct {
	blob     store.Blob
	off, n   int64
	filtered []byte // non-nil for HEADER.FIELDS[.NOT]
}

func (d *urlData) reader() io.Reader {
	if d.filtered != nil {
		return bytes.NewReader(d.filtered[d.off : d.off+d.n])
	}
	return io.NewSectionReader(d.blob, d.off, d.n)
}

func (d *urlData) Close() error { return d.blob.Close() }

// accessKeys is the store's URLAUTH key capability, or nil.
func (s *session) accessKeys() store.AccessKeys {
	ak, _ := s.srv.opts.Store.(store.AccessKeys)
	return ak
}

// resolveURL opens what an IMAP URL names for this session (RFC 4469 §3
// for CATENATE, RFC 4467 §6.4 for URLFETCH, which passes needAuth). A URL
// without URLAUTH reaches only the session user's own mail; one with
// URLAUTH needs a valid INTERNAL verifier made with the mailbox's current
// access key, no passed expiry, and an access identifier that admits the
// session user ("submit+" is for a submission server, which this is not).
func (s *session) resolveURL(raw string, needAuth bool) (*urlData, error) {
	if s.sel != nil && len(raw) >= 5 && strings.EqualFold(raw[:5], ";UID=") {
		// A mailbox-relative URL (RFC 5092 §7.1, RFC 3986 §5.2): its base
		// is the selected mailbox.
		raw = "/" + strings.ReplaceAll(url.PathEscape(s.sel.name), "%2F", "/") + "/" + raw
	}
	u, err := parseIMAPURL(raw)
	if err != nil {
		return nil, err
	}
	owner := s.account.Name
	if u.absolute {
		owner = u.user
	}
	if u.access == "" {
		if needAuth {
			return nil, badURL("no URLAUTH")
		}
		if !strings.EqualFold(owner, s.account.Name) {
			return nil, badURL("another user's mail without URLAUTH")
		}
	} else {
		if !u.absolute || u.mech != "INTERNAL" {
			return nil, badURL("URLAUTH without an INTERNAL verifier")
		}
		if !u.expire.IsZero() && !time.Now().Before(u.expire) {
			return nil, badURL("expired")
		}
		switch {
		case u.access == "anonymous", u.access == "authuser":
		case strings.HasPrefix(u.access, "user+"):
			who, err := url.PathUnescape(strings.TrimPrefix(u.access, "user+"))
			if err != nil || !strings.EqualFold(who, s.account.Name) {
				return nil, badURL("not for this user")
			}
		default:
			return nil, badURL("access " + u.access + " not granted here")
		}
		ak := s.accessKeys()
		if ak == nil {
			return nil, badURL("no URLAUTH keys")
		}
		key, err := ak.MailboxAccessKey(s.ctx, owner, u.mailbox, false)
		if err != nil || key == nil {
			return nil, badURL("no access key")
		}
		got, err := hex.DecodeString(u.token)
		want, _ := hex.DecodeString(urlauthToken(key, u.rump))
		if err != nil || !hmac.Equal(got, want) {
			return nil, badURL("verifier does not match")
		}
	}
	mbs, err := s.srv.opts.Store.Mailboxes(s.ctx, owner)
	if err != nil {
		return nil, badURL("no such user")
	}
	mb, err := mbs.Open(s.ctx, u.mailbox)
	if err != nil {
		return nil, badURL("no such mailbox")
	}
	info, err := mb.Info(s.ctx)
	if err != nil || u.uidValidity != 0 && info.UIDValidity != u.uidValidity {
		return nil, badURL("UIDVALIDITY changed")
	}
	ds, err := mb.Details(s.ctx, []store.UID{store.UID(u.uid)})
	if err != nil || len(ds) != 1 {
		return nil, badURL("no such message")
	}
	blob, err := s.srv.opts.Store.OpenBlob(s.ctx, ds[0].BlobID)
	if err != nil {
		return nil, badURL("message gone")
	}
	sec := u.section
	if sec == nil {
		sec = &imap.Section{}
	}
	var root *mime.Part
	if len(sec.Part) > 0 || sec.Specifier != "" {
		root, err = mime.Decode(ds[0].Structure)
		if err != nil || root == nil {
			if root, err = mime.Parse(blob, blob.Size()); err != nil {
				blob.Close()
				return nil, err
			}
		}
	}
	r, filtered, ok, err := sectionData(blob, root, sec)
	if err != nil {
		blob.Close()
		return nil, err
	}
	if !ok {
		blob.Close()
		return nil, badURL("no such section")
	}
	d := &urlData{blob: blob, filtered: filtered}
	size := r.Len()
	if filtered != nil {
		size = int64(len(filtered))
	}
	off, n := clip(size, u.partial)
	if filtered == nil {
		off += r.Start
	}
	d.off, d.n = off, n
	return d, nil
}

// cmdGenURLAuth: GENURLAUTH (RFC 4467 §6.2). Each rump must be an
// absolute URL of the session user's own mail with ";URLAUTH=access" and
// no verifier; the answer appends ":internal:" and the verifier made with
// the mailbox's access key (created on first use).
func (s *session) cmdGenURLAuth(cmd *imap.Command) (string, error) {
	a := cmd.Args.(*imap.GenURLAuthArgs)
	ak := s.accessKeys()
	if ak == nil {
		return "", errNo("CANNOT", "URLAUTH is not available")
	}
	full := make([]string, len(a.Rumps))
	for i, rump := range a.Rumps {
		if a.Mechanisms[i] != "INTERNAL" {
			return "", errNo("", "Unsupported URLAUTH mechanism "+a.Mechanisms[i])
		}
		u, err := parseIMAPURL(rump)
		if err != nil || !u.absolute || u.access == "" || u.mech != "" || u.rump != rump {
			return "", errBad("Invalid URL rump: " + rump)
		}
		if !strings.EqualFold(u.user, s.account.Name) {
			return "", errNo("", "URL names another user's mailbox")
		}
		if !u.expire.IsZero() && !time.Now().Before(u.expire) {
			// As Dovecot answers: such a URL could never be used.
			return "", errBad("URLAUTH has already expired")
		}
		info, err := s.boxes.Get(s.ctx, u.mailbox)
		if err != nil {
			return "", errNo("", "No such mailbox in URL: "+u.mailbox)
		}
		if u.uidValidity != 0 && u.uidValidity != info.UIDValidity {
			return "", errNo("", "UIDVALIDITY in URL does not match")
		}
		key, err := ak.MailboxAccessKey(s.ctx, s.account.Name, info.Name, true)
		if err != nil {
			return "", err
		}
		full[i] = rump + ":internal:" + urlauthToken(key, rump)
	}
	w := s.c.w
	w.StartUntagged()
	w.Raw("GENURLAUTH")
	for _, f := range full {
		w.SP()
		w.String(f)
	}
	w.CRLF()
	return "", nil
}

// cmdResetKey: RESETKEY (RFC 4467 §6.1): discard the access key of one
// mailbox, or of all, so every URL made with it stops working. The OK
// carries URLMECH with the mechanisms there are (RFC 4467 §4), as
// Dovecot's does.
func (s *session) cmdResetKey(cmd *imap.Command) (string, error) {
	a := cmd.Args.(*imap.ResetKeyArgs)
	ak := s.accessKeys()
	if ak == nil {
		return "", errNo("CANNOT", "URLAUTH is not available")
	}
	for _, m := range a.Mechanisms {
		if m != "INTERNAL" {
			return "", errNo("", "Unsupported URLAUTH mechanism "+m)
		}
	}
	name := ""
	if a.HasMailbox {
		n, err := existingName(a.Mailbox)
		if err != nil {
			return "", err
		}
		info, err := s.boxes.Get(s.ctx, n)
		if err != nil {
			if pe := storeError(err, false); pe != nil {
				return "", pe
			}
			return "", err
		}
		name = info.Name
	}
	if err := ak.ResetAccessKeys(s.ctx, s.account.Name, name); err != nil {
		if pe := storeError(err, false); pe != nil {
			return "", pe
		}
		return "", err
	}
	return "URLMECH INTERNAL", nil
}

// cmdURLFetch: URLFETCH (RFC 4467 §6.4): one untagged URLFETCH with each
// URL and its data, NIL for a URL this session may not read.
func (s *session) cmdURLFetch(cmd *imap.Command) (string, error) {
	a := cmd.Args.(*imap.URLFetchArgs)
	w := s.c.w
	s.c.writeDeadline()
	w.StartUntagged()
	w.Raw("URLFETCH")
	for _, raw := range a.URLs {
		w.SP()
		w.AString(raw)
		w.SP()
		d, err := s.resolveURL(raw, true)
		if err != nil {
			var bu badURL
			if !errors.As(err, &bu) {
				s.log.Warn("imap URLFETCH", "err", err)
			}
			w.Raw("NIL")
			continue
		}
		if d.filtered != nil {
			err = s.writeBytes(d.filtered[d.off:d.off+d.n], nil)
		} else {
			err = s.writeRange(d.blob, mime.Range{Start: d.off, End: d.off + d.n}, nil, false)
		}
		d.Close()
		if err != nil {
			s.log.Error("imap URLFETCH failed mid-response", "err", err)
			return "", errCloseConn
		}
	}
	w.CRLF()
	return "", w.Err()
}
