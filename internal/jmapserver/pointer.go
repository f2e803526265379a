package jmapserver

import (
	"strconv"
	"strings"
)

// evalPointer evaluates a JSON Pointer (RFC 6901) with JMAP's "*"
// extension (RFC 8620 §3.7) against a value decoded by encoding/json into
// any. "*" on an array applies the rest of the path to every item; where
// those results are arrays they are flattened into one.
func evalPointer(v any, path string) (any, bool) {
	if path == "" {
		return v, true
	}
	if !strings.HasPrefix(path, "/") {
		return nil, false
	}
	return evalTokens(v, strings.Split(path[1:], "/"))
}

func evalTokens(v any, toks []string) (any, bool) {
	if len(toks) == 0 {
		return v, true
	}
	tok := strings.ReplaceAll(strings.ReplaceAll(toks[0], "~1", "/"), "~0", "~")
	switch x := v.(type) {
	case map[string]any:
		c, ok := x[tok]
		if !ok {
			return nil, false
		}
		return evalTokens(c, toks[1:])
	case []any:
		if tok == "*" {
			out := []any{}
			for _, item := range x {
				r, ok := evalTokens(item, toks[1:])
				if !ok {
					return nil, false
				}
				if arr, isArr := r.([]any); isArr {
					out = append(out, arr...)
				} else {
					out = append(out, r)
				}
			}
			return out, true
		}
		if tok == "" || (len(tok) > 1 && tok[0] == '0') {
			return nil, false
		}
		i, err := strconv.Atoi(tok)
		if err != nil || i < 0 || i >= len(x) {
			return nil, false
		}
		return evalTokens(x[i], toks[1:])
	}
	return nil, false
}
