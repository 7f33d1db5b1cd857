package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
	"github.com/redis/go-redis/v9"

	"github.com/shoaldb/shoal/config"
	"github.com/shoaldb/shoal/internal/testutil"
	"github.com/shoaldb/shoal/server"
)

// diskLoad is a write load on a server whose disk is about to fail:
// writers SET unique keys and keep account of what was acknowledged and
// what was refused.
type diskLoad struct {
	t     *testing.T
	addr  string
	value string
	stop  atomic.Bool
	wg    sync.WaitGroup

	mu       sync.Mutex
	acked    map[string]bool // acknowledged SETs
	refused  map[string]bool // SETs answered MISCONF
	misconf  string          // the first MISCONF text
	otherErr error
	// held are the SETs answered MISCONF while in flight at the
	// failure under always: applied, their sync held, so kept or not.
	held map[string]bool
	// unknown is set when the server is about to close under the
	// writers: an error then leaves the outcome unknown.
	unknown atomic.Bool
}

// startDiskLoad starts writers SETting keys of valueBytes bytes on addr,
// a server under appendfsync policy.
func startDiskLoad(t *testing.T, addr, policy string, writers, valueBytes int) *diskLoad {
	l := &diskLoad{t: t, addr: addr, value: strings.Repeat("v", valueBytes), acked: map[string]bool{}, refused: map[string]bool{},
		held: map[string]bool{}}
	for w := range writers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DisableIdentity: true, PoolSize: 1, ReadTimeout: -1, WriteTimeout: -1})
			defer c.Close()
			refusing := false // since the writer's last acknowledged SET
			for i := 0; !l.stop.Load(); i++ {
				key := fmt.Sprintf("w%d-%d", w, i)
				err := c.Set(context.Background(), key, l.value, 0).Err()
				l.mu.Lock()
				switch {
				case err == nil:
					l.acked[key] = true
					refusing = false
				case strings.HasPrefix(err.Error(), "MISCONF ") && policy == "always" && !refusing:
					// NB: the one SET a writer has in flight when the disk
					// fails may have applied and be waiting for its sync.
					l.held[key] = true
					refusing = true
				case strings.HasPrefix(err.Error(), "MISCONF "):
					l.refused[key] = true
					if l.misconf == "" {
						l.misconf = err.Error()
					}
				case l.unknown.Load():
				default:
					l.otherErr = fmt.Errorf("SET %s: %w", key, err)
				}
				stop := err != nil && !strings.HasPrefix(err.Error(), "MISCONF ")
				l.mu.Unlock()
				if stop {
					return
				}
				if err != nil {
					time.Sleep(time.Millisecond) // refused: do not spin
				}
			}
		}()
	}
	return l
}

// finish stops the writers and fails the test if one met an error other
// than MISCONF.
func (l *diskLoad) finish() {
	l.stop.Store(true)
	l.wg.Wait()
	if l.otherErr != nil {
		l.t.Fatalf("a writer got an error other than MISCONF: %v", l.otherErr)
	}
}

// persistence returns INFO persistence's fields.
func persistence(t *testing.T, c *redis.Client) map[string]string {
	t.Helper()
	text, err := c.Info(testutil.Ctx(t), "persistence").Result()
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, line := range strings.Split(text, "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			m[k] = v
		}
	}
	return m
}

// checkFailing checks what holds while the disk fails: INFO says so with
// errno, writes and PING get want (Redis's MISCONF text), a transaction
// with a write is aborted, reads work, and no refused write is visible.
// The replies are those redis-server 7.0.15 gave on a full 4 MiB tmpfs
// under appendonly yes.
func (l *diskLoad) checkFailing(c *redis.Client, errno syscall.Errno, want string) {
	t := l.t
	t.Helper()
	ctx := testutil.Ctx(t)
	p := persistence(t, c)
	if p["aof_last_write_status"] != "err" || p["aof_last_write_errno"] != fmt.Sprint(int(errno)) {
		t.Fatalf("INFO persistence while the disk fails: aof_last_write_status:%s aof_last_write_errno:%s, want err and %d",
			p["aof_last_write_status"], p["aof_last_write_errno"], int(errno))
	}
	if err := c.Set(ctx, "probe", "x", 0).Err(); err == nil || err.Error() != want {
		t.Fatalf("SET while the disk fails: %v, want %q", err, want)
	}
	if err := c.Ping(ctx).Err(); err == nil || err.Error() != want {
		t.Fatalf("PING while the disk fails: %v, want %q (as Redis refuses it)", err, want)
	}
	if n, err := c.Exists(ctx, "probe").Result(); err != nil || n != 0 {
		t.Fatalf("EXISTS of the refused SET: %d, %v; want 0", n, err)
	}
	r := testutil.Dial(t, c.Options().Addr)
	r.Send("MULTI\r\nSET probe x\r\nEXEC\r\n")
	for _, want := range []string{"+OK", "-" + want, "-EXECABORT Transaction discarded because of previous errors."} {
		if got, err := r.ReadReply(); err != nil || got != want+"\r\n" {
			t.Fatalf("MULTI, SET, EXEC while the disk fails: %q, %v; want %q", got, err, want)
		}
	}
	l.mu.Lock()
	if l.misconf != "" && l.misconf != want {
		t.Errorf("a writer's refusal: %q, want %q", l.misconf, want)
	}
	var acked, refused []string
	for k := range l.acked {
		acked = append(acked, k)
	}
	for k := range l.refused {
		refused = append(refused, k)
	}
	l.mu.Unlock()
	for _, k := range acked {
		if got, err := c.Get(ctx, k).Result(); err != nil || got != l.value {
			t.Fatalf("GET of acknowledged %s while the disk fails: %d bytes, %v", k, len(got), err)
		}
	}
	for _, k := range refused {
		if n, err := c.Exists(ctx, k).Result(); err != nil || n != 0 {
			t.Fatalf("refused %s is visible while the disk fails (EXISTS %d, %v)", k, n, err)
		}
	}
}

