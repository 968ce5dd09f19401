package web

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// diffText writes ops as " a", "-b", "+c" lines.
func diffText(ops []diffOp) string {
	var b strings.Builder
	for _, op := range ops {
		b.WriteByte(op.kind)
		b.WriteString(op.text)
		b.WriteByte('\n')
	}
	return b.String()
}

// diffSides rebuilds the old and the new text from ops.
func diffSides(ops []diffOp) (old, new []string) {
	for _, op := range ops {
		if op.kind != '+' {
			old = append(old, op.text)
		}
		if op.kind != '-' {
			new = append(new, op.text)
		}
	}
	return old, new
}

func TestLineDiff(t *testing.T) {
	for _, tc := range []struct{ name, old, new, want string }{
		{"same", "a\nb\n", "a\nb\n", " a\n b\n"},
		{"from nothing", "", "a\nb", "+a\n+b\n"},
		{"to nothing", "a\nb", "", "-a\n-b\n"},
		{"one line changed", "a\nb\nc", "a\nB\nc", " a\n-b\n+B\n c\n"},
		{"inserted", "a\nc", "a\nb\nc", " a\n+b\n c\n"},
		{"moved", "a\nb\nc\nd", "b\nc\nd\na", "-a\n b\n c\n d\n+a\n"},
		{"interleaved", "x\na\ny\nb\nz", "a\nb\nc", "-x\n a\n-y\n b\n-z\n+c\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := diffText(lineDiff(tc.old, tc.new)); got != tc.want {
				t.Errorf("lineDiff(%q, %q) =\n%s\nwant\n%s", tc.old, tc.new, got, tc.want)
			}
		})
	}
}

// TestLineDiff_Shortest: on random texts the diff rebuilds both sides and
// keeps as many lines as the longest common subsequence has.
func TestLineDiff_Shortest(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	text := func() []string {
		out := make([]string, r.IntN(12))
		for i := range out {
			out[i] = string(rune('a' + r.IntN(4)))
		}
		return out
	}
	lcs := func(a, b []string) int {
		n := make([][]int, len(a)+1)
		for i := range n {
			n[i] = make([]int, len(b)+1)
		}
		for i := len(a) - 1; i >= 0; i-- {
			for j := len(b) - 1; j >= 0; j-- {
				if a[i] == b[j] {
					n[i][j] = n[i+1][j+1] + 1
				} else {
					n[i][j] = max(n[i+1][j], n[i][j+1])
				}
			}
		}
		return n[0][0]
	}
	for range 500 {
		a, b := text(), text()
		ops := lineDiff(strings.Join(a, "\n"), strings.Join(b, "\n"))
		old, new := diffSides(ops)
		if strings.Join(old, "\n") != strings.Join(a, "\n") || strings.Join(new, "\n") != strings.Join(b, "\n") {
			t.Fatalf("lineDiff(%q, %q) does not rebuild its sides:\n%s", a, b, diffText(ops))
		}
		kept := 0
		for _, op := range ops {
			if op.kind == ' ' {
				kept++
			}
		}
		if want := lcs(a, b); kept != want {
			t.Fatalf("lineDiff(%q, %q) keeps %d lines, the longest common subsequence has %d", a, b, kept, want)
		}
	}
}

func TestLineDiff_TooLargeIsStillRight(t *testing.T) {
	var a, b []string
	for i := range 1500 {
		a = append(a, "old "+string(rune('a'+i%26)))
		b = append(b, "new "+string(rune('a'+i%26)))
	}
	ops := lineDiff(strings.Join(a, "\n"), strings.Join(b, "\n"))
	old, new := diffSides(ops)
	if len(old) != 1500 || len(new) != 1500 || len(ops) != 3000 {
		t.Errorf("a diff past the table's bound: %d ops, %d old and %d new lines", len(ops), len(old), len(new))
	}
}

func TestDiffHunks(t *testing.T) {
	ops := lineDiff("1\n2\n3\n4\n5\n6\n7\n8\n9", "1\n2\n3\n4\nfive\n6\n7\n8\n9")
	want := "~2 unchanged lines\n 3\n 4\n-5\n+five\n 6\n 7\n~2 unchanged lines\n"
	if got := diffText(diffHunks(ops)); got != want {
		t.Errorf("diffHunks =\n%s\nwant\n%s", got, want)
	}
	if got := diffHunks(lineDiff("a\nb", "a\nb")); got != nil {
		t.Errorf("diffHunks of no change = %v, want nil", got)
	}
	if got := diffText(diffHunks(lineDiff("1\n2\n3\nx", "1\n2\n3\ny"))); got != "~1 unchanged line\n 2\n 3\n-x\n+y\n" {
		t.Errorf("one line left out: %q", got)
	}
}
