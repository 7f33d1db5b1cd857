package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

type memoryResult struct {
	keys                       int
	shoalRSS, redisRSS         int64
	shoalRestart, redisRestart time.Duration
}

// memoryAndRestart loads o.keys keys of 100 bytes into each server, reads
// its RSS, restarts it and times the restart until it answers PING with
// every key present.
func memoryAndRestart(o *options, bin, work string) (*memoryResult, error) {
	res := &memoryResult{keys: o.keys}
	val := make([]byte, 100)
	for i := range val {
		val[i] = 'a' + byte(i%26)
	}
	for _, name := range []string{"shoal", "redis"} {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		dir := filepath.Join(work, name+"-memory")
		startFn := func() (*proc, error) {
			if name == "shoal" {
				return startShoal(o, bin, dir, "everysec", port)
			}
			return startRedis(o, dir, "everysec", port)
		}
		p, err := startFn()
		if err != nil {
			return nil, err
		}
		progress("%s: loading %d keys", name, o.keys)
		if err := load(port, o.keys, func(i int) string { return "key:" + strconv.Itoa(i) }, func(int) []byte { return val }); err != nil {
			p.kill()
			return nil, err
		}
		rss, err := p.rssBytes()
		if err != nil {
			p.kill()
			return nil, err
		}
		progress("%s: RSS %.0f MiB; restarting", name, float64(rss)/(1<<20))
		p.stop()
		t0 := time.Now()
		p, err = startFn()
		if err != nil {
			return nil, err
		}
		if err := waitKeys(port, o.keys); err != nil {
			p.kill()
			return nil, err
		}
		took := time.Since(t0)
		p.stop()
		if name == "shoal" {
			res.shoalRSS, res.shoalRestart = rss, took
		} else {
			res.redisRSS, res.redisRestart = rss, took
		}
	}
	return res, nil
}

// load writes n keys, key(i) holding value(i), from 8 connections in
// pipelines of 1000 SETs.
func load(port, n int, key func(i int) string, value func(i int) []byte) error {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(port), PoolSize: 8})
	defer c.Close()
	ctx := context.Background()
	const batch = 1000
	errs := make(chan error, 8)
	per := (n + 7) / 8
	for w := 0; w < 8; w++ {
		go func(w int) {
			lo, hi := w*per, min((w+1)*per, n)
			for i := lo; i < hi; i += batch {
				pipe := c.Pipeline()
				for j := i; j < min(i+batch, hi); j++ {
					pipe.Set(ctx, key(j), value(j), 0)
				}
				if _, err := pipe.Exec(ctx); err != nil {
					errs <- err
					return
				}
				if w == 0 && (i/batch)%500 == 0 {
					progress("  loaded ~%d", i*8)
				}
			}
			errs <- nil
		}(w)
	}
	for w := 0; w < 8; w++ {
		if err := <-errs; err != nil {
			return err
		}
	}
	return nil
}

// waitKeys polls until the server answers DBSIZE with n.
func waitKeys(port, n int) error {
	deadline := time.Now().Add(30 * time.Minute)
	for time.Now().Before(deadline) {
		reply, err := command(port, "DBSIZE")
		if err == nil && reply == ":"+strconv.Itoa(n) {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("DBSIZE never reached %d", n)
}