// waitRecovered waits until the server accepts writes again by itself.
func waitRecovered(t *testing.T, c *redis.Client) {
	t.Helper()
	waitFor(t, func() bool {
		return c.Set(testutil.Ctx(t), "probe", "x", 0).Err() == nil
	})
	if p := persistence(t, c); p["aof_last_write_status"] != "ok" || p["aof_last_write_errno"] != "0" {
		t.Fatalf("INFO persistence after the disk recovered: aof_last_write_status:%s aof_last_write_errno:%s",
			p["aof_last_write_status"], p["aof_last_write_errno"])
	}
}

// checkAfterRestart checks, on a server restarted on the data folder,
// that every acknowledged write is there and no refused one is.
func (l *diskLoad) checkAfterRestart(c *redis.Client) {
	t := l.t
	t.Helper()
	ctx := testutil.Ctx(t)
	l.mu.Lock()
	defer l.mu.Unlock()
	for k := range l.acked {
		if got, err := c.Get(ctx, k).Result(); err != nil || got != l.value {
			t.Fatalf("acknowledged %s after the restart: %d bytes, %v", k, len(got), err)
		}
	}
	for k := range l.refused {
		if n, err := c.Exists(ctx, k).Result(); err != nil || n != 0 {
			t.Fatalf("refused %s is there after the restart (EXISTS %d, %v)", k, n, err)
		}
	}
	t.Logf("%d acknowledged SETs kept, %d refused ones absent, %d refused in flight", len(l.acked), len(l.refused), len(l.held))
}

// restart closes s and starts a server on its data folder.
func restart(t *testing.T, s *server.Server, dir string) *redis.Client {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	cfg := testutil.Config(t)
	cfg.Dir = dir
	return testutil.Client(t, testutil.Start(t, cfg), 2)
}

// diskFault is a fault of the disk a test arms: an operation kind on the
// files whose names end in suffix fails with errno while armed.
type diskFault struct {
	name   string
	kinds  []errorfs.OpKind
	suffix string
	errno  syscall.Errno
}

var diskFaults = []diskFault{
	{"write", []errorfs.OpKind{errorfs.OpFileWrite, errorfs.OpFileWriteAt}, ".log", syscall.ENOSPC},
	{"sync", []errorfs.OpKind{errorfs.OpFileSync, errorfs.OpFileSyncData, errorfs.OpFileSyncTo}, ".log", syscall.EIO},
	{"table", []errorfs.OpKind{errorfs.OpCreate, errorfs.OpFileWrite}, ".sst", syscall.ENOSPC},
}

