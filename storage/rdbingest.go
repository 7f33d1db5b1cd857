package storage

import (
	"bufio"
	"bytes"
	"container/heap"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"slices"

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
// twice, sequentially, and nothing is compacted.
//
// A run file is a sequence of records uvarint(len key) key uvarint(len
// value) value, in key order.

// rdbRunBytes is the size of the writes sorted into one run file: the
// loader holds about twice this in memory. NB: a variable so that tests
// can make runs of one key.
var rdbRunBytes = 64 << 20

// rdbTableBytes bounds the size of one ingested sstable.
const rdbTableBytes = 256 << 20

// rdbIngest is one load's run files and the sstables merged from them.
type rdbIngest struct {
	s     *Store
	dir   string
	runs  []string
	arena []byte // the writes of the run being gathered
	ents  []rdbEntry
	keys  int64 // metadata records ingested
}

// rdbEntry is one write gathered for a run: its key and value in the
// arena, and its place among the run's writes.
type rdbEntry struct{ k, v, seq int }

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

// close removes the temporary folder.
func (g *rdbIngest) close() { g.s.opts.FS.RemoveAll(g.dir) }

// add gathers b's writes, which must all be Sets, for the next run file,
// and writes the run once it holds rdbRunBytes. b may be reset after.
func (g *rdbIngest) add(b *pebble.Batch) error {
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
		e := rdbEntry{k: len(g.arena), seq: len(g.ents)}
		g.arena = binary.AppendUvarint(g.arena, uint64(len(k)))
		g.arena = append(g.arena, k...)
		e.v = len(g.arena)
		g.arena = binary.AppendUvarint(g.arena, uint64(len(v)))
		g.arena = append(g.arena, v...)
		g.ents = append(g.ents, e)
	}
	if len(g.arena) >= rdbRunBytes {
		return g.spill()
	}
	return nil
}

// field returns the length-prefixed field at off in the arena and the
// offset past it.
func (g *rdbIngest) field(off int) ([]byte, int) {
	n, w := binary.Uvarint(g.arena[off:])
	return g.arena[off+w : off+w+int(n)], off + w + int(n)
}

func (g *rdbIngest) key(e rdbEntry) []byte { k, _ := g.field(e.k); return k }

// spill writes the gathered writes, sorted, to a new run file. Of a key
// set twice, the later value is kept.
func (g *rdbIngest) spill() error {
	if len(g.ents) == 0 {
		return nil
	}
	slices.SortFunc(g.ents, func(a, b rdbEntry) int {
		if c := bytes.Compare(g.key(a), g.key(b)); c != 0 {
			return c
		}
		return a.seq - b.seq
	})
	path := g.s.opts.FS.PathJoin(g.dir, fmt.Sprintf("run-%06d", len(g.runs)))
	f, err := g.s.opts.FS.Create(path, "")
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for i, e := range g.ents {
		if i+1 < len(g.ents) && bytes.Equal(g.key(e), g.key(g.ents[i+1])) {
			continue
		}
		// The record as it is in the arena: key, then value.
		_, end := g.field(e.v)
		w.Write(g.arena[e.k:end])
	}
	err = w.Flush()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	g.runs = append(g.runs, path)
	g.arena, g.ents = g.arena[:0], g.ents[:0]
	return nil
}

// finish merges the run files into sstables and ingests them. Of a key in
// several runs, the latest run's value is kept.
func (g *rdbIngest) finish() error {
	if err := g.spill(); err != nil {
		return err
	}
	fs := g.s.opts.FS
	var h runHeap
	for i, path := range g.runs {
		f, err := fs.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		c := &runCursor{r: bufio.NewReaderSize(f, 1<<20), run: i}
		if err := c.next(); err != nil {
			return err
		}
		if !c.done {
			h = append(h, c)
		}
	}
	heap.Init(&h)
	po := g.s.pebbleOpts
	wo := po.MakeWriterOptions(len(po.Levels)-1, g.s.db.FormatMajorVersion().MaxTableFormat())
	var (
		tables []string
		w      *sstable.Writer
		key    []byte
		val    []byte
		have   bool
	)
	put := func() error {
		if w == nil {
			path := fs.PathJoin(g.dir, fmt.Sprintf("table-%06d.sst", len(tables)))
			f, err := fs.Create(path, "")
			if err != nil {
				return err
			}
			w = sstable.NewWriter(objstorageprovider.NewFileWritable(f), wo)
			tables = append(tables, path)
		}
		if err := w.Set(key, val); err != nil {
			return err
		}
		if key[0] == encoding.TagMeta {
			g.keys++
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
		if err := w.Close(); err != nil {
			return err
		}
	}
	for _, path := range g.runs {
		fs.Remove(path)
	}
	if len(tables) == 0 {
		return nil
	}
	return g.s.db.Ingest(context.Background(), tables)
}

// runCursor reads one run file's records in order.
type runCursor struct {
	r    *bufio.Reader
	run  int
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
