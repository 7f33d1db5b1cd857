package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/testutil"
)

// TestPropagationErrorPanicsAsRedis: under propagation-error-behavior
// panic-on-replicas, a read-only replica stops at the first command of its
// primary's stream that fails, rather than diverge, logging the panic in
// Redis's words; a Shoal replica and a redis-server 7.0.15 replica of the
// same primary both stop, and both say so.
func TestPropagationErrorPanicsAsRedis(t *testing.T) {
	redisBin := testutil.RequireTool(t, "redis-server")
	bin := buildShoal(t)
	primary := testutil.StartRedisServer(t, t.TempDir(), "--enable-debug-command", "yes")
	ctx := testutil.Ctx(t)
	type replica struct {
		cmd  *exec.Cmd
		log  string
		exit chan error
	}
	start := func(name string) replica {
		port, dir := testutil.FreePort(t), t.TempDir()
		logPath := filepath.Join(dir, "log")
		f, err := os.Create(logPath)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		cmd := exec.Command(name, "--port", strconv.Itoa(port), "--dir", dir, "--save", "",
			"--replicaof", "127.0.0.1", strconv.Itoa(primary.Port), "--propagation-error-behavior", "panic-on-replicas")
		cmd.Stdout, cmd.Stderr = f, f
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		r := replica{cmd: cmd, log: logPath, exit: make(chan error, 1)}
		go func() { r.exit <- cmd.Wait() }()
		t.Cleanup(func() { cmd.Process.Kill(); <-r.exit })
		c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", port), DisableIdentity: true})
		defer c.Close()
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if info, err := c.Info(ctx, "replication").Result(); err == nil && infoField(info, "master_link_status") == "up" {
				return r
			}
			if time.Now().After(deadline) {
				b, _ := os.ReadFile(logPath)
				t.Fatalf("%s did not link to its primary:\n%s", name, b)
			}
		}
	}
	replicas := map[string]replica{"shoal": start(bin), "redis": start(redisBin)}
	if err := primary.Client(t, 0).Do(ctx, "DEBUG", "REPLICATE", "fake-command-1").Err(); err != nil {
		t.Fatal(err)
	}
	said := map[string]string{}
	for name, r := range replicas {
		select {
		case err := <-r.exit:
			if err == nil {
				t.Errorf("%s exited with status 0", name)
			}
			r.exit <- err // for the cleanup
		case <-time.After(30 * time.Second):
			t.Fatalf("%s still runs after the failed command", name)
		}
		b, _ := os.ReadFile(r.log)
		said[name] = regexp.MustCompile(`This replica panicked sending an error to its master after processing the command '[^']*'`).FindString(string(b))
	}
	if said["shoal"] == "" || said["shoal"] != said["redis"] {
		t.Fatalf("Shoal said %q, redis-server %q", said["shoal"], said["redis"])
	}
}
