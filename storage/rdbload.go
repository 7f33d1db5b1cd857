package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"unsafe"

	"github.com/cockroachdb/pebble/v2"

	"github.com/shoaldb/shoal/storage/encoding"
)

// RDBError reports an RDB file that cannot be loaded: where and why.
type RDBError struct {
	// Offset is the byte of the file where the bad record starts.
	Offset int64
	Reason string
}

func (e *RDBError) Error() string {
	return fmt.Sprintf("bad RDB file at offset %d: %s", e.Offset, e.Reason)
}

// ErrStoreNotEmpty refuses to load an RDB into a store that holds keys.
var ErrStoreNotEmpty = errors.New("storage: the data folder holds keys; an RDB loads only into an empty one")

// RDBLoadOptions tune LoadRDB.
type RDBLoadOptions struct {
	// KeepExpired loads keys whose expiry has passed, as a replica does
	// (its primary deletes them); otherwise they are left out, as a
	// primary loading its own file does.
	KeepExpired bool
	// Progress, when set, is called now and then with the bytes read so
	// far and the keys loaded.
	Progress func(read int64, keys int64)
}

// RDBLoadInfo describes a loaded RDB.
type RDBLoadInfo struct {
	Version int
	Keys    int64
	// Expired counts keys left out because their time had passed.
	Expired int64
	// Functions counts the function libraries loaded.
	Functions int
	// EmptySkipped counts the keys of empty collections left out, as
	// Redis leaves them out.
	EmptySkipped int64
	// Aux holds the file's auxiliary fields in order.
	Aux []RDBAux
}

// AuxValue returns the value of the aux field name, or "".
func (i *RDBLoadInfo) AuxValue(name string) string {
	for _, a := range i.Aux {
		if a.Name == name {
			return a.Value
		}
	}
	return ""
}

// rdbMinVersion and rdbMaxVersion bound the RDB versions LoadRDB reads:
// every Redis up to 7.2 (version 11).
const (
	rdbMinVersion = 1
	rdbMaxVersion = dumpMaxRDBVersion
)

// rdbCommitBytes commits a load in batches of about this size. NB: a
// variable so that tests can make batches of one key.
var rdbCommitBytes = 4 << 20

// LoadRDB loads the RDB file data (all of it in memory or mapped) into the
// store, which must hold no keys. The checksum is verified before anything
// is written; a file that turns out corrupt later leaves the store empty
// again. The error is then an *RDBError with the offset and the reason.
func (s *Store) LoadRDB(data []byte, opts RDBLoadOptions) (RDBLoadInfo, error) {
	var info RDBLoadInfo
	if s.TotalKeys() != 0 {
		return info, ErrStoreNotEmpty
	}
	if len(data) < 9 || string(data[:5]) != "REDIS" {
		return info, &RDBError{0, "wrong signature trying to load DB from file"}
	}
	ver, err := strconv.Atoi(string(data[5:9]))
	if err != nil || ver < rdbMinVersion || ver > rdbMaxVersion {
		return info, &RDBError{5, fmt.Sprintf("can't handle RDB format version %q", data[5:9])}
	}
	info.Version = ver
	body := data
	if ver >= 5 {
		// A checksum of zero means the writer had rdbchecksum off.
		if len(data) < 9+1+8 {
			return info, &RDBError{int64(len(data)), "unexpected end of file"}
		}
		want := binary.LittleEndian.Uint64(data[len(data)-8:])
		body = data[:len(data)-8]
		if want != 0 && redisCRC64(0, body) != want {
			return info, &RDBError{int64(len(body)), "wrong RDB checksum"}
		}
	}
	// NB: the loader's records go around the hot cache.
	s.meta.forget()
	if err := s.loadRDB(body, ver, opts, &info); err != nil {
		if werr := s.BeginFullSync(); werr != nil {
			return info, errors.Join(err, werr)
		}
		return info, err
	}
	s.meta.aroundLanded()
	s.startWarm()
	s.lastLoad.Store(&[2]int64{info.Keys, info.Expired})
	return info, nil
}

