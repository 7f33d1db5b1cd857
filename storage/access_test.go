package storage

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestSortBySlot(t *testing.T) {
	for _, n := range []int{0, 1, 2, 100, 5000, 100000} {
		v := make([]uint64, n)
		for i := range v {
			v[i] = rand.Uint64() & (1<<52 - 1)
		}
		want := slices.Clone(v)
		slices.SortFunc(want, func(a, b uint64) int { return int(a>>32) - int(b>>32) })
		sortBySlot(v)
		for i := range v {
			if v[i]>>32 != want[i]>>32 {
				t.Fatalf("n=%d: slot %d at %d, want %d", n, v[i]>>32, i, want[i]>>32)
			}
		}
	}
}
