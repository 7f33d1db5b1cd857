package storage

import (
	"bytes"
	"encoding/binary"
	"errors"

	"github.com/shoaldb/shoal/storage/encoding"
)

// Chunked strings. A string longer than ChunkThreshold is stored as its
// metadata record (length and version) and its bytes in chunks of
// ChunkSize, sub-keys under that version, as collections keep their
// members. SETRANGE, SETBIT, APPEND, GETRANGE and GETBIT read and write
// only the chunks they cover, a delete or overwrite is one range
// tombstone, and a string of 512 MB made by one SETBIT at its end is one
// chunk on disk: chunks, and their tails, that hold only zeros are not
// stored.
//
// Readers that need the whole value (GET, DUMP, COPY across types, the
// RDB writer, the redis-server replicas' stream) get it assembled by
// Lookup, once; the others ask for the metadata alone (LookupInline) and
// read ranges with ReadRange or EachRange.

const (
	// ChunkSize is the number of bytes of a string each chunk holds.
	ChunkSize = 64 << 10
	// ChunkThreshold is the longest string kept inline in its metadata
	// record; a longer one is chunked.
	ChunkThreshold = ChunkSize
)

// zeroChunk serves the zeros of chunks that are not stored.
var zeroChunk [ChunkSize]byte

// chunkKey returns the sub-key of chunk i of k's chunked string at version.
func chunkKey(dst []byte, k *Key, version uint64, i int64) []byte {
	return encoding.StringChunkKey(dst, k.Phys, k.Name, version, uint32(i))
}

// setChunk stores chunk i of k's chunked string with the given bytes,
// without their trailing zeros; nothing when they are all zeros.
func (t *Tx) setChunk(k *Key, version uint64, i int64, data []byte, existed bool) {
	data = bytes.TrimRight(data, "\x00")
	t.untracked = true
	t.skey = chunkKey(t.skey[:0], k, version, i)
	if len(data) == 0 {
		if existed {
			t.batch().Delete(t.skey, nil)
		}
		return
	}
	t.batch().Set(t.skey, data, nil) // Set copies key and value
}

// chunkString turns m, a string longer than ChunkThreshold that is about
// to be stored at k, into its chunked form under a new version and writes
// its chunks.
func (t *Tx) chunkString(k *Key, m *encoding.Meta) {
	v := m.Value
	m.Version, m.Size, m.Chunked, m.Value = t.s.newVersion(), uint64(len(v)), true, nil
	if len(v) > aheadMin && t.atomic == AtomicOff && !t.bulk {
		t.writeAhead(k, m.Version, v)
		return
	}
	for i := int64(0); i*ChunkSize < int64(len(v)); i++ {
		t.setChunk(k, m.Version, i, v[i*ChunkSize:min((i+1)*ChunkSize, int64(len(v)))], false)
	}
}

// ErrTornRead reports that a chunked string changed between its lookup
// and the read of its chunks: read it again.
var ErrTornRead = errors.New("storage: the string changed while it was read")

// EachRange calls fn with the bytes [off, off+n) of the live string k, in
// order and in pieces of at most ChunkSize for a chunked string, clamped
// to its length; it stops when fn returns false. The pieces are valid
// only during the call and must not be modified.
func (t *Tx) EachRange(k *Key, off, n int64, fn func(p []byte) bool) error {
	size := k.Meta.Len()
	end := min(off+n, size)
	if off < 0 || off >= end {
		return nil
	}
	if !k.Meta.Chunked {
		fn(k.Meta.Value[off:end])
		return nil
	}
	stopped := false
	emit := func(p []byte) {
		if !stopped && !fn(p) {
			stopped = true
		}
	}
	zeros := func(from, to int64) {
		for from < to && !stopped {
			m := min(to-from, ChunkSize)
			emit(zeroChunk[:m])
			from += m
		}
	}
	ver := k.Meta.Version
	// NB: the iterator reads one state of the store; its metadata record
	// must be the one k's lookup found, which a commit applied since (on a
	// replica, or by a writer this Tx does not wait for) may have replaced
	// along with the chunks: then the read is torn, and the caller reads
	// the key again. A snapshot's reader (SAVE) read both from one state.
	first, upper := chunkKey(nil, k, ver, off/ChunkSize), chunkKey(nil, k, ver, (end-1)/ChunkSize+1)
	verify := t.snap == nil && len(k.chunkRec) > 0
	lower := first
	if verify {
		lower = encoding.MetaKey(nil, k.Phys, k.Name) // 'm' sorts before the chunks' 's'
	}
	it, err := t.Iter(lower, upper)
	if err != nil {
		return err
	}
	if verify && (!it.SeekGE(lower) || !bytes.Equal(it.Key(), lower) || !bytes.Equal(it.Value(), k.chunkRec)) {
		it.Close()
		return ErrTornRead
	}
	pos := off
	for ok := it.SeekGE(first); ok && pos < end && !stopped; ok = it.Next() {
		key := it.Key()
		cstart := int64(binary.BigEndian.Uint32(key[len(key)-4:])) * ChunkSize
		v, err := it.ValueAndErr()
		if err != nil {
			it.Close()
			return err
		}
		zeros(pos, cstart)
		pos = max(pos, cstart)
		if stored := cstart + int64(len(v)); pos < stored {
			to := min(stored, end)
			emit(v[pos-cstart : to-cstart])
			pos = to
		}
		to := min(cstart+ChunkSize, end)
		zeros(pos, to)
		pos = max(pos, to)
	}
	if err := it.Close(); err != nil {
		return err
	}
	zeros(pos, end)
	return nil
}

