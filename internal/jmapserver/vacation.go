package jmapserver

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"

	"github.com/letterbox/letterbox/internal/vacation"
)

// VacationResponse (RFC 8621 §8): one object per account, id "singleton",
// kept by internal/vacation (which also sends the replies on delivery).

const (
	capVacation       = "urn:ietf:params:jmap:vacationresponse"
	vacationSingleton = "singleton"
)

var vacationProps = []string{"id", "isEnabled", "fromDate", "toDate", "subject", "textBody", "htmlBody"}

// vacationState is the object's state string: a digest of its value, so
// it changes exactly when the settings do.
func vacationState(s vacation.Settings) string {
	b, _ := json.Marshal(s)
	sum := sha256.Sum256(b)
	return "v" + hex.EncodeToString(sum[:6])
}

func vacationObject(s vacation.Settings) map[string]any {
	date := func(t *time.Time) any {
		if t == nil {
			return nil
		}
		return t.UTC().Format("2006-01-02T15:04:05Z")
	}
	str := func(p *string) any {
		if p == nil {
			return nil
		}
		return *p
	}
	return map[string]any{"id": vacationSingleton, "isEnabled": s.Enabled, "fromDate": date(s.FromDate),
		"toDate": date(s.ToDate), "subject": str(s.Subject), "textBody": str(s.TextBody), "htmlBody": str(s.HTMLBody)}
}

func (c *call) loadVacation() (vacation.Settings, error) {
	s, err := vacation.Load(c.ctx, c.s.opts.Store, c.acct.Name)
	if errors.Is(err, vacation.ErrUnsupported) {
		return s, mErr(meAccountNotSupportedByMethod, "this store keeps no vacation settings")
	}
	return s, err
}

func (c *call) vacationGet(raw json.RawMessage) (any, error) {
	var a getArgs
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	if err := c.checkAccount(a.AccountID); err != nil {
		return nil, err
	}
	props, err := propertySet(a.Properties, vacationProps)
	if err != nil {
		return nil, err
	}
	s, err := c.loadVacation()
	if err != nil {
		return nil, err
	}
	obj := vacationObject(s)
	if props != nil {
		for k := range obj {
			if !props[k] && k != "id" { // id is always returned (RFC 8620 §5.1)
				delete(obj, k)
			}
		}
	}
	list, notFound := []any{}, []string{}
	if a.IDs == nil {
		list = append(list, obj)
	} else {
		for _, id := range *a.IDs {
			if id == vacationSingleton {
				list = append(list, obj)
			} else {
				notFound = append(notFound, id)
			}
		}
	}
	return map[string]any{"accountId": a.AccountID, "state": vacationState(s), "list": list, "notFound": notFound}, nil
}

// vacationSet updates the singleton; create and destroy are refused with
// "singleton" (RFC 8621 §8.2).
func (c *call) vacationSet(raw json.RawMessage) (any, error) {
	var a setArgs
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	if err := c.checkAccount(a.AccountID); err != nil {
		return nil, err
	}
	s, err := c.loadVacation()
	if err != nil {
		return nil, err
	}
	old := vacationState(s)
	if a.IfInState != nil && *a.IfInState != old {
		return nil, mErr(meStateMismatch, "ifInState does not match the current state")
	}
	resp := newSetResponse(a.AccountID, old)
	for cid := range a.Create {
		resp.NotCreated[cid] = &setError{Type: "singleton", Description: "VacationResponse cannot be created"}
	}
	for _, id := range a.Destroy {
		resp.NotDestroyed[id] = &setError{Type: "singleton", Description: "VacationResponse cannot be destroyed"}
	}
	changed := false
	for id, patch := range a.Update {
		if id != vacationSingleton {
			resp.NotUpdated[id] = seNotFound("the only VacationResponse is \"singleton\"")
			continue
		}
		next, serr := patchVacation(s, patch)
		if serr != nil {
			resp.NotUpdated[id] = serr
			continue
		}
		s, changed = next, true
		resp.Updated[id] = nil
	}
	if changed {
		if err := vacation.Save(c.ctx, c.s.opts.Store, c.acct.Name, s); err != nil {
			return nil, err
		}
	}
	resp.NewState = vacationState(s)
	return resp, nil
}

// patchVacation applies an update's properties (RFC 8620 §5.3: whole
// values; no property paths here, every property is a scalar).
func patchVacation(s vacation.Settings, patch map[string]json.RawMessage) (vacation.Settings, *setError) {
	for k, v := range patch {
		null := string(v) == "null"
		switch k {
		case "id":
			var id string
			if json.Unmarshal(v, &id) != nil || id != vacationSingleton {
				return s, seInvalid("id is immutable", k)
			}
		case "isEnabled":
			if json.Unmarshal(v, &s.Enabled) != nil || null {
				return s, seInvalid("isEnabled must be a boolean", k)
			}
		case "fromDate", "toDate":
			var t *time.Time
			if !null {
				var str string
				if json.Unmarshal(v, &str) != nil {
					return s, seInvalid(k+" must be a UTCDate or null", k)
				}
				p, err := time.Parse(time.RFC3339, str)
				if err != nil || p.Location() != time.UTC && !isZeroOffset(p) {
					return s, seInvalid(k+" must be a UTCDate (RFC 8620 §1.4: ending in Z)", k)
				}
				p = p.UTC()
				t = &p
			}
			if k == "fromDate" {
				s.FromDate = t
			} else {
				s.ToDate = t
			}
		case "subject", "textBody", "htmlBody":
			var p *string
			if !null {
				var str string
				if json.Unmarshal(v, &str) != nil {
					return s, seInvalid(k+" must be a string or null", k)
				}
				p = &str
			}
			switch k {
			case "subject":
				s.Subject = p
			case "textBody":
				s.TextBody = p
			default:
				s.HTMLBody = p
			}
		default:
			return s, seInvalid("unknown property "+k, k)
		}
	}
	return s, nil
}

func isZeroOffset(t time.Time) bool {
	_, off := t.Zone()
	return off == 0
}
