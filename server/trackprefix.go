package server

import (
	"slices"
	"sort"
	"strings"

	"github.com/shoaldb/shoal/commands"
)

// A BCAST client's prefixes are kept in byte order, as Redis keeps them
// in a radix tree: CLIENT TRACKINGINFO lists them in that order, an
// overlap is found by a search rather than a pass over them all, and the
// tree's node count, which Redis adds to the client's memory (32 bytes a
// node in getClientMemoryUsage), is kept as each prefix is added.

// raxNodeCost is what getClientMemoryUsage counts for a node of the
// prefixes' tree: sizeof(raxNode) * sizeof(raxNode*).
const raxNodeCost = 4 * 8

// prefixCollision is Redis's checkPrefixCollisionsOrReply: each prefix in
// add, in order, must not overlap one of have (sorted; the first in that
// order is named) nor one after it in add.
func prefixCollision(have, add []string) error {
	overlap := func(a, b string) bool { return strings.HasPrefix(a, b) || strings.HasPrefix(b, a) }
	for i, p := range add {
		// NB: have holds no overlapping pair, so only p's neighbours in
		// it can overlap p: a prefix of p sorts just before it, a key
		// p prefixes just after.
		at, found := slices.BinarySearch(have, p)
		if found {
			return prefixOverlap(p, have[at])
		}
		if at > 0 && strings.HasPrefix(p, have[at-1]) {
			return prefixOverlap(p, have[at-1])
		}
		if at < len(have) && strings.HasPrefix(have[at], p) {
			return prefixOverlap(p, have[at])
		}
		for _, q := range add[i+1:] {
			if overlap(p, q) {
				return commands.Errf("Prefix '%s' overlaps with another provided prefix '%s'. Prefixes for a single client must not overlap.", p, q)
			}
		}
	}
	return nil
}

func prefixOverlap(p, h string) error {
	return commands.Errf("Prefix '%s' overlaps with an existing prefix '%s'. Prefixes for a single client must not overlap.", p, h)
}

// addPrefix inserts k, which overlaps none of keys (sorted), and returns
// the keys and the node count of their radix tree, nodes before. The
// tree of a set of keys none of which prefixes another has a node at the
// root, at each key, at each point where keys part (a branch) and at
// each position right after a branch; Redis's rax builds exactly those.
// k adds its own node, the node after its branch (when k goes on past
// it), the branch itself when the point was inside a run of the tree,
// and the node after the branch on the path that was there.
func addPrefix(keys []string, nodes int, k string) ([]string, int) {
	at, _ := slices.BinarySearch(keys, k)
	if len(keys) == 0 {
		nodes = 1 // the root
		if k != "" {
			nodes++
		}
		return []string{k}, nodes
	}
	l := 0 // how deep k attaches: its longest common prefix with a key
	if at > 0 {
		l = commonPrefix(keys[at-1], k)
	}
	if at < len(keys) {
		l = max(l, commonPrefix(keys[at], k))
	}
	p := k[:l]
	nodes++ // k
	if len(k) > l+1 {
		nodes++ // the node after the branch on k's path
	}
	if !isBranch(keys, p) {
		if l > 0 && !isBranch(keys, p[:l-1]) {
			nodes++ // the branch, inside a run before
		}
		// The path through p went on by one character only: the node
		// after the branch on it is new unless a key or a branch was
		// there.
		lo, _ := slices.BinarySearch(keys, p)
		next := keys[lo][:l+1]
		if keys[lo] != next && !isBranch(keys, next) {
			nodes++
		}
	}
	return slices.Insert(keys, at, k), nodes
}

// isBranch reports whether keys (sorted, none prefixing another) part at
// q: two of them start with q and differ in the character after it.
func isBranch(keys []string, q string) bool {
	lo, _ := slices.BinarySearch(keys, q)
	if lo == len(keys) || !strings.HasPrefix(keys[lo], q) || len(keys[lo]) == len(q) {
		return false
	}
	hi := lo + sort.Search(len(keys)-lo, func(i int) bool { return !strings.HasPrefix(keys[lo+i], q) })
	return keys[hi-1][len(q)] != keys[lo][len(q)]
}

func commonPrefix(a, b string) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}
