package commands_test

import (
	"flag"
	"testing"
)

// collorderRecord names a running redis-server 7.0.15 to record
// testdata/collorder.golden from. The golden file is only ever written
// from a real Redis, never from Shoal's replies:
//
//	redis-server --port 16399 --save '' &
//	go test ./commands -run TestCollectionOrderGolden -collorder-record 127.0.0.1:16399
var collorderRecord = flag.String("collorder-record", "", "address of a redis-server 7.0.15 to record testdata/collorder.golden from (it is flushed)")

// collorderScript is the transcript TestCollectionOrderGolden runs: the
// order in which Redis answers its compact encodings (an intset by value,
// a listpack sorted set by score), the scans that answer them whole, the
// whole-collection cases of SRANDMEMBER, HRANDFIELD, ZRANDMEMBER and
// SPOP, SORT BY nosort of a set, the encodings SINTERSTORE, SUNIONSTORE
// and SDIFFSTORE give the sets they build, and a listpack hash's fields in
// the order they were added, through writes, COPY and RENAME. A
// hashtable's order (its hash table's) is left out: it changes with every
// start of Redis.
var collorderScript = []string{
	"SADD s 10 9 -5 100",
	"SADD s2 100 9 7 -5",
	"SADD big 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20",
	"OBJECT ENCODING s",
	"SMEMBERS s",
	"SMEMBERS big",
	"SSCAN big 0",
	"SSCAN big 0 COUNT 3",
	"SSCAN big 17 MATCH 1*",
	"SINTER s s2",
	"SINTER s2 s",
	"SINTER big s",
	"SUNION s s2",
	"SUNION s nokey",
	"SUNION s big",
	"SDIFF s s2",
	"SDIFF s2 s",
	"SDIFF big s s2",
	"SRANDMEMBER s 10",
	"SRANDMEMBER s 4",
	"SRANDMEMBER big 30",
	"SINTERSTORE d1 s s2",
	"OBJECT ENCODING d1",
	"SMEMBERS d1",
	"SUNIONSTORE d2 s s2",
	"OBJECT ENCODING d2",
	"SMEMBERS d2",
	// SDIFF of a set much larger than the others: Redis adds the first set
	// whole, then removes the others' members.
	"SADD a 5 10 20 30 40 50 60 9",
	"SADD b 5",
	"SADD c 10",
	"SDIFF a b c",
	"SDIFFSTORE d3 a b c",
	"OBJECT ENCODING d3",
	"SADD m 5 10 20 30 40 50 60 x",
	"SADD n x",
	"SDIFFSTORE d4 m n c",
	"OBJECT ENCODING d4",
	"SCARD d4",
	"SDIFFSTORE d5 m n",
	"OBJECT ENCODING d5",
	"SMEMBERS d5",
	"SORT s BY nosort",
	"SORT s BY nosort DESC",
	"SORT s BY nosort LIMIT 1 2",
	"SORT s BY nosort STORE d6",
	"LRANGE d6 0 -1",
	"EVAL return(redis.call('sort',KEYS[1],'by','nosort','desc')) 1 s",
	"ZADD zs 3 a 1 c 2 b 1 d 5 e 6 f 7 g 8 h 9 i 10 j 11 k 12 l",
	"ZSCAN zs 0",
	"ZSCAN zs 5 COUNT 2",
	"ZSCAN zs 0 MATCH *[a-c]*",
	"ZRANDMEMBER zs 20",
	"ZRANDMEMBER zs 12 WITHSCORES",
	"HSET hs f1 v1 f2 v2 f3 v3",
	"HSCAN hs 0",
	"HSCAN hs 42 COUNT 1",
	"HSCAN hs 0 MATCH *2",
	"HRANDFIELD hs 5",
	"HRANDFIELD hs 3 WITHVALUES",
	"SPOP s 10",
	"EXISTS s",
	"SPOP s2 4",
	// A listpack hash keeps its fields in the order they were added.
	"HSET ho b 1 a 2 c 3",
	"HGETALL ho",
	"HSET ho a 9 d 4",
	"HKEYS ho",
	"HDEL ho b",
	"HVALS ho",
	"HSETNX ho b 5",
	"HINCRBY ho z 1",
	"HINCRBYFLOAT ho y 1.5",
	"HGETALL ho",
	"HSCAN ho 0",
	"HSCAN ho 0 MATCH *",
	"HRANDFIELD ho 10 WITHVALUES",
	"DUMP ho",
	"COPY ho ho2",
	"HGETALL ho2",
	"RENAME ho2 ho3",
	"HGETALL ho3",
	"HDEL ho a b c d y z",
	"EXISTS ho",
	"HSET ho x 1 w 2",
	"HGETALL ho",
}

var collorderTranscript = &transcript{
	name: "collorderScript (collorder_test.go)", golden: "testdata/collorder.golden", flag: "collorder-record", script: collorderScript,
}

func TestCollectionOrderGolden(t *testing.T) { collorderTranscript.check(t, *collorderRecord) }
