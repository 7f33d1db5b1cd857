package cluster

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Components are named, versioned payloads that every node of the cluster
// loads, with one active version per component (COMPONENT DEPLOY). Their
// records live in the catalog, so every node sees the same active version,
// lock and history, and a deploy survives the restart of any node:
//
//   - A deploy takes the component's deploy lock: a lease in the catalog
//     with the owner's node id and a random token, taken by a catalog entry
//     that checks, atomically, that the lock is free or lapsed and that the
//     requested version does not conflict with the active one. The owner
//     renews the lease while it works; a lapsed lease may be taken over,
//     and the catalog leader releases it (the deploy then failed), so a
//     holder that dies blocks deploys for at most component-lock-lease.
//     Every later step names the token: a holder whose lease was taken
//     over changes nothing.
//   - While a deploy runs, the record names the target version; each node
//     loads it (deriveComponents) and reports, by a catalog entry of its
//     own, the version and deploy token it applied. Reports live in the
//     catalog rather than in gossip because a plain node has no gossip,
//     and so that every node shows the same per-node versions.
//   - The deployer waits until every member gossip does not declare failed
//     reported the target (bounded by applyTimeout), then makes it active
//     or marks the deploy failed with the reason, and releases the lock.
//     A failed deploy leaves the previous active version, and the nodes go
//     back to it. A failed member catches up when it returns.
//
// Time in these entries is the proposer's wall clock (command.At): the
// lease's expiry is compared with the clock of the node that proposes the
// next entry, so clocks are assumed to agree within a small fraction of
// the lease.

// Component states.
const (
	CompDeploying   = "deploying"
	CompUndeploying = "undeploying"
	CompActive      = "active"
	CompFailed      = "failed"
	CompUndeployed  = "undeployed"
)

// Component kinds.
const (
	KindBlob     = "blob"
	KindFunction = "function"
	// kindBuiltin is the kind of the built-in component "shoal".
	kindBuiltin = "builtin"
)

// ShoalComponent is the built-in component that shows every node's build
// and storage formats; it cannot be deployed.
const ShoalComponent = "shoal"

// Limits of the component records.
const (
	// MaxComponentPayload bounds a payload: it travels in a catalog entry
	// and sits in every catalog snapshot.
	MaxComponentPayload = 1 << 20
	maxComponentName    = 128
	maxComponentVersion = 64
	// componentHistoryLen and componentVersionsLen bound a record's
	// history and its list of versions; the oldest go first.
	componentHistoryLen  = 64
	componentVersionsLen = 64
	// DefaultLockTimeout is how long a deploy waits for the lock when the
	// request names no LOCKTIMEOUT.
	DefaultLockTimeout = 5 * time.Second
	// defaultLockLease is component-lock-lease's default.
	defaultLockLease = 30 * time.Second
)

// Component is one component's catalog record.
type Component struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
	// Active is the active version ("" when none), ActiveGen the token of
	// the deploy that activated it, Payload its payload.
	Active    string `json:"active,omitempty"`
	ActiveGen string `json:"gen,omitempty"`
	// NB: payload slices are shared between copies of the state and never
	// modified in place; apply replaces them.
	Payload []byte `json:"payload,omitempty"`
	// State is the state of the last deploy: deploying, undeploying,
	// active, failed or undeployed; Reason says why it failed.
	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`
	// Target, TargetKind and TargetPayload are what the deploy in progress
	// installs (Target is "" for an undeploy).
	Target        string `json:"target,omitempty"`
	TargetKind    string `json:"tkind,omitempty"`
	TargetPayload []byte `json:"tpayload,omitempty"`
	// Versions lists the versions ever deployed, in order of first deploy.
	Versions []string `json:"versions,omitempty"`
	// Lock is the deploy lock, nil when free.
	Lock *DeployLock `json:"lock,omitempty"`
	// Done is the token of the last finished deploy, so that a finish
	// repeated after a lost reply succeeds.
	Done string `json:"done,omitempty"`
	// UpdatedAt is when the deploy state last changed (Unix ms).
	UpdatedAt int64 `json:"updated"`
	// Applied is what each node reported it applied, by node id.
	Applied map[string]NodeApplied `json:"applied,omitempty"`
	// History holds the last deploy events, oldest first.
	History []ComponentEvent `json:"history,omitempty"`
	// Format is the cluster's active storage format; only the built-in
	// component "shoal" has one (0: baseFormat).
	Format int `json:"format,omitempty"`
}

// DeployLock is a component's deploy lock: a lease held by Owner, named by
// Token, until Expires (Unix ms on the proposers' clocks).
type DeployLock struct {
	Owner   string `json:"owner"`
	Token   string `json:"token"`
	Since   int64  `json:"since"`
	Expires int64  `json:"expires"`
}

// NodeApplied is what one node reports of a component: the version it
// runs and the token of the deploy that made it load it; FailedGen and Err
// name a deploy whose version it could not load, and why.
type NodeApplied struct {
	Version   string `json:"v,omitempty"`
	Gen       string `json:"g,omitempty"`
	FailedGen string `json:"fg,omitempty"`
	Err       string `json:"err,omitempty"`
}

// ComponentEvent is one entry of a component's history.
type ComponentEvent struct {
	At      int64  `json:"at"`
	Event   string `json:"event"` // deploying, undeploying, active, failed, undeployed, lock-expired, format
	Version string `json:"version,omitempty"`
	Node    string `json:"node,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

