// Package failpoint lets tests and operators make named points of the code
// fail on purpose, in the manner of etcd's gofail. Points are off unless
// the process starts with the environment variable SHOAL_FAILPOINTS set:
//
//	SHOAL_FAILPOINTS='catalog/cas-reply=1*drop;schema/apply=3*error'
//
// Each term is [count*]action: the action fires count times (forever when
// no count is given) and the point is off afterwards. With the variable set
// (even empty), DEBUG FAILPOINT <name> <term|off> changes a point at run
// time. A point that is off costs one atomic load.
package failpoint

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// EnvVar is the environment variable that enables failpoints.
const EnvVar = "SHOAL_FAILPOINTS"

var (
	enabled bool
	any     atomic.Bool // some point is armed
	mu      sync.Mutex
	points  = map[string]*term{}
)

type term struct {
	action string
	left   int // < 0: forever
}

func init() {
	v, ok := os.LookupEnv(EnvVar)
	enabled = ok
	if ok && v != "" {
		if err := SetAll(v); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", EnvVar, err)
		}
	}
}

// Enabled reports whether the process started with SHOAL_FAILPOINTS set.
func Enabled() bool { return enabled }

// SetAll arms the points of a "name=term;name=term" list.
func SetAll(spec string) error {
	for _, kv := range strings.Split(spec, ";") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		name, t, ok := strings.Cut(kv, "=")
		if !ok {
			return fmt.Errorf("failpoint: %q is not name=term", kv)
		}
		if err := Set(name, t); err != nil {
			return err
		}
	}
	return nil
}

// Set arms point name with term ("error", "3*error", "drop", ...), or
// disarms it with "off".
func Set(name, t string) error {
	mu.Lock()
	defer mu.Unlock()
	if t == "off" {
		delete(points, name)
		any.Store(len(points) > 0)
		return nil
	}
	left := -1
	if n, action, ok := strings.Cut(t, "*"); ok {
		c, err := strconv.Atoi(n)
		if err != nil || c < 1 {
			return fmt.Errorf("failpoint: count %q in %q", n, t)
		}
		left, t = c, action
	}
	if t == "" {
		return fmt.Errorf("failpoint: %s has no action", name)
	}
	points[name] = &term{action: t, left: left}
	any.Store(true)
	return nil
}

// Eval returns the action of point name when it is armed, consuming one of
// its counts; "" when it is off.
func Eval(name string) string {
	if !any.Load() {
		return ""
	}
	mu.Lock()
	defer mu.Unlock()
	t := points[name]
	if t == nil {
		return ""
	}
	if t.left > 0 {
		t.left--
		if t.left == 0 {
			delete(points, name)
			any.Store(len(points) > 0)
		}
	}
	return t.action
}
