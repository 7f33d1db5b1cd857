package commands_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
	"github.com/shoaldb/shoal/server"
)

// TestCopyEveryEncoding copies a key of each type in each of its
// encodings, within a database, to another one over a key of another type
// (REPLACE), and in the pipeline that created it, and checks that the copy
// holds the same contents, encoding and expiry and is independent of its
// source. Against redis-server 7.0.15 (through redis-cli: hashes, sorted
// sets, sets and lists of 3 to 200,000 members, short and 100-byte, copied
// within a database, to another with REPLACE, inside MULTI) every such
// COPY answers 1 and the copy equals its source in contents, OBJECT
// ENCODING and TTL.
func TestCopyEveryEncoding(t *testing.T) {
	long := strings.Repeat("x", 300)
	type value struct {
		name, typ string
		make      func(p redis.Pipeliner, key string)
		read      []any // the command that reads the whole value; {} stands for the key
		change    []any // a write to the copy
	}
	var values []value
	for _, n := range []int{3, 300} {
		n := n
		values = append(values,
			value{fmt.Sprintf("hash %d", n), "hash", func(p redis.Pipeliner, k string) {
				for i := 0; i < n; i++ {
					p.HSet(testutil.Ctx(t), k, fmt.Sprint("f", i), fmt.Sprint("v", i))
				}
			}, []any{"hgetall", "{}"}, []any{"hset", "{}", "f1", "changed"}},
			value{fmt.Sprintf("hash %d long", n), "hash", func(p redis.Pipeliner, k string) {
				for i := 0; i < n; i++ {
					p.HSet(testutil.Ctx(t), k, fmt.Sprint("f", i), long+fmt.Sprint(i))
				}
			}, []any{"hgetall", "{}"}, []any{"hdel", "{}", "f1"}},
			value{fmt.Sprintf("zset %d", n), "zset", func(p redis.Pipeliner, k string) {
				for i := 0; i < n; i++ {
					p.ZAdd(testutil.Ctx(t), k, redis.Z{Score: float64(i) + 0.5, Member: fmt.Sprint("m", i)})
				}
			}, []any{"zrange", "{}", 0, -1, "withscores"}, []any{"zincrby", "{}", 1000, "m1"}},
			value{fmt.Sprintf("zset %d long", n), "zset", func(p redis.Pipeliner, k string) {
				for i := 0; i < n; i++ {
					p.ZAdd(testutil.Ctx(t), k, redis.Z{Score: float64(n - i), Member: long + fmt.Sprint(i)})
				}
			}, []any{"zrangebyscore", "{}", "-inf", "+inf", "withscores"}, []any{"zrem", "{}", long + "1"}},
			value{fmt.Sprintf("set %d ints", n), "set", func(p redis.Pipeliner, k string) {
				for i := 0; i < n; i++ {
					p.SAdd(testutil.Ctx(t), k, i)
				}
			}, []any{"sort", "{}"}, []any{"srem", "{}", 1}},
			value{fmt.Sprintf("set %d", n), "set", func(p redis.Pipeliner, k string) {
				for i := 0; i < n; i++ {
					p.SAdd(testutil.Ctx(t), k, fmt.Sprint("m", i))
				}
			}, []any{"sort", "{}", "alpha"}, []any{"sadd", "{}", "new"}},
			value{fmt.Sprintf("list %d", n), "list", func(p redis.Pipeliner, k string) {
				for i := 0; i < n; i++ {
					p.RPush(testutil.Ctx(t), k, fmt.Sprint("e", i), long)
				}
			}, []any{"lrange", "{}", 0, -1}, []any{"lpop", "{}"}},
			value{fmt.Sprintf("stream %d", n), "stream", func(p redis.Pipeliner, k string) {
				ctx := testutil.Ctx(t)
				for i := 0; i < n; i++ {
					p.XAdd(ctx, &redis.XAddArgs{Stream: k, ID: fmt.Sprintf("%d-1", i+1), Values: []any{"f", long[:i%60], "n", i}})
				}
				p.XGroupCreate(ctx, k, "g", "0")
				p.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: "c", Streams: []string{k, ">"}, Count: 2})
				p.XDel(ctx, k, "2-1")
			}, []any{"xinfo", "stream", "{}", "full", "count", 0}, []any{"xack", "{}", "g", "1-1"}},
		)
	}
	values = append(values,
		value{"string int", "string", func(p redis.Pipeliner, k string) { p.Set(testutil.Ctx(t), k, 12345, 0) },
			[]any{"get", "{}"}, []any{"incr", "{}"}},
		value{"string embstr", "string", func(p redis.Pipeliner, k string) { p.Set(testutil.Ctx(t), k, "short", 0) },
			[]any{"get", "{}"}, []any{"append", "{}", "x"}},
		value{"string raw", "string", func(p redis.Pipeliner, k string) { p.Set(testutil.Ctx(t), k, long, 0) },
			[]any{"get", "{}"}, []any{"setrange", "{}", 0, "y"}},
	)
	with := func(args []any, key string) []any {
		out := append([]any(nil), args...)
		for i, a := range out {
			if a == "{}" {
				out[i] = key
			}
		}
		return out
	}

	eachProto(t, func(t *testing.T, s *server.Server, c *redis.Client) {
		ctx := testutil.Ctx(t)
		// NB: a client per database: SELECT on a pooled connection would
		// stay with the connection.
		c1 := redis.NewClient(&redis.Options{Addr: s.Addr(), DB: 1, Protocol: c.Options().Protocol, MaxRetries: -1, DisableIdentity: true})
		defer c1.Close()
		dbs := []*redis.Client{c, c1}
		for _, v := range values {
			read := func(db int, key string) (any, string, string) {
				t.Helper()
				cn := dbs[db]
				got, err := cn.Do(ctx, with(v.read, key)...).Result()
				if err != nil {
					t.Fatalf("%s: %v: %v", v.name, v.read, err)
				}
				enc, _ := cn.ObjectEncoding(ctx, key).Result()
				typ, _ := cn.Type(ctx, key).Result()
				return got, enc, typ
			}

			// Created and copied in one pipeline, then copied again.
			src := "src:" + v.name
			p := c.Pipeline()
			v.make(p, src)
			p.Expire(ctx, src, 1000e9)
			cp := p.Copy(ctx, src, "piped:"+v.name, 0, false)
			if _, err := p.Exec(ctx); err != nil || cp.Val() != 1 {
				t.Fatalf("%s: pipelined COPY = %d, %v", v.name, cp.Val(), err)
			}
			want, wantEnc, _ := read(0, src)
			wantInt(t, c, 1, "copy", src, "dst:"+v.name)
			set(t, c, "other:"+v.name, "a string")
			wantInt(t, c, 0, "copy", src, "other:"+v.name)
			wantInt(t, c, 1, "copy", src, "other:"+v.name, "replace")
			set(t, c1, "dst:"+v.name, "a string")
			wantInt(t, c, 1, "copy", src, "dst:"+v.name, "db", 1, "replace")

			for _, at := range []struct {
				db  int
				key string
			}{{0, "piped:" + v.name}, {0, "dst:" + v.name}, {0, "other:" + v.name}, {1, "dst:" + v.name}} {
				got, enc, typ := read(at.db, at.key)
				if typ != v.typ || enc != wantEnc || !reflect.DeepEqual(got, want) {
					t.Fatalf("%s: copy %d/%s: type %s, encoding %s (want %s), equal contents %v",
						v.name, at.db, at.key, typ, enc, wantEnc, reflect.DeepEqual(got, want))
				}
			}
			if ttl := c.TTL(ctx, "dst:"+v.name).Val(); ttl <= 0 {
				t.Fatalf("%s: copy lost the expiry: TTL %v", v.name, ttl)
			}

			// The copy is independent of its source.
			if err := c.Do(ctx, with(v.change, "dst:"+v.name)...).Err(); err != nil {
				t.Fatalf("%s: %v: %v", v.name, v.change, err)
			}
			if got, _, _ := read(0, src); !reflect.DeepEqual(got, want) {
				t.Fatalf("%s: writing the copy changed the source", v.name)
			}
			if got, _, _ := read(0, "dst:"+v.name); reflect.DeepEqual(got, want) {
				t.Fatalf("%s: %v did not change the copy", v.name, v.change)
			}
		}
	})
}