func (c *Component) clone() *Component {
	cc := *c
	if c.Lock != nil {
		l := *c.Lock
		cc.Lock = &l
	}
	cc.Versions = slices.Clone(c.Versions)
	cc.History = slices.Clone(c.History)
	cc.Applied = maps.Clone(c.Applied)
	return &cc
}

func cloneComponents(m map[string]*Component) map[string]*Component {
	if m == nil {
		return nil
	}
	c := make(map[string]*Component, len(m))
	for k, v := range m {
		c[k] = v.clone()
	}
	return c
}

// inProgress reports whether a deploy or an undeploy holds the record.
func (c *Component) inProgress() bool {
	return c.State == CompDeploying || c.State == CompUndeploying
}

// desired is the version every node should run now, with the token of the
// deploy that asked for it and its payload: the target while a deploy
// runs, else the active version ("" for none).
func (c *Component) desired() (version, gen string, payload []byte) {
	if c.inProgress() && c.Lock != nil {
		if c.State == CompUndeploying {
			return "", "", nil
		}
		return c.Target, c.Lock.Token, c.TargetPayload
	}
	return c.Active, c.ActiveGen, c.Payload
}

// desiredKind is the kind of the version desired returns.
func (c *Component) desiredKind() string {
	if c.inProgress() && c.Lock != nil && c.TargetKind != "" {
		return c.TargetKind
	}
	return c.Kind
}

func (c *Component) event(at int64, event, version, node, reason string) {
	c.History = append(c.History, ComponentEvent{At: at, Event: event, Version: version, Node: node, Reason: reason})
	if len(c.History) > componentHistoryLen {
		c.History = slices.Clone(c.History[len(c.History)-componentHistoryLen:])
	}
}

func (c *Component) addVersion(v string) {
	if slices.Contains(c.Versions, v) {
		return
	}
	c.Versions = append(c.Versions, v)
	if len(c.Versions) > componentVersionsLen {
		c.Versions = slices.Clone(c.Versions[len(c.Versions)-componentVersionsLen:])
	}
}

// lockLapsed releases a lapsed lock; a deploy it held has failed.
func (c *Component) lockLapsed(at int64) {
	reason := fmt.Sprintf("the deploy lock of %s lapsed", c.Lock.Owner)
	target := c.Target
	if c.inProgress() {
		c.State, c.Reason = CompFailed, reason
		c.Target, c.TargetKind, c.TargetPayload = "", "", nil
	}
	c.event(at, "lock-expired", target, c.Lock.Owner, reason)
	c.Lock = nil
	c.UpdatedAt = at
}

// compOp is one change of a component, a catalog entry. Node is the
// proposer's id, Token names its deploy and LeaseMs its lock's lease.
type compOp struct {
	Op       string       `json:"op"`
	Name     string       `json:"name"`
	Version  string       `json:"version,omitempty"`
	Kind     string       `json:"kind,omitempty"`
	Payload  []byte       `json:"payload,omitempty"`
	Replace  bool         `json:"replace,omitempty"`
	Undeploy bool         `json:"undeploy,omitempty"`
	Node     string       `json:"node,omitempty"`
	Token    string       `json:"token,omitempty"`
	LeaseMs  int64        `json:"lease,omitempty"`
	OK       bool         `json:"ok,omitempty"`
	Reason   string       `json:"reason,omitempty"`
	Applied  *NodeApplied `json:"applied,omitempty"`
	Format   int          `json:"format,omitempty"`
}

