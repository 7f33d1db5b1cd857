package server

import (
	"runtime"
	"sync"

	"github.com/shoaldb/shoal/commands"
	"github.com/shoaldb/shoal/replication"
	"github.com/shoaldb/shoal/storage"
)

// parallelApplier runs a redis-server primary's command stream on several
// master clients at once: a command whose keys all fall in one worker's
// share of the key lock stripes runs on that worker, in stream order with
// the other commands of that share, so commands on one key keep their
// order and no two workers ever wait for each other's locks. What it
// cannot place runs on the main master client after a barrier: the
// workers finish what they were handed and their work moves into the main
// client's Tx (storage.Tx.Absorb), whose locks it then holds, so every
// later command runs on the main client until the next commit. Barriers
// are the writes whose keys are not known (scripts, FLUSHALL, SWAPDB,
// FUNCTION, SORT, MOVE, COPY), commands whose keys span workers, and EXEC.
// A MULTI queues on the main client; its EXEC then runs there whole.
//
// Commit stops the workers, gathers their work into the main client's Tx
// and commits it with the upstream mark as one batch: the mark never
// covers less or more than the commands applied before it, and readers
// see a transaction whole or not at all. The batch commits on a goroutine
// of its own while the stream goes on with the spare main client: until
// it ends, its Tx holds the locks of every key it wrote, so a later
// command on one of them waits for it (and reads what it wrote), and a
// barrier, whose reads may take no lock, waits for it first. A worker
// that holds locks and meets one of those keys waits for the commit
// while holding them, where a Tx would commit what it holds first: its
// writes commit only with the next mark. The committing Tx takes no
// lock, so no two wait for each other. The next
// commit waits for it too, so marks commit in order; once one fails,
// nothing commits until Reset, as the commands after it were applied on
// writes that were lost.
//
// It is used by one goroutine at a time, as every Applier; the workers
// live from the first command handed to them to the next barrier, commit
// or reset, which waits for them, and the committing goroutine until the
// next Commit, Flush or Reset.
type parallelApplier struct {
	s    *Server
	main *masterClient
	// spare is the main client whose batch may be committing: the two
	// take turns.
	spare   *masterClient
	ws      []*applyWorker
	running sync.WaitGroup
	started bool
	// handed counts the argument bytes handed to workers since the last
	// commit, for PendingBytes.
	handed int
	// committing is closed when the batch committing in the background
	// is committed or failed (err set); nil when none is.
	committing chan struct{}
	// held is the set of lock stripes the committing batch holds.
	held storage.StripeSet
	err  error
}

// applyWorker is one worker of a parallelApplier: a master client of its
// own and the commands handed to it and not yet sent.
type applyWorker struct {
	mc   *masterClient
	jobs chan []applyJob
	pend []applyJob
}

// applyJob is one command of the stream and the database it runs in.
type applyJob struct {
	db   int
	args [][]byte
}

// applyChunk is the number of commands handed to a worker at once.
const applyChunk = 64

// maxApplyWorkers bounds the workers of a parallelApplier.
const maxApplyWorkers = 4

// unknownKeys are the commands with keys whose effects reach other keys
// or databases than those their key positions name.
var unknownKeys = map[string]bool{"sort": true, "sort_ro": true, "move": true, "copy": true}

// newApplier is the replication manager's Applier factory: one worker per
// processor, up to maxApplyWorkers; a single processor applies in order
// on the main master client alone.
func (s *Server) newApplier() replication.Applier {
	p := &parallelApplier{s: s, main: s.newMasterClient(), spare: s.newMasterClient()}
	if n := min(runtime.GOMAXPROCS(0), maxApplyWorkers); n > 1 {
		for range n {
			w := &applyWorker{mc: s.newMasterClient()}
			w.mc.c.tx.SetLockWait(p.awaitCommit)
			p.ws = append(p.ws, w)
		}
	}
	return p
}

// Apply implements replication.Applier. The error of a command run by a
// worker is logged by the worker, not returned.
func (p *parallelApplier) Apply(args [][]byte) error {
	w, barrier := p.route(args)
	if w != nil {
		p.hand(w, args)
		return nil
	}
	if barrier {
		p.Flush() // NB: a failed commit is reported by the next Commit
	}
	return p.main.Apply(args)
}

