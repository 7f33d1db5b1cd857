package cluster

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/shoaldb/shoal/internal/failpoint"
)

// DeployRequest is COMPONENT DEPLOY's arguments.
type DeployRequest struct {
	Name        string        `json:"name"`
	Version     string        `json:"version"`
	Payload     []byte        `json:"payload,omitempty"`
	Kind        string        `json:"kind,omitempty"` // blob (default) or function
	Replace     bool          `json:"replace,omitempty"`
	LockTimeout time.Duration `json:"-"` // 0: DefaultLockTimeout
}

// ValidComponentName reports whether s may name a component: 1 to 128
// letters, digits, '_', '-' and '.', not starting with '.'.
func ValidComponentName(s string) bool {
	return validToken(s, maxComponentName, "_-.") && s[0] != '.'
}

// ValidComponentVersion reports whether s may name a version: 1 to 64
// letters, digits, '_', '-', '.' and '+'.
func ValidComponentVersion(s string) bool { return validToken(s, maxComponentVersion, "_-.+") }

func validToken(s string, maxLen int, extra string) bool {
	if s == "" || len(s) > maxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		ok := 'a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z' || '0' <= ch && ch <= '9' || strings.IndexByte(extra, ch) >= 0
		if !ok {
			return false
		}
	}
	return true
}

func checkComponentName(name string) error {
	if !ValidComponentName(name) {
		return errf("invalid component name '%s': use 1 to %d letters, digits, '_', '-' and '.'", name, maxComponentName)
	}
	if name == ShoalComponent {
		return errf("component '%s' is built in: it shows the nodes' builds and cannot be deployed", ShoalComponent)
	}
	return nil
}

// ComponentDeploy is COMPONENT DEPLOY: it makes r.Version of component
// r.Name the active version on every node and returns once it is, or the
// deploy failed. The active version again is a no-op; another active
// version without Replace is a VERSIONCONFLICT; a deploy lock held longer
// than r.LockTimeout is a LOCKTIMEOUT. ctx bounds only the wait for the
// lock: a deploy that holds it runs to its end.
func (n *Node) ComponentDeploy(ctx context.Context, r DeployRequest) error {
	if err := checkComponentName(r.Name); err != nil {
		return err
	}
	if !ValidComponentVersion(r.Version) {
		return errf("invalid component version '%s': use 1 to %d letters, digits, '_', '-', '.' and '+'", r.Version, maxComponentVersion)
	}
	switch strings.ToLower(r.Kind) {
	case "", KindBlob:
		r.Kind = KindBlob
	case KindFunction:
		r.Kind = KindFunction
		if fn := n.functions.Load(); fn == nil || (*fn).Check == nil {
			return errf("KIND function needs a node that runs functions")
		} else if err := (*fn).Check(r.Payload); err != nil {
			return errf("KIND function payload is not a library: %v", err)
		}
	default:
		return errf("unknown component kind '%s': use blob or function", r.Kind)
	}
	if len(r.Payload) > MaxComponentPayload {
		return errf("component payload of %d bytes is above the limit of %d bytes", len(r.Payload), MaxComponentPayload)
	}
	if err := n.MaintenanceGate("component|deploy"); err != nil {
		return err
	}
	op := &compOp{Op: compAcquire, Name: r.Name, Version: r.Version, Kind: r.Kind, Payload: r.Payload, Replace: r.Replace}
	return n.runDeploy(ctx, op, r.LockTimeout)
}

// ComponentUndeploy is COMPONENT UNDEPLOY: every node unloads component
// name, which keeps its record and history with no active version. It
// takes the deploy lock as a deploy does; with no active version it is a
// no-op.
func (n *Node) ComponentUndeploy(ctx context.Context, name string, lockTimeout time.Duration) error {
	if name == ShoalComponent {
		return errf("component '%s' is built in and cannot be undeployed", ShoalComponent)
	}
	if !ValidComponentName(name) {
		return errf("no such component '%s'", name)
	}
	if err := n.MaintenanceGate("component|undeploy"); err != nil {
		return err
	}
	return n.runDeploy(ctx, &compOp{Op: compAcquire, Name: name, Undeploy: true}, lockTimeout)
}

