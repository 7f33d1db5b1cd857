package cluster

import (
	"errors"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/shoaldb/shoal/internal/failpoint"
)

// testPipe is a schema pipeline with a scripted derive function, a catalog
// whose epoch the test sets, a clock the test moves and a sleep that
// records its delays and returns at once.
type testPipe struct {
	*schemaPipe
	t       *testing.T
	catalog uint64 // epoch of the snapshot a resync reads
	clock   time.Time
	delays  []time.Duration
	calls   []deriveCall
	// fail are the errors of the next derive calls, in order; nil succeeds.
	fail []error
}

type deriveCall struct {
	epoch uint64
	full  bool
}

var errTransient = errors.New("transient")

func newTestPipe(t *testing.T, cfg SchemaConfig) *testPipe {
	tp := &testPipe{t: t, clock: time.Unix(1_700_000_000, 0)}
	m := newSchemaMetrics()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	tp.schemaPipe = newSchemaPipe(cfg, log, m,
		func(st *State, full bool) error {
			tp.calls = append(tp.calls, deriveCall{st.Epoch, full})
			if len(tp.fail) == 0 {
				return nil
			}
			err := tp.fail[0]
			tp.fail = tp.fail[1:]
			return err
		},
		func() *State { return &State{Epoch: tp.catalog} })
	tp.now = func() time.Time { return tp.clock }
	tp.sleep = func(d time.Duration, stop <-chan struct{}) bool {
		tp.delays = append(tp.delays, d)
		return true
	}
	tp.jitter = func(d time.Duration) time.Duration { return d }
	tp.mu.nextPeriodic = tp.clock.Add(cfg.ResyncInterval)
	m.register(prometheus.NewRegistry(), tp.schemaPipe)
	return tp
}

// change records catalog epochs e... as events and hands over the state at
// the last one, as the FSM's hook and the node's loop do.
func (tp *testPipe) change(epochs ...uint64) {
	for _, e := range epochs {
		tp.observe(e)
		tp.catalog = e
	}
	tp.offer(&State{Epoch: tp.catalog})
}

// drain runs steps until there is no work left, at most 100.
func (tp *testPipe) drain() {
	tp.t.Helper()
	for range 100 {
		if !tp.step(nil) {
			return
		}
	}
	tp.t.Fatal("the pipeline still has work after 100 steps")
}

func (tp *testPipe) wantStatus(want SchemaStatus) {
	tp.t.Helper()
	got := tp.status()
	got.LastResyncAt = 0
	if got != want {
		tp.t.Fatalf("status\n got %+v\nwant %+v", got, want)
	}
}

func (tp *testPipe) events(result string) float64 {
	return counterValue(tp.m.events.WithLabelValues(result))
}

func (tp *testPipe) resyncs(reason string) float64 {
	return counterValue(tp.m.resyncs.WithLabelValues(reason))
}

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

var testSchemaConfig = SchemaConfig{RetryBase: 100 * time.Millisecond, MaxRetries: 5}

func TestSchemaPipeAppliesEvents(t *testing.T) {
	tp := newTestPipe(t, testSchemaConfig)
	tp.wantStatus(SchemaStatus{})
	if tp.step(nil) {
		t.Fatal("work without events")
	}
	tp.change(1, 2, 3)
	tp.wantStatus(SchemaStatus{Epoch: 3, PendingEvents: 3})
	tp.drain()
	if want := []deriveCall{{3, false}}; !slices.Equal(tp.calls, want) {
		t.Fatalf("derive calls %v, want %v", tp.calls, want)
	}
	tp.wantStatus(SchemaStatus{Epoch: 3, AppliedEpoch: 3})
	if got := tp.events(eventApplied); got != 3 {
		t.Fatalf("applied events %v, want 3", got)
	}

	// An event the loop has not handed the state of yet waits for it.
	tp.observe(4)
	tp.catalog = 4
	if tp.step(nil) {
		t.Fatal("applied an event before its state was handed over")
	}
	tp.wantStatus(SchemaStatus{Epoch: 4, AppliedEpoch: 3, PendingEvents: 1})
	tp.offer(&State{Epoch: 4})
	tp.drain()
	tp.wantStatus(SchemaStatus{Epoch: 4, AppliedEpoch: 4})

	// An entry that left the epoch alone is no event.
	tp.change(4)
	if tp.step(nil) {
		t.Fatal("an unchanged epoch made work")
	}
}