// route returns the worker that runs args, or nil for the main client,
// with barrier set when the workers must hand their work over first.
func (p *parallelApplier) route(args [][]byte) (w *applyWorker, barrier bool) {
	tx := p.main.c.tx
	if len(p.ws) == 0 {
		return nil, false
	}
	if tx.Holding() || tx.Pending() {
		// The main client alone until the next commit; the workers are
		// idle (gather is then a no-op), as only a barrier gives the main
		// client keys.
		return nil, true
	}
	cmd := p.s.table.Lookup(args[0])
	if cmd == nil {
		return nil, false // an error that changes nothing
	}
	group := cmd.Group
	if len(cmd.Subcommands) > 0 && len(args) >= 2 {
		if sub := cmd.Sub(args[1]); sub != nil {
			cmd = sub
		}
	}
	if p.main.InMulti() {
		return nil, cmd.Name == "exec"
	}
	if !cmd.ArityOK(len(args)) {
		return nil, false
	}
	if group == "scripting" || cmd.Group == "scripting" || unknownKeys[cmd.Name] {
		return nil, true
	}
	keys := cmd.KeyPositions(args)
	if len(keys) == 0 {
		// SELECT, PING, MULTI, PUBLISH touch no key: they run in place.
		return nil, cmd.Flags.Has(commands.Write)
	}
	db, n := p.main.DB(), uint32(len(p.ws))
	at := -1
	for _, i := range keys {
		if i >= len(args) {
			return nil, true
		}
		k := int(p.s.store.LockStripe(db, args[i]) % n)
		if at >= 0 && k != at {
			return nil, true
		}
		at = k
	}
	return p.ws[at], false
}

// hand queues args for w, starting the workers if they are not running.
func (p *parallelApplier) hand(w *applyWorker, args [][]byte) {
	if !p.started {
		p.started = true
		for _, w := range p.ws {
			w.jobs = make(chan []applyJob, 8)
			p.running.Add(1)
			go p.work(w)
		}
	}
	w.pend = append(w.pend, applyJob{db: p.main.DB(), args: args})
	for _, a := range args {
		p.handed += len(a)
	}
	if len(w.pend) >= applyChunk {
		w.jobs <- w.pend
		w.pend = make([]applyJob, 0, applyChunk)
	}
}

// work runs the commands handed to w until its channel closes.
func (p *parallelApplier) work(w *applyWorker) {
	defer p.running.Done()
	for jobs := range w.jobs {
		w.mc.c.clock = 0
		for _, j := range jobs {
			w.mc.c.DB = j.db
			w.mc.applyNext(j.args) // its error is logged there
		}
	}
}

// gather waits for the workers to run what they were handed, moves their
// work, locks and pending invalidations into the main client, and adds
// their calls to the server's stats.
func (p *parallelApplier) gather() {
	if !p.started {
		return
	}
	for _, w := range p.ws {
		if len(w.pend) > 0 {
			w.jobs <- w.pend
			w.pend = make([]applyJob, 0, applyChunk)
		}
		close(w.jobs)
	}
	p.running.Wait()
	p.started = false
	mc := p.main.c
	for _, w := range p.ws {
		mc.tx.Absorb(w.mc.c.tx)
		mc.inval = append(mc.inval, w.mc.c.inval...)
		mc.invalFlush = mc.invalFlush || w.mc.c.invalFlush
		w.mc.c.inval, w.mc.c.invalFlush = w.mc.c.inval[:0], false
		w.mc.c.flushStats()
	}
}

// InMulti implements replication.Applier.
func (p *parallelApplier) InMulti() bool { return p.main.InMulti() }

// DB implements replication.Applier.
func (p *parallelApplier) DB() int { return p.main.DB() }

// Commit implements replication.Applier: every command applied so far
// commits with mark in one batch, in the background unless a MULTI is
// open (its queue lives on the main client).
func (p *parallelApplier) Commit(mark storage.UpstreamMark, done func()) error {
	p.handed = 0
	if err := p.Flush(); err != nil {
		p.main.Reset(p.main.DB())
		return err
	}
	c := p.main
	c.c.tx.PutUpstreamMark(mark)
	if c.InMulti() {
		if err := c.Commit(); err != nil {
			p.err = err
			return err
		}
		done()
		return nil
	}
	p.main, p.spare = p.spare, c
	p.main.c.DB = c.c.DB
	c.c.tx.CopyHeld(&p.held)
	ch := make(chan struct{})
	p.committing = ch
	go func() {
		defer close(ch)
		if err := c.Commit(); err != nil {
			p.err = err // NB: read by Flush after ch closes
			return
		}
		done()
	}()
	return nil
}

// awaitCommit is the workers' lock wait: a stripe the committing batch
// holds is free once it has committed. A worker reads p.committing and
// p.held only between the start of the workers and gather, while the
// applier's goroutine leaves both alone.
func (p *parallelApplier) awaitCommit(stripe uint32) bool {
	if p.committing == nil || !p.held.Has(stripe) {
		return false
	}
	<-p.committing
	return true
}

// Flush implements replication.Applier. It gathers the workers' work
// first, so the main client holds everything applied since the last
// commit.
func (p *parallelApplier) Flush() error {
	p.gather()
	if p.committing != nil {
		<-p.committing
		p.committing = nil
	}
	return p.err
}

// Reset implements replication.Applier.
func (p *parallelApplier) Reset(db int) {
	p.handed = 0
	p.Flush()
	p.err = nil
	p.spare.Reset(db)
	p.main.Reset(db)
}

// PendingBytes implements replication.Applier: the main client's batch
// and the arguments handed to workers since the last commit.
func (p *parallelApplier) PendingBytes() int { return p.main.PendingBytes() + p.handed }
