package server

import (
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/shoaldb/shoal/config"
)

// oomScore is what oom-score-adj changed of the process's
// /proc/self/oom_score_adj, as Redis's setOOMScoreAdj keeps it: the score
// found before the first change, which relative adds to and turning the
// directive off restores.
type oomScore struct {
	mu struct {
		sync.Mutex
		adjusted bool
		base     int
	}
}

// applyOOMScore sets the process's OOM score for its role (a primary's or
// a replica's of oom-score-adj-values), as Redis does at start, at a role
// change and when CONFIG SET changes either directive.
func (s *Server) applyOOMScore() { s.applyOOMScoreFor(s.Config()) }

// applyOOMScoreFor is applyOOMScore under configuration cfg.
func (s *Server) applyOOMScoreFor(cfg *config.Config) {
	o := &s.oom
	o.mu.Lock()
	defer o.mu.Unlock()
	const path = "/proc/self/oom_score_adj"
	var val int
	switch {
	case cfg.OOMScoreAdj != "no":
		if !o.mu.adjusted {
			b, err := os.ReadFile(path)
			if err != nil {
				s.log.Warn("Unable to read oom_score_adj", "err", err)
				return
			}
			o.mu.base, _ = strconv.Atoi(strings.TrimSpace(string(b)))
			o.mu.adjusted = true
		}
		vals := strings.Fields(cfg.OOMScoreAdjValues)
		class := 0 // a primary's
		if cfg.ReplicaOf != "" {
			class = 1
		}
		val, _ = strconv.Atoi(vals[class])
		if cfg.OOMScoreAdj != "absolute" {
			val += o.mu.base
		}
		val = min(max(val, -1000), 1000)
	case o.mu.adjusted:
		o.mu.adjusted, val = false, o.mu.base
	default:
		return
	}
	if err := os.WriteFile(path, []byte(strconv.Itoa(val)+"\n"), 0); err != nil {
		s.log.Warn("Unable to write oom_score_adj", "err", err)
	}
}