func TestSchemaPipeRetriesWithBackoff(t *testing.T) {
	tp := newTestPipe(t, testSchemaConfig)
	tp.fail = []error{errTransient, errTransient, errTransient}
	tp.change(1)
	tp.drain()
	if want := []time.Duration{ms(100), ms(200), ms(400)}; !slices.Equal(tp.delays, want) {
		t.Fatalf("delays %v, want %v", tp.delays, want)
	}
	if len(tp.calls) != 4 {
		t.Fatalf("%d derive calls, want 4", len(tp.calls))
	}
	tp.wantStatus(SchemaStatus{Epoch: 1, AppliedEpoch: 1, Retries: 3})
	if got := counterValue(tp.m.retries); got != 3 {
		t.Fatalf("retries metric %v, want 3", got)
	}
	if got := counterValue(tp.m.exhausted); got != 0 {
		t.Fatalf("exhausted metric %v, want 0", got)
	}
}

func TestSchemaPipeRetryExhaustedResyncsOnce(t *testing.T) {
	tp := newTestPipe(t, testSchemaConfig)
	tp.change(1)
	tp.drain()
	// Six failures: the first try and five retries.
	tp.fail = slices.Repeat([]error{errTransient}, 6)
	tp.change(2)
	if !tp.step(nil) {
		t.Fatal("no work")
	}
	tp.wantStatus(SchemaStatus{Epoch: 2, AppliedEpoch: 1, Dirty: true, Retries: 5})
	if tp.mu.resync != ResyncRetryExhausted {
		t.Fatalf("queued resync %q, want %q", tp.mu.resync, ResyncRetryExhausted)
	}
	// Events meanwhile are covered by the resync, which reads the newest
	// catalog.
	tp.change(3)
	tp.drain()
	want := []time.Duration{ms(100), ms(200), ms(400), ms(800), ms(1600)}
	if !slices.Equal(tp.delays, want) {
		t.Fatalf("delays %v, want %v", tp.delays, want)
	}
	if last := tp.calls[len(tp.calls)-1]; last != (deriveCall{3, true}) {
		t.Fatalf("last derive %v, want a full resync at epoch 3", last)
	}
	tp.wantStatus(SchemaStatus{Epoch: 3, AppliedEpoch: 3, LastResyncReason: ResyncRetryExhausted, Retries: 5, Resyncs: 1})
	if got := counterValue(tp.m.exhausted); got != 1 {
		t.Fatalf("exhausted metric %v, want 1", got)
	}
	if got := tp.resyncs(ResyncRetryExhausted); got != 1 {
		t.Fatalf("resyncs{retry_exhausted} %v, want 1", got)
	}
	if tp.events(eventFailed) != 1 || tp.events(eventResynced) != 1 {
		t.Fatalf("events failed %v resynced %v, want 1 and 1", tp.events(eventFailed), tp.events(eventResynced))
	}
}

func TestSchemaPipeZeroRetries(t *testing.T) {
	tp := newTestPipe(t, SchemaConfig{RetryBase: ms(100)})
	tp.fail = []error{errTransient}
	tp.change(1)
	tp.drain()
	if len(tp.delays) != 0 {
		t.Fatalf("delays %v, want none", tp.delays)
	}
	tp.wantStatus(SchemaStatus{Epoch: 1, AppliedEpoch: 1, LastResyncReason: ResyncRetryExhausted, Resyncs: 1})
}

