package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"

	"github.com/hashicorp/raft"
)

// The catalog is the cluster's authoritative state: a small state machine
// replicated by raft. Everything that must never split-brain lives here:
// the members, the shards with their primaries and writer epochs, and the
// slots. Gossip only hints; the catalog decides.

// Member is a node the catalog knows, with the addresses it announced.
type Member struct {
	ID          string `json:"id"`
	IP          string `json:"ip"`
	Port        int    `json:"port"`
	BusPort     int    `json:"bus"`
	CatalogPort int    `json:"cat"`
	// Shard is the index of the shard the member serves.
	Shard int `json:"shard"`
}

// Shard is one shard's record. Version grows by one with every change of
// the record and is what a compare-and-swap names; WriterEpoch is the
// fencing token of the shard's primary; Nonce identifies the bump that
// installed the current primary, so a writer whose reply was lost can tell
// that its own bump won.
type Shard struct {
	ID          int         `json:"id"`
	Version     uint64      `json:"version"`
	WriterEpoch uint64      `json:"epoch"`
	PrimaryID   string      `json:"primary"`
	Nonce       string      `json:"nonce"`
	Slots       []SlotRange `json:"slots"`
}

// State is the whole catalog. It is small; snapshots serialize it whole.
type State struct {
	// ClusterID names the cluster: made when its first shard is created,
	// gossiped, so members of different catalogs never merge.
	ClusterID string `json:"cluster_id,omitempty"`
	// Epoch grows by one with every applied change: the catalog's epoch.
	Epoch   uint64             `json:"epoch"`
	Members map[string]*Member `json:"members"`
	Shards  []*Shard           `json:"shards"`
	// Maintenance is the maintenance state (maintenance.go); nil when
	// maintenance never started.
	Maintenance *Maintenance `json:"maintenance,omitempty"`
	// Components are the deployed components by name (component.go).
	Components map[string]*Component `json:"components,omitempty"`
}

func newState() *State { return &State{Members: map[string]*Member{}} }

func (s *State) clone() *State {
	c := &State{ClusterID: s.ClusterID, Epoch: s.Epoch, Members: make(map[string]*Member, len(s.Members))}
	for id, m := range s.Members {
		mm := *m
		c.Members[id] = &mm
	}
	for _, sh := range s.Shards {
		ss := *sh
		ss.Slots = append([]SlotRange(nil), sh.Slots...)
		c.Shards = append(c.Shards, &ss)
	}
	c.Maintenance = s.Maintenance.clone()
	c.Components = cloneComponents(s.Components)
	return c
}

// Shard returns shard id, or nil.
func (s *State) Shard(id int) *Shard {
	for _, sh := range s.Shards {
		if sh.ID == id {
			return sh
		}
	}
	return nil
}

// MaxEpoch is the highest writer epoch of any shard: Redis's
// cluster_current_epoch.
func (s *State) MaxEpoch() uint64 {
	var e uint64
	for _, sh := range s.Shards {
		e = max(e, sh.WriterEpoch)
	}
	return e
}