// runDeploy takes the lock for op, has every node apply the change, and
// ends the deploy.
func (n *Node) runDeploy(ctx context.Context, op *compOp, lockTimeout time.Duration) error {
	op.Node, op.Token, op.LeaseMs = n.cfg.ID, newNonce(), n.comp.lease.Milliseconds()
	res, err := n.acquireDeployLock(ctx, op, lockTimeout)
	if err != nil {
		return err
	}
	switch res.Result {
	case resAlready:
		if op.Undeploy {
			n.countDeploy("undeployed")
		} else {
			n.countDeploy("idempotent")
		}
		return nil
	case resConflict:
		n.countDeploy("conflict")
		return &Error{Code: "VERSIONCONFLICT", Msg: fmt.Sprintf("component=%s active=%s requested=%s hint=add REPLACE to replace %s, or COMPONENT UNDEPLOY %s first",
			op.Name, res.Active, op.Version, res.Active, op.Name)}
	case resError:
		return errf("%s", res.Msg)
	case resAcquired:
	default:
		return errf("unexpected deploy lock result %q", res.Result)
	}
	what := "deploy of " + op.Name + " " + op.Version
	if op.Undeploy {
		what = "undeploy of " + op.Name
	}
	n.log.Info("component "+what+" started", "token", op.Token)
	ok, reason, drive := n.driveDeploy(op)
	if drive != nil {
		n.countDeploy("failed")
		return drive
	}
	if err := n.finishDeploy(op, ok, reason); err != nil {
		n.countDeploy("failed")
		return err
	}
	n.awaitLocal(op)
	switch {
	case !ok:
		n.countDeploy("failed")
		n.log.Warn("component "+what+" failed", "reason", reason)
		return errf("%s failed: %s", what, reason)
	case op.Undeploy:
		n.countDeploy("undeployed")
	case res.Active != "" && res.Active != op.Version:
		n.countDeploy("replaced")
	default:
		n.countDeploy("ok")
	}
	n.log.Info("component "+what+" done", "note", reason)
	return nil
}

// acquireDeployLock proposes op until it acquires the lock or gets a
// definite answer (already, conflict, error), retrying while another
// deploy holds the lock or the catalog is unreachable, with exponential
// backoff from 10 ms to 1 s and full jitter, until timeout.
func (n *Node) acquireDeployLock(ctx context.Context, op *compOp, timeout time.Duration) (compResult, error) {
	if timeout <= 0 {
		timeout = DefaultLockTimeout
	}
	begin := time.Now()
	deadline := begin.Add(timeout)
	backoff := 10 * time.Millisecond
	var held compResult
	var lastErr error
retry:
	for {
		res, err := n.compPropose(op)
		switch {
		case err != nil:
			lastErr = err
		case res.Result == resHeld:
			held, lastErr = res, nil
		default:
			// NB: an answer without a wait (already, conflict) took no lock
			// and waited for none.
			if res.Result == resAcquired || !held.zero() {
				n.comp.lockWait.Observe(time.Since(begin).Seconds())
			}
			return res, nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			break
		}
		wait := min(time.Duration(rand.Int64N(int64(backoff)))+time.Millisecond, left)
		backoff = min(2*backoff, time.Second)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			lastErr = ctx.Err()
			break retry
		case <-n.stop:
			t.Stop()
			lastErr = errors.New("shutting down")
			break retry
		}
	}
	n.comp.lockWait.Observe(time.Since(begin).Seconds())
	if lastErr != nil {
		// NB: a lost reply may have given this deploy the lock: give it
		// back (best effort; otherwise the lease lapses).
		if _, err := n.compPropose(&compOp{Op: compFinish, Name: op.Name, Node: op.Node, Token: op.Token, Reason: "the deployer gave up"}); err != nil {
			n.log.Debug("releasing a deploy lock after a lost reply", "component", op.Name, "err", err)
		}
		if ctx.Err() != nil {
			return compResult{}, errf("COMPONENT %s of %s canceled while waiting for the deploy lock", deployVerb(op), op.Name)
		}
		n.countDeploy("unavailable")
		return compResult{}, &Error{Code: "TRYAGAIN", Msg: "the cluster catalog is not reachable: " + lastErr.Error()}
	}
	n.countDeploy("lock_timeout")
	return compResult{}, &Error{Code: "LOCKTIMEOUT", Msg: fmt.Sprintf("deploy lock for %s held by %s (expires in %d ms)", op.Name, held.Owner, max(held.ExpiresIn, 0))}
}

func deployVerb(op *compOp) string {
	if op.Undeploy {
		return "UNDEPLOY"
	}
	return "DEPLOY"
}

// errLockLost ends a deploy whose lock lapsed and was released or taken.
func errLockLost(name string) error {
	return errf("deploy of %s lost its deploy lock: its lease lapsed (component-lock-lease)", name)
}

// applyTimeout bounds the wait for every member to apply a deploy.
func (n *Node) applyTimeout() time.Duration { return max(10*time.Second, 2*n.cfg.NodeTimeout) }

