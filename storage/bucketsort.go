package storage

// bucketSort orders v in place by bucket, a counting sort that moves each
// element at most once: count[b] holds, on entry, the number of elements
// of bucket b, and on return the end of bucket b in v. next is scratch
// space as long as count.
func bucketSort[T any](v []T, count, next []int, bucket func(T) int) {
	var off int
	for b, n := range count {
		next[b] = off
		off += n
		count[b] = off
	}
	for b := range next {
		for next[b] < count[b] {
			x := v[next[b]]
			d := bucket(x)
			if d == b {
				next[b]++
				continue
			}
			v[next[b]], v[next[d]] = v[next[d]], x
			next[d]++
		}
	}
}
