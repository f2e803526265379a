package conformance

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// transcript is a normalised session: one entry per command, the command
// followed by its responses.
type transcript []string

// vars captures per-server values that later commands of a script refer to
// ($HMS: the last HIGHESTMODSEQ seen; $MS: the last MODSEQ in a FETCH).
type vars map[string]string

var (
	captureHMS = regexp.MustCompile(`HIGHESTMODSEQ (\d+)`)
	captureMS  = regexp.MustCompile(`MODSEQ \((\d+)\)`)
)

func (v vars) expand(cmd string) string {
	for k, val := range v {
		cmd = strings.ReplaceAll(cmd, "$"+k, val)
	}
	return cmd
}

func (v vars) capture(resps []string) {
	for _, r := range resps {
		if m := captureHMS.FindStringSubmatch(r); m != nil {
			v["HMS"] = m[1]
		}
		if m := captureMS.FindAllStringSubmatch(r, -1); m != nil {
			v["MS"] = m[len(m)-1][1]
		}
	}
}

// report compares two transcripts; on a difference it fails the test unless
// the script names it an allowed difference.
func report(t *testing.T, s imapScript, dovecot, letterbox transcript) {
	t.Helper()
	d := diffLines(dovecot, letterbox)
	if d == "" {
		return
	}
	msg := fmt.Sprintf("letterbox answers differently from Dovecot (- dovecot, + letterbox):\n%s", d)
	if s.allowed != "" {
		t.Logf("%s\nallowed difference: %s", msg, s.allowed)
		return
	}
	t.Error(msg)
}

// diffLines is a line diff by longest common subsequence; "" when equal.
func diffLines(a, b []string) string {
	n, m := len(a), len(b)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	// Walk the LCS, marking each line; then print changed lines with two
	// lines of context around them.
	type line struct {
		mark byte
		text string
	}
	var lines []line
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && a[i] == b[j]:
			lines = append(lines, line{' ', a[i]})
			i++
			j++
		case j < m && (i == n || lcs[i][j+1] >= lcs[i+1][j]):
			lines = append(lines, line{'+', b[j]})
			j++
		default:
			lines = append(lines, line{'-', a[i]})
			i++
		}
	}
	const context = 2
	keep := make([]bool, len(lines))
	changed := false
	for k, l := range lines {
		if l.mark == ' ' {
			continue
		}
		changed = true
		for c := max(0, k-context); c <= min(len(lines)-1, k+context); c++ {
			keep[c] = true
		}
	}
	if !changed {
		return ""
	}
	var out strings.Builder
	for k, l := range lines {
		if !keep[k] {
			if k > 0 && keep[k-1] {
				out.WriteString("  ...\n")
			}
			continue
		}
		text := l.text
		// Commands stay readable; long unchanged responses are cut.
		if l.mark == ' ' && len(text) > 300 {
			text = text[:300] + "..."
		}
		fmt.Fprintf(&out, "%c %s\n", l.mark, show(text))
	}
	return out.String()
}

// show makes CR and LF inside literals visible.
func show(s string) string {
	return strings.NewReplacer("\r\n", `\r\n`+"\n    ", "\n", `\n`).Replace(s)
}
