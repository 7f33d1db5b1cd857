package cluster

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/shoaldb/shoal/internal/failpoint"
)

// Deploy results, the values of shoal_component_deploys_total's label.
var deployResults = []string{"ok", "replaced", "idempotent", "conflict", "lock_timeout", "failed", "undeployed", "unavailable"}

// compNode is this node's share of components: what it loaded, and the
// deploys it ran.
type compNode struct {
	lease time.Duration
	// deriveMu serializes deriveComponents.
	deriveMu sync.Mutex
	mu       struct {
		sync.Mutex
		loaded map[string]loadedComponent
	}
	deploys  *prometheus.CounterVec
	lockWait prometheus.Histogram
	counts   map[string]*atomic.Int64 // by deploy result, for INFO
}

// loadedComponent is a component version this node runs.
type loadedComponent struct {
	version, gen, digest string
}

func (n *Node) initComponents(reg prometheus.Registerer) {
	c := &n.comp
	c.lease = n.cfg.ComponentLockLease
	if c.lease <= 0 {
		c.lease = defaultLockLease
	}
	c.mu.loaded = map[string]loadedComponent{}
	c.counts = map[string]*atomic.Int64{}
	c.deploys = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "shoal_component_deploys_total",
		Help: "COMPONENT DEPLOY and UNDEPLOY calls run by this node, by result."}, []string{"result"})
	for _, r := range deployResults {
		c.deploys.WithLabelValues(r)
		c.counts[r] = new(atomic.Int64)
	}
	c.lockWait = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "shoal_component_lock_wait_seconds",
		Help:    "Time deploys run by this node waited for a component's deploy lock, until they took it or gave up.",
		Buckets: prometheus.ExponentialBuckets(0.001, 4, 10)})
	reg.MustRegister(c.deploys, c.lockWait)
}

func (n *Node) countDeploy(result string) {
	n.comp.counts[result].Add(1)
	n.comp.deploys.WithLabelValues(result).Inc()
}