// driveDeploy waits, holding the lock for op and renewing its lease,
// until every member that gossip does not declare failed applied the
// change; ok is false with a reason when one failed to or the wait timed
// out. err reports a lock lost meanwhile. The failpoint component/deploy
// ("delay:<ms>") makes the deploy slow before it waits.
func (n *Node) driveDeploy(op *compOp) (ok bool, reason string, err error) {
	renewEvery := n.comp.lease / 3
	lastRenew := time.Now()
	renew := func() error {
		if time.Since(lastRenew) < renewEvery {
			return nil
		}
		lastRenew = time.Now()
		res, err := n.compPropose(&compOp{Op: compRenew, Name: op.Name, Node: op.Node, Token: op.Token, LeaseMs: op.LeaseMs})
		if err == nil && res.Result == resLost {
			return errLockLost(op.Name)
		}
		return nil // unreachable: try again at the next step
	}
	if a := failpoint.Eval("component/deploy"); strings.HasPrefix(a, "delay") {
		for end := time.Now().Add(failpointDelay(a)); time.Now().Before(end); {
			if !n.sleep(min(10*time.Millisecond, time.Until(end))) {
				return false, "", errf("shutting down")
			}
			if err := renew(); err != nil {
				return false, "", err
			}
		}
	}
	n.kick()
	deadline := time.Now().Add(n.applyTimeout())
	seen := false
	for {
		st, _ := n.fsm.state()
		c := st.Components[op.Name]
		mine := c != nil && c.Lock != nil && c.Lock.Token == op.Token
		switch {
		case mine:
			seen = true
			waiting, skipped, failed := n.pendingNodes(st, c, op)
			if failed != "" {
				return false, failed, nil
			}
			if len(waiting) == 0 {
				if len(skipped) > 0 {
					return true, "skipped failed members " + strings.Join(skipped, ","), nil
				}
				return true, "", nil
			}
			if time.Now().After(deadline) {
				return false, fmt.Sprintf("not applied within %d ms by %s", n.applyTimeout().Milliseconds(), strings.Join(waiting, ",")), nil
			}
		case seen:
			return false, "", errLockLost(op.Name)
		case time.Now().After(deadline):
			return false, "this node's catalog did not show the deploy", nil
		}
		if err := renew(); err != nil {
			return false, "", err
		}
		if !n.sleep(10 * time.Millisecond) {
			return false, "", errf("shutting down")
		}
	}
}

// pendingNodes sorts the members by what they reported of op's change:
// waiting (not applied yet), skipped (failed by gossip, not waited for)
// and the first failure reported.
func (n *Node) pendingNodes(st *State, c *Component, op *compOp) (waiting, skipped []string, failed string) {
	ids := st.MemberIDs()
	if !slices.Contains(ids, n.cfg.ID) {
		ids = append(ids, n.cfg.ID)
	}
	for _, id := range ids {
		a := c.Applied[id]
		if a.FailedGen == op.Token && a.Err != "" {
			return nil, nil, fmt.Sprintf("node %s: %s", id, a.Err)
		}
		done := a.Version == "" && op.Undeploy || !op.Undeploy && a.Version == op.Version && a.Gen == op.Token
		switch {
		case done:
		case id != n.cfg.ID && n.health(id) == Failed:
			skipped = append(skipped, id)
		default:
			waiting = append(waiting, id)
		}
	}
	return waiting, skipped, ""
}

// finishDeploy records the deploy's end and releases the lock, retrying
// while the catalog is unreachable (for up to 5 s; the lease lapses
// otherwise, and the deploy counts as failed).
func (n *Node) finishDeploy(op *compOp, ok bool, reason string) error {
	fin := &compOp{Op: compFinish, Name: op.Name, Node: op.Node, Token: op.Token, OK: ok, Reason: reason}
	deadline := time.Now().Add(5 * time.Second)
	for backoff := 10 * time.Millisecond; ; backoff = min(2*backoff, 500*time.Millisecond) {
		res, err := n.compPropose(fin)
		if err == nil {
			if res.Result == resLost {
				return errLockLost(op.Name)
			}
			if res.Result == resError {
				return errf("%s", res.Msg)
			}
			return nil
		}
		if time.Now().After(deadline) {
			return &Error{Code: "TRYAGAIN", Msg: "the cluster catalog is not reachable to end the deploy: " + err.Error()}
		}
		if !n.sleep(backoff) {
			return errf("shutting down")
		}
	}
}

// awaitLocal waits (up to 2 s) until this node's copy of the catalog
// shows the end of op's deploy, so that a client reads its own deploy
// from the node that ran it.
func (n *Node) awaitLocal(op *compOp) {
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); {
		st, _ := n.fsm.state()
		if c := st.Components[op.Name]; c == nil || c.Done == op.Token || c.Lock == nil || c.Lock.Token != op.Token {
			return
		}
		if !n.sleep(5 * time.Millisecond) {
			return
		}
	}
}
