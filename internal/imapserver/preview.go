package imapserver

import (
	"time"

	"github.com/letterbox/letterbox/internal/mime"
	"github.com/letterbox/letterbox/internal/store"
)

// storedPreviews asks the store (store.PreviewReader) for the previews
// (RFC 8970) of the batch's bodies, computed at delivery; nil when the
// store keeps none.
func (s *session) storedPreviews(details []store.MessageDetail) (map[string]string, error) {
	pr, ok := s.srv.opts.Store.(store.PreviewReader)
	if !ok || len(details) == 0 {
		return nil, nil
	}
	ids := make([]string, len(details))
	for i, d := range details {
		ids[i] = d.BlobID
	}
	return pr.Previews(s.ctx, ids)
}

// previewOf is the preview of d for FETCH PREVIEW (RFC 8970 §3): the
// stored one, or, for a body stored before previews were kept, one made
// from the body now (mime.Preview, the rule the store uses at delivery).
// With only PREVIEW (LAZY) asked, a preview not stored is not made:
// isNil says to answer NIL (RFC 8970 §3.2), and the client asks again
// without LAZY when it wants it. blob and root are what fetchOne has
// opened already; the ones opened here are returned for it to use (and
// close).
func (s *session) previewOf(d *store.MessageDetail, plan fetchPlan, blob store.Blob, root *mime.Part) (text string, isNil bool, _ store.Blob, _ *mime.Part, err error) {
	if p, ok := plan.previews[d.BlobID]; ok {
		return p, false, blob, root, nil
	}
	lazyOnly := true
	for _, it := range plan.items {
		if it.Name == "PREVIEW" && !it.Lazy {
			lazyOnly = false
		}
	}
	if lazyOnly {
		return "", true, blob, root, nil
	}
	if blob == nil {
		if blob, err = s.srv.opts.Store.OpenBlob(s.ctx, d.BlobID); err != nil {
			return "", false, nil, root, err
		}
	}
	if root == nil {
		if root, err = mime.Decode(d.Structure); err != nil || root == nil {
			if root, err = mime.Parse(blob, blob.Size()); err != nil {
				return "", false, blob, nil, err
			}
		}
	}
	text, err = mime.Preview(blob, root)
	return text, false, blob, root, err
}

// saveDate is the SAVEDATE of a message (RFC 8514 §4.1) in UTC; for a
// message stored before save dates were kept, its INTERNALDATE, the
// nearest the store knows.
func saveDate(d *store.MessageDetail) time.Time {
	if d.SaveDate.IsZero() {
		return d.InternalDate
	}
	return d.SaveDate.UTC()
}
