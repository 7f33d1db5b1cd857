package server_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
)

// do runs one command on a single connection and returns its result and
// error text ("" when none).
func do(ctx context.Context, cn *redis.Conn, args ...any) (any, string) {
	v, err := cn.Do(ctx, args...).Result()
	if err != nil && err != redis.Nil {
		return v, err.Error()
	}
	return v, ""
}

func wantErrText(t *testing.T, got, want string) {
	t.Helper()
	if got != want {
		t.Fatalf("error %q, want %q", got, want)
	}
}

func TestMultiErrors(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		ctx := testutil.Ctx(t)
		cn := c.Conn()
		defer cn.Close()

		_, e := do(ctx, cn, "exec")
		wantErrText(t, e, "ERR EXEC without MULTI")
		_, e = do(ctx, cn, "discard")
		wantErrText(t, e, "ERR DISCARD without MULTI")

		// Unknown command while queueing: EXEC aborts, nothing runs.
		do(ctx, cn, "multi")
		_, e = do(ctx, cn, "nosuchcmd", "x")
		wantErrText(t, e, "ERR unknown command 'nosuchcmd', with args beginning with: 'x' ")
		if v, _ := do(ctx, cn, "set", "k", "1"); v != "QUEUED" {
			t.Fatalf("SET in MULTI = %v", v)
		}
		_, e = do(ctx, cn, "exec")
		wantErrText(t, e, "EXECABORT Transaction discarded because of previous errors.")
		if err := c.Get(ctx, "k").Err(); err != redis.Nil {
			t.Fatalf("GET k after EXECABORT = %v, want nil", err)
		}

		// Wrong arity while queueing.
		do(ctx, cn, "multi")
		_, e = do(ctx, cn, "get")
		wantErrText(t, e, "ERR wrong number of arguments for 'get' command")
		_, e = do(ctx, cn, "exec")
		wantErrText(t, e, "EXECABORT Transaction discarded because of previous errors.")

		// Nested MULTI and WATCH inside MULTI are refused but do not
		// abort the transaction, as in Redis.
		do(ctx, cn, "multi")
		_, e = do(ctx, cn, "multi")
		wantErrText(t, e, "ERR MULTI calls can not be nested")
		_, e = do(ctx, cn, "watch", "k")
		wantErrText(t, e, "ERR WATCH inside MULTI is not allowed")
		do(ctx, cn, "set", "k", "2")
		v, e := do(ctx, cn, "exec")
		wantErrText(t, e, "")
		if a, ok := v.([]any); !ok || len(a) != 1 || a[0] != "OK" {
			t.Fatalf("EXEC = %#v", v)
		}

		// DISCARD drops the queue.
		do(ctx, cn, "multi")
		do(ctx, cn, "set", "k", "3")
		if v, _ := do(ctx, cn, "discard"); v != "OK" {
			t.Fatalf("DISCARD = %v", v)
		}
		if v, _ := c.Get(ctx, "k").Result(); v != "2" {
			t.Fatalf("GET k after DISCARD = %q, want 2", v)
		}
	})
}

// TestExecRuntimeErrors checks that errors raised while EXEC runs appear
// in place in its reply while the other commands run.
func TestExecRuntimeErrors(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		ctx := testutil.Ctx(t)
		var set1, bad1, bad2 *redis.StatusCmd
		var get *redis.StringCmd
		_, err := c.TxPipelined(ctx, func(p redis.Pipeliner) error {
			set1 = p.Set(ctx, "a", "1", 0)
			bad1 = redis.NewStatusCmd(ctx, "set", "b", "v", "ex", "-1")
			p.Process(ctx, bad1)
			bad2 = redis.NewStatusCmd(ctx, "set", "b", "v", "ex", "x")
			p.Process(ctx, bad2)
			get = p.Get(ctx, "a")
			return nil
		})
		if err == nil {
			t.Fatal("TxPipelined reported no error")
		}
		if set1.Val() != "OK" || get.Val() != "1" {
			t.Fatalf("SET = %v, GET = %v", set1, get)
		}
		if bad1.Err() == nil || bad1.Err().Error() != "ERR invalid expire time in 'set' command" {
			t.Fatalf("SET EX -1 = %v", bad1.Err())
		}
		if bad2.Err() == nil || bad2.Err().Error() != "ERR value is not an integer or out of range" {
			t.Fatalf("SET EX x = %v", bad2.Err())
		}
		if err := c.Get(ctx, "b").Err(); err != redis.Nil {
			t.Fatalf("GET b = %v, want nil", err)
		}
	})
}

// setInTx is a WATCH transaction that sets key to val.
func setInTx(ctx context.Context, key, val string) func(tx *redis.Tx) error {
	return func(tx *redis.Tx) error {
		_, err := tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, key, val, 0)
			return nil
		})
		return err
	}
}