// deriveComponents makes this node run the version of each component the
// catalog asks for (the target of a deploy in progress, else the active
// version), and reports what it runs in the catalog. On the catalog
// leader it also releases lapsed deploy locks and opens the storage
// format gate. It is idempotent; an error is retried by the caller, but
// an active storage format this build does not support is Permanent.
func (n *Node) deriveComponents(st *State) error {
	n.comp.deriveMu.Lock()
	defer n.comp.deriveMu.Unlock()
	errs := []error{checkActiveFormat(st.ActiveFormat())}
	me := n.cfg.ID
	for _, name := range componentNames(st) {
		c := st.Components[name]
		if c.Kind == kindBuiltin {
			continue
		}
		version, gen, payload := c.desired()
		n.comp.mu.Lock()
		have, ok := n.comp.mu.loaded[name]
		n.comp.mu.Unlock()
		var report NodeApplied
		if ok {
			report = NodeApplied{Version: have.version, Gen: have.gen}
		}
		digest := payloadDigest(payload)
		if version != have.version || (version != "" && digest != have.digest) {
			if err := n.loadComponent(name, version, c.desiredKind(), payload); err != nil {
				errs = append(errs, fmt.Errorf("component %s version %s: %w", name, version, err))
				report.FailedGen, report.Err = gen, err.Error()
			} else {
				have, report = loadedComponent{version: version, gen: gen, digest: digest}, NodeApplied{Version: version, Gen: gen}
			}
		} else if version != "" && have.gen != gen {
			have.gen, report = gen, NodeApplied{Version: version, Gen: gen}
		}
		if report.Err == "" {
			n.comp.mu.Lock()
			if have.version == "" {
				delete(n.comp.mu.loaded, name)
				report = NodeApplied{}
			} else {
				n.comp.mu.loaded[name] = have
			}
			n.comp.mu.Unlock()
		}
		if c.Applied[me] == report {
			continue
		}
		r := report
		if _, err := n.compPropose(&compOp{Op: compApplied, Name: name, Node: me, Applied: &r}); err != nil {
			errs = append(errs, fmt.Errorf("reporting component %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// componentNames returns the names of the catalog's components in order.
func componentNames(st *State) []string {
	names := make([]string, 0, len(st.Components))
	for name := range st.Components {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

func payloadDigest(p []byte) string {
	h := sha256.Sum256(p)
	return hex.EncodeToString(h[:])
}

// componentsDir holds the payload of each component this node runs, one
// file per component named after it.
func (n *Node) componentsDir() string { return filepath.Join(n.cfg.Dir, "components") }

// FunctionLoader loads and unloads function libraries for components of
// KIND function: the server's FUNCTION LOAD REPLACE and FUNCTION DELETE.
type FunctionLoader struct {
	// Check reports whether code is a library that would load.
	Check func(code []byte) error
	// Load loads code, replacing a library of the same name.
	Load func(code []byte) error
	// Unload deletes the library code defines.
	Unload func(code []byte) error
}

// SetFunctionLoader installs what loads KIND function components.
func (n *Node) SetFunctionLoader(f FunctionLoader) { n.functions.Store(&f) }

// loadComponent makes version (with payload) the one this node runs of
// component name: a blob is written to its file, a function library is
// loaded too; version "" removes it. The failpoint component/apply makes
// it fail ("error") or slow ("delay:<ms>").
func (n *Node) loadComponent(name, version, kind string, payload []byte) error {
	path := filepath.Join(n.componentsDir(), name+".blob")
	fl := n.functions.Load()
	if version == "" {
		if fl != nil {
			if old, err := os.ReadFile(path); err == nil && isLibrary(old) {
				if err := (*fl).Unload(old); err != nil {
					return err
				}
			}
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		n.log.Info("component unloaded", "component", name)
		return nil
	}
	switch a := failpoint.Eval("component/apply"); {
	case a == "error":
		return errors.New("failpoint component/apply")
	case strings.HasPrefix(a, "delay"):
		n.sleep(failpointDelay(a))
	}
	if err := os.MkdirAll(n.componentsDir(), 0o755); err != nil {
		return err
	}
	if kind == KindFunction {
		if fl == nil {
			return errors.New("this node does not run functions")
		}
		if err := (*fl).Load(payload); err != nil {
			return err
		}
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, payload, 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	n.log.Info("component loaded", "component", name, "version", version, "bytes", len(payload))
	return nil
}

// isLibrary reports whether a component's payload is a function library.
func isLibrary(p []byte) bool { return strings.HasPrefix(string(p), "#!lua") }

// failpointDelay reads a "delay" or "delay:<ms>" action; 1 s by default.
func failpointDelay(action string) time.Duration {
	if _, ms, ok := strings.Cut(action, ":"); ok {
		if v, err := strconv.Atoi(ms); err == nil && v >= 0 {
			return time.Duration(v) * time.Millisecond
		}
	}
	return time.Second
}

// sleep waits d or until the node closes.
func (n *Node) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-n.stop:
		return false
	}
}

// expireDeployLocks releases the deploy locks whose lease lapsed (catalog
// leader): a holder that died leaves its deploy failed, not stuck.
func (n *Node) expireDeployLocks(st *State) error {
	now := time.Now().UnixMilli()
	var errs []error
	for _, name := range componentNames(st) {
		c := st.Components[name]
		if c.Lock == nil || now < c.Lock.Expires {
			continue
		}
		res, err := n.compPropose(&compOp{Op: compExpire, Name: name, Token: c.Lock.Token, Node: n.cfg.ID})
		if err != nil {
			errs = append(errs, fmt.Errorf("releasing the lapsed deploy lock of %s: %w", name, err))
		} else if res.Result == resOK {
			n.log.Warn("deploy lock lapsed: the deploy failed", "component", name, "owner", c.Lock.Owner)
		}
	}
	return errors.Join(errs...)
}

// memberFormats returns, by member id, the storage formats each catalog
// member's build supports as gossip last said (nil when unknown); a plain
// node is its only member.
func (n *Node) memberFormats(st *State) (ids []string, sup map[string]*FormatSupport) {
	ids = st.MemberIDs()
	if !slices.Contains(ids, n.cfg.ID) {
		ids = append(ids, n.cfg.ID)
		sort.Strings(ids)
	}
	sup = map[string]*FormatSupport{}
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, id := range ids {
		if id == n.cfg.ID {
			l := localFormats()
			sup[id] = &l
			continue
		}
		if m, ok := n.mu.metas[id]; ok && len(m.Writes) > 0 {
			sup[id] = &FormatSupport{Reads: slices.Clone(m.Reads), Writes: slices.Clone(m.Writes)}
		} else {
			sup[id] = nil
		}
	}
	return ids, sup
}

// openFormatGate records a newer active storage format once every member
// supports it (catalog leader).
func (n *Node) openFormatGate(st *State) error {
	ids, sup := n.memberFormats(st)
	all := make([]*FormatSupport, 0, len(ids))
	for _, id := range ids {
		all = append(all, sup[id])
	}
	cur := st.ActiveFormat()
	f := gateFormat(cur, all)
	if f <= cur {
		return nil
	}
	if _, err := n.compPropose(&compOp{Op: compFormat, Format: f, Node: n.cfg.ID}); err != nil {
		return fmt.Errorf("activating storage format %d: %w", f, err)
	}
	n.log.Warn("storage format activated: every member supports it", "format", f, "was", cur)
	return nil
}

// compPropose applies a component operation through the catalog leader.
// err is a failure to reach the catalog (worth a retry); an operation the
// catalog refused comes back as Result "error".
func (n *Node) compPropose(op *compOp) (compResult, error) {
	resp, err := n.propose(&command{Op: opComponent, Comp: op})
	if err != nil {
		return compResult{}, err
	}
	if resp.Err != "" {
		return compResult{Result: resError, Msg: resp.Err}, nil
	}
	var r compResult
	if len(resp.Data) > 0 {
		if err := json.Unmarshal(resp.Data, &r); err != nil {
			return compResult{}, err
		}
	}
	return r, nil
}
