package storage

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"strconv"

	"github.com/cockroachdb/pebble/v2"

	"github.com/shoaldb/shoal/storage/encoding"
)

// An RDB file, as Redis 7.0 writes it (rdb.c rdbSaveRio):
//
//	"REDIS0010"
//	AUX name value ...                 0xfa, two RDB strings each
//	FUNCTION2 code ...                 0xf5, a library's code each
//	per non-empty database:
//	  SELECTDB db                      0xfe, a length
//	  RESIZEDB keys expires            0xfb, two lengths (sizing hints)
//	  per key: [EXPIRETIME_MS ms]      0xfc, 8 bytes LE, Unix ms
//	           object type, key (an RDB string), object body
//	EOF                                0xff
//	crc64                              8 bytes LE, of every byte before it
//
// The object type and body are AppendObject's, the bytes of a DUMP
// payload (strings of 21 bytes or more LZF-compressed where that saves
// space, as Redis's rdbcompression does), so every type DUMP knows is in
// RDB files too.

// RDB opcodes (rdb.h).
const (
	rdbOpSlotInfo   = 244
	rdbOpFunction2  = 245
	rdbOpFunction   = 246
	rdbOpModuleAux  = 247
	rdbOpIdle       = 248
	rdbOpFreq       = 249
	rdbOpAux        = 250
	rdbOpResizeDB   = 251
	rdbOpExpireMs   = 252
	rdbOpExpireSecs = 253
	rdbOpSelectDB   = 254
	rdbOpEOF        = 255
)

// FunctionsRecord is the record that keeps the function libraries
// (EncodeFunctions of their code): RDB files carry them as FUNCTION2.
const FunctionsRecord = "functions"

// RDBAux is an RDB auxiliary field, name and value.
type RDBAux struct{ Name, Value string }

// RDBSaveInfo describes one RDB written by WriteRDB.
type RDBSaveInfo struct {
	// Offset is the replication offset the snapshot covers.
	Offset int64
	// Keys is the number of keys written.
	Keys int64
	// Bytes is the size of the RDB.
	Bytes int64
}

// crcWriter counts and checksums what goes through it.
type crcWriter struct {
	w   io.Writer
	crc uint64
	n   int64
}

func (c *crcWriter) Write(p []byte) (int, error) {
	c.crc = redisCRC64(c.crc, p)
	c.n += int64(len(p))
	return c.w.Write(p)
}

// rdbFlushBytes is how much of an RDB is buffered before it is written
// out: objects go out one by one, so memory stays flat however many keys
// there are; only the largest single object is held whole.
const rdbFlushBytes = 1 << 20

// SetRDBFormat sets how WriteRDB writes: compress, its strings LZF-packed
// where that saves space (rdbcompression); checksum, its CRC64 at the end,
// else zeros, which a loader takes for no checksum (rdbchecksum).
func (s *Store) SetRDBFormat(compress, checksum bool) {
	s.rdbPlain.Store(!compress)
	s.rdbNoSum.Store(!checksum)
}

// RDBFilter is what an RDB leaves out, as Redis's REPLCONF
// rdb-filter-only asks.
type RDBFilter struct {
	ExcludeData, ExcludeFunctions bool
}

// Filtered reports whether f leaves anything out.
func (f RDBFilter) Filtered() bool { return f.ExcludeData || f.ExcludeFunctions }

// WriteRDB writes an RDB of version DumpRDBVersion of every live key to w,
// from a Pebble snapshot taken when it starts: writes go on meanwhile.
// begin, when set, is called with the replication offset the snapshot
// covers before anything is written, and may return extra aux fields.
// Keys that expired before the snapshot are left out.
func (s *Store) WriteRDB(w io.Writer, aux []RDBAux, begin func(offset int64) []RDBAux) (RDBSaveInfo, error) {
	return s.WriteRDBFiltered(w, aux, begin, RDBFilter{})
}

