package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/redis/go-redis/v9"
)

// The scripts the scripting benchmark runs with EVALSHA: one command, and
// ten commands on the same key.
var benchScripts = []struct{ name, body string }{
	{"EVALSHA INCR", "return redis.call('INCR', KEYS[1])"},
	{"EVALSHA 10 commands", "for i = 1, 5 do redis.call('INCR', KEYS[1]) end\n" +
		"for i = 1, 4 do redis.call('GET', KEYS[1]) end\n" +
		"return redis.call('INCR', KEYS[1])"},
}

// scriptingBench runs EVALSHA of each script on random keys, at each
// pipeline depth, against Shoal and redis-server in alternating rounds.
func scriptingBench(o *options, bin, work string) ([]result, error) {
	const fsync = "everysec"
	var out []result
	for _, pipe := range o.pipelines {
		samples := map[string]map[string][]sample{"shoal": {}, "redis": {}}
		err := alternate(o.rounds, []string{"shoal", "redis"}, func(round int, name string) error {
			progress("scripting P=%d round %d/%d: %s", pipe, round+1, o.rounds, name)
			port, err := freePort()
			if err != nil {
				return err
			}
			p, err := startServer(o, name, bin, filepath.Join(work, fmt.Sprintf("script-%s-%d-%d", name, pipe, round)), fsync, port)
			if err != nil {
				return err
			}
			defer p.stop()
			for _, sc := range benchScripts {
				c := redis.NewClient(&redis.Options{Addr: addrOf(port), DisableIdentity: true})
				sha, err := c.ScriptLoad(context.Background(), sc.body).Result()
				c.Close()
				if err != nil {
					return fmt.Errorf("%s: SCRIPT LOAD: %w", name, err)
				}
				n := o.n16
				if pipe == 1 {
					n = o.n1
				}
				s, err := benchmark(o, port, n, 3, pipe, "", "EVALSHA", sha, "1", "key:__rand_int__")
				if err != nil {
					return fmt.Errorf("%s %s: %w", name, sc.name, err)
				}
				samples[name][sc.name] = append(samples[name][sc.name], s)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		for _, sc := range benchScripts {
			out = append(out, result{fsync: fsync, test: sc.name, pipeline: pipe, size: 3,
				shoal: median(samples["shoal"][sc.name]), redis: median(samples["redis"][sc.name])})
		}
	}
	return out, nil
}
