package jmapserver

import "encoding/json"

// Identity (RFC 8621 §6): each account has one, its own address; it is
// not editable (there is no per-account display name in the store yet).

const identityState = "i1"

func identityIDOf(c *call) string { return "I" + accountID(c.acct)[1:] }

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
	id := identityIDOf(c)
	full := map[string]any{"id": id, "name": "", "email": c.acct.Name, "replyTo": nil, "bcc": nil,
		"textSignature": "", "htmlSignature": "", "mayDelete": false}
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
	return map[string]any{"accountId": a.AccountID, "state": identityState, "list": list, "notFound": notFound}, nil
}

func (c *call) identityChanges(raw json.RawMessage) (any, error) {
	var a changesArgs
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	if err := c.checkAccount(a.AccountID); err != nil {
		return nil, err
	}
	if a.SinceState != identityState {
		return nil, mErr(meCannotCalculateChanges, "unknown Identity state")
	}
	return changesResponse{AccountID: a.AccountID, OldState: a.SinceState, NewState: identityState,
		Created: []string{}, Updated: []string{}, Destroyed: []string{}}, nil
}
