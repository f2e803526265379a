package jmapserver

import (
	"encoding/json"
	"net/http"
)

// Capability URIs (RFC 8620 §9.4, RFC 8621 §10.1).
const (
	capCore       = "urn:ietf:params:jmap:core"
	capMail       = "urn:ietf:params:jmap:mail"
	capSubmission = "urn:ietf:params:jmap:submission"
)

// Limits are the request limits advertised in the core capability
// (RFC 8620 §2) and enforced by the server.
type Limits struct {
	MaxSizeUpload         int64 // octets of one upload
	MaxConcurrentUpload   int   // uploads running at once per account
	MaxSizeRequest        int64 // octets of one API request body
	MaxConcurrentRequests int   // API requests running at once per account
	MaxCallsInRequest     int   // method calls in one request
	MaxObjectsInGet       int   // ids in one /get
	MaxObjectsInSet       int   // create+update+destroy in one /set
}

// DefaultLimits are used for every zero field of Options.Limits.
var DefaultLimits = Limits{
	MaxSizeUpload:         50 << 20,
	MaxConcurrentUpload:   4,
	MaxSizeRequest:        10 << 20,
	MaxConcurrentRequests: 4,
	MaxCallsInRequest:     64,
	MaxObjectsInGet:       1000,
	MaxObjectsInSet:       1000,
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	if l.MaxSizeUpload > 0 {
		d.MaxSizeUpload = l.MaxSizeUpload
	}
	if l.MaxConcurrentUpload > 0 {
		d.MaxConcurrentUpload = l.MaxConcurrentUpload
	}
	if l.MaxSizeRequest > 0 {
		d.MaxSizeRequest = l.MaxSizeRequest
	}
	if l.MaxConcurrentRequests > 0 {
		d.MaxConcurrentRequests = l.MaxConcurrentRequests
	}
	if l.MaxCallsInRequest > 0 {
		d.MaxCallsInRequest = l.MaxCallsInRequest
	}
	if l.MaxObjectsInGet > 0 {
		d.MaxObjectsInGet = l.MaxObjectsInGet
	}
	if l.MaxObjectsInSet > 0 {
		d.MaxObjectsInSet = l.MaxObjectsInSet
	}
	return d
}

// Request-level error types (RFC 8620 §3.6.1), sent as RFC 7807 problem
// details.
const (
	errUnknownCapability = "urn:ietf:params:jmap:error:unknownCapability"
	errNotJSON           = "urn:ietf:params:jmap:error:notJSON"
	errNotRequest        = "urn:ietf:params:jmap:error:notRequest"
	errLimit             = "urn:ietf:params:jmap:error:limit"
)

// problem is an RFC 7807 problem details object.
type problem struct {
	Type   string `json:"type"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Limit  string `json:"limit,omitempty"` // errLimit only: the limit's name
}

func writeProblem(w http.ResponseWriter, p problem) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	json.NewEncoder(w).Encode(p)
}

// methodError is a method-level error (RFC 8620 §3.6.2): it becomes an
// "error" response for the call. Extra holds type-specific properties.
type methodError struct {
	Type        string
	Description string
	Extra       map[string]any
}

func (e *methodError) Error() string { return e.Type + ": " + e.Description }

func (e *methodError) MarshalJSON() ([]byte, error) {
	m := map[string]any{"type": e.Type}
	if e.Description != "" {
		m["description"] = e.Description
	}
	for k, v := range e.Extra {
		m[k] = v
	}
	return json.Marshal(m)
}

func mErr(typ, desc string) *methodError { return &methodError{Type: typ, Description: desc} }

// Method-level error types (RFC 8620 §3.6.2, §5; RFC 8621).
const (
	meServerUnavailable           = "serverUnavailable"
	meServerFail                  = "serverFail"
	meUnknownMethod               = "unknownMethod"
	meInvalidArguments            = "invalidArguments"
	meInvalidResultReference      = "invalidResultReference"
	meForbidden                   = "forbidden"
	meAccountNotFound             = "accountNotFound"
	meAccountNotSupportedByMethod = "accountNotSupportedByMethod"
	meRequestTooLarge             = "requestTooLarge"
	meStateMismatch               = "stateMismatch"
	meCannotCalculateChanges      = "cannotCalculateChanges"
	meAnchorNotFound              = "anchorNotFound"
	meUnsupportedSort             = "unsupportedSort"
	meUnsupportedFilter           = "unsupportedFilter"
	meTooManyChanges              = "tooManyChanges"
	meFromAccountNotFound         = "fromAccountNotFound"
)

func invalidArgs(desc string) *methodError { return mErr(meInvalidArguments, desc) }

// setError is a per-object error of /set, /copy and /import (RFC 8620
// §5.3).
type setError struct {
	Type        string   `json:"type"`
	Description string   `json:"description,omitempty"`
	Properties  []string `json:"properties,omitempty"`
	ExistingID  string   `json:"existingId,omitempty"`
	// InvalidRecipients: EmailSubmission (RFC 8621 §7.5).
	InvalidRecipients []string `json:"invalidRecipients,omitempty"`
	NotFound          []string `json:"notFound,omitempty"` // blobNotFound
}

func (e *setError) Error() string { return e.Type + ": " + e.Description }

func seInvalid(desc string, props ...string) *setError {
	return &setError{Type: "invalidProperties", Description: desc, Properties: props}
}

func seNotFound(desc string) *setError { return &setError{Type: "notFound", Description: desc} }
