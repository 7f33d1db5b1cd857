package cluster

import (
	"encoding/json"
	"testing"
)

// The component records' state machine, driven through State.apply as the
// catalog's raft FSM runs it: each step is one entry at a proposer time,
// with the result it must give and whether the catalog epoch moves.

const testLease = 1000 // ms

func acquire(node, token, version string, replace bool) *compOp {
	return &compOp{Op: compAcquire, Name: "c", Version: version, Kind: KindBlob, Payload: []byte("p-" + version),
		Replace: replace, Node: node, Token: token, LeaseMs: testLease}
}

func undeploy(node, token string) *compOp {
	return &compOp{Op: compAcquire, Name: "c", Undeploy: true, Node: node, Token: token, LeaseMs: testLease}
}

func finish(token string, ok bool, reason string) *compOp {
	return &compOp{Op: compFinish, Name: "c", Node: "n", Token: token, OK: ok, Reason: reason}
}

type compStep struct {
	name string
	op   *compOp
	at   int64
	// want is the result word ("" for an Err result, then wantErr).
	want    string
	wantErr string
	changed bool
	check   func(t *testing.T, c *Component, r compResult)
}

func runCompSteps(t *testing.T, s *State, steps []compStep) {
	t.Helper()
	for _, st := range steps {
		before := s.Epoch
		res := s.apply(&command{Op: opComponent, Comp: st.op, At: st.at})
		var r compResult
		if len(res.Data) > 0 {
			if err := json.Unmarshal(res.Data, &r); err != nil {
				t.Fatalf("%s: result %s: %v", st.name, res.Data, err)
			}
		}
		if res.Err != st.wantErr || r.Result != st.want {
			t.Fatalf("%s: result %+v err %q, want %q err %q", st.name, r, res.Err, st.want, st.wantErr)
		}
		if changed := s.Epoch != before; changed != st.changed {
			t.Fatalf("%s: changed %v (epoch %d → %d), want %v", st.name, changed, before, s.Epoch, st.changed)
		}
		if st.check != nil {
			c := s.Components["c"]
			if c == nil {
				t.Fatalf("%s: no record", st.name)
			}
			st.check(t, c, r)
		}
	}
}

func lastEvent(c *Component) ComponentEvent {
	if len(c.History) == 0 {
		return ComponentEvent{}
	}
	return c.History[len(c.History)-1]
}

func TestComponentLockAcquireRenewRelease(t *testing.T) {
	s := newState()
	runCompSteps(t, s, []compStep{
		{name: "first deploy takes the lock", op: acquire("a", "t1", "v1", false), at: 100, want: resAcquired, changed: true,
			check: func(t *testing.T, c *Component, _ compResult) {
				if c.State != CompDeploying || c.Target != "v1" || c.Active != "" || c.Lock == nil ||
					c.Lock.Owner != "a" || c.Lock.Token != "t1" || c.Lock.Expires != 100+testLease {
					t.Fatalf("record %+v lock %+v", c, c.Lock)
				}
				if v, gen, p := c.desired(); v != "v1" || gen != "t1" || string(p) != "p-v1" {
					t.Fatalf("desired %q %q %q", v, gen, p)
				}
			}},
		{name: "a second deploy waits for the lock", op: acquire("b", "t2", "v1", false), at: 400, want: resHeld,
			check: func(t *testing.T, c *Component, r compResult) {
				if r.Owner != "a" || r.ExpiresIn != 700 {
					t.Fatalf("held by %q for %d ms, want a for 700", r.Owner, r.ExpiresIn)
				}
			}},
		{name: "the holder's retry after a lost reply acquires again", op: acquire("a", "t1", "v1", false), at: 450, want: resAcquired},
		{name: "renew by another token is refused", op: &compOp{Op: compRenew, Name: "c", Token: "t2", LeaseMs: testLease}, at: 500, want: resLost},
		{name: "renew by the holder extends the testLease", op: &compOp{Op: compRenew, Name: "c", Token: "t1", LeaseMs: testLease}, at: 900, want: resOK, changed: true,
			check: func(t *testing.T, c *Component, _ compResult) {
				if c.Lock.Expires != 1900 {
					t.Fatalf("expires %d, want 1900", c.Lock.Expires)
				}
			}},
		{name: "still held after the first testLease", op: acquire("b", "t2", "v1", false), at: 1500, want: resHeld},
		{name: "release by another token is refused", op: finish("t2", true, ""), at: 1600, want: resLost},
		{name: "the holder finishes", op: finish("t1", true, ""), at: 1700, want: resOK, changed: true,
			check: func(t *testing.T, c *Component, _ compResult) {
				if c.State != CompActive || c.Active != "v1" || c.ActiveGen != "t1" || string(c.Payload) != "p-v1" || c.Lock != nil || c.Target != "" {
					t.Fatalf("record %+v", c)
				}
				if e := lastEvent(c); e.Event != "active" || e.Version != "v1" || e.At != 1700 {
					t.Fatalf("last event %+v", e)
				}
			}},
		{name: "a repeated finish (lost reply) is a no-op", op: finish("t1", true, ""), at: 1800, want: resOK},
		{name: "the active version again changes nothing and takes no lock", op: acquire("b", "t3", "v1", false), at: 1900, want: resAlready,
			check: func(t *testing.T, c *Component, _ compResult) {
				if c.Lock != nil || c.UpdatedAt != 1700 {
					t.Fatalf("record %+v", c)
				}
			}},
	})
}