// Component operations.
const (
	compAcquire = "acquire" // take the deploy lock and start a deploy or undeploy
	compRenew   = "renew"   // extend the lock's lease (its holder)
	compFinish  = "finish"  // end a deploy, success or failure, and release the lock
	compExpire  = "expire"  // release a lapsed lock (the catalog leader)
	compApplied = "applied" // a node reports what it applied
	compFormat  = "format"  // activate a newer storage format (the catalog leader)
)

// compResult is a component operation's result (applyResult.Data).
type compResult struct {
	// Result is acquired, already (the version is active: nothing to do),
	// conflict, held (by Owner for ExpiresIn more ms), lost (the token
	// no longer holds the lock), ok, or error (Msg says why).
	Result    string `json:"r"`
	Active    string `json:"active,omitempty"`
	Owner     string `json:"owner,omitempty"`
	ExpiresIn int64  `json:"expires_in,omitempty"`
	Msg       string `json:"msg,omitempty"`
}

func (r compResult) zero() bool { return r == compResult{} }

const (
	resAcquired = "acquired"
	resAlready  = "already"
	resConflict = "conflict"
	resHeld     = "held"
	resLost     = "lost"
	resOK       = "ok"
	resError    = "error"
)

func compRes(r compResult) *applyResult {
	b, _ := json.Marshal(r)
	return &applyResult{Data: b}
}

// applyComponent applies op at proposer time at (Unix ms); changed reports
// whether the state changed. It is deterministic.
func (s *State) applyComponent(op *compOp, at int64) (res *applyResult, changed bool) {
	if op == nil {
		return &applyResult{Err: "component: empty operation"}, false
	}
	if op.Op != compFormat && op.Name == "" {
		return &applyResult{Err: "component: no name"}, false
	}
	c := s.Components[op.Name]
	switch op.Op {
	case compAcquire:
		return s.acquireComponent(op, at)
	case compRenew:
		if c == nil || c.Lock == nil || c.Lock.Token != op.Token {
			return compRes(compResult{Result: resLost}), false
		}
		c.Lock.Expires = max(c.Lock.Expires, at+op.LeaseMs)
		return compRes(compResult{Result: resOK}), true
	case compFinish:
		if c != nil && c.Done == op.Token && op.Token != "" {
			return compRes(compResult{Result: resOK}), false
		}
		if c == nil || c.Lock == nil || c.Lock.Token != op.Token {
			return compRes(compResult{Result: resLost}), false
		}
		c.finish(op, at)
		return compRes(compResult{Result: resOK}), true
	case compExpire:
		if c == nil || c.Lock == nil || c.Lock.Token != op.Token || at < c.Lock.Expires {
			return compRes(compResult{Result: resLost}), false
		}
		c.lockLapsed(at)
		return compRes(compResult{Result: resOK}), true
	case compApplied:
		if c == nil || op.Node == "" || op.Applied == nil {
			return compRes(compResult{Result: resLost}), false
		}
		cur, ok := c.Applied[op.Node]
		if *op.Applied == (NodeApplied{}) {
			if !ok {
				return compRes(compResult{Result: resOK}), false
			}
			delete(c.Applied, op.Node)
			return compRes(compResult{Result: resOK}), true
		}
		if ok && cur == *op.Applied {
			return compRes(compResult{Result: resOK}), false
		}
		if c.Applied == nil {
			c.Applied = map[string]NodeApplied{}
		}
		c.Applied[op.Node] = *op.Applied
		return compRes(compResult{Result: resOK}), true
	case compFormat:
		sh := s.Components[ShoalComponent]
		if op.Format <= s.ActiveFormat() {
			return compRes(compResult{Result: resOK}), false
		}
		if sh == nil {
			sh = &Component{Name: ShoalComponent, Kind: kindBuiltin, State: CompActive}
			s.putComponent(sh)
		}
		sh.Format = op.Format
		sh.UpdatedAt = at
		sh.event(at, "format", "format "+strconv.Itoa(op.Format), op.Node, "")
		return compRes(compResult{Result: resOK}), true
	}
	return &applyResult{Err: "component: unknown operation " + op.Op}, false
}

