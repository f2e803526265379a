package jmapserver

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	lbmime "github.com/letterbox/letterbox/internal/mime"
)

// Binary data (RFC 8620 §6): upload, download and Blob/copy.
//
// A message's blob is "B…" (ids.go) and is read from the store; a body
// part's blob is its content with the transfer encoding undone. Uploads
// are kept in memory ("U…"), per account, for uploadTTL or until the
// memory bound pushes the oldest out; Email/import and Email/set turn
// them into stored messages.

const uploadTTL = time.Hour

type upload struct {
	account string
	typ     string
	data    []byte
	created time.Time
}

type uploadStore struct {
	max   int64
	mu    sync.Mutex
	total int64
	m     map[string]*upload
	order []string
}

func newUploadStore(max int64) *uploadStore {
	return &uploadStore{max: max, m: map[string]*upload{}}
}

func (u *uploadStore) put(account, typ string, data []byte) string {
	var b [18]byte
	rand.Read(b[:])
	id := "U" + base64.RawURLEncoding.EncodeToString(b[:])
	now := time.Now()
	u.mu.Lock()
	defer u.mu.Unlock()
	for len(u.order) > 0 {
		old := u.m[u.order[0]]
		if old != nil && u.total+int64(len(data)) <= u.max && now.Sub(old.created) < uploadTTL {
			break
		}
		if old != nil {
			u.total -= int64(len(old.data))
			delete(u.m, u.order[0])
		}
		u.order = u.order[1:]
	}
	u.m[id] = &upload{account: account, typ: typ, data: data, created: now}
	u.order = append(u.order, id)
	u.total += int64(len(data))
	return id
}

func (u *uploadStore) get(account, id string) (*upload, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	up, ok := u.m[id]
	if !ok || up.account != account || time.Since(up.created) > uploadTTL {
		return nil, false
	}
	return up, true
}

// handleUpload serves the uploadUrl (RFC 8620 §6.1).
func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request) {
	acct := principalOf(r).acct
	// Uploads are the user's, whichever of their accounts (their own or a
	// shared one) the URL names: a blob uploaded once may be imported
	// into any of them.
	target := r.PathValue("accountId")
	c := &call{s: s, ctx: r.Context(), acct: acct, owner: acct, created: map[string]string{}}
	if err := c.useAccount(target); err != nil {
		http.Error(w, "no such account", http.StatusNotFound)
		return
	}
	key := "upload/" + acct.Name
	if !s.slots.acquire(key, s.limits.MaxConcurrentUpload) {
		writeProblem(w, problem{Type: errLimit, Status: http.StatusTooManyRequests, Limit: "maxConcurrentUpload",
			Detail: fmt.Sprintf("at most %d uploads may run at once", s.limits.MaxConcurrentUpload)})
		return
	}
	defer s.slots.release(key)
	data, err := io.ReadAll(io.LimitReader(r.Body, s.limits.MaxSizeUpload+1))
	if err != nil {
		http.Error(w, "reading the upload failed", http.StatusBadRequest)
		return
	}
	if int64(len(data)) > s.limits.MaxSizeUpload {
		writeProblem(w, problem{Type: errLimit, Status: http.StatusRequestEntityTooLarge, Limit: "maxSizeUpload",
			Detail: fmt.Sprintf("uploads are at most %d octets", s.limits.MaxSizeUpload)})
		return
	}
	typ := r.Header.Get("Content-Type")
	if typ == "" {
		typ = "application/octet-stream"
	}
	id := s.uploads.put(acct.Name, typ, data)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(map[string]any{"accountId": target, "blobId": id, "type": typ, "size": len(data)})
}