func TestComponentLockLapses(t *testing.T) {
	s := newState()
	runCompSteps(t, s, []compStep{
		{name: "v1 active", op: acquire("a", "t1", "v1", false), at: 0, want: resAcquired, changed: true},
		{name: "finish v1", op: finish("t1", true, ""), at: 10, want: resOK, changed: true},
		{name: "a replaces, then dies", op: acquire("a", "t2", "v2", true), at: 100, want: resAcquired, changed: true},
		{name: "expire before the testLease ends is refused", op: &compOp{Op: compExpire, Name: "c", Token: "t2"}, at: 1099, want: resLost},
		{name: "b waits while the testLease holds", op: acquire("b", "t3", "v3", true), at: 1099, want: resHeld},
		{name: "at expiry b takes the lock; a's deploy failed", op: acquire("b", "t3", "v3", true), at: 1100, want: resAcquired, changed: true,
			check: func(t *testing.T, c *Component, _ compResult) {
				if c.Lock.Owner != "b" || c.Target != "v3" || c.Active != "v1" {
					t.Fatalf("record %+v", c)
				}
				var lapsed bool
				for _, e := range c.History {
					lapsed = lapsed || e.Event == "lock-expired" && e.Node == "a" && e.Version == "v2"
				}
				if !lapsed {
					t.Fatalf("no lock-expired event for a's v2: %+v", c.History)
				}
			}},
		{name: "a's late renew is refused", op: &compOp{Op: compRenew, Name: "c", Token: "t2", LeaseMs: testLease}, at: 1200, want: resLost},
		{name: "a's late finish changes nothing", op: finish("t2", true, ""), at: 1200, want: resLost},
		{name: "the leader expires b's lapsed lock", op: &compOp{Op: compExpire, Name: "c", Token: "t3"}, at: 2100, want: resOK, changed: true,
			check: func(t *testing.T, c *Component, _ compResult) {
				if c.Lock != nil || c.State != CompFailed || c.Active != "v1" || c.Target != "" {
					t.Fatalf("record %+v", c)
				}
				if v, _, _ := c.desired(); v != "v1" {
					t.Fatalf("nodes should go back to v1, desired %q", v)
				}
			}},
	})
}

