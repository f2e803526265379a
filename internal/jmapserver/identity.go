package jmapserver

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/letterbox/letterbox/internal/store"
)

// Identity (RFC 8621 §6): each account has one, its own address. Its
// name, signatures, replyTo and bcc may be changed with Identity/set
// (update only: the identity is neither created nor destroyed, mayDelete
// is false); they are kept in a server METADATA entry (RFC 5464) of the
// account, so they need no schema and follow the user to every client.
// A store without METADATA keeps the empty defaults and refuses updates.

// identityEntry is the server METADATA entry holding the editable
// properties as JSON.
const identityEntry = "/private/vendor/letterbox/jmap-identity"

// Bounds on the stored values.
const (
	maxIdentityName      = 256
	maxIdentitySignature = 16 << 10
)

// identityData is what Identity/set may change.
type identityData struct {
	Name          string            `json:"name"`
	TextSignature string            `json:"textSignature"`
	HTMLSignature string            `json:"htmlSignature"`
	ReplyTo       []json.RawMessage `json:"replyTo"`
	Bcc           []json.RawMessage `json:"bcc"`
}

func identityIDOf(c *call) string { return "I" + accountID(c.acct)[1:] }

// identity reads the stored properties and the state: "i1" for the
// defaults, else a hash of the stored value.
func (c *call) identity() (identityData, string, error) {
	return readIdentity(c.ctx, c.s.opts.Store, c.acct.Name)
}

func readIdentity(ctx context.Context, st store.Store, account string) (identityData, string, error) {
	var d identityData
	md, ok := st.(store.Metadata)
	if !ok {
		return d, "i1", nil
	}
	es, err := md.GetMetadata(ctx, account, store.ServerMetadata, []string{identityEntry})
	if err != nil {
		return d, "", err
	}
	if len(es) == 0 {
		return d, "i1", nil
	}
	if json.Unmarshal(es[0].Value, &d) != nil {
		return identityData{}, "i1", nil
	}
	sum := sha256.Sum256(es[0].Value)
	return d, "i" + base64.RawURLEncoding.EncodeToString(sum[:9]), nil
}

func (c *call) identityObject(d identityData) map[string]any {
	var replyTo, bcc any
	if d.ReplyTo != nil {
		replyTo = d.ReplyTo
	}
	if d.Bcc != nil {
		bcc = d.Bcc
	}
	return map[string]any{"id": identityIDOf(c), "name": d.Name, "email": c.acct.Name, "replyTo": replyTo,
		"bcc": bcc, "textSignature": d.TextSignature, "htmlSignature": d.HTMLSignature, "mayDelete": false}
}

func (c *call) identityGet(raw json.RawMessage) (any, error) {
	var a getArgs
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	if err := c.checkAccount(a.AccountID); err != nil {
		return nil, err
	}
	props, err := propertySet(a.Properties, []string{"id", "name", "email", "replyTo", "bcc", "textSignature", "htmlSignature", "mayDelete"})
	if err != nil {
		return nil, err
	}
	d, state, err := c.identity()
	if err != nil {
		return nil, err
	}
	id := identityIDOf(c)
	full := c.identityObject(d)
	if props != nil {
		for k := range full {
			if !props[k] {
				delete(full, k)
			}
		}
	}
	list, notFound := []any{}, []string{}
	if a.IDs == nil {
		list = append(list, full)
	} else {
		for _, x := range *a.IDs {
			if x == id {
				list = append(list, full)
			} else {
				notFound = append(notFound, x)
			}
		}
	}
	return map[string]any{"accountId": a.AccountID, "state": state, "list": list, "notFound": notFound}, nil
}

// identityChanges: with one identity, any state but the current one means
// it may have changed, so it is reported updated (RFC 8620 §5.2 allows
// reporting an id that did not change).
func (c *call) identityChanges(raw json.RawMessage) (any, error) {
	var a changesArgs
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	if err := c.checkAccount(a.AccountID); err != nil {
		return nil, err
	}
	_, state, err := c.identity()
	if err != nil {
		return nil, err
	}
	if len(a.SinceState) < 2 || a.SinceState[0] != 'i' {
		return nil, mErr(meCannotCalculateChanges, "unknown Identity state")
	}
	updated := []string{}
	if a.SinceState != state {
		updated = append(updated, identityIDOf(c))
	}
	return changesResponse{AccountID: a.AccountID, OldState: a.SinceState, NewState: state,
		Created: []string{}, Updated: updated, Destroyed: []string{}}, nil
}