// LastRDBLoad returns the keys the last RDB load took and those it left
// out as expired (INFO's rdb_last_load_keys_loaded and _expired).
func (s *Store) LastRDBLoad() (loaded, expired int64) {
	if l := s.lastLoad.Load(); l != nil {
		return l[0], l[1]
	}
	return 0, 0
}

// TotalKeys returns the number of keys in every database, expired ones
// not yet removed included.
func (s *Store) TotalKeys() int64 {
	var n int64
	for i := range s.counts {
		n += s.counts[i].keys.Load()
	}
	return n
}

func (s *Store) loadRDB(body []byte, ver int, opts RDBLoadOptions, info *RDBLoadInfo) error {
	// NB: each value is written before the next is read (reuse).
	r := &rdbReader{b: body, pos: 9, reuse: true}
	bad := func(at int, format string, args ...any) error {
		return &RDBError{int64(at), fmt.Sprintf(format, args...)}
	}
	// NB: a write-only Tx: the loader reads nothing back. A key that
	// comes twice in the file is found within a batch (seen) or, across
	// batches, by counting the keys stored at the end.
	t := &Tx{s: s, bulk: true}
	defer t.Discard()
	// The batch is committed every rdbCommitBytes, or gathered into run
	// files when the load goes around Pebble's write path (ing).
	var ing *rdbIngest
	if !s.logsClientCommits() {
		var err error
		if ing, err = s.newRDBIngest(); err != nil {
			return err
		}
		defer ing.close()
		// NB: one batch for the whole load, made at its full size: a
		// batch grows by doubling and drops a buffer of more than 1 MiB
		// when reset.
		size := rdbCommitBytes + rdbCommitBytes/4
		t.b = s.db.NewBatchWithSize(size, pebble.WithMaxRetainedSizeBytes(2*size))
	}
	flush := func() error {
		if ing == nil || t.b == nil {
			return t.Commit()
		}
		if err := ing.add(t.b); err != nil {
			return err
		}
		t.b.Reset()
		return nil
	}
	// NB: seen's names point into the file or the decoder's buffers,
	// which outlive the batch: no copy of each key.
	type seenKey struct {
		phys uint8
		name string
	}
	seen := map[seenKey]struct{}{}
	var codes []string
	now := s.NowMs()
	db := 0
	var expireAt int64
	var k Key
	lastReport := 0
	for {
		at := r.pos
		typ, err := r.byte()
		if err != nil {
			return bad(at, "unexpected end of file")
		}
		switch typ {
		case rdbOpEOF:
			if ver >= 5 && r.left() != 0 {
				return bad(r.pos, "%d bytes after the EOF marker", r.left())
			}
			if ing != nil {
				if err := flush(); err != nil {
					return err
				}
				if err := ing.finish(); err != nil {
					return err
				}
			}
			if len(codes) > 0 {
				t.PutRecord(FunctionsRecord, EncodeFunctions(codes))
			}
			if err := t.Commit(); err != nil {
				return err
			}
			if err := s.checkLoadedKeys(info.Keys, ing); err != nil {
				return err
			}
			s.recordChanged("") // the function libraries were replaced
			return nil
		case rdbOpSelectDB:
			n, enc, err := r.length()
			if err != nil || enc {
				return bad(at, "bad SELECTDB length")
			}
			if n >= uint64(s.opts.Databases) {
				return bad(at, "database %d is out of range: this server has %d databases (databases)", n, s.opts.Databases)
			}
			db = int(n)
			continue
		case rdbOpResizeDB:
			if _, enc, err := r.length(); err != nil || enc {
				return bad(at, "bad RESIZEDB length")
			}
			if _, enc, err := r.length(); err != nil || enc {
				return bad(at, "bad RESIZEDB length")
			}
			continue
		case rdbOpExpireSecs:
			p, err := r.bytes(4)
			if err != nil {
				return bad(at, "unexpected end of file")
			}
			expireAt = int64(int32(binary.LittleEndian.Uint32(p))) * 1000
			continue
		case rdbOpExpireMs:
			p, err := r.bytes(8)
			if err != nil {
				return bad(at, "unexpected end of file")
			}
			expireAt = int64(binary.LittleEndian.Uint64(p))
			continue
		case rdbOpIdle:
			if _, enc, err := r.length(); err != nil || enc {
				return bad(at, "bad LRU idle time")
			}
			continue
		case rdbOpFreq:
			if _, err := r.byte(); err != nil {
				return bad(at, "unexpected end of file")
			}
			continue
		case rdbOpAux:
			name, err := r.str()
			if err != nil {
				return bad(at, "bad AUX field name")
			}
			val, err := r.str()
			if err != nil {
				return bad(at, "bad AUX field value")
			}
			info.Aux = append(info.Aux, RDBAux{string(name), string(val)})
			continue
		case rdbOpFunction2:
			code, err := r.str()
			if err != nil {
				return bad(at, "bad function library")
			}
			codes = append(codes, string(code))
			info.Functions++
			continue
		case rdbOpFunction, rdbOpModuleAux, rdbOpSlotInfo:
			return bad(at, "opcode %d (module data or functions of Redis 7.0 release candidates) cannot be loaded", typ)
		}
		name, err := r.str()
		if err != nil {
			return bad(at, "bad key name")
		}
		v, err := decodeObject(r, typ)
		if errors.Is(err, errEmptyKey) {
			if info.EmptySkipped++; info.EmptySkipped <= 10 {
				s.log.Warn(fmt.Sprintf("rdbLoadObject skipping empty key: %s", name))
			}
			expireAt = 0
			continue
		}
		if errors.Is(err, errRDBType) {
			return bad(at, "unknown object type %d (key %q)", typ, truncateKey(name))
		}
		if err != nil {
			return bad(at, "bad object of type %d (key %q)", typ, truncateKey(name))
		}
		expire := expireAt
		expireAt = 0
		if expire != 0 && expire <= now && !opts.KeepExpired {
			info.Expired++
			continue
		}
		// NB: no key locks: the loader is the only writer of an empty
		// store (a replica's clients cannot write, a data folder being
		// imported is not served).
		// NB: the string's buffer serves the next key too.
		k.Trim()
		k = Key{DB: db, Phys: s.phys(db), Name: name, raw: k.raw[:0]}
		sk := seenKey{k.Phys, unsafe.String(unsafe.SliceData(name), len(name))}
		if _, dup := seen[sk]; dup {
			return bad(at, "duplicate key %q in database %d", truncateKey(name), db)
		}
		seen[sk] = struct{}{}
		t.Restore(&k, v, expire)
		info.Keys++
		if t.PendingBytes() >= rdbCommitBytes {
			if err := flush(); err != nil {
				return err
			}
			clear(seen)
			if opts.Progress != nil && r.pos-lastReport >= 16<<20 {
				lastReport = r.pos
				opts.Progress(int64(r.pos), info.Keys)
			}
		}
	}
}

func truncateKey(k []byte) string {
	if len(k) > 64 {
		return string(k[:64]) + "..."
	}
	return string(k)
}

// checkLoadedKeys counts the keys stored, which must be the n loaded: a
// key that came twice in the file was stored once.
func (s *Store) checkLoadedKeys(n int64, ing *rdbIngest) error {
	if ing != nil {
		// The merge of the runs counted them.
		return loadedKeysError(n, ing.keys)
	}
	lo := []byte{encoding.TagMeta}
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: encoding.PrefixEnd(lo)})
	if err != nil {
		return err
	}
	var got int64
	for ok := it.First(); ok; ok = it.Next() {
		got++
	}
	if err := it.Close(); err != nil {
		return err
	}
	return loadedKeysError(n, got)
}

func loadedKeysError(read, stored int64) error {
	if stored != read {
		return &RDBError{0, fmt.Sprintf("%d keys are duplicates of earlier ones", read-stored)}
	}
	return nil
}

// RDBChecksum returns Redis's CRC64 of p: the checksum an RDB ends with,
// of every byte before it.
func RDBChecksum(p []byte) uint64 { return redisCRC64(0, p) }