// openBlob returns the content of a blob id of the account.
func (c *call) openBlob(id string) ([]byte, string, bool, error) {
	if up, ok := c.s.uploads.get(c.acct.Name, id); ok {
		return up.data, up.typ, true, nil
	}
	eid, path, ok := parseBlobID(id)
	if !ok {
		return nil, "", false, nil
	}
	recs, err := c.loadEmails([]string{eid})
	if err != nil {
		return nil, "", false, err
	}
	rec := recs[eid]
	if rec == nil {
		return nil, "", false, nil
	}
	blob, err := c.s.opts.Store.OpenBlob(c.ctx, rec.msg.BlobID)
	if err != nil {
		return nil, "", false, err
	}
	defer blob.Close()
	if len(path) == 0 {
		b, err := io.ReadAll(io.NewSectionReader(blob, 0, blob.Size()))
		return b, "message/rfc822", err == nil, err
	}
	root, err := lbmime.Decode(rec.msg.Structure)
	if err != nil || root == nil {
		return nil, "", false, nil
	}
	p := root.Find(path)
	if p == nil || p.IsMultipart() {
		return nil, "", false, nil
	}
	if !root.IsMultipart() && len(path) == 1 && path[0] == 1 {
		p = root
	}
	rd, err := lbmime.BinarySection(blob, p)
	if err != nil {
		rd = lbmime.BodyReader(blob, p)
	}
	b, err := io.ReadAll(rd)
	return b, p.Type + "/" + p.Subtype, err == nil, err
}

// handleDownload serves the downloadUrl (RFC 8620 §6.2).
func (s *Server) handleDownload(w http.ResponseWriter, r *http.Request) {
	acct := principalOf(r).acct
	c := &call{s: s, ctx: r.Context(), acct: acct, owner: acct, created: map[string]string{}}
	if err := c.useAccount(r.PathValue("accountId")); err != nil {
		http.Error(w, "no such account", http.StatusNotFound)
		return
	}
	data, typ, ok, err := c.openBlob(r.PathValue("blobId"))
	if err != nil {
		http.Error(w, "the store is unavailable", http.StatusServiceUnavailable)
		return
	}
	if !ok {
		http.Error(w, "no such blob", http.StatusNotFound)
		return
	}
	if accept := r.URL.Query().Get("accept"); accept != "" {
		if _, _, err := mime.ParseMediaType(accept); err == nil {
			typ = accept
		}
	}
	name := r.PathValue("name")
	w.Header().Set("Content-Type", typ)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	w.Header().Set("Cache-Control", "private, immutable, max-age=31536000")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
}

// blobCopy is Blob/copy (RFC 8620 §6.3) between the user's accounts (their
// own and the shared ones): the blob is read in the source account and
// kept as an upload of the user, which every one of their accounts can
// use (a blob of an Email is reachable only through its account).
func (c *call) blobCopy(raw json.RawMessage) (any, error) {
	var a struct {
		FromAccountID string   `json:"fromAccountId"`
		AccountID     string   `json:"accountId"`
		BlobIDs       []string `json:"blobIds"`
	}
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	if err := c.useAccount(a.AccountID); err != nil {
		return nil, err
	}
	if err := c.useAccount(a.FromAccountID); err != nil {
		return nil, mErr(meFromAccountNotFound, fmt.Sprintf("no account %q", a.FromAccountID))
	}
	copied := map[string]string{}
	notCopied := map[string]*setError{}
	for _, id := range a.BlobIDs {
		data, typ, ok, err := c.openBlob(id)
		if err != nil {
			return nil, err
		} else if !ok {
			notCopied[id] = &setError{Type: "blobNotFound", Description: "no such blob", NotFound: []string{id}}
			continue
		}
		if a.FromAccountID == a.AccountID {
			copied[id] = id // same account: the blob is already there
			continue
		}
		copied[id] = c.s.uploads.put(c.acct.Name, typ, data)
	}
	out := map[string]any{"fromAccountId": a.FromAccountID, "accountId": a.AccountID, "copied": nil, "notCopied": nil}
	if len(copied) > 0 {
		out["copied"] = copied
	}
	if len(notCopied) > 0 {
		out["notCopied"] = notCopied
	}
	return out, nil
}

// contentTypeOK reports whether s is a media type.
func contentTypeOK(s string) bool {
	_, _, err := mime.ParseMediaType(s)
	return err == nil && strings.Contains(s, "/")
}
