package jmapserver

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// maxFilterDepth bounds the nesting of FilterOperators.
const maxFilterDepth = 32

// compileFilter turns a /query filter (RFC 8620 §5.5: a FilterOperator
// {operator, conditions} or a type-specific FilterCondition) into a
// predicate. cond compiles one FilterCondition; it answers
// unsupportedFilter for properties it does not know. A null or absent
// filter matches everything.
func compileFilter[T any](raw json.RawMessage, cond func(json.RawMessage) (func(T) bool, error)) (func(T) bool, error) {
	return compileFilterDepth(raw, cond, 0)
}

func compileFilterDepth[T any](raw json.RawMessage, cond func(json.RawMessage) (func(T) bool, error), depth int) (func(T) bool, error) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || bytes.Equal(t, []byte("null")) {
		return func(T) bool { return true }, nil
	}
	if t[0] != '{' {
		return nil, invalidArgs("filter must be an object")
	}
	if depth > maxFilterDepth {
		return nil, mErr(meUnsupportedFilter, fmt.Sprintf("filters nest at most %d deep", maxFilterDepth))
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(t, &probe); err != nil {
		return nil, invalidArgs("filter must be an object")
	}
	opRaw, isOp := probe["operator"]
	if !isOp {
		return cond(t)
	}
	var op struct {
		Operator   string            `json:"operator"`
		Conditions []json.RawMessage `json:"conditions"`
	}
	if err := decodeArgs(t, &op); err != nil {
		return nil, mErr(meUnsupportedFilter, "a FilterOperator has only operator and conditions")
	}
	_ = opRaw
	if op.Conditions == nil {
		return nil, invalidArgs("a FilterOperator needs conditions")
	}
	subs := make([]func(T) bool, 0, len(op.Conditions))
	for _, c := range op.Conditions {
		f, err := compileFilterDepth(c, cond, depth+1)
		if err != nil {
			return nil, err
		}
		subs = append(subs, f)
	}
	switch op.Operator {
	case "AND":
		return func(x T) bool {
			for _, f := range subs {
				if !f(x) {
					return false
				}
			}
			return true
		}, nil
	case "OR":
		return func(x T) bool {
			for _, f := range subs {
				if f(x) {
					return true
				}
			}
			return false
		}, nil
	case "NOT":
		return func(x T) bool {
			for _, f := range subs {
				if f(x) {
					return false
				}
			}
			return true
		}, nil
	}
	return nil, mErr(meUnsupportedFilter, fmt.Sprintf("unknown filter operator %q", op.Operator))
}

// decodeCondition decodes a FilterCondition strictly: an unknown property
// is unsupportedFilter (RFC 8620 §5.5).
func decodeCondition(raw json.RawMessage, dst any) error {
	if err := decodeArgs(raw, dst); err != nil {
		me, _ := err.(*methodError)
		desc := "malformed filter condition"
		if me != nil {
			desc = "filter condition: " + me.Description
		}
		return mErr(meUnsupportedFilter, desc)
	}
	return nil
}
