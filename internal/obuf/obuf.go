// Package obuf is client-output-buffer-limit: the limits of one class of
// clients and the check Redis makes as a client's pending output grows
// (checkClientOutputBufferLimits).
package obuf

import (
	"github.com/shoaldb/shoal/config"
	"strconv"
	"strings"
	"time"
)

// Limit is one class's limits: a client is disconnected when its pending
// output reaches Hard bytes, or stays at or above Soft bytes for longer
// than SoftFor. Zero disables a limit.
type Limit struct {
	Hard, Soft int64
	SoftFor    time.Duration
}

// The classes, in the order the directive lists them.
const (
	Normal = iota
	Replica
	Pubsub
)

// Defaults are Redis's: "normal 0 0 0 slave 256mb 64mb 60 pubsub 32mb 8mb 60".
var Defaults = [3]Limit{
	Normal:  {},
	Replica: {Hard: 256 << 20, Soft: 64 << 20, SoftFor: 60 * time.Second},
	Pubsub:  {Hard: 32 << 20, Soft: 8 << 20, SoftFor: 60 * time.Second},
}

// Parse reads the classes out of a client-output-buffer-limit value as
// CONFIG GET shows it ("normal 0 0 0 slave 268435456 67108864 60 ...",
// sizes with units too);
// a class absent or malformed keeps its default.
func Parse(v string) [3]Limit {
	l := Defaults
	w := strings.Fields(v)
	for i := 0; i+3 < len(w); i += 4 {
		class := -1
		switch strings.ToLower(w[i]) {
		case "normal":
			class = Normal
		case "slave", "replica":
			class = Replica
		case "pubsub":
			class = Pubsub
		}
		hard, err1 := config.ParseMemory(w[i+1])
		soft, err2 := config.ParseMemory(w[i+2])
		secs, err3 := strconv.ParseInt(w[i+3], 10, 64)
		if class < 0 || err1 != nil || err2 != nil || err3 != nil || hard < 0 || soft < 0 || secs < 0 {
			continue
		}
		l[class] = Limit{Hard: hard, Soft: soft, SoftFor: time.Duration(secs) * time.Second}
	}
	return l
}

// Watch follows one client's pending output against its class's limit.
// It is not safe for concurrent use.
type Watch struct {
	softSince time.Time // when the output first reached the soft limit
}

// Over reports whether used bytes of pending output at now pass l: the
// hard limit reached, or the soft one held for longer than l.SoftFor since
// an earlier check first found it reached.
func (w *Watch) Over(l Limit, used int64, now time.Time) bool {
	if l.Hard > 0 && used >= l.Hard {
		return true
	}
	if l.Soft > 0 && used >= l.Soft {
		if w.softSince.IsZero() {
			w.softSince = now
			return false
		}
		return now.Sub(w.softSince) > l.SoftFor
	}
	w.softSince = time.Time{}
	return false
}

// ClassName is a class's name as the directive spells it.
func ClassName(class int) string {
	return [...]string{"normal", "replica", "pubsub"}[class]
}