func TestComponentConflictAndReplace(t *testing.T) {
	s := newState()
	runCompSteps(t, s, []compStep{
		{name: "v1", op: acquire("a", "t1", "v1", false), at: 0, want: resAcquired, changed: true},
		{name: "a waiter for v2 while v1 deploys first", op: acquire("b", "t2", "v2", false), at: 1, want: resHeld},
		{name: "v1 active", op: finish("t1", true, ""), at: 2, want: resOK, changed: true},
		{name: "v2 without REPLACE conflicts", op: acquire("b", "t2", "v2", false), at: 3, want: resConflict,
			check: func(t *testing.T, c *Component, r compResult) {
				if r.Active != "v1" || c.Lock != nil {
					t.Fatalf("result %+v record %+v", r, c)
				}
			}},
		{name: "v2 with REPLACE", op: acquire("b", "t3", "v2", true), at: 4, want: resAcquired, changed: true,
			check: func(t *testing.T, c *Component, r compResult) {
				if r.Active != "v1" || c.Active != "v1" || c.Target != "v2" {
					t.Fatalf("result %+v record %+v", r, c)
				}
			}},
		{name: "a conflict is answered even while the lock is held", op: acquire("c", "t4", "v3", false), at: 5, want: resConflict},
		{name: "v2 fails", op: finish("t3", false, "node x: disk full"), at: 6, want: resOK, changed: true,
			check: func(t *testing.T, c *Component, _ compResult) {
				if c.State != CompFailed || c.Reason != "node x: disk full" || c.Active != "v1" || string(c.Payload) != "p-v1" {
					t.Fatalf("record %+v", c)
				}
			}},
		{name: "v2 with REPLACE again", op: acquire("b", "t5", "v2", true), at: 7, want: resAcquired, changed: true},
		{name: "v2 active", op: finish("t5", true, ""), at: 8, want: resOK, changed: true,
			check: func(t *testing.T, c *Component, _ compResult) {
				if c.Active != "v2" || c.State != CompActive || len(c.Versions) != 2 {
					t.Fatalf("record %+v", c)
				}
				if e := lastEvent(c); e.Reason != "replaced v1" {
					t.Fatalf("last event %+v", e)
				}
			}},
	})
}

func TestComponentUndeployAndReports(t *testing.T) {
	s := newState()
	applied := func(node string, a NodeApplied) *compOp {
		return &compOp{Op: compApplied, Name: "c", Node: node, Applied: &a}
	}
	runCompSteps(t, s, []compStep{
		{name: "undeploy of an unknown component", op: undeploy("a", "t0"), at: 0, wantErr: "no such component 'c'"},
		{name: "report on an unknown component is ignored", op: applied("a", NodeApplied{Version: "v1"}), at: 0, want: resLost},
		{name: "v1", op: acquire("a", "t1", "v1", false), at: 1, want: resAcquired, changed: true},
		{name: "a reports v1", op: applied("a", NodeApplied{Version: "v1", Gen: "t1"}), at: 2, want: resOK, changed: true},
		{name: "the same report again", op: applied("a", NodeApplied{Version: "v1", Gen: "t1"}), at: 3, want: resOK},
		{name: "b reports a failure", op: applied("b", NodeApplied{FailedGen: "t1", Err: "boom"}), at: 3, want: resOK, changed: true,
			check: func(t *testing.T, c *Component, _ compResult) {
				if c.Applied["a"].Version != "v1" || c.Applied["b"].Err != "boom" {
					t.Fatalf("applied %+v", c.Applied)
				}
			}},
		{name: "v1 active", op: finish("t1", true, ""), at: 4, want: resOK, changed: true},
		{name: "undeploy", op: undeploy("a", "t2"), at: 5, want: resAcquired, changed: true,
			check: func(t *testing.T, c *Component, _ compResult) {
				if c.State != CompUndeploying {
					t.Fatalf("record %+v", c)
				}
				if v, _, _ := c.desired(); v != "" {
					t.Fatalf("desired %q during an undeploy", v)
				}
			}},
		{name: "a reports nothing loaded", op: applied("a", NodeApplied{}), at: 6, want: resOK, changed: true,
			check: func(t *testing.T, c *Component, _ compResult) {
				if _, ok := c.Applied["a"]; ok {
					t.Fatalf("applied %+v", c.Applied)
				}
			}},
		{name: "undeployed", op: finish("t2", true, ""), at: 7, want: resOK, changed: true,
			check: func(t *testing.T, c *Component, _ compResult) {
				if c.State != CompUndeployed || c.Active != "" || c.Payload != nil || len(c.History) != 4 {
					t.Fatalf("record %+v", c)
				}
			}},
		{name: "undeploy again is a no-op", op: undeploy("a", "t3"), at: 8, want: resAlready},
		{name: "a new version after an undeploy needs no REPLACE", op: acquire("a", "t4", "v9", false), at: 9, want: resAcquired, changed: true},
	})
}

