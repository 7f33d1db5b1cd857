package storage

import (
	"bufio"
	"bytes"
	"cmp"
	"container/heap"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"sync"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/objstorage/objstorageprovider"
	"github.com/cockroachdb/pebble/v2/sstable"

	"github.com/shoaldb/shoal/storage/encoding"
)

// An RDB's keys come in hash-table order, so written through batches
// they cross the memtable and then are rewritten by every compaction on
// their way down. A load into an empty store whose commits are not logged
// (no replica follows it) goes around Pebble's write path instead, as
// bulk loaders of LSM stores do: the loader's batches are sorted into run
// files beside the data, the runs are merged into sorted sstables, and
// those are ingested at once into the bottom level. The data is written
// twice, sequentially, and nothing is compacted. A run is sorted and
// written while the loader gathers the next, and the runs are merged in
// parts of the key space side by side, one per processor.
//
// A run file is a sequence of records uvarint(len key) key uvarint(len
// value) value, in key order.

// rdbRunBytes is the size of the writes sorted into one run file: the
// loader holds two runs of about twice this each in memory (the records
// and their entries). NB: a variable so that tests can make runs of one
// key.
var rdbRunBytes = 32 << 20

// rdbTableBytes bounds the size of one ingested sstable.
const rdbTableBytes = 256 << 20

// rdbIngest is one load's run files and the sstables merged from them.
// A run is sorted and written on a goroutine of its own while the load
// gathers the next one.
type rdbIngest struct {
	s    *Store
	dir  string
	runs []string
	cur  *rdbRun // the run being gathered
	// spare is the other run's buffers, nil while that run is spilling;
	// spilled then reports its spill's end.
	spare   *rdbRun
	spilled chan spillEnd
	// marks are each run's sampled keys, for finish to split the merge.
	marks [][]runMark
	keys  int64 // metadata records ingested
}

// spillEnd is how a spill ended: the run's sampled keys, or its error.
type spillEnd struct {
	marks []runMark
	err   error
}

// runMark is a key of a run file and the offset of its record: every
// record from there on has a key at least as large.
type runMark struct {
	key []byte
	off int64
}

// rdbRun is the writes of one run. Its buffers are made once at their
// full size and reused for every run: grown by doubling, each run touched
// fresh pages and copied the arena several times, and the collector
// waited for those copies, which cannot be preempted.
type rdbRun struct {
	arena []byte // the records, as the run file has them
	ents  []rdbEntry
}

// rdbEntry is one write gathered for a run: the first 16 bytes of its
// key (big-endian, zero-padded), which order most pairs without reading
// the arena, and where its record and its key start in the arena. Of two
// writes of one key, the later one's record starts later.
type rdbEntry struct {
	p0, p1 uint64
	rec    int
	klen   uint32
	koff   uint8 // the key's start, from the record's
}

// rdbEntryBytes is the average record an entry is reserved for.
const rdbEntryBytes = 40

func newRDBRun() *rdbRun {
	return &rdbRun{arena: make([]byte, 0, rdbRunBytes+2*rdbCommitBytes),
		ents: make([]rdbEntry, 0, rdbRunBytes/rdbEntryBytes)}
}

// newRDBIngest makes the temporary folder of a load in the data folder,
// so that its sstables are linked, not copied, into the store.
func (s *Store) newRDBIngest() (*rdbIngest, error) {
	fs := s.opts.FS
	dir := fs.PathJoin(s.opts.Dir, "temp-rdb-load")
	if err := fs.RemoveAll(dir); err != nil {
		return nil, err
	}
	if err := fs.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return &rdbIngest{s: s, dir: dir}, nil
}

// close waits for a spill in progress and removes the temporary folder.
func (g *rdbIngest) close() {
	g.wait()
	g.s.opts.FS.RemoveAll(g.dir)
}

// add gathers b's writes, which must all be Sets, for the next run file,
// and spills the run once it holds rdbRunBytes. b may be reset after.
func (g *rdbIngest) add(b *pebble.Batch) error {
	if g.cur == nil {
		g.cur = newRDBRun()
	}
	run := g.cur
	r := b.Reader()
	for {
		kind, k, v, ok, err := r.Next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if kind != pebble.InternalKeyKindSet {
			return fmt.Errorf("storage: RDB load wrote an operation of kind %v", kind)
		}
		e := rdbEntry{rec: len(run.arena), klen: uint32(len(k))}
		run.arena = binary.AppendUvarint(run.arena, uint64(len(k)))
		e.koff = uint8(len(run.arena) - e.rec)
		run.arena = append(run.arena, k...)
		run.arena = binary.AppendUvarint(run.arena, uint64(len(v)))
		run.arena = append(run.arena, v...)
		var p [16]byte
		copy(p[:], k)
		e.p0, e.p1 = binary.BigEndian.Uint64(p[:8]), binary.BigEndian.Uint64(p[8:])
		run.ents = append(run.ents, e)
	}
	if len(run.arena) >= rdbRunBytes {
		return g.spill()
	}
	return nil
}

