package testcluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/internal/failpoint"
)

const (
	// clientTimeout bounds a node client's dials, reads and writes, so a
	// frozen or partitioned node fails a command instead of hanging it.
	clientTimeout = 2 * time.Second
	// startTimeout bounds how long Start waits for PING to answer.
	startTimeout = 20 * time.Second
	// stopTimeout bounds how long Stop waits after SIGTERM before SIGKILL.
	stopTimeout = 10 * time.Second
)

// Node is one Shoal process of a Cluster. Its ports and data folder stay
// the same across Kill, Stop and Restart. The methods are safe for
// concurrent use, but a node must not be started and killed at the same
// time from two goroutines.
type Node struct {
	// ID is the node's index in Cluster.Nodes.
	ID int
	// Dir is the node's data folder ("dir"); its log is Dir/shoal.log.
	Dir string
	// Port is the RESP port; BusPort the gossip port, TCP and UDP
	// ("cluster-port"); CatalogPort the catalog's port
	// ("cluster-catalog-port"). Plain nodes have the last two reserved but
	// do not listen on them.
	Port, BusPort, CatalogPort int

	c      *Cluster
	bin    string
	args   []string
	env    string // SHOAL_FAILPOINTS
	client *redis.Client

	mu struct {
		sync.Mutex
		cmd    *exec.Cmd
		exited chan struct{} // closed when cmd has been waited for
		ready  bool          // answered PING since the last start
		frozen bool
		stale  bool // the network faults changed while frozen
		// sent are the signals the harness sent the running process,
		// named in the line its exit adds to the log.
		sent []string
	}
}

func newNode(c *Cluster, id int, dir, bin string, p nodePorts, env string) *Node {
	n := &Node{ID: id, Dir: dir, Port: p.resp, BusPort: p.bus, CatalogPort: p.catalog, c: c, bin: bin, env: env}
	n.client = redis.NewClient(&redis.Options{
		Addr:                  n.Addr(),
		DialTimeout:           clientTimeout,
		ReadTimeout:           clientTimeout,
		WriteTimeout:          clientTimeout,
		ContextTimeoutEnabled: true,
		MaxRetries:            -1,
		DisableIdentity:       true,
	})
	return n
}

// Addr returns the node's RESP address, "127.0.0.1:port".
func (n *Node) Addr() string { return addr(n.Port) }

func addr(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

// Client returns the node's client, shared by all callers and closed at
// the end of the test. It does not retry, and its dials, reads and writes
// time out after 2 s; a context deadline shortens them.
func (n *Node) Client() *redis.Client { return n.client }

// Do sends one command to the node through Client.
func (n *Node) Do(ctx context.Context, args ...any) *redis.Cmd {
	return n.client.Do(ctx, args...)
}

// Args returns the command-line arguments the node starts with.
func (n *Node) Args() []string { return append([]string(nil), n.args...) }

// Running reports whether the node's process is alive, frozen or not.
func (n *Node) Running() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.runningLocked()
}

func (n *Node) runningLocked() bool {
	if n.mu.cmd == nil {
		return false
	}
	select {
	case <-n.mu.exited:
		return false
	default:
		return true
	}
}

// Frozen reports whether the node is stopped by Freeze.
func (n *Node) Frozen() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.mu.frozen && n.runningLocked()
}

// Start starts the node's process and waits, at most 20 s, until it
// answers PING; while a partition is in force it then applies this node's
// part of it. It fails when the node is already running or exits early.
func (n *Node) Start() error {
	n.mu.Lock()
	if n.runningLocked() {
		n.mu.Unlock()
		return fmt.Errorf("testcluster: node %d is already running", n.ID)
	}
	out, err := os.OpenFile(n.outPath(), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		n.mu.Unlock()
		return err
	}
	cmd := exec.Command(n.bin, n.args...)
	cmd.Dir = n.Dir
	cmd.Env = append(os.Environ(), failpoint.EnvVar+"="+n.env)
	if race {
		// A race stops the node at once, so the test sees it fail.
		cmd.Env = append(cmd.Env, "GORACE=halt_on_error=1")
	}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		out.Close()
		n.mu.Unlock()
		return fmt.Errorf("testcluster: start node %d: %w", n.ID, err)
	}
	exited := make(chan struct{})
	go func() {
		status := "exit status 0"
		if err := cmd.Wait(); err != nil {
			status = err.Error()
		}
		n.mu.Lock()
		sent := strings.Join(n.mu.sent, ", ")
		n.mu.Unlock()
		if sent == "" {
			sent = "none"
		}
		// NB: an exit the harness did not cause (a crash, a signal from
		// elsewhere) shows in the log the test prints.
		fmt.Fprintf(out, "testcluster: node %d exited (%s); signals sent by the harness: %s\n", n.ID, status, sent)
		out.Close()
		close(exited)
	}()
	n.mu.cmd, n.mu.exited, n.mu.sent = cmd, exited, nil
	n.mu.ready, n.mu.frozen, n.mu.stale = false, false, false
	n.mu.Unlock()

	if err := n.waitReady(exited); err != nil {
		return err
	}
	n.mu.Lock()
	n.mu.ready = true
	n.mu.Unlock()
	if drops := n.c.dropsFor(n); len(drops) > 0 {
		return n.applyFaults(drops)
	}
	return nil
}

