package web

import (
	"strconv"
	"strings"
)

// diffOp is one line of a line diff.
type diffOp struct {
	kind byte // ' ' same, '-' only in the old text, '+' only in the new
	text string
}

// maxDiffCells bounds the LCS table (old lines × new lines, after the
// common head and tail are set aside): 4 MiB of int32. A bigger change is
// shown as everything removed and added, which is still right, only not
// the shortest.
const maxDiffCells = 1 << 20

// lineDiff is the shortest edit from old to new, line by line: the
// longest common subsequence of their lines kept, the rest removed or
// added (removals first where both happen at one place).
func lineDiff(old, new string) []diffOp {
	a, b := diffSplitLines(old), diffSplitLines(new)
	head := 0
	for head < len(a) && head < len(b) && a[head] == b[head] {
		head++
	}
	tail := 0
	for tail < len(a)-head && tail < len(b)-head && a[len(a)-1-tail] == b[len(b)-1-tail] {
		tail++
	}
	ops := make([]diffOp, 0, len(a)+len(b))
	for _, l := range a[:head] {
		ops = append(ops, diffOp{' ', l})
	}
	ops = append(ops, lcsDiff(a[head:len(a)-tail], b[head:len(b)-tail])...)
	for _, l := range a[len(a)-tail:] {
		ops = append(ops, diffOp{' ', l})
	}
	return ops
}

func diffSplitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// lcsDiff diffs a and b with the classic dynamic programme: n[i][j] is
// the length of the longest common subsequence of a[i:] and b[j:].
func lcsDiff(a, b []string) []diffOp {
	var ops []diffOp
	if len(a)*len(b) > maxDiffCells {
		for _, l := range a {
			ops = append(ops, diffOp{'-', l})
		}
		for _, l := range b {
			ops = append(ops, diffOp{'+', l})
		}
		return ops
	}
	w := len(b) + 1
	n := make([]int32, (len(a)+1)*w)
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				n[i*w+j] = n[(i+1)*w+j+1] + 1
			} else {
				n[i*w+j] = max(n[(i+1)*w+j], n[i*w+j+1])
			}
		}
	}
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] == b[j]:
			ops = append(ops, diffOp{' ', a[i]})
			i, j = i+1, j+1
		case n[(i+1)*w+j] >= n[i*w+j+1]:
			ops = append(ops, diffOp{'-', a[i]})
			i++
		default:
			ops = append(ops, diffOp{'+', b[j]})
			j++
		}
	}
	for ; i < len(a); i++ {
		ops = append(ops, diffOp{'-', a[i]})
	}
	for ; j < len(b); j++ {
		ops = append(ops, diffOp{'+', b[j]})
	}
	return ops
}

// diffContext is how many unchanged lines are shown around a change.
const diffContext = 2

// diffHunks keeps the changes and diffContext unchanged lines around
// each; the unchanged lines left out become one "skip" entry saying how
// many. It returns nil when nothing changed.
func diffHunks(ops []diffOp) []diffOp {
	keep := make([]bool, len(ops))
	changed := false
	for i, op := range ops {
		if op.kind == ' ' {
			continue
		}
		changed = true
		for k := max(0, i-diffContext); k <= min(len(ops)-1, i+diffContext); k++ {
			keep[k] = true
		}
	}
	if !changed {
		return nil
	}
	var out []diffOp
	for i := 0; i < len(ops); {
		if keep[i] {
			out = append(out, ops[i])
			i++
			continue
		}
		j := i
		for j < len(ops) && !keep[j] {
			j++
		}
		word := " unchanged lines"
		if j-i == 1 {
			word = " unchanged line"
		}
		out = append(out, diffOp{'~', strconv.Itoa(j-i) + word})
		i = j
	}
	return out
}