func (r *rdbRun) key(e *rdbEntry) []byte {
	k := e.rec + int(e.koff)
	return r.arena[k : k+int(e.klen)]
}

// record is e's record as the run file has it: key, then value.
func (r *rdbRun) record(e *rdbEntry) []byte {
	v := e.rec + int(e.koff) + int(e.klen)
	n, w := binary.Uvarint(r.arena[v:])
	return r.arena[e.rec : v+w+int(n)]
}

// compare orders entries by key, then by their place in the run.
func (r *rdbRun) compare(a, b *rdbEntry) int {
	if c := cmp.Compare(a.p0, b.p0); c != 0 {
		return c
	}
	if c := cmp.Compare(a.p1, b.p1); c != 0 {
		return c
	}
	// NB: equal prefixes of keys of 16 bytes or more: the rest decides.
	if c := bytes.Compare(r.key(a), r.key(b)); c != 0 {
		return c
	}
	return cmp.Compare(a.rec, b.rec)
}

// wait waits for the spill in progress, if any, and returns its error.
func (g *rdbIngest) wait() error {
	if g.spilled == nil {
		return nil
	}
	end := <-g.spilled
	g.spilled = nil
	g.marks = append(g.marks, end.marks)
	return end.err
}

// spill starts writing the gathered writes, sorted, to a new run file,
// once the spill before it ended, and gathers the next run in the other
// buffers.
func (g *rdbIngest) spill() error {
	run := g.cur
	if run == nil || len(run.ents) == 0 {
		return nil
	}
	if err := g.wait(); err != nil {
		return err
	}
	path := g.s.opts.FS.PathJoin(g.dir, fmt.Sprintf("run-%06d", len(g.runs)))
	g.runs = append(g.runs, path)
	g.spilled = make(chan spillEnd, 1)
	go func(done chan<- spillEnd) {
		marks, err := g.writeRun(run, path)
		done <- spillEnd{marks, err}
	}(g.spilled)
	if g.cur = g.spare; g.cur == nil {
		g.cur = newRDBRun()
	}
	g.spare = run
	return nil
}

// rdbMarkBytes is how far apart a run file's sampled keys are, in bytes
// of records plus rdbMarkRecord per record: the merge's work between two
// marks. NB: a variable so that tests can sample every key.
var rdbMarkBytes int64 = 1 << 20

const rdbMarkRecord = 512

