package jmapserver

import (
	"encoding/json"
	"fmt"
)

// methodSpec is one method: the capability that must be in "using" and
// its handler.
type methodSpec struct {
	capability string
	fn         func(c *call, args json.RawMessage) (any, error)
}

// methods is the dispatch table: every method the server implements.
var methods map[string]methodSpec

func init() {
	methods = map[string]methodSpec{
		"Core/echo": {capCore, (*call).coreEcho},
		"Blob/copy": {capCore, (*call).blobCopy},

		"Mailbox/get":          {capMail, (*call).mailboxGet},
		"Mailbox/changes":      {capMail, (*call).mailboxChanges},
		"Mailbox/query":        {capMail, (*call).mailboxQuery},
		"Mailbox/queryChanges": {capMail, (*call).mailboxQueryChanges},
		"Mailbox/set":          {capMail, (*call).mailboxSet},

		"Thread/get":     {capMail, (*call).threadGet},
		"Thread/changes": {capMail, (*call).threadChanges},

		"Email/get":          {capMail, (*call).emailGet},
		"Email/changes":      {capMail, (*call).emailChanges},
		"Email/query":        {capMail, (*call).emailQuery},
		"Email/queryChanges": {capMail, (*call).emailQueryChanges},
		"Email/set":          {capMail, (*call).emailSet},
		"Email/copy":         {capMail, (*call).emailCopy},
		"Email/import":       {capMail, (*call).emailImport},
		"Email/parse":        {capMail, (*call).emailParse},

		"SearchSnippet/get": {capMail, (*call).searchSnippetGet},

		"Identity/get":     {capSubmission, (*call).identityGet},
		"Identity/changes": {capSubmission, (*call).identityChanges},
		"Identity/set":     {capSubmission, (*call).identitySet},

		"EmailSubmission/get":     {capSubmission, (*call).submissionGet},
		"EmailSubmission/changes": {capSubmission, (*call).submissionChanges},
		"EmailSubmission/query":   {capSubmission, (*call).submissionQuery},
		"EmailSubmission/set":     {capSubmission, (*call).submissionSet},

		"VacationResponse/get": {capVacation, (*call).vacationGet},
		"VacationResponse/set": {capVacation, (*call).vacationSet},
	}
}

// coreEcho returns its arguments unchanged (RFC 8620 §4).
func (c *call) coreEcho(args json.RawMessage) (any, error) { return args, nil }

// Standard arguments (RFC 8620 §5).

type getArgs struct {
	AccountID  string    `json:"accountId"`
	IDs        *[]string `json:"ids"`
	Properties *[]string `json:"properties"`
}

type changesArgs struct {
	AccountID  string `json:"accountId"`
	SinceState string `json:"sinceState"`
	MaxChanges *int   `json:"maxChanges"`
}

// limit is maxChanges, 0 when absent; a value that is not positive is
// invalidArguments (RFC 8620 §5.2).
func (a changesArgs) limit() (int, error) {
	if a.MaxChanges == nil {
		return 0, nil
	}
	if *a.MaxChanges <= 0 {
		return 0, invalidArgs("maxChanges must be positive")
	}
	return *a.MaxChanges, nil
}

type changesResponse struct {
	AccountID      string   `json:"accountId"`
	OldState       string   `json:"oldState"`
	NewState       string   `json:"newState"`
	HasMoreChanges bool     `json:"hasMoreChanges"`
	Created        []string `json:"created"`
	Updated        []string `json:"updated"`
	Destroyed      []string `json:"destroyed"`
}

type setArgs struct {
	AccountID string                                `json:"accountId"`
	IfInState *string                               `json:"ifInState"`
	Create    map[string]json.RawMessage            `json:"create"`
	Update    map[string]map[string]json.RawMessage `json:"update"`
	Destroy   []string                              `json:"destroy"`
}

type setResponse struct {
	AccountID    string               `json:"accountId"`
	OldState     *string              `json:"oldState"`
	NewState     string               `json:"newState"`
	Created      map[string]any       `json:"created"`
	Updated      map[string]any       `json:"updated"`
	Destroyed    []string             `json:"destroyed"`
	NotCreated   map[string]*setError `json:"notCreated"`
	NotUpdated   map[string]*setError `json:"notUpdated"`
	NotDestroyed map[string]*setError `json:"notDestroyed"`
}

func newSetResponse(accountID, oldState string) *setResponse {
	return &setResponse{
		AccountID: accountID, OldState: &oldState,
		Created: map[string]any{}, Updated: map[string]any{}, Destroyed: []string{},
		NotCreated: map[string]*setError{}, NotUpdated: map[string]*setError{}, NotDestroyed: map[string]*setError{},
	}
}