func TestWatch(t *testing.T) {
	testutil.Both(t, func(t *testing.T, c *redis.Client) {
		ctx := testutil.Ctx(t)
		other := redis.NewClient(&redis.Options{Addr: c.Options().Addr, Protocol: c.Options().Protocol, DisableIdentity: true})
		defer other.Close()

		t.Run("other client writes", func(t *testing.T) {
			err := c.Watch(ctx, func(tx *redis.Tx) error {
				if err := other.Set(ctx, "w1", "other", 0).Err(); err != nil {
					return err
				}
				return setInTx(ctx, "w1", "mine")(tx)
			}, "w1")
			if err != redis.TxFailedErr {
				t.Fatalf("EXEC after another client's write: %v, want %v", err, redis.TxFailedErr)
			}
			if v, _ := c.Get(ctx, "w1").Result(); v != "other" {
				t.Fatalf("w1 = %q", v)
			}
		})

		t.Run("own write", func(t *testing.T) {
			err := c.Watch(ctx, func(tx *redis.Tx) error {
				if err := tx.Set(ctx, "w2", "own", 0).Err(); err != nil {
					return err
				}
				return setInTx(ctx, "w2", "tx")(tx)
			}, "w2")
			if err != redis.TxFailedErr {
				t.Fatalf("EXEC after own write: %v, want %v", err, redis.TxFailedErr)
			}
		})

		t.Run("key expires", func(t *testing.T) {
			if err := c.Set(ctx, "w3", "v", 200*time.Millisecond).Err(); err != nil {
				t.Fatal(err)
			}
			err := c.Watch(ctx, func(tx *redis.Tx) error {
				// Wait, polling from another client, until the key is gone.
				deadline := time.Now().Add(10 * time.Second)
				for other.Get(ctx, "w3").Err() != redis.Nil {
					if time.Now().After(deadline) {
						t.Fatal("w3 did not expire")
					}
					time.Sleep(10 * time.Millisecond)
				}
				return setInTx(ctx, "other", "x")(tx)
			}, "w3")
			if err != redis.TxFailedErr {
				t.Fatalf("EXEC after the watched key expired: %v, want %v", err, redis.TxFailedErr)
			}
		})

		t.Run("missing key stays missing", func(t *testing.T) {
			err := c.Watch(ctx, func(tx *redis.Tx) error {
				if err := other.Set(ctx, "unrelated", "x", 0).Err(); err != nil {
					return err
				}
				return setInTx(ctx, "w4", "set")(tx)
			}, "w4", "w5")
			if err != nil {
				t.Fatalf("EXEC with untouched watched keys: %v", err)
			}
			if v, _ := c.Get(ctx, "w4").Result(); v != "set" {
				t.Fatalf("w4 = %q", v)
			}
		})

		t.Run("unwatch", func(t *testing.T) {
			err := c.Watch(ctx, func(tx *redis.Tx) error {
				if err := other.Set(ctx, "w6", "other", 0).Err(); err != nil {
					return err
				}
				if err := tx.Unwatch(ctx).Err(); err != nil {
					return err
				}
				return setInTx(ctx, "w6", "mine")(tx)
			}, "w6")
			if err != nil {
				t.Fatalf("EXEC after UNWATCH: %v", err)
			}
		})

		t.Run("exec clears the watch", func(t *testing.T) {
			cn := c.Conn()
			defer cn.Close()
			do(ctx, cn, "watch", "w7")
			other.Set(ctx, "w7", "x", 0)
			if v, e := do(ctx, cn, "exec"); e != "ERR EXEC without MULTI" {
				t.Fatalf("EXEC = %v, %q", v, e)
			}
			do(ctx, cn, "multi")
			do(ctx, cn, "set", "w7", "y")
			// EXEC without MULTI keeps the watch, as in Redis: this EXEC
			// aborts.
			if v, e := do(ctx, cn, "exec"); e != "" || v != nil {
				t.Fatalf("EXEC = %#v, %q; want nil", v, e)
			}
			do(ctx, cn, "multi")
			do(ctx, cn, "set", "w7", "z")
			if v, e := do(ctx, cn, "exec"); e != "" || v == nil {
				t.Fatalf("second EXEC = %v, %q; the watch should be gone", v, e)
			}
		})
	})
}

// TestExecRefusedWhenStateChangedAsRedis: an EXEC whose queued commands
// write is refused as a whole when, since they were queued, the server
// came to have too few replicas (min-replicas-to-write) or to fail its
// disk checks, as redis-server 7.0.15's processCommand refuses it; the
// queued write does not run, and an EXEC of reads alone still runs.
func TestExecRefusedWhenStateChangedAsRedis(t *testing.T) {
	ctx := testutil.Ctx(t)
	var got []string
	for _, p := range bothPeers(t) {
		var b strings.Builder
		p.c.Set(ctx, "xx", "1", 0)
		other := redis.NewClient(&redis.Options{Addr: p.addr, Protocol: 2})
		defer other.Close()
		conn := p.c.Conn()
		defer conn.Close()
		run := recorder(ctx, conn, &b)
		run("multi")
		run("incr", "xx")
		if err := other.ConfigSet(ctx, "min-replicas-to-write", "2").Err(); err != nil {
			t.Fatal(err)
		}
		run("exec")
		run("get", "xx")
		run("multi")
		run("get", "xx")
		run("exec")
		other.ConfigSet(ctx, "min-replicas-to-write", "0")
		got = append(got, b.String())
	}
	sameOnBoth(t, got)
	if !strings.Contains(got[0], "EXECABORT Transaction discarded because of: NOREPLICAS") {
		t.Fatalf("EXEC ran:\n%s", got[0])
	}
}