// MemberIDs returns the members' ids in order.
func (s *State) MemberIDs() []string {
	ids := make([]string, 0, len(s.Members))
	for id := range s.Members {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Catalog operations, as raft log entries.
const (
	opJoin   = "join"   // add or update a member
	opForget = "forget" // remove a member
	opCAS    = "cas"    // compare-and-swap a shard's primary and epoch
	// opMaintenance and opComponent change the admin state; their
	// payloads are defined beside the state they change.
	opMaintenance = "maintenance"
	opComponent   = "component"
)

type command struct {
	Op     string   `json:"op"`
	Member *Member  `json:"member,omitempty"`
	ID     string   `json:"id,omitempty"`
	CAS    *casReq  `json:"cas,omitempty"`
	Maint  *maintOp `json:"maint,omitempty"`
	Comp   *compOp  `json:"comp,omitempty"`
	// At is the proposer's wall clock in Unix milliseconds, for entries
	// whose effect depends on time (lock expiry): Apply must not read a
	// clock of its own.
	At int64 `json:"at,omitempty"`
}

// casReq installs Primary at WriterEpoch in shard Shard if the shard's
// version is still Expect (0: the shard does not exist yet, and is created
// owning every slot).
type casReq struct {
	Shard       int    `json:"shard"`
	Expect      uint64 `json:"expect"`
	WriterEpoch uint64 `json:"epoch"`
	Primary     string `json:"primary"`
	Nonce       string `json:"nonce"`
	// Lapsed makes the swap an automatic failover, which the leader
	// refuses while the current primary still renews its lease.
	Lapsed bool `json:"lapsed,omitempty"`
}

// applyResult is what Apply returns through raft's future.
type applyResult struct {
	Err   string `json:"err,omitempty"`
	Shard *Shard `json:"shard,omitempty"`
	// Conflict reports a CAS whose expected version did not match; Shard is
	// then the current record.
	Conflict bool `json:"conflict,omitempty"`
	// Data is an operation's own result, encoded by its applier.
	Data json.RawMessage `json:"data,omitempty"`
}

// Errors of catalog operations.
var (
	ErrVersionConflict  = errors.New("cluster: shard version changed")
	ErrEpochBumpTimeout = errors.New("cluster: writer epoch bump timed out")
	ErrNotLeader        = errors.New("cluster: not the catalog leader")
	ErrNoLeader         = errors.New("cluster: no catalog leader")
)

// fsm is the catalog's raft state machine. Readers take a clone under mu;
// onChange is called after every applied entry, outside mu, and must not
// block.
type fsm struct {
	mu       sync.Mutex
	st       *State
	index    uint64
	onChange func()
}

func newFSM(onChange func()) *fsm { return &fsm{st: newState(), onChange: onChange} }

// state returns a copy of the current state and its raft index.
func (f *fsm) state() (*State, uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st.clone(), f.index
}

// Apply implements raft.FSM.
func (f *fsm) Apply(l *raft.Log) any {
	var c command
	if err := json.Unmarshal(l.Data, &c); err != nil {
		return &applyResult{Err: "undecodable catalog entry: " + err.Error()}
	}
	f.mu.Lock()
	res := f.st.apply(&c)
	f.index = l.Index
	f.mu.Unlock()
	if f.onChange != nil {
		f.onChange()
	}
	return res
}

// apply changes the state by one command; it is deterministic.
func (s *State) apply(c *command) *applyResult {
	switch c.Op {
	case opJoin:
		m := *c.Member
		if old := s.Members[m.ID]; old != nil && *old == m {
			return &applyResult{}
		}
		s.Members[m.ID] = &m
	case opForget:
		if s.Members[c.ID] == nil {
			return &applyResult{Err: "unknown member"}
		}
		for _, sh := range s.Shards {
			if sh.PrimaryID == c.ID {
				return &applyResult{Err: "member is a primary"}
			}
		}
		delete(s.Members, c.ID)
	case opCAS:
		r := c.CAS
		sh := s.Shard(r.Shard)
		cur := uint64(0)
		if sh != nil {
			cur = sh.Version
		}
		if cur != r.Expect {
			if sh == nil {
				return &applyResult{Conflict: true}
			}
			cp := *sh
			return &applyResult{Conflict: true, Shard: &cp}
		}
		if sh == nil {
			sh = &Shard{ID: r.Shard, Slots: []SlotRange{{0, Slots - 1}}}
			s.Shards = append(s.Shards, sh)
			if s.ClusterID == "" {
				s.ClusterID = r.Nonce
			}
		}
		if r.WriterEpoch <= sh.WriterEpoch {
			return &applyResult{Err: fmt.Sprintf("writer epoch %d is not above %d", r.WriterEpoch, sh.WriterEpoch)}
		}
		sh.Version++
		sh.WriterEpoch = r.WriterEpoch
		sh.PrimaryID = r.Primary
		sh.Nonce = r.Nonce
		if m := s.Members[r.Primary]; m != nil {
			m.Shard = r.Shard
		}
		cp := *sh
		s.Epoch++
		return &applyResult{Shard: &cp}
	case opBump: // only the epoch moves (DEBUG CATALOG-BUMP, derived.go)
	case opMaintenance, opComponent:
		var res *applyResult
		var changed bool
		if c.Op == opMaintenance {
			res, changed = s.applyMaintenance(c.Maint, c.At)
		} else {
			res, changed = s.applyComponent(c.Comp, c.At)
		}
		if changed {
			s.Epoch++
		}
		return res
	default:
		return &applyResult{Err: "unknown catalog operation " + c.Op}
	}
	s.Epoch++
	return &applyResult{}
}

// Snapshot implements raft.FSM.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	st, _ := f.state()
	b, err := json.Marshal(st)
	if err != nil {
		return nil, err
	}
	return fsmSnapshot(b), nil
}

// Restore implements raft.FSM.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	st := newState()
	if err := json.NewDecoder(rc).Decode(st); err != nil {
		return err
	}
	if st.Members == nil {
		st.Members = map[string]*Member{}
	}
	f.mu.Lock()
	f.st = st
	f.mu.Unlock()
	if f.onChange != nil {
		f.onChange()
	}
	return nil
}

type fsmSnapshot []byte

func (s fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := sink.Write(s); err != nil {
		sink.Cancel()
		return err
	}
	return sink.Close()
}

func (fsmSnapshot) Release() {}