type comparator struct {
	Property    string `json:"property"`
	IsAscending *bool  `json:"isAscending"`
	Collation   string `json:"collation"`
	Keyword     string `json:"keyword"` // RFC 8621 §4.4.2
}

func (k comparator) ascending() bool { return k.IsAscending == nil || *k.IsAscending }

type queryArgs struct {
	AccountID      string          `json:"accountId"`
	Filter         json.RawMessage `json:"filter"`
	Sort           []comparator    `json:"sort"`
	Position       int             `json:"position"`
	Anchor         *string         `json:"anchor"`
	AnchorOffset   int             `json:"anchorOffset"`
	Limit          *int            `json:"limit"`
	CalculateTotal bool            `json:"calculateTotal"`
	// Mailbox/query (RFC 8621 §2.3) and Email/query (§4.4).
	SortAsTree      bool `json:"sortAsTree"`
	FilterAsTree    bool `json:"filterAsTree"`
	CollapseThreads bool `json:"collapseThreads"`
}

type queryResponse struct {
	AccountID           string   `json:"accountId"`
	QueryState          string   `json:"queryState"`
	CanCalculateChanges bool     `json:"canCalculateChanges"`
	Position            int      `json:"position"`
	IDs                 []string `json:"ids"`
	Total               *int     `json:"total,omitempty"`
	Limit               *int     `json:"limit,omitempty"`
}

type queryChangesArgs struct {
	AccountID       string          `json:"accountId"`
	Filter          json.RawMessage `json:"filter"`
	Sort            []comparator    `json:"sort"`
	SinceQueryState string          `json:"sinceQueryState"`
	MaxChanges      *int            `json:"maxChanges"`
	UpToID          *string         `json:"upToId"`
	CalculateTotal  bool            `json:"calculateTotal"`
	CollapseThreads bool            `json:"collapseThreads"`
	SortAsTree      bool            `json:"sortAsTree"`
	FilterAsTree    bool            `json:"filterAsTree"`
}

type addedItem struct {
	ID    string `json:"id"`
	Index int    `json:"index"`
}

type queryChangesResponse struct {
	AccountID     string      `json:"accountId"`
	OldQueryState string      `json:"oldQueryState"`
	NewQueryState string      `json:"newQueryState"`
	Total         *int        `json:"total,omitempty"`
	Removed       []string    `json:"removed"`
	Added         []addedItem `json:"added"`
}

// window applies position, anchor, anchorOffset and limit (RFC 8620
// §5.5) to the sorted ids of a query.
func window(ids []string, a queryArgs) (int, []string, error) {
	if a.Limit != nil && *a.Limit < 0 {
		return 0, nil, invalidArgs("limit must not be negative")
	}
	pos := a.Position
	if a.Anchor != nil {
		idx := -1
		for i, id := range ids {
			if id == *a.Anchor {
				idx = i
				break
			}
		}
		if idx < 0 {
			return 0, nil, mErr(meAnchorNotFound, fmt.Sprintf("anchor %q is not in the results", *a.Anchor))
		}
		pos = max(idx+a.AnchorOffset, 0)
	} else if pos < 0 {
		pos = max(len(ids)+pos, 0)
	}
	if pos > len(ids) {
		pos = len(ids)
	}
	end := len(ids)
	if a.Limit != nil && pos+*a.Limit < end {
		end = pos + *a.Limit
	}
	out := make([]string, end-pos)
	copy(out, ids[pos:end])
	return pos, out, nil
}

// queryChangesFrom computes /queryChanges (RFC 8620 §5.6) from the ids
// that changed since the old query state (created, updated or destroyed)
// and the current sorted results: every changed id goes to removed, and
// those in the current results to added with their index. This reports
// the exact moves of a result whose order depends only on the items
// themselves, and is allowed to over-report removals.
func queryChangesFrom(changed map[string]bool, current []string, a queryChangesArgs) ([]string, []addedItem, error) {
	removed := []string{}
	for id := range changed {
		removed = append(removed, id)
	}
	added := []addedItem{}
	for i, id := range current {
		if changed[id] {
			added = append(added, addedItem{ID: id, Index: i})
		}
		if a.UpToID != nil && id == *a.UpToID {
			break
		}
	}
	if a.MaxChanges != nil {
		if *a.MaxChanges <= 0 {
			return nil, nil, invalidArgs("maxChanges must be positive")
		}
		if len(removed)+len(added) > *a.MaxChanges {
			return nil, nil, mErr(meTooManyChanges, fmt.Sprintf("more than %d changes", *a.MaxChanges))
		}
	}
	return removed, added, nil
}
