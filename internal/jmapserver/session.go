package jmapserver

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/letterbox/letterbox/internal/store"
)

// accountID is the JMAP id of an account (RFC 8620 §1.6.2): "a" and the
// store's account number.
func accountID(a store.Account) string { return "a" + strconv.FormatInt(a.ID, 10) }

// sessionState changes when anything in the session resource would: the
// accounts (the user's and the shared ones, with isReadOnly).
func sessionState(a store.Account, shared []sharedAccount) string {
	h := sha256.New()
	h.Write([]byte(accountID(a) + "\x00" + a.Name))
	for _, sa := range shared {
		fmt.Fprintf(h, "\x00%s\x00%s\x00%t", accountID(sa.owner), sa.owner.Name, sa.readOnly())
	}
	return hex.EncodeToString(h.Sum(nil)[:6])
}

// baseURL is the scheme and host the client reached us at.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// handleSession serves the session resource (RFC 8620 §2).
func (s *Server) handleSession(w http.ResponseWriter, r *http.Request) {
	acct := principalOf(r).acct
	id := accountID(acct)
	base := baseURL(r)
	l := s.limits
	shared, err := s.sharedAccounts(r.Context(), acct)
	if err != nil {
		http.Error(w, "the store is unavailable", http.StatusServiceUnavailable)
		return
	}
	sess := map[string]any{
		"capabilities": map[string]any{
			capCore: map[string]any{
				"maxSizeUpload":         l.MaxSizeUpload,
				"maxConcurrentUpload":   l.MaxConcurrentUpload,
				"maxSizeRequest":        l.MaxSizeRequest,
				"maxConcurrentRequests": l.MaxConcurrentRequests,
				"maxCallsInRequest":     l.MaxCallsInRequest,
				"maxObjectsInGet":       l.MaxObjectsInGet,
				"maxObjectsInSet":       l.MaxObjectsInSet,
				"collationAlgorithms":   []string{"i;ascii-casemap", "i;unicode-casemap"},
			},
			capMail:       map[string]any{},
			capSubmission: map[string]any{},
			capVacation:   map[string]any{},
		},
		"accounts": map[string]any{
			id: map[string]any{
				"name":       acct.Name,
				"isPersonal": true,
				"isReadOnly": false,
				"accountCapabilities": map[string]any{
					capMail: map[string]any{
						"maxMailboxesPerEmail":       nil,
						"maxMailboxDepth":            nil,
						"maxSizeMailboxName":         maxMailboxNameOctets,
						"maxSizeAttachmentsPerEmail": s.opts.MaxMessageSize,
						"emailQuerySortOptions":      emailSortOptions,
						"mayCreateTopLevelMailbox":   true,
					},
					capSubmission: map[string]any{
						"maxDelayedSend":       0,
						"submissionExtensions": map[string]any{},
					},
					capVacation: map[string]any{},
				},
			},
		},
		"primaryAccounts": map[string]string{capMail: id, capSubmission: id, capVacation: id},
		"username":        acct.Name,
		"apiUrl":          base + "/jmap/",
		"downloadUrl":     base + "/jmap/download/{accountId}/{blobId}/{name}?accept={type}",
		"uploadUrl":       base + "/jmap/upload/{accountId}/",
		"eventSourceUrl":  base + "/jmap/eventsource/?types={types}&closeafter={closeafter}&ping={ping}",
		"state":           sessionState(acct, shared),
	}
	// Shared accounts (RFC 8620 §1.6.2): mail only, per owner.
	accounts := sess["accounts"].(map[string]any)
	for _, sa := range shared {
		accounts[accountID(sa.owner)] = map[string]any{
			"name":       sa.owner.Name,
			"isPersonal": false,
			"isReadOnly": sa.readOnly(),
			"accountCapabilities": map[string]any{
				capMail: map[string]any{
					"maxMailboxesPerEmail":       nil,
					"maxMailboxDepth":            nil,
					"maxSizeMailboxName":         maxMailboxNameOctets,
					"maxSizeAttachmentsPerEmail": s.opts.MaxMessageSize,
					"emailQuerySortOptions":      emailSortOptions,
					"mayCreateTopLevelMailbox":   false,
				},
			},
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache, no-store, must-revalidate")
	json.NewEncoder(w).Encode(sess)
}
