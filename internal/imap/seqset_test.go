package imap

import (
	"reflect"
	"testing"
)

func TestParseSeqSet(t *testing.T) {
	valid := map[string]SeqSet{
		"1":          {Ranges: []SeqRange{{1, 1}}},
		"*":          {Ranges: []SeqRange{{0, 0}}},
		"1:*":        {Ranges: []SeqRange{{1, 0}}},
		"5:2,7,9:*":  {Ranges: []SeqRange{{5, 2}, {7, 7}, {9, 0}}},
		"$":          {Dollar: true},
		"4294967295": {Ranges: []SeqRange{{4294967295, 4294967295}}},
	}
	for in, want := range valid {
		got, err := ParseSeqSet(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%q: got %+v, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "0", "1:0", "01", "1,", ",1", "1::2", "a", "4294967296", "$,1", "1:$", "-1", "1 2"} {
		if _, err := ParseSeqSet(in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

func TestSeqSetContainsExpand(t *testing.T) {
	tests := []struct {
		set    string
		max    uint32
		expand []uint32
	}{
		{"1:3", 10, []uint32{1, 2, 3}},
		{"3:1", 10, []uint32{1, 2, 3}},
		{"*", 5, []uint32{5}},
		{"*:3", 5, []uint32{3, 4, 5}},
		{"8:*", 5, []uint32{5}}, // RFC 3501 §9: 8:* with 5 messages is 5:8
		{"2,1,2:3,10", 5, []uint32{1, 2, 3}},
		{"1:4294967295", 3, []uint32{1, 2, 3}},
		{"1:*", 0, nil},
		{"4294967295", 4294967295, []uint32{4294967295}},
	}
	for _, tt := range tests {
		s := seq(tt.set)
		got := s.Expand(tt.max)
		if !reflect.DeepEqual(got, tt.expand) {
			t.Errorf("%s.Expand(%d) = %v, want %v", tt.set, tt.max, got, tt.expand)
		}
		for n := uint32(1); n <= tt.max && n < 20; n++ {
			in := false
			for _, e := range tt.expand {
				in = in || e == n
			}
			if s.Contains(n, tt.max) != in {
				t.Errorf("%s.Contains(%d, %d) = %v", tt.set, n, tt.max, !in)
			}
		}
	}
	if (SeqSet{Dollar: true}).Contains(1, 1) {
		t.Error("$ contains 1")
	}
	if !seq("1,5:*").Dynamic() || seq("1:5").Dynamic() {
		t.Error("Dynamic wrong")
	}
}

func TestSeqSetString(t *testing.T) {
	if s := SeqSetFromNumbers([]uint32{5, 1, 2, 3, 3, 9, 10, 7}).String(); s != "1:3,5,7,9:10" {
		t.Errorf("compact: %s", s)
	}
	for _, in := range []string{"1:*", "$", "4:2,*", "1"} {
		if got := seq(in).String(); got != in {
			t.Errorf("round trip %s: %s", in, got)
		}
	}
	if s := SeqSetFromNumbers(nil).String(); s != "" {
		t.Errorf("empty: %q", s)
	}
}