// identitySet is Identity/set (RFC 8621 §6.3): updates of the one
// identity; create and destroy are forbidden.
func (c *call) identitySet(raw json.RawMessage) (any, error) {
	var a setArgs
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	if err := c.checkAccount(a.AccountID); err != nil {
		return nil, err
	}
	d, old, err := c.identity()
	if err != nil {
		return nil, err
	}
	if a.IfInState != nil && *a.IfInState != old {
		return nil, mErr(meStateMismatch, "ifInState does not match the current state")
	}
	resp := newSetResponse(a.AccountID, old)
	for cid := range a.Create {
		resp.NotCreated[cid] = &setError{Type: "forbidden", Description: "an account has exactly one identity, its own address"}
	}
	for _, id := range a.Destroy {
		if id == identityIDOf(c) {
			resp.NotDestroyed[id] = &setError{Type: "forbidden", Description: "the account's identity cannot be destroyed"}
		} else {
			resp.NotDestroyed[id] = &setError{Type: "notFound"}
		}
	}
	changed := false
	for id, patch := range a.Update {
		if id != identityIDOf(c) {
			resp.NotUpdated[id] = &setError{Type: "notFound"}
			continue
		}
		nd, se := applyIdentityPatch(d, patch)
		if se != nil {
			resp.NotUpdated[id] = se
			continue
		}
		d, changed = nd, true
		resp.Updated[id] = nil
	}
	newState := old
	if changed {
		md, ok := c.s.opts.Store.(store.Metadata)
		if !ok {
			for id := range resp.Updated {
				resp.NotUpdated[id] = &setError{Type: "forbidden", Description: "this store cannot keep identity settings"}
			}
			clear(resp.Updated)
		} else {
			b, _ := json.Marshal(d)
			if err := md.SetMetadata(c.ctx, c.acct.Name, store.ServerMetadata,
				[]store.MetadataEntry{{Name: identityEntry, Value: b}}, store.MetadataLimits{}); err != nil {
				return nil, err
			}
			if _, newState, err = c.identity(); err != nil {
				return nil, err
			}
		}
	}
	resp.NewState = newState
	return resp, nil
}

// applyIdentityPatch applies a PatchObject (RFC 8620 §5.3) to d; email,
// id and mayDelete are server-set.
func applyIdentityPatch(d identityData, patch map[string]json.RawMessage) (identityData, *setError) {
	for k, v := range patch {
		switch k {
		case "name", "textSignature", "htmlSignature":
			var s *string
			if err := json.Unmarshal(v, &s); err != nil {
				return d, seInvalid(k+" must be a string", k)
			}
			val := ""
			if s != nil {
				val = *s
			}
			limit := maxIdentitySignature
			if k == "name" {
				limit = maxIdentityName
			}
			if !utf8.ValidString(val) || len(val) > limit {
				return d, seInvalid(fmt.Sprintf("%s must be valid UTF-8 of at most %d octets", k, limit), k)
			}
			switch k {
			case "name":
				d.Name = val
			case "textSignature":
				d.TextSignature = val
			default:
				d.HTMLSignature = val
			}
		case "replyTo", "bcc":
			var list []struct {
				Name  *string `json:"name"`
				Email string  `json:"email"`
			}
			if err := json.Unmarshal(v, &list); err != nil {
				return d, seInvalid(k+" must be null or a list of EmailAddress", k)
			}
			var out []json.RawMessage
			if list != nil {
				out = []json.RawMessage{}
				for _, e := range list {
					if e.Email == "" || len(e.Email) > 254 {
						return d, seInvalid(k+": every address needs an email", k)
					}
					b, _ := json.Marshal(e)
					out = append(out, b)
				}
			}
			if k == "replyTo" {
				d.ReplyTo = out
			} else {
				d.Bcc = out
			}
		case "id", "email", "mayDelete":
			return d, seInvalid(k+" cannot be changed", k)
		default:
			return d, seInvalid("unknown property "+k, k)
		}
	}
	return d, nil
}