func TestComponentFormatOnlyMovesForward(t *testing.T) {
	s := newState()
	runCompSteps(t, s, []compStep{
		{name: "the base format is a no-op", op: &compOp{Op: compFormat, Format: baseFormat}, at: 1, want: resOK},
		{name: "format 2", op: &compOp{Op: compFormat, Format: 2}, at: 2, want: resOK, changed: true},
		{name: "back to 1 is refused", op: &compOp{Op: compFormat, Format: 1}, at: 3, want: resOK},
	})
	if f := s.ActiveFormat(); f != 2 {
		t.Fatalf("active format %d, want 2", f)
	}
}

func TestComponentBadOps(t *testing.T) {
	s := newState()
	for _, c := range []*command{
		{Op: opComponent},
		{Op: opComponent, Comp: &compOp{Op: "nope", Name: "c"}},
		{Op: opComponent, Comp: &compOp{Op: compAcquire}},
	} {
		if res := s.apply(c); res.Err == "" || s.Epoch != 0 {
			t.Fatalf("%+v: err %q epoch %d", c.Comp, res.Err, s.Epoch)
		}
	}
}

// A copy of the state taken by a reader does not move when the FSM goes
// on applying.
func TestComponentCloneIsolated(t *testing.T) {
	s := newState()
	s.apply(&command{Op: opComponent, Comp: acquire("a", "t1", "v1", false), At: 1})
	s.apply(&command{Op: opComponent, Comp: &compOp{Op: compApplied, Name: "c", Node: "a", Applied: &NodeApplied{Version: "v1", Gen: "t1"}}, At: 2})
	cp := s.clone()
	s.apply(&command{Op: opComponent, Comp: &compOp{Op: compRenew, Name: "c", Token: "t1", LeaseMs: 5000}, At: 3})
	s.apply(&command{Op: opComponent, Comp: &compOp{Op: compApplied, Name: "c", Node: "b", Applied: &NodeApplied{Version: "v1", Gen: "t1"}}, At: 4})
	s.apply(&command{Op: opComponent, Comp: finish("t1", true, ""), At: 5})
	c := cp.Components["c"]
	if c.Lock == nil || c.Lock.Expires != 1+testLease || len(c.Applied) != 1 || len(c.History) != 1 || c.State != CompDeploying {
		t.Fatalf("the copy moved: %+v lock %+v", c, c.Lock)
	}
}

func TestValidComponentNames(t *testing.T) {
	for _, tc := range []struct {
		s           string
		name, versn bool
	}{
		{"c1", true, true},
		{"my-lib_2.x", true, true},
		{"", false, false},
		{".hidden", false, true},
		{"a/b", false, false},
		{"a b", false, false},
		{"a:b", false, false},
		{"1.0.0+build7", false, true},
		{string(make([]byte, 200)), false, false},
	} {
		if got := ValidComponentName(tc.s); got != tc.name {
			t.Errorf("ValidComponentName(%q) = %v", tc.s, got)
		}
		if got := ValidComponentVersion(tc.s); got != tc.versn {
			t.Errorf("ValidComponentVersion(%q) = %v", tc.s, got)
		}
	}
}