// waitReady polls PING until it answers, the process exits or
// startTimeout passes.
func (n *Node) waitReady(exited <-chan struct{}) error {
	deadline := time.Now().Add(startTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		err := n.client.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("testcluster: node %d exited before answering PING:\n%s", n.ID, tail(n.Log(), 30))
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("testcluster: node %d did not answer PING in %v: %v\n%s", n.ID, startTimeout, err, tail(n.Log(), 30))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Restart starts the node again with the same arguments, environment and
// data folder; it is Start under the name tests read best.
func (n *Node) Restart() error { return n.Start() }

// Kill ends the node with SIGKILL, thawing it first if frozen, and waits
// for the process to exit. It does nothing when the node is not running.
func (n *Node) Kill() {
	if _, exited, ok := n.signal(syscall.SIGKILL); ok {
		<-exited
	}
}

// Stop asks the node to shut down with SIGTERM, thawing it first if
// frozen, and waits for it to exit; after 10 s it kills it with SIGKILL.
// It does nothing when the node is not running.
func (n *Node) Stop() {
	cmd, exited, ok := n.signal(syscall.SIGTERM)
	if !ok {
		return
	}
	select {
	case <-exited:
	case <-time.After(stopTimeout):
		n.mu.Lock()
		n.mu.sent = append(n.mu.sent, syscall.SIGKILL.String())
		n.mu.Unlock()
		cmd.Process.Kill()
		<-exited
	}
}

// signal sends sig to the running node, thawing it first if frozen; ok
// is false when the node is not running. exited closes when it exits.
func (n *Node) signal(sig syscall.Signal) (cmd *exec.Cmd, exited <-chan struct{}, ok bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.runningLocked() {
		return nil, nil, false
	}
	cmd, exited = n.mu.cmd, n.mu.exited
	if n.mu.frozen {
		n.sendLocked(syscall.SIGCONT)
		n.mu.frozen = false
	}
	n.sendLocked(sig)
	return cmd, exited, true
}

// sendLocked sends sig to the running process and notes it.
func (n *Node) sendLocked(sig syscall.Signal) {
	n.mu.sent = append(n.mu.sent, sig.String())
	n.mu.cmd.Process.Signal(sig)
}

// Freeze suspends the node with SIGSTOP and waits, at most 2 s, until
// all its threads are stopped: its sockets stay open, nothing answers, as
// a node stalled by a long pause. It fails the test (t.Errorf) when the
// stop is not observed.
func (n *Node) Freeze() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if !n.runningLocked() || n.mu.frozen {
		return
	}
	n.sendLocked(syscall.SIGSTOP)
	n.mu.frozen = true
	if !waitStopped(n.mu.cmd.Process.Pid, 2*time.Second) && n.runningLocked() {
		n.c.t.Errorf("testcluster: node %d did not stop within 2 s of SIGSTOP", n.ID)
	}
}

// Thaw resumes a frozen node with SIGCONT. When the partition changed
// while it was frozen, Thaw brings the node up to date with it, failing
// the test if the node does not accept the change.
func (n *Node) Thaw() {
	n.mu.Lock()
	if !n.runningLocked() || !n.mu.frozen {
		n.mu.Unlock()
		return
	}
	n.sendLocked(syscall.SIGCONT)
	n.mu.frozen = false
	stale := n.mu.stale
	n.mu.stale = false
	n.mu.Unlock()
	if stale {
		if err := n.applyFaults(n.c.dropsFor(n)); err != nil {
			n.c.t.Errorf("%v", err)
		}
	}
}

// applyFaults replaces the addresses the node drops traffic to; none heals.
func (n *Node) applyFaults(drops []string) error {
	args := []any{"DEBUG", "NETFAULT", "HEAL"}
	if len(drops) > 0 {
		args = []any{"DEBUG", "NETFAULT", "DROP"}
		for _, d := range drops {
			args = append(args, d)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	if err := n.client.Do(ctx, args...).Err(); err != nil {
		return fmt.Errorf("testcluster: node %d: %s: %w", n.ID, strings.Join(strings.Fields(fmt.Sprint(args...)), " "), err)
	}
	return nil
}

// updateFaults applies drops to a running node, or, for a frozen one,
// marks them for Thaw; a stopped or starting node picks them up in Start.
func (n *Node) updateFaults(drops []string) error {
	n.mu.Lock()
	if !n.runningLocked() || !n.mu.ready {
		n.mu.Unlock()
		return nil
	}
	if n.mu.frozen {
		n.mu.stale = true
		n.mu.Unlock()
		return nil
	}
	n.mu.Unlock()
	return n.applyFaults(drops)
}

// Log returns the node's log file followed by anything the process wrote
// to standard output or error (a panic, say).
func (n *Node) Log() string {
	b, _ := os.ReadFile(n.logPath())
	if out, _ := os.ReadFile(n.outPath()); len(out) > 0 {
		b = append(b, "--- stdout/stderr ---\n"...)
		b = append(b, out...)
	}
	return string(b)
}

func (n *Node) logPath() string { return filepath.Join(n.Dir, "shoal.log") }
func (n *Node) outPath() string { return filepath.Join(n.Dir, "shoal.out") }

// tail returns the last lines of s.
func tail(s string, lines int) string {
	s = strings.TrimRight(s, "\n")
	i := len(s)
	for range lines {
		j := strings.LastIndexByte(s[:i], '\n')
		if j < 0 {
			return s
		}
		i = j
	}
	return s[i+1:]
}
