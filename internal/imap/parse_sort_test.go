package imap

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestParseSortThread(t *testing.T) {
	tests := []struct {
		line string
		want Command
	}{
		{"t SORT (REVERSE DATE) UTF-8 ALL", Command{Tag: "t", Name: "SORT", Args: &SortArgs{
			Criteria: []SortCriterion{{Key: "DATE", Reverse: true}},
			Search:   SearchArgs{Charset: "UTF-8", Key: and(SearchKey{Name: "ALL"})}}}},
		{"t uid sort (subject reverse arrival displayfrom) us-ascii subject x 1:*", Command{Tag: "t", Name: "SORT", UID: true, Args: &SortArgs{
			Criteria: []SortCriterion{{Key: "SUBJECT"}, {Key: "ARRIVAL", Reverse: true}, {Key: "DISPLAYFROM"}},
			Search:   SearchArgs{Charset: "US-ASCII", Key: and(SearchKey{Name: "SUBJECT", Value: "x"}, SearchKey{Name: SearchSeqSet, Seq: seq("1:*")})}}}},
		{"t SORT RETURN (MIN MAX COUNT ALL) (SIZE) UTF-8 ALL", Command{Tag: "t", Name: "SORT", Args: &SortArgs{
			Criteria: []SortCriterion{{Key: "SIZE"}},
			Search:   SearchArgs{Charset: "UTF-8", Return: []string{"MIN", "MAX", "COUNT", "ALL"}, Key: and(SearchKey{Name: "ALL"})}}}},
		{"t SORT RETURN (PARTIAL 10:2 COUNT) (CC TO FROM) UTF-8 ALL", Command{Tag: "t", Name: "SORT", Args: &SortArgs{
			Criteria: []SortCriterion{{Key: "CC"}, {Key: "TO"}, {Key: "FROM"}},
			Search:   SearchArgs{Charset: "UTF-8", Return: []string{"PARTIAL", "COUNT"}, Partial: &PartialRange{Low: 2, High: 10}, Key: and(SearchKey{Name: "ALL"})}}}},
		{"t SEARCH RETURN (CONTEXT UPDATE COUNT) ALL", Command{Tag: "t", Name: "SEARCH", Args: &SearchArgs{
			Return: []string{"CONTEXT", "UPDATE", "COUNT"}, Key: and(SearchKey{Name: "ALL"})}}},
		{"t THREAD REFERENCES UTF-8 SINCE 1-Feb-1994", Command{Tag: "t", Name: "THREAD", Args: &ThreadArgs{
			Algorithm: "REFERENCES", Charset: "UTF-8", Key: and(SearchKey{Name: "SINCE", Date: time.Date(1994, 2, 1, 0, 0, 0, 0, time.UTC)})}}},
		{`t UID THREAD orderedsubject "us-ascii" (ALL)`, Command{Tag: "t", Name: "THREAD", UID: true, Args: &ThreadArgs{
			Algorithm: "ORDEREDSUBJECT", Charset: "US-ASCII", Key: and(SearchKey{Name: SearchAnd, Children: []SearchKey{{Name: "ALL"}}})}}},
		{`t CANCELUPDATE "a1" b2 {2+}` + "\r\nc3", Command{Tag: "t", Name: "CANCELUPDATE", Args: &CancelUpdateArgs{Tags: []string{"a1", "b2", "c3"}}}},
	}
	for _, tc := range tests {
		got, err := parseOne(t, tc.line)
		if err != nil {
			t.Errorf("%q: %v", tc.line, err)
			continue
		}
		if !reflect.DeepEqual(got, &tc.want) {
			t.Errorf("%q:\n got  %#v\n want %#v", tc.line, got.Args, tc.want.Args)
		}
	}
	for _, line := range []string{
		"t SORT",
		"t SORT () UTF-8 ALL",
		"t SORT (DATE) UTF-8",
		"t SORT (DATE)",
		"t SORT DATE UTF-8 ALL",
		"t SORT (REVERSE) UTF-8 ALL",
		"t SORT (REVERSE REVERSE DATE) UTF-8 ALL",
		"t SORT (BOGUS) UTF-8 ALL",
		"t SORT (DATE ) UTF-8 ALL",
		"t SORT RETURN (PARTIAL 1:2 ALL) (DATE) UTF-8 ALL",
		"t SORT RETURN (PARTIAL 0:2) (DATE) UTF-8 ALL",
		"t SORT RETURN (PARTIAL 1:2 PARTIAL 3:4) (DATE) UTF-8 ALL",
		"t SORT RETURN (PARTIAL 1) (DATE) UTF-8 ALL",
		"t SEARCH RETURN (UPDATE UPDATE) ALL",
		"t THREAD",
		"t THREAD REFERENCES",
		"t THREAD REFERENCES UTF-8",
		"t UID THREAD REFERENCES UTF-8 BOGUS",
		"t CANCELUPDATE",
		"t UID CANCELUPDATE \"a\"",
	} {
		_, err := parseOne(t, line)
		var pe *ParseError
		if !errors.As(err, &pe) || pe.NO || pe.Fatal {
			t.Errorf("%q: want a BAD parse error, got %v", line, err)
		}
	}
}