// writeRun sorts run and writes it to the file at path, then empties it;
// it returns the keys it sampled. Of a key set twice, the later value is
// kept.
func (g *rdbIngest) writeRun(run *rdbRun, path string) ([]runMark, error) {
	slices.SortFunc(run.ents, func(a, b rdbEntry) int { return run.compare(&a, &b) })
	f, err := g.s.opts.FS.Create(path, "")
	if err != nil {
		return nil, err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var marks []runMark
	var off, next int64
	for i := range run.ents {
		e := &run.ents[i]
		k := run.key(e)
		if i+1 < len(run.ents) && bytes.Equal(k, run.key(&run.ents[i+1])) {
			continue
		}
		if off >= next {
			marks = append(marks, runMark{bytes.Clone(k), off})
			next = off + rdbMarkBytes
		}
		rec := run.record(e)
		w.Write(rec)
		off += int64(len(rec))
		// NB: a record costs the merge about as much as 512 bytes more.
		next -= rdbMarkRecord
	}
	err = w.Flush()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	run.arena, run.ents = run.arena[:0], run.ents[:0]
	return marks, err
}

// finish merges the run files into sstables and ingests them. The key
// space is split into as many parts as there are processors (up to
// maxRDBMergers), each merged into its own sstables on a goroutine of its
// own. Of a key in several runs, the latest run's value is kept.
func (g *rdbIngest) finish() error {
	if err := g.spill(); err != nil {
		return err
	}
	if err := g.wait(); err != nil {
		return err
	}
	splits := g.splits(min(runtime.GOMAXPROCS(0), maxRDBMergers))
	parts := make([]rdbPart, len(splits)+1)
	var wg sync.WaitGroup
	for i := range parts {
		p := &parts[i]
		p.n = i
		if i > 0 {
			p.lo = splits[i-1]
		}
		if i < len(splits) {
			p.hi = splits[i]
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.err = g.merge(p)
		}()
	}
	wg.Wait()
	var tables []string
	for _, p := range parts {
		if p.err != nil {
			return p.err
		}
		tables = append(tables, p.tables...)
		g.keys += p.keys
	}
	for _, path := range g.runs {
		g.s.opts.FS.Remove(path)
	}
	if len(tables) == 0 {
		return nil
	}
	g.s.meta.forget() // NB: the tables' records go around the cache
	return g.s.db.Ingest(context.Background(), tables)
}

// maxRDBMergers bounds the goroutines that merge the run files.
const maxRDBMergers = 4

// rdbMergeBuffers bounds the read buffers of the merge's parts, each of
// which reads every run: a 10 GB load has some 300 runs.
const rdbMergeBuffers = 256 << 20

// rdbPart is one part of the key space merged by finish: keys from lo
// (nil: the first) up to hi (nil: past the last), the sstables written
// and the metadata records among their keys.
type rdbPart struct {
	n      int
	lo, hi []byte
	tables []string
	keys   int64
	err    error
}

// splits returns up to n-1 increasing keys that cut the runs' sampled
// keys, and so about the merge's work, into n even parts.
func (g *rdbIngest) splits(n int) [][]byte {
	var keys [][]byte
	for _, ms := range g.marks {
		for _, m := range ms {
			keys = append(keys, m.key)
		}
	}
	slices.SortFunc(keys, bytes.Compare)
	var out [][]byte
	for i := 1; i < n; i++ {
		k := keys[len(keys)*i/n:]
		if len(k) > 0 && (len(out) == 0 || bytes.Compare(k[0], out[len(out)-1]) > 0) {
			out = append(out, k[0])
		}
	}
	return out
}

// merge writes the keys of every run from p.lo up to p.hi into sstables.
func (g *rdbIngest) merge(p *rdbPart) error {
	fs := g.s.opts.FS
	// NB: every part reads every run: their buffers share rdbMergeBuffers.
	bufSize := min(1<<20, max(64<<10, rdbMergeBuffers/(maxRDBMergers*max(len(g.runs), 1))))
	var h runHeap
	for i, path := range g.runs {
		f, err := fs.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		// The last sampled record at or before lo: the keys before lo
		// are read and left.
		var off int64
		for _, m := range g.marks[i] {
			if p.lo == nil || bytes.Compare(m.key, p.lo) > 0 {
				break
			}
			off = m.off
		}
		c := &runCursor{r: bufio.NewReaderSize(io.NewSectionReader(f, off, math.MaxInt64-off), bufSize), run: i, hi: p.hi}
		if err := c.next(); err != nil {
			return err
		}
		for !c.done && p.lo != nil && bytes.Compare(c.k, p.lo) < 0 {
			if err := c.next(); err != nil {
				return err
			}
		}
		if !c.done {
			h = append(h, c)
		}
	}
	heap.Init(&h)
	po := g.s.pebbleOpts
	wo := po.MakeWriterOptions(len(po.Levels)-1, g.s.db.FormatMajorVersion().MaxTableFormat())
	var (
		w    *sstable.Writer
		key  []byte
		val  []byte
		have bool
	)
	put := func() error {
		if w == nil {
			path := fs.PathJoin(g.dir, fmt.Sprintf("table-%02d-%06d.sst", p.n, len(p.tables)))
			f, err := fs.Create(path, "")
			if err != nil {
				return err
			}
			w = sstable.NewWriter(objstorageprovider.NewFileWritable(f), wo)
			p.tables = append(p.tables, path)
		}
		if err := w.Set(key, val); err != nil {
			return err
		}
		if key[0] == encoding.TagMeta {
			p.keys++
		}
		if w.Raw().EstimatedSize() >= rdbTableBytes {
			err := w.Close()
			w = nil
			return err
		}
		return nil
	}
	for h.Len() > 0 {
		c := h[0]
		if have && !bytes.Equal(c.k, key) {
			if err := put(); err != nil {
				return err
			}
			have = false
		}
		key, val, have = append(key[:0], c.k...), append(val[:0], c.v...), true
		if err := c.next(); err != nil {
			return err
		}
		if c.done {
			heap.Pop(&h)
		} else {
			heap.Fix(&h, 0)
		}
	}
	if have {
		if err := put(); err != nil {
			return err
		}
	}
	if w != nil {
		return w.Close()
	}
	return nil
}

// runCursor reads one run file's records in order.
type runCursor struct {
	r    *bufio.Reader
	run  int
	hi   []byte // the cursor is done at the first key at least hi
	k, v []byte
	done bool
}

func (c *runCursor) next() error {
	var err error
	if c.k, err = c.field(c.k); err == io.EOF {
		c.done = true
		return nil
	} else if err != nil {
		return err
	}
	if c.v, err = c.field(c.v); err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	if c.hi != nil && bytes.Compare(c.k, c.hi) >= 0 {
		c.done = true
	}
	return err
}

func (c *runCursor) field(dst []byte) ([]byte, error) {
	n, err := binary.ReadUvarint(c.r)
	if err != nil {
		return nil, err
	}
	if n > 1<<32 {
		return nil, os.ErrInvalid
	}
	dst = slices.Grow(dst[:0], int(n))[:n]
	if _, err := io.ReadFull(c.r, dst); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return dst, nil
}

// runHeap orders the cursors by key, then by run: the latest run's value
// of a key comes last.
type runHeap []*runCursor

func (h runHeap) Len() int { return len(h) }
func (h runHeap) Less(i, j int) bool {
	if c := bytes.Compare(h[i].k, h[j].k); c != 0 {
		return c < 0
	}
	return h[i].run < h[j].run
}
func (h runHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *runHeap) Push(x any)   { *h = append(*h, x.(*runCursor)) }
func (h *runHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	*h = old[:len(old)-1]
	return c
}