// ReadRange appends the bytes [off, off+n) of the live string k, clamped
// to its length, to dst.
func (t *Tx) ReadRange(k *Key, off, n int64, dst []byte) ([]byte, error) {
	err := t.EachRange(k, off, n, func(p []byte) bool {
		dst = append(dst, p...)
		return true
	})
	return dst, err
}

// WriteRange writes p at offset off of the string k, as SETRANGE does:
// the string grows with zeros to off+len(p) when shorter, and keeps its
// expiry. k is locked and is a live string or absent; an absent k
// becomes a string without expiry. A string that stays within
// ChunkThreshold stays inline; one that outgrows it is chunked, and a
// chunked string has only the chunks p covers read and written.
func (t *Tx) WriteRange(k *Key, off int64, p []byte) error {
	var m encoding.Meta
	if k.Live {
		m = k.Meta
	} else {
		m = encoding.Meta{Type: encoding.TypeString}
	}
	m.Enc = encoding.EncRaw
	newLen := max(m.Len(), off+int64(len(p)))
	if !m.Chunked && newLen <= ChunkThreshold {
		v := make([]byte, newLen)
		copy(v, m.Value)
		copy(v[off:], p)
		m.Value = v
		t.PutMeta(k, &m)
		return nil
	}
	if !m.Chunked {
		// NB: an inline string fits in chunk 0.
		old := m.Value
		m = encoding.Meta{Type: encoding.TypeString, ExpireAt: m.ExpireAt, Chunked: true,
			Version: t.s.newVersion(), Size: uint64(len(old)), Enc: encoding.EncRaw}
		t.setChunk(k, m.Version, 0, old, false)
	}
	var buf []byte
	for i := off / ChunkSize; len(p) > 0 && i <= (off+int64(len(p))-1)/ChunkSize; i++ {
		cstart := i * ChunkSize
		from := max(off, cstart) - cstart
		to := min(off+int64(len(p)), cstart+ChunkSize) - cstart
		piece := p[cstart+from-off : cstart+to-off]
		if from == 0 && to == ChunkSize {
			t.setChunk(k, m.Version, i, piece, true)
			continue
		}
		cur, ok, err := t.get(chunkKey(t.skey[:0], k, m.Version, i), buf)
		if err != nil {
			return err
		}
		if int64(len(cur)) < to {
			cur = append(cur, zeroChunk[:to-int64(len(cur))]...)
		}
		copy(cur[from:], piece)
		t.setChunk(k, m.Version, i, cur, ok)
		buf = cur
	}
	m.Size = uint64(newLen)
	t.PutMeta(k, &m)
	return nil
}

// assemble reads the whole of k's chunked string into k's buffer, as
// Meta.Value.
func (t *Tx) assemble(k *Key) error {
	buf := k.raw[:0]
	if int64(cap(buf)) < k.Meta.Len() {
		buf = make([]byte, 0, k.Meta.Len())
	}
	buf, err := t.ReadRange(k, 0, k.Meta.Len(), buf)
	if err != nil {
		return err
	}
	k.raw, k.Meta.Value = buf, buf
	return nil
}