func (s *State) putComponent(c *Component) {
	if s.Components == nil {
		s.Components = map[string]*Component{}
	}
	s.Components[c.Name] = c
}

// acquireComponent takes the deploy lock for op unless the request is
// already satisfied, conflicts with the active version, or another live
// deploy holds the lock. A lapsed lock is released first; a retry by the
// holder (same token, after a lost reply) acquires again.
func (s *State) acquireComponent(op *compOp, at int64) (*applyResult, bool) {
	c := s.Components[op.Name]
	changed := false
	if c != nil && c.Lock != nil && c.Lock.Token != op.Token && at >= c.Lock.Expires {
		c.lockLapsed(at)
		changed = true
	}
	mine := c != nil && c.Lock != nil && c.Lock.Token == op.Token
	if op.Undeploy {
		if c == nil || c.Kind == kindBuiltin {
			return &applyResult{Err: fmt.Sprintf("no such component '%s'", op.Name)}, changed
		}
		if !mine && c.Lock == nil && c.Active == "" {
			return compRes(compResult{Result: resAlready}), changed
		}
	} else if c != nil && !mine {
		if c.Active != "" && c.Active != op.Version && !op.Replace {
			return compRes(compResult{Result: resConflict, Active: c.Active}), changed
		}
		if c.Active == op.Version && c.Lock == nil {
			return compRes(compResult{Result: resAlready, Active: c.Active}), changed
		}
	}
	if c != nil && c.Lock != nil && !mine {
		return compRes(compResult{Result: resHeld, Owner: c.Lock.Owner, ExpiresIn: c.Lock.Expires - at}), changed
	}
	if mine {
		return compRes(compResult{Result: resAcquired, Active: c.Active}), changed
	}
	if c == nil {
		c = &Component{Name: op.Name, Kind: op.Kind}
		s.putComponent(c)
	}
	c.Lock = &DeployLock{Owner: op.Node, Token: op.Token, Since: at, Expires: at + op.LeaseMs}
	c.Reason = ""
	c.UpdatedAt = at
	if op.Undeploy {
		c.State = CompUndeploying
		c.Target, c.TargetKind, c.TargetPayload = "", "", nil
		c.event(at, "undeploying", c.Active, op.Node, "")
	} else {
		c.State = CompDeploying
		c.Target, c.TargetKind, c.TargetPayload = op.Version, op.Kind, op.Payload
		c.addVersion(op.Version)
		c.event(at, "deploying", op.Version, op.Node, "")
	}
	return compRes(compResult{Result: resAcquired, Active: c.Active}), true
}

// finish ends the deploy that holds the lock.
func (c *Component) finish(op *compOp, at int64) {
	undeploy := c.State == CompUndeploying
	switch {
	case op.OK && undeploy:
		c.event(at, "undeployed", c.Active, op.Node, op.Reason)
		c.Active, c.ActiveGen, c.Payload = "", "", nil
		c.State, c.Reason = CompUndeployed, ""
	case op.OK:
		reason := op.Reason
		if c.Active != "" && c.Active != c.Target {
			reason = strings.TrimSpace("replaced " + c.Active + "; " + reason)
			reason = strings.TrimSuffix(reason, ";")
		}
		c.Active, c.ActiveGen, c.Payload = c.Target, op.Token, c.TargetPayload
		if c.TargetKind != "" {
			c.Kind = c.TargetKind
		}
		c.State, c.Reason = CompActive, ""
		c.event(at, "active", c.Active, op.Node, reason)
	default:
		v := c.Target
		if undeploy {
			v = c.Active
		}
		c.State, c.Reason = CompFailed, op.Reason
		c.event(at, "failed", v, op.Node, op.Reason)
	}
	c.Target, c.TargetKind, c.TargetPayload = "", "", nil
	c.Lock = nil
	c.Done = op.Token
	c.UpdatedAt = at
}

// ActiveFormat is the cluster's active storage format.
func (s *State) ActiveFormat() int {
	if c := s.Components[ShoalComponent]; c != nil && c.Format > 0 {
		return c.Format
	}
	return baseFormat
}
