package jmapserver

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/letterbox/letterbox/internal/vacation"
)

// vacationCall sends one VacationResponse call with its capability.
func (h *harness) vacationCall(name string, args map[string]any) (string, map[string]any) {
	h.t.Helper()
	args["accountId"] = h.acct
	body, _ := json.Marshal(map[string]any{
		"using":       []string{capCore, capMail, capVacation},
		"methodCalls": []any{[]any{name, args, "c0"}},
	})
	resp, b := h.do("POST", "/jmap/", "application/json", body)
	if resp.StatusCode != 200 {
		h.t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	var out struct {
		MethodResponses [][]json.RawMessage `json:"methodResponses"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		h.t.Fatal(err)
	}
	var kind string
	var res map[string]any
	json.Unmarshal(out.MethodResponses[0][0], &kind)
	json.Unmarshal(out.MethodResponses[0][1], &res)
	return kind, res
}

// TestVacationResponse: the singleton (RFC 8621 §8) reads, updates,
// refuses create and destroy, checks its properties and ifInState, and
// what it stores is what internal/vacation answers mail with.
func TestVacationResponse(t *testing.T) {
	h := newHarness(t)
	_, got := h.vacationCall("VacationResponse/get", map[string]any{"ids": nil})
	list := got["list"].([]any)
	if len(list) != 1 {
		t.Fatalf("get: %v", got)
	}
	first := list[0].(map[string]any)
	if first["id"] != "singleton" || first["isEnabled"] != false || first["textBody"] != nil {
		t.Fatalf("default: %v", first)
	}
	state0 := got["state"].(string)

	kind, set := h.vacationCall("VacationResponse/set", map[string]any{
		"ifInState": state0,
		"update": map[string]any{"singleton": map[string]any{
			"isEnabled": true, "subject": "Away", "textBody": "Back on Monday.", "toDate": "2030-01-01T00:00:00Z"}},
		"create":  map[string]any{"x": map[string]any{}},
		"destroy": []string{"singleton"},
	})
	if kind != "VacationResponse/set" {
		t.Fatalf("set: %s %v", kind, set)
	}
	if _, ok := set["updated"].(map[string]any)["singleton"]; !ok {
		t.Fatalf("not updated: %v", set)
	}
	if set["notCreated"].(map[string]any)["x"].(map[string]any)["type"] != "singleton" ||
		set["notDestroyed"].(map[string]any)["singleton"].(map[string]any)["type"] != "singleton" {
		t.Fatalf("create/destroy not refused with singleton: %v", set)
	}
	if set["newState"] == state0 {
		t.Fatalf("state did not change: %v", set)
	}
	s, err := vacation.Load(context.Background(), h.st, h.user)
	if err != nil || !s.Enabled || s.Subject == nil || *s.Subject != "Away" || s.ToDate == nil || s.ToDate.Year() != 2030 {
		t.Fatalf("stored settings %+v, %v", s, err)
	}

	// Stale ifInState, a bad type, an unknown property, a non-UTC date.
	if kind, res := h.vacationCall("VacationResponse/set", map[string]any{"ifInState": state0,
		"update": map[string]any{"singleton": map[string]any{"isEnabled": false}}}); kind != "error" || res["type"] != "stateMismatch" {
		t.Fatalf("stale ifInState: %s %v", kind, res)
	}
	for _, bad := range []map[string]any{{"isEnabled": "yes"}, {"colour": "red"}, {"fromDate": "2030-01-01T00:00:00+02:00"}, {"subject": 7}} {
		_, res := h.vacationCall("VacationResponse/set", map[string]any{"update": map[string]any{"singleton": bad}})
		e, _ := res["notUpdated"].(map[string]any)["singleton"].(map[string]any)
		if e == nil || e["type"] != "invalidProperties" {
			t.Errorf("update %v: %v", bad, res)
		}
	}
	_, got = h.vacationCall("VacationResponse/get", map[string]any{"ids": []string{"singleton", "other"}, "properties": []string{"subject"}})
	obj := got["list"].([]any)[0].(map[string]any)
	if obj["subject"] != "Away" || obj["id"] != "singleton" || len(obj) != 2 || !strings.Contains(strings.Join(toStrings(got["notFound"]), ","), "other") {
		t.Fatalf("get with properties: %v", got)
	}
	// Without the capability in "using", the method is unknown.
	if r := h.api([]any{"VacationResponse/get", map[string]any{"accountId": h.acct}, "c0"}); r[0][0] != "error" {
		t.Fatalf("without the capability: %v", r)
	}
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}
