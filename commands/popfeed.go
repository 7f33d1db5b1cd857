package commands

import "strconv"

// Pops as redis-server replicas are to run them (Ctx.Propagate), the way
// Redis 7.0 rewrites them: a blocking pop as the pop it came to (BLPOP as
// LPOP key, BLMOVE as LMOVE, BRPOPLPUSH as RPOPLPUSH, BZPOPMIN as ZPOPMIN
// key), LMPOP, BLMPOP, ZMPOP and BZMPOP as LPOP/RPOP/ZPOPMIN/ZPOPMAX key
// count with the count popped, SPOP as one SREM key member per member
// popped, or DEL key when it took the whole set. A call that popped
// nothing passes nothing on.

// propagatePop passes on name key, with count when count > 0.
func (c *Ctx) propagatePop(name string, key []byte, count int) {
	if !c.Feeding() {
		return
	}
	if count > 0 {
		c.Propagate([]byte(name), key, strconv.AppendInt(nil, int64(count), 10))
		return
	}
	c.Propagate([]byte(name), key)
}

// popName is LPOP or RPOP, ZPOPMIN or ZPOPMAX.
func popName(list, first bool) string {
	switch {
	case list && first:
		return "LPOP"
	case list:
		return "RPOP"
	case first:
		return "ZPOPMIN"
	}
	return "ZPOPMAX"
}

// endName is how Redis names a list's end when it propagates a served
// BLMOVE.
func endName(left bool) []byte {
	if left {
		return []byte("left")
	}
	return []byte("right")
}
