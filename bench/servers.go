package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// proc is a running server under test.
type proc struct {
	name string
	cmd  *exec.Cmd
	port int
	dir  string
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// startShoal starts the Shoal binary with a fresh (or given) data folder;
// extra are more --directive value pairs.
func startShoal(o *options, bin, dir, fsync string, port int, extra ...string) (*proc, error) {
	args := []string{"--port", strconv.Itoa(port), "--dir", dir, "--appendfsync", fsync, "--loglevel", "warning"}
	args = append(append(args, o.shoalArgs...), extra...)
	return start(o, "shoal", bin, args, dir, port)
}

// startRedis starts redis-server with the AOF on, as the comparison asks:
// appendonly yes with the same appendfsync, no RDB snapshots; extra are
// more --directive value pairs.
func startRedis(o *options, dir, fsync string, port int, extra ...string) (*proc, error) {
	args := []string{"--port", strconv.Itoa(port), "--dir", dir, "--appendonly", "yes",
		"--appendfsync", fsync, "--save", "", "--loglevel", "warning", "--bind", "127.0.0.1"}
	args = append(args, extra...)
	return start(o, "redis", "redis-server", args, dir, port)
}

// startServer starts Shoal or redis-server ("shoal" or "redis").
func startServer(o *options, name, bin, dir, fsync string, port int, extra ...string) (*proc, error) {
	if name == "shoal" {
		return startShoal(o, bin, dir, fsync, port, extra...)
	}
	return startRedis(o, dir, fsync, port, extra...)
}

func start(o *options, name, bin string, args []string, dir string, port int) (*proc, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if o.taskset {
		args = append([]string{"-c", "0", bin}, args...)
		bin = "taskset"
	}
	cmd := exec.Command(bin, args...)
	logf, err := os.Create(filepath.Join(dir, "..", name+"-"+strconv.Itoa(port)+".log"))
	if err == nil {
		cmd.Stdout, cmd.Stderr = logf, logf
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, port: port, dir: dir}
	if err := waitPing(port, 60*time.Second); err != nil {
		p.kill()
		return nil, fmt.Errorf("%s did not answer PING: %w", name, err)
	}
	return p, nil
}

// waitPing polls until the server answers PING with PONG.
func waitPing(port int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		if reply, err := command(port, "PING"); err == nil && reply == "+PONG" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no PONG within %s", limit)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// command sends one inline command and returns the first reply line.
func command(port int, cmd string) (string, error) {
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(cmd + "\r\n")); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimRight(line, "\r\n"), err
}

func (p *proc) stop() {
	command(p.port, "SHUTDOWN NOSAVE")
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		p.kill()
	}
}

func (p *proc) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.cmd.Wait()
}

// startFresh starts the server name ("shoal" or "redis") with appendfsync
// everysec on a free port, its data in a new folder of work named after
// what and the port.
func startFresh(o *options, bin, work, name, what string) (*proc, error) {
	return startFreshFsync(o, bin, work, name, what, "everysec")
}

// startFreshFsync is startFresh under appendfsync fsync.
func startFreshFsync(o *options, bin, work, name, what, fsync string) (*proc, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(work, name+"-"+what+"-"+strconv.Itoa(port))
	return startServer(o, name, bin, dir, fsync, port)
}

// rssBytes reads the resident set size of p's process from /proc.
func (p *proc) rssBytes() (int64, error) { return p.status("VmRSS:") }

// peakRSSBytes reads the largest resident set size p's process has had
// (its high-water mark) from /proc.
func (p *proc) peakRSSBytes() (int64, error) { return p.status("VmHWM:") }

// status reads a size field of p's /proc status.
func (p *proc) status(field string) (int64, error) {
	pid := p.cmd.Process.Pid // taskset execs the server: the same pid
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, field) {
			f := strings.Fields(line)
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024, nil
		}
	}
	return 0, fmt.Errorf("no %s for pid %d", field, pid)
}
