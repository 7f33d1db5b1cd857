package cluster

import (
	"fmt"
	"slices"
)

// Storage formats are versions of the on-disk layout of the data
// (storage/encoding's key and value layouts and the system records). A
// build lists the formats it can read and those it can write; each node
// gossips both, and the cluster's active format (the one every node
// writes) moves to a newer format only once every member runs a build
// that reads and writes it: a version gate for rolling upgrades. An
// upgrade therefore takes two steps: first every node runs a build that
// knows the new format, then the gate opens.
//
// Format 1 is the layout documented in docs/ARCHITECTURE.md (decision 3)
// as of this build; no other format exists yet.
const (
	// StorageFormat is the format this build writes while the cluster's
	// active format allows it.
	StorageFormat = 1
	// baseFormat is the active format of a catalog that never recorded
	// one.
	baseFormat = 1
)

// storageReads and storageWrites are the formats this build reads and
// writes, oldest first. Callers must not modify them.
var (
	storageReads  = []int{1}
	storageWrites = []int{1}
)

// FormatSupport is the storage formats one build reads and writes.
type FormatSupport struct {
	Reads  []int `json:"reads"`
	Writes []int `json:"writes"`
}

// localFormats is this build's FormatSupport.
func localFormats() FormatSupport {
	return FormatSupport{Reads: slices.Clone(storageReads), Writes: slices.Clone(storageWrites)}
}

// gateFormat returns the storage format the cluster may make active, given
// the current one and what each member supports: the newest format that
// every member both reads and writes, or current when there is none newer.
// It never goes back: once a format is active, data may be in it, so a
// member that cannot read it must be upgraded, not obeyed. A member whose
// support is unknown (nil: no gossip metadata yet, or an old build that
// does not gossip formats) keeps the gate shut.
func gateFormat(current int, members []*FormatSupport) int {
	if len(members) == 0 {
		return current
	}
	best := current
	for _, f := range members[0].allWrites() {
		if f <= best {
			continue
		}
		all := true
		for _, m := range members {
			if m == nil || !slices.Contains(m.Reads, f) || !slices.Contains(m.Writes, f) {
				all = false
				break
			}
		}
		if all {
			best = f
		}
	}
	return best
}

func (s *FormatSupport) allWrites() []int {
	if s == nil {
		return nil
	}
	return s.Writes
}

// checkActiveFormat refuses a catalog whose active storage format this
// build cannot both read and write: a Permanent error, since retrying
// cannot help; the node needs a newer build.
func checkActiveFormat(active int) error {
	if slices.Contains(storageReads, active) && slices.Contains(storageWrites, active) {
		return nil
	}
	return &Permanent{Err: fmt.Errorf("the cluster's active storage format %d is not supported by this build (reads %v, writes %v): upgrade this node", active, storageReads, storageWrites)}
}