func TestSchemaPipeBackoff(t *testing.T) {
	tp := newTestPipe(t, SchemaConfig{RetryBase: ms(100), MaxRetries: 50})
	var got []time.Duration
	for a := range 8 {
		got = append(got, tp.backoff(a))
	}
	want := []time.Duration{ms(100), ms(200), ms(400), ms(800), ms(1600), ms(3200), 5 * time.Second, 5 * time.Second}
	if !slices.Equal(got, want) {
		t.Fatalf("backoff %v, want %v", got, want)
	}
	if d := tp.backoff(200); d != 5*time.Second {
		t.Fatalf("backoff(200) = %v, want the 5 s cap", d)
	}
	long := newTestPipe(t, SchemaConfig{RetryBase: 8 * time.Second})
	if d := long.backoff(3); d != 8*time.Second {
		t.Fatalf("a base above the cap: backoff %v, want 8s", d)
	}
	for range 1000 {
		if d := halfJitter(ms(100)); d < ms(50) || d > ms(100) {
			t.Fatalf("halfJitter(100ms) = %v, outside [50ms, 100ms]", d)
		}
	}
}

func TestSchemaPipeGapResyncs(t *testing.T) {
	tp := newTestPipe(t, testSchemaConfig)
	tp.change(1)
	tp.drain()
	// Epoch 2's event is lost; 3 reveals the gap.
	tp.catalog = 2
	tp.change(3)
	tp.drain()
	tp.wantStatus(SchemaStatus{Epoch: 3, AppliedEpoch: 3, LastResyncReason: ResyncGap, Resyncs: 1})
	if last := tp.calls[len(tp.calls)-1]; last != (deriveCall{3, true}) {
		t.Fatalf("last derive %v, want a full resync at epoch 3", last)
	}
	// A restored snapshot jumps ahead the same way.
	tp.change(40)
	tp.drain()
	tp.wantStatus(SchemaStatus{Epoch: 40, AppliedEpoch: 40, LastResyncReason: ResyncGap, Resyncs: 2})
	tp.change(41)
	tp.drain()
	tp.wantStatus(SchemaStatus{Epoch: 41, AppliedEpoch: 41, LastResyncReason: ResyncGap, Resyncs: 2})
}

func TestSchemaPipeDropFailpoint(t *testing.T) {
	if err := failpoint.Set("schema/drop", "1*drop"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { failpoint.Set("schema/drop", "off") })
	tp := newTestPipe(t, testSchemaConfig)
	tp.change(1)
	tp.drain()
	tp.wantStatus(SchemaStatus{Epoch: 1})
	if tp.events(eventDropped) != 1 {
		t.Fatalf("dropped events %v, want 1", tp.events(eventDropped))
	}
	tp.change(2)
	tp.drain()
	// The first event ever taken has nothing to be contiguous with.
	tp.wantStatus(SchemaStatus{Epoch: 2, AppliedEpoch: 2})
}

func TestSchemaPipeFirstEventLoads(t *testing.T) {
	// A node that restarts from a raft snapshot sees its epoch first.
	tp := newTestPipe(t, testSchemaConfig)
	tp.change(17, 18)
	tp.drain()
	tp.wantStatus(SchemaStatus{Epoch: 18, AppliedEpoch: 18})
}

func TestSchemaPipePermanentDoesNotLoop(t *testing.T) {
	tp := newTestPipe(t, testSchemaConfig)
	perm := &Permanent{Err: errors.New("unsupported format 9")}
	tp.fail = []error{perm}
	tp.change(1)
	tp.drain()
	if len(tp.calls) != 1 || len(tp.delays) != 0 {
		t.Fatalf("%d derive calls and delays %v after a permanent error, want 1 call and no delay", len(tp.calls), tp.delays)
	}
	tp.wantStatus(SchemaStatus{Epoch: 1, Dirty: true, Degraded: true, DegradedError: perm.Error()})

	// A later change applies, but only a resync clears the degradation.
	tp.change(2)
	tp.drain()
	tp.wantStatus(SchemaStatus{Epoch: 2, AppliedEpoch: 2, Dirty: true, Degraded: true, DegradedError: perm.Error()})

	// A resync that meets the permanent error again is not retried.
	tp.fail = []error{perm}
	tp.request(ResyncManual)
	tp.drain()
	tp.wantStatus(SchemaStatus{Epoch: 2, AppliedEpoch: 2, Dirty: true, Degraded: true, DegradedError: perm.Error(),
		LastResyncReason: ResyncManual, Resyncs: 1})
	if len(tp.delays) != 0 {
		t.Fatalf("delays %v, want none", tp.delays)
	}

	// Wrapped and joined, it is still permanent.
	tp.fail = []error{errors.Join(errTransient, errors.Join(perm))}
	tp.change(3)
	tp.drain()
	if len(tp.delays) != 0 {
		t.Fatalf("a joined permanent error was retried: delays %v", tp.delays)
	}

	tp.request(ResyncManual)
	tp.drain()
	tp.wantStatus(SchemaStatus{Epoch: 3, AppliedEpoch: 3, LastResyncReason: ResyncManual, Resyncs: 2})
}

