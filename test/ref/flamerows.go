// Flame graph rows as Grafana's Flame Graph panel reads them, computed
// with Go's profile package, for comparison with pprof_flamegraph_rows:
//
//	pprofref flamerows FILE SAMPLE_INDEX MAX_NODES [BASE]
//
// prints "level|label|self|value" per row in pre-order (with BASE, the
// union of both trees: "level|label|self|value|self_right|value_right",
// self/value from BASE and the right ones from FILE). SAMPLE_INDEX is a
// number ("" = pprof's default); MAX_NODES 0 keeps every node.
package main

import (
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/google/pprof/profile"
)

type fnode struct {
	name     string
	value    [2]int64
	self     [2]int64
	children map[string]*fnode
	order    []*fnode // children by name
	pre      int      // pre-order position
	parent   *fnode
	level    int
}

// A frame's name as pprof's report names nodes at functions granularity:
// the function name; "[binary]" (the mapping file's base name) for a line
// without a named function or a location without lines; "<unknown>" when
// there is no mapping file either.
func binaryName(l *profile.Location) string {
	if l.Mapping != nil && l.Mapping.File != "" {
		return "[" + filepath.Base(l.Mapping.File) + "]"
	}
	return "<unknown>"
}

func rootFirst(l *profile.Location) []string {
	if len(l.Line) == 0 {
		return []string{binaryName(l)}
	}
	var out []string
	for i := len(l.Line) - 1; i >= 0; i-- { // the caller (outermost) first
		if fn := l.Line[i].Function; fn != nil && fn.Name != "" {
			out = append(out, fn.Name)
		} else {
			out = append(out, binaryName(l))
		}
	}
	return out
}

func addSide(root *fnode, p *profile.Profile, idx, side int) {
	for _, s := range p.Sample {
		v := s.Value[idx]
		if v <= 0 {
			continue
		}
		n := root
		n.value[side] += v
		for i := len(s.Location) - 1; i >= 0; i-- {
			for _, name := range rootFirst(s.Location[i]) {
				c := n.children[name]
				if c == nil {
					c = &fnode{name: name, children: map[string]*fnode{}, parent: n, level: n.level + 1}
					n.children[name] = c
				}
				c.value[side] += v
				n = c
			}
		}
		n.self[side] += v
	}
}

func preorder(n *fnode, out *[]*fnode) {
	n.pre = len(*out)
	*out = append(*out, n)
	n.order = nil
	for _, c := range n.children {
		n.order = append(n.order, c)
	}
	sort.Slice(n.order, func(i, j int) bool { return n.order[i].name < n.order[j].name })
	for _, c := range n.order {
		preorder(c, out)
	}
}

func flameRows(args []string) {
	p := mustRead(args[0])
	idx := len(p.SampleType) - 1
	if p.DefaultSampleType != "" {
		for i, st := range p.SampleType {
			if st.Type == p.DefaultSampleType {
				idx = i
			}
		}
	}
	if args[1] != "" {
		idx, _ = strconv.Atoi(args[1])
	}
	maxNodes, _ := strconv.Atoi(args[2])
	root := &fnode{name: "total", children: map[string]*fnode{}}
	diff := len(args) > 3
	if diff {
		addSide(root, mustRead(args[3]), idx, 0)
		addSide(root, p, idx, 1)
	} else {
		addSide(root, p, idx, 0)
	}
	var all []*fnode
	preorder(root, &all)

	kept := map[*fnode]bool{}
	if maxNodes == 0 || maxNodes >= len(all) {
		for _, n := range all {
			kept[n] = true
		}
	} else {
		// the heaviest nodes first (ties in pre-order), as long as they and
		// one "other" per node with a child left out fit
		byWeight := append([]*fnode(nil), all...)
		sort.SliceStable(byWeight, func(i, j int) bool {
			wi := byWeight[i].value[0] + byWeight[i].value[1]
			wj := byWeight[j].value[0] + byWeight[j].value[1]
			if wi != wj {
				return wi > wj
			}
			return byWeight[i].pre < byWeight[j].pre
		})
		// rows for the k heaviest: k plus one "other" per node with a child left out
		rows := func(k int) (int, map[*fnode]bool) {
			try := map[*fnode]bool{}
			for _, n := range byWeight[:k] {
				try[n] = true
			}
			others := 0
			for n := range try {
				for _, c := range n.order {
					if !try[c] {
						others++
						break
					}
				}
			}
			return k + others, try
		}
		// rows(k) never decreases as k grows: the largest k that fits
		k := sort.Search(len(byWeight), func(k int) bool { r, _ := rows(k + 1); return r > maxNodes })
		_, kept = rows(k)
	}

	var b strings.Builder
	row := func(level int, label string, self, value [2]int64) {
		label = strings.ReplaceAll(label, "\n", "\\n")
		if diff {
			fmt.Fprintf(&b, "%d|%s|%d|%d|%d|%d\n", level, label, self[0], value[0], self[1], value[1])
		} else {
			fmt.Fprintf(&b, "%d|%s|%d|%d\n", level, label, self[0], value[0])
		}
	}
	var walk func(n *fnode)
	walk = func(n *fnode) {
		row(n.level, n.name, n.self, n.value)
		var rest [2]int64
		for _, c := range n.order {
			if !kept[c] {
				rest[0] += c.value[0]
				rest[1] += c.value[1]
			}
		}
		otherDone := rest == [2]int64{}
		for _, c := range n.order {
			if !kept[c] {
				continue
			}
			if !otherDone && "other" < c.name {
				row(n.level+1, "other", rest, rest)
				otherDone = true
			}
			walk(c)
		}
		if !otherDone {
			row(n.level+1, "other", rest, rest)
		}
	}
	walk(root)
	fmt.Print(b.String())
}
