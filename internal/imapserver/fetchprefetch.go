package imapserver

import "github.com/letterbox/letterbox/internal/store"

// Bodies for a FETCH batch, opened at once where the store can
// (store.BlobBatchOpener: the PostgreSQL driver reads them with one query
// instead of one per message, which was most of `FETCH 1:* BODY.PEEK[]`
// there). Only small bodies are asked for, at most prefetchBatchBytes per
// batch, so a session never holds more than that in memory for it.
const (
	prefetchMaxBody    = 64 << 10
	prefetchBatchBytes = 4 << 20
)

// prefetchBodies opens the small bodies of details through the store's
// batch opener, when it has one, into s.prefetched.
func (s *session) prefetchBodies(details []store.MessageDetail) error {
	bo, ok := s.srv.opts.Store.(store.BlobBatchOpener)
	if !ok {
		return nil
	}
	var ids []string
	var total int64
	for _, d := range details {
		if d.Size > prefetchMaxBody || total+d.Size > prefetchBatchBytes {
			continue
		}
		ids = append(ids, d.BlobID)
		total += d.Size
	}
	if len(ids) < 2 {
		return nil // one query either way
	}
	blobs, err := bo.OpenBlobs(s.ctx, ids)
	if err != nil {
		return err
	}
	s.prefetched = blobs
	return nil
}

// fetchBlob returns the body of blobID: the prefetched one, taken out of
// the map so that a second message with the same body (a copy in the same
// mailbox) gets a reader of its own, or else one opened now.
func (s *session) fetchBlob(blobID string) (store.Blob, error) {
	if b, ok := s.prefetched[blobID]; ok {
		delete(s.prefetched, blobID)
		return b, nil
	}
	return s.srv.opts.Store.OpenBlob(s.ctx, blobID)
}

// dropPrefetched closes the prefetched bodies no message took (one whose
// message was expunged meanwhile, say).
func (s *session) dropPrefetched() {
	for id, b := range s.prefetched {
		b.Close()
		delete(s.prefetched, id)
	}
	s.prefetched = nil
}
