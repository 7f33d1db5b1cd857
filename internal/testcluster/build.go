package testcluster

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// buildDirPrefix names the folders that hold a built binary; the pid of the
// test process that owns one follows it, so later builds can remove the
// folders of processes that are gone.
const buildDirPrefix = "shoal-testcluster-"

var build struct {
	once sync.Once
	bin  string
	err  error
}

// race builds the nodes with the race detector when the tests run with
// SHOAL_TEST_RACE=1 (a race report goes to the node's log and stderr).
var race = os.Getenv("SHOAL_TEST_RACE") == "1"

// Build compiles github.com/shoaldb/shoal/cmd/shoal once per test process
// and returns the binary's path. Later calls return the same path, or fail
// t with the first call's build error. The binary lives in a folder of
// os.TempDir that outlives the test process; the next process to build
// removes it.
func Build(t testing.TB) string {
	t.Helper()
	build.once.Do(func() { build.bin, build.err = buildShoal() })
	if build.err != nil {
		t.Fatalf("testcluster: %v", build.err)
	}
	return build.bin
}

func buildShoal() (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	removeStaleBuilds()
	dir, err := os.MkdirTemp("", buildDirPrefix+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "shoal")
	args := []string{"build", "-o", bin}
	if race {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, "./cmd/shoal")...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("go build ./cmd/shoal: %v\n%s", err, out)
	}
	return bin, nil
}

// moduleRoot returns the folder of Shoal's go.mod: from the go command
// when the test runs inside the module, else from this file's path.
func moduleRoot() (string, error) {
	if out, err := exec.Command("go", "env", "GOMOD").Output(); err == nil {
		gomod := strings.TrimSpace(string(out))
		if b, err := os.ReadFile(gomod); err == nil && strings.Contains(string(b), "module github.com/shoaldb/shoal\n") {
			return filepath.Dir(gomod), nil
		}
	}
	if _, file, _, ok := runtime.Caller(0); ok {
		root := filepath.Join(filepath.Dir(file), "..", "..")
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			return root, nil
		}
	}
	return "", fmt.Errorf("cannot find the module root of github.com/shoaldb/shoal")
}

// removeStaleBuilds removes the build folders of test processes that
// have exited.
func removeStaleBuilds() {
	entries, _ := os.ReadDir(os.TempDir())
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), buildDirPrefix)
		if !ok || !e.IsDir() {
			continue
		}
		pidText, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		if syscall.Kill(pid, 0) == syscall.ESRCH {
			os.RemoveAll(filepath.Join(os.TempDir(), e.Name()))
		}
	}
}
