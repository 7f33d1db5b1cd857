package cluster

import "testing"

func TestGateFormat(t *testing.T) {
	sup := func(reads, writes []int) *FormatSupport { return &FormatSupport{Reads: reads, Writes: writes} }
	v1 := sup([]int{1}, []int{1})
	v12 := sup([]int{1, 2}, []int{1, 2})
	reads2 := sup([]int{1, 2}, []int{1}) // reads format 2, still writes only 1
	v23 := sup([]int{2, 3}, []int{2, 3})
	v123 := sup([]int{1, 2, 3}, []int{1, 2, 3})
	for _, tc := range []struct {
		name    string
		current int
		members []*FormatSupport
		want    int
	}{
		{"no members", 1, nil, 1},
		{"one node of this build", 1, []*FormatSupport{v1}, 1},
		{"every member supports 2", 1, []*FormatSupport{v12, v12, v12}, 2},
		{"one member still on an old build", 1, []*FormatSupport{v12, v1, v12}, 1},
		{"one member reads 2 but cannot write it", 1, []*FormatSupport{v12, reads2}, 1},
		{"a member whose support is unknown", 1, []*FormatSupport{v12, nil}, 1},
		{"the newest common format", 1, []*FormatSupport{v123, v123}, 3},
		{"common format 2 of mixed builds", 1, []*FormatSupport{v123, v12}, 2},
		{"never back: 2 is active, a member only knows 1", 2, []*FormatSupport{v12, v1}, 2},
		{"members without the current format", 2, []*FormatSupport{v23, v123}, 3},
	} {
		if got := gateFormat(tc.current, tc.members); got != tc.want {
			t.Errorf("%s: gateFormat(%d) = %d, want %d", tc.name, tc.current, got, tc.want)
		}
	}
}

func TestThisBuildWritesWhatItReads(t *testing.T) {
	l := localFormats()
	if gateFormat(baseFormat, []*FormatSupport{&l}) != StorageFormat {
		t.Fatalf("a cluster of this build alone does not activate StorageFormat %d: %+v", StorageFormat, l)
	}
}

func TestCheckActiveFormat(t *testing.T) {
	if err := checkActiveFormat(StorageFormat); err != nil {
		t.Fatalf("format %d: %v", StorageFormat, err)
	}
	if err := checkActiveFormat(StorageFormat + 1); !IsPermanent(err) {
		t.Fatalf("format %d: %v, want a Permanent error", StorageFormat+1, err)
	}
}