func TestSchemaPipeResyncRetriesTransientFailures(t *testing.T) {
	tp := newTestPipe(t, testSchemaConfig)
	tp.catalog = 5
	tp.fail = slices.Repeat([]error{errTransient}, 8)
	tp.request(ResyncManual)
	tp.drain()
	tp.wantStatus(SchemaStatus{AppliedEpoch: 5, LastResyncReason: ResyncManual, Retries: 8, Resyncs: 1})
	if len(tp.delays) != 8 || tp.delays[7] != 5*time.Second {
		t.Fatalf("delays %v, want 8 growing to the 5 s cap", tp.delays)
	}
}

func TestSchemaPipePeriodicResync(t *testing.T) {
	tp := newTestPipe(t, SchemaConfig{RetryBase: ms(100), MaxRetries: 5, ResyncInterval: time.Minute})
	tp.catalog = 2
	if tp.step(nil) {
		t.Fatal("a resync before the interval passed")
	}
	tp.clock = tp.clock.Add(time.Minute)
	tp.drain()
	tp.wantStatus(SchemaStatus{AppliedEpoch: 2, LastResyncReason: ResyncPeriodic, Resyncs: 1})
	// The next one is due an interval after the last resync of any kind.
	tp.clock = tp.clock.Add(30 * time.Second)
	tp.request(ResyncManual)
	tp.drain()
	tp.clock = tp.clock.Add(59 * time.Second)
	if tp.step(nil) {
		t.Fatal("a periodic resync less than an interval after the last resync")
	}
	tp.clock = tp.clock.Add(time.Second)
	tp.drain()
	tp.wantStatus(SchemaStatus{AppliedEpoch: 2, LastResyncReason: ResyncPeriodic, Resyncs: 3})
}

func TestSchemaPipeTriggersCoalesce(t *testing.T) {
	tp := newTestPipe(t, testSchemaConfig)
	tp.request(ResyncPeriodic)
	tp.request(ResyncManual)
	tp.request(ResyncManual)
	tp.request(ResyncGap)
	tp.request(ResyncManual)
	tp.drain()
	tp.wantStatus(SchemaStatus{LastResyncReason: ResyncGap, Resyncs: 1})
}

// TestSchemaPipeRun runs the pipeline's goroutine with real time and tiny
// delays, and stops it in the middle of a backoff.
func TestSchemaPipeRun(t *testing.T) {
	var mu sync.Mutex
	fails := 2
	p := newSchemaPipe(SchemaConfig{RetryBase: time.Millisecond, MaxRetries: 5, ResyncInterval: 20 * time.Millisecond},
		slog.New(slog.NewTextHandler(io.Discard, nil)), newSchemaMetrics(),
		func(st *State, full bool) error {
			mu.Lock()
			defer mu.Unlock()
			if fails > 0 {
				fails--
				return errTransient
			}
			return nil
		},
		func() *State { return &State{Epoch: 1} })
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.run(stop)
	}()
	p.observe(1)
	p.offer(&State{Epoch: 1})
	waitCond(t, "the event applied and two periodic resyncs", func() bool {
		s := p.status()
		return s.AppliedEpoch == 1 && s.Retries == 2 && s.Resyncs >= 2 && s.LastResyncReason == ResyncPeriodic
	})
	mu.Lock()
	fails = 1 << 30
	mu.Unlock()
	p.request(ResyncManual)
	waitCond(t, "a failing resync retrying", func() bool { return p.status().Retries > 4 })
	close(stop)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after stop")
	}
}

func waitCond(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}