// startFaulty starts a server under appendfsync policy on a disk that
// fails as f says while armed, which it is not before the server closes,
// and SETs a key before the fault.
func startFaulty(t *testing.T, policy string, f diskFault) (*server.Server, *redis.Client, *atomic.Bool, *config.Config) {
	t.Helper()
	armed := new(atomic.Bool)
	fs := errorfs.Wrap(vfs.Default, errorfs.InjectorFunc(func(op errorfs.Op) error {
		if !armed.Load() || !strings.HasSuffix(op.Path, f.suffix) {
			return nil
		}
		for _, k := range f.kinds {
			if op.Kind == k {
				return &os.PathError{Op: "injected", Path: op.Path, Err: f.errno}
			}
		}
		return nil
	}))
	cfg := testutil.Config(t)
	cfg.AppendFsync = policy
	s := testutil.StartWith(t, cfg, server.Options{FS: fs})
	t.Cleanup(func() { armed.Store(false) }) // before the server closes
	c := testutil.Client(t, s, 2)
	if err := c.Set(testutil.Ctx(t), "before", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	return s, c, armed, cfg
}

// TestDiskFaultInjected fails writes and syncs of the store's log and
// writes of its tables under each appendfsync policy, on a real server driven by
// go-redis. What must hold: from the failure on, writes and PING are
// answered Redis's MISCONF with the error's text and reads work; INFO
// shows the failure; a refused write is never visible; writes resume by
// themselves once the fault clears; after a restart every acknowledged
// write is there and no refused one is.
func TestDiskFaultInjected(t *testing.T) {
	for _, policy := range []string{"always", "everysec", "no"} {
		for _, f := range diskFaults {
			t.Run(policy+"/"+f.name, func(t *testing.T) {
				s, c, armed, cfg := startFaulty(t, policy, f)
				ctx := testutil.Ctx(t)
				// Values of 4 KiB fill the log's 32 KiB blocks, so that
				// the log is written under every policy.
				l := startDiskLoad(t, s.Addr(), policy, 4, 4096)
				armed.Store(true)
				// Syncs come from commits under always, once a second
				// under everysec, and from SAVE; tables from flushes
				// (BGREWRITEAOF).
				waitFor(t, func() bool {
					if f.name != "write" {
						c.Do(ctx, "bgrewriteaof")
						c.Save(ctx)
					}
					return s.Store().DiskFault().Failing
				})
				want := "MISCONF Errors writing to the AOF file: " + map[syscall.Errno]string{
					syscall.ENOSPC: "No space left on device", syscall.EIO: "Input/output error"}[f.errno]
				// NB: under always the writers waiting for a sync the
				// fault holds were answered MISCONF: checkFailing's own
				// SET is refused.
				l.checkFailing(c, f.errno, want)
				armed.Store(false)
				waitRecovered(t, c)
				l.finish()
				l.checkAfterRestart(restart(t, s, cfg.Dir))
			})
		}
	}
}

// TestDiskFaultInFlight fails the syncs of the log under appendfsync
// always while a SET waits for its own: the SET is answered Redis's
// MISCONF while the disk still fails, rather than waiting for it. It
// applied before its sync, so it is read, and it is on disk once the disk
// takes the held sync, after a restart too.
func TestDiskFaultInFlight(t *testing.T) {
	s, c, armed, cfg := startFaulty(t, "always", diskFaults[1])
	ctx := testutil.Ctx(t)
	armed.Store(true)
	// NB: the fault stays armed until the reply: without it, the SET
	// would wait for the disk and the client time out.
	slow := redis.NewClient(&redis.Options{Addr: s.Addr(), MaxRetries: -1, DisableIdentity: true, ReadTimeout: time.Minute})
	defer slow.Close()
	want := "MISCONF Errors writing to the AOF file: Input/output error"
	if err := slow.Set(ctx, "inflight", "v", 0).Err(); err == nil || err.Error() != want {
		t.Fatalf("SET whose sync fails: %v, want %q", err, want)
	}
	if !s.Store().DiskFault().Failing {
		t.Fatal("the disk does not fail after the SET's refusal")
	}
	if got, err := c.Get(ctx, "inflight").Result(); err != nil || got != "v" {
		t.Fatalf("GET of the SET refused in flight, while the disk fails: %q, %v; want the applied value", got, err)
	}
	armed.Store(false)
	waitRecovered(t, c)
	c = restart(t, s, cfg.Dir)
	for _, k := range []string{"before", "inflight"} {
		if got, err := c.Get(ctx, k).Result(); err != nil || got == "" {
			t.Fatalf("GET %s after the disk recovered and a restart: %q, %v", k, got, err)
		}
	}
}

// TestDiskFaultAtStart fails the rename Pebble makes when it opens the
// store (its OPTIONS file): the server does not start, with one error
// that names the cause, and starts on the same folder, with its data,
// once the fault clears.
func TestDiskFaultAtStart(t *testing.T) {
	var armed atomic.Bool
	fs := errorfs.Wrap(vfs.Default, errorfs.InjectorFunc(func(op errorfs.Op) error {
		if armed.Load() && op.Kind == errorfs.OpRename {
			return &os.PathError{Op: "rename", Path: op.Path, Err: syscall.EIO}
		}
		return nil
	}))
	cfg := testutil.Config(t)
	s := testutil.StartWith(t, cfg, server.Options{FS: fs})
	c := testutil.Client(t, s, 2)
	if err := c.Set(testutil.Ctx(t), "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	armed.Store(true)
	_, err := server.New(cfg, server.Options{FS: fs, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err == nil || !strings.Contains(err.Error(), "the disk refused a write (Input/output error)") {
		t.Fatalf("start with a failing rename: %v, want an error naming the failed write", err)
	}
	armed.Store(false)
	s = testutil.StartWith(t, cfg, server.Options{FS: fs})
	if got, err := testutil.Client(t, s, 2).Get(testutil.Ctx(t), "k").Result(); err != nil || got != "v" {
		t.Fatalf("GET k after the fault cleared: %q, %v", got, err)
	}
}

// mountSmallDisk mounts a 20 MiB tmpfs for the test, with a filler file
// of 6 MiB to free later. It skips the test unless it runs as root.
func mountSmallDisk(t *testing.T) (mnt, filler string) {
	t.Helper()
	if testing.Short() {
		t.Skip("fills a file system")
	}
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	mnt = t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=20m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", mnt, err, out)
		}
	})
	filler = filepath.Join(mnt, "filler")
	if err := os.WriteFile(filler, make([]byte, 6<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	return mnt, filler
}

// TestDiskFull fills a 20 MiB tmpfs until writes are refused, checks that
// reads work and that a BGSAVE fails, frees space and checks that writes resume by themselves,
// then restarts and checks every acknowledged write. It needs root to
// mount the tmpfs.
func TestDiskFull(t *testing.T) {
	mnt, filler := mountSmallDisk(t)
	cfg := testutil.Config(t)
	cfg.Dir = filepath.Join(mnt, "data")
	cfg.AppendFsync = "everysec"
	s := testutil.Start(t, cfg)
	c := testutil.Client(t, s, 2)
	l := startDiskLoad(t, s.Addr(), cfg.AppendFsync, 4, 8192)
	waitFor(t, func() bool { return s.Store().DiskFault().Failing })
	waitFor(t, func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return len(l.refused) > 0
	})
	l.stop.Store(true) // the space freed is not for the writers
	l.wg.Wait()
	l.checkFailing(c, syscall.ENOSPC, "MISCONF Errors writing to the AOF file: No space left on device")
	// A BGSAVE finds no room for the RDB file either.
	if err := c.BgSave(testutil.Ctx(t)).Err(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return persistence(t, c)["rdb_bgsave_in_progress"] == "0" })
	if st := persistence(t, c)["rdb_last_bgsave_status"]; st != "err" {
		t.Fatalf("rdb_last_bgsave_status after a BGSAVE on a full disk: %s, want err", st)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	waitRecovered(t, c)
	l.finish()
	l.checkAfterRestart(restart(t, s, cfg.Dir))
}

// TestDiskFullRestart fills a 20 MiB tmpfs under appendfsync always,
// stops the server while the disk is full and starts it again on the
// full disk: it either refuses to start with one error naming the cause,
// or serves reads. Once space is freed every acknowledged write is there.
func TestDiskFullRestart(t *testing.T) {
	mnt, filler := mountSmallDisk(t)
	cfg := testutil.Config(t)
	cfg.Dir = filepath.Join(mnt, "data")
	cfg.AppendFsync = "always"
	s := testutil.Start(t, cfg)
	// Large values: a disk fills in a few hundred synced writes.
	l := startDiskLoad(t, s.Addr(), cfg.AppendFsync, 4, 64<<10)
	waitFor(t, func() bool { return s.Store().DiskFault().Failing })
	// A writer whose SET applied before the disk filled waits for its
	// sync; the close ends that wait without a reply: an unknown outcome.
	l.unknown.Store(true)
	l.stop.Store(true)
	if err := s.Close(); err != nil {
		t.Logf("close on a full disk: %v", err)
	}
	l.finish()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s2, err := server.New(cfg, server.Options{Logger: log})
	if err != nil {
		if !strings.Contains(err.Error(), "no space left on device") && !strings.Contains(err.Error(), "No space left on device") {
			t.Fatalf("start on a full disk: %v, want an error naming it", err)
		}
		t.Logf("start on the full disk refused: %v", err)
	} else {
		if err := s2.Start(); err != nil {
			t.Fatal(err)
		}
		c := testutil.Client(t, s2, 2)
		l.mu.Lock()
		for k := range l.acked {
			if got, err := c.Get(testutil.Ctx(t), k).Result(); err != nil || got != l.value {
				t.Fatalf("GET of acknowledged %s on the full disk: %d bytes, %v", k, len(got), err)
			}
			break
		}
		l.mu.Unlock()
		t.Logf("started on the full disk, serving reads (writes refused: %v)", s2.Store().DiskFault().Failing)
		if err := s2.Close(); err != nil {
			t.Logf("close: %v", err)
		}
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	// A refused start leaves Pebble's open going on in the background,
	// holding the folder's lock until it completes and closes.
	var s3 *server.Server
	waitFor(t, func() bool {
		s3, err = server.New(cfg, server.Options{Logger: log})
		return err == nil
	})
	if err := s3.Start(); err != nil {
		t.Fatal(err)
	}
	l.checkAfterRestart(restart(t, s3, cfg.Dir))
}
