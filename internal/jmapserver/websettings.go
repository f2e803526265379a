package jmapserver

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/letterbox/letterbox/internal/auth"
	"github.com/letterbox/letterbox/internal/store"
)

// Web mail settings that JMAP has no object for, on the same
// authentication as /jmap (cookie plus CSRF header for the page):
//
//	GET  /jmap/web/settings  {"trustedSenders": [...]}
//	POST /jmap/web/settings  the same object, replacing the settings
//	POST /jmap/web/password  {"currentPassword", "newPassword"}
//
// The settings are one server METADATA entry of the account (RFC 5464,
// /private/vendor/letterbox/webmail), so they need no schema, follow the
// user to any browser, and a store without METADATA simply has none. The
// display name and signature are the JMAP Identity's (identity.go).

const webSettingsEntry = "/private/vendor/letterbox/webmail"

// Bounds on what the page may store.
const (
	maxTrustedSenders = 1000
	minPasswordLength = 8
	maxPasswordLength = 1024
)

type webSettings struct {
	// TrustedSenders are lower-cased addresses whose remote images load
	// without asking.
	TrustedSenders []string `json:"trustedSenders"`
}

func readWebSettings(ctx context.Context, st store.Store, account string) (webSettings, error) {
	set := webSettings{TrustedSenders: []string{}}
	md, ok := st.(store.Metadata)
	if !ok {
		return set, nil
	}
	es, err := md.GetMetadata(ctx, account, store.ServerMetadata, []string{webSettingsEntry})
	if err != nil || len(es) == 0 {
		return set, err
	}
	if json.Unmarshal(es[0].Value, &set) != nil || set.TrustedSenders == nil {
		set.TrustedSenders = []string{}
	}
	return set, nil
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(v)
}

func (s *Server) handleWebSettingsGet(w http.ResponseWriter, r *http.Request) {
	set, err := readWebSettings(r.Context(), s.opts.Store, principalOf(r).acct.Name)
	if err != nil {
		http.Error(w, "the store is unavailable", http.StatusServiceUnavailable)
		return
	}
	writeJSON(w, set)
}

// validSender is a plausible address: local@domain, no space or angle
// bracket, at most 254 octets (RFC 5321 §4.5.3.1.3).
func validSender(a string) bool {
	at := strings.LastIndexByte(a, '@')
	return at > 0 && at < len(a)-1 && len(a) <= 254 && utf8.ValidString(a) && !strings.ContainsAny(a, " \t\r\n<>,;\"")
}

func (s *Server) handleWebSettingsSet(w http.ResponseWriter, r *http.Request) {
	md, ok := s.opts.Store.(store.Metadata)
	if !ok {
		http.Error(w, "this store cannot keep settings", http.StatusNotImplemented)
		return
	}
	var in webSettings
	r.Body = http.MaxBytesReader(w, r.Body, 512<<10)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		http.Error(w, `body must be {"trustedSenders": [address, ...]}`, http.StatusBadRequest)
		return
	}
	if len(in.TrustedSenders) > maxTrustedSenders {
		http.Error(w, "at most 1000 trusted senders", http.StatusBadRequest)
		return
	}
	out := webSettings{TrustedSenders: []string{}}
	for _, a := range in.TrustedSenders {
		a = strings.ToLower(strings.TrimSpace(a))
		if !validSender(a) {
			http.Error(w, "not an address: "+a, http.StatusBadRequest)
			return
		}
		out.TrustedSenders = append(out.TrustedSenders, a)
	}
	slices.Sort(out.TrustedSenders)
	out.TrustedSenders = slices.Compact(out.TrustedSenders)
	b, _ := json.Marshal(out)
	if err := md.SetMetadata(r.Context(), principalOf(r).acct.Name, store.ServerMetadata,
		[]store.MetadataEntry{{Name: webSettingsEntry, Value: b}}, store.MetadataLimits{}); err != nil {
		http.Error(w, "the store is unavailable", http.StatusServiceUnavailable)
		return
	}
	writeJSON(w, out)
}

// handleWebPassword changes the account's password. The current one is
// checked through the Authenticator (the same throttling as a login), the
// new one set through auth.PasswordSetter (hashed as `letterbox user
// passwd` does, cached logins forgotten). Every other web session, bearer
// token and cached Basic login of the account ends; the page that asked
// keeps its session.
func (s *Server) handleWebPassword(w http.ResponseWriter, r *http.Request) {
	setter, ok := s.opts.Auth.(auth.PasswordSetter)
	if !ok {
		http.Error(w, "passwords cannot be changed here", http.StatusNotImplemented)
		return
	}
	if !s.plaintextOK(r) {
		http.Error(w, "passwords are accepted only over TLS (https)", http.StatusForbidden)
		return
	}
	var in struct {
		CurrentPassword string `json:"currentPassword"`
		NewPassword     string `json:"newPassword"`
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		http.Error(w, `body must be {"currentPassword": …, "newPassword": …}`, http.StatusBadRequest)
		return
	}
	n := utf8.RuneCountInString(in.NewPassword)
	if n < minPasswordLength || len(in.NewPassword) > maxPasswordLength || !utf8.ValidString(in.NewPassword) {
		http.Error(w, "the new password must have at least 8 characters", http.StatusBadRequest)
		return
	}
	acct := principalOf(r).acct
	if _, status, msg := s.checkPassword(r, acct.Name, in.CurrentPassword, "PASSWORD"); status != 0 {
		if status == http.StatusUnauthorized {
			// Not 401: the page would take it for a lost session.
			status, msg = http.StatusForbidden, "the current password is wrong"
		}
		http.Error(w, msg, status)
		return
	}
	keep := ""
	if c, err := r.Cookie(sessionCookie); err == nil {
		keep = c.Value
	}
	mine, _ := s.web.lookup(keep)
	if err := setter.SetPassword(r.Context(), acct.Name, in.NewPassword); err != nil {
		http.Error(w, "the password could not be changed", http.StatusServiceUnavailable)
		return
	}
	// The store ends every session of the account with the password
	// (SetPasswordHash); the page that asked keeps its own, same cookie
	// and CSRF token.
	s.web.keep(keep, mine)
	s.web.revokeAccount(acct.Name, keep)
	s.tokens.revokeAccount(acct.Name)
	s.basic.revokeAccount(acct.Name)
	w.WriteHeader(http.StatusNoContent)
}