// WriteRDBFiltered is WriteRDB without what f leaves out.
func (s *Store) WriteRDBFiltered(w io.Writer, aux []RDBAux, begin func(offset int64) []RDBAux, f RDBFilter) (RDBSaveInfo, error) {
	s.repl.lockDrained()
	snap := s.db.NewSnapshot()
	info := RDBSaveInfo{Offset: s.repl.offset.Load()}
	s.repl.mu.Unlock()
	defer snap.Close()
	if begin != nil {
		aux = append(aux, begin(info.Offset)...)
	}
	cw := &crcWriter{w: w}
	bw := bufio.NewWriterSize(cw, 64<<10)
	now := s.NowMs()

	out := []byte("REDIS00" + strconv.Itoa(DumpRDBVersion))
	for _, a := range aux {
		out = append(out, rdbOpAux)
		out = appendStr(appendStr(out, []byte(a.Name)), []byte(a.Value))
	}
	if v, closer, err := snap.Get(recordKey(FunctionsRecord)); err == nil && f.ExcludeFunctions {
		closer.Close()
	} else if err == nil {
		codes, derr := DecodeFunctions(v)
		closer.Close()
		if derr != nil {
			return info, derr
		}
		for _, code := range codes {
			out = appendStr(append(out, rdbOpFunction2), []byte(code))
		}
	} else if !errors.Is(err, pebble.ErrNotFound) {
		return info, err
	}
	dbmap, err := s.snapshotDBMap(snap)
	if err != nil {
		return info, err
	}
	if f.ExcludeData {
		dbmap = nil
	}
	compress := !s.rdbPlain.Load()
	t := &Tx{s: s, snap: snap, lzf: compress}
	for db, phys := range dbmap {
		keys, expires := s.counts[phys].keys.Load(), s.counts[phys].expires.Load()
		lo := encoding.MetaPrefix(phys)
		it, err := snap.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: encoding.PrefixEnd(lo)})
		if err != nil {
			return info, err
		}
		selected := false
		k := &Key{DB: db, Phys: phys}
		for ok := it.First(); ok; ok = it.Next() {
			v, err := it.ValueAndErr()
			if err == nil {
				err = encoding.DecodeMeta(v, &k.Meta)
			}
			if err != nil {
				it.Close()
				return info, err
			}
			if k.Meta.Expired(now) {
				continue
			}
			if !selected {
				selected = true
				out = appendLen(append(out, rdbOpSelectDB), uint64(db))
				out = appendLen(append(out, rdbOpResizeDB), uint64(max(keys, 0)))
				out = appendLen(out, uint64(max(expires, 0)))
			}
			k.Name = encoding.UserKeyFromMeta(it.Key())
			k.Exists, k.Live = true, true
			if k.Meta.Chunked {
				if err := t.assemble(k); err != nil {
					it.Close()
					return info, err
				}
			}
			if k.Meta.ExpireAt != 0 {
				out = binary.LittleEndian.AppendUint64(append(out, rdbOpExpireMs), uint64(k.Meta.ExpireAt))
			}
			// The key goes between the object's type byte and its body:
			// write the key after a placeholder, then move the type byte
			// into it.
			mark := len(out)
			if compress {
				out = appendStrLZF(append(out, 0), k.Name)
			} else {
				out = appendStr(append(out, 0), k.Name)
			}
			obj := len(out)
			if out, err = t.AppendObject(out, k); err != nil {
				it.Close()
				return info, err
			}
			out[mark] = out[obj]
			out = append(out[:obj], out[obj+1:]...)
			k.raw = nil // an assembled string is not kept for the next key
			info.Keys++
			if len(out) >= rdbFlushBytes {
				if _, err := bw.Write(out); err != nil {
					it.Close()
					return info, err
				}
				out = out[:0]
			}
		}
		if err := it.Close(); err != nil {
			return info, err
		}
	}
	out = append(out, rdbOpEOF)
	if _, err := bw.Write(out); err != nil {
		return info, err
	}
	if err := bw.Flush(); err != nil {
		return info, err
	}
	var sum [8]byte
	if !s.rdbNoSum.Load() {
		binary.LittleEndian.PutUint64(sum[:], cw.crc)
	}
	if _, err := w.Write(sum[:]); err != nil {
		return info, err
	}
	info.Bytes = cw.n + 8
	return info, nil
}

// snapshotDBMap reads the logical-to-physical database map as of snap;
// the store's own when the stored one has another number of databases.
func (s *Store) snapshotDBMap(snap *pebble.Snapshot) ([]uint8, error) {
	m := append([]uint8(nil), (*s.dbmap.Load())...)
	v, closer, err := snap.Get(dbMapKey)
	if errors.Is(err, pebble.ErrNotFound) {
		for i := range m {
			m[i] = uint8(i)
		}
		return m, nil
	}
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	if len(v) == len(m) {
		copy(m, v)
	}
	return m, nil
}
