package imapserver

import (
	"testing"

	"github.com/letterbox/letterbox/internal/store"
)

// seqNear answers as seqOf whatever the hint: right, stale, out of range.
func TestSeqNearIgnoresBadHints(t *testing.T) {
	v := &selectedView{uids: []store.UID{3, 5, 9, 10, 42}}
	for _, uid := range []store.UID{1, 3, 5, 6, 9, 10, 42, 43} {
		for hint := -1; hint <= 6; hint++ {
			if got, want := v.seqNear(uid, hint), v.seqOf(uid); got != want {
				t.Errorf("seqNear(%d, %d) = %d, seqOf = %d", uid, hint, got, want)
			}
		}
	}
}
