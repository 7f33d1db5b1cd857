package server_test

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
	"github.com/shoaldb/shoal/server"
)

// moveJob is a job queue's claim step: take the oldest job id off the
// waiting list, put it in the running set scored by its deadline, and
// count the claim in the job's hash, all at once.
const moveJob = `
local id = redis.call('RPOP', KEYS[1])
if not id then return false end
redis.call('ZADD', KEYS[2], ARGV[1], id)
redis.call('HINCRBY', KEYS[3] .. id, 'claims', 1)
redis.call('HSET', KEYS[3] .. id, 'worker', ARGV[2])
return id`

// finishJob moves a job from the running set to the done list.
const finishJob = `
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return redis.error_reply('NOTRUNNING ' .. ARGV[1]) end
redis.call('LPUSH', KEYS[2], ARGV[1])
return 1`

// TestScriptJobQueue runs a job queue's scripts from concurrent workers:
// every job is claimed and finished exactly once, and no reader ever sees
// a job in two places or in none.
func TestScriptJobQueue(t *testing.T) {
	s := testutil.Start(t, nil)
	ctx := testutil.Ctx(t)
	c := testutil.Client(t, s, 2)
	const jobs = 2000
	for i := 0; i < jobs; i += 100 {
		ids := make([]any, 100)
		for j := range ids {
			ids[j] = strconv.Itoa(i + j)
		}
		c.LPush(ctx, "waiting", ids...)
	}
	claim, finish := redis.NewScript(moveJob), redis.NewScript(finishJob)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			wc := testutil.Client(t, s, 2+w%2)
			for {
				id, err := claim.Run(ctx, wc, []string{"waiting", "running", "job:"}, 1e12, "w"+strconv.Itoa(w)).Text()
				if errors.Is(err, redis.Nil) {
					return
				}
				if err != nil {
					errs <- err
					return
				}
				if err := finish.Run(ctx, wc, []string{"running", "done"}, id).Err(); err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	// A reader checks the invariant while the workers run: the three
	// places together hold every job, in one transaction.
	stop := make(chan struct{})
	var readerErr error
	var rwg sync.WaitGroup
	rwg.Add(1)
	go func() {
		defer rwg.Done()
		check := redis.NewScript(`return redis.call('LLEN', KEYS[1]) + redis.call('ZCARD', KEYS[2]) + redis.call('LLEN', KEYS[3])`)
		for {
			select {
			case <-stop:
				return
			default:
			}
			n, err := check.Run(ctx, c, []string{"waiting", "running", "done"}).Int()
			if err != nil || n != jobs {
				readerErr = fmt.Errorf("jobs seen = %d, %v; want %d", n, err, jobs)
				return
			}
		}
	}()
	wg.Wait()
	close(stop)
	rwg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if readerErr != nil {
		t.Fatal(readerErr)
	}
	done, _ := c.LRange(ctx, "done", 0, -1).Result()
	seen := map[string]bool{}
	for _, id := range done {
		if seen[id] {
			t.Fatalf("job %s finished twice", id)
		}
		seen[id] = true
	}
	if len(seen) != jobs {
		t.Fatalf("%d jobs finished, want %d", len(seen), jobs)
	}
	for i := 0; i < jobs; i += 97 {
		if n, _ := c.HGet(ctx, "job:"+strconv.Itoa(i), "claims").Int(); n != 1 {
			t.Fatalf("job %d claimed %d times", i, n)
		}
	}
}

// moveSrc moves one unit from a to b, naming neither.
const moveSrc = `
local a = tonumber(redis.call('GET', 'a') or '0')
redis.call('SET', 'a', a - 1)
local b = tonumber(redis.call('GET', 'b') or '0')
redis.call('SET', 'b', b + 1)
return a - 1 + b + 1`

// TestScriptUndeclaredKeysAtomic runs scripts that write keys they did not
// declare, against each other and against plain commands on the same
// keys: each script's read-modify-writes stay whole.
func TestScriptUndeclaredKeysAtomic(t *testing.T) {
	s := testutil.Start(t, nil)
	ctx := testutil.Ctx(t)
	c := testutil.Client(t, s, 2)
	move := redis.NewScript(moveSrc)
	var wg sync.WaitGroup
	const workers, rounds = 6, 300
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			wc := testutil.Client(t, s, 2)
			for i := 0; i < rounds; i++ {
				if w%3 == 0 {
					// A plain command on one of the keys, pipelined with
					// a script, so the connection holds locks going in.
					pipe := wc.Pipeline()
					pipe.IncrBy(ctx, "c", 1)
					pipe.Eval(ctx, moveSrc, nil)
					if _, err := pipe.Exec(ctx); err != nil {
						t.Error(err)
						return
					}
					continue
				}
				if err := move.Run(ctx, wc, nil).Err(); err != nil {
					t.Error(err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	a, _ := c.Get(ctx, "a").Int()
	b, _ := c.Get(ctx, "b").Int()
	if a != -workers*rounds || b != workers*rounds {
		t.Fatalf("a = %d, b = %d, want %d and %d", a, b, -workers*rounds, workers*rounds)
	}
}

// TestScriptBusyAndKill runs a script past busy-reply-threshold: other
// clients get BUSY, FUNCTION KILL refuses it, SCRIPT KILL stops it; one
// that wrote cannot be killed and finishes.
func TestScriptBusyAndKill(t *testing.T) {
	cfg := testutil.Config(t)
	cfg.BusyReplyThreshold = 100
	s := testutil.Start(t, cfg)
	ctx := testutil.Ctx(t)
	c := testutil.Client(t, s, 2)
	other := testutil.Client(t, s, 2)

	if err := other.Do(ctx, "SCRIPT", "KILL").Err(); err == nil || err.Error() != "NOTBUSY No scripts in execution right now." {
		t.Fatalf("SCRIPT KILL with nothing running: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Eval(ctx, "while true do end", nil).Err() }()
	waitBusy(t, other, "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.")
	if err := other.Do(ctx, "FUNCTION", "KILL").Err(); err == nil || !strings.HasPrefix(err.Error(), "BUSY Redis is busy running a script. You can only call SCRIPT KILL") {
		t.Fatalf("FUNCTION KILL of a script: %v", err)
	}
	if err := other.Do(ctx, "SCRIPT", "KILL").Err(); err != nil {
		t.Fatalf("SCRIPT KILL: %v", err)
	}
	err := <-done
	if err == nil || !strings.HasPrefix(err.Error(), "ERR Script killed by user with SCRIPT KILL...") {
		t.Fatalf("killed script replied %v", err)
	}
	if v, err := other.Ping(ctx).Result(); err != nil || v != "PONG" {
		t.Fatalf("PING after the kill: %q, %v", v, err)
	}

	// A script that wrote runs to its end (three seconds: time enough to
	// see it busy and refuse to kill it).
	go func() {
		done <- c.Eval(ctx, "redis.call('SET', KEYS[1], 'x') local t = redis.call('TIME') while true do local n = redis.call('TIME') if n[1] - t[1] >= 3 then break end end return 'finished'", []string{"w"}).Err()
	}()
	waitBusy(t, other, "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.")
	if err := other.Do(ctx, "SCRIPT", "KILL").Err(); err == nil || !strings.HasPrefix(err.Error(), "UNKILLABLE Sorry the script already executed write commands") {
		t.Fatalf("SCRIPT KILL of a writer: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("writer: %v", err)
	}
	if v, _ := other.Get(ctx, "w").Result(); v != "x" {
		t.Fatalf("the writer's write: %q", v)
	}

	// A function: FUNCTION STATS names it and shows the caller's command,
	// as Redis does; FUNCTION KILL stops it.
	if err := c.FunctionLoad(ctx, "#!lua name=spin\nredis.register_function('spin', function() while true do end end)").Err(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- c.Do(ctx, "FCALL", "spin", 0).Err() }()
	waitBusy(t, other, "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.")
	stats, err := other.Do(ctx, "FUNCTION", "STATS").Slice()
	if err != nil || !strings.HasPrefix(fmt.Sprint(stats[1]), "[name spin command [FCALL spin 0] duration_ms ") {
		t.Fatalf("FUNCTION STATS = %v, %v", stats, err)
	}
	if err := other.Do(ctx, "FUNCTION", "KILL").Err(); err != nil {
		t.Fatalf("FUNCTION KILL: %v", err)
	}
	if err := <-done; err == nil || !strings.Contains(err.Error(), "Script killed by user") {
		t.Fatalf("killed function replied %v", err)
	}
	// The interpreter the kill stopped loads libraries again.
	for range 3 {
		if err := c.FunctionLoadReplace(ctx, "#!lua name=spin\nredis.register_function('spin', function() return 1 end)").Err(); err != nil {
			t.Fatalf("FUNCTION LOAD after a kill: %v", err)
		}
	}
}

// waitBusy waits until c's commands are refused with want.
func waitBusy(t *testing.T, c *redis.Client, want string) {
	t.Helper()
	ctx := testutil.Ctx(t)
	eventuallyTrue(t, "BUSY", func() bool {
		err := c.Get(ctx, "any").Err()
		return err != nil && err.Error() == want
	})
}

// TestScriptReplication checks that a script's effects reach two
// replicas, that a replica never sees part of a script, and that
// libraries reach replicas by full and partial sync and survive a
// restart.
func TestScriptReplication(t *testing.T) {
	cfg := testutil.Config(t)
	p := testutil.Start(t, cfg)
	pc := testutil.Client(t, p, 2)
	ctx := testutil.Ctx(t)
	if err := pc.FunctionLoad(ctx, "#!lua name=counters\nredis.register_function('bump', function(keys, args) redis.call('INCR', keys[1]) return redis.call('INCR', keys[2]) end)").Err(); err != nil {
		t.Fatal(err)
	}
	r1 := startReplica(t, p)
	r2 := startReplica(t, p)
	// A reader on a replica checks that the two counters always match.
	rc := testutil.Client(t, r1, 2)
	stop := make(chan struct{})
	var mismatch error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			// Each script increments a, then b. Read a, then b: with
			// whole scripts b can only have moved on, never lag.
			a, _ := rc.Get(ctx, "{c}a").Int()
			b, _ := rc.Get(ctx, "{c}b").Int()
			if a > b {
				mismatch = fmt.Errorf("replica saw a = %d after b = %d: half a script", a, b)
				return
			}
		}
	}()
	for i := 0; i < 500; i++ {
		if err := pc.FCall(ctx, "bump", []string{"{c}a", "{c}b"}).Err(); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			pc.Eval(ctx, "redis.call('INCR', KEYS[1]) return redis.call('INCR', KEYS[2])", []string{"{c}a", "{c}b"})
		}
	}
	if n, err := pc.Do(ctx, "WAIT", 2, 10000).Int(); err != nil || n != 2 {
		t.Fatalf("WAIT 2 = %d, %v", n, err)
	}
	close(stop)
	wg.Wait()
	if mismatch != nil {
		t.Fatal(mismatch)
	}
	for _, r := range []*server.Server{r1, r2} {
		c := testutil.Client(t, r, 3)
		if v, _ := c.Get(ctx, "{c}b").Result(); v != "750" {
			t.Fatalf("replica counter = %q, want 750", v)
		}
		// The library came with the full sync. A writer's declared flags
		// make FCALL_RO a write, which a read-only replica refuses first,
		// as redis-server 7.0.15 does.
		if v, err := c.FCallRO(ctx, "bump", []string{"x", "y"}).Result(); err == nil || err.Error() != "READONLY You can't write against a read only replica." {
			t.Fatalf("FCALL_RO on replica = %v, %v", v, err)
		}
		if err := c.FCall(ctx, "bump", []string{"x", "y"}).Err(); err == nil || err.Error() != "READONLY You can't write against a read only replica." {
			t.Fatalf("FCALL of a writer on a replica: %v", err)
		}
		if err := c.Eval(ctx, "return redis.call('SET', 'x', 1)", nil).Err(); err == nil || !strings.HasPrefix(err.Error(), "READONLY You can't write against a read only replica.") {
			t.Fatalf("EVAL writing on a replica: %v", err)
		}
		if v, err := c.EvalRO(ctx, "return redis.call('GET', KEYS[1])", []string{"{c}a"}).Result(); err != nil || v != "750" {
			t.Fatalf("EVAL_RO on a replica = %v, %v", v, err)
		}
	}
	// A library loaded now reaches the replicas through the stream.
	if err := pc.FunctionLoad(ctx, "#!lua name=echo\nredis.register_function{function_name='echo', callback=function(keys, args) return args[1] end, flags={'no-writes'}}").Err(); err != nil {
		t.Fatal(err)
	}
	for _, r := range []*server.Server{r1, r2} {
		c := testutil.Client(t, r, 2)
		eventuallyTrue(t, "library on replica", func() bool {
			v, err := c.FCallRO(ctx, "echo", nil, "hi").Result()
			return err == nil && v == "hi"
		})
	}
	// And survives a restart of the primary.
	p.Close()
	p2 := testutil.Start(t, cfg)
	libs, err := testutil.Client(t, p2, 2).FunctionList(ctx, redis.FunctionListQuery{}).Result()
	if err != nil || len(libs) != 2 {
		t.Fatalf("libraries after restart = %v, %v", libs, err)
	}
}

// TestScriptInMulti runs scripts inside MULTI/EXEC, and a script calling
// a blocking command, which answers at once (BLMPOP; Redis 7.0 refuses
// BLPOP and WAIT in scripts).
func TestScriptInMulti(t *testing.T) {
	s := testutil.Start(t, nil)
	ctx := testutil.Ctx(t)
	c := testutil.Client(t, s, 2)
	res, err := c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, "m", 1, 0)
		p.Eval(ctx, "return redis.call('INCR', KEYS[1]) + redis.call('INCR', 'undeclared')", []string{"m"})
		p.Get(ctx, "m")
		return nil
	})
	if err != nil || res[1].(*redis.Cmd).Val() != int64(3) || res[2].(*redis.StringCmd).Val() != "2" {
		t.Fatalf("EXEC = %v, %v", res, err)
	}
	info, _ := c.Info(ctx, "memory").Result()
	if !strings.Contains(info, "number_of_cached_scripts:1\r\n") {
		t.Fatalf("INFO memory after one EVAL:\n%s", info)
	}
	// BLMPOP with no timeout would block forever if it blocked here.
	v, err := c.Eval(ctx, "return {1, redis.call('BLMPOP', 0, 1, 'empty', 'LEFT'), 2}", nil).Result()
	if err != nil || fmt.Sprint(v) != "[1 <nil> 2]" {
		t.Fatalf("BLMPOP in a script = %v, %v", v, err)
	}
}
