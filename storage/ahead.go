package storage

import (
	"bytes"
	"encoding/binary"

	"github.com/cockroachdb/pebble/v2"

	"github.com/shoaldb/shoal/storage/encoding"
)

// Chunks written ahead. A string of more than aheadMin bytes does not go
// into its Tx's batch: its chunks are applied to Pebble at once, in
// batches of about aheadPiece bytes, under the new version no metadata
// record names yet, so no reader sees them; the metadata that names them
// commits with the Tx. One batch of the whole value would be copied as it
// grows (a 100 MB SET copied 64 MB at once, and the runtime cannot stop a
// goroutine in the middle of a copy, so the collector held every other
// client meanwhile), kept whole in memory until Pebble flushed it, and
// applied under the commit locks at once.
//
// Each write ahead is recorded, in its first piece, by an unfinished
// record naming its version's sub-key span; the Tx's commit deletes the
// record with the metadata, a Tx discarded deletes it with the chunks. A
// crash in between leaves the record, and the node that wrote it drops the
// span when it opens the store again; a replica that took over drops the
// unfinished writes of its old primary when it is promoted.
//
//	0x00 "unfinished/" node id (40) | version(8 BE) → sub-key prefix of the span

const (
	// aheadMin is the longest string whose chunks go into the Tx's batch.
	aheadMin = 4 << 20
	// aheadPiece is the size of each batch of chunks written ahead.
	aheadPiece = 1 << 20
)

var unfinishedPrefix = encoding.SystemKey("unfinished/")

// unfinishedKey returns the record of a write ahead by node under version.
func unfinishedKey(node string, version uint64) []byte {
	k := append(append(bytes.Clone(unfinishedPrefix), node...), 0)
	return binary.BigEndian.AppendUint64(k, version)
}

// aheadWrite is one string's chunks written ahead by a Tx not committed yet.
type aheadWrite struct {
	record []byte // its unfinished record
	span   []byte // the sub-key prefix of its version
}

// writeAhead writes v's chunks as k's string under version, ahead of
// t's commit. A failed piece is kept in t.aheadErr, which fails the commit.
func (t *Tx) writeAhead(k *Key, version uint64, v []byte) {
	w := aheadWrite{record: unfinishedKey(t.s.repl.nodeID, version),
		span: encoding.SubPrefix(nil, k.Phys, k.Name, version)}
	t.aheads = append(t.aheads, w)
	t.untracked = true
	// NB: one buffer for every piece, made at its full size: a batch
	// grows by doubling and drops a buffer of more than 1 MiB when reset.
	size := aheadPiece + ChunkSize + len(w.record) + len(w.span) + 2*len(t.skey) + 64
	b := t.s.db.NewBatchWithSize(size, pebble.WithMaxRetainedSizeBytes(size))
	defer b.Close()
	b.Set(w.record, w.span, nil)
	for i := int64(0); i*ChunkSize < int64(len(v)) && t.aheadErr == nil; i++ {
		data := bytes.TrimRight(v[i*ChunkSize:min((i+1)*ChunkSize, int64(len(v)))], "\x00")
		if len(data) > 0 {
			t.skey = chunkKey(t.skey[:0], k, version, i)
			b.Set(t.skey, data, nil)
		}
		if b.Len() >= aheadPiece {
			t.aheadErr = t.s.applyAhead(b)
			b.Reset()
		}
	}
	if t.aheadErr == nil && !b.Empty() {
		t.aheadErr = t.s.applyAhead(b)
	}
	// NB: the record goes with the metadata that names the chunks.
	t.batch().Delete(w.record, nil)
}

// applyAhead applies one batch written ahead of a commit, logged for
// replicas as any commit is, without waiting for a sync: the commit that
// follows it syncs the log up to it under appendfsync always.
func (s *Store) applyAhead(b *pebble.Batch) error {
	if err := s.DiskError(); err != nil {
		return err
	}
	_, _, err := s.applyCommit(b, false)
	if err == nil {
		s.dirty.Store(true)
	}
	return err
}

// dropAhead removes the chunks t wrote ahead and their records, when t's
// writes are discarded. What it cannot remove (the disk fails) is
// removed when the store opens again.
func (t *Tx) dropAhead() {
	if len(t.aheads) == 0 {
		return
	}
	b := t.s.db.NewBatch()
	defer b.Close()
	for _, w := range t.aheads {
		b.DeleteRange(w.span, encoding.PrefixEnd(w.span), nil)
		b.Delete(w.record, nil)
	}
	if err := t.s.applyAhead(b); err != nil {
		t.s.log.Warn("storage: chunks written ahead of a discarded write stay until the next start", "err", err)
	}
	t.aheads, t.aheadErr = t.aheads[:0], nil
}

// dropUnfinished removes the chunks of writes ahead whose commit never
// came: those of this node (mine) or of every other node (!mine).
func (s *Store) dropUnfinished(mine bool) error {
	own := append(append(bytes.Clone(unfinishedPrefix), s.repl.nodeID...), 0)
	b := s.db.NewBatch()
	defer b.Close()
	err := deleteUnfinished(s.db, b, func(record []byte) bool { return bytes.HasPrefix(record, own) == mine })
	if err != nil || b.Empty() {
		return err
	}
	if _, _, err = s.applyCommit(b, true); err != nil {
		return err
	}
	return b.SyncWait()
}

// deleteUnfinished adds to b the deletes of the unfinished records r
// holds that match, with their spans.
func deleteUnfinished(r pebble.Reader, b *pebble.Batch, match func(record []byte) bool) error {
	it, err := r.NewIter(&pebble.IterOptions{LowerBound: unfinishedPrefix, UpperBound: encoding.PrefixEnd(unfinishedPrefix)})
	if err != nil {
		return err
	}
	for ok := it.First(); ok; ok = it.Next() {
		if !match(it.Key()) {
			continue
		}
		span := it.Value()
		b.DeleteRange(span, encoding.PrefixEnd(span), nil)
		b.Delete(it.Key(), nil)
	}
	return it.Close()
}
